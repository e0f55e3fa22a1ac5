//! Module summaries: what other modules need to know about a file, built from its semantic
//! model in one walk and owned (no syntax tree references).

use crate::syntax::NodeExt;
use rustc_hash::FxHashMap;
use tree_sitter::Node;

use super::{Lookups, ModuleName, ProjectIndex};
use crate::calls::{blocking_call, function_never_returns, loop_runner, returns_coroutine_calls};
use crate::guards::{conditions, no_running_loop};
use crate::known::KnownApi;
use crate::line_index::LineColumn;
use crate::parse::ParsedModule;
use crate::semantic::{ClassRef, FunctionId, ScopeId, SemanticModel, Value, Wrapper};
use crate::settings::Settings;
use crate::source::SourceFile;
use crate::text_range::TextRange;

/// A call or blocking operation at a place in a module.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Site {
    /// What happens there, for messages (`time.sleep()`, `requests.get()`).
    pub description: String,
    pub range: TextRange,
    pub start: LineColumn,
    /// The condition it is under in its function, for messages
    /// (``when `host == "localhost"` ``), if any.
    pub branch: Option<String>,
}

/// A call from one function to another by qualified name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CallSite {
    pub target: String,
    pub range: TextRange,
    pub start: LineColumn,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts about one function, each read on its own"
)]
pub(crate) struct FunctionSummary {
    /// Name within the module: `fetch`, `Client.fetch`, `main.<locals>.helper`.
    pub qualname: String,
    pub is_async: bool,
    pub is_generator: bool,
    /// Decorators (if any) keep it a plain function.
    pub plain: bool,
    /// The type the return annotation names (a class, qualified, or a collection of such).
    pub returns: Option<TypeSummary>,
    /// It never returns: annotated `NoReturn`/`Never`, or its body always raises.
    pub never_returns: bool,
    /// What it does as a decorator of an `async def`.
    pub wrapper: Wrapper,
    /// The first direct blocking call in the body (nested functions excluded). Only for sync
    /// functions (not generators): the call-graph facts are about them alone.
    pub blocking: Option<Site>,
    /// The first direct call that starts an event loop (sync functions only).
    pub runs_loop: Option<Site>,
    /// Calls to other functions, by qualified name (sync functions only).
    pub calls: Vec<CallSite>,
    /// A plain function whose every `return` gives the call of a coroutine function of this
    /// module or of a library (`def start(): return fetch()`).
    pub returns_coroutine: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ClassSummary {
    pub name: String,
    /// Qualified names of the bases.
    pub bases: Vec<String>,
    /// Method name to index into [`ModuleSummary::functions`].
    pub methods: FxHashMap<String, usize>,
    /// Instance attribute name to the type of its value.
    pub attributes: FxHashMap<String, TypeSummary>,
}

/// The type of a value as other modules see it: an instance of a class (qualified), or a
/// collection of such.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum TypeSummary {
    Instance(String),
    Sequence(Box<TypeSummary>),
    Mapping(Box<TypeSummary>, Box<TypeSummary>),
    Tuple(Vec<TypeSummary>),
    Unknown,
}

impl TypeSummary {
    /// The summary of `value`; `None` when nothing in it names a class.
    fn of(model: &SemanticModel<'_>, value: Value) -> Option<TypeSummary> {
        let summary = match value {
            Value::Sequence(element) => {
                TypeSummary::Sequence(Box::new(Self::of_or_unknown(model, *element)))
            }
            Value::Mapping(key, value) => TypeSummary::Mapping(
                Box::new(Self::of_or_unknown(model, *key)),
                Box::new(Self::of_or_unknown(model, *value)),
            ),
            Value::Tuple(items) => TypeSummary::Tuple(
                items
                    .into_iter()
                    .map(|item| Self::of_or_unknown(model, item))
                    .collect(),
            ),
            instance => TypeSummary::Instance(qualified_class(model, instance)?),
        };
        summary.names_a_class().then_some(summary)
    }

    fn of_or_unknown(model: &SemanticModel<'_>, value: Value) -> TypeSummary {
        Self::of(model, value).unwrap_or(TypeSummary::Unknown)
    }

    fn names_a_class(&self) -> bool {
        match self {
            TypeSummary::Instance(_) => true,
            TypeSummary::Sequence(element) => element.names_a_class(),
            TypeSummary::Mapping(key, value) => key.names_a_class() || value.names_a_class(),
            TypeSummary::Tuple(items) => items.iter().any(TypeSummary::names_a_class),
            TypeSummary::Unknown => false,
        }
    }

    /// The value of this type.
    pub(crate) fn value(&self) -> Value {
        match self {
            TypeSummary::Instance(class) => Value::Instance(ClassRef::External(class.clone())),
            TypeSummary::Sequence(element) => Value::Sequence(Box::new(element.value())),
            TypeSummary::Mapping(key, value) => {
                Value::Mapping(Box::new(key.value()), Box::new(value.value()))
            }
            TypeSummary::Tuple(items) => Value::Tuple(items.iter().map(Self::value).collect()),
            TypeSummary::Unknown => Value::Unknown,
        }
    }
}

/// What the project index keeps of one module.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModuleSummary {
    /// The preferred dotted name.
    pub(crate) name: String,
    /// Every dotted name the module can be imported as.
    pub(crate) names: Vec<String>,
    /// The file's path as given.
    pub(crate) path: String,
    /// Module-level names bound by imports, to absolute dotted names.
    pub(crate) imports: FxHashMap<String, String>,
    pub(crate) functions: Vec<FunctionSummary>,
    /// Module-level functions by name.
    top_level: FxHashMap<String, usize>,
    pub(crate) classes: FxHashMap<String, ClassSummary>,
    /// Module-level variables holding instances, to the qualified class.
    pub(crate) variables: FxHashMap<String, String>,
}

impl ModuleSummary {
    pub(crate) fn function(&self, name: &str) -> Option<&FunctionSummary> {
        self.top_level
            .get(name)
            .and_then(|&i| self.functions.get(i))
    }

    /// The qualified name of one of this module's functions.
    pub(crate) fn qualified(&self, function: &FunctionSummary) -> String {
        format!("{}.{}", self.name, function.qualname)
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether `other` is this summary with its sites moved: the same functions, calls and
    /// blocking operations, only where they are in the file differs (lines added or removed
    /// above them). Other modules' lookups see no positions; only the call-graph facts' steps
    /// do.
    pub(crate) fn same_but_positions(&self, other: &ModuleSummary) -> bool {
        self.functions.len() == other.functions.len()
            && self.without_positions() == other.without_positions()
    }

    /// This summary with every site at the start of the file.
    fn without_positions(&self) -> ModuleSummary {
        let start = LineColumn { line: 0, column: 0 };
        let mut summary = self.clone();
        for function in &mut summary.functions {
            for site in function.blocking.iter_mut().chain(&mut function.runs_loop) {
                site.range = TextRange::default();
                site.start = start;
            }
            for call in &mut function.calls {
                call.range = TextRange::default();
                call.start = start;
            }
        }
        summary
    }
}

/// Summarizes a parsed file for the project index.
pub fn summarize(
    file: &SourceFile,
    parsed: &ParsedModule,
    module: &ModuleName,
    settings: &Settings,
) -> ModuleSummary {
    let root = parsed.root();
    let mut model = SemanticModel::build_in(root, &file.text, module, ProjectIndex::empty());
    summarize_model(file, &mut model, module, settings)
}

/// Summarizes a file from its semantic model. The summary depends on the file alone: the
/// model's view of the project is set aside meanwhile (and put back).
pub(crate) fn summarize_model(
    file: &SourceFile,
    model: &mut SemanticModel<'_>,
    module: &ModuleName,
    settings: &Settings,
) -> ModuleSummary {
    let project = std::mem::replace(&mut model.index, Lookups::new(ProjectIndex::empty()));
    model.set_index(Lookups::new(ProjectIndex::empty()));
    let summary = summarize_alone(file, model, module, settings);
    model.set_index(project);
    summary
}

/// Whether `value` is a coroutine function as the module alone tells: one of its own, a
/// library's, or one the settings name.
fn local_coroutine_function(
    model: &SemanticModel<'_>,
    known: &KnownApi,
    settings: &Settings,
    value: &Value,
) -> bool {
    match value {
        Value::Function(id) => {
            let info = &model.functions[*id];
            info.is_async && !info.is_generator && model.is_plain_method(*id, known)
        }
        Value::External(name) => {
            known
                .function(name)
                .is_some_and(crate::known::FunctionSpec::is_coroutine)
                || settings.extra_coroutines.iter().any(|extra| extra == name)
        }
        _ => false,
    }
}

fn summarize_alone(
    file: &SourceFile,
    model: &SemanticModel<'_>,
    module: &ModuleName,
    settings: &Settings,
) -> ModuleSummary {
    let known = KnownApi::get();
    let mut summary = ModuleSummary {
        name: module.primary().to_string(),
        names: module.names.clone(),
        path: file.path.clone(),
        ..ModuleSummary::default()
    };
    // Every function gets a summary slot, in model order.
    let mut slots: FxHashMap<FunctionId, usize> = FxHashMap::default();
    for id in 0..model.functions.len() {
        let Some(qualname) = model.qualname(id) else {
            continue;
        };
        let info = &model.functions[id];
        let returns = info.node.field("return_type").and_then(|annotation| {
            TypeSummary::of(
                model,
                model.annotated_type(annotation, info.parent_scope, known),
            )
        });
        slots.insert(id, summary.functions.len());
        summary.functions.push(FunctionSummary {
            qualname,
            is_async: info.is_async,
            is_generator: info.is_generator,
            plain: model.is_plain_method(id, known),
            returns,
            never_returns: function_never_returns(model, id, known).unwrap_or(false),
            wrapper: model.wrapper_kind(id, known),
            returns_coroutine: returns_coroutine_calls(model, id, known, &|value| {
                local_coroutine_function(model, known, settings, value)
            }),
            ..FunctionSummary::default()
        });
    }
    for (class_id, class) in model.classes.iter().enumerate() {
        if class.parent_scope != 0 {
            continue;
        }
        let bases = class
            .bases
            .iter()
            .filter_map(|base| match model.infer(*base, class.parent_scope, known) {
                Value::Class(id) => model.class_qualname(id),
                Value::External(name) => Some(name),
                _ => None,
            })
            .collect::<Vec<_>>();
        let bases = if bases.len() == class.bases.len() {
            bases
        } else {
            vec!["<unknown>".to_string()]
        };
        let methods = class
            .methods
            .iter()
            .filter_map(|(name, ids)| Some(((*name).to_string(), *slots.get(ids.last()?)?)))
            .collect();
        let attributes = class
            .attributes
            .keys()
            .filter_map(|name| {
                let value = model.instance_attribute_type(class_id, name, known);
                Some(((*name).to_string(), TypeSummary::of(model, value)?))
            })
            .collect();
        summary.classes.insert(
            class.name.to_string(),
            ClassSummary {
                name: class.name.to_string(),
                bases,
                methods,
                attributes,
            },
        );
    }
    for (name, value) in model.module_bindings(known) {
        match value {
            Value::External(target) if model.is_import(name) => {
                summary.imports.insert(name.to_string(), target);
            }
            Value::Function(id) => {
                if let Some(&slot) = slots.get(&id) {
                    summary.top_level.insert(name.to_string(), slot);
                }
            }
            Value::Instance(_) => {
                if let Some(class) = qualified_class(model, value) {
                    summary.variables.insert(name.to_string(), class);
                }
            }
            _ => {}
        }
    }
    let mut collector = CallCollector {
        file,
        model,
        known,
        settings,
        slots: &slots,
        summary: &mut summary,
    };
    model.outline.visit(|node, scope, ancestors| {
        if node.node_kind() == "call" {
            collector.call(node, scope, ancestors);
        }
    });
    summary
}

/// The qualified class name of an instance value.
fn qualified_class(model: &SemanticModel<'_>, value: Value) -> Option<String> {
    match value {
        Value::Instance(ClassRef::External(name)) => Some(name),
        Value::Instance(ClassRef::Local(id)) => model.class_qualname(id),
        _ => None,
    }
}

/// The innermost condition `call` is under in its function (``when `x` ``, or ``unless `x` `` in an
/// `else` or after `if x: return`), when it is short enough for a message.
fn branch<'t>(source: &str, call: Node<'t>, ancestors: &[Node<'t>]) -> Option<String> {
    let (condition, truth) = conditions(call, ancestors, source, false)
        .into_iter()
        .next()?;
    let text = condition.text(source);
    if text.len() > 60 || text.contains(['\n', '\r']) {
        return None;
    }
    Some(format!(
        "{} `{text}`",
        if truth { "when" } else { "unless" }
    ))
}

/// Records each function's direct calls, blocking calls and loop starts.
struct CallCollector<'a, 't> {
    file: &'a SourceFile,
    model: &'a SemanticModel<'t>,
    known: &'static KnownApi,
    settings: &'a Settings,
    slots: &'a FxHashMap<FunctionId, usize>,
    summary: &'a mut ModuleSummary,
}

impl<'t> CallCollector<'_, 't> {
    fn call(&mut self, call: Node<'t>, scope: ScopeId, ancestors: &[Node<'t>]) {
        let Some(function) = self.model.enclosing_function(scope) else {
            return;
        };
        let Some(&slot) = self.slots.get(&function) else {
            return;
        };
        let info = &self.model.functions[function];
        if info.is_async || info.is_generator {
            return;
        }
        let range = TextRange::from(call.byte_range());
        let start = self
            .file
            .line_index
            .line_column(range.start, &self.file.text);
        let entry = &mut self.summary.functions[slot];
        if let Some(description) = blocking_call(self.model, call, scope, self.known, self.settings)
        {
            if entry.blocking.is_none() {
                entry.blocking = Some(Site {
                    description,
                    range,
                    start,
                    branch: branch(self.model.source, call, ancestors),
                });
            }
            return;
        }
        if let Some(runner) = loop_runner(self.model, call, scope, self.known) {
            // Under `if not loop.is_running():` (or in a forked child) it starts no nested loop.
            if no_running_loop(self.model, call, ancestors, scope, self.known) {
                return;
            }
            if entry.runs_loop.is_none() {
                entry.runs_loop = Some(Site {
                    description: runner.to_string(),
                    range,
                    start,
                    branch: branch(self.model.source, call, ancestors),
                });
            }
            return;
        }
        let Some(callee) = call.field("function") else {
            return;
        };
        let target = match self.model.infer(callee, scope, self.known) {
            Value::Function(id) | Value::BoundMethod(id) => self
                .model
                .qualname(id)
                .map(|q| format!("{}.{q}", self.summary.name)),
            Value::External(name) if !name.starts_with("builtins.") => Some(name),
            Value::ExternalMethod { class, method } => Some(format!("{class}.{method}")),
            _ => None,
        };
        if let Some(target) = target {
            self.summary.functions[slot].calls.push(CallSite {
                target,
                range,
                start,
            });
        }
    }
}
