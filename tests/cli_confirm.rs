//! End-to-end tests of `aiolint confirm`: the built binary, real `CPython` (`python3`), and the
//! fixtures in `tests/fixtures/confirm/`, whose comments say what each finding must get.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{aiolint, code, json, project, stderr, stdout};
use serde_json::Value;

fn fixtures() -> PathBuf {
    common::root().join("tests/fixtures/confirm")
}

/// `(path, line, code, verdict, detail, stall_ms)` of every finding of JSON output.
fn verdicts(
    output: &std::process::Output,
) -> Vec<(String, u64, String, String, String, Option<u64>)> {
    json(output)
        .iter()
        .map(|f| {
            let c = &f["confirmation"];
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["code"].as_str().unwrap_or_default().to_string(),
                c["verdict"].as_str().unwrap_or_default().to_string(),
                c["detail"].as_str().unwrap_or_default().to_string(),
                c["stall_ms"].as_u64(),
            )
        })
        .collect()
}

/// Every fixture but the one that hangs, in one run with four probes at a time.
#[test]
fn fixture_findings_get_the_verdicts_their_comments_promise() {
    let started = Instant::now();
    let output = aiolint(
        &fixtures(),
        &[
            "confirm",
            "--jobs",
            "4",
            "--timeout",
            "3",
            "--output-format",
            "json",
            "blocking.py",
            "not_blocking.py",
            "coroutines.py",
            "needs_args.py",
            "missing_import.py",
        ],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let found = verdicts(&output);
    let summary: Vec<(&str, u64, &str, &str)> = found
        .iter()
        .map(|(p, l, c, v, _, _)| (p.as_str(), *l, c.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            // `await asyncio.sleep(0.5)` (line 20) is no finding at all.
            ("blocking.py", 16, "AIO200", "confirmed"),
            ("blocking.py", 28, "AIO200", "confirmed"),
            ("coroutines.py", 11, "AIO100", "confirmed"),
            ("coroutines.py", 15, "AIO300", "confirmed"),
            ("missing_import.py", 9, "AIO200", "confirmed"),
            ("needs_args.py", 8, "AIO200", "confirmed"),
            ("needs_args.py", 12, "AIO200", "skipped"),
            ("not_blocking.py", 9, "AIO200", "not-confirmed"),
            ("not_blocking.py", 14, "AIO200", "skipped"),
        ],
        "{found:#?}"
    );
    let detail = |path: &str, line: u64| {
        found
            .iter()
            .find(|f| f.0 == path && f.1 == line)
            .map(|f| (f.4.clone(), f.5))
            .unwrap_or_default()
    };
    // The 0.5 s sleep is measured, and attributed to its line.
    let (text, stall) = detail("blocking.py", 16);
    let stall = stall.unwrap_or_default();
    assert!((450..=700).contains(&stall), "{stall} ms: {text}");
    assert!(text.ends_with("at line 16"), "{text}");
    // A method runs on an instance built without arguments.
    let (text, stall) = detail("blocking.py", 28);
    assert!(stall.is_some_and(|ms| (350..=650).contains(&ms)), "{text}");
    // Runtime evidence for the other kinds of finding.
    let (text, stall) = detail("coroutines.py", 11);
    assert!(
        text.contains("`fetch`") && text.contains("never awaited"),
        "{text}"
    );
    assert_eq!(stall, None);
    let (text, _) = detail("coroutines.py", 15);
    assert!(text.contains("RuntimeError at line 15"), "{text}");
    // A coroutine that needs arguments: the literal statement alone, or the reason.
    let (text, stall) = detail("needs_args.py", 8);
    assert!(stall.is_some_and(|ms| (250..=600).contains(&ms)), "{text}");
    let (text, _) = detail("needs_args.py", 12);
    assert_eq!(
        text,
        "`wait` needs arguments (`seconds`); the arguments of `time.sleep(...)` are not literals (`seconds`)"
    );
    // A module that cannot be imported falls back to the statement alone, and says so.
    let (text, _) = detail("missing_import.py", 9);
    assert!(text.contains("ModuleNotFoundError"), "{text}");
    assert!(text.contains("statement run alone"), "{text}");
    // Code that runs without blocking, and code that does not run.
    let (text, stall) = detail("not_blocking.py", 9);
    assert!(text.contains("without blocking the loop"), "{text}");
    assert_eq!(stall, None);
    let (text, _) = detail("not_blocking.py", 14);
    assert_eq!(text, "line 14 was never executed by the probe");
    // Nine findings, four probes at a time: not the sum of their sleeps plus start-ups.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_hour_of_sleep_is_cut_at_the_deadline_and_reported_as_blocked_until_then() {
    let started = Instant::now();
    let output = aiolint(
        &fixtures(),
        &[
            "confirm",
            "--timeout",
            "1",
            "--output-format",
            "json",
            "forever.py",
        ],
    );
    let elapsed = started.elapsed();
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let found = verdicts(&output);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (_, line, _, verdict, detail, stall) = &found[0];
    assert_eq!((*line, verdict.as_str()), (7, "confirmed"), "{detail}");
    assert!(stall.is_some_and(|ms| ms >= 950), "{stall:?}: {detail}");
    assert!(
        detail.contains("at least") && detail.contains("deadline"),
        "{detail}"
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn text_output_prints_each_finding_with_its_verdict() {
    let output = aiolint(
        &fixtures(),
        &[
            "confirm",
            "--jobs",
            "2",
            "--select",
            "AIO1,AIO3",
            "coroutines.py",
        ],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with("coroutines.py:11:5: AIO100 "),
        "{text}"
    );
    assert!(
        lines[1].starts_with("  confirmed: coroutine `fetch` created at line 11"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("coroutines.py:15:5: AIO300 "),
        "{text}"
    );
    assert!(
        lines[3].starts_with("  confirmed: RuntimeError at line 15"),
        "{text}"
    );
    assert_eq!(
        lines[4],
        "Found 2 findings: 2 confirmed, 0 not confirmed, 0 skipped."
    );
    // `--ignore` applies as for `check`.
    let output = aiolint(
        &fixtures(),
        &["confirm", "--ignore", "AIO100,AIO300", "coroutines.py"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "All checks passed!\n");
}

#[test]
fn json_output_is_the_check_contract_plus_the_confirmation() {
    let check = aiolint(
        &fixtures(),
        &["check", "--output-format", "json", "needs_args.py"],
    );
    let confirm = aiolint(
        &fixtures(),
        &["confirm", "--output-format", "json", "needs_args.py"],
    );
    assert_eq!(code(&confirm), 1, "{}", stderr(&confirm));
    let mut confirmed = json(&confirm);
    for finding in &mut confirmed {
        let confirmation = finding
            .as_object_mut()
            .and_then(|o| o.remove("confirmation"))
            .expect("every finding has a confirmation");
        let keys: Vec<&String> = confirmation
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["verdict", "detail", "stall_ms"]);
        assert!(matches!(
            confirmation["verdict"].as_str(),
            Some("confirmed" | "not-confirmed" | "skipped")
        ));
        if confirmation["verdict"] == "skipped" {
            assert_eq!(confirmation["stall_ms"], Value::Null);
        }
    }
    assert_eq!(confirmed, json(&check));
}

#[test]
fn a_missing_interpreter_is_a_clear_error_with_status_2() {
    let output = aiolint(
        &fixtures(),
        &[
            "confirm",
            "--python",
            "/nonexistent/python3",
            "coroutines.py",
        ],
    );
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert!(
        message.contains("python interpreter not found at `/nonexistent/python3`"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn nothing_runs_without_findings_and_check_never_runs_code() {
    // The module would write a marker file if any of it ran.
    let source = b"import pathlib\nimport time\n\npathlib.Path('ran').write_text('x')\n\nasync def poll():\n    pathlib.Path('ran').write_text('x')\n    time.sleep(0.1)\n";
    let dir = project(&[("app.py", source)]);
    let output = aiolint(dir.path(), &["check", "app.py"]);
    assert_eq!(code(&output), 1);
    assert!(!dir.path().join("ran").exists());
    // `confirm` runs the coroutine, but in a temporary directory of its own.
    let output = aiolint(dir.path(), &["confirm", "app.py"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(!dir.path().join("ran").exists());
    let clean = project(&[(
        "clean.py",
        b"import asyncio\n\nasync def f():\n    await asyncio.sleep(0.5)\n",
    )]);
    let output = aiolint(
        clean.path(),
        &["confirm", "--python", "/nonexistent/python3"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "All checks passed!\n");
}

/// Hostile probes through the binary, all in one run: each is contained, killed and cleaned
/// up, and gets a verdict that says what stopped it. Every process they start carries a
/// marker argument (forked interpreters carry the probe's directory), looked up in `/proc`
/// once `aiolint` has returned.
#[test]
fn hostile_probes_are_contained_and_each_gets_a_clear_verdict() {
    let marker = format!("aiolint-cli-hostile-{}", std::process::id());
    let outside = tempfile::tempdir().expect("a directory outside the probes'");
    let target = outside.path().join("escaped.txt");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("address").port();
    let sleeper = format!("[sys.executable, '-c', 'import time; time.sleep(100)', '{marker}']");
    // Each allocation four times the last: the limit is met after touching a third of it.
    let memory = "import time\n\nasync def hog():\n    data, size = [], 1 << 20\n    while True:\n        data.append(bytearray(size))\n        size *= 4\n    time.sleep(0.2)\n".to_owned();
    // Bounded (200 forks at most), so that even without a limit it cannot take the machine
    // down; each child waits for a signal that never comes.
    let forks = "import os\nimport signal\nimport time\n\nasync def bomb():\n    for _ in range(200):\n        if os.fork() == 0:\n            signal.pause()\n    time.sleep(0.2)\n".to_owned();
    let sigterm = format!(
        "import signal\nimport subprocess\nimport sys\nimport time\n\nasync def stubborn():\n    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    subprocess.Popen({sleeper})\n    time.sleep(3600)\n"
    );
    let daemon = format!(
        "import os\nimport sys\nimport time\n\nasync def detach():\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            os.execv(sys.executable, {sleeper})\n        os._exit(0)\n    os.wait()\n    time.sleep(0.3)\n"
    );
    let network = format!(
        "import subprocess\nimport sys\nimport time\n\nasync def call_home():\n    code = 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=5)'\n    if subprocess.run([sys.executable, '-c', code]).returncode == 0:\n        raise RuntimeError('connected to the local port')\n    time.sleep(0.2)\n"
    );
    let secrets = "import os\nimport time\n\nasync def snoop():\n    leaked = 'AIOLINT_TEST_SECRET' in os.environ\n    for pid in os.listdir('/proc'):\n        try:\n            with open('/proc/' + pid + '/environ', 'rb') as handle:\n                leaked = leaked or b'hunter2' in handle.read()\n        except OSError:\n            pass\n    if leaked:\n        raise RuntimeError('found the secret')\n    time.sleep(0.2)\n".to_owned();
    let writes = format!(
        "import time\n\nasync def scribble():\n    with open({:?}, 'w') as handle:\n        handle.write('escaped')\n    time.sleep(0.2)\n",
        target.display().to_string()
    );
    // The file names end in this process's id: forked interpreters carry them (in the probe
    // file's path), and other test runs on the machine do not.
    let suffix = format!("_{}.py", std::process::id());
    let name = |stem: &str| format!("{stem}{suffix}");
    let names: Vec<String> = [
        "memory", "forks", "sigterm", "daemon", "network", "secrets", "writes",
    ]
    .iter()
    .map(|stem| name(stem))
    .collect();
    let sources = [
        &memory, &forks, &sigterm, &daemon, &network, &secrets, &writes,
    ];
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .zip(sources)
        .map(|(name, source)| (name.as_str(), source.as_bytes()))
        .collect();
    let dir = project(&files);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args([
            "confirm",
            "--timeout",
            "5",
            "--jobs",
            "2",
            "--select",
            "AIO200",
            "--output-format",
            "json",
        ])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("AIOLINT_TEST_SECRET", "hunter2")
        .env(
            "AIOLINT_CACHE_DIR",
            std::env::temp_dir().join("aiolint-tests-cache"),
        )
        .output()
        .expect("the aiolint binary runs");
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let left = left_behind(&[&marker, &suffix]);
    assert!(left.is_empty(), "left behind: {left:#?}");
    let notes = stderr(&output);
    if std::env::var_os("AIOLINT_TEST_WEAK_ISOLATION").is_some() {
        // A kernel that refuses some layers (see docs/reliability.md): it is said, and the
        // verdicts below depend on which layers are missing.
        assert!(
            notes.contains("aiolint: note: probe isolation: "),
            "{notes}"
        );
        return;
    }
    // Every layer is in place (CI runs as root), so no note is printed.
    assert!(!notes.contains("probe isolation"), "{notes}");
    let found = verdicts(&output);
    assert_eq!(found.len(), 7, "one finding per file: {found:#?}");
    let verdict = |stem: &str| {
        let path = name(stem);
        let finding = found.iter().find(|f| f.0.trim_start_matches("./") == path);
        let Some((_, _, _, verdict, detail, _)) = finding else {
            panic!("no finding in {path}: {found:#?}");
        };
        (verdict.clone(), detail.clone())
    };
    // A coroutine stopped by a limit before its flagged line: the statement alone is run
    // instead (as for any coroutine that fails first), and the detail says what stopped it.
    let alone = "(the flagged statement run alone, since the coroutine's module could not be run: ";
    let (v, detail) = verdict("memory");
    assert_eq!(v, "confirmed", "{detail}");
    assert!(
        detail.contains(alone)
            && detail.ends_with("the probe raised MemoryError at line 6 first (the probe's memory is limited to 1024 MiB))"),
        "{detail}"
    );
    let (v, detail) = verdict("forks");
    assert_eq!(v, "confirmed", "{detail}");
    assert!(
        detail.contains(alone) && detail.contains("BlockingIOError: [Errno 11]"),
        "{detail}"
    );
    assert!(
        detail.ends_with("(the probe may have at most 128 processes and threads))"),
        "{detail}"
    );
    let (v, detail) = verdict("sigterm");
    assert_eq!(v, "confirmed", "{detail}");
    assert!(detail.contains("killed at its 5.0 s deadline"), "{detail}");
    for stem in ["daemon", "network", "secrets"] {
        let (v, detail) = verdict(stem);
        assert_eq!(v, "confirmed", "{stem}: {detail}");
    }
    let (v, detail) = verdict("writes");
    assert_eq!(v, "confirmed", "{detail}");
    assert!(
        detail.contains(alone) && detail.contains("OSError: [Errno 30] Read-only file system"),
        "{detail}"
    );
    assert!(!target.exists(), "the probe wrote {}", target.display());
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a probe connected to the local port"
    );
}

/// The live processes (zombies aside) whose command line contains one of `needles`.
fn left_behind(needles: &[&str]) -> Vec<String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let zombie = stat
                .rfind(')')
                .and_then(|i| stat.get(i + 2..i + 3))
                .is_some_and(|state| state == "Z");
            let ours = needles.iter().any(|needle| cmdline.contains(needle));
            (ours && !zombie).then(|| format!("{}: {cmdline}", entry.path().display()))
        })
        .collect()
}

/// Waits (up to a minute, checking every 20 ms) until `condition` holds; whether it did.
fn wait_until(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

#[test]
fn probes_die_with_a_killed_aiolint() {
    // The file name ends in this process's id.
    let name = format!("forever_{}_orphaned.py", std::process::id());
    let dir = project(&[(
        name.as_str(),
        b"import time\n\nasync def forever():\n    time.sleep(3600)\n",
    )]);
    let mut aiolint = std::process::Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args(["confirm", "--timeout", "600", name.as_str()])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env(
            "AIOLINT_CACHE_DIR",
            std::env::temp_dir().join("aiolint-tests-cache"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the aiolint binary runs");
    // The interpreter's command line names the probe file in its directory (aiolint's names
    // the file too, but not that path).
    let probe = format!("/probe/{name}");
    let started = wait_until(|| !left_behind(&[&probe]).is_empty());
    // Killed the way nothing can clean up after: the probe has no supervisor left.
    aiolint.kill().expect("kill aiolint");
    aiolint.wait().expect("reap aiolint");
    assert!(started, "the probe never started");
    assert!(
        wait_until(|| left_behind(&[&probe]).is_empty()),
        "the probe outlived aiolint: {:?}",
        left_behind(&[&probe])
    );
}
