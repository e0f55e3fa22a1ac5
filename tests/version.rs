//! The version is set once, in `[workspace.package]` of the root `Cargo.toml`: the binary
//! prints it, and every other place that has to repeat it (the VS Code extension's
//! `package.json`, the pre-commit hook repository's `pyproject.toml`, the newest release in
//! `CHANGELOG.md`) must repeat it exactly. The wheel takes it from Cargo through maturin.

mod common;

use common::{aiolint, code, root, stdout};

/// `[workspace.package] version` of the root `Cargo.toml`.
fn workspace_version() -> String {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml is readable");
    let manifest: toml::Table = text.parse().expect("Cargo.toml is valid TOML");
    manifest["workspace"]["package"]["version"]
        .as_str()
        .expect("[workspace.package] has a version")
        .to_string()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn aiolint_version_prints_the_workspace_version() {
    let output = aiolint(&root(), &["--version"]);
    assert_eq!(code(&output), 0);
    assert_eq!(
        stdout(&output).trim(),
        format!("aiolint {}", workspace_version())
    );
}

#[test]
fn the_vscode_extension_has_the_workspace_version() {
    let package: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/package.json")).expect("package.json is JSON");
    assert_eq!(
        package["version"].as_str(),
        Some(workspace_version().as_str())
    );
}

#[test]
fn the_pre_commit_hook_repository_pins_the_workspace_version() {
    let pyproject: toml::Table = read("pre-commit-mirror/pyproject.toml")
        .parse()
        .expect("pre-commit-mirror/pyproject.toml is valid TOML");
    let version = workspace_version();
    assert_eq!(
        pyproject["project"]["version"].as_str(),
        Some(version.as_str())
    );
    let dependencies: Vec<&str> = pyproject["project"]["dependencies"]
        .as_array()
        .expect("dependencies is a list")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert_eq!(dependencies, [format!("aiolint=={version}")]);
}

/// Each release is a `## VERSION (DATE)` heading, newest first; the one being prepared says
/// `(unreleased)` in place of the date.
#[test]
fn the_changelog_starts_with_the_workspace_version() {
    let changelog = read("CHANGELOG.md");
    let newest = changelog
        .lines()
        .find_map(|line| line.strip_prefix("## "))
        .and_then(|heading| heading.split_whitespace().next());
    assert_eq!(
        newest,
        Some(workspace_version().as_str()),
        "the newest release in CHANGELOG.md"
    );
}
