//! The rules: their registry, the context they run in, and the single visitor that dispatches
//! nodes to them. Each rule lives in its own file; its doc comment is its user documentation.

mod api;
mod blocking;
mod cancellation;
mod codes;
mod context;
mod coroutines;
mod errors;
mod event_loop;
mod pending;
mod performance;
pub(crate) mod usage;

pub use codes::Rule;
pub(crate) use context::RuleContext;
pub use pending::Pending;

use crate::syntax::NodeExt;
use tree_sitter::Node;

use crate::diagnostic::{Diagnostic, Severity};
use crate::index::{ModuleName, ProjectIndex};
use crate::known::KnownApi;
use crate::semantic::{Focus, ScopeId, SemanticModel};
use crate::settings::Settings;
use crate::source::SourceFile;
use crate::suppression::Suppressions;
use crate::syntax::walk::{Descend, Visit, Visitor, walk_spliced};
use crate::text_range::TextRange;

/// A rule's static description.
#[derive(Debug)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// The rule's doc comment: `## What it does`, `## Why is this bad?`, `## Example`, ...
    pub docs: &'static str,
    /// On unless deselected (opt-in rules are off).
    pub default_enabled: bool,
    /// Cannot be deselected (reports about the input itself).
    pub always_on: bool,
}

impl RuleMeta {
    /// The documentation as Markdown, with the doc comment's leading spaces removed.
    pub fn documentation(&self) -> String {
        self.docs
            .lines()
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Declares a rule's marker type; its doc comment becomes [`RuleMeta::docs`].
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident {
            code: $code:literal,
            name: $kebab:literal,
            severity: $severity:ident,
            $(default_enabled: $default:literal,)?
            $(always_on: $always:literal,)?
        }
    ) => {
        $(#[doc = $doc])*
        $vis struct $name;

        impl $name {
            pub(crate) const META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
                code: $code,
                name: $kebab,
                severity: $crate::diagnostic::Severity::$severity,
                docs: concat!($($doc, "\n"),*),
                default_enabled: true $(&& $default)?,
                always_on: false $(|| $always)?,
            };
        }
    };
}
pub(crate) use declare_rule;

/// What the rules found in a module (or one function of it): diagnostics, findings pending on
/// the project's call graph, and the suppression comments. Nothing is filtered yet.
pub(crate) struct Findings {
    pub diagnostics: Vec<Diagnostic>,
    pub pending: Vec<Pending>,
    pub suppressions: Suppressions,
}

/// Runs every enabled rule over a parsed module, whose model is `model`.
pub(crate) fn check_model<'t>(
    file: &SourceFile,
    root: Node<'t>,
    model: &SemanticModel<'t>,
    settings: &Settings,
) -> Findings {
    dispatch(file, root, model, settings, None)
}

/// Runs every enabled rule over some functions of a parsed module (those `focus` is on), with
/// a model focused on them.
pub(crate) fn check_functions<'t>(
    file: &SourceFile,
    root: Node<'t>,
    source: &'t str,
    settings: &Settings,
    module: &ModuleName,
    index: &'t ProjectIndex,
    focus: &Focus<'t>,
) -> Findings {
    let model = SemanticModel::build_focused(root, source, module, index, focus);
    dispatch(file, root, &model, settings, Some(focus))
}

/// Walks the tree (or, with `focus`, the nodes inside the focused functions, in place of the
/// ones they replace) and runs the rules.
fn dispatch<'t>(
    file: &SourceFile,
    root: Node<'t>,
    model: &SemanticModel<'t>,
    settings: &Settings,
    focus: Option<&Focus<'t>>,
) -> Findings {
    let mut dispatcher = Dispatcher {
        file,
        source: model.source,
        model,
        settings,
        known: KnownApi::get(),
        scopes: Vec::new(),
        suppressions: Suppressions::default(),
        diagnostics: Vec::new(),
        pending: Vec::new(),
        only: focus.map(Focus::ranges),
    };
    if let Some(focus) = focus {
        walk_spliced(root, &focus.splices(), &mut dispatcher);
    } else {
        dispatcher.suppressions = Suppressions::of_comments(root, model.source, &file.line_index);
        model
            .outline
            .visit(|node, scope, ancestors| dispatcher.check_node(node, scope, ancestors));
    }
    let Dispatcher {
        diagnostics,
        pending,
        suppressions,
        ..
    } = dispatcher;
    Findings {
        diagnostics,
        pending,
        suppressions,
    }
}

struct Dispatcher<'a, 't> {
    file: &'a SourceFile,
    source: &'t str,
    model: &'a SemanticModel<'t>,
    settings: &'a Settings,
    known: &'static KnownApi,
    scopes: Vec<ScopeId>,
    suppressions: Suppressions,
    diagnostics: Vec<Diagnostic>,
    pending: Vec<Pending>,
    /// Rules run only on the nodes inside these ranges (the walk skips what overlaps none).
    only: Option<Vec<TextRange>>,
}

impl<'t> Visitor<'t> for Dispatcher<'_, 't> {
    fn enter(&mut self, visit: &Visit<'_, 't>) -> Descend {
        let node = visit.node;
        let scope = match (visit.ancestors.last(), self.scopes.last()) {
            (Some(&parent), Some(&parent_scope)) => {
                self.model.child_scope(parent, parent_scope, visit.field)
            }
            _ => 0,
        };
        self.scopes.push(scope);
        if node.is_error() {
            return Descend::No;
        }
        if let Some(only) = &self.only {
            let range: TextRange = node.byte_range().into();
            if !only.iter().any(|&only| range.overlaps(only)) {
                return Descend::No;
            }
            if !only
                .iter()
                .any(|only| only.start <= range.start && range.end <= only.end)
            {
                // An ancestor of the ranges: its own rules are not for this check.
                return Descend::Yes;
            }
        }
        if node.node_kind() == "comment" {
            let text = node.utf8_text(self.source.as_bytes()).unwrap_or("");
            self.suppressions.add_comment(
                text,
                node.start_byte(),
                self.source,
                &self.file.line_index,
            );
            return Descend::Yes;
        }
        self.check_node(node, scope, visit.ancestors);
        Descend::Yes
    }

    fn leave(&mut self, _node: Node<'t>) {
        self.scopes.pop();
    }
}

impl<'t> Dispatcher<'_, 't> {
    /// Runs the enabled rules that look at `node`, in `scope`, under `ancestors` (root first).
    fn check_node(&mut self, node: Node<'t>, scope: ScopeId, ancestors: &[Node<'t>]) {
        let ctx = RuleContext {
            file: self.file,
            source: self.source,
            model: self.model,
            known: self.known,
            settings: self.settings,
            scope,
            ancestors,
        };
        let enabled = |rule: Rule| self.settings.rules.is_enabled(rule);
        let out = &mut self.diagnostics;
        match node.node_kind() {
            "call" => {
                if enabled(Rule::MissingAwait) {
                    coroutines::missing_await::missing_await(&ctx, node, out);
                }
                if enabled(Rule::DanglingTask) {
                    coroutines::dangling_task::dangling_task(&ctx, node, out);
                }
                if enabled(Rule::BlockingSleep) {
                    blocking::blocking_sleep::blocking_sleep(&ctx, node, out);
                }
                if enabled(Rule::BlockingCall) {
                    blocking::blocking_call::blocking_call(&ctx, node, out);
                }
                if enabled(Rule::BlockingTransitive) {
                    blocking::blocking_transitive::blocking_transitive(
                        &ctx,
                        node,
                        &mut self.pending,
                    );
                }
                if enabled(Rule::NestedRun) {
                    event_loop::nested_run::nested_run(&ctx, node, out, &mut self.pending);
                }
                if enabled(Rule::RepeatedRun) {
                    event_loop::repeated_run::repeated_run(&ctx, node, out);
                }
                if enabled(Rule::DeprecatedApi) {
                    api::deprecated_api::deprecated_api_call(&ctx, node, out);
                }
            }
            "await" => {
                if enabled(Rule::AwaitOutsideAsync) {
                    api::await_outside_async::await_outside_async(&ctx, node, out);
                }
                if enabled(Rule::SequentialAwait) {
                    performance::sequential_await::sequential_await(&ctx, node, out);
                }
            }
            "for_statement" | "for_in_clause" => {
                if enabled(Rule::AwaitOutsideAsync) {
                    api::await_outside_async::await_outside_async(&ctx, node, out);
                }
                if enabled(Rule::BlockingCall) {
                    blocking::blocking_call::blocking_iteration(&ctx, node, out);
                }
            }
            "with_statement" => {
                if enabled(Rule::AwaitOutsideAsync) {
                    api::await_outside_async::await_outside_async(&ctx, node, out);
                }
                if enabled(Rule::AsyncProtocol) {
                    api::async_protocol::async_protocol_with(&ctx, node, out);
                }
            }
            "function_definition" if enabled(Rule::AsyncProtocol) => {
                api::async_protocol::async_protocol_def(&ctx, node, out);
            }
            "raise_statement" if enabled(Rule::AsyncProtocol) => {
                api::async_protocol::async_protocol_raise(&ctx, node, out);
            }
            "except_clause" if enabled(Rule::CancelSwallowed) => {
                cancellation::cancel_swallowed::cancel_swallowed(&ctx, node, out);
            }
            "finally_clause" if enabled(Rule::CancelSwallowed) => {
                cancellation::cancel_swallowed::cancel_swallowed_finally(&ctx, node, out);
            }
            "attribute" if enabled(Rule::UnknownApi) => {
                api::unknown_api::unknown_api_attribute(&ctx, node, out);
            }
            "import_from_statement" if enabled(Rule::UnknownApi) => {
                api::unknown_api::unknown_api_import(&ctx, node, out);
            }
            "yield" if enabled(Rule::DeprecatedApi) => {
                api::deprecated_api::deprecated_api_yield(&ctx, node, out);
            }
            "decorator" if enabled(Rule::DeprecatedApi) => {
                api::deprecated_api::deprecated_api_decorator(&ctx, node, out);
            }
            _ => {}
        }
    }
}

pub(crate) use errors::syntax_error;
