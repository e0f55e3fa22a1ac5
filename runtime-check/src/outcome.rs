//! What was measured and observed while a probe ran.

use std::fmt;
use std::time::Duration;

/// A heartbeat gap longer than the stall threshold: the event loop did not run for
/// [`Stall::duration`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The gap between two heartbeats as measured by the supervisor's monotonic clock. For a
    /// stall cut by the deadline ([`Stall::cut_by_deadline`]) it is a lower bound.
    pub duration: Duration,
    /// The line of the probe's file that was executing when the loop thread's stack was
    /// sampled during the stall (the innermost frame in the probe's file), if any.
    pub line: Option<u32>,
    /// Every line of the probe's file on the sampled stacks, innermost first and without
    /// repetition; includes [`Stall::line`]. A call site on this list was executing (maybe
    /// through helpers) while the loop was blocked.
    pub lines: Vec<u32>,
    /// The stack samples taken during the stall, in order: for each, the lines of the probe's
    /// file on the loop thread's stack, innermost first (empty when no frame of the probe's
    /// file was on it). Samples are taken at 1×, 2× and 3× the threshold into the stall and
    /// every 250 ms after that.
    pub samples: Vec<Vec<u32>>,
    /// Whether the probe's code was running when the stall started (as opposed to harness
    /// start-up or teardown).
    pub during_entry: bool,
    /// Whether the probe was killed at its deadline while this stall was still going on. (A
    /// stall still going on when the probe died by itself ends at its death, unmarked.)
    pub cut_by_deadline: bool,
}

impl Stall {
    /// The stall's length in whole milliseconds.
    pub fn millis(&self) -> u64 {
        u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Something the harness observed, with the lines of the probe's file it was attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEvent {
    /// Lines of the probe's file, innermost frame first. For a never-awaited coroutine or a
    /// destroyed task these are the frames where it was *created*; for a nested run or a
    /// refused connection the frames of the call; for an exception its traceback.
    pub lines: Vec<u32>,
    /// What happened: the coroutine's qualified name, the task's repr, the error message.
    pub detail: String,
}

impl LineEvent {
    /// The innermost line of the probe's file, if any.
    pub fn line(&self) -> Option<u32> {
        self.lines.first().copied()
    }
}

/// A stage of a probe's life, for reporting timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Interpreter start-up and executing the probe module; the probe's code has not started.
    Setup,
    /// The probe's code is running on the event loop.
    Running,
    /// The probe's code has finished; the harness is collecting garbage and shutting down.
    Teardown,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Setup => "setup",
            Self::Running => "running",
            Self::Teardown => "teardown",
        })
    }
}

/// Why the harness could not run the probe's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeFailureKind {
    /// The probe's source does not compile.
    Syntax,
    /// Executing the probe module raised (e.g. a missing import).
    Setup,
    /// The entry function does not exist in the probe module.
    Entry,
    /// The harness itself failed.
    Harness,
}

/// The harness reported that it could not run the probe's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// What kind of failure.
    pub kind: ProbeFailureKind,
    /// Lines of the probe's file involved, innermost first (the syntax error's line, the
    /// failing import, ...).
    pub lines: Vec<u32>,
    /// The error message.
    pub message: String,
}

/// How the probe process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitInfo {
    /// Exit code, when the process exited.
    pub code: Option<i32>,
    /// Signal number, when the process was killed by a signal.
    pub signal: Option<i32>,
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exit code {code}"),
            (None, Some(signal)) => write!(f, "killed by signal {signal}"),
            (None, None) => f.write_str("unknown exit status"),
        }
    }
}

/// The interpreter died without the harness finishing (a segfault, a resource limit, the
/// probe calling `os._exit`), and the supervisor did not kill it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// How the process ended.
    pub exit: ExitInfo,
    /// The end of its standard error.
    pub stderr_tail: String,
}

/// How a probe was contained beyond what always applies (its own process group killed at the
/// deadline, a fresh temporary directory, a minimal environment, `RLIMIT_AS`, `RLIMIT_CPU`,
/// `RLIMIT_FSIZE`, no core dumps, the harness's Python-level network refusal).
///
/// What the kernel refused is `false` / `None`; the default is "nothing more".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent layers, each there or not"
)]
pub struct Isolation {
    /// The probe ran in a network namespace of its own (only a loopback interface, down), so
    /// no socket reaches anything, whatever Python-level patch the probe undoes. When false,
    /// only the harness's patch of the `socket` module refuses connections.
    pub network_namespace: bool,
    /// The interpreter was init (PID 1) of a PID namespace of its own, so every process the
    /// probe started, daemons that left the process group included, died with it. When false,
    /// only the process group (and the cgroup, if any) is killed.
    pub pid_namespace: bool,
    /// `/proc` inside the probe showed only the probe's own processes (a fresh `proc` mount
    /// in a mount namespace), so the caller's `/proc/PID/environ` was out of reach.
    pub private_proc: bool,
    /// Every file system was read-only inside the probe except its temporary directory (a
    /// read-only remount of each mount in the probe's mount namespace).
    pub read_only_files: bool,
    /// The interpreter ran without capabilities (empty bounding set, `no_new_privs`), so even
    /// as root it could not undo the mounts or leave its namespaces.
    pub no_capabilities: bool,
    /// The layers above were made in a user namespace of the probe's own, in which the
    /// caller's user is root (how an unprivileged user gets them).
    pub user_namespace: bool,
    /// How many processes and threads the probe could have at once, if limited: the `pids`
    /// cgroup's `pids.max`, or else (in a user namespace) `RLIMIT_NPROC`.
    pub process_limit: Option<u32>,
}

impl Isolation {
    /// The weakest of two: what both probes had.
    #[must_use]
    pub fn common(self, other: Self) -> Self {
        Self {
            network_namespace: self.network_namespace && other.network_namespace,
            pid_namespace: self.pid_namespace && other.pid_namespace,
            private_proc: self.private_proc && other.private_proc,
            read_only_files: self.read_only_files && other.read_only_files,
            no_capabilities: self.no_capabilities && other.no_capabilities,
            user_namespace: self.user_namespace || other.user_namespace,
            process_limit: self
                .process_limit
                .zip(other.process_limit)
                .map(|(a, b)| a.max(b)),
        }
    }

    /// One sentence per missing layer and what stands in for it; empty when nothing is
    /// missing.
    pub fn shortcomings(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !self.network_namespace {
            missing.push(
                "no network namespace (the kernel refused `unshare`): network access is refused only by the harness's patch of Python's `socket` module",
            );
        }
        if !self.pid_namespace {
            missing.push(
                "no PID namespace: a process that leaves the probe's process group (`setsid`) is killed only if the probe's cgroup lists it",
            );
        }
        if !self.private_proc {
            missing.push(
                "no private `/proc`: the probe can read other processes' `/proc/PID/environ` as far as its user may",
            );
        }
        if !self.read_only_files {
            missing.push(
                "no read-only file systems: the probe can write wherever its user may, outside its temporary directory too",
            );
        }
        if !self.no_capabilities {
            missing.push(
                "capabilities not dropped: a probe running as root could undo the other layers",
            );
        }
        if self.process_limit.is_none() {
            missing.push(
                "no process limit (no `pids` cgroup, no user namespace): the number of processes a probe starts is not limited (only the deadline ends a fork bomb)",
            );
        }
        missing
    }
}

/// Everything measured and observed while one probe ran.
///
/// All line numbers are lines of the user's file (the probe is placed at
/// [`Probe::first_line`](crate::Probe::first_line)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The probe's [`filename`](crate::Probe::filename).
    pub filename: String,
    /// The probe's [`flagged_line`](crate::Probe::flagged_line).
    pub flagged_line: u32,
    /// The stall threshold the probe ran with.
    pub stall_threshold: Duration,
    /// The timeout the probe ran with.
    pub timeout: Duration,
    /// The address-space limit the probe ran with, in bytes.
    pub memory_limit: Option<u64>,
    /// Every heartbeat gap longer than the threshold, in order.
    pub stalls: Vec<Stall>,
    /// The longest heartbeat gap seen at all, even below the threshold.
    pub max_gap: Duration,
    /// How many heartbeats arrived.
    pub heartbeats: u64,
    /// Whether the probe's code started running on the loop.
    pub started: bool,
    /// Whether the probe's code finished (normally or by raising) before the deadline.
    pub finished: bool,
    /// Whether the flagged line was executed at least once.
    pub flagged_line_reached: bool,
    /// Coroutines that were never awaited, with the lines where they were created.
    pub never_awaited: Vec<LineEvent>,
    /// Tasks destroyed while still pending, with the lines where they were created.
    pub pending_destroyed: Vec<LineEvent>,
    /// `RuntimeError`s from `asyncio.run` / `run_until_complete` / `Runner.run` called while a
    /// loop was running, with the lines of the call.
    pub nested_runs: Vec<LineEvent>,
    /// Attempts to use the network, which were refused.
    pub network_refused: Vec<LineEvent>,
    /// Other reports of the loop's exception handler ("Task exception was never retrieved").
    pub loop_errors: Vec<LineEvent>,
    /// The exception the probe's code raised, if it did (`detail` is `Type: message`).
    pub exception: Option<LineEvent>,
    /// Why the harness could not run the probe's code, if it could not.
    pub failure: Option<ProbeFailure>,
    /// Set when the supervisor killed the probe at its deadline, with the phase it was in.
    pub timed_out: Option<Phase>,
    /// Set when the interpreter died on its own without finishing.
    pub crash: Option<Crash>,
    /// How the process ended.
    pub exit: ExitInfo,
    /// The end of the probe's standard output.
    pub stdout_tail: String,
    /// The end of the probe's standard error.
    pub stderr_tail: String,
    /// From spawning the interpreter to reaping it.
    pub wall_time: Duration,
    /// Set when the probe's temporary directory (or its cgroup) could not be removed
    /// completely.
    pub cleanup_error: Option<String>,
    /// How the probe was contained (what the kernel allowed).
    pub isolation: Isolation,
}

impl Outcome {
    /// The longest stall, if any.
    pub fn max_stall(&self) -> Option<&Stall> {
        self.stalls.iter().max_by_key(|stall| stall.duration)
    }

    /// The longest stall during which `line` was executing (it was on a sampled stack).
    pub fn stall_at(&self, line: u32) -> Option<&Stall> {
        self.stalls
            .iter()
            .filter(|stall| stall.lines.contains(&line))
            .max_by_key(|stall| stall.duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stall(ms: u64, lines: &[u32]) -> Stall {
        Stall {
            duration: Duration::from_millis(ms),
            line: lines.first().copied(),
            lines: lines.to_vec(),
            samples: vec![lines.to_vec()],
            during_entry: true,
            cut_by_deadline: false,
        }
    }

    #[test]
    fn stalls_are_looked_up_by_line() {
        let outcome = Outcome {
            stalls: vec![stall(150, &[4]), stall(900, &[]), stall(300, &[7, 4])],
            ..crate::verdict::tests::empty_outcome()
        };
        assert_eq!(outcome.max_stall().map(Stall::millis), Some(900));
        assert_eq!(outcome.stall_at(4).map(Stall::millis), Some(300));
        assert_eq!(outcome.stall_at(7).map(Stall::millis), Some(300));
        assert!(outcome.stall_at(5).is_none());
    }

    #[test]
    fn exit_info_displays() {
        let exited = ExitInfo {
            code: Some(3),
            signal: None,
        };
        let killed = ExitInfo {
            code: None,
            signal: Some(9),
        };
        assert_eq!(exited.to_string(), "exit code 3");
        assert_eq!(killed.to_string(), "killed by signal 9");
    }
}
