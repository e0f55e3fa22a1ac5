//! Hostile probes with the real `python3`: each is contained, killed and cleaned up, and no
//! process of it is left afterwards (looked up in `/proc` by an argument it carries: the
//! probe's temporary directory, which is in every forked interpreter's command line).
//!
//! The tests check the containment the outcome reports ([`runtime_check::Isolation`]): with
//! a layer, that it held; without, what stands in for it. On a machine that should have every
//! layer (CI runs as root), `every_layer_is_in_place_here` fails when one is missing; set
//! `AIOLINT_TEST_WEAK_ISOLATION=1` where the kernel is known to refuse some. `tests/unprivileged.rs`
//! runs this file again as an unprivileged user.

mod common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use common::{live_processes_with, options, probe, run_guarded};
use runtime_check::{Entry, FindingKind, Isolation, Options, Outcome, Phase, Verdict};

/// The value printed by the probe as `KEY value`.
fn printed<'a>(outcome: &'a Outcome, key: &str) -> &'a str {
    outcome
        .stdout_tail
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("`{key}` not printed: {outcome:#?}"))
}

/// Runs `source` (its coroutine `main`, flagged at the line containing `flagged`).
fn run_main(source: &str, flagged: &str, opts: &Options) -> Outcome {
    let line = common::line_of(source, flagged);
    run_guarded(probe(source, Entry::Function("main".into()), line), opts)
}

/// Nothing the probe started is alive, and its directory is gone. The probe printed its
/// working directory as `CWD`.
fn assert_nothing_left(outcome: &Outcome) {
    let cwd = printed(outcome, "CWD");
    assert!(cwd.contains("aiolint-probe-"), "{cwd}");
    let left = live_processes_with(cwd);
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!Path::new(cwd).exists(), "{cwd} was left behind");
    assert!(outcome.cleanup_error.is_none(), "{outcome:#?}");
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn every_layer_is_in_place_here() {
    let outcome = run_main(
        "import os\n\nasync def main():\n    print('CWD', os.getcwd())\n",
        "print",
        &options(),
    );
    let isolation = outcome.isolation;
    if std::env::var_os("AIOLINT_TEST_WEAK_ISOLATION").is_some() {
        // Whatever is missing is said.
        assert_eq!(
            isolation.shortcomings().is_empty(),
            isolation
                == Isolation {
                    network_namespace: true,
                    pid_namespace: true,
                    private_proc: true,
                    read_only_files: true,
                    no_capabilities: true,
                    user_namespace: isolation.user_namespace,
                    process_limit: isolation.process_limit.or(Some(1)),
                }
        );
    } else {
        assert_eq!(
            isolation,
            Isolation {
                network_namespace: true,
                pid_namespace: true,
                private_proc: true,
                read_only_files: true,
                no_capabilities: true,
                // Root needs no user namespace; anyone else gets the layers through one.
                user_namespace: !running_as_root(),
                process_limit: Some(runtime_check::DEFAULT_PROCESS_LIMIT),
            },
            "missing here: {:?} (set AIOLINT_TEST_WEAK_ISOLATION=1 where the kernel refuses)",
            isolation.shortcomings()
        );
        assert!(isolation.shortcomings().is_empty());
    }
    assert_nothing_left(&outcome);
}

#[test]
fn unbounded_allocation_meets_the_memory_limit() {
    let source = "\
import os
import time


async def main():
    print('CWD', os.getcwd())
    hog, size = [], 1 << 20
    while True:
        hog.append(bytearray(size))
        size *= 2
    time.sleep(0.2)
";
    let opts = Options {
        memory_limit: Some(512 << 20),
        ..options()
    };
    let outcome = run_main(source, "time.sleep", &opts);
    let exception = outcome.exception.as_ref().expect("the allocation fails");
    assert_eq!(exception.detail, "MemoryError");
    assert_eq!(exception.line(), Some(9));
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Skipped, "{confirmation:?}");
    assert!(
        confirmation
            .detail
            .contains("the probe raised MemoryError at line 9 first (the probe's memory is limited to 512 MiB)"),
        "{}",
        confirmation.detail
    );
    assert_nothing_left(&outcome);
}

#[test]
fn a_fork_bomb_meets_the_process_limit_and_dies_with_the_probe() {
    // Bounded: at most 200 forks, each child sleeping, so that even unlimited it cannot take
    // the machine down.
    let source = "\
import os
import time


async def main():
    print('CWD', os.getcwd())
    forked = 0
    try:
        for _ in range(200):
            if os.fork() == 0:
                time.sleep(100)
                os._exit(0)
            forked += 1
    except OSError as exc:
        print('REFUSED', type(exc).__name__)
    print('FORKED', forked)
    time.sleep(0.3)
";
    let opts = Options {
        process_limit: Some(24),
        ..options()
    };
    let outcome = run_main(source, "time.sleep(0.3)", &opts);
    let forked: u32 = printed(&outcome, "FORKED").parse().expect("a count");
    if let Some(limit) = outcome.isolation.process_limit {
        assert_eq!(limit, 24);
        // The interpreter (and, with a PID namespace, the process above it) count too.
        assert!(forked < limit, "{forked} forks under a limit of {limit}");
        assert_eq!(printed(&outcome, "REFUSED"), "BlockingIOError");
    } else {
        assert_eq!(forked, 200, "no limit, yet forks failed: {outcome:#?}");
    }
    // The probe went on to its flagged line, which is confirmed.
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::Confirmed,
        "{outcome:#?}"
    );
    assert_nothing_left(&outcome);
}

#[test]
fn forked_copies_of_the_probe_do_not_speak_for_it() {
    // Four generations of forks (16 processes, below the limit), and every copy but the
    // probe's own process raises and runs the harness's teardown: none of that is the probe's.
    let source = "\
import os
import time


async def main():
    print('CWD', os.getcwd())
    parent = os.getpid()
    for _ in range(4):
        os.fork()
    if os.getpid() != parent:
        raise RuntimeError('a copy')
    time.sleep(0.3)
";
    let outcome = run_main(source, "time.sleep", &options());
    assert!(outcome.exception.is_none(), "{outcome:#?}");
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{outcome:#?}");
    assert_nothing_left(&outcome);
}

#[test]
fn a_probe_that_ignores_sigterm_is_killed_at_its_deadline() {
    let source = "\
import os
import signal
import time


async def main():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print('CWD', os.getcwd())
    if os.fork() == 0:
        time.sleep(100)
        os._exit(0)
    os.kill(os.getpid(), signal.SIGTERM)
    print('SURVIVED SIGTERM')
    time.sleep(3600)
";
    let opts = Options {
        timeout: Duration::from_secs(1),
        ..options()
    };
    let outcome = run_main(source, "time.sleep(3600)", &opts);
    assert_eq!(printed(&outcome, "SURVIVED"), "SIGTERM");
    assert_eq!(outcome.timed_out, Some(Phase::Running), "{outcome:#?}");
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{confirmation:?}");
    assert!(
        confirmation.detail.contains("killed at its 1.0 s deadline"),
        "{}",
        confirmation.detail
    );
    assert_nothing_left(&outcome);
}

/// Double fork and `setsid`: the daemon leaves the probe's process group and session, and
/// tells the probe (through a pipe) that it is running before the probe goes on.
const DAEMON_PROBE: &str = "\
import os
import time


async def main():
    print('CWD', os.getcwd())
    ready, tell = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(tell, str(os.getpgid(0)).encode())
            time.sleep(100)
        os._exit(0)
    os.close(tell)
    print('DAEMON pgid', os.read(ready, 32).decode(), 'probe pgid', os.getpgid(0))
    time.sleep(0.2)
";

fn check_daemon_is_gone(opts: &Options) -> Outcome {
    let outcome = run_main(DAEMON_PROBE, "time.sleep(0.2)", opts);
    let daemon = printed(&outcome, "DAEMON");
    let groups: Vec<&str> = daemon.split(' ').collect();
    assert!(
        matches!(groups.as_slice(), ["pgid", d, "probe", "pgid", p] if d != p),
        "the daemon did not leave the probe's group: {daemon}"
    );
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::Confirmed,
        "{outcome:#?}"
    );
    assert_nothing_left(&outcome);
    outcome
}

#[test]
fn a_daemon_that_left_the_process_group_dies_with_the_probe() {
    let outcome = check_daemon_is_gone(&options());
    assert!(outcome.isolation.pid_namespace || outcome.isolation.process_limit.is_some());
}

#[test]
fn without_namespaces_the_cgroup_still_finds_the_daemon() {
    let opts = Options {
        namespaces: false,
        ..options()
    };
    let outcome = run_main(
        "import os\n\nasync def main():\n    print('CWD', os.getcwd())\n",
        "print",
        &opts,
    );
    assert!(!outcome.isolation.pid_namespace && !outcome.isolation.network_namespace);
    // And it is said.
    let shortcomings = outcome.isolation.shortcomings().join("\n");
    for missing in [
        "no network namespace",
        "no PID namespace",
        "no private `/proc`",
    ] {
        assert!(shortcomings.contains(missing), "{shortcomings}");
    }
    if outcome.isolation.process_limit.is_none() {
        // Without a cgroup a `setsid` daemon escapes (documented); nothing to test here.
        assert!(
            outcome
                .isolation
                .shortcomings()
                .iter()
                .any(|s| s.contains("no `pids` cgroup")),
            "{:?}",
            outcome.isolation.shortcomings()
        );
        return;
    }
    check_daemon_is_gone(&opts);
}

#[test]
fn no_connection_reaches_a_local_port() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("address").port();
    // Past the harness's patch twice: the C socket module, and a fresh interpreter.
    let source = format!(
        "\
import _socket
import os
import subprocess
import sys


async def main():
    print('CWD', os.getcwd())
    raw = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    raw.settimeout(5)
    try:
        raw.connect(('127.0.0.1', {port}))
        print('RAW connected')
    except OSError as exc:
        print('RAW refused', exc.errno)
    code = 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=5); print(\"connected\")'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    print('CHILD', result.stdout.strip() or 'refused')
"
    );
    let outcome = run_main(&source, "print('CWD'", &options());
    let accepted = match listener.accept() {
        Ok(_) => true,
        Err(err) if err.kind() == ErrorKind::WouldBlock => false,
        Err(err) => panic!("accept: {err}"),
    };
    if outcome.isolation.network_namespace {
        assert!(
            printed(&outcome, "RAW").starts_with("refused"),
            "{outcome:#?}"
        );
        assert_eq!(printed(&outcome, "CHILD"), "refused", "{outcome:#?}");
        assert!(!accepted, "a connection reached the test's port");
    } else {
        // Only the harness's Python patch: a fresh interpreter is not patched.
        assert_eq!(printed(&outcome, "CHILD"), "connected", "{outcome:#?}");
        assert!(accepted);
    }
    assert_nothing_left(&outcome);
}

#[test]
fn the_callers_environment_is_out_of_reach() {
    // Cargo sets `CARGO_MANIFEST_DIR` for this test process: it stands for a secret.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let source = "\
import os


async def main():
    print('CWD', os.getcwd())
    print('ENV', 'CARGO_MANIFEST_DIR' in os.environ)
    seen = 0
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/' + pid + '/environ', 'rb') as handle:
                seen += b'CARGO_MANIFEST_DIR=' in handle.read()
        except OSError:
            pass
    print('PROC', seen)
";
    let outcome = run_main(source, "print('PROC'", &options());
    assert_eq!(printed(&outcome, "ENV"), "False");
    let seen: u32 = printed(&outcome, "PROC").parse().expect("a count");
    if outcome.isolation.private_proc {
        assert_eq!(seen, 0, "{outcome:#?}");
    } else {
        // This test process is readable in the shared `/proc`.
        assert!(seen > 0, "{outcome:#?}");
    }
    assert_nothing_left(&outcome);
}

#[test]
fn writes_outside_the_temporary_directory_are_refused() {
    let outside = tempfile::tempdir().expect("a directory of the test's");
    let target = outside.path().join("written-by-the-probe");
    let source = format!(
        "\
import os


async def main():
    print('CWD', os.getcwd())
    with open('inside.txt', 'w') as handle:
        handle.write('fine')
    try:
        with open({target:?}, 'w') as handle:
            handle.write('escaped')
        print('OUTSIDE written')
    except OSError as exc:
        print('OUTSIDE refused', exc.errno)
    try:
        os.system('mount -o remount,rw / 2>/dev/null')
        with open({target:?}, 'w') as handle:
            handle.write('escaped')
        print('REMOUNTED written')
    except OSError as exc:
        print('REMOUNTED refused', exc.errno)
"
    );
    let outcome = run_main(&source, "print('CWD'", &options());
    let written = target.exists();
    if outcome.isolation.read_only_files && outcome.isolation.no_capabilities {
        // EROFS.
        assert_eq!(printed(&outcome, "OUTSIDE"), "refused 30", "{outcome:#?}");
        assert_eq!(printed(&outcome, "REMOUNTED"), "refused 30", "{outcome:#?}");
        assert!(!written);
    } else {
        assert!(written, "{outcome:#?}");
    }
    assert_nothing_left(&outcome);
}
