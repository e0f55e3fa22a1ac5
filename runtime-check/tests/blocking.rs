//! Stall measurement and attribution with the real `python3`.

mod common;

use std::time::Duration;

use common::{line_of, options, probe, run};
use runtime_check::{Entry, FindingKind, Probe, Verdict};

#[test]
fn time_sleep_in_a_coroutine_is_confirmed_at_its_line() {
    let source = "\
import asyncio
import time


async def poll():
    await asyncio.sleep(0.02)
    time.sleep(0.5)
    await asyncio.sleep(0.02)
";
    let line = line_of(source, "time.sleep(0.5)");
    let outcome = run(
        probe(source, Entry::Function("poll".into()), line),
        &options(),
    );
    let stall = outcome.max_stall().expect("a stall");
    assert!(
        (450..=700).contains(&stall.millis()),
        "stall of {} ms: {outcome:#?}",
        stall.millis()
    );
    assert_eq!(stall.line, Some(line), "{outcome:#?}");
    assert!(stall.during_entry);
    assert!(outcome.flagged_line_reached);
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{confirmation:?}");
    assert_eq!(confirmation.stall_ms, Some(stall.millis()));
    assert!(
        confirmation.detail.contains(&format!("line {line}")),
        "{confirmation:?}"
    );
}

#[test]
fn asyncio_sleep_is_not_a_stall() {
    let source = "\
import asyncio


async def poll():
    await asyncio.sleep(0.5)
";
    let line = line_of(source, "asyncio.sleep(0.5)");
    let outcome = run(
        probe(source, Entry::Function("poll".into()), line),
        &options(),
    );
    assert!(outcome.stalls.is_empty(), "{outcome:#?}");
    assert!(outcome.heartbeats > 20, "{outcome:#?}");
    assert!(outcome.finished);
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(
        confirmation.verdict,
        Verdict::NotConfirmed,
        "{confirmation:?}"
    );
    assert_eq!(confirmation.stall_ms, None);
}

#[test]
fn a_busy_cpu_loop_is_confirmed() {
    let source = "\
import time


async def crunch():
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline: pass
    return 1
";
    let line = line_of(source, "while time.perf_counter()");
    let outcome = run(
        probe(source, Entry::Function("crunch".into()), line),
        &options(),
    );
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{outcome:#?}");
    let ms = confirmation.stall_ms.unwrap_or_default();
    assert!((250..=800).contains(&ms), "stall of {ms} ms");
}

#[test]
fn blocking_through_a_sync_helper_is_attributed_to_the_call_site() {
    let source = "\
import time


def read_disk():
    time.sleep(0.3)


def load_config():
    read_disk()


async def handler():
    load_config()
";
    let call = line_of(source, "    load_config()");
    let sleep = line_of(source, "time.sleep(0.3)");
    let outcome = run(
        probe(source, Entry::Function("handler".into()), call),
        &options(),
    );
    let stall = outcome.stall_at(call).expect("a stall at the call site");
    assert_eq!(stall.line, Some(sleep));
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed);
    assert!(
        confirmation.detail.contains(&format!("line {sleep}")),
        "{confirmation:?}"
    );
}

#[test]
fn statements_run_in_a_synthetic_coroutine_with_the_users_line_numbers() {
    // The snippet is lines 40-43 of the user's file.
    let source = "\
import asyncio
import time
await asyncio.sleep(0.01)
time.sleep(0.25)
";
    let probe = Probe {
        source: source.to_owned(),
        entry: Entry::Statements,
        filename: "pkg/service.py".to_owned(),
        first_line: 40,
        flagged_line: 43,
    };
    let outcome = run(probe, &options());
    let stall = outcome.max_stall().expect("a stall");
    assert_eq!(stall.line, Some(43), "{outcome:#?}");
    assert!(outcome.flagged_line_reached);
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::Confirmed
    );
}

#[test]
fn a_stall_elsewhere_does_not_confirm_the_flagged_line() {
    let source = "\
import asyncio
import time


async def main():
    time.sleep(0.3)
    await asyncio.sleep(0.01)
    print('flagged line')
";
    let flagged = line_of(source, "print(");
    let outcome = run(
        probe(source, Entry::Function("main".into()), flagged),
        &options(),
    );
    assert!(outcome.max_stall().is_some());
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(
        confirmation.verdict,
        Verdict::NotConfirmed,
        "{confirmation:?}"
    );
    assert!(
        confirmation.detail.contains("at line 6"),
        "{confirmation:?}"
    );
}

#[test]
fn a_sleep_forever_is_killed_at_the_deadline_and_reported_blocked() {
    let source = "\
import time


async def main():
    time.sleep(3600)
";
    let opts = runtime_check::Options {
        timeout: Duration::from_millis(1500),
        ..options()
    };
    let started = std::time::Instant::now();
    let outcome = run(probe(source, Entry::Function("main".into()), 5), &opts);
    let elapsed = started.elapsed();
    // Killed at the deadline rather than after the hour's sleep; the bound is loose because
    // the interpreter's start-up comes before the deadline starts, and a loaded machine can
    // take seconds over it (3.02 s under five busy loops on 2 cores).
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    assert_eq!(outcome.timed_out, Some(runtime_check::Phase::Running));
    assert!(outcome.crash.is_none());
    assert!(!outcome.finished);
    let stall = outcome.max_stall().expect("a stall");
    assert!(stall.cut_by_deadline);
    assert!(stall.duration >= opts.timeout, "{stall:?}");
    assert_eq!(stall.line, Some(5));
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{confirmation:?}");
    assert!(confirmation.stall_ms.unwrap_or_default() >= 1500);
    assert!(confirmation.detail.contains("at least"), "{confirmation:?}");
}

#[test]
fn an_await_that_outlives_the_deadline_is_not_a_stall() {
    let source = "\
import asyncio


async def main():
    await asyncio.sleep(3600)
";
    let opts = runtime_check::Options {
        timeout: Duration::from_millis(800),
        ..options()
    };
    let outcome = run(probe(source, Entry::Function("main".into()), 5), &opts);
    assert_eq!(outcome.timed_out, Some(runtime_check::Phase::Running));
    // On a loaded machine the probe may be starved for a moment, but such a gap never has
    // the probe's code on its stack.
    assert!(
        outcome.stalls.iter().all(|stall| stall.lines.is_empty()),
        "{outcome:#?}"
    );
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::NotConfirmed
    );
}

#[test]
fn noisy_output_does_not_disturb_the_measurement() {
    let source = "\
import sys
import time


async def main():
    for i in range(20000):
        print('x' * 100)
        sys.stderr.write('e' * 100 + '\\n')
    time.sleep(0.3)
";
    let line = line_of(source, "time.sleep(0.3)");
    let outcome = run(
        probe(source, Entry::Function("main".into()), line),
        &options(),
    );
    assert!(outcome.stdout_tail.starts_with("[...]"));
    assert!(
        outcome
            .stdout_tail
            .ends_with(&format!("{}\n", "x".repeat(100)))
    );
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{outcome:#?}");
}

#[test]
fn a_block_late_in_a_long_stall_is_still_seen() {
    let source = "\
import time


async def main():
    deadline = time.perf_counter() + 0.6
    while time.perf_counter() < deadline: pass
    time.sleep(0.4)
";
    let line = line_of(source, "time.sleep(0.4)");
    let outcome = run(
        probe(source, Entry::Function("main".into()), line),
        &options(),
    );
    let stall = outcome.max_stall().expect("one long stall");
    assert!(stall.millis() >= 950, "{stall:?}");
    // The busy loop is sampled first, unless a busy machine delays the first sample past it.
    let late_first_sample = stall.line == Some(line);
    assert!(
        stall.line == Some(6) || late_first_sample,
        "the busy loop is sampled first: {stall:?}"
    );
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{outcome:#?}");
    assert!(
        confirmation
            .detail
            .contains(&format!("line {line} was executing in"))
            || (late_first_sample && confirmation.detail.contains(&format!("line {line}"))),
        "{confirmation:?}"
    );
}
