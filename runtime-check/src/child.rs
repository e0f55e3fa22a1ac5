//! One probe process: its temporary directory, spawning, signalling, killing and reaping.
//!
//! The interpreter runs `python -u -X dev -B harness.py EVENT_FD PROBE FLAGGED_LINE ENTRY` in
//! its own process group (so the whole group can be killed), with a minimal environment, a
//! fresh temporary directory as working directory, `HOME` and `TMPDIR`, and resource limits
//! set between `fork` and `exec`, then the containment of [`crate::contain`] (a `pids`
//! cgroup, network, PID and mount namespaces where the kernel allows). The event pipe's write
//! end is inherited under its own fd number; every other descriptor of the supervisor is
//! close-on-exec.
//!
//! With a PID namespace the supervisor's child is a small process that forwards `SIGUSR1` to
//! the interpreter (its child, PID 1 of the namespace) and exits as it did; both are in the
//! probe's process group, so everything below works the same with or without it.
//!
//! Killing and reaping follow one order, which keeps process-group signals race-free: the
//! group is killed while its leader is still unreaped (a zombie leader keeps the group id
//! reserved), the supervisor waits until no live member is left, and only then reaps the
//! leader. [`Drop`] does the same (without waiting for the members) if the supervisor stops
//! early.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use mio::unix::pipe::{self, Receiver};
use tempfile::TempDir;

use crate::contain::{self, ProcessCgroup};
use crate::error::Error;
use crate::live::Ticket;
use crate::outcome::ExitInfo;
use crate::{Entry, HARNESS_SOURCE, Options, Probe};

/// Largest file a probe may write (`RLIMIT_FSIZE`).
const FILE_SIZE_LIMIT: u64 = 256 << 20;
/// Name of the harness script inside the probe's directory.
const HARNESS_FILE: &str = "_aiolint_harness.py";
/// Subdirectory holding the probe's file (kept off `sys.path`, so a probe called `asyncio.py`
/// cannot shadow the standard library for the harness).
const PROBE_DIR: &str = "probe";
/// Used when the caller's environment has no `PATH`.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A running (or exited but not yet reaped) probe interpreter.
#[derive(Debug)]
pub(crate) struct ProbeProcess {
    child: Child,
    pid: libc::pid_t,
    reaped: bool,
    /// Held open and never written, so a probe reading standard input blocks (as it would in
    /// a server) instead of seeing end-of-file.
    stdin: Option<ChildStdin>,
    pub(crate) stdout: Option<Receiver>,
    pub(crate) stderr: Option<Receiver>,
    pub(crate) events: Option<Receiver>,
    workdir: Option<TempDir>,
    probe_path: String,
    /// The probe's `pids` cgroup, when one could be made.
    cgroup: Option<ProcessCgroup>,
    /// Declared last, so it is dropped after the clean-up of [`Drop`].
    ticket: Ticket,
}

/// What the child does between `fork` and `exec`; plain data, so the closure allocates nothing.
#[derive(Debug, Clone, Copy)]
struct ChildSetup {
    event_fd: RawFd,
    memory_limit: Option<u64>,
    cpu_seconds: u64,
    contain: contain::Plan,
}

impl ProbeProcess {
    /// Writes the harness and the probe into a fresh temporary directory and starts the
    /// interpreter on them.
    pub(crate) fn spawn(python: &Path, probe: &Probe, opts: &Options) -> Result<Self, Error> {
        let mut ticket = Ticket::take()?;
        let workdir = tempfile::Builder::new()
            .prefix("aiolint-probe-")
            .tempdir()
            .map_err(Error::io("creating the probe's temporary directory"))?;
        let harness_path = workdir.path().join(HARNESS_FILE);
        fs::write(&harness_path, HARNESS_SOURCE).map_err(Error::io("writing the harness"))?;
        let probe_dir = workdir.path().join(PROBE_DIR);
        fs::create_dir(&probe_dir).map_err(Error::io("creating the probe's directory"))?;
        let probe_file = probe_dir.join(probe_file_name(&probe.filename));
        let padding = usize::try_from(probe.first_line.max(1) - 1).unwrap_or(0);
        let mut text = String::with_capacity(padding + probe.source.len());
        text.extend(std::iter::repeat_n('\n', padding));
        text.push_str(&probe.source);
        fs::write(&probe_file, text).map_err(Error::io("writing the probe"))?;
        let probe_path = probe_file
            .to_str()
            .ok_or_else(|| Error::Io {
                context: "naming the probe file",
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the temporary directory's path is not UTF-8",
                ),
            })?
            .to_owned();

        let (sender, receiver) = pipe::new().map_err(Error::io("creating the event pipe"))?;
        // The child writes heartbeats with plain blocking writes; only our end is non-blocking.
        sender
            .set_nonblocking(false)
            .map_err(Error::io("configuring the event pipe"))?;
        let cgroup = opts.process_limit.and_then(ProcessCgroup::create);
        let setup = ChildSetup {
            event_fd: sender.as_raw_fd(),
            memory_limit: opts.memory_limit,
            cpu_seconds: cpu_limit_seconds(opts),
            contain: contain::Plan {
                cgroup_procs: cgroup.as_ref().map(ProcessCgroup::procs_fd),
                process_limit: opts.process_limit.unwrap_or(0),
                namespaces: opts.namespaces,
                supervisor: libc::pid_t::try_from(std::process::id()).unwrap_or(0),
            },
        };

        let entry = match &probe.entry {
            Entry::Function(name) => format!("function:{name}"),
            Entry::Statements => "statements".to_owned(),
        };
        let mut command = Command::new(python);
        command
            .args(["-u", "-X", "dev", "-B"])
            .arg(&harness_path)
            .arg(setup.event_fd.to_string())
            .arg(&probe_path)
            .arg(probe.flagged_line.to_string())
            .arg(entry)
            .args(&opts.python_path)
            .current_dir(workdir.path())
            .env_clear()
            .envs(minimal_environment(workdir.path()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mounts = contain::Mounts::new(workdir.path());
        // SAFETY: the closure only makes async-signal-safe system calls (fcntl, getrlimit,
        // setrlimit, write, unshare, mount, statvfs, prctl, sigprocmask, fork, ...) on copied
        // plain data and on `mounts`, which it only reads; it allocates nothing.
        unsafe {
            command.pre_exec(move || child_setup(setup, &mounts));
        }
        let mut child = command.spawn().map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                Error::InterpreterNotFound(python.to_path_buf())
            } else {
                Error::Io {
                    context: "starting the python interpreter",
                    source: err,
                }
            }
        })?;
        // Our copy of the write end must go, or the event pipe never reports end-of-file.
        drop(sender);
        let pid = libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX);
        ticket.spawned(pid);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(Receiver::from);
        let stderr = child.stderr.take().map(Receiver::from);
        let process = Self {
            child,
            pid,
            reaped: false,
            stdin,
            stdout,
            stderr,
            events: Some(receiver),
            workdir: Some(workdir),
            probe_path,
            cgroup,
            ticket,
        };
        for receiver in [&process.stdout, &process.stderr, &process.events]
            .into_iter()
            .flatten()
        {
            // `Receiver::from(ChildStdout)` leaves the pipe blocking.
            receiver
                .set_nonblocking(true)
                .map_err(Error::io("configuring the probe's pipes"))?;
        }
        if process.stdout.is_none() || process.stderr.is_none() {
            process.kill_group();
            return Err(Error::Internal("the probe's pipes are missing".to_owned()));
        }
        Ok(process)
    }

    /// The probe file's path as the interpreter sees it (frames carry this file name).
    pub(crate) fn probe_path(&self) -> &str {
        &self.probe_path
    }

    /// Whether the interpreter has exited (without reaping it).
    pub(crate) fn has_exited(&self) -> bool {
        if self.reaped {
            return true;
        }
        let Ok(id) = libc::id_t::try_from(self.pid) else {
            return true;
        };
        loop {
            // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill in.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: plain system call on our own child; WNOWAIT leaves it unreaped.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    id,
                    &raw mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                // SAFETY: waitid succeeded, so the siginfo_t is initialised.
                return unsafe { info.si_pid() } != 0;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                // ECHILD: there is nothing left to wait for.
                return true;
            }
        }
    }

    /// Asks the harness for the loop thread's stack (`SIGUSR1`, handled by `faulthandler`).
    pub(crate) fn request_stack(&self) {
        if !self.reaped {
            // SAFETY: plain system call; the pid is our unreaped child, so it is not reused.
            unsafe {
                libc::kill(self.pid, libc::SIGUSR1);
            }
        }
    }

    /// Kills the whole process group, and every process in the probe's cgroup (which
    /// `setsid` does not leave). Only done while the leader is unreaped, so the group id
    /// cannot belong to anyone else.
    pub(crate) fn kill_group(&self) {
        if !self.reaped {
            // SAFETY: plain system call; the group id is reserved by our unreaped child.
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
            }
        }
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill_members();
        }
    }

    /// Whether the leader or any other member of the process group or the cgroup is still
    /// alive.
    pub(crate) fn group_alive(&self) -> bool {
        !self.has_exited()
            || group_has_live_members(self.pid)
            || self
                .cgroup
                .as_ref()
                .is_some_and(ProcessCgroup::has_live_members)
    }

    /// Reaps the interpreter (blocks until it has exited; call after [`Self::kill_group`] or
    /// once [`Self::has_exited`]).
    pub(crate) fn reap(&mut self) -> ExitInfo {
        self.stdin = None;
        self.ticket.reaping();
        self.reaped = true;
        self.child.wait().map_or_else(
            |_| ExitInfo::default(),
            |status| ExitInfo {
                code: status.code(),
                signal: status.signal(),
            },
        )
    }

    /// Removes the probe's cgroup (after [`Self::reap`]); returns what could not be removed.
    pub(crate) fn remove_cgroup(&mut self) -> Option<String> {
        self.cgroup.take()?.remove()
    }

    /// Removes the temporary directory; returns what could not be removed.
    pub(crate) fn remove_workdir(&mut self) -> Option<String> {
        let dir = self.workdir.take()?;
        let path = dir.path().to_path_buf();
        if dir.close().is_ok() {
            return None;
        }
        // A probe may have made a directory unwritable: restore permissions and retry.
        make_owner_writable(&path);
        match fs::remove_dir_all(&path) {
            Ok(()) => None,
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => Some(format!("could not remove `{}`: {err}", path.display())),
        }
    }
}

impl Drop for ProbeProcess {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
            self.reap();
        }
        if self.workdir.is_some() {
            let _ = self.remove_workdir();
        }
    }
}

/// `RLIMIT_CPU` in seconds: the start-up budget plus the timeout for the probe's code and for
/// teardown, plus a second of slack; the wall-clock deadlines normally strike first.
fn cpu_limit_seconds(opts: &Options) -> u64 {
    let total = opts.setup_budget() + opts.timeout * 2;
    total
        .as_secs()
        .saturating_add(u64::from(total.subsec_nanos() > 0))
        .saturating_add(1)
}

/// The probe's environment: nothing of the caller's but `PATH`.
fn minimal_environment(workdir: &Path) -> Vec<(&'static str, OsString)> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from(DEFAULT_PATH));
    vec![
        ("PATH", path),
        ("HOME", workdir.as_os_str().to_owned()),
        ("TMPDIR", workdir.as_os_str().to_owned()),
        ("LC_ALL", OsString::from("C.UTF-8")),
        ("PYTHONIOENCODING", OsString::from("utf-8:backslashreplace")),
        ("PYTHONHASHSEED", OsString::from("0")),
    ]
}

/// A safe, familiar file name for the probe: the base name of the user's file.
fn probe_file_name(label: &str) -> String {
    let base = label.rsplit(['/', '\\']).next().unwrap_or("");
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(96)
        .collect();
    name = name.trim_start_matches('.').to_owned();
    if name.is_empty() {
        name.push_str("probe");
    }
    if !Path::new(&name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("py"))
    {
        name.push_str(".py");
    }
    name
}

/// Lowers a resource limit to `soft`/`hard`, never above the current limits (raising a hard
/// limit would fail for an unprivileged user).
macro_rules! lower_limit {
    ($resource:expr, $soft:expr, $hard:expr) => {{
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills in the struct we pass.
        if unsafe { libc::getrlimit($resource, &raw mut current) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let hard: libc::rlim_t = $hard;
        let soft: libc::rlim_t = $soft;
        let hard = hard.min(current.rlim_max);
        let wanted = libc::rlimit {
            rlim_cur: soft.min(hard),
            rlim_max: hard,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit($resource, &raw const wanted) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }};
}

/// Runs in the child between `fork` and `exec`.
fn child_setup(setup: ChildSetup, mounts: &contain::Mounts) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own in this process.
    let flags = unsafe { libc::fcntl(setup.event_fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; clearing FD_CLOEXEC lets the interpreter inherit the event pipe.
    if unsafe { libc::fcntl(setup.event_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    lower_limit!(libc::RLIMIT_CORE, 0, 0);
    lower_limit!(libc::RLIMIT_FSIZE, FILE_SIZE_LIMIT, FILE_SIZE_LIMIT);
    lower_limit!(
        libc::RLIMIT_CPU,
        setup.cpu_seconds,
        setup.cpu_seconds.saturating_add(1)
    );
    if let Some(bytes) = setup.memory_limit {
        lower_limit!(libc::RLIMIT_AS, bytes, bytes);
    }
    contain::enter(setup.contain, mounts, setup.event_fd)
}

/// Whether process `pid` exists and is not a zombie.
#[cfg(target_os = "linux")]
pub(crate) fn is_live(pid: libc::pid_t) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rfind(')')
            .and_then(|i| stat.get(i + 1..))
            .and_then(|rest| rest.split_whitespace().next());
        !matches!(state, None | Some("Z" | "X"))
    })
}

/// Whether a process other than a zombie belongs to process group `pgid`.
#[cfg(target_os = "linux")]
fn group_has_live_members(pgid: libc::pid_t) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        let Ok(stat) = fs::read_to_string(PathBuf::from("/proc").join(number).join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses.
        let Some(after_comm) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
            return false;
        };
        let mut fields = after_comm.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let pgrp = fields.nth(1).and_then(|p| p.parse::<libc::pid_t>().ok());
        pgrp == Some(pgid) && state != "Z" && state != "X"
    })
}

/// Without `/proc`, only the leader is watched.
#[cfg(not(target_os = "linux"))]
fn group_has_live_members(_pgid: libc::pid_t) -> bool {
    false
}

/// Gives the owner write and search permission on every directory under `root`.
fn make_owner_writable(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let mode = meta.permissions().mode() | 0o700;
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(mode));
        if let Ok(entries) = fs::read_dir(&dir) {
            stack.extend(entries.flatten().map(|entry| entry.path()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn probe_file_names_are_safe() {
        assert_eq!(probe_file_name("app/service.py"), "service.py");
        assert_eq!(probe_file_name("C:\\x\\nb.ipynb"), "nb.ipynb.py");
        assert_eq!(probe_file_name(""), "probe.py");
        assert_eq!(probe_file_name("../.."), "probe.py");
        assert_eq!(probe_file_name("a b'c\".py"), "a_b_c_.py");
        assert_eq!(probe_file_name("/x/.hidden.py"), "hidden.py");
    }

    #[test]
    fn cpu_limit_covers_three_phases() {
        let opts = Options {
            timeout: Duration::from_millis(1500),
            ..Options::default()
        };
        assert_eq!(cpu_limit_seconds(&opts), 9);
        assert_eq!(cpu_limit_seconds(&Options::default()), 16);
    }
}
