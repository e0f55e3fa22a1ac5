//! The aiolint reference executor.
//!
//! This crate turns "this probably blocks the event loop" into "this blocked the loop for
//! 503 ms at line 12" by running a probe snippet in a real Python interpreter and measuring
//! (see `SPEC.md` section 5). It knows nothing about rules or findings: the caller builds
//! [`Probe`]s, calls [`run_probes`], and turns each [`Outcome`] into a [`Confirmation`] with
//! [`Outcome::confirm`] for the kind of finding it is checking.
//!
//! # How a probe runs
//! - A small event loop on `mio` (the *supervisor*) spawns up to
//!   [`Options::jobs`] probe processes at once: `python -u -X dev -B harness.py ...` in its own
//!   process group, with a minimal environment, a fresh temporary directory as working
//!   directory, and memory, CPU and file-size limits; on Linux, where the kernel allows, also
//!   in a `pids` cgroup and network, PID and mount namespaces of its own, read-only but for its
//!   directory and without capabilities ([`Isolation`] says what it got).
//! - The embedded Python harness (`harness.py`) runs the probe's code on a fresh asyncio loop
//!   next to a heartbeat *task* that writes a tick to a dedicated event pipe every 5 ms, and
//!   reports never-awaited coroutines, pending tasks destroyed, nested `asyncio.run`, refused
//!   network access and exceptions on the same pipe.
//! - The supervisor timestamps every tick with its own monotonic clock. A gap longer than
//!   [`Options::stall_threshold`] is a stall; while it lasts the supervisor sends `SIGUSR1`, on
//!   which the harness's `faulthandler` dumps the loop thread's stack into the pipe. The frames
//!   in the probe's file give the line that was blocking.
//! - At the deadline the whole process group is killed; every child is reaped and every
//!   temporary directory removed.
//!
//! # Example
//! ```no_run
//! use runtime_check::{Entry, FindingKind, Options, Probe, run_probes};
//!
//! let probe = Probe {
//!     source: "import time\nasync def poll():\n    time.sleep(0.5)\n".to_owned(),
//!     entry: Entry::Function("poll".to_owned()),
//!     filename: "app/poll.py".to_owned(),
//!     first_line: 1,
//!     flagged_line: 3,
//! };
//! let outcomes = run_probes(vec![probe], &Options::default())?;
//! let confirmation = outcomes[0].confirm(FindingKind::Blocking);
//! eprintln!("{}: {}", confirmation.verdict, confirmation.detail);
//! # Ok::<(), runtime_check::Error>(())
//! ```

// Only the Unix build runs probes; elsewhere `run_probes` reports `Error::Unsupported`.
#![cfg_attr(not(unix), allow(dead_code))]

#[cfg(unix)]
mod child;
#[cfg(unix)]
mod contain;
mod error;
mod heartbeat;
#[cfg(unix)]
mod interpreter;
#[cfg(unix)]
mod live;
mod outcome;
mod protocol;
#[cfg(unix)]
mod supervisor;
mod verdict;

use std::path::PathBuf;
use std::time::Duration;

pub use error::Error;
pub use outcome::{
    Crash, ExitInfo, Isolation, LineEvent, Outcome, Phase, ProbeFailure, ProbeFailureKind, Stall,
};
pub use verdict::{Confirmation, FindingKind, Verdict};

/// The Python harness, embedded in the binary and written next to every probe.
pub(crate) const HARNESS_SOURCE: &str = include_str!("harness.py");

/// The largest accepted [`Probe::first_line`]: the probe file is padded with blank lines so
/// that its line numbers are the user's, and this bounds the padding.
pub const MAX_FIRST_LINE: u32 = 10_000_000;

/// How the harness starts a probe's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Execute the source as a module (its imports and helpers), then call this zero-argument
    /// function on a fresh event loop and await its result. Dotted names (`Service.run`) are
    /// looked up attribute by attribute.
    Function(String),
    /// Run the source's statements as the body of a synthetic coroutine on a fresh event loop;
    /// top-level `await` is allowed.
    Statements,
}

/// One snippet to run in the Python interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Python source of the probe. Its first line is line [`Probe::first_line`] of the user's
    /// file, so every line number reported in the [`Outcome`] is a line of the user's file.
    pub source: String,
    /// How to start the probe's code.
    pub entry: Entry,
    /// The user's file the probe was cut from; a label for reports (its base name also names
    /// the temporary file, so tracebacks look familiar).
    pub filename: String,
    /// Line in the user's file of the probe's first line (1-based; 0 is treated as 1).
    pub first_line: u32,
    /// Line in the user's file of the finding to confirm. It must be one of the probe's lines.
    pub flagged_line: u32,
}

/// How probes are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The Python interpreter: a path, or a bare name looked up on `PATH` (default `python3`).
    /// Python 3.8 or newer is required.
    pub python: PathBuf,
    /// How long a probe's code may run once it has started (default 5 s); at the deadline the
    /// probe's process group is killed. Interpreter start-up plus executing the probe module
    /// get their own budget before that (the timeout, but at least [`MIN_SETUP_BUDGET`], as
    /// start-up is slow on a loaded machine), and so does the harness's teardown after it.
    pub timeout: Duration,
    /// How many probes run at once (default: the number of cores).
    pub jobs: usize,
    /// A heartbeat gap longer than this is a stall (default 100 ms; at least 20 ms).
    pub stall_threshold: Duration,
    /// Address-space limit of a probe process in bytes (default 1 GiB); `None` for no limit.
    pub memory_limit: Option<u64>,
    /// How many processes and threads a probe may have at once (default 128), enforced by a
    /// `pids` cgroup where this process may create one ([`Isolation::process_limit`] says
    /// whether it did); `None` for no cgroup.
    pub process_limit: Option<u32>,
    /// Whether to run each probe in network, PID and mount namespaces of its own where the
    /// kernel allows (default true; [`Isolation`] says what it allowed). False runs probes
    /// the way systems without namespaces do, e.g. to test that fallback.
    pub namespaces: bool,
    /// Extra directories appended to the probe's `sys.path` (e.g. the project root, so that
    /// the probe's imports of project modules resolve).
    pub python_path: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            python: PathBuf::from("python3"),
            timeout: Duration::from_secs(5),
            jobs: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            stall_threshold: Duration::from_millis(100),
            memory_limit: Some(1 << 30),
            process_limit: Some(DEFAULT_PROCESS_LIMIT),
            namespaces: true,
            python_path: Vec::new(),
        }
    }
}

/// The default [`Options::process_limit`]: room for a thread pool and a few subprocesses.
pub const DEFAULT_PROCESS_LIMIT: u32 = 128;

/// The least time granted to interpreter start-up and executing the probe module, whatever
/// [`Options::timeout`] is.
pub const MIN_SETUP_BUDGET: Duration = Duration::from_secs(5);

impl Options {
    /// The budget for interpreter start-up and executing the probe module.
    pub fn setup_budget(&self) -> Duration {
        self.timeout.max(MIN_SETUP_BUDGET)
    }
}

/// The smallest accepted [`Options::stall_threshold`]: the heartbeat ticks every 5 ms, and
/// scheduling jitter must not look like a stall.
pub const MIN_STALL_THRESHOLD: Duration = Duration::from_millis(20);

/// Stops every probe running in this process, for a caller about to exit while a run may be
/// going on (another thread's [`run_probes`]): kills their process groups, makes every later
/// [`run_probes`] fail, and waits up to `wait` until the probes are reaped and their temporary
/// directories removed. Returns whether that happened in time.
pub fn stop_all_probes(wait: Duration) -> bool {
    #[cfg(unix)]
    {
        live::stop_all(wait)
    }
    #[cfg(not(unix))]
    {
        let _ = wait;
        true
    }
}

/// Runs every probe in the Python interpreter and returns their outcomes in input order.
///
/// Up to [`Options::jobs`] probes run at the same time. Problems of an individual probe (a
/// syntax error, an exception, a crash, a timeout) are part of its [`Outcome`]; an `Err` means
/// the probes could not be run at all: bad options or probes, no usable interpreter, or an
/// operating-system failure (temporary directory, pipes, spawning). On `Err`, every probe
/// process already started has been killed and reaped and its directory removed.
pub fn run_probes(probes: Vec<Probe>, opts: &Options) -> Result<Vec<Outcome>, Error> {
    validate_options(opts)?;
    for (index, probe) in probes.iter().enumerate() {
        validate_probe(index, probe)?;
    }
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    #[cfg(unix)]
    {
        let python = interpreter::resolve(&opts.python)?;
        supervisor::run(probes, opts, &python)
    }
    #[cfg(not(unix))]
    {
        Err(Error::Unsupported)
    }
}

/// Runs one probe; see [`run_probes`].
pub fn run_probe(probe: Probe, opts: &Options) -> Result<Outcome, Error> {
    run_probes(vec![probe], opts)?
        .pop()
        .ok_or_else(|| Error::Internal("no outcome for the probe".to_owned()))
}

/// Runs one probe and decides whether it confirms a finding of `kind` at its flagged line.
///
/// Shorthand for [`run_probe`] followed by [`Outcome::confirm`]; use [`run_probes`] to run
/// many probes in parallel and keep their outcomes.
pub fn confirm(probe: Probe, kind: FindingKind, opts: &Options) -> Result<Confirmation, Error> {
    Ok(run_probe(probe, opts)?.confirm(kind))
}

fn validate_options(opts: &Options) -> Result<(), Error> {
    if opts.jobs == 0 {
        return Err(Error::InvalidOptions("jobs must be at least 1".to_owned()));
    }
    if opts.timeout.is_zero() {
        return Err(Error::InvalidOptions(
            "timeout must be longer than zero".to_owned(),
        ));
    }
    if opts.timeout > Duration::from_secs(24 * 3600) {
        return Err(Error::InvalidOptions(
            "timeout must be at most 24 hours".to_owned(),
        ));
    }
    if opts.stall_threshold < MIN_STALL_THRESHOLD {
        return Err(Error::InvalidOptions(format!(
            "stall threshold must be at least {} ms",
            MIN_STALL_THRESHOLD.as_millis()
        )));
    }
    if opts.process_limit == Some(0) {
        return Err(Error::InvalidOptions(
            "the process limit must be at least 1".to_owned(),
        ));
    }
    if opts.python.as_os_str().is_empty() {
        return Err(Error::InvalidOptions(
            "the python interpreter path is empty".to_owned(),
        ));
    }
    Ok(())
}

fn validate_probe(index: usize, probe: &Probe) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidProbe {
        index,
        filename: probe.filename.clone(),
        reason,
    };
    if probe.first_line > MAX_FIRST_LINE {
        return Err(invalid(format!(
            "first line {} is beyond the supported {MAX_FIRST_LINE}",
            probe.first_line
        )));
    }
    if let Entry::Function(name) = &probe.entry {
        let valid = !name.is_empty()
            && name.split('.').all(|part| {
                !part.is_empty()
                    && !part.starts_with(|c: char| c.is_ascii_digit())
                    && part.chars().all(|c| c == '_' || c.is_alphanumeric())
            });
        if !valid {
            return Err(invalid(format!(
                "entry `{name}` is not a (dotted) Python name"
            )));
        }
    }
    let first = probe.first_line.max(1);
    let line_count = u32::try_from(probe.source.lines().count().max(1)).unwrap_or(u32::MAX);
    let last = first.saturating_add(line_count - 1);
    if probe.flagged_line < first || probe.flagged_line > last {
        return Err(invalid(format!(
            "flagged line {} is outside the probe's lines {first}..={last}",
            probe.flagged_line
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(entry: Entry, first_line: u32, flagged_line: u32) -> Probe {
        Probe {
            source: "a = 1\nb = 2\n".to_owned(),
            entry,
            filename: "x.py".to_owned(),
            first_line,
            flagged_line,
        }
    }

    #[test]
    fn flagged_line_must_be_inside_the_probe() {
        assert!(validate_probe(0, &probe(Entry::Statements, 10, 11)).is_ok());
        assert!(validate_probe(0, &probe(Entry::Statements, 10, 12)).is_err());
        assert!(validate_probe(0, &probe(Entry::Statements, 10, 9)).is_err());
        assert!(validate_probe(0, &probe(Entry::Statements, 0, 1)).is_ok());
    }

    #[test]
    fn entry_names_are_checked() {
        for good in ["main", "Service.run", "_f2", "été"] {
            assert!(validate_probe(0, &probe(Entry::Function(good.into()), 1, 1)).is_ok());
        }
        for bad in ["", "a..b", "2x", "f()", "a b", "import os"] {
            assert!(validate_probe(0, &probe(Entry::Function(bad.into()), 1, 1)).is_err());
        }
    }

    #[test]
    fn options_are_checked() {
        assert!(validate_options(&Options::default()).is_ok());
        let bad = [
            Options {
                jobs: 0,
                ..Options::default()
            },
            Options {
                timeout: Duration::ZERO,
                ..Options::default()
            },
            Options {
                stall_threshold: Duration::from_millis(5),
                ..Options::default()
            },
        ];
        for opts in bad {
            assert!(matches!(
                validate_options(&opts),
                Err(Error::InvalidOptions(_))
            ));
        }
    }

    #[test]
    fn harness_is_embedded() {
        assert!(HARNESS_SOURCE.contains("faulthandler.register"));
    }
}
