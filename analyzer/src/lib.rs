//! aiolint's analysis engine: parsing with tree-sitter-python, a per-file semantic model, the
//! rules, and fixes as text edits.
//!
//! The analyzer does no IO: callers hand it source text and settings and get diagnostics back.
//! No tree-sitter type crosses this API.

mod cache_format;
mod calls;
mod config;
mod config_files;
mod diagnostic;
mod fix;
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

#[cfg(test)]
mod test_support;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use index::Lookups;
use semantic::SemanticModel;

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
pub use recheck::{Checked, TextChange, recheck_function};
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

/// What [`analyze`] does besides checking.
#[derive(Default)]
pub struct Options<'a> {
    /// Summarize the module too (from the same model).
    pub summarize: bool,
    /// Called with the summary before the check starts: a file of a [`ProjectIndex::lazy`]
    /// index publishes it there, since its check may look the module itself up.
    pub publish: Option<&'a dyn Fn(Arc<ModuleSummary>)>,
    /// Record what the check asks the index about other modules ([`Analysis::dependencies`]).
    pub record: bool,
}

/// One module analysed: its summary and its findings, some of which wait for the project's
/// call graph (see [`Analysis::diagnostics`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// The module summary, when asked for.
    pub summary: Option<Arc<ModuleSummary>>,
    /// Findings, suppressions applied, in no particular order.
    diagnostics: Vec<Diagnostic>,
    /// Findings that depend on the call-graph facts, suppressions applied.
    pending: Vec<Pending>,
    /// Stored apart in a cache entry: only a check of the entry's validity reads them.
    #[serde(skip)]
    dependencies: Dependencies,
}

impl Analysis {
    /// The module's findings, sorted by position, with those pending on the call graph
    /// answered by `index` (complete: [`ProjectIndex::new`] or [`ProjectIndex::complete`]).
    /// `path` is the module's path as its related locations name it.
    pub fn diagnostics(&self, index: &ProjectIndex, path: &str) -> Vec<Diagnostic> {
        let mut diagnostics = self.diagnostics.clone();
        diagnostics.extend(self.pending.iter().filter_map(|p| p.answer(index, path)));
        diagnostics.sort_by(|a, b| {
            (a.range.start, a.range.end, a.code()).cmp(&(b.range.start, b.range.end, b.code()))
        });
        diagnostics
    }

    /// Whether the module has findings that do not wait for the call graph.
    pub fn has_local_findings(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    /// What the check asked the index about other modules, when recorded: it gives the same
    /// findings against any index that answers the same ([`Dependencies::hold`]).
    pub fn dependencies(&self) -> &Dependencies {
        &self.dependencies
    }

    /// The analysis without what it recorded of its lookups.
    pub(crate) fn into_findings(self) -> Self {
        Self {
            dependencies: Dependencies::default(),
            ..self
        }
    }
}

/// Analyses module `module` of a project with one semantic model: summarizes it (when asked),
/// then checks it against `index`. Stubs are summarized, not checked.
pub fn analyze(
    file: &SourceFile,
    parsed: &ParsedModule,
    module: &ModuleName,
    index: &ProjectIndex,
    settings: &Settings,
    options: &Options<'_>,
) -> Analysis {
    let text: &str = &file.text;
    let root = parsed.root();
    let mut model = SemanticModel::build_in(root, text, module, ProjectIndex::empty());
    let summary = options
        .summarize
        .then(|| Arc::new(index::summarize_model(file, &mut model, module, settings)));
    if let (Some(publish), Some(summary)) = (options.publish, &summary) {
        publish(Arc::clone(summary));
    }
    if file.kind == SourceKind::Stub {
        return Analysis {
            summary,
            ..Analysis::default()
        };
    }
    model.set_index(if options.record {
        Lookups::recording(index)
    } else {
        Lookups::new(index)
    });
    let mut diagnostics = Vec::new();
    if let Some(nul) = text.find('\0') {
        let message = "SyntaxError: source code cannot contain null bytes";
        diagnostics.push(Diagnostic::new(
            Rule::SyntaxError,
            TextRange::new(nul, nul + 1),
            message,
        ));
    } else if let Some(first) = parsed.syntax_errors.first() {
        diagnostics.push(rules::syntax_error(first, text));
    }
    let found = rules::check_model(file, root, &model, settings);
    let suppressions = &found.suppressions;
    let kept = |range: TextRange, code: &str| {
        !suppressions.disable_file
            && !suppressions.suppresses(file.line_index.line_of(range.start), code)
    };
    diagnostics.extend(
        found
            .diagnostics
            .into_iter()
            .filter(|d| kept(d.range, d.code())),
    );
    let pending = found
        .pending
        .into_iter()
        .filter(|p| kept(p.range, p.rule().code()))
        .collect();
    Analysis {
        summary,
        diagnostics,
        pending,
        dependencies: model.index.dependencies(),
    }
}

/// The diagnostic for a file that could not be read or decoded.
pub fn io_error(message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Rule::IoError, TextRange::empty(0), message)
}

/// Whether `text` parses without syntax errors (used before writing a fixed file).
pub fn parses_cleanly(text: &str) -> bool {
    !text.contains('\0') && ParsedModule::parse(text).is_some_and(|p| p.is_valid())
}
