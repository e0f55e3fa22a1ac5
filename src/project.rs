//! Whole-project analysis for the command line: the files' module names, reading them, and the
//! analyzer's one-pass project run ([`analyzer::check_project`]).

use std::path::{Path, PathBuf};
use std::cell::RefCell;
use std::sync::Arc;

use analyzer::{
    Cache, Diagnostic, ModuleName, ProjectFile, ProjectIndex, RunStatistics, Settings, SourceFile,
    Workspace, check_project, module_names,
};
use rustc_hash::FxHashMap;

use crate::commands::check::read_source;
use crate::printer::FileReport;

/// Files that make a project root when found in a directory.
const ROOT_MARKERS: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg", ".git"];

/// The files of a run, read from disk.
struct Disk {
    paths: Vec<PathBuf>,
}

impl Workspace for Disk {
    fn size(&self, position: usize) -> u64 {
        self.paths
            .get(position)
            .and_then(|path| std::fs::metadata(path).ok())
            .map_or(0, |metadata| metadata.len())
    }

    fn fingerprint(&self, position: usize) -> Option<u128> {
        let bytes = std::fs::read(self.paths.get(position)?).ok()?;
        Some(xxhash_rust::xxh3::xxh3_128(&bytes))
    }

    fn read(&self, position: usize) -> Result<SourceFile, Diagnostic> {
        let Some(path) = self.paths.get(position) else {
            return Err(analyzer::io_error("no such file"));
        };
        read_source(path).map_err(|mut report| {
            report
                .diagnostics
                .pop()
                .unwrap_or_else(|| analyzer::io_error("cannot read file"))
        })
    }
}

/// The reports of a project run, the complete index (none when the run replayed the cached
/// last one) and how the files were analysed.
pub(crate) struct Checked {
    pub reports: Vec<FileReport>,
    pub index: Option<ProjectIndex>,
    pub statistics: RunStatistics,
}

/// Reads, indexes and checks `paths` as one project; with `cache`, unchanged files are not
/// parsed again.
pub(crate) fn check_paths(
    paths: &[PathBuf],
    settings: &Settings,
    cache: Option<Arc<dyn Cache>>,
) -> Checked {
    let names = ModuleNames::new();
    let files: Vec<ProjectFile> = paths
        .iter()
        .map(|path| ProjectFile {
            path: path.display().to_string(),
            module: names.of(path),
        })
        .collect();
    let disk = Arc::new(Disk {
        paths: paths.to_vec(),
    });
    let outcome = check_project(files, settings.clone(), disk, cache);
    let reports = outcome
        .files
        .into_iter()
        .filter(|file| !file.diagnostics.is_empty())
        .map(|file| FileReport {
            file: file
                .source
                .unwrap_or_else(|| SourceFile::new(file.path, "")),
            diagnostics: file.diagnostics,
        })
        .collect();
    Checked {
        reports,
        index: outcome.index,
        statistics: outcome.statistics,
    }
}

/// Module names of the files of one run. Files of a directory share their ancestors, so
/// whether a file exists (a package's `__init__.py`, a root marker) is asked of the file system
/// once per path.
pub(crate) struct ModuleNames {
    current_dir: Option<PathBuf>,
    files: RefCell<FxHashMap<PathBuf, bool>>,
    entries: RefCell<FxHashMap<PathBuf, bool>>,
}

/// `ask(path)`, remembered in `known`.
fn remembered(known: &RefCell<FxHashMap<PathBuf, bool>>, path: &Path, ask: fn(&Path) -> bool) -> bool {
    if let Some(&answer) = known.borrow().get(path) {
        return answer;
    }
    let answer = ask(path);
    known.borrow_mut().insert(path.to_path_buf(), answer);
    answer
}

impl ModuleNames {
    pub(crate) fn new() -> Self {
        Self {
            current_dir: std::env::current_dir().ok(),
            files: RefCell::default(),
            entries: RefCell::default(),
        }
    }

    /// The module names of `path`: from its package chain and relative to its project root
    /// (the nearest directory with a `pyproject.toml`, `setup.py`, `setup.cfg` or `.git`).
    pub(crate) fn of(&self, path: &Path) -> ModuleName {
        let absolute = match &self.current_dir {
            Some(current) if path.is_relative() => current.join(path).components().collect(),
            _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        };
        let root = absolute
            .ancestors()
            .skip(1)
            .find(|dir| {
                ROOT_MARKERS
                    .iter()
                    .any(|marker| remembered(&self.entries, &dir.join(marker), Path::exists))
            });
        module_names(&absolute, root, &|candidate: &Path| {
            remembered(&self.files, candidate, Path::is_file)
        })
    }
}

/// The module names of `path`, for a single file.
pub(crate) fn module_name(path: &Path) -> ModuleName {
    ModuleNames::new().of(path)
}
