//! The embedded harness: Python 3.8 compatibility and project imports.

mod common;

use std::process::Command;

use common::{line_of, options, probe, run};
use runtime_check::{Entry, FindingKind, Options, Verdict};

const HARNESS: &str = include_str!("../src/harness.py");

#[test]
fn the_harness_parses_as_python_3_8() {
    let check = "import ast, sys\nast.parse(sys.stdin.read(), filename='harness.py', feature_version=(3, 8))\n";
    let mut child = Command::new("python3")
        .args(["-c", check])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(HARNESS.as_bytes()).expect("write harness");
    }
    let status = child.wait().expect("python3 exits");
    assert!(status.success(), "harness.py is not Python 3.8 syntax");
}

#[test]
fn the_harness_uses_only_the_standard_library() {
    for line in HARNESS.lines() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("import ") {
            let module = rest.split([' ', '.', ',']).next().unwrap_or("");
            assert!(
                [
                    "sys",
                    "asyncio",
                    "errno",
                    "faulthandler",
                    "functools",
                    "gc",
                    "inspect",
                    "os",
                    "signal",
                    "socket",
                    "traceback",
                    "types",
                    "warnings"
                ]
                .contains(&module),
                "unexpected import in harness: {line}"
            );
        }
    }
}

#[test]
fn project_modules_import_through_python_path_and_blocking_inside_them_is_attributed() {
    let project = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        project.path().join("slowlib.py"),
        "import time\n\ndef load():\n    time.sleep(0.3)\n",
    )
    .expect("write module");
    let source = "\
import slowlib


async def handler():
    slowlib.load()
";
    let call = line_of(source, "slowlib.load()");
    let opts = Options {
        python_path: vec![project.path().to_path_buf()],
        ..options()
    };
    let outcome = run(
        probe(source, Entry::Function("handler".into()), call),
        &opts,
    );
    let stall = outcome.max_stall().expect("a stall");
    // Only frames of the probe's own file count: the call site, not slowlib.py's line 4.
    assert_eq!(stall.lines, vec![call], "{outcome:#?}");
    let confirmation = outcome.confirm(FindingKind::Blocking);
    assert_eq!(confirmation.verdict, Verdict::Confirmed, "{confirmation:?}");
    // On a busy machine a stack sample can land outside the call ("line 5 was executing in 2
    // of the 3 stack samples"): the stall and its line are what must hold.
    let blocked = format!("event loop blocked for {} ms", stall.millis());
    assert!(
        confirmation.detail.starts_with(&blocked)
            && confirmation.detail.contains(&format!("line {call}")),
        "{}",
        confirmation.detail
    );
}

#[test]
fn a_probe_named_like_a_stdlib_module_does_not_shadow_it() {
    let mut p = probe(
        "import time\nasync def main():\n    time.sleep(0.2)\n",
        Entry::Function("main".into()),
        3,
    );
    p.filename = "src/asyncio.py".into();
    let outcome = run(p, &options());
    assert_eq!(
        outcome.confirm(FindingKind::Blocking).verdict,
        Verdict::Confirmed,
        "{outcome:#?}"
    );
}
