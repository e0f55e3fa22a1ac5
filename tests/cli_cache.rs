//! End-to-end tests of the persistent cache through the built binary: a warm run reports
//! exactly what a cold one does, byte for byte, also after an edit that changes what other
//! modules see; the cache directory is tagged and ignored; broken or concurrent cache files are
//! never an error.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{code, project, root, stderr, stdout};

/// Runs `aiolint check ARGS` in `dir` with the cache in `cache` (`None`: `--no-cache`), with
/// `--run-statistics` so that the test can tell where the findings came from.
fn check(dir: &Path, cache: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aiolint"));
    command
        .arg("check")
        .args(args)
        .current_dir(dir)
        .env_remove("AIOLINT_CACHE_DIR");
    match cache {
        Some(cache) => command.arg("--cache-dir").arg(cache),
        None => command.arg("--no-cache"),
    };
    command.arg("--run-statistics");
    command.output().expect("the aiolint binary runs")
}

/// The findings part of stderr's run statistics line (`N files: ...`).
fn statistics(output: &Output) -> String {
    stderr(output)
        .lines()
        .find(|line| line.contains(" files: "))
        .unwrap_or_default()
        .to_string()
}

/// A `src/`-layout project whose coroutines reach into other modules: a coroutine called
/// without `await` (AIO100) and a sync helper that blocks two modules away (AIO202).
fn shop() -> tempfile::TempDir {
    project(&[
        ("pyproject.toml", b"[project]\nname = \"shop\"\n"),
        ("src/shop/__init__.py", b""),
        (
            "src/shop/storage.py",
            b"import time\n\n\ndef read_disk(path):\n    time.sleep(0.1)\n    return path\n\n\ndef load_config(path):\n    return read_disk(path)\n",
        ),
        ("src/shop/api.py", b"class Client:\n    async def fetch(self, key):\n        return key\n"),
        (
            "src/shop/app.py",
            b"from shop.api import Client\nfrom shop.storage import load_config\n\n\nasync def main(client: Client):\n    load_config(\"app.toml\")\n    client.fetch(\"k\")\n",
        ),
        ("src/shop/idle.py", b"async def idle():\n    return None\n"),
    ])
}

/// Cold, then twice warm: the same bytes each time, in every output format; the second warm
/// run replays the first.
#[track_caller]
fn assert_warm_matches_cold(dir: &Path, args: &[&str]) {
    let cache = tempfile::tempdir().expect("cache directory");
    let cold = check(dir, None, args);
    let first = check(dir, Some(cache.path()), args);
    let second = check(dir, Some(cache.path()), args);
    for (name, warm) in [("first", &first), ("second", &second)] {
        assert_eq!(stdout(warm), stdout(&cold), "{name} cached run of {args:?}");
        assert_eq!(code(warm), code(&cold), "{name} cached run's exit code");
    }
    assert!(
        statistics(&second).contains("(the last run replayed)"),
        "{}",
        stderr(&second)
    );
}

#[test]
fn warm_runs_report_exactly_what_cold_runs_do() {
    let dir = shop();
    assert_warm_matches_cold(dir.path(), &["--output-format", "json", "."]);
    assert_warm_matches_cold(dir.path(), &["--output-format", "text", "."]);
    assert_warm_matches_cold(dir.path(), &["--output-format", "sarif", "."]);
    assert_warm_matches_cold(&root(), &["--output-format", "text", "examples"]);
    assert_warm_matches_cold(&root(), &["--output-format", "json", "examples"]);
}

#[test]
fn editing_a_module_updates_the_findings_of_the_unchanged_modules_that_use_it() {
    let dir = shop();
    let cache = tempfile::tempdir().expect("cache directory");
    let args = ["--output-format", "json", "."];
    let first = check(dir.path(), Some(cache.path()), &args);
    let text = stdout(&first);
    assert!(text.contains("AIO100") && text.contains("AIO202"), "{text}");

    // The helper stops blocking: app.py (unchanged) loses its AIO202.
    std::fs::write(
        dir.path().join("src/shop/storage.py"),
        "def read_disk(path):\n    return path\n\n\ndef load_config(path):\n    return read_disk(path)\n",
    )
    .expect("edit");
    let warm = check(dir.path(), Some(cache.path()), &args);
    assert_eq!(stdout(&warm), stdout(&check(dir.path(), None, &args)));
    assert!(!stdout(&warm).contains("AIO202"), "{}", stdout(&warm));
    assert!(
        statistics(&warm).contains("1 analysed, 4 from the cache"),
        "{}",
        stderr(&warm)
    );

    // `fetch` is no longer a coroutine: app.py's cached check asked about it, so it is
    // checked again and loses its AIO100.
    std::fs::write(
        dir.path().join("src/shop/api.py"),
        "class Client:\n    def fetch(self, key):\n        return key\n",
    )
    .expect("edit");
    let warm = check(dir.path(), Some(cache.path()), &args);
    assert_eq!(stdout(&warm), stdout(&check(dir.path(), None, &args)));
    assert_eq!(code(&warm), 0, "{}", stdout(&warm));
    assert!(
        statistics(&warm).contains("1 analysed, 3 from the cache, 1 checked again"),
        "{}",
        stderr(&warm)
    );
}

/// A replayed run leaves the cache as it was (it once emptied it, and the next edit made a
/// cold run); an edit after it that keeps every module's summary analyses only the edited
/// file and reports what a cold run does.
#[test]
fn an_edit_after_a_replayed_run_analyses_only_the_edited_file() {
    let dir = shop();
    let cache = tempfile::tempdir().expect("cache directory");
    let args = ["--output-format", "json", "."];
    check(dir.path(), Some(cache.path()), &args);
    let replayed = check(dir.path(), Some(cache.path()), &args);
    assert!(
        statistics(&replayed).contains("(the last run replayed)"),
        "{}",
        stderr(&replayed)
    );

    let app = dir.path().join("src/shop/app.py");
    let text = std::fs::read_to_string(&app).expect("app.py");
    std::fs::write(&app, format!("{text}    client.fetch(\"again\")\n")).expect("edit");
    let warm = check(dir.path(), Some(cache.path()), &args);
    assert_eq!(stdout(&warm), stdout(&check(dir.path(), None, &args)));
    assert_eq!(
        stdout(&warm).matches("AIO100").count(),
        2,
        "{}",
        stdout(&warm)
    );
    assert!(
        statistics(&warm)
            .contains("1 analysed, 4 from the cache, 0 checked again (no summary changed"),
        "{}",
        stderr(&warm)
    );
}

#[test]
fn the_cache_directory_is_tagged_and_ignored_and_chosen_by_flag_or_environment() {
    let dir = shop();
    let default = Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args(["check", "."])
        .current_dir(dir.path())
        .env_remove("AIOLINT_CACHE_DIR")
        .output()
        .expect("runs");
    assert_eq!(code(&default), 1, "{}", stderr(&default));
    let cache = dir.path().join(".aiolint_cache");
    let tag = std::fs::read_to_string(cache.join("CACHEDIR.TAG")).expect("CACHEDIR.TAG");
    assert!(
        tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"),
        "{tag}"
    );
    let ignore = std::fs::read_to_string(cache.join(".gitignore")).expect(".gitignore");
    assert!(ignore.lines().any(|line| line == "*"), "{ignore}");

    // Without flags the cache goes to `.aiolint_cache`, or where the environment says.
    let elsewhere = tempfile::tempdir().expect("cache directory");
    let output = Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args(["check", "."])
        .current_dir(dir.path())
        .env("AIOLINT_CACHE_DIR", elsewhere.path())
        .output()
        .expect("runs");
    assert_eq!(code(&output), 1);
    assert!(elsewhere.path().join("CACHEDIR.TAG").is_file());

    // `--no-cache` neither reads nor writes one.
    let fresh = shop();
    let output = check(fresh.path(), None, &["."]);
    assert_eq!(code(&output), 1);
    assert!(!fresh.path().join(".aiolint_cache").exists());
}

#[test]
fn broken_cache_files_are_ignored_and_replaced() {
    let dir = shop();
    let cache = tempfile::tempdir().expect("cache directory");
    let args = ["--output-format", "json", "."];
    let cold = check(dir.path(), None, &args);
    check(dir.path(), Some(cache.path()), &args);
    let mut broken = 0;
    for version in std::fs::read_dir(cache.path()).expect("cache").flatten() {
        if !version.path().is_dir() {
            continue;
        }
        for (number, file) in std::fs::read_dir(version.path())
            .expect("packs")
            .flatten()
            .enumerate()
        {
            let bytes = std::fs::read(file.path()).expect("read");
            // Truncated, garbage, or empty.
            let damaged = match number % 3 {
                0 => bytes[..bytes.len() / 2].to_vec(),
                1 => bytes.iter().map(|b| b ^ 0x5a).collect(),
                _ => Vec::new(),
            };
            std::fs::write(file.path(), damaged).expect("damage");
            broken += 1;
        }
    }
    assert!(broken >= 2, "the run wrote a pack and a record");
    let warm = check(dir.path(), Some(cache.path()), &args);
    assert_eq!(stdout(&warm), stdout(&cold));
    assert_eq!(code(&warm), code(&cold));
    assert!(!stderr(&warm).contains("error"), "{}", stderr(&warm));
    let again = check(dir.path(), Some(cache.path()), &args);
    assert_eq!(stdout(&again), stdout(&cold));
    assert!(
        statistics(&again).contains("replayed"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn runs_at_the_same_time_never_corrupt_the_cache() {
    let dir = shop();
    let cache = tempfile::tempdir().expect("cache directory");
    let args = ["--output-format", "json", "."];
    let cold = check(dir.path(), None, &args);
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_aiolint"))
                .args(["check", "--output-format", "json", "--cache-dir"])
                .arg(cache.path())
                .arg(".")
                .current_dir(dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        assert_eq!(stdout(&output), stdout(&cold));
        assert_eq!(stderr(&output), "", "no warning, no error");
    }
    let after = check(dir.path(), Some(cache.path()), &args);
    assert_eq!(stdout(&after), stdout(&cold));
}
