//! Typing benchmark: replays edits into a 5,000-line file through the real server (JSON-RPC
//! framing, transport guard, document store, incremental reparse, analysis, conversion) and
//! reports the time from sending each `didChange` (or `didOpen`) to receiving the
//! `publishDiagnostics` for that version: what the user waits for, every debounce and queue
//! included.
//!
//! Run with `cargo build --release && cargo bench -p aiolint-lsp --bench typing`: the server
//! replayed against is the release binary's `aiolint server` over stdio, as editors run it
//! (without the binary, the server in this process). Three scenarios:
//!
//! - **(a) typing in one function**: 40 characters typed 60 ms apart into one function.
//!   Target p99 <= 5 ms.
//! - **(b) a different function each time**: single-character edits 20 ms apart, each in
//!   another function. Target p99 <= 10 ms.
//! - **(c) whole document**: the 5,000-line file opened afresh, to its first diagnostics.
//!   Target <= 10 ms.
//!
//! When `ruff` is on `PATH` (or `AIOLINT_BENCH_RUFF` names it), the same replay runs against
//! `ruff server` (its asyncio rules selected) over stdio, and both are printed side by side.
//!
//! It also times the analyzer alone on the same file (full parse, incremental reparse, checks,
//! the one-function re-check), to separate the analyzer's share from the server's.
//!
//! With `AIOLINT_BENCH_WORKSPACE=<folder>`, it then also times building the project index of
//! that folder's Python files, the server's workspace scan of it, and the scenarios again with
//! the typed module as a file of that workspace.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports on stdout; it is not the server"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

const URI: &str = "file:///bench/typing.py";

/// Characters typed in scenario (a), and the pause between them.
const TYPED: usize = 40;
const TYPING_PAUSE: Duration = Duration::from_millis(60);
/// Edits of scenario (b), and the pause between them.
const HOPS: usize = 60;
const HOP_PAUSE: Duration = Duration::from_millis(20);
/// Fresh opens of scenario (c).
const OPENS: usize = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let text = module(5_000);
    analyzer_alone(&text);
    recheck_alone(&text, STATEMENT, false);
    recheck_alone(&text, STATEMENT, true);
    let server = aiolint_server();
    let aiolint = runtime.block_on(replay(server.clone(), None));
    let ruff = ruff().map(|ruff| runtime.block_on(replay(Server::Ruff(ruff), None)));
    print_table("alone", &aiolint, ruff.as_ref());
    if let Some(folder) = std::env::var_os("AIOLINT_BENCH_WORKSPACE") {
        let folder = std::path::absolute(PathBuf::from(folder)).expect("an absolute path");
        index_alone(&folder);
        let aiolint = runtime.block_on(replay(server, Some(&folder)));
        print_table("in the workspace", &aiolint, None);
    }
}

/// What is typed in scenario (a): a statement that becomes a blocking call in a coroutine.
const STATEMENT: &str = "time.sleep(0.25)  # 日本😊 and more words";

/// The `ruff` to compare with, if there is one.
fn ruff() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AIOLINT_BENCH_RUFF") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("ruff"))
            .find(|candidate| candidate.is_file())
    })
}

/// The aiolint server to replay against: the release binary users run (`aiolint server`, with
/// its allocator and page settings, over stdio) when it is built (`cargo build --release`) or
/// `AIOLINT_BENCH_BINARY` names one; else the server in this process.
fn aiolint_server() -> Server {
    let binary = std::env::var_os("AIOLINT_BENCH_BINARY").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/aiolint"),
        PathBuf::from,
    );
    if binary.is_file() {
        println!("aiolint server: {}", binary.display());
        Server::Binary(binary)
    } else {
        println!(
            "aiolint server: in this process ({} is not built: `cargo build --release`)",
            binary.display()
        );
        Server::InProcess
    }
}

/// Which server a replay talks to.
#[derive(Clone)]
enum Server {
    /// aiolint's server in this process, over in-memory pipes.
    InProcess,
    /// `aiolint server` as a child process over stdio.
    Binary(PathBuf),
    /// `ruff server` as a child process over stdio.
    Ruff(PathBuf),
}

/// The samples of one replay, per scenario.
struct Replay {
    name: &'static str,
    typing: Vec<Duration>,
    /// (b) with each edit leaving the file valid (`#` before a `return`).
    valid_hops: Vec<Duration>,
    hops: Vec<Duration>,
    opens: Vec<Duration>,
}

/// A scenario's title, and its samples in a replay.
type Scenario = (&'static str, fn(&Replay) -> &Vec<Duration>);

fn print_table(title: &str, aiolint: &Replay, ruff: Option<&Replay>) {
    println!(
        "\ntyping benchmark ({title}), didChange/didOpen -> publishDiagnostics, milliseconds:"
    );
    println!("| scenario | server | n | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    let scenarios: [Scenario; 4] = [
        ("(a) 40 characters 60 ms apart, one function", |r| &r.typing),
        (
            "(b) one character 20 ms apart, another function each time",
            |r| &r.hops,
        ),
        (
            "(b') the same, each edit leaving the file valid (`#` before a `return`)",
            |r| &r.valid_hops,
        ),
        ("(c) the whole 5,000-line document opened", |r| &r.opens),
    ];
    for (scenario, samples) in scenarios {
        for replay in std::iter::once(aiolint).chain(ruff) {
            let mut sorted = samples(replay).clone();
            sorted.sort();
            if sorted.is_empty() {
                continue;
            }
            let at = |per_mille: usize| ms(sorted[(sorted.len() - 1) * per_mille / 1000]);
            println!(
                "| {scenario} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                replay.name,
                sorted.len(),
                at(500),
                at(900),
                at(990),
                at(1000)
            );
        }
    }
}

/// Replays the three scenarios against `server`: the module alone, or (`workspace`) as a file
/// of that workspace folder, after the server has scanned it.
async fn replay(server: Server, workspace: Option<&Path>) -> Replay {
    let uri = workspace.map_or_else(
        || URI.to_string(),
        |folder| {
            format!(
                "file://{}",
                folder.join("aiolint_bench_typing.py").display()
            )
        },
    );
    let (mut client, name, running) = match &server {
        Server::InProcess => {
            let (client_out, server_in) = tokio::io::duplex(1 << 20);
            let (server_out, client_in) = tokio::io::duplex(1 << 20);
            let running = tokio::spawn(lsp::serve(server_in, server_out));
            (
                Client::new(Box::new(client_out), client_in, uri.clone()),
                "aiolint",
                Some(running),
            )
        }
        Server::Binary(program) | Server::Ruff(program) => {
            let mut command = tokio::process::Command::new(program);
            command.arg("server");
            // `AIOLINT_BENCH_SERVER_LOG=FILE`: aiolint's server logs at debug level there (with
            // timestamps), to see where a keystroke's time goes.
            let log = std::env::var_os("AIOLINT_BENCH_SERVER_LOG")
                .filter(|_| matches!(server, Server::Binary(_)))
                .and_then(|path| std::fs::File::create(path).ok());
            let stderr = match log {
                Some(file) => {
                    command.args(["--log-level", "debug"]);
                    std::process::Stdio::from(file)
                }
                None => std::process::Stdio::null(),
            };
            let mut child = command
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(stderr)
                .kill_on_drop(true)
                .spawn()
                .expect("the server starts");
            let stdin = child.stdin.take().expect("stdin");
            let stdout = child.stdout.take().expect("stdout");
            // The child lives as long as the client's reader.
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
            let name = if matches!(server, Server::Ruff(_)) {
                "ruff server"
            } else {
                "aiolint"
            };
            (
                Client::new(Box::new(stdin), stdout, uri.clone()),
                name,
                None,
            )
        }
    };
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
                "initializationOptions": {"settings": {"lint": {
                    "select": ["ASYNC", "RUF006", "RUF029", "PLE1142"], "preview": true
                }}},
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
            end.1["params"]["value"]["message"].as_str().unwrap_or("?"),
            ms(initialized.elapsed())
        );
    }
    let text = module(5_000);
    // (c) The whole document, opened afresh each time (closed in between).
    let mut opens = Vec::with_capacity(OPENS);
    for _ in 0..OPENS {
        let opened = Instant::now();
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
            )
            .await;
        let arrived = client.diagnostics(1).await;
        opens.push(arrived.duration_since(opened));
        client
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri}}),
            )
            .await;
        client.wait_until_cleared().await;
    }
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        )
        .await;
    client.diagnostics(1).await;
    let mut version = 1;

    // (a) Typing into one function, 60 ms apart.
    let (row, indent) = typing_spot(&text);
    let mut column = indent;
    let mut typing = Vec::with_capacity(TYPED);
    for ch in STATEMENT.chars().cycle().take(TYPED) {
        version += 1;
        let sent = Instant::now();
        client
            .did_change(version, change(row, column, column, &ch.to_string()))
            .await;
        column += ch.len_utf16();
        let arrived = client.diagnostics(version).await;
        typing.push(arrived.duration_since(sent));
        tokio::time::sleep_until((sent + TYPING_PAUSE).into()).await;
    }

    // (b) One character in another function each time, 20 ms apart: first edits that keep the
    // file valid (a `#` before a `return`), then `x` before an `await`, which leaves a syntax
    // error in each function typed in (and the file's parse slower each time).
    let valid_hops = hop(
        &mut client,
        &mut version,
        &function_rows(&text, "return result"),
        "#",
    )
    .await;
    let hops = hop(
        &mut client,
        &mut version,
        &function_rows(&text, "await asyncio.sleep(0)"),
        "x",
    )
    .await;

    client.request("shutdown", Value::Null).await;
    client.notify("exit", Value::Null).await;
    if let Some(running) = running {
        let clean = tokio::time::timeout(Duration::from_secs(10), running).await;
        assert!(matches!(clean, Ok(Ok(true))), "the server exits cleanly");
    }
    Replay {
        name,
        typing,
        valid_hops,
        hops,
        opens,
    }
}

/// Scenario (b): `inserted` typed at column 8 of another of `rows` every 20 ms, whether or not
/// the last one's diagnostics came; each is timed to the first diagnostics that include it.
async fn hop(
    client: &mut Client,
    version: &mut i64,
    rows: &[usize],
    inserted: &str,
) -> Vec<Duration> {
    let mut sent = Vec::with_capacity(HOPS);
    let start = Instant::now();
    for hop in 0..HOPS {
        let row = rows[(hop * 7) % rows.len()];
        *version += 1;
        tokio::time::sleep_until((start + HOP_PAUSE * u32::try_from(hop).unwrap_or(0)).into())
            .await;
        sent.push((*version, Instant::now()));
        client
            .did_change(*version, change(row, 8, 8, inserted))
            .await;
    }
    let published = client.diagnostics_until(*version).await;
    sent.iter()
        .filter_map(|&(version, at)| {
            published
                .iter()
                .find(|&&(v, arrived)| v >= version && arrived >= at)
                .map(|&(_, arrived)| arrived.duration_since(at))
        })
        .collect()
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
/// one character at a time, each keystroke re-checked with `recheck_functions` (the server's
/// fast path: the edited function parsed and checked alone), or reparsed and checked whole when
/// it declines. With `settle`, each keystroke's base is the previous keystroke's text, parsed
/// incrementally after its re-check, as the server settles a partial analysis; without, every
/// keystroke is re-checked against the first whole check.
fn recheck_alone(text: &str, statement: &str, settle: bool) {
    let settings = analyzer::Settings::default();
    let module = analyzer::ModuleName::default();
    let index = analyzer::ProjectIndex::empty();
    let (row, indent) = typing_spot(text);
    let line_start: usize = text.lines().take(row).map(|l| l.len() + 1).sum();
    let mut current = text.to_string();
    let mut base = analyzer::ParsedModule::parse(&current).expect("parses");
    let mut base_text: std::sync::Arc<str> = current.clone().into();
    let first = analyzer::SourceFile::new("typing.py", current.clone());
    let mut diagnostics = analyzer::check_parsed(&first, &base, &settings);
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
            analyzer::recheck_functions(old, &[since], &edited, &file, &module, index, &settings);
        let elapsed = started.elapsed();
        if let Some(rechecked) = rechecked {
            rechecks.push(elapsed);
            let bytes = current.as_bytes();
            let settled = settle
                .then(|| edited.reparse(&mut |offset| bytes.get(offset..).unwrap_or_default()))
                .flatten()
                .filter(|parsed| rechecked.syntax.agrees_with(&edited, parsed));
            if let Some(settled) = settled {
                base = settled;
                base_text = current.clone().into();
                diagnostics = rechecked.diagnostics;
                edited = base.clone();
                change = None;
            }
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
    let label = if settle {
        "analyzer: recheck_function, each against the last keystroke settled"
    } else {
        "analyzer: recheck_function, each against the first whole check"
    };
    report(label, &mut rechecks);
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

/// The rows of the `fetch` bodies' lines that start with `statement` (where scenario (b) types).
fn function_rows(text: &str, statement: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with(statement))
        .map(|(row, _)| row)
        .collect()
}

/// A minimal client: JSON-RPC frames out, and every message in with the moment it arrived.
struct Client {
    output: Box<dyn AsyncWrite + Unpin + Send>,
    incoming: mpsc::UnboundedReceiver<(Instant, Value)>,
    next_id: i64,
    uri: String,
}

impl Client {
    fn new(
        output: Box<dyn AsyncWrite + Unpin + Send>,
        input: impl AsyncRead + Unpin + Send + 'static,
        uri: String,
    ) -> Self {
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
                if sender.send((Instant::now(), message)).is_err() {
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
        self.output.flush().await.expect("the server reads");
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
            .1
    }

    async fn did_change(&mut self, version: i64, change: Value) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": self.uri, "version": version}, "contentChanges": [change]}),
        )
        .await;
    }

    fn is_diagnostics_of(&self, message: &Value) -> bool {
        message["method"] == "textDocument/publishDiagnostics"
            && message["params"]["uri"] == self.uri.as_str()
    }

    /// Waits for the diagnostics of `version` (or a later one); returns when they arrived.
    async fn diagnostics(&mut self, version: i64) -> Instant {
        let uri = self.uri.clone();
        self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri.as_str()
                && m["params"]["version"]
                    .as_i64()
                    .is_some_and(|v| v >= version)
        })
        .await
        .0
    }

    /// Every diagnostics message until the one of `version`: (version, arrival).
    async fn diagnostics_until(&mut self, version: i64) -> Vec<(i64, Instant)> {
        let mut published = Vec::new();
        loop {
            let (arrived, message) = self.next().await;
            if self.is_diagnostics_of(&message) {
                let of = message["params"]["version"].as_i64().unwrap_or(0);
                published.push((of, arrived));
                if of >= version {
                    return published;
                }
            }
        }
    }

    /// After `didClose`: waits for the empty diagnostics that clear the document (or a quiet
    /// moment, for a server that sends none).
    async fn wait_until_cleared(&mut self) {
        let quiet = Duration::from_millis(200);
        while let Ok(Some((_, message))) = tokio::time::timeout(quiet, self.incoming.recv()).await {
            if self.is_diagnostics_of(&message)
                && message["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(Vec::is_empty)
            {
                return;
            }
        }
    }

    /// The next message, answering the server's requests.
    async fn next(&mut self) -> (Instant, Value) {
        let deadline = Duration::from_mins(10);
        let (arrived, message) = tokio::time::timeout(deadline, self.incoming.recv())
            .await
            .expect("the server answers in time")
            .expect("the server is running");
        if message.get("method").is_some() && message.get("id").is_some() {
            let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": null});
            self.send(&reply).await;
        }
        (arrived, message)
    }

    /// Waits for a message that `matches`, answering the server's requests on the way.
    async fn wait(&mut self, matches: impl Fn(&Value) -> bool) -> (Instant, Value) {
        loop {
            let (arrived, message) = self.next().await;
            if matches(&message) {
                return (arrived, message);
            }
        }
    }
}
