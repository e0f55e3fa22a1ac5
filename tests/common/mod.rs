//! Helpers for end-to-end tests that run the built `aiolint` binary.

#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `examples/` lives).
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `aiolint ARGS` in `dir` and returns its output. The cache goes to one directory
/// shared by the test runs (not into the checked folders, some of which are in the repository).
pub(crate) fn aiolint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env(
            "AIOLINT_CACHE_DIR",
            std::env::temp_dir().join("aiolint-tests-cache"),
        )
        .output()
        .expect("the aiolint binary runs")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code, failing the test if the process was killed by a signal (a crash).
#[track_caller]
pub(crate) fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("aiolint died from a signal; stderr:\n{}", stderr(output)))
}

/// Parses `--output-format json` output.
#[track_caller]
pub(crate) fn json(output: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a JSON array ({e}):\n{}", stdout(output)))
}

/// `(path, line, code)` of every finding in JSON output.
pub(crate) fn findings(output: &Output) -> Vec<(String, u64, String)> {
    json(output)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A temporary directory with the given files written into it.
pub(crate) fn project(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (path, content) in files {
        let full = dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent directory");
        }
        std::fs::write(full, content).expect("write test file");
    }
    dir
}
