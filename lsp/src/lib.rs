//! The aiolint language server, behind `aiolint server`.
//!
//! # Crates
//!
//! - **`tower-lsp-server` 0.23.0**: the maintained community fork of `tower-lsp` (used by
//!   Biome, Oxc and ast-grep), which speaks LSP 3.17 through its `ls_types` re-export
//!   (`ls-types` 0.0.x, a fork of `lsp-types` whose `Uri` wraps `fluent-uri`). 0.23.0 is the
//!   newest stable release; 0.24 exists only as a release candidate. Its handlers run
//!   concurrently (up to four at once), polled in arrival order, so every document mutation
//!   happens synchronously before a handler's first `.await`.
//! - **`tokio`** (multi-threaded runtime, two workers) for the transport, timers and the
//!   blocking pool the analyzer runs on.
//! - **`ropey` 1.6** with only the `cr_lines` feature: documents are ropes whose lines are the
//!   protocol's (`\n`, `\r\n`, `\r`); the default `unicode_lines` would also split at U+2028 and
//!   friends and shift every later line.
//! - **`tracing`** to stderr; stdout belongs to the protocol.
//!
//! # Map
//!
//! - `server.rs`: the `LanguageServer` impl, one line per method; `transport.rs`: a guard that
//!   answers malformed frames itself, since the library stops reading after one, reads on
//!   after a wrong `Content-Length`, and answers where the library strays from the protocol.
//! - `handlers/`: one module per group of methods.
//! - `state.rs`, `document_store.rs`, `document.rs`: the session and the open documents (rope +
//!   tree, edited incrementally).
//! - `convert.rs`, `rope_ext.rs`: the only places that know positions can be UTF-16.
//! - `config.rs`: each file's settings and exclusion from its configuration files, as
//!   `aiolint check` finds them; reloaded when they change.
//! - `analysis.rs`: running the analyzer against the project index; `project.rs`: one module
//!   summary per file (disk and open document) and the index built from them, by generation;
//!   `workspace.rs`: the files of the workspace and their published findings.
//! - `confirm.rs`: confirming findings with the reference executor (`runtime-check`), shared
//!   with `aiolint confirm`.
//!
//! # Invariants
//!
//! - Client input is clamped, never trusted: out-of-range positions move to the nearest valid
//!   offset, and nothing derived from a request is `unwrap`ped.
//! - The analyzer runs on the blocking pool; a panic there costs one result, not the server.
//! - Diagnostics carry the document version they were computed for; results for superseded
//!   versions are dropped.

mod analysis;
mod capabilities;
mod config;
pub mod confirm;
mod convert;
mod document;
mod document_store;
pub mod files;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod handlers;
mod project;
mod rope_ext;
mod server;
mod state;
mod transport;
mod workspace;

use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::LspService;

use crate::server::Server;
use crate::state::State;

/// How `aiolint server` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The most verbose level logged to stderr: `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: String,
}

/// How long exiting waits for running probes to be killed, reaped and cleaned up.
const PROBE_CLEAN_UP: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves the protocol on stdin/stdout until `exit`. Returns whether the client asked for
/// `shutdown` first (the protocol's exit code is 0 then, 1 otherwise).
pub fn run_stdio(options: &Options) -> std::io::Result<bool> {
    init_logging(&options.log_level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("aiolint-lsp")
        .enable_all()
        .build()?;
    let clean = runtime.block_on(async {
        match stdio_pipes() {
            Some((input, output)) => serve(input, output).await,
            None => serve(tokio::io::stdin(), tokio::io::stdout()).await,
        }
    });
    // A confirmation still running would leave its probe behind (reparented to `init`).
    if !runtime_check::stop_all_probes(PROBE_CLEAN_UP) {
        tracing::warn!("a probe was still being cleaned up at exit");
    }
    // Reading stdin blocks a thread that would never finish; background scans are moot now.
    runtime.shutdown_background();
    tracing::info!(clean, "exit");
    Ok(clean)
}

/// Standard input and output when both are pipes (as editors start the server): read and
/// written without blocking, through the runtime's poller. tokio's own stdio hands every read
/// and write to a thread of its blocking pool, a few hundred microseconds each way on a busy
/// machine, on every keystroke's path. `None` (tokio's stdio then) for anything else, such as a
/// terminal or a file; nothing is changed on the descriptors before both are known to be pipes.
#[cfg(unix)]
fn stdio_pipes() -> Option<(
    tokio::net::unix::pipe::Receiver,
    tokio::net::unix::pipe::Sender,
)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let input = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let output = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let (input, output) = (std::fs::File::from(input), std::fs::File::from(output));
    let is_pipe = |file: &std::fs::File| file.metadata().is_ok_and(|m| m.file_type().is_fifo());
    if !is_pipe(&input) || !is_pipe(&output) {
        return None;
    }
    let receiver = tokio::net::unix::pipe::Receiver::from_file(input).ok()?;
    let sender = tokio::net::unix::pipe::Sender::from_file(output).ok()?;
    Some((receiver, sender))
}

#[cfg(not(unix))]
fn stdio_pipes() -> Option<(tokio::io::Stdin, tokio::io::Stdout)> {
    None
}

/// Serves the protocol on any pair of streams (tests and benchmarks use in-memory pipes).
/// Must run inside a multi-threaded tokio runtime. Returns whether `shutdown` came before the
/// end of the input.
pub async fn serve<I, O>(input: I, output: O) -> bool
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let state_slot: Arc<OnceLock<Arc<State>>> = Arc::new(OnceLock::new());
    let slot = Arc::clone(&state_slot);
    let (service, socket) = LspService::new(move |client| {
        let state = Arc::new(State::new(client));
        let _ = slot.set(Arc::clone(&state));
        Server(state)
    });
    transport::serve(input, output, service, socket).await;
    state_slot.get().is_some_and(|s| s.is_shutting_down())
}

/// Sends `tracing` output to stderr at `level` (ignored if a subscriber is already set).
fn init_logging(level: &str) {
    let level = level
        .parse::<tracing::Level>()
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
