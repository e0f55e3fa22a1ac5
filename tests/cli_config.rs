//! End-to-end tests of configuration through the built binary: `[tool.aiolint]` in
//! `pyproject.toml`, `aiolint.toml`, nearest configuration per file, `--config`, and errors.

mod common;

use common::{aiolint, code, findings, project, root, stderr, stdout};

fn sample() -> std::path::PathBuf {
    root().join("tests/fixtures/config_project")
}

fn found(output: &std::process::Output) -> Vec<(String, u64, String)> {
    findings(output)
}

fn expect(list: &[(&str, u64, &str)]) -> Vec<(String, u64, String)> {
    list.iter()
        .map(|(p, l, c)| ((*p).to_string(), *l, (*c).to_string()))
        .collect()
}

/// Every key of the sample's `pyproject.toml` has a visible effect: `select` (no AIO4/AIO6
/// findings in `app/`), `ignore` (the dangling task on line 11 is not reported),
/// `per-file-ignores` (no AIO100 in `tests/`), `exclude` and `extend-exclude` (nothing from
/// `build/` and `generated/`), `target-version` (`TaskGroup` is too new for py310),
/// `extra-blocking-calls` and `extra-coroutines` (lines 10 and 9). The nested `legacy/`
/// project takes its target version from `requires-python` (py38), and `tools/aiolint.toml`
/// selects only AIO4 there.
#[test]
fn every_configuration_key_takes_effect() {
    let output = aiolint(&sample(), &["check", "--output-format", "json", "."]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        found(&output),
        expect(&[
            ("./app/service.py", 9, "AIO100"),
            ("./app/service.py", 10, "AIO201"),
            ("./app/service.py", 12, "AIO200"),
            ("./app/service.py", 13, "AIO500"),
            ("./legacy/old.py", 5, "AIO500"),
            ("./legacy/old.py", 6, "AIO501"),
            ("./tests/test_service.py", 10, "AIO500"),
            ("./tools/worker.py", 9, "AIO400"),
        ])
    );
}

#[test]
fn command_line_overrides_the_file() {
    let output = aiolint(
        &sample(),
        &[
            "check",
            "--output-format",
            "json",
            "--target-version",
            "py311",
            "--ignore",
            "AIO201",
            "app",
        ],
    );
    assert_eq!(
        found(&output),
        expect(&[
            ("app/service.py", 9, "AIO100"),
            ("app/service.py", 12, "AIO200"),
        ])
    );
    // `--select` replaces the file's selection: the ignored AIO101 comes back.
    let output = aiolint(
        &sample(),
        &[
            "check",
            "--output-format",
            "json",
            "--select",
            "AIO101",
            "app",
        ],
    );
    assert_eq!(found(&output), expect(&[("app/service.py", 11, "AIO101")]));
}

#[test]
fn config_flag_uses_one_file_for_everything() {
    let output = aiolint(
        &sample(),
        &[
            "check",
            "--output-format",
            "json",
            "--config",
            "tools/aiolint.toml",
            "app",
            "tools",
        ],
    );
    assert_eq!(found(&output), expect(&[("tools/worker.py", 9, "AIO400")]));
    let missing = aiolint(&sample(), &["check", "--config", "nope.toml", "app"]);
    assert_eq!(code(&missing), 2);
    assert!(
        stderr(&missing).contains("nope.toml"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn an_explicitly_named_file_is_checked_even_if_excluded() {
    let output = aiolint(
        &sample(),
        &[
            "check",
            "--output-format",
            "json",
            "generated/client_pb2.py",
        ],
    );
    assert_eq!(
        found(&output),
        expect(&[("generated/client_pb2.py", 5, "AIO200")])
    );
}

#[test]
fn misspelled_key_is_an_error_naming_file_key_and_line() {
    let dir = project(&[
        (
            "pyproject.toml",
            b"[project]\nname = \"x\"\n\n[tool.aiolint]\nselect = [\"AIO2\"]\nextend-exlcude = [\"gen\"]\n",
        ),
        ("app.py", b"import time\n\nasync def f():\n    time.sleep(1)\n"),
    ]);
    let output = aiolint(dir.path(), &["check", "."]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    let message = stderr(&output);
    assert!(
        message.contains("pyproject.toml:6: invalid configuration key `extend-exlcude`"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}

#[test]
fn wrong_types_and_values_are_errors() {
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "aiolint.toml",
            b"select = \"AIO2\"\n",
            "aiolint.toml:1: invalid configuration key `select`",
        ),
        (
            "aiolint.toml",
            b"\n\ntarget-version = \"py27\"\n",
            "aiolint.toml:3: invalid configuration key `target-version`",
        ),
        (
            "aiolint.toml",
            b"ignore = [\"AIO999\"]\n",
            "aiolint.toml:1: invalid configuration key `ignore`",
        ),
        (
            "pyproject.toml",
            b"[tool.aiolint.per-file-ignores]\n\"a/*\" = \"AIO100\"\n",
            "pyproject.toml:2: invalid configuration key `a/*`",
        ),
    ];
    for (name, text, expected) in cases {
        let dir = project(&[(name, text), ("a.py", b"x = 1\n")]);
        let output = aiolint(dir.path(), &["check", "."]);
        assert_eq!(code(&output), 2, "{name}: {}", stdout(&output));
        assert!(
            stderr(&output).contains(expected),
            "{name}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn requires_python_sets_the_default_target() {
    let dir = project(&[
        (
            "pyproject.toml",
            b"[project]\nrequires-python = \">=3.10\"\n\n[tool.aiolint]\nselect = [\"AIO500\"]\n",
        ),
        (
            "a.py",
            b"import asyncio\n\nasync def f():\n    await asyncio.to_thread(print)\n    async with asyncio.timeout(1):\n        pass\n",
        ),
    ]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    assert_eq!(found(&output), expect(&[("./a.py", 5, "AIO500")]));
}
