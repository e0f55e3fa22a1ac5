//! Whole-project analysis for the command line: read every file, summarize the modules into a
//! project index (in parallel), then check every file against that index (in parallel).
//!
//! Syntax trees are kept between the two passes while the project's sources add up to less
//! than [`KEEP_TREES_BELOW`]; above that, re-parsing is cheaper than holding every tree.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use analyzer::{
    ModuleName, ParsedModule, ProjectIndex, Settings, SourceFile, check_in_project, module_names,
    summarize,
};
use rayon::prelude::*;

use crate::commands::check::read_source;
use crate::printer::FileReport;

/// Files that make a project root when found in a directory.
const ROOT_MARKERS: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg", ".git"];

/// Total source size under which pass 1's trees are kept for pass 2.
const KEEP_TREES_BELOW: usize = 8 << 20;

/// A readable source file and the module names it can be imported as.
pub(crate) struct Module {
    pub file: SourceFile,
    pub name: ModuleName,
    /// The tree from pass 1, when kept.
    parsed: Option<ParsedModule>,
    /// Pass 1 found syntax errors (so pass 2 must run to report them).
    has_syntax_errors: bool,
}

/// Reads `paths`; unreadable or undecodable files come back as finished reports.
pub(crate) fn load(paths: &[PathBuf]) -> (Vec<Module>, Vec<FileReport>) {
    let loaded: Vec<Result<Module, FileReport>> = paths
        .par_iter()
        .map(|path| {
            let file = read_source(path)?;
            Ok(Module {
                file,
                name: module_name(path),
                parsed: None,
                has_syntax_errors: false,
            })
        })
        .collect();
    let mut modules = Vec::with_capacity(loaded.len());
    let mut failed = Vec::new();
    for result in loaded {
        match result {
            Ok(module) => modules.push(module),
            Err(report) => failed.push(report),
        }
    }
    (modules, failed)
}

/// The index of every module (pass 1).
pub(crate) fn index(modules: &mut [Module], settings: &Settings) -> ProjectIndex {
    let keep = modules.iter().map(|m| m.file.text.len()).sum::<usize>() < KEEP_TREES_BELOW;
    let summaries = modules
        .par_iter_mut()
        .filter_map(|module| {
            let parsed = ParsedModule::parse(&module.file.text)?;
            let summary = Arc::new(summarize(&module.file, &parsed, &module.name, settings));
            module.has_syntax_errors = !parsed.is_valid() || module.file.text.contains('\0');
            if keep {
                module.parsed = Some(parsed);
            }
            Some(summary)
        })
        .collect();
    ProjectIndex::new(summaries)
}

/// Checks every module against the index (pass 2).
pub(crate) fn check(
    modules: Vec<Module>,
    index: &ProjectIndex,
    settings: &Settings,
) -> Vec<FileReport> {
    modules
        .into_par_iter()
        .map(|module| {
            if !module.has_syntax_errors && !index.may_have_findings(&module.file.text, settings) {
                return FileReport {
                    file: module.file,
                    diagnostics: Vec::new(),
                };
            }
            let parsed = module
                .parsed
                .or_else(|| ParsedModule::parse(&module.file.text));
            let diagnostics = match parsed {
                Some(parsed) => {
                    check_in_project(&module.file, &parsed, &module.name, index, settings)
                }
                None => analyzer::check_file(&module.file, settings),
            };
            FileReport {
                file: module.file,
                diagnostics,
            }
        })
        .collect()
}

/// Reads, indexes and checks `paths` as one project.
pub(crate) fn check_paths(paths: &[PathBuf], settings: &Settings) -> Vec<FileReport> {
    let (mut modules, mut reports) = load(paths);
    let index = index(&mut modules, settings);
    reports.extend(check(modules, &index, settings));
    reports
}

/// The module names of `path`: from its package chain and relative to its project root (the
/// nearest directory with a `pyproject.toml`, `setup.py`, `setup.cfg` or `.git`).
fn module_name(path: &Path) -> ModuleName {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let root = absolute
        .ancestors()
        .skip(1)
        .find(|dir| ROOT_MARKERS.iter().any(|marker| dir.join(marker).exists()));
    module_names(&absolute, root, &|candidate: &Path| candidate.is_file())
}
