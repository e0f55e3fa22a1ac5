//! aiolint's analysis engine: parsing with tree-sitter-python, a per-file semantic model, the
//! rules, and fixes as text edits.
//!
//! The analyzer does no IO: callers hand it source text and settings and get diagnostics back.
//! No tree-sitter type crosses this API.

mod analysis;
mod cache_format;
mod calls;
mod config;
mod config_files;
mod diagnostic;
mod fix;
mod flow;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod guards;
mod importer;
mod index;
mod known;
mod line_index;
mod notebook;
mod parse;
mod probe;
mod project;
mod recheck;
mod rules;
mod semantic;
mod settings;
mod source;
mod suppression;
mod syntax;
mod text_range;
mod type_defaults;

#[cfg(test)]
mod test_support;

pub use analysis::{Analysis, ModuleCheck, Options, analyze};
pub use config::{Config, ConfigError, requires_python_lower_bound};
pub use config_files::{
    CONFIG_FILE_NAMES, ConfigFile, ConfigResolver, EXCLUDED_DIRECTORIES, ReadFile,
};
pub use diagnostic::{Diagnostic, Related, Severity};
pub use fix::{
    Applicability, Edit, Fix, FixOutcome, MAX_FIX_ROUNDS, apply_fixes, fix_until_stable,
    fix_until_stable_in,
};
pub use index::{
    Dependencies, Loader, ModuleName, ModuleSummary, ProjectIndex, module_names, summarize,
};
pub use line_index::{LineColumn, LineIndex};
pub use notebook::{CellLine, Notebook, NotebookError};
pub use parse::{InputEdit, ParsedModule, Point};
pub use probe::{PROBE_ENTRY, Planned, ProbeEntry, ProbeKind, ProbePlan, plan_probes};
pub use project::{
    Cache, FileOutcome, ProjectFile, ProjectOutcome, RunStatistics, Workspace, check_project,
};
pub use recheck::{Checked, Rechecked, RecheckedSyntax, TextChange, recheck_functions};
pub use rules::{Pending, Rule, RuleMeta};
pub use settings::{PythonVersion, RuleSelection, Settings, UnknownSelector};
pub use source::{SourceFile, SourceKind};
pub use text_range::TextRange;

/// Checks one file and returns its diagnostics, sorted by position. Stubs get none; a file that
/// does not parse gets an `E999` and the findings of the parts that did.
pub fn check_file(file: &SourceFile, settings: &Settings) -> Vec<Diagnostic> {
    if file.kind == SourceKind::Stub {
        return Vec::new();
    }
    let Some(parsed) = ParsedModule::parse(&file.text) else {
        return vec![Diagnostic::new(
            Rule::SyntaxError,
            TextRange::empty(0),
            "SyntaxError: the parser gave up on this file",
        )];
    };
    check_parsed(file, &parsed, settings)
}

/// Checks a file whose text has already been parsed into `parsed` (the language server keeps
/// trees and reparses incrementally). `parsed` must be the parse of `file.text`.
pub fn check_parsed(
    file: &SourceFile,
    parsed: &ParsedModule,
    settings: &Settings,
) -> Vec<Diagnostic> {
    check_in_project(
        file,
        parsed,
        &ModuleName::default(),
        ProjectIndex::empty(),
        settings,
    )
}

/// Checks module `module` of a project: names imported from other modules are resolved
/// through `index` (built from every module's [`summarize`]), and findings that cross modules
/// (a coroutine of another module called without `await`, a helper that blocks further down)
/// are reported.
pub fn check_in_project(
    file: &SourceFile,
    parsed: &ParsedModule,
    module: &ModuleName,
    index: &ProjectIndex,
    settings: &Settings,
) -> Vec<Diagnostic> {
    let analysis = analyze(file, parsed, module, index, settings, &Options::default());
    analysis.diagnostics(index, &file.path)
}

/// The diagnostic for a file that could not be read or decoded.
pub fn io_error(message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Rule::IoError, TextRange::empty(0), message)
}

/// Whether `text` parses without syntax errors (used before writing a fixed file).
pub fn parses_cleanly(text: &str) -> bool {
    !text.contains('\0') && ParsedModule::parse(text).is_some_and(|p| p.is_valid())
}
