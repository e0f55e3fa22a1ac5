//! A small LSP client for end-to-end tests: it runs `aiolint server`, frames JSON-RPC messages
//! with `Content-Length` headers, answers the server's own requests, and keeps a client-side
//! model of positions (UTF-8 or UTF-16) that is independent of the server's code.
//!
//! Every wait has a deadline, so a broken server fails the test instead of hanging it.

#![allow(dead_code, reason = "each test uses a different subset")]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any single wait may take (debug builds on a loaded two-core machine are slow).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    Utf16,
}

impl Encoding {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
        }
    }
}

pub(crate) struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Messages received while waiting for something else, oldest first.
    backlog: VecDeque<Value>,
    next_id: i64,
    stderr: Arc<Mutex<String>>,
    pub(crate) encoding: Encoding,
}

impl Client {
    /// Starts `aiolint server`.
    pub(crate) fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Starts `aiolint server` with these environment variables set.
    pub(crate) fn start_with_env(vars: &[(&str, &std::path::Path)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aiolint"))
            .args(["server", "--log-level", "debug"])
            .envs(vars.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the aiolint binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (sender, incoming) = mpsc::channel();
        thread::spawn(move || read_messages(BufReader::new(stdout), &sender));
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            incoming,
            backlog: VecDeque::new(),
            next_id: 1,
            stderr,
            encoding: Encoding::Utf16,
        }
    }

    /// Starts the server and initializes it, offering `encodings` and the workspace folders.
    pub(crate) fn initialized(encodings: &[Encoding], folders: &[&std::path::Path]) -> Self {
        let mut client = Self::start();
        let result = client.initialize(encodings, folders);
        let negotiated = result["capabilities"]["positionEncoding"]
            .as_str()
            .unwrap_or("utf-16");
        client.encoding = if negotiated == "utf-8" {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        };
        client
    }

    pub(crate) fn initialize(
        &mut self,
        encodings: &[Encoding],
        folders: &[&std::path::Path],
    ) -> Value {
        let encodings: Vec<&str> = encodings.iter().map(|e| e.name()).collect();
        let folders: Vec<Value> = folders
            .iter()
            .map(|f| json!({"uri": file_uri(f), "name": "ws"}))
            .collect();
        let result = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "capabilities": {
                        "general": {"positionEncodings": encodings},
                        "window": {"workDoneProgress": true},
                        "workspace": {
                            "didChangeWatchedFiles": {"dynamicRegistration": true},
                            "workspaceEdit": {"documentChanges": true}
                        }
                    },
                    "workspaceFolders": if folders.is_empty() { Value::Null } else { Value::Array(folders) },
                    "clientInfo": {"name": "aiolint-e2e"}
                }),
            )
            .unwrap_or_else(|e| panic!("initialize failed: {e}"));
        self.notify("initialized", json!({}));
        result
    }

    pub(crate) fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).expect("write to the server");
        stdin.flush().expect("flush to the server");
    }

    pub(crate) fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        message["params"] = params;
        self.send(&message);
    }

    /// Sends a request and waits for its response: `Ok(result)` or `Err(error)`.
    pub(crate) fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        message["params"] = params;
        self.send(&message);
        let response = self.wait_for(&format!("response to {method}"), |m| {
            m.get("method").is_none() && m["id"] == json!(id)
        });
        match response.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(response["result"].clone()),
        }
    }

    /// Waits for the first message (from the backlog, then the wire) that `matches`, keeping the
    /// others for later and answering the server's requests on the way.
    pub(crate) fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(index).expect("index is in range");
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(message) => {
                    self.answer_server_request(&message);
                    if matches(&message) {
                        return message;
                    }
                    self.backlog.push_back(message);
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("timed out waiting for {what}; stderr:\n{}", self.stderr())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "the server closed its output waiting for {what}; stderr:\n{}",
                        self.stderr()
                    )
                }
            }
        }
    }

    /// Collects, for `duration`, the messages that `matches` (for checking what did not come).
    pub(crate) fn collect_for(
        &mut self,
        duration: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + duration;
        while let Ok(message) = self
            .incoming
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.answer_server_request(&message);
            self.backlog.push_back(message);
        }
        let (found, rest): (Vec<Value>, Vec<Value>) =
            self.backlog.drain(..).partition(|m| matches(m));
        self.backlog = rest.into();
        found
    }

    /// Waits for `publishDiagnostics` of `uri` at `version` (`None`: unversioned) and returns
    /// the diagnostics. Earlier publications for the same document are skipped.
    pub(crate) fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Vec<Value> {
        let version = version.map_or(Value::Null, Value::from);
        let message = self.wait_for(&format!("diagnostics of {uri} at {version}"), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"].get("version").cloned().unwrap_or(Value::Null) == version
        });
        message["params"]["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
    }

    /// Sends `edits` (LSP `TextEdit`s against `text`) as one incremental `didChange` and
    /// returns the new text. Edits are sent last to first, so each range is still valid when
    /// the server applies it.
    pub(crate) fn change(
        &mut self,
        uri: &str,
        version: i64,
        text: &str,
        edits: &[Value],
    ) -> String {
        let mut sorted: Vec<&Value> = edits.iter().collect();
        sorted.sort_by_key(|e| {
            (
                e["range"]["start"]["line"].as_u64(),
                e["range"]["start"]["character"].as_u64(),
            )
        });
        let changes: Vec<Value> = sorted
            .iter()
            .rev()
            .map(|e| json!({"range": e["range"], "text": e["newText"]}))
            .collect();
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        );
        apply_edits(text, edits, self.encoding)
    }

    /// `shutdown`, `exit`, and the exit status (killing the server if it does not exit).
    pub(crate) fn shutdown_and_exit(mut self) -> ExitStatus {
        self.request("shutdown", Value::Null)
            .unwrap_or_else(|e| panic!("shutdown failed: {e}"));
        self.exit()
    }

    /// `exit` alone, and the exit status.
    pub(crate) fn exit(mut self) -> ExitStatus {
        self.notify("exit", Value::Null);
        self.close_input();
        self.wait_for_exit()
    }

    /// Closes the server's stdin (as a client that goes away does).
    pub(crate) fn close_input(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits (with the deadline) for the server to exit, and returns its status.
    pub(crate) fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (`SIGKILL`) and reaps it.
    pub(crate) fn kill(&mut self) -> ExitStatus {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("reap the server")
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `deadline` for the next message that `matches` (from the backlog, then the
    /// wire), keeping the others; `None` when the deadline passes or the server's output ends.
    pub(crate) fn next_before(
        &mut self,
        deadline: Instant,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(index) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(index);
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.incoming.recv_timeout(left).ok()?;
            self.answer_server_request(&message);
            if matches(&message) {
                return Some(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// Waits until the server's stderr contains `needle` (its log is written by another thread
    /// of the server, so nothing orders it with the messages on stdout) and returns the log.
    pub(crate) fn stderr_containing(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.stderr();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for `{needle}` on stderr:\n{log}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn answer_server_request(&mut self, message: &Value) {
        if message.get("method").is_some() && message.get("id").is_some() {
            let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": null});
            self.send(&reply);
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `Content-Length` framed messages until the stream ends.
fn read_messages(mut reader: impl BufRead, sender: &mpsc::Sender<Value>) {
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let Ok(message) = serde_json::from_slice(&body) else {
            return;
        };
        if sender.send(message).is_err() {
            return;
        }
    }
}

pub(crate) fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

/// The byte offset of an LSP position in `text` (lines split at `\n`; `\r` before it is part
/// of the line break), the client's own reading of the encoding.
pub(crate) fn offset(text: &str, line: u64, character: u64, encoding: Encoding) -> usize {
    let mut start = 0;
    for _ in 0..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_text = text[start..end]
        .strip_suffix('\r')
        .unwrap_or(&text[start..end]);
    let mut units = 0;
    for (i, ch) in line_text.char_indices() {
        if units >= character {
            return start + i;
        }
        units += match encoding {
            Encoding::Utf8 => ch.len_utf8() as u64,
            Encoding::Utf16 => ch.len_utf16() as u64,
        };
    }
    start + line_text.len()
}

/// The LSP position of a byte offset in `text`.
pub(crate) fn position(text: &str, offset: usize, encoding: Encoding) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = match encoding {
        Encoding::Utf8 => offset - line_start,
        Encoding::Utf16 => text[line_start..offset].encode_utf16().count(),
    };
    json!({"line": line, "character": column})
}

/// The LSP range of the first occurrence of `needle` in `text`.
pub(crate) fn range_of(text: &str, needle: &str, encoding: Encoding) -> Value {
    let start = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` is in the text"));
    json!({
        "start": position(text, start, encoding),
        "end": position(text, start + needle.len(), encoding),
    })
}

/// Applies LSP `TextEdit`s (all against `text`, non-overlapping) the way an editor does.
pub(crate) fn apply_edits(text: &str, edits: &[Value], encoding: Encoding) -> String {
    let at = |p: &Value| {
        offset(
            text,
            p["line"].as_u64().expect("line"),
            p["character"].as_u64().expect("character"),
            encoding,
        )
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                at(&e["range"]["start"]),
                at(&e["range"]["end"]),
                e["newText"].as_str().expect("newText").to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|s| (s.0, s.1));
    let mut out = String::new();
    let mut last = 0;
    for (start, end, new_text) in spans {
        out.push_str(&text[last..start]);
        out.push_str(&new_text);
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// The text edits of a code action for `uri`, from `documentChanges` or `changes`.
pub(crate) fn action_edits(action: &Value, uri: &str) -> Vec<Value> {
    let edit = &action["edit"];
    if let Some(changes) = edit["documentChanges"].as_array() {
        return changes
            .iter()
            .filter(|c| c["textDocument"]["uri"] == uri)
            .flat_map(|c| c["edits"].as_array().cloned().unwrap_or_default())
            .collect();
    }
    edit["changes"][uri].as_array().cloned().unwrap_or_default()
}
