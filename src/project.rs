//! Whole-project analysis for the command line: the files' module names, reading them, and the
//! analyzer's one-pass project run ([`analyzer::check_project`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use analyzer::{
    Cache, Diagnostic, ModuleName, ProjectFile, ProjectIndex, RunStatistics, Settings, SourceFile,
    Workspace, check_project, module_names,
};
use rayon::prelude::*;

use crate::commands::check::read_source;
use crate::printer::FileReport;

/// Files that make a project root when found in a directory.
const ROOT_MARKERS: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg", ".git"];

/// The files of a run, read from disk.
struct Disk {
    paths: Vec<PathBuf>,
}

impl Workspace for Disk {
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

/// The reports of a project run, the complete index and how the files were analysed.
pub(crate) struct Checked {
    pub reports: Vec<FileReport>,
    pub index: ProjectIndex,
    pub statistics: RunStatistics,
}

/// Reads, indexes and checks `paths` as one project; with `cache`, unchanged files are not
/// parsed again.
pub(crate) fn check_paths(
    paths: &[PathBuf],
    settings: &Settings,
    cache: Option<Arc<dyn Cache>>,
) -> Checked {
    let files: Vec<ProjectFile> = paths
        .par_iter()
        .map(|path| ProjectFile {
            path: path.display().to_string(),
            module: module_name(path),
            size: std::fs::metadata(path).map_or(0, |m| m.len()),
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

/// The module names of `path`: from its package chain and relative to its project root (the
/// nearest directory with a `pyproject.toml`, `setup.py`, `setup.cfg` or `.git`).
pub(crate) fn module_name(path: &Path) -> ModuleName {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let root = absolute
        .ancestors()
        .skip(1)
        .find(|dir| ROOT_MARKERS.iter().any(|marker| dir.join(marker).exists()));
    module_names(&absolute, root, &|candidate: &Path| candidate.is_file())
}
