//! End-to-end tests of Jupyter notebooks through the built binary.

mod common;

use common::{aiolint, code, json, project, root, stderr, stdout};

/// `tests/fixtures/notebook/analysis.ipynb` has findings in cells 3, 5 and 8; top-level
/// `await` (cell 4), magics and shell escapes (cells 2 and 7) are fine.
#[test]
fn findings_are_located_by_cell_and_line() {
    let output = aiolint(
        &root(),
        &[
            "check",
            "--output-format",
            "json",
            "tests/fixtures/notebook",
        ],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let found: Vec<(u64, u64, u64, String)> = json(&output)
        .iter()
        .map(|f| {
            assert_eq!(f["path"], "tests/fixtures/notebook/analysis.ipynb");
            (
                f["cell"].as_u64().unwrap_or_default(),
                f["line"].as_u64().unwrap_or_default(),
                f["column"].as_u64().unwrap_or_default(),
                f["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (3, 2, 5, "AIO200".to_string()),
            (5, 1, 1, "AIO300".to_string()),
            (8, 2, 12, "AIO503".to_string()),
        ]
    );
}

#[test]
fn text_output_names_the_cell() {
    let output = aiolint(
        &root(),
        &["check", "tests/fixtures/notebook/analysis.ipynb"],
    );
    let text = stdout(&output);
    assert!(
        text.contains("tests/fixtures/notebook/analysis.ipynb:cell 3:2:5: AIO200"),
        "{text}"
    );
    assert!(
        text.contains("tests/fixtures/notebook/analysis.ipynb:cell 5:1:1: AIO300"),
        "{text}"
    );
    // The source line shown is the cell's, numbered within the cell.
    assert!(text.contains("2 |     time.sleep(1)"), "{text}");
    // `--fix` never rewrites notebooks, so their fixes are not counted as fixable.
    assert!(!text.contains("fixable with `--fix`"), "{text}");
    let concise = aiolint(
        &root(),
        &[
            "check",
            "--output-format",
            "concise",
            "tests/fixtures/notebook/analysis.ipynb",
        ],
    );
    assert!(
        stdout(&concise).contains("analysis.ipynb:cell 8:2:12: AIO503"),
        "{}",
        stdout(&concise)
    );
}

#[test]
fn fix_never_rewrites_a_notebook() {
    let original = std::fs::read(root().join("tests/fixtures/notebook/analysis.ipynb"))
        .expect("the fixture exists");
    let dir = project(&[("nb.ipynb", &original)]);
    let output = aiolint(dir.path(), &["check", "--fix", "nb.ipynb"]);
    assert_ne!(code(&output), 2, "{}", stderr(&output));
    let after = std::fs::read(dir.path().join("nb.ipynb")).expect("still there");
    assert_eq!(after, original);
}

#[test]
fn broken_notebooks_are_reported_and_the_run_goes_on() {
    let dir = project(&[
        ("bad.ipynb", b"{ not json"),
        (
            "good.py",
            b"import time\n\nasync def f():\n    time.sleep(1)\n",
        ),
    ]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    let found: Vec<(String, String)> = json(&output)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("./bad.ipynb".to_string(), "E902".to_string()),
            ("./good.py".to_string(), "AIO200".to_string()),
        ]
    );
}

#[test]
fn top_level_await_is_an_error_in_a_module_but_not_in_a_notebook() {
    let notebook = br#"{"cells": [{"cell_type": "code", "source": ["import asyncio\n", "await asyncio.sleep(1)\n"]}], "nbformat": 4}"#;
    let dir = project(&[
        ("nb.ipynb", notebook),
        ("script.py", b"import asyncio\nawait asyncio.sleep(1)\n"),
    ]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    let found: Vec<(String, String)> = json(&output)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(found, [("./script.py".to_string(), "AIO503".to_string())]);
}
