//! Finding the Python files to check.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

/// Directories never walked into (they hold environments, caches and build output). A path
/// given explicitly on the command line is still checked.
const EXCLUDED_DIRECTORIES: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
];

/// The files to check and the problems met while looking for them.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
}

/// Files under `paths`: explicit files as given, and `.py`/`.pyi` files found by walking
/// directories (respecting `.gitignore`, `.ignore` and the excluded directories), in a stable
/// order without duplicates.
pub(crate) fn python_files(paths: &[PathBuf]) -> Discovered {
    let mut found = Discovered::default();
    for path in paths {
        if !path.exists() {
            found
                .errors
                .push(format!("{}: no such file or directory", path.display()));
            continue;
        }
        if !path.is_dir() {
            found.files.push(path.clone());
            continue;
        }
        let walker = WalkBuilder::new(path)
            .require_git(false)
            .filter_entry(|entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                !(is_dir
                    && entry.depth() > 0
                    && EXCLUDED_DIRECTORIES.iter().any(|d| entry.file_name() == *d))
            })
            .build();
        for entry in walker {
            match entry {
                Ok(entry)
                    if entry.file_type().is_some_and(|t| t.is_file())
                        && is_python(entry.path()) =>
                {
                    found.files.push(entry.into_path());
                }
                Ok(_) => {}
                Err(error) => found.errors.push(error.to_string()),
            }
        }
    }
    found.files.sort();
    found.files.dedup();
    found
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py" || e == "pyi")
}
