//! Isolation and cleanup with the real `python3`: process groups, temporary directories, the
//! network, resource limits and interpreter errors.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{live_processes_with, marker, options, probe, run};
use runtime_check::{Entry, Error, FindingKind, Options, Verdict, run_probes};

/// The value printed by the probe as `KEY value`.
fn printed<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("`{key}` not printed in {stdout:?}"))
}

const SPAWNING_PROBE: &str = "\
import asyncio
import os
import subprocess
import sys
import tempfile
import time


async def main():
    sleeper = [sys.executable, '-c', 'import time; time.sleep(100)', MARKER]
    child = subprocess.Popen(sleeper)
    shell = subprocess.Popen(['sh', '-c', '\"$@\" & echo $!', 'sh'] + sleeper, stdout=subprocess.PIPE)
    print('GRANDCHILD', shell.stdout.readline().decode().strip())
    print('CWD', os.getcwd())
    with open('written.txt', 'w') as handle:
        handle.write('data')
    os.makedirs('sub/dir')
    os.chmod('sub', 0o500)
    fd, path = tempfile.mkstemp()
    os.write(fd, b'temp')
    print('TMP', path)
    await asyncio.sleep(0.05)
    if os.environ.get('HANG_AFTERWARDS') or BLOCK:
        time.sleep(3600)
";

/// The spawning probe with `marker` in every process it starts.
fn spawning_probe(block: bool, marker: &str) -> String {
    SPAWNING_PROBE
        .replace("BLOCK", if block { "True" } else { "False" })
        .replace("MARKER", &format!("'{marker}'"))
}

fn check_nothing_left(stdout: &str, marker: &str) {
    let cwd = printed(stdout, "CWD");
    let tmp = printed(stdout, "TMP");
    assert!(tmp.starts_with(cwd), "mkstemp used {tmp}, outside {cwd}");
    // The grandchild was started (its PID is that of the probe's namespace, if any).
    assert!(!printed(stdout, "GRANDCHILD").is_empty());
    let left = live_processes_with(marker);
    assert!(left.is_empty(), "survived: {left:?}");
    assert!(!Path::new(cwd).exists(), "{cwd} was left behind");
}

#[test]
fn a_probe_that_forks_and_writes_files_leaves_nothing_behind() {
    let marker = marker("forks-and-writes");
    let source = spawning_probe(false, &marker);
    let outcome = run(
        probe(&source, Entry::Function("main".into()), 10),
        &options(),
    );
    assert!(outcome.exception.is_none(), "{outcome:#?}");
    assert!(outcome.finished, "{outcome:#?}");
    assert!(outcome.cleanup_error.is_none(), "{outcome:#?}");
    check_nothing_left(&outcome.stdout_tail, &marker);
}

#[test]
fn a_probe_killed_at_its_deadline_leaves_nothing_behind() {
    let marker = marker("killed-at-deadline");
    let source = spawning_probe(true, &marker);
    let opts = Options {
        timeout: Duration::from_secs(1),
        ..options()
    };
    let outcome = run(probe(&source, Entry::Function("main".into()), 10), &opts);
    assert_eq!(outcome.timed_out, Some(runtime_check::Phase::Running));
    assert!(outcome.cleanup_error.is_none(), "{outcome:#?}");
    check_nothing_left(&outcome.stdout_tail, &marker);
}

#[test]
fn the_probe_cannot_reach_the_network() {
    let source = "\
import asyncio
import socket


async def main():
    try:
        socket.create_connection(('127.0.0.1', 9))
    except PermissionError as exc:
        print('REFUSED', exc)
    sock = socket.socket()
    try:
        sock.connect(('127.0.0.1', 9))
    except OSError:
        print('REFUSED connect')
    finally:
        sock.close()
    await asyncio.open_connection('example.com', 80)
";
    let outcome = run(probe(source, Entry::Function("main".into()), 7), &options());
    assert!(
        outcome.stdout_tail.contains("REFUSED [Errno 13]"),
        "{outcome:#?}"
    );
    assert!(
        outcome.stdout_tail.contains("REFUSED connect"),
        "{outcome:#?}"
    );
    let lines: Vec<Option<u32>> = outcome
        .network_refused
        .iter()
        .map(runtime_check::LineEvent::line)
        .collect();
    assert_eq!(lines.first(), Some(&Some(7)), "{outcome:#?}");
    assert!(lines.contains(&Some(12)), "{outcome:#?}");
    assert!(
        outcome
            .network_refused
            .iter()
            .any(|e| e.detail == "socket.getaddrinfo"),
        "{outcome:#?}"
    );
    let exception = outcome.exception.as_ref().expect("open_connection fails");
    assert!(
        exception.detail.starts_with("PermissionError"),
        "{exception:?}"
    );
    assert_eq!(exception.line(), Some(17));
}

#[test]
fn the_environment_is_minimal_and_memory_is_capped() {
    let source = "\
import os
import resource


async def main():
    print('ENV', sorted(os.environ))
    print('AS', resource.getrlimit(resource.RLIMIT_AS)[0])
    print('CPU', resource.getrlimit(resource.RLIMIT_CPU)[0])
    try:
        blob = bytearray(2 * 1024 ** 3)
    except MemoryError:
        print('MEMORY capped')
";
    let outcome = run(probe(source, Entry::Function("main".into()), 6), &options());
    let env = printed(&outcome.stdout_tail, "ENV");
    assert!(!env.contains("CARGO"), "{env}");
    assert!(env.contains("'PATH'"), "{env}");
    assert_eq!(
        printed(&outcome.stdout_tail, "AS"),
        (1_u64 << 30).to_string()
    );
    assert_eq!(printed(&outcome.stdout_tail, "CPU"), "16");
    assert_eq!(printed(&outcome.stdout_tail, "MEMORY"), "capped");
}

#[test]
fn standard_input_blocks_like_a_terminal_nobody_types_into() {
    let source = "\
async def main():
    input()
";
    let opts = Options {
        timeout: Duration::from_millis(700),
        ..options()
    };
    let outcome = run(probe(source, Entry::Function("main".into()), 2), &opts);
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::Confirmed,
        "{outcome:#?}"
    );
}

#[test]
fn a_missing_interpreter_is_a_typed_error() {
    for python in ["/nonexistent/bin/python3", "no-such-python-interpreter-xyz"] {
        let opts = Options {
            python: python.into(),
            ..options()
        };
        let result = run_probes(vec![probe("pass\n", Entry::Statements, 1)], &opts);
        match result {
            Err(Error::InterpreterNotFound(path)) => assert_eq!(path, Path::new(python)),
            other => panic!("expected InterpreterNotFound, got {other:?}"),
        }
    }
    let opts = Options {
        python: "/bin/sh".into(),
        ..options()
    };
    let result = run_probes(vec![probe("pass\n", Entry::Statements, 1)], &opts);
    assert!(
        matches!(result, Err(Error::UnusableInterpreter { .. })),
        "{result:?}"
    );
}

#[test]
fn invalid_probes_are_rejected_before_anything_runs() {
    let result = run_probes(
        vec![
            probe("pass\n", Entry::Statements, 1),
            probe("pass\n", Entry::Statements, 5),
        ],
        &options(),
    );
    assert!(
        matches!(result, Err(Error::InvalidProbe { index: 1, .. })),
        "{result:?}"
    );
    assert!(matches!(run_probes(Vec::new(), &options()), Ok(v) if v.is_empty()));
}

#[test]
fn outcomes_come_back_in_input_order() {
    let probes = (0..5_u32)
        .map(|i| {
            let source = format!(
                "import time\ntime.sleep({})\nprint('PROBE', {i})\n",
                0.05 * f64::from(5 - i)
            );
            probe(&source, Entry::Statements, 2)
        })
        .collect();
    let opts = Options {
        jobs: 3,
        ..options()
    };
    let outcomes = match run_probes(probes, &opts) {
        Ok(outcomes) => outcomes,
        Err(err) => panic!("{err}"),
    };
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(printed(&outcome.stdout_tail, "PROBE"), i.to_string());
    }
}
