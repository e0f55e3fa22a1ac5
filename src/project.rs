//! Whole-project analysis for the command line: the files' module names, reading them, and the
//! analyzer's one-pass project run ([`analyzer::check_project`]).

use std::cell::RefCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
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
        let path = self.paths.get(position)?;
        if path.extension().is_some_and(|e| e == "ipynb") {
            // A notebook's text is its code cells, not its bytes.
            let source = self.read(position).ok()?;
            return Some(xxhash_rust::xxh3::xxh3_128(source.text.as_bytes()));
        }
        // The text of a Python file is its bytes, when they are UTF-8.
        let bytes = lsp::files::read_regular_file(path).ok()?;
        std::str::from_utf8(&bytes).ok()?;
        Some(xxhash_rust::xxh3::xxh3_128(&bytes))
    }

    fn read(&self, position: usize) -> Result<SourceFile, Box<Diagnostic>> {
        let Some(path) = self.paths.get(position) else {
            return Err(Box::new(analyzer::io_error("no such file")));
        };
        read_source(path).map_err(|mut report| {
            Box::new(
                report
                    .diagnostics
                    .pop()
                    .unwrap_or_else(|| analyzer::io_error("cannot read file")),
            )
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
    /// Whether a path is a file, by the path's bytes (hashing a `Path` goes component by
    /// component, which is slower than the lookup it saves).
    files: RefCell<FxHashMap<OsString, bool>>,
    /// The project root of a directory.
    roots: RefCell<FxHashMap<OsString, Option<PathBuf>>>,
}

impl ModuleNames {
    fn is_file(&self, path: &Path) -> bool {
        if let Some(&answer) = self.files.borrow().get(path.as_os_str()) {
            return answer;
        }
        let answer = path.is_file();
        self.files
            .borrow_mut()
            .insert(path.as_os_str().to_owned(), answer);
        answer
    }

    /// The nearest directory from `directory` up with a root marker.
    fn root(&self, directory: &Path) -> Option<PathBuf> {
        if let Some(root) = self.roots.borrow().get(directory.as_os_str()) {
            return root.clone();
        }
        let root = if ROOT_MARKERS
            .iter()
            .any(|marker| directory.join(marker).exists())
        {
            Some(directory.to_path_buf())
        } else {
            directory.parent().and_then(|parent| self.root(parent))
        };
        self.roots
            .borrow_mut()
            .insert(directory.as_os_str().to_owned(), root.clone());
        root
    }
}

impl ModuleNames {
    pub(crate) fn new() -> Self {
        Self {
            current_dir: std::env::current_dir().ok(),
            files: RefCell::default(),
            roots: RefCell::default(),
        }
    }

    /// The module names of `path`: from its package chain and relative to its project root
    /// (the nearest directory with a `pyproject.toml`, `setup.py`, `setup.cfg` or `.git`).
    pub(crate) fn of(&self, path: &Path) -> ModuleName {
        let absolute = match &self.current_dir {
            Some(current) if path.is_relative() => current.join(path).components().collect(),
            _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        };
        let root = absolute.parent().and_then(|directory| self.root(directory));
        module_names(&absolute, root.as_deref(), &|candidate: &Path| {
            self.is_file(candidate)
        })
    }
}

/// The module names of `path`, for a single file.
pub(crate) fn module_name(path: &Path) -> ModuleName {
    ModuleNames::new().of(path)
}
