//! Containment of a probe beyond its process group and resource limits (Linux).
//!
//! Two halves:
//! - [`ProcessCgroup`], on the supervisor's side: a cgroup of the `pids` controller (v1 or
//!   v2, wherever this process may create one) whose `pids.max` bounds how many processes and
//!   threads a probe may have at once, so a fork bomb meets `EAGAIN` instead of the machine's
//!   process table. Membership cannot be escaped with `setsid`, so its `cgroup.procs` also
//!   lists every process the probe left behind.
//! - [`enter`], in the child between `fork` and `exec`: joins that cgroup, unshares a network
//!   namespace (only a loopback interface, down: no socket reaches anything) and a PID
//!   namespace with a mount namespace, and mounts a fresh `/proc` there, so the probe sees
//!   only its own processes (not the caller's `/proc/PID/environ`). The interpreter becomes
//!   init (PID 1) of the new PID namespace: when it dies the kernel kills every process left
//!   in it, daemons that double-forked and called `setsid` included. As a process can only
//!   start a PID namespace for its children, the child forks once more; the process in the
//!   middle (still the supervisor's child and the process-group leader) forwards `SIGUSR1`
//!   (the stack-dump request) to the interpreter, and exits the way the interpreter did.
//!   In the mount namespace (made private first, so nothing propagates back) every mount is
//!   remounted read-only but the probe's directory ([`Mounts`]). Last, the interpreter's
//!   capabilities go (bounding set, all sets, `no_new_privs`), so that even as root it cannot
//!   undo any of this; and both processes get `SIGKILL` should their parent die.
//!
//! Whatever the kernel refuses is skipped, and the child writes an `ISO` line to the event
//! pipe, before the harness starts, saying what it got (see [`Isolation`]).

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use crate::outcome::Isolation;

/// The mounts to make read-only in the probe's mount namespace, and the directory that stays
/// writable; made by the supervisor (it allocates), only read in the child.
#[derive(Debug, Default)]
pub(crate) struct Mounts {
    /// The probe's temporary directory, bind-mounted onto itself so that it stays writable.
    workdir: Option<CString>,
    /// Every mount point of the supervisor's mount namespace, `/` first.
    points: Vec<CString>,
}

impl Mounts {
    /// Lists the mount points of this process's namespace (Linux; empty elsewhere).
    pub(crate) fn new(workdir: &Path) -> Self {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::ffi::OsStrExt;
            let points = std::fs::read_to_string("/proc/self/mountinfo")
                .map(|text| linux::mount_points(&text))
                .unwrap_or_default();
            Self {
                workdir: CString::new(workdir.as_os_str().as_bytes()).ok(),
                points: points
                    .into_iter()
                    .filter_map(|point| CString::new(point).ok())
                    .collect(),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = workdir;
            Self::default()
        }
    }
}

/// What the child tries to set up, decided by the supervisor; plain data for `pre_exec`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Plan {
    /// Write end of the probe cgroup's `cgroup.procs`, to join it.
    pub(crate) cgroup_procs: Option<RawFd>,
    /// The process limit: the `pids.max` of that cgroup, or else `RLIMIT_NPROC` inside a
    /// user namespace; 0 for none.
    pub(crate) process_limit: u32,
    /// Unshare the network and PID namespaces (off only for tests of the fallback).
    pub(crate) namespaces: bool,
    /// The supervisor's process id: the child's parent, until the supervisor dies.
    pub(crate) supervisor: libc::pid_t,
}

/// Runs in the child between `fork` and `exec`, after the resource limits are set. Returns in
/// the process that goes on to `exec` the interpreter; with a PID namespace, the process in
/// the middle never returns (see the module docs).
///
/// Only async-signal-safe system calls on plain data: the supervisor may be multi-threaded.
pub(crate) fn enter(plan: Plan, mounts: &Mounts, event_fd: RawFd) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        linux::enter(plan, mounts, event_fd)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (plan, mounts);
        write_report(event_fd, Isolation::default());
        Ok(())
    }
}

/// `n` in decimal, written into `digits` (no allocation).
fn decimal(mut n: u32, digits: &mut [u8; 10]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        // `n % 10` is a single digit.
        digits[start] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    digits.get(start..).unwrap_or_default()
}

/// Writes `ISO net=N pid=N proc=N ro=N caps=N user=N pids=LIMIT` (`pids=0`: no process limit) to the event pipe
/// from a stack buffer; `protocol` parses it.
fn write_report(event_fd: RawFd, isolation: Isolation) {
    let mut buf = [0_u8; 64];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            if let Some(slot) = buf.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
    };
    let flag = |on: bool| if on { b"1" } else { b"0" };
    put(b"ISO net=");
    put(flag(isolation.network_namespace));
    put(b" pid=");
    put(flag(isolation.pid_namespace));
    put(b" proc=");
    put(flag(isolation.private_proc));
    put(b" ro=");
    put(flag(isolation.read_only_files));
    put(b" caps=");
    put(flag(isolation.no_capabilities));
    put(b" user=");
    put(flag(isolation.user_namespace));
    put(b" pids=");
    let mut digits = [0_u8; 10];
    put(decimal(isolation.process_limit.unwrap_or(0), &mut digits));
    put(b"\n");
    // SAFETY: write(2) of our own buffer to a descriptor we hold; a failure is ignored (the
    // supervisor then reports no isolation).
    unsafe {
        libc::write(event_fd, buf.as_ptr().cast(), len);
    }
}

#[cfg(target_os = "linux")]
pub(crate) use linux::ProcessCgroup;

/// Without cgroups there is no process limit.
#[cfg(not(target_os = "linux"))]
#[derive(Debug)]
pub(crate) struct ProcessCgroup;

#[cfg(not(target_os = "linux"))]
impl ProcessCgroup {
    pub(crate) fn create(_limit: u32) -> Option<Self> {
        None
    }
    pub(crate) fn procs_fd(&self) -> RawFd {
        -1
    }
    pub(crate) fn has_live_members(&self) -> bool {
        false
    }
    pub(crate) fn kill_members(&self) {}
    pub(crate) fn remove(&mut self) -> Option<String> {
        None
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::os::fd::{AsRawFd, RawFd};
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    use std::ffi::CStr;

    use rustix::fs::{Mode, OFlags, StatVfsMountFlags};
    use rustix::mount::{
        MountFlags, MountPropagationFlags, mount, mount_bind, mount_change, mount_remount,
    };
    use rustix::process::{
        Pid, PidfdFlags, Resource, Rlimit, Signal, getrlimit, pidfd_open, pidfd_send_signal,
        set_parent_process_death_signal, setrlimit,
    };
    use rustix::thread::{
        CapabilitySet, CapabilitySets, UnshareFlags, remove_capability_from_bounding_set,
        set_capabilities, set_no_new_privs, unshare_unsafe,
    };

    use super::{Mounts, Plan, decimal, write_report};
    use crate::outcome::Isolation;

    /// A `pids` cgroup of one probe, removed by [`ProcessCgroup::remove`] (or on drop).
    #[derive(Debug)]
    pub(crate) struct ProcessCgroup {
        dir: PathBuf,
        procs: File,
        removed: bool,
    }

    /// The prefix of the probe cgroups' names; the supervisor's process id follows.
    const CGROUP_PREFIX: &str = "aiolint-probe-";

    /// Where this process may create `pids` cgroups: its own cgroup in the `pids` hierarchy
    /// (v1) or in the unified one (v2). Looked up once; the empty cgroups that a supervisor
    /// killed before it could remove them left there are removed then.
    fn cgroup_parent() -> Option<&'static Path> {
        static PARENT: OnceLock<Option<PathBuf>> = OnceLock::new();
        PARENT
            .get_or_init(|| {
                let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
                let own = fs::read_to_string("/proc/self/cgroup").ok()?;
                let parent = find_cgroup_parent(&mountinfo, &own)?;
                remove_stale_cgroups(&parent);
                Some(parent)
            })
            .as_deref()
    }

    /// Removes `aiolint-probe-PID-N` cgroups under `parent` whose supervisor `PID` is gone
    /// (`rmdir` only removes a cgroup without processes).
    fn remove_stale_cgroups(parent: &Path) {
        let Ok(entries) = fs::read_dir(parent) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix(CGROUP_PREFIX))
                .and_then(|rest| rest.split('-').next())
            else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir(entry.path());
            }
        }
    }

    /// The directory of this process's cgroup in a hierarchy with the `pids` controller,
    /// from `/proc/self/mountinfo` and `/proc/self/cgroup`: the v1 `pids` hierarchy if
    /// mounted, else the v2 one (which may not offer `pids`: [`ProcessCgroup::create`]
    /// checks).
    pub(super) fn find_cgroup_parent(mountinfo: &str, own: &str) -> Option<PathBuf> {
        let mut v1 = None;
        let mut v2 = None;
        for line in mountinfo.lines() {
            // `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTS`
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let (Some(root), Some(point), Some(fstype)) = (left.get(3), left.get(4), right.first())
            else {
                continue;
            };
            let options = right.get(2).copied().unwrap_or("");
            if *fstype == "cgroup" && options.split(',').any(|o| o == "pids") {
                v1.get_or_insert((unescape(root), unescape(point)));
            } else if *fstype == "cgroup2" {
                v2.get_or_insert((unescape(root), unescape(point)));
            }
        }
        // `/proc/self/cgroup`: `ID:CONTROLLERS:PATH`, `0::PATH` for v2.
        let own_path = |v1_hierarchy: bool| {
            own.lines().find_map(|line| {
                let mut parts = line.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                let matches = if v1_hierarchy {
                    controllers.split(',').any(|c| c == "pids")
                } else {
                    controllers.is_empty()
                };
                matches.then(|| path.to_owned())
            })
        };
        let (v1_hierarchy, (root, point)) = match (v1, v2) {
            (Some(found), _) => (true, found),
            (None, Some(found)) => (false, found),
            (None, None) => return None,
        };
        let path = own_path(v1_hierarchy)?;
        // The mount may show a subtree of the hierarchy (`ROOT`); our path is absolute in it.
        let relative = path
            .strip_prefix(root.as_str())
            .unwrap_or(&path)
            .trim_start_matches('/');
        let dir = Path::new(&point).join(relative);
        dir.is_dir().then_some(dir)
    }

    /// The mount points listed in `/proc/self/mountinfo`, in order (`/` comes first).
    pub(super) fn mount_points(mountinfo: &str) -> Vec<String> {
        mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .map(unescape)
            .collect()
    }

    /// Undoes mountinfo's octal escapes (`\040` for a space).
    fn unescape(field: &str) -> String {
        let bytes = field.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let octal = bytes.get(i + 1..i + 4).and_then(|d| {
                std::str::from_utf8(d)
                    .ok()
                    .and_then(|d| u8::from_str_radix(d, 8).ok())
            });
            match (bytes[i], octal) {
                (b'\\', Some(byte)) => {
                    out.push(byte);
                    i += 4;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    impl ProcessCgroup {
        /// Creates a cgroup allowing `limit` processes and threads; `None` when this process
        /// may not (no `pids` controller, not writable, v2 without `pids` delegated).
        pub(crate) fn create(limit: u32) -> Option<Self> {
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let parent = cgroup_parent()?;
            let dir = parent.join(format!(
                "{CGROUP_PREFIX}{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            fs::create_dir(&dir).ok()?;
            let Ok(procs) = OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
            else {
                let _ = fs::remove_dir(&dir);
                return None;
            };
            let mut cgroup = Self {
                procs,
                dir,
                removed: false,
            };
            if fs::write(cgroup.dir.join("pids.max"), limit.to_string()).is_err() {
                cgroup.remove();
                return None;
            }
            Some(cgroup)
        }

        /// The descriptor the child writes `0` to, to join the cgroup.
        pub(crate) fn procs_fd(&self) -> RawFd {
            self.procs.as_raw_fd()
        }

        fn members(&self) -> Vec<i32> {
            fs::read_to_string(self.dir.join("cgroup.procs"))
                .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
                .unwrap_or_default()
        }

        /// Whether a process other than a zombie is in the cgroup.
        pub(crate) fn has_live_members(&self) -> bool {
            self.members().into_iter().any(crate::child::is_live)
        }

        /// Sends `SIGKILL` to every process in the cgroup, wherever `setsid` took it. Each is
        /// signalled through a pidfd opened while it was still listed, so a recycled PID
        /// cannot be hit.
        pub(crate) fn kill_members(&self) {
            for pid in self.members() {
                let Some(pid) = Pid::from_raw(pid) else {
                    continue;
                };
                let Ok(pidfd) = pidfd_open(pid, PidfdFlags::empty()) else {
                    continue;
                };
                if self.members().contains(&pid.as_raw_nonzero().get()) {
                    let _ = pidfd_send_signal(&pidfd, Signal::KILL);
                }
            }
        }

        /// Removes the cgroup; returns what could not be removed. Call once its processes
        /// are reaped.
        pub(crate) fn remove(&mut self) -> Option<String> {
            if self.removed {
                return None;
            }
            self.removed = true;
            // A member reaped a moment ago may take the kernel a moment to let go of.
            let mut last = None;
            for attempt in 0..50 {
                match fs::remove_dir(&self.dir) {
                    Ok(()) => return None,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
                    Err(err) => last = Some(err),
                }
                if attempt % 10 == 9 {
                    self.kill_members();
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            last.map(|err| format!("could not remove `{}`: {err}", self.dir.display()))
        }
    }

    impl Drop for ProcessCgroup {
        fn drop(&mut self) {
            let _ = self.remove();
        }
    }

    /// See [`super::enter`].
    pub(super) fn enter(plan: Plan, mounts: &Mounts, event_fd: RawFd) -> io::Result<()> {
        // Should the supervisor die without killing the probe (aiolint itself killed), the
        // probe dies with it rather than running on unsupervised.
        set_parent_process_death_signal(Some(Signal::KILL))?;
        // It may have died before that call, and we were reparented already.
        let parent = rustix::process::getppid().map_or(0, |pid| pid.as_raw_nonzero().get());
        if parent != plan.supervisor {
            return Err(io::Error::other("the supervisor is gone"));
        }
        let mut isolation = Isolation::default();
        if let Some(fd) = plan.cgroup_procs {
            // SAFETY: write(2) to a descriptor the supervisor opened for us.
            let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
            if written == 1 {
                isolation.process_limit = Some(plan.process_limit);
            }
        }
        if !plan.namespaces {
            write_report(event_fd, isolation);
            return Ok(());
        }
        // SAFETY: the child is single-threaded; no descriptor table is unshared.
        isolation.network_namespace = unsafe { unshare_unsafe(UnshareFlags::NEWNET) }.is_ok();
        if !isolation.network_namespace && enter_user_namespace() {
            // Unprivileged: as root of a user namespace of our own, the others are allowed.
            isolation.user_namespace = true;
            // SAFETY: as above.
            isolation.network_namespace = unsafe { unshare_unsafe(UnshareFlags::NEWNET) }.is_ok();
            if isolation.process_limit.is_none() && plan.process_limit > 0 {
                isolation.process_limit = limit_processes(plan.process_limit);
            }
        }
        // SAFETY: as above. A mount namespace comes with the PID namespace when allowed, for
        // the fresh `/proc`.
        let mount_namespace =
            unsafe { unshare_unsafe(UnshareFlags::NEWPID | UnshareFlags::NEWNS) }.is_ok();
        let pid_namespace = mount_namespace
            // SAFETY: as above.
            || unsafe { unshare_unsafe(UnshareFlags::NEWPID) }.is_ok();
        if !pid_namespace {
            write_report(event_fd, isolation);
            return Ok(());
        }
        // Mounts made in our namespace must not propagate back to the caller's.
        let private_mounts = mount_namespace
            && mount_change(
                c"/",
                MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
            )
            .is_ok();

        let blocked = signal_set(&[libc::SIGCHLD, libc::SIGUSR1]);
        let mut previous = empty_signal_set();
        // SAFETY: sigprocmask on valid sets; the child is single-threaded.
        unsafe {
            libc::sigprocmask(libc::SIG_BLOCK, &raw const blocked, &raw mut previous);
        }
        // A pipe whose write end only the process in the middle keeps: the interpreter's side
        // sees it closed if the middle died before the interpreter's death signal was set.
        let mut alive: [libc::c_int; 2] = [-1, -1];
        // SAFETY: pipe2 fills in the two descriptors of the array we pass.
        if unsafe { libc::pipe2(alive.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fork in a single-threaded child; both sides only make async-signal-safe
        // calls until exec or _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid > 0 {
            middle(pid, alive[1]);
        }
        // The interpreter's side: PID 1 of the new namespace. (The death signal is not
        // inherited across `fork`.)
        // SAFETY: as above; closing our copy of the write end.
        unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, &raw const previous, std::ptr::null_mut());
            libc::close(alive[1]);
        }
        // The process in the middle dies only with the whole group, this one included.
        set_parent_process_death_signal(Some(Signal::KILL))?;
        // It may have died before that call (aiolint killed at that moment): then this side
        // was left running, outside any supervision (found by the stress run of the tests).
        let middle_gone = middle_is_gone(alive[0]);
        // SAFETY: closing the read end, ours.
        unsafe {
            libc::close(alive[0]);
        }
        if middle_gone {
            return Err(io::Error::other("the supervisor is gone"));
        }
        isolation.pid_namespace = true;
        if private_mounts {
            isolation.read_only_files = read_only_except_workdir(mounts);
            isolation.private_proc = mount(
                c"proc",
                c"/proc",
                c"proc",
                MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
                None,
            )
            .is_ok();
        }
        isolation.no_capabilities = drop_capabilities();
        write_report(event_fd, isolation);
        Ok(())
    }

    /// Makes every mount read-only in the probe's (private) mount namespace except the
    /// probe's temporary directory, bind-mounted onto itself first. Mounts under `/proc` and
    /// `/sys` may refuse (they are kernel interfaces, and `/proc` is replaced); any other
    /// refusal makes the answer false.
    fn read_only_except_workdir(mounts: &Mounts) -> bool {
        let Some(workdir) = mounts.workdir.as_deref() else {
            return false;
        };
        if mounts.points.is_empty() || mount_bind(workdir, workdir).is_err() {
            return false;
        }
        // The working directory was entered before the bind mount covered it: enter the
        // writable mount instead.
        if rustix::process::chdir(workdir).is_err() {
            return false;
        }
        let mut all = true;
        for point in &mounts.points {
            let point = point.as_c_str();
            if point == workdir {
                continue;
            }
            let kept = rustix::fs::statvfs(point)
                .map_or(MountFlags::empty(), |vfs| kept_flags(vfs.f_flag));
            let done =
                mount_remount(point, MountFlags::BIND | MountFlags::RDONLY | kept, c"").is_ok();
            if !done && !under(point, c"/proc") && !under(point, c"/sys") {
                all = false;
            }
        }
        all
    }

    /// The per-mount flags a read-only remount must keep (it replaces them all).
    fn kept_flags(flags: StatVfsMountFlags) -> MountFlags {
        let pairs = [
            (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
            (StatVfsMountFlags::NODEV, MountFlags::NODEV),
            (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
            (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
            (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
            (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
        ];
        pairs
            .into_iter()
            .filter(|(vfs, _)| flags.contains(*vfs))
            .fold(MountFlags::empty(), |all, (_, flag)| all | flag)
    }

    /// Whether `path` is `dir` or below it.
    fn under(path: &CStr, dir: &CStr) -> bool {
        let (path, dir) = (path.to_bytes(), dir.to_bytes());
        path.strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
    }

    /// Empties the capability bounding set and the process's capabilities and sets
    /// `no_new_privs`, so the interpreter (even as root) cannot undo the mounts, join other
    /// namespaces, or gain privileges through `exec`. Returns whether all of it held.
    fn drop_capabilities() -> bool {
        let mut all = true;
        for capability in CapabilitySet::all().iter() {
            // EINVAL: a capability this kernel does not know.
            if let Err(err) = remove_capability_from_bounding_set(capability) {
                all &= err == rustix::io::Errno::INVAL;
            }
        }
        let none = CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: CapabilitySet::empty(),
            inheritable: CapabilitySet::empty(),
        };
        all &= set_capabilities(None, none).is_ok();
        all && set_no_new_privs(true).is_ok()
    }

    /// Enters a user namespace of our own, with our user and group mapped to root in it.
    /// Returns whether the namespace was entered.
    fn enter_user_namespace() -> bool {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        // SAFETY: the child is single-threaded; no descriptor table is unshared.
        if unsafe { unshare_unsafe(UnshareFlags::NEWUSER) }.is_err() {
            return false;
        }
        // An unprivileged process may map its own ids only, and its group only once
        // `setgroups` is denied. (Unmapped, it would still work, as the overflow user.)
        let _ = write_proc(c"/proc/self/setgroups", b"deny");
        let _ =
            write_id_map(c"/proc/self/uid_map", uid) && write_id_map(c"/proc/self/gid_map", gid);
        true
    }

    /// Writes `0 ID 1` (ID outside is 0 inside) to an id map.
    fn write_id_map(path: &CStr, id: u32) -> bool {
        let mut buf = [0_u8; 24];
        let mut digits = [0_u8; 10];
        let id = decimal(id, &mut digits);
        let mut len = 0;
        for &b in b"0 ".iter().chain(id).chain(b" 1\n") {
            if let Some(slot) = buf.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
        write_proc(path, buf.get(..len).unwrap_or_default())
    }

    /// Writes `data` to a `/proc` file in one `write`.
    fn write_proc(path: &CStr, data: &[u8]) -> bool {
        let Ok(fd) = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()) else {
            return false;
        };
        rustix::io::write(&fd, data).is_ok_and(|n| n == data.len())
    }

    /// Lowers `RLIMIT_NPROC` to `limit`. Set after entering the user namespace, it counts the
    /// processes of the namespace's root only, that is the probe's (since Linux 5.14; before,
    /// every process of the user). Returns the limit when set.
    fn limit_processes(limit: u32) -> Option<u32> {
        let current = getrlimit(Resource::Nproc);
        let wanted = u64::from(limit).min(current.maximum.unwrap_or(u64::MAX));
        setrlimit(
            Resource::Nproc,
            Rlimit {
                current: Some(wanted),
                maximum: Some(wanted),
            },
        )
        .ok()?;
        u32::try_from(wanted).ok()
    }

    fn empty_signal_set() -> libc::sigset_t {
        // SAFETY: an all-zero sigset_t is valid storage; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        unsafe {
            libc::sigemptyset(&raw mut set);
        }
        set
    }

    fn signal_set(signals: &[libc::c_int]) -> libc::sigset_t {
        let mut set = empty_signal_set();
        for &signal in signals {
            // SAFETY: adding a valid signal number to an initialised set.
            unsafe {
                libc::sigaddset(&raw mut set, signal);
            }
        }
        set
    }

    /// The process between the supervisor and the interpreter: holds no descriptor, forwards
    /// `SIGUSR1` to the interpreter, and when the interpreter is gone (and with it, its PID
    /// namespace) exits the same way. It is the probe's process-group leader, so the
    /// supervisor's group kill reaches it and the interpreter alike.
    fn middle(child: libc::pid_t, alive: libc::c_int) -> ! {
        close_every_descriptor_but(alive);
        let waited = signal_set(&[libc::SIGCHLD, libc::SIGUSR1]);
        loop {
            // SAFETY: sigwaitinfo on signals blocked in this process; no siginfo wanted.
            let signal = unsafe { libc::sigwaitinfo(&raw const waited, std::ptr::null_mut()) };
            if signal == libc::SIGUSR1 {
                // SAFETY: `child` is our unreaped child, so its PID is not recycled.
                unsafe {
                    libc::kill(child, libc::SIGUSR1);
                }
                continue;
            }
            let mut status = 0;
            // SAFETY: waitpid on our own child.
            let rc = unsafe { libc::waitpid(child, &raw mut status, libc::WNOHANG) };
            if rc == child {
                exit_like(status);
            }
            if rc < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                // SAFETY: _exit in a forked child.
                unsafe { libc::_exit(127) }
            }
        }
    }

    /// Whether the write end of the pipe whose read end is `alive` is closed: the process in
    /// the middle, its only holder, is gone.
    fn middle_is_gone(alive: libc::c_int) -> bool {
        let mut poll = libc::pollfd {
            fd: alive,
            events: 0,
            revents: 0,
        };
        loop {
            // SAFETY: poll(2) on one descriptor of ours, without waiting.
            let ready = unsafe { libc::poll(&raw mut poll, 1, 0) };
            if ready >= 0 {
                return ready > 0;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return true;
            }
        }
    }

    /// Closes every descriptor but `kept`: the pipes (so their readers see end-of-file once
    /// the interpreter is gone) and std's exec-error pipe (so `spawn` returns once the
    /// interpreter has exec'd).
    fn close_every_descriptor_but(kept: libc::c_int) {
        #[cfg(target_env = "gnu")]
        // SAFETY: close_range(2) on our own descriptor table.
        unsafe {
            let kept_fd = libc::c_uint::try_from(kept).unwrap_or(0);
            if kept_fd > 0 {
                libc::close_range(0, kept_fd - 1, 0);
            }
            libc::close_range(kept_fd + 1, libc::c_uint::MAX, 0);
        }
        #[cfg(not(target_env = "gnu"))]
        {
            // No close_range in this libc: every descriptor below the soft limit, bounded.
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit fills in the struct we pass.
            let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } == 0;
            let top = if known {
                limit.rlim_cur.min(1 << 16)
            } else {
                1 << 16
            };
            for fd in 0..libc::c_int::try_from(top).unwrap_or(1 << 16) {
                if fd == kept {
                    continue;
                }
                // SAFETY: close(2) on our own descriptor table; EBADF is harmless.
                unsafe {
                    libc::close(fd);
                }
            }
        }
    }

    /// Exits with the interpreter's exit code, or dies of the signal that killed it.
    fn exit_like(status: libc::c_int) -> ! {
        if libc::WIFSIGNALED(status) {
            let signal = libc::WTERMSIG(status);
            let only = signal_set(&[signal]);
            // SAFETY: restoring the default action and raising the signal on ourselves.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::sigprocmask(libc::SIG_UNBLOCK, &raw const only, std::ptr::null_mut());
                libc::kill(libc::getpid(), signal);
                libc::_exit(128 + signal)
            }
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            127
        };
        // SAFETY: _exit in a forked child.
        unsafe { libc::_exit(code) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        use std::io::{Read, Seek};
        use std::os::fd::AsRawFd;

        let mut file = tempfile::tempfile().expect("temporary file");
        let isolation = Isolation {
            network_namespace: true,
            pid_namespace: false,
            private_proc: false,
            read_only_files: true,
            no_capabilities: false,
            user_namespace: true,
            process_limit: Some(128),
        };
        write_report(file.as_raw_fd(), isolation);
        write_report(file.as_raw_fd(), Isolation::default());
        let mut text = String::new();
        file.rewind().expect("rewind");
        file.read_to_string(&mut text).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "ISO net=1 pid=0 proc=0 ro=1 caps=0 user=1 pids=128",
                "ISO net=0 pid=0 proc=0 ro=0 caps=0 user=0 pids=0"
            ]
        );
        assert_eq!(
            crate::protocol::parse_line(lines[0]),
            crate::protocol::Event::Isolation(isolation)
        );
        assert_eq!(
            crate::protocol::parse_line(lines[1]),
            crate::protocol::Event::Isolation(Isolation::default())
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn cgroup_parents_are_found_in_mountinfo() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("pids/user.slice")).expect("mkdir");
        let base = dir.path().display().to_string();
        let mountinfo = format!(
            "30 1 0:26 / {base}/unified rw - cgroup2 cgroup2 rw\n\
             31 1 0:27 / {base}/pids rw,nosuid - cgroup cgroup rw,pids\n\
             32 1 0:28 / {base}/cpu rw - cgroup cgroup rw,cpu\n"
        );
        let own = "9:pids:/user.slice\n0::/other\n";
        assert_eq!(
            linux::find_cgroup_parent(&mountinfo, own),
            Some(dir.path().join("pids/user.slice"))
        );
        // Without a v1 `pids` hierarchy, the unified one.
        std::fs::create_dir_all(dir.path().join("unified/other")).expect("mkdir");
        let v2_only = format!("30 1 0:26 / {base}/unified rw - cgroup2 cgroup2 rw\n");
        assert_eq!(
            linux::find_cgroup_parent(&v2_only, own),
            Some(dir.path().join("unified/other"))
        );
        assert_eq!(linux::find_cgroup_parent("", own), None);
    }
}
