//! End-to-end tests of configuration files in `aiolint server`: the built binary, spoken to over
//! stdin/stdout, reads `[tool.aiolint]`/`aiolint.toml` as `aiolint check` does, and reloads them
//! when they change.

mod common;
mod lsp_client;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use lsp_client::{Client, Encoding, file_uri};
use serde_json::{Value, json};

/// AIO200 (line 6) and AIO100 (line 7).
const SOURCE: &str =
    "import asyncio\nimport time\n\n\nasync def work():\n    time.sleep(1)\n    asyncio.sleep(1)\n";

fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        write(&dir.path().join(path), text);
    }
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The codes of `diagnostics`, sorted.
fn codes(diagnostics: &[Value]) -> Vec<String> {
    let mut codes: Vec<String> = diagnostics
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_string))
        .collect();
    codes.sort();
    codes
}

/// Waits for a publication of `uri`'s diagnostics at `version` with exactly `expected` codes
/// (earlier ones are skipped; each wait has the client's deadline).
fn codes_until(client: &mut Client, uri: &str, version: Option<i64>, expected: &[&str]) {
    loop {
        if codes(&client.diagnostics(uri, version)) == expected {
            return;
        }
    }
}

fn scan_end(client: &mut Client) {
    client.wait_for("the end of the workspace scan", |m| {
        m["method"] == "$/progress"
            && m["params"]["value"]["kind"] == "end"
            && m["params"]["value"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("checked"))
    });
}

/// Tells the server that `path` was created (1), changed (2) or deleted (3).
fn watched(client: &mut Client, path: &Path, typ: u8) {
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": file_uri(path), "type": typ}]}),
    );
}

/// The server's scan of the sample configuration project publishes exactly the findings of
/// `aiolint check` there: `select`, `ignore`, `per-file-ignores`, `exclude`, `extend-exclude`,
/// `target-version`, `requires-python`, `extra-blocking-calls`, `extra-coroutines`, a nested
/// `pyproject.toml` and an `aiolint.toml`.
#[test]
fn the_workspace_scan_agrees_with_aiolint_check_on_the_sample() {
    let sample = common::root().join("tests/fixtures/config_project");
    let output = common::aiolint(&sample, &["check", "--output-format", "json", "."]);
    let expected: BTreeSet<(String, u64, String)> = common::findings(&output)
        .into_iter()
        .map(|(path, line, code)| (path.trim_start_matches("./").to_string(), line, code))
        .collect();
    assert_eq!(expected.len(), 8, "{expected:?}");

    let mut client = Client::initialized(&[Encoding::Utf16], &[&sample]);
    scan_end(&mut client);
    let published = client.collect_for(Duration::from_millis(300), |m| {
        m["method"] == "textDocument/publishDiagnostics"
    });
    let prefix = format!("{}/", file_uri(&sample));
    let mut found = BTreeSet::new();
    for message in &published {
        let uri = message["params"]["uri"].as_str().unwrap_or_default();
        let path = uri.strip_prefix(&prefix).unwrap_or(uri).to_string();
        for diagnostic in message["params"]["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let line = diagnostic["range"]["start"]["line"].as_u64().unwrap_or(0) + 1;
            let code = diagnostic["code"].as_str().unwrap_or_default().to_string();
            found.insert((path.clone(), line, code));
        }
    }
    assert_eq!(found, expected);
    assert!(client.shutdown_and_exit().success());
}

/// `ignore` in `pyproject.toml` holds for open documents and workspace files; changing the file
/// on disk (through the watcher, then through `didChangeConfiguration`) and creating an
/// `aiolint.toml` beside it change the diagnostics without a restart.
#[test]
fn diagnostics_follow_the_configuration_as_it_changes() {
    let dir = workspace(&[
        ("pyproject.toml", "[tool.aiolint]\nignore = [\"AIO200\"]\n"),
        ("app.py", SOURCE),
        ("pkg/other.py", SOURCE),
    ]);
    let root = dir.path();
    let app = file_uri(&root.join("app.py"));
    let other = file_uri(&root.join("pkg/other.py"));
    let mut client = Client::initialized(&[Encoding::Utf16], &[root]);
    let registration = client.wait_for("watcher registration", |m| {
        m["method"] == "client/registerCapability"
    });
    let globs: Vec<&str> =
        registration["params"]["registrations"][0]["registerOptions"]["watchers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w["globPattern"].as_str())
            .collect();
    assert_eq!(
        globs,
        ["**/*.py", "**/pyproject.toml", "**/aiolint.toml"],
        "{registration}"
    );
    client.open(&app, SOURCE);
    assert_eq!(codes(&client.diagnostics(&app, Some(1))), ["AIO100"]);
    codes_until(&mut client, &other, None, &["AIO100"]);
    scan_end(&mut client);

    // The watcher reports the change: the rule turns on, the other one off.
    let pyproject = root.join("pyproject.toml");
    write(&pyproject, "[tool.aiolint]\nignore = [\"AIO100\"]\n");
    watched(&mut client, &pyproject, 2);
    codes_until(&mut client, &app, Some(1), &["AIO200"]);
    codes_until(&mut client, &other, None, &["AIO200"]);

    // No watcher event this time: `didChangeConfiguration` reloads too.
    write(&pyproject, "[tool.aiolint]\n");
    client.notify("workspace/didChangeConfiguration", json!({"settings": {}}));
    codes_until(&mut client, &app, Some(1), &["AIO100", "AIO200"]);
    codes_until(&mut client, &other, None, &["AIO100", "AIO200"]);

    // An `aiolint.toml` appears beside it, and wins.
    let aiolint_toml = root.join("aiolint.toml");
    write(&aiolint_toml, "select = [\"AIO200\"]\n");
    watched(&mut client, &aiolint_toml, 1);
    codes_until(&mut client, &app, Some(1), &["AIO200"]);
    // Deleted again: the `pyproject.toml` applies.
    std::fs::remove_file(&aiolint_toml).expect("remove");
    watched(&mut client, &aiolint_toml, 3);
    codes_until(&mut client, &app, Some(1), &["AIO100", "AIO200"]);
    assert!(client.shutdown_and_exit().success());
}

/// `per-file-ignores` entries match paths relative to the configuration (`tests/*`) and file
/// names anywhere below it (`conftest.py`).
#[test]
fn per_file_ignores_are_honoured() {
    let dir = workspace(&[(
        "pyproject.toml",
        "[tool.aiolint.per-file-ignores]\n\"tests/*\" = [\"AIO200\"]\n\"conftest.py\" = [\"blocking-sleep\", \"AIO100\"]\n",
    )]);
    let root = dir.path();
    let mut client = Client::initialized(&[Encoding::Utf16], &[root]);
    for (path, expected) in [
        ("app.py", &["AIO100", "AIO200"][..]),
        ("tests/test_app.py", &["AIO100"][..]),
        ("pkg/conftest.py", &[][..]),
    ] {
        let uri = file_uri(&root.join(path));
        client.open(&uri, SOURCE);
        assert_eq!(
            codes(&client.diagnostics(&uri, Some(1))),
            expected,
            "{path}"
        );
    }
    assert!(client.shutdown_and_exit().success());
}

/// A broken configuration file is shown to the user with its path and the problem; the files
/// under it are checked with the defaults (not with the configuration above it) until it is
/// fixed, and the server keeps working.
#[test]
fn a_broken_configuration_is_shown_and_the_defaults_apply_until_it_is_fixed() {
    let dir = workspace(&[
        ("pyproject.toml", "[tool.aiolint]\nignore = [\"AIO100\"]\n"),
        (
            "sub/aiolint.toml",
            "select = [\"AIO1\"]\nselct = [\"AIO2\"]\n",
        ),
    ]);
    let root = dir.path();
    let broken = root.join("sub/aiolint.toml");
    let mut client = Client::initialized(&[Encoding::Utf16], &[root]);
    let shown = client.wait_for("the error shown", |m| m["method"] == "window/showMessage");
    let message = shown["params"]["message"].as_str().unwrap_or_default();
    assert_eq!(shown["params"]["type"], 1, "{shown}");
    assert!(
        message.contains(&format!("{}:2", broken.display())) && message.contains("selct"),
        "{message}"
    );
    client.stderr_containing("invalid configuration key `selct`");

    let app = file_uri(&root.join("app.py"));
    let sub = file_uri(&root.join("sub/mod.py"));
    client.open(&app, SOURCE);
    client.open(&sub, SOURCE);
    assert_eq!(codes(&client.diagnostics(&app, Some(1))), ["AIO200"]);
    assert_eq!(
        codes(&client.diagnostics(&sub, Some(1))),
        ["AIO100", "AIO200"]
    );

    write(&broken, "select = [\"AIO1\"]\n");
    watched(&mut client, &broken, 2);
    codes_until(&mut client, &sub, Some(1), &["AIO100"]);
    let again = client.collect_for(Duration::from_millis(300), |m| {
        m["method"] == "window/showMessage"
    });
    assert!(again.is_empty(), "{again:#?}");
    assert!(client.is_running());
    assert!(client.shutdown_and_exit().success());
}

/// Files that `exclude`/`extend-exclude` leave out are not scanned and have no diagnostics when
/// opened; once the configuration stops excluding them, they are checked.
#[test]
fn excluded_files_get_no_diagnostics() {
    let dir = workspace(&[
        (
            "pyproject.toml",
            "[tool.aiolint]\nextend-exclude = [\"generated\"]\n",
        ),
        ("app.py", SOURCE),
        ("generated/client.py", SOURCE),
        ("generated/closed.py", SOURCE),
    ]);
    let root = dir.path();
    let generated = file_uri(&root.join("generated/client.py"));
    let closed = file_uri(&root.join("generated/closed.py"));
    let mut client = Client::initialized(&[Encoding::Utf16], &[root]);
    scan_end(&mut client);
    let published = client.collect_for(Duration::from_millis(300), |m| {
        m["method"] == "textDocument/publishDiagnostics"
    });
    let uris: Vec<&str> = published
        .iter()
        .filter_map(|m| m["params"]["uri"].as_str())
        .collect();
    assert_eq!(uris, [file_uri(&root.join("app.py"))], "{published:#?}");
    client.open(&generated, SOURCE);
    assert!(client.diagnostics(&generated, Some(1)).is_empty());

    let pyproject = root.join("pyproject.toml");
    write(&pyproject, "[tool.aiolint]\n");
    watched(&mut client, &pyproject, 2);
    codes_until(&mut client, &generated, Some(1), &["AIO100", "AIO200"]);
    codes_until(&mut client, &closed, None, &["AIO100", "AIO200"]);

    // Excluded again: the open document and the closed file lose their findings.
    write(
        &pyproject,
        "[tool.aiolint]\nextend-exclude = [\"generated\"]\n",
    );
    watched(&mut client, &pyproject, 2);
    codes_until(&mut client, &generated, Some(1), &[]);
    codes_until(&mut client, &closed, None, &[]);
    assert!(client.shutdown_and_exit().success());
}
