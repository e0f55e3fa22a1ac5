//! Typing benchmark: replays keystrokes into a 5,000-line file through the real server (JSON-RPC
//! framing, transport guard, document store, incremental reparse, analysis, conversion) over
//! in-memory pipes, and reports the time from sending each `didChange` to receiving the
//! `publishDiagnostics` for that version.
//!
//! Run with `cargo bench -p aiolint-lsp --bench typing`. Two scenarios:
//!
//! - **keystrokes**: one change at a time, each waiting for its diagnostics (a typist who is
//!   slower than the server: every change is analysed at once). The target is p99 < 10 ms.
//! - **bursts**: 20 changes sent back to back, timed from the last one to its diagnostics. The
//!   changes are coalesced: either the first analysis already sees the last change, or the
//!   server waits for the document to be quiet (`DEBOUNCE`, 50 ms) and analyses once more.
//!
//! It also times the analyzer alone on the same file (full parse, one incremental reparse,
//! `check_parsed`), to separate the analyzer's share from the server's.
//!
//! With `AIOLINT_BENCH_WORKSPACE=<folder>`, it then also times building the project index of
//! that folder's Python files (`ProjectIndex::new`, what the server does when a summary
//! changes), the server's workspace scan of it, and both scenarios again with the typed module
//! as a file of that workspace (300 keystrokes), where a keystroke that changes the module's
//! summary rebuilds the whole project's index.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports on stdout; it is not the server"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

const KEYSTROKES: usize = 1_000;
const BURSTS: usize = 20;
const BURST_SIZE: usize = 20;
const URI: &str = "file:///bench/typing.py";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench(None));
    if let Some(folder) = std::env::var_os("AIOLINT_BENCH_WORKSPACE") {
        let folder = std::path::absolute(PathBuf::from(folder)).expect("an absolute path");
        index_alone(&folder);
        runtime.block_on(bench(Some(&folder)));
    }
}

/// Types into a 5,000-line module: alone, or (`workspace`) as a file of that workspace folder,
/// after the server has scanned it, so that every keystroke that changes the module's summary
/// rebuilds the index of the whole project.
async fn bench(workspace: Option<&Path>) {
    let (client_out, server_in) = tokio::io::duplex(1 << 20);
    let (server_out, client_in) = tokio::io::duplex(1 << 20);
    let server = tokio::spawn(lsp::serve(server_in, server_out));
    let uri = workspace.map_or_else(
        || URI.to_string(),
        |folder| {
            format!(
                "file://{}",
                folder.join("aiolint_bench_typing.py").display()
            )
        },
    );
    let mut client = Client::new(client_out, client_in, uri.clone());

    let text = module(5_000);
    let lines = text.lines().count();
    // Type a line that becomes a blocking call in a coroutine, then erase it, over and over.
    let statement = "time.sleep(0.25)  # 日本😊";
    if workspace.is_none() {
        analyzer_alone(&text);
        recheck_alone(&text, statement);
    }
    let (row, indent) = typing_spot(&text);
    let folders: Vec<Value> = workspace
        .iter()
        .map(|f| json!({"uri": format!("file://{}", f.display()), "name": "bench"}))
        .collect();
    client
        .request(
            "initialize",
            json!({
                "capabilities": {
                    "general": {"positionEncodings": ["utf-16"]},
                    "window": {"workDoneProgress": workspace.is_some()},
                },
                "workspaceFolders": folders,
            }),
        )
        .await;
    let initialized = Instant::now();
    client.notify("initialized", json!({})).await;
    if workspace.is_some() {
        let end = client
            .wait(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
            .await;
        println!(
            "workspace scan (index + check): {} after {:.0} ms",
            end["params"]["value"]["message"].as_str().unwrap_or("?"),
            ms(initialized.elapsed())
        );
    }
    let opened = Instant::now();
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        )
        .await;
    let first = client.diagnostics(1).await;
    println!(
        "typing benchmark: {lines} lines, {} bytes; first diagnostics ({} findings) after {:.2} ms",
        text.len(),
        first,
        ms(opened.elapsed())
    );

    let mut version = 1;
    let mut column = indent;
    let count = if workspace.is_some() { 300 } else { KEYSTROKES };
    let mut keystrokes = Vec::with_capacity(count);
    let mut typed: Vec<char> = Vec::new();
    let mut chars = statement.chars().cycle();
    for i in 0..count {
        // Type the statement, then delete it character by character.
        let erase = (i / statement.chars().count()) % 2 == 1;
        let change = if erase {
            let ch = typed.pop().unwrap_or(' ');
            let width = ch.len_utf16();
            column -= width;
            change(row, column, column + width, "")
        } else {
            let ch = chars.next().unwrap_or('x');
            typed.push(ch);
            let change = change(row, column, column, &ch.to_string());
            column += ch.len_utf16();
            change
        };
        version += 1;
        let sent = Instant::now();
        client.did_change(version, change).await;
        client.diagnostics(version).await;
        keystrokes.push(sent.elapsed());
    }
    let scenario = if workspace.is_some() {
        "in the workspace"
    } else {
        "alone"
    };
    report(
        &format!("keystrokes {scenario} (didChange -> publishDiagnostics)"),
        &mut keystrokes,
    );

    let mut bursts = Vec::with_capacity(BURSTS);
    for _ in 0..BURSTS {
        for _ in 0..BURST_SIZE {
            version += 1;
            client
                .did_change(version, change(row, column, column, "x"))
                .await;
            column += 1;
        }
        let last = Instant::now();
        client.diagnostics(version).await;
        bursts.push(last.elapsed());
    }
    report(
        &format!(
            "bursts of {BURST_SIZE} {scenario} (last didChange -> publishDiagnostics, coalesced)"
        ),
        &mut bursts,
    );

    client.request("shutdown", Value::Null).await;
    client.notify("exit", Value::Null).await;
    let clean = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(clean, Ok(Ok(true))), "the server exits cleanly");
}

/// The analyzer's share: a full parse, and one check of an already parsed module.
fn analyzer_alone(text: &str) {
    let mut full_parses = Vec::new();
    let mut checks = Vec::new();
    let mut summaries = Vec::new();
    let mut indexes = Vec::new();
    let mut project_checks = Vec::new();
    let module = analyzer::ModuleName {
        names: vec!["typing".to_string()],
        is_package: false,
    };
    let mut line_indexes = Vec::new();
    let settings = analyzer::Settings::default();
    for _ in 0..30 {
        let started = Instant::now();
        let parsed = analyzer::ParsedModule::parse(text).expect("parses");
        full_parses.push(started.elapsed());
        let started = Instant::now();
        let file = analyzer::SourceFile::new("typing.py", text);
        line_indexes.push(started.elapsed());
        let started = Instant::now();
        let found = analyzer::check_parsed(&file, &parsed, &settings);
        checks.push(started.elapsed());
        assert!(!found.is_empty());
        // What the server does per analysis: summarize, rebuild the index, check against it.
        let started = Instant::now();
        let summary = analyzer::summarize(&file, &parsed, &module, &settings);
        summaries.push(started.elapsed());
        let started = Instant::now();
        let index = analyzer::ProjectIndex::new(vec![std::sync::Arc::new(summary)]);
        indexes.push(started.elapsed());
        let started = Instant::now();
        let in_project = analyzer::check_in_project(&file, &parsed, &module, &index, &settings);
        project_checks.push(started.elapsed());
        assert!(in_project.len() >= found.len());
    }
    // One keystroke in the middle, reparsed incrementally.
    let mut reparses = Vec::new();
    let mut parsed = analyzer::ParsedModule::parse(text).expect("parses");
    let mut current = text.to_string();
    let middle = current[..current.len() / 2].rfind('\n').unwrap_or(0) + 1;
    let row = current[..middle].matches('\n').count();
    for _ in 0..30 {
        current.insert(middle, 'x');
        let point = analyzer::Point { row, column: 0 };
        parsed.edit(&analyzer::InputEdit {
            start_byte: middle,
            old_end_byte: middle,
            new_end_byte: middle + 1,
            start_point: point,
            old_end_point: point,
            new_end_point: analyzer::Point { row, column: 1 },
        });
        let bytes = current.as_bytes();
        let started = Instant::now();
        parsed = parsed
            .reparse(&mut |offset| bytes.get(offset..).unwrap_or_default())
            .expect("reparses");
        reparses.push(started.elapsed());
    }
    report("analyzer: full parse", &mut full_parses);
    report(
        "analyzer: incremental reparse of one keystroke",
        &mut reparses,
    );
    report(
        "analyzer: SourceFile::new (text copy + line index)",
        &mut line_indexes,
    );
    report("analyzer: check_parsed", &mut checks);
    report("analyzer: summarize", &mut summaries);
    report(
        "analyzer: ProjectIndex::new of this one module",
        &mut indexes,
    );
    report("analyzer: check_in_project", &mut project_checks);
}

/// The analyzer's share of the keystrokes scenario: the statement typed at the typing spot
/// one character at a time, each keystroke re-checked with `recheck_function` (the server's
/// fast path: the edited function parsed and checked alone), or reparsed and checked whole when
/// it declines.
fn recheck_alone(text: &str, statement: &str) {
    let settings = analyzer::Settings::default();
    let module = analyzer::ModuleName::default();
    let index = analyzer::ProjectIndex::empty();
    let (row, indent) = typing_spot(text);
    let line_start: usize = text.lines().take(row).map(|l| l.len() + 1).sum();
    let mut current = text.to_string();
    let base = analyzer::ParsedModule::parse(&current).expect("parses");
    let base_text: std::sync::Arc<str> = current.clone().into();
    let first = analyzer::SourceFile::new("typing.py", current.clone());
    let diagnostics = analyzer::check_parsed(&first, &base, &settings);
    // As the server does while typing: the tree of the last whole check with every keystroke
    // since recorded in it, and the change since, re-checked against that check.
    let mut edited = base.clone();
    let mut change: Option<analyzer::TextChange> = None;
    let (mut rechecks, mut wholes) = (Vec::new(), Vec::new());
    let mut declined = Vec::new();
    let mut at = line_start + indent;
    for ch in statement.chars() {
        let point = |offset: usize| analyzer::Point {
            row,
            column: offset - line_start,
        };
        current.insert(at, ch);
        let end = at + ch.len_utf8();
        edited.edit(&analyzer::InputEdit {
            start_byte: at,
            old_end_byte: at,
            new_end_byte: end,
            start_point: point(at),
            old_end_point: point(at),
            new_end_point: point(end),
        });
        let keystroke = analyzer::TextChange {
            start: at,
            old_end: at,
            new_end: end,
            lines: 0,
        };
        let since = change.map_or(keystroke, |before| before.then(keystroke));
        change = Some(since);
        let file = analyzer::SourceFile::new("typing.py", current.clone());
        let started = Instant::now();
        let old = analyzer::Checked {
            text: &base_text,
            parsed: &base,
            diagnostics: &diagnostics,
        };
        let rechecked =
            analyzer::recheck_function(old, since, &edited, &file, &module, index, &settings);
        let elapsed = started.elapsed();
        if rechecked.is_some() {
            rechecks.push(elapsed);
        } else {
            declined.push(current[line_start + indent..end].to_string());
            let bytes = current.as_bytes();
            let started = Instant::now();
            let parsed = edited
                .reparse(&mut |offset| bytes.get(offset..).unwrap_or_default())
                .expect("reparses");
            let _ = analyzer::check_parsed(&file, &parsed, &settings);
            wholes.push(started.elapsed());
        }
        at = end;
    }
    println!(
        "analyzer: typing {statement:?}: {} of {} keystrokes re-checked one function (declined after {declined:?})",
        rechecks.len(),
        statement.chars().count()
    );
    report("analyzer: recheck_function", &mut rechecks);
    if !wholes.is_empty() {
        report(
            "analyzer: reparse and whole check (recheck declined)",
            &mut wholes,
        );
    }
}

/// The project index alone, for a real workspace: every Python file summarized, then the index
/// built from the summaries (what the server does when a summary changes).
fn index_alone(folder: &Path) {
    let settings = analyzer::Settings::default();
    let mut summaries = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    let started = Instant::now();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let hidden = name.to_string_lossy().starts_with('.');
            if path.is_dir() && !hidden {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let Some(parsed) = analyzer::ParsedModule::parse(&text) else {
                    continue;
                };
                let file = analyzer::SourceFile::new(path.to_string_lossy().into_owned(), text);
                let module = analyzer::module_names(&path, Some(folder), &|p: &Path| p.is_file());
                summaries.push(std::sync::Arc::new(analyzer::summarize(
                    &file, &parsed, &module, &settings,
                )));
            }
        }
    }
    println!(
        "index alone: {} modules summarized in {:.0} ms",
        summaries.len(),
        ms(started.elapsed())
    );
    let mut builds = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let index = analyzer::ProjectIndex::new(summaries.clone());
        builds.push(started.elapsed());
        assert_eq!(index.module_count(), summaries.len());
    }
    report("index alone: ProjectIndex::new", &mut builds);
}

fn change(row: usize, start: usize, end: usize, text: &str) -> Value {
    json!({
        "range": {"start": {"line": row, "character": start}, "end": {"line": row, "character": end}},
        "text": text,
    })
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    // The sample at `per_mille`/1000 of the way through the sorted samples.
    let at = |per_mille: usize| ms(samples[(samples.len() - 1) * per_mille / 1000]);
    println!(
        "{what}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        at(500),
        at(900),
        at(990),
        at(1000)
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A module of about `lines` lines: classes with coroutines, tasks kept properly, a few real
/// findings, and a marked coroutine body where the typing happens.
fn module(lines: usize) -> String {
    let mut text = String::from(
        "\"\"\"Generated for the typing benchmark.\"\"\"\n\nimport asyncio\nimport time\n\n",
    );
    let mut block = 0;
    while text.lines().count() + 24 < lines {
        let finding = if block % 40 == 0 {
            "\n        time.sleep(0.01)"
        } else {
            ""
        };
        let _ = write!(
            text,
            r#"
class Service{block}:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()
        self.value = {block}

    async def fetch(self, key: str) -> dict:
        await asyncio.sleep(0){finding}
        result = {{"key": key, "value": self.value}}
        for attempt in range(3):
            if attempt > 1:
                break
        return result

    async def run(self) -> None:
        data = await self.fetch("x")
        task = asyncio.create_task(self.fetch("y"))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        # TYPE HERE {block}
        print(data)

"#
        );
        block += 1;
    }
    text
}

/// The row of the typing marker in the middle of the module, and its indentation.
fn typing_spot(text: &str) -> (usize, usize) {
    let markers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("# TYPE HERE"))
        .map(|(i, _)| i)
        .collect();
    let row = markers[markers.len() / 2];
    // Type at the marker line's indentation, before the comment, which shifts right.
    (row, 8)
}

/// A minimal client over the in-memory pipes.
struct Client {
    output: DuplexStream,
    incoming: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    uri: String,
}

impl Client {
    fn new(output: DuplexStream, input: DuplexStream, uri: String) -> Self {
        let (sender, incoming) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut input = BufReader::new(input);
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if input.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(value) = line.strip_prefix("Content-Length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if input.read_exact(&mut body).await.is_err() {
                    return;
                }
                let Ok(message) = serde_json::from_slice(&body) else {
                    return;
                };
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Self {
            output,
            incoming,
            next_id: 1,
            uri,
        }
    }

    async fn send(&mut self, message: &Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.output
            .write_all(frame.as_bytes())
            .await
            .expect("the server reads");
    }

    async fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        message["params"] = params;
        self.send(&message).await;
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        message["params"] = params;
        self.send(&message).await;
        self.wait(|m| m.get("method").is_none() && m["id"] == id)
            .await
    }

    async fn did_change(&mut self, version: i64, change: Value) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": self.uri, "version": version}, "contentChanges": [change]}),
        )
        .await;
    }

    /// Waits for the diagnostics of `version`; returns how many there were.
    async fn diagnostics(&mut self, version: i64) -> usize {
        let uri = self.uri.clone();
        let message = self
            .wait(|m| {
                m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["uri"] == uri.as_str()
                    && m["params"]["version"] == version
            })
            .await;
        message["params"]["diagnostics"]
            .as_array()
            .map_or(0, Vec::len)
    }

    /// Waits for a message that `matches`, answering the server's requests on the way.
    async fn wait(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Duration::from_mins(10);
        loop {
            let message = tokio::time::timeout(deadline, self.incoming.recv())
                .await
                .expect("the server answers in time")
                .expect("the server is running");
            if message.get("method").is_some() && message.get("id").is_some() {
                let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": null});
                self.send(&reply).await;
            }
            if matches(&message) {
                return message;
            }
        }
    }
}
