//! One module analysed: its summary and its findings from one semantic model, the findings
//! that wait for the project's call graph, and what the check looked up in other modules.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::index::{
    Dependencies, Lookups, ModuleName, ModuleSummary, ProjectIndex, summarize_model,
};
use crate::parse::ParsedModule;
use crate::rules::{self, Pending, Rule};
use crate::semantic::SemanticModel;
use crate::settings::Settings;
use crate::source::{SourceFile, SourceKind};
use crate::text_range::TextRange;

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
    let mut check = ModuleCheck::new(file, parsed, module, settings);
    let summary = options.summarize.then(|| check.summary());
    if let (Some(publish), Some(summary)) = (options.publish, &summary) {
        publish(Arc::clone(summary));
    }
    let mut analysis = check.check(index, options.record);
    analysis.summary = summary;
    analysis
}

/// One module on its way through the analysis: parsed, with its semantic model built once for
/// both its summary and its check. Whoever keeps the project index in between (the language
/// server puts the summary into its project before it takes the index to check against) can
/// do so between [`ModuleCheck::summary`] and [`ModuleCheck::check`].
pub struct ModuleCheck<'t> {
    file: &'t SourceFile,
    parsed: &'t ParsedModule,
    module: &'t ModuleName,
    settings: &'t Settings,
    model: SemanticModel<'t>,
}

impl<'t> ModuleCheck<'t> {
    /// Builds the model of `parsed`, the parse of `file`, module `module` of a project.
    pub fn new(
        file: &'t SourceFile,
        parsed: &'t ParsedModule,
        module: &'t ModuleName,
        settings: &'t Settings,
    ) -> Self {
        let model =
            SemanticModel::build_in(parsed.root(), &file.text, module, ProjectIndex::empty());
        Self {
            file,
            parsed,
            module,
            settings,
            model,
        }
    }

    /// The module's summary (it depends on the module alone).
    pub fn summary(&mut self) -> Arc<ModuleSummary> {
        Arc::new(summarize_model(
            self.file,
            &mut self.model,
            self.module,
            self.settings,
        ))
    }

    /// Checks the module against `index`, recording its lookups when `record`. Stubs have no
    /// findings.
    pub fn check(self, index: &'t ProjectIndex, record: bool) -> Analysis {
        let Self {
            file,
            parsed,
            settings,
            mut model,
            ..
        } = self;
        if file.kind == SourceKind::Stub {
            return Analysis::default();
        }
        let text: &str = &file.text;
        model.set_index(if record {
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
        let found = rules::check_model(file, parsed.root(), &model, settings);
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
            summary: None,
            diagnostics,
            pending,
            dependencies: model.index.dependencies(),
        }
    }
}
