//! Finding the Python files to check.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use analyzer::EXCLUDED_DIRECTORIES;
use ignore::{WalkBuilder, WalkState};

/// The files to check and the problems met while looking for them.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
}

/// Files under `paths`: explicit files as given, and `.py`/`.pyi` files found by walking
/// directories (respecting `.gitignore`, `.ignore` and the excluded directories), in a stable
/// order without duplicates. Walking does not follow symbolic links (so a loop cannot trap it)
/// and keeps regular files only: a named pipe or a directory called `x.py` is not a file to
/// check. An explicit path that is not a regular file is reported when it is read.
pub(crate) fn python_files(paths: &[PathBuf]) -> Discovered {
    let excluded = |entry: &Path, is_dir: bool| {
        is_dir
            && entry
                .file_name()
                .is_some_and(|name| EXCLUDED_DIRECTORIES.iter().any(|d| name == *d))
    };
    let excluded: Exclude = Arc::new(excluded);
    walk(paths, &excluded, is_python)
}

/// Decides whether walking skips a file or directory (`true` for a directory).
pub(crate) type Exclude = Arc<dyn Fn(&Path, bool) -> bool + Send + Sync>;

/// Like [`python_files`], also finding Jupyter notebooks (`.ipynb`), and skipping what
/// `excluded` says (the configuration's `exclude`/`extend-exclude`) instead of the built-in
/// list. Explicitly named files are always kept.
pub(crate) fn python_and_notebook_files(paths: &[PathBuf], excluded: &Exclude) -> Discovered {
    walk(paths, excluded, |path| {
        is_python(path) || path.extension().is_some_and(|e| e == "ipynb")
    })
}

fn walk(paths: &[PathBuf], excluded: &Exclude, wanted: fn(&Path) -> bool) -> Discovered {
    let mut found = Discovered::default();
    for path in paths {
        if !path.exists() {
            // A link that exists but leads nowhere (dangling, or a loop) says why.
            let message = match (std::fs::symlink_metadata(path), std::fs::metadata(path)) {
                (Ok(_), Err(error)) => format!(
                    "{}: a symbolic link that cannot be followed: {error}",
                    path.display()
                ),
                _ => format!("{}: no such file or directory", path.display()),
            };
            found.errors.push(message);
            continue;
        }
        if !path.is_dir() {
            found.files.push(path.clone());
            continue;
        }
        let walker = WalkBuilder::new(path)
            .require_git(false)
            .filter_entry({
                let excluded = excluded.clone();
                move |entry| {
                    let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                    entry.depth() == 0 || !excluded(entry.path(), is_dir)
                }
            })
            .build_parallel();
        let seen = Mutex::new(Discovered::default());
        walker.run(|| {
            Box::new(|entry| {
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                match entry {
                    Ok(entry)
                        if entry.file_type().is_some_and(|t| t.is_file())
                            && wanted(entry.path()) =>
                    {
                        seen.files.push(entry.into_path());
                    }
                    Ok(_) => {}
                    Err(error) => seen.errors.push(error.to_string()),
                }
                WalkState::Continue
            })
        });
        let seen = seen.into_inner().unwrap_or_else(PoisonError::into_inner);
        found.files.extend(seen.files);
        let mut errors = seen.errors;
        errors.sort();
        found.errors.extend(errors);
    }
    found.files.sort();
    found.files.dedup();
    found
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py" || e == "pyi")
}
