//! The workspace: every Python file under the workspace folders, checked from disk against the
//! project index (`project.rs` holds the summaries; this holds what was published per file).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ignore::WalkBuilder;
use tower_lsp_server::ls_types as lsp;

use crate::config::Load;

#[derive(Debug, Default)]
pub(crate) struct Workspace {
    files: Mutex<HashMap<PathBuf, FileEntry>>,
}

/// What the server knows of one file on disk.
#[derive(Clone, Debug)]
pub(crate) struct FileEntry {
    /// The file's diagnostics as last published (unversioned: the file is not open).
    pub diagnostics: Vec<lsp::Diagnostic>,
    /// It parsed without syntax errors when last summarized.
    pub clean: bool,
}

impl Workspace {
    pub(crate) fn update(&self, path: PathBuf, entry: FileEntry) {
        self.lock().insert(path, entry);
    }

    pub(crate) fn remove(&self, path: &Path) -> Option<FileEntry> {
        self.lock().remove(path)
    }

    pub(crate) fn get(&self, path: &Path) -> Option<FileEntry> {
        self.lock().get(path).cloned()
    }

    /// Records that a file was (re)summarized, keeping what was published for it.
    pub(crate) fn summarized(&self, path: PathBuf, clean: bool) {
        self.lock()
            .entry(path)
            .or_insert_with(|| FileEntry {
                diagnostics: Vec::new(),
                clean,
            })
            .clean = clean;
    }

    /// Every file with whether it parsed cleanly, sorted by path.
    pub(crate) fn files(&self) -> Vec<(PathBuf, bool)> {
        let mut files: Vec<(PathBuf, bool)> = self
            .lock()
            .iter()
            .map(|(path, entry)| (path.clone(), entry.clean))
            .collect();
        files.sort();
        files
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, FileEntry>> {
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `.py` files under `folders`, respecting `.gitignore` and `.ignore`, and skipping the
/// files and directories the configuration excludes (as `aiolint check` does), sorted.
pub(crate) fn discover(folders: &[PathBuf], configs: &Arc<Load>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in folders {
        let configs = Arc::clone(configs);
        let walker = WalkBuilder::new(folder)
            .require_git(false)
            .filter_entry(move |entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                entry.depth() == 0 || !configs.is_excluded_entry(entry.path(), is_dir)
            })
            .build();
        for entry in walker {
            match entry {
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                    if is_python(entry.path()) {
                        files.push(entry.into_path());
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!("workspace scan: {error}"),
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

/// Whether the workspace scan and file watching look at `path` (`.pyi` stubs are never linted).
pub(crate) fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_respects_gitignore_and_the_configuration() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (path, text) in [
            (".gitignore", "generated/\n"),
            ("app/main.py", "x = 1\n"),
            ("app/stub.pyi", "x: int\n"),
            ("app/api_pb2.py", "x = 1\n"),
            ("generated/out.py", "x = 1\n"),
            (".venv/lib/site.py", "x = 1\n"),
            ("vendored/lib.py", "x = 1\n"),
            ("notes.txt", "x\n"),
            (
                "pyproject.toml",
                "[tool.aiolint]\nextend-exclude = [\"vendored\", \"*_pb2.py\"]\n",
            ),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let folders = [root.to_path_buf()];
        let configs = crate::config::Configs::default();
        configs.reload(&folders);
        let found = discover(&folders, &configs.current());
        assert_eq!(found, vec![root.join("app/main.py")]);
    }
}
