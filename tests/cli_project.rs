//! End-to-end tests of project-wide analysis (`aiolint check` across modules) through the
//! built binary.

mod common;

use common::{aiolint, code, json, project, stderr};

/// A small `src/`-layout project whose coroutines call helpers in other modules.
fn shop() -> tempfile::TempDir {
    project(&[
        ("pyproject.toml", b"[project]\nname = \"shop\"\n"),
        ("src/shop/__init__.py", b"from .storage import load_config as settings\n"),
        (
            "src/shop/storage.py",
            b"import time\n\n\ndef read_disk(path):\n    time.sleep(0.1)\n    return path\n\n\ndef load_config(path):\n    return read_disk(path)\n",
        ),
        ("src/shop/api.py", b"class Client:\n    async def fetch(self, key):\n        return key\n"),
        (
            "src/shop/app.py",
            b"import asyncio\n\nfrom shop import settings\nfrom shop.api import Client\nfrom shop.storage import read_disk\n\n\nasync def main(client: Client):\n    settings(\"app.toml\")\n    client.fetch(\"k\")\n    await asyncio.to_thread(read_disk, \"x\")\n",
        ),
    ])
}

#[test]
fn cross_module_findings_name_the_chain_and_point_at_the_blocking_line() {
    let dir = shop();
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let all = json(&output);
    let summary: Vec<(&str, u64, &str)> = all
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or(""),
                f["line"].as_u64().unwrap_or(0),
                f["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("./src/shop/app.py", 9, "AIO202"),
            ("./src/shop/app.py", 10, "AIO100")
        ]
        .to_vec(),
        "the helper's own `time.sleep` is sync code, reported only where a coroutine calls it: {all:#?}"
    );
    let transitive = &all[0];
    assert_eq!(
        transitive["message"],
        "`load_config()` blocks the event loop inside coroutine `main`: load_config -> read_disk -> time.sleep()"
    );
    let related = &transitive["related"][0];
    assert_eq!(related["path"], "./src/shop/storage.py");
    assert_eq!(
        (related["line"].as_u64(), related["column"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(related["message"], "`time.sleep()` blocks here");
    assert_eq!(transitive["fix"]["applicability"], "unsafe");
    assert_eq!(
        transitive["fix"]["edits"][0]["content"],
        "await asyncio.to_thread(settings, \"app.toml\")"
    );
    assert_eq!(
        all[1]["message"],
        "coroutine `Client.fetch` is called without `await`: the coroutine is discarded and never runs"
    );
}

#[test]
fn text_output_shows_the_related_location() {
    let dir = shop();
    let output = aiolint(
        dir.path(),
        &[
            "check",
            "--select",
            "AIO202",
            "src/shop/app.py",
            "src/shop/storage.py",
            "src/shop/__init__.py",
        ],
    );
    let text = common::stdout(&output);
    assert!(
        text.contains("= note: src/shop/storage.py:5: `time.sleep()` blocks here"),
        "{text}"
    );
}

#[test]
fn a_file_checked_alone_still_resolves_its_own_helpers_but_not_unseen_modules() {
    let dir = shop();
    let alone = aiolint(
        dir.path(),
        &[
            "check",
            "--output-format",
            "json",
            "--select",
            "AIO202",
            "src/shop/app.py",
        ],
    );
    assert_eq!(
        code(&alone),
        0,
        "modules that were not given are unknown, so the rule stays silent"
    );
    let local = project(&[(
        "one.py",
        b"import subprocess\n\n\ndef deploy():\n    return subprocess.run([\"true\"])\n\n\nasync def handler():\n    deploy()\n",
    )]);
    let output = aiolint(
        local.path(),
        &["check", "--output-format", "json", "one.py"],
    );
    let all = json(&output);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["code"], "AIO202");
    assert_eq!(all[0]["line"].as_u64(), Some(9));
}

#[test]
fn fixes_use_the_project_index() {
    let dir = shop();
    let output = aiolint(
        dir.path(),
        &[
            "check",
            "--fix",
            "--unsafe-fixes",
            "--select",
            "AIO100,AIO202",
            ".",
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Fixed 2 findings (0 remaining)."),
        "{}",
        stderr(&output)
    );
    let fixed = std::fs::read_to_string(dir.path().join("src/shop/app.py")).unwrap_or_default();
    assert!(
        fixed.contains("    await asyncio.to_thread(settings, \"app.toml\")\n"),
        "{fixed}"
    );
    assert!(fixed.contains("    await client.fetch(\"k\")\n"), "{fixed}");
}
