//! Never-awaited coroutines, destroyed pending tasks, nested event loops and failures, with
//! the real `python3`.

mod common;

use common::{line_of, options, probe, run};
use runtime_check::{Entry, FindingKind, ProbeFailureKind, Verdict};

#[test]
fn a_missing_await_is_reported_at_its_line() {
    let source = "\
import asyncio


async def fetch(key):
    await asyncio.sleep(0)
    return key


async def main():
    fetch('a')
    value = fetch('b')
    await asyncio.sleep(0.01)
";
    let dropped = line_of(source, "    fetch('a')");
    let bound = line_of(source, "value = fetch('b')");
    let outcome = run(
        probe(source, Entry::Function("main".into()), dropped),
        &options(),
    );
    let lines: Vec<Option<u32>> = outcome
        .never_awaited
        .iter()
        .map(runtime_check::LineEvent::line)
        .collect();
    assert!(lines.contains(&Some(dropped)), "{outcome:#?}");
    assert!(lines.contains(&Some(bound)), "{outcome:#?}");
    assert!(outcome.never_awaited.iter().all(|e| e.detail == "fetch"));
    let confirmation = outcome.confirm(FindingKind::NeverAwaited);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{confirmation:?}");
    assert!(confirmation.detail.contains("`fetch`"), "{confirmation:?}");
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::NotConfirmed
    );
}

#[test]
fn an_awaited_call_is_not_confirmed_as_missing_await() {
    let source = "\
import asyncio


async def fetch():
    return 1


async def main():
    await fetch()
";
    let line = line_of(source, "await fetch()");
    let outcome = run(
        probe(source, Entry::Function("main".into()), line),
        &options(),
    );
    assert!(outcome.never_awaited.is_empty(), "{outcome:#?}");
    assert_eq!(
        outcome.confirm(FindingKind::NeverAwaited).verdict,
        Verdict::NotConfirmed
    );
}

#[test]
fn a_nested_asyncio_run_is_reported_by_its_runtime_error() {
    let source = "\
import asyncio


async def inner():
    return 1


async def main():
    asyncio.run(inner())
";
    let line = line_of(source, "asyncio.run(inner())");
    let outcome = run(
        probe(source, Entry::Function("main".into()), line),
        &options(),
    );
    assert_eq!(outcome.nested_runs.len(), 1, "{outcome:#?}");
    assert_eq!(outcome.nested_runs[0].line(), Some(line));
    assert!(
        outcome.nested_runs[0]
            .detail
            .contains("cannot be called from a running event loop")
    );
    let exception = outcome
        .exception
        .as_ref()
        .expect("the RuntimeError escapes");
    assert!(
        exception.detail.starts_with("RuntimeError"),
        "{exception:?}"
    );
    let confirmation = outcome.confirm(FindingKind::NestedRun);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{confirmation:?}");
}

#[test]
fn a_caught_nested_run_in_a_sync_helper_is_confirmed_at_the_call_site() {
    let source = "\
import asyncio


async def inner():
    return 1


def sync_helper():
    loop = asyncio.get_event_loop()
    try:
        return loop.run_until_complete(inner())
    except RuntimeError:
        return None


async def main():
    sync_helper()
";
    let call = line_of(source, "    sync_helper()");
    let inner_line = line_of(source, "loop.run_until_complete");
    let outcome = run(
        probe(source, Entry::Function("main".into()), call),
        &options(),
    );
    assert!(outcome.exception.is_none(), "{outcome:#?}");
    assert_eq!(outcome.nested_runs.len(), 1, "{outcome:#?}");
    assert_eq!(outcome.nested_runs[0].lines, vec![inner_line, call]);
    assert_eq!(
        outcome.confirm(FindingKind::NestedRun).verdict,
        Verdict::Confirmed
    );
}

#[test]
fn a_task_destroyed_while_pending_is_reported() {
    let source = "\
import asyncio


async def worker():
    await asyncio.Event().wait()


async def main():
    asyncio.create_task(worker())
    await asyncio.sleep(0.01)
";
    let line = line_of(source, "create_task");
    let outcome = run(
        probe(source, Entry::Function("main".into()), line),
        &options(),
    );
    assert_eq!(outcome.pending_destroyed.len(), 1, "{outcome:#?}");
    assert_eq!(outcome.pending_destroyed[0].line(), Some(line));
    assert_eq!(
        outcome.confirm(FindingKind::PendingTaskDestroyed).verdict,
        Verdict::Confirmed
    );
}

#[test]
fn syntax_errors_skip_the_finding_with_the_users_line() {
    let mut p = probe(
        "async def main():\n    x = (\n",
        Entry::Function("main".into()),
        11,
    );
    p.first_line = 10;
    let outcome = run(p, &options());
    let failure = outcome.failure.as_ref().expect("a failure");
    assert_eq!(failure.kind, ProbeFailureKind::Syntax);
    assert!(failure.lines.iter().all(|&l| l >= 10), "{failure:?}");
    assert!(outcome.crash.is_none());
    assert!(!outcome.started);
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Skipped, "{confirmation:?}");
    assert!(confirmation.detail.contains("does not compile"));
}

#[test]
fn a_missing_entry_function_is_a_failure() {
    let outcome = run(
        probe(
            "async def main():\n    pass\n",
            Entry::Function("nope".into()),
            2,
        ),
        &options(),
    );
    assert_eq!(
        outcome.failure.as_ref().map(|f| f.kind),
        Some(ProbeFailureKind::Entry)
    );
    assert_eq!(
        outcome.confirm(FindingKind::NeverAwaited).verdict,
        Verdict::Skipped
    );
}

#[test]
fn a_failing_import_is_a_setup_failure() {
    let outcome = run(
        probe(
            "import no_such_module_xyz\nasync def main():\n    pass\n",
            Entry::Function("main".into()),
            3,
        ),
        &options(),
    );
    let failure = outcome.failure.as_ref().expect("a failure");
    assert_eq!(failure.kind, ProbeFailureKind::Setup);
    assert_eq!(failure.lines, vec![1]);
    assert!(
        failure.message.contains("ModuleNotFoundError"),
        "{failure:?}"
    );
}

#[test]
fn an_exception_before_the_flagged_line_skips_it() {
    let source = "\
import time


async def main():
    raise ValueError('boom')
    time.sleep(1)
";
    let line = line_of(source, "time.sleep(1)");
    let outcome = run(
        probe(source, Entry::Function("main".into()), line),
        &options(),
    );
    assert!(!outcome.flagged_line_reached);
    let exception = outcome.exception.as_ref().expect("an exception");
    assert_eq!(exception.detail, "ValueError: boom");
    assert_eq!(exception.line(), Some(5));
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Skipped, "{confirmation:?}");
    assert!(confirmation.detail.contains("ValueError: boom at line 5"));
}

#[test]
fn a_hard_exit_is_a_crash() {
    let source = "\
import os


async def main():
    os._exit(7)
";
    let outcome = run(probe(source, Entry::Function("main".into()), 5), &options());
    let crash = outcome.crash.as_ref().expect("a crash");
    assert_eq!(crash.exit.code, Some(7));
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::Skipped
    );
}

#[test]
fn dotted_entries_run() {
    let source = "\
import time


class Service:
    @staticmethod
    async def run():
        time.sleep(0.2)
";
    let outcome = run(
        probe(source, Entry::Function("Service.run".into()), 7),
        &options(),
    );
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::Confirmed,
        "{outcome:#?}"
    );
}

#[test]
fn confirm_is_run_probe_plus_verdict() {
    let source = "import asyncio\n\nasync def main():\n    asyncio.sleep(1)\n";
    let confirmation = runtime_check::confirm(
        probe(source, Entry::Function("main".into()), 4),
        FindingKind::NeverAwaited,
        &options(),
    );
    match confirmation {
        Ok(c) => {
            assert_eq!(c.verdict, Verdict::Confirmed, "{c:?}");
            assert_eq!(
                c.detail,
                "coroutine `sleep` created at line 4 was never awaited (RuntimeWarning)"
            );
        }
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn a_block_ended_by_the_probe_dying_is_still_measured() {
    let source = "\
import os
import time


async def main():
    time.sleep(0.3)
    os._exit(3)
";
    let outcome = run(probe(source, Entry::Function("main".into()), 6), &options());
    assert_eq!(outcome.crash.as_ref().and_then(|c| c.exit.code), Some(3));
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{outcome:#?}");
    let ms = confirmation.stall_ms.unwrap_or_default();
    assert!((250..=600).contains(&ms), "{ms} ms");
}
