//! Planning runtime probes: how to run the code behind a finding so that the reference executor
//! (`runtime-check`) can confirm it.
//!
//! This is pure planning over the syntax tree and the semantic model; nothing runs here, and
//! this crate knows nothing of the executor. For each finding the plan is, in order:
//!
//! 1. **The enclosing coroutine.** When the finding is inside an `async def` that can be
//!    called without arguments (a module-level function, or a method of a module-level class
//!    that can itself be built without arguments), the probe is the module cut down to its
//!    *context* — imports, function and class definitions, and simple assignments of literals
//!    or of calls to this file's names — and the entry is that coroutine. Every other
//!    module-level statement (`asyncio.run(main())`, `if __name__ == "__main__":`, loops,
//!    prints, ...) is blanked out, line for line, so the probe's line numbers are the file's.
//! 2. **The flagged statement alone.** Otherwise, when the flagged call is a statement of its
//!    own whose arguments are literals and whose names are imports or builtins (for example
//!    `time.sleep(0.5)`), the probe is that statement, preceded on its own line by the imports
//!    it needs, run as the body of a synthetic coroutine. It is also planned as a fallback for
//!    case 1, for when the module context cannot be executed (a missing third-party import).
//! 3. **Skipped**, with the reasons both plans were impossible.

use std::fmt::Write as _;

use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::known::KnownApi;
use crate::parse::ParsedModule;
use crate::rules::Rule;
use crate::semantic::{BindingKind, FunctionId, Lookup, MODULE_SCOPE, SemanticModel, Value};
use crate::source::{SourceFile, SourceKind};
use crate::syntax::NodeExt;

/// The name of the synthetic coroutine appended to a probe when the flagged coroutine cannot be
/// called by name alone (a method that needs an instance, an async generator).
pub const PROBE_ENTRY: &str = "__aiolint_probe__";

/// What a probe must observe to confirm a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// The flagged line blocks the event loop (a stall measured at that line).
    Blocking,
    /// The flagged line creates a coroutine that is never awaited.
    NeverAwaited,
    /// The flagged line runs an event loop inside a running one.
    NestedRun,
    /// The flagged line creates a task that is destroyed while still pending.
    PendingTaskDestroyed,
}

impl ProbeKind {
    /// The kind of evidence that confirms a finding of `rule`, or `None` for rules whose
    /// findings running the code cannot show. Rules are matched by code, so that every
    /// blocking rule (`AIO2xx` blocking-sleep, blocking-call, blocking-transitive) is one kind.
    pub fn for_rule(rule: Rule) -> Option<ProbeKind> {
        match rule.code() {
            "AIO200" | "AIO201" | "AIO202" => Some(ProbeKind::Blocking),
            "AIO100" => Some(ProbeKind::NeverAwaited),
            "AIO101" => Some(ProbeKind::PendingTaskDestroyed),
            "AIO300" => Some(ProbeKind::NestedRun),
            _ => None,
        }
    }
}

/// How the executor starts a probe's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeEntry {
    /// Execute the source as a module, then await this zero-argument coroutine function
    /// (dotted names such as `Service.run` are looked up attribute by attribute).
    Function(String),
    /// Run the source's statements as the body of a synthetic coroutine.
    Statements,
}

/// One planned probe: what to run and where the flagged line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbePlan {
    /// The Python source to run. Its first line is line [`ProbePlan::first_line`] of the file.
    pub source: String,
    pub entry: ProbeEntry,
    /// The file line of the source's first line (1-based).
    pub first_line: u32,
    /// The file line of the finding (1-based); always one of the source's lines.
    pub flagged_line: u32,
    pub kind: ProbeKind,
}

/// The plan for one finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Planned {
    /// Run `probe`; if it cannot exercise the flagged line (its module context fails to
    /// execute, say), run `fallback`, the flagged statement alone, when there is one.
    Probe {
        probe: ProbePlan,
        fallback: Option<ProbePlan>,
    },
    /// No probe can be built; the reason says why.
    Skipped(String),
}

/// Plans a probe for each of `diagnostics` (findings of `file`), in order.
pub fn plan_probes(file: &SourceFile, diagnostics: &[Diagnostic]) -> Vec<Planned> {
    let skip_all = |reason: &str| vec![Planned::Skipped(reason.to_string()); diagnostics.len()];
    if file.kind != SourceKind::Module {
        return skip_all("only `.py` modules are probed");
    }
    if file.text.contains('\0') {
        return skip_all("the file contains NUL bytes");
    }
    let Some(parsed) = ParsedModule::parse(&file.text) else {
        return skip_all("the file could not be parsed");
    };
    if !parsed.is_valid() {
        return skip_all("the file has syntax errors");
    }
    let root = parsed.root();
    let planner = Planner {
        text: &file.text,
        root,
        model: SemanticModel::build(root, &file.text),
        known: KnownApi::get(),
        context: std::cell::OnceCell::new(),
    };
    diagnostics
        .iter()
        .map(|diagnostic| planner.plan(file, diagnostic))
        .collect()
}

struct Planner<'t> {
    text: &'t str,
    root: Node<'t>,
    model: SemanticModel<'t>,
    known: &'static KnownApi,
    /// The module context (case 1), built on first use.
    context: std::cell::OnceCell<String>,
}

/// How to call the flagged coroutine: by name, or through a synthetic wrapper.
struct CoroutineEntry {
    /// `poll` or `Service.poll`.
    call: String,
    /// An instance is needed: `Service().poll`.
    instance: bool,
    /// An async generator: iterate it instead of awaiting it.
    generator: bool,
}

impl<'t> Planner<'t> {
    fn plan(&self, file: &SourceFile, diagnostic: &Diagnostic) -> Planned {
        let Some(kind) = ProbeKind::for_rule(diagnostic.rule) else {
            return Planned::Skipped(format!(
                "{} findings are not confirmed by running the code",
                diagnostic.code()
            ));
        };
        let range = diagnostic.range;
        let Some(node) = self.root.descendant_for_byte_range(range.start, range.end) else {
            return Planned::Skipped("the finding's location is not in the file".to_string());
        };
        let target = std::iter::successors(Some(node), Node::parent)
            .find(|n| n.node_kind() == "call")
            .unwrap_or(node);
        let line = file.line_index.line_of(range.start) + 1;
        let Ok(flagged_line) = u32::try_from(line) else {
            return Planned::Skipped("the finding is beyond the supported line count".to_string());
        };
        let statement = self.statement_probe(target, flagged_line, kind);
        match self.coroutine_entry(target) {
            Ok(entry) => Planned::Probe {
                probe: self.coroutine_probe(&entry, flagged_line, kind),
                fallback: statement.ok(),
            },
            Err(no_coroutine) => match statement {
                Ok(probe) => Planned::Probe {
                    probe,
                    fallback: None,
                },
                Err(no_statement) => Planned::Skipped(format!("{no_coroutine}; {no_statement}")),
            },
        }
    }

    // ---------------------------------------------------------------- case 1: the coroutine

    /// Whether the coroutine around `node` can be called without arguments, and how.
    fn coroutine_entry(&self, node: Node<'t>) -> Result<CoroutineEntry, String> {
        let Some(def) = std::iter::successors(node.parent(), Node::parent)
            .find(|n| n.node_kind() == "function_definition")
        else {
            return Err("the finding is not inside a function".to_string());
        };
        let id = self
            .function_id(def)
            .ok_or("the enclosing function is not understood")?;
        let info = &self.model.functions[id];
        let name = info.name;
        if !info.is_async {
            return Err(format!("`{name}` is not an `async def`"));
        }
        if !self.model.is_plain_method(id, self.known) {
            return Err(format!(
                "`{name}` is decorated, so how to call it is unknown"
            ));
        }
        let decorated = |builtin: &str| {
            info.decorators.iter().any(|d| {
                self.model
                    .infer(*d, info.parent_scope, self.known)
                    .external()
                    == Some(builtin)
            })
        };
        let statically = decorated("builtins.staticmethod");
        let by_class = decorated("builtins.classmethod");
        let Some(class) = info.class else {
            if !is_top_level(def) {
                return Err(format!("`{name}` is nested inside another block"));
            }
            if self.model.binding_count(MODULE_SCOPE, name) > 1 {
                return Err(format!("`{name}` is defined more than once"));
            }
            let required = required_parameters(def, false, self.text);
            if !required.is_empty() {
                return Err(needs_arguments(name, &required));
            }
            return Ok(CoroutineEntry {
                call: name.to_string(),
                instance: false,
                generator: info.is_generator,
            });
        };
        let class_name = self.model.classes[class].name;
        let qualified = format!("{class_name}.{name}");
        let class_node = self.top_level_class(class_name).ok_or_else(|| {
            format!("`{qualified}` is a method of a class nested inside another block")
        })?;
        if self.model.classes[class]
            .methods
            .get(name)
            .is_some_and(|ids| ids.len() > 1 || ids.last() != Some(&id))
        {
            return Err(format!("`{qualified}` is defined more than once"));
        }
        let required = required_parameters(def, !statically, self.text);
        if !required.is_empty() {
            return Err(needs_arguments(&qualified, &required));
        }
        let instance = !statically && !by_class;
        if instance {
            self.instantiable(class_node)?;
        }
        Ok(CoroutineEntry {
            call: qualified,
            instance,
            generator: info.is_generator,
        })
    }

    fn coroutine_probe(
        &self,
        entry: &CoroutineEntry,
        flagged_line: u32,
        kind: ProbeKind,
    ) -> ProbePlan {
        let mut source = self.context().clone();
        let entry_name = if entry.instance || entry.generator {
            if !source.ends_with('\n') {
                source.push('\n');
            }
            let target = match entry.call.split_once('.') {
                Some((class, method)) if entry.instance => format!("{class}().{method}"),
                _ => entry.call.clone(),
            };
            let _ = writeln!(source, "async def {PROBE_ENTRY}():");
            if entry.generator {
                let _ = writeln!(source, "    async for _ in {target}():\n        pass");
            } else {
                let _ = writeln!(source, "    await {target}()");
            }
            PROBE_ENTRY.to_string()
        } else {
            entry.call.clone()
        };
        ProbePlan {
            source,
            entry: ProbeEntry::Function(entry_name),
            first_line: 1,
            flagged_line,
            kind,
        }
    }

    fn function_id(&self, def: Node<'t>) -> Option<FunctionId> {
        let scope = self.model.scope_opened_by(def)?;
        match self.model.scopes.get(scope)?.kind {
            crate::semantic::ScopeKind::Function(id) => Some(id),
            _ => None,
        }
    }

    /// The module-level `class` statement named `name` (looking through decorators).
    fn top_level_class(&self, name: &str) -> Option<Node<'t>> {
        self.root
            .named_children_vec()
            .into_iter()
            .map(|n| {
                if n.node_kind() == "decorated_definition" {
                    n.field("definition").unwrap_or(n)
                } else {
                    n
                }
            })
            .find(|n| {
                n.node_kind() == "class_definition"
                    && n.field("name").is_some_and(|id| id.text(self.text) == name)
            })
    }

    /// Whether `ClassName()` works without arguments, as far as this file shows.
    fn instantiable(&self, class_node: Node<'t>) -> Result<(), String> {
        let mut stack = vec![class_node];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            seen += 1;
            let name = node.field("name").map_or("?", |n| n.text(self.text));
            if seen > 16 {
                return Err(format!("the bases of `{name}` are too deep to follow"));
            }
            if node
                .parent()
                .is_some_and(|p| p.node_kind() == "decorated_definition")
            {
                return Err(format!(
                    "`{name}` is decorated, so how to build an instance is unknown"
                ));
            }
            if self.model.binding_count(MODULE_SCOPE, name) > 1 {
                return Err(format!("`{name}` is defined more than once"));
            }
            let body = node.field("body");
            let mut has_init = false;
            for constructor in ["__init__", "__new__"] {
                let Some(def) = body.and_then(|b| self.method_named(b, constructor)) else {
                    continue;
                };
                has_init = true;
                let required = required_parameters(def, true, self.text);
                if !required.is_empty() {
                    return Err(needs_arguments(&format!("{name}()"), &required));
                }
            }
            let bases = node
                .field("superclasses")
                .map(|s| s.named_children_vec())
                .unwrap_or_default();
            for base in bases {
                if base.node_kind() == "keyword_argument" {
                    return Err(format!(
                        "`{name}` has class keywords (a metaclass), so how to build an instance is unknown"
                    ));
                }
                if has_init {
                    continue;
                }
                match self.model.infer(base, MODULE_SCOPE, self.known) {
                    Value::Class(id) => match self.top_level_class(self.model.classes[id].name) {
                        Some(base_node) => stack.push(base_node),
                        None => {
                            return Err(format!(
                                "`{name}` derives from a class nested inside another block"
                            ));
                        }
                    },
                    Value::External(base_name)
                        if matches!(
                            base_name.as_str(),
                            "builtins.object" | "builtins.Exception" | "abc.ABC"
                        ) => {}
                    _ => {
                        return Err(format!(
                            "`{name}` derives from `{}`, whose constructor is unknown",
                            base.text(self.text)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The last `def name` directly in a class body (looking through decorators).
    fn method_named(&self, body: Node<'t>, name: &str) -> Option<Node<'t>> {
        body.named_children_vec()
            .into_iter()
            .map(|n| {
                if n.node_kind() == "decorated_definition" {
                    n.field("definition").unwrap_or(n)
                } else {
                    n
                }
            })
            .rev()
            .find(|n| {
                n.node_kind() == "function_definition"
                    && n.field("name").is_some_and(|id| id.text(self.text) == name)
            })
    }

    /// The module cut down to imports, definitions and simple assignments; every other
    /// module-level statement is blanked out line for line.
    fn context(&self) -> &String {
        self.context.get_or_init(|| {
            let statements: Vec<Node<'t>> = self.root.named_children_vec();
            let mut keep: Vec<bool> = statements.iter().map(|s| self.keeps(*s)).collect();
            // Statements sharing a line (`import x; run()`) are kept or dropped together, so
            // that dropping never cuts a line in half.
            let rows: Vec<(usize, usize)> = statements.iter().map(|s| rows_of(*s)).collect();
            let mut changed = true;
            while changed {
                changed = false;
                for i in 1..statements.len() {
                    if rows[i - 1].1 == rows[i].0 && keep[i - 1] != keep[i] {
                        keep[i - 1] = false;
                        keep[i] = false;
                        changed = true;
                    }
                }
            }
            // Lines as tree-sitter's rows count them (`\n`, `\r\n`, a lone `\r`); a blanked line
            // keeps its line break.
            let index = crate::LineIndex::new(self.text);
            let mut blank = vec![false; index.line_count()];
            for (index, (first, last)) in rows.iter().enumerate() {
                if !keep[index] {
                    for line in blank.iter_mut().take(last + 1).skip(*first) {
                        *line = true;
                    }
                }
            }
            let mut context = String::with_capacity(self.text.len());
            for (line, blank) in blank.iter().enumerate() {
                let end = if line + 1 < index.line_count() {
                    index.line_start(line + 1)
                } else {
                    self.text.len()
                };
                let start = if *blank {
                    index.line_range(line, self.text).end
                } else {
                    index.line_start(line)
                };
                context.push_str(self.text.get(start..end).unwrap_or_default());
            }
            context
        })
    }

    /// Whether a module-level statement belongs to the module context.
    fn keeps(&self, statement: Node<'t>) -> bool {
        match statement.node_kind() {
            "import_statement"
            | "import_from_statement"
            | "future_import_statement"
            | "function_definition"
            | "class_definition"
            | "decorated_definition" => true,
            "expression_statement" => self.simple_expression_statement(statement),
            // `try: import uvloop` / `except ImportError: uvloop = None`.
            "try_statement" => {
                let mut stack = statement.named_children_vec();
                let mut seen = 0;
                while let Some(node) = stack.pop() {
                    seen += 1;
                    if seen > 1000 {
                        return false;
                    }
                    match node.node_kind() {
                        "block" | "except_clause" | "else_clause" | "finally_clause" => {
                            stack.extend(node.named_children_vec());
                        }
                        "import_statement"
                        | "import_from_statement"
                        | "pass_statement"
                        | "identifier"
                        | "attribute"
                        | "tuple" => {}
                        "expression_statement" => {
                            if !self.simple_expression_statement(node) {
                                return false;
                            }
                        }
                        _ => return false,
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// A docstring, or an assignment of a simple value (see [`Planner::simple_value`]).
    fn simple_expression_statement(&self, statement: Node<'t>) -> bool {
        let children = statement.named_children_vec();
        let [only] = children.as_slice() else {
            return false;
        };
        match only.node_kind() {
            "string" | "concatenated_string" => true,
            "assignment" => {
                let mut assignment = *only;
                loop {
                    match assignment.field("right") {
                        None => return true, // `x: int`
                        Some(right) if right.node_kind() == "assignment" => assignment = right,
                        Some(right) => return self.simple_value(right),
                    }
                }
            }
            _ => false,
        }
    }

    /// Literals, names, attributes, operators and containers of those, and calls of this
    /// file's functions and classes or of a few side-effect-free library constructors.
    fn simple_value(&self, value: Node<'t>) -> bool {
        const CONSTRUCTORS: &[&str] = &[
            "builtins.dict",
            "builtins.frozenset",
            "builtins.list",
            "builtins.object",
            "builtins.set",
            "builtins.tuple",
            "collections.Counter",
            "collections.OrderedDict",
            "collections.defaultdict",
            "collections.deque",
            "collections.namedtuple",
            "contextvars.ContextVar",
            "dataclasses.field",
            "logging.getLogger",
            "re.compile",
            "typing.NewType",
            "typing.TypeVar",
            "weakref.WeakKeyDictionary",
            "weakref.WeakSet",
            "weakref.WeakValueDictionary",
        ];
        let mut stack = vec![value];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            seen += 1;
            if seen > 2000 {
                return false;
            }
            match node.node_kind() {
                "integer" | "float" | "true" | "false" | "none" | "ellipsis" | "identifier"
                | "string_start" | "string_content" | "string_end" | "escape_sequence"
                | "comment" => {}
                "string" => {
                    if node
                        .named_children_vec()
                        .iter()
                        .any(|c| c.node_kind() == "interpolation")
                    {
                        return false;
                    }
                }
                "attribute" => stack.extend(node.field("object")),
                "concatenated_string"
                | "unary_operator"
                | "binary_operator"
                | "boolean_operator"
                | "comparison_operator"
                | "not_operator"
                | "parenthesized_expression"
                | "list"
                | "tuple"
                | "set"
                | "dictionary"
                | "pair"
                | "expression_list"
                | "argument_list"
                | "subscript"
                | "conditional_expression" => stack.extend(node.named_children_vec()),
                "keyword_argument" => stack.extend(node.field("value")),
                "call" => {
                    let Some(function) = node.field("function") else {
                        return false;
                    };
                    let allowed = match self.model.infer(function, MODULE_SCOPE, self.known) {
                        Value::Function(_) | Value::Class(_) => true,
                        Value::External(name) => CONSTRUCTORS.contains(&name.as_str()),
                        _ => false,
                    };
                    if !allowed {
                        return false;
                    }
                    stack.extend(node.field("arguments"));
                }
                _ => return false,
            }
        }
        true
    }

    // ------------------------------------------------------ case 2: the statement alone

    /// The flagged call's statement alone, with the imports it needs, if it stands on its own.
    fn statement_probe(
        &self,
        target: Node<'t>,
        flagged_line: u32,
        kind: ProbeKind,
    ) -> Result<ProbePlan, String> {
        let described = || {
            let text = target
                .field("function")
                .map_or_else(|| target.text(self.text), |f| f.text(self.text));
            format!("`{}(...)`", short(text))
        };
        let statement = std::iter::successors(Some(target), Node::parent)
            .find(|n| {
                n.parent()
                    .is_some_and(|p| matches!(p.node_kind(), "block" | "module"))
            })
            .ok_or("the flagged call is not part of a statement")?;
        if statement.node_kind() != "expression_statement" {
            return Err(format!(
                "the flagged call {} is part of a larger statement",
                described()
            ));
        }
        if target.node_kind() == "call" {
            let arguments = target
                .field("arguments")
                .map(|a| a.named_children_vec())
                .unwrap_or_default();
            for argument in arguments {
                if !is_literal(argument) {
                    return Err(format!(
                        "the arguments of {} are not literals (`{}`)",
                        described(),
                        short(argument.text(self.text))
                    ));
                }
            }
        }
        let scope = std::iter::successors(statement.parent(), Node::parent)
            .find_map(|n| match n.node_kind() {
                "function_definition" | "class_definition" => self.model.scope_opened_by(n),
                _ => None,
            })
            .unwrap_or(MODULE_SCOPE);
        let mut imports: Vec<String> = Vec::new();
        let mut stack = vec![statement];
        while let Some(node) = stack.pop() {
            match node.node_kind() {
                "lambda"
                | "list_comprehension"
                | "set_comprehension"
                | "dictionary_comprehension"
                | "generator_expression" => {
                    return Err(
                        "the flagged statement has a scope of its own (a lambda or comprehension)"
                            .to_string(),
                    );
                }
                "identifier" => {
                    if is_reference(node) {
                        let import = self.import_for(node.text(self.text), scope)?;
                        if let Some(import) = import
                            && !imports.contains(&import)
                        {
                            imports.push(import);
                        }
                    }
                }
                _ => stack.extend(node.named_children_vec()),
            }
        }
        imports.sort();
        let mut source = imports.join("; ");
        if !source.is_empty() {
            source.push_str("; ");
        }
        source.push_str(statement.text(self.text));
        source.push('\n');
        let first_line = u32::try_from(statement.start_position().row + 1)
            .map_err(|_| "the statement is beyond the supported line count".to_string())?;
        Ok(ProbePlan {
            source,
            entry: ProbeEntry::Statements,
            first_line,
            flagged_line,
            kind,
        })
    }

    /// The import that makes `name` (read in `scope`) available to the statement alone:
    /// `None` for a builtin, an error for a local or for a name this file defines.
    fn import_for(
        &self,
        name: &str,
        scope: crate::semantic::ScopeId,
    ) -> Result<Option<String>, String> {
        match self.model.lookup(scope, name) {
            Lookup::Builtin => Ok(None),
            Lookup::Unknown => Err(format!(
                "the flagged statement uses `{name}`, which is not defined here"
            )),
            Lookup::Bound(found, bindings) if found == MODULE_SCOPE => {
                let mut paths = bindings.iter().map(|b| match &b.kind {
                    BindingKind::Import(path) => Some(path.as_str()),
                    _ => None,
                });
                let first = paths.next().flatten();
                match first {
                    Some(path) if paths.all(|p| p == Some(path)) => {
                        if path.starts_with('.') {
                            return Err(format!(
                                "the flagged statement uses `{name}`, a relative import"
                            ));
                        }
                        Ok(Some(import_statement(name, path)))
                    }
                    _ => Err(format!(
                        "the flagged statement uses `{name}`, which this file defines"
                    )),
                }
            }
            Lookup::Bound(..) => Err(format!(
                "the flagged statement uses the local value `{name}`"
            )),
        }
    }
}

/// `import time`, `import numpy as np`, `from time import sleep as pause`.
fn import_statement(name: &str, path: &str) -> String {
    match path.rsplit_once('.') {
        None if name == path => format!("import {path}"),
        None => format!("import {path} as {name}"),
        Some((module, attribute)) if attribute == name => {
            format!("from {module} import {attribute}")
        }
        Some((module, attribute)) => format!("from {module} import {attribute} as {name}"),
    }
}

/// Source text for a message: its first line, at most 40 characters.
fn short(text: &str) -> String {
    let line = text.split(['\n', '\r']).next().unwrap_or_default();
    let mut shown: String = line.chars().take(40).collect();
    if shown.len() < text.trim_end().len() {
        shown.push_str("...");
    }
    shown
}

fn needs_arguments(name: &str, required: &[String]) -> String {
    let list: Vec<String> = required.iter().map(|p| format!("`{p}`")).collect();
    format!("`{name}` needs arguments ({})", list.join(", "))
}

/// Whether a `def` (or the class it belongs to) is a statement of the module itself.
fn is_top_level(def: Node<'_>) -> bool {
    let statement = match def.parent() {
        Some(p) if p.node_kind() == "decorated_definition" => p,
        _ => def,
    };
    statement
        .parent()
        .is_some_and(|p| p.node_kind() == "module")
}

/// The parameters of `def` that a call must pass, skipping the first (`self`/`cls`) when
/// `skip_first`.
fn required_parameters(def: Node<'_>, skip_first: bool, source: &str) -> Vec<String> {
    let parameters = def
        .field("parameters")
        .map(|p| p.named_children_vec())
        .unwrap_or_default();
    let mut required = Vec::new();
    let mut skip = skip_first;
    for parameter in parameters {
        let inner = if parameter.node_kind() == "typed_parameter" {
            parameter.named_child(0).unwrap_or(parameter)
        } else {
            parameter
        };
        let positional = matches!(
            inner.node_kind(),
            "identifier" | "default_parameter" | "typed_default_parameter" | "tuple_pattern"
        );
        if skip && positional {
            skip = false;
            continue;
        }
        if matches!(inner.node_kind(), "identifier" | "tuple_pattern") {
            required.push(inner.text(source).to_string());
        }
    }
    required
}

/// The first and last line (0-based) a module-level statement occupies.
fn rows_of(node: Node<'_>) -> (usize, usize) {
    let start = node.start_position().row;
    let end = node.end_position();
    let last = if end.column == 0 && end.row > start {
        end.row - 1
    } else {
        end.row
    };
    (start, last)
}

/// Whether an identifier is read (not an attribute name, a keyword, or an assignment target).
fn is_reference(identifier: Node<'_>) -> bool {
    let Some(parent) = identifier.parent() else {
        return true;
    };
    let is_field = |name: &str| {
        parent
            .child_by_field_name(name)
            .is_some_and(|n| n.id() == identifier.id())
    };
    match parent.node_kind() {
        "attribute" => !is_field("attribute"),
        "keyword_argument" => !is_field("name"),
        "assignment" | "augmented_assignment" => {
            !is_field("left") || parent.node_kind() == "augmented_assignment"
        }
        "pattern_list" | "tuple_pattern" | "list_pattern" => false,
        _ => true,
    }
}

/// Literal values: numbers, strings without interpolation, `True`/`False`/`None`, negated
/// numbers, containers of literals, and keyword arguments with a literal value.
fn is_literal(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    let mut seen = 0;
    while let Some(node) = stack.pop() {
        seen += 1;
        if seen > 1000 {
            return false;
        }
        match node.node_kind() {
            "integer" | "float" | "true" | "false" | "none" | "ellipsis" | "string_start"
            | "string_content" | "string_end" | "escape_sequence" => {}
            "string" => {
                if node
                    .named_children_vec()
                    .iter()
                    .any(|c| c.node_kind() == "interpolation")
                {
                    return false;
                }
            }
            "keyword_argument" => stack.extend(node.field("value")),
            "concatenated_string"
            | "unary_operator"
            | "parenthesized_expression"
            | "list"
            | "tuple"
            | "set"
            | "dictionary"
            | "pair" => stack.extend(node.named_children_vec()),
            "binary_operator" => {
                // `1 << 20`, `60 * 5`: arithmetic on literals.
                stack.extend(node.field("left"));
                stack.extend(node.field("right"));
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Settings, check_file};

    fn plans(source: &str) -> Vec<Planned> {
        let file = SourceFile::new("app.py", source);
        let diagnostics = check_file(&file, &Settings::default());
        plan_probes(&file, &diagnostics)
    }

    #[track_caller]
    fn only_probe(source: &str) -> (ProbePlan, Option<ProbePlan>) {
        let planned = plans(source);
        assert_eq!(planned.len(), 1, "{planned:#?}");
        match planned.into_iter().next() {
            Some(Planned::Probe { probe, fallback }) => (probe, fallback),
            other => panic!("expected a probe, got {other:#?}"),
        }
    }

    #[track_caller]
    fn only_skip(source: &str) -> String {
        let planned = plans(source);
        assert_eq!(planned.len(), 1, "{planned:#?}");
        match planned.into_iter().next() {
            Some(Planned::Skipped(reason)) => reason,
            other => panic!("expected a skip, got {other:#?}"),
        }
    }

    #[test]
    fn a_zero_argument_coroutine_runs_in_its_module_context() {
        let source = "\"\"\"Doc.\"\"\"\nimport asyncio\nimport time\n\nDELAY = 0.5\nLIMIT = compute(DELAY)\nrunning = asyncio.run(main())\nprint('hi'); x = 1\n\ndef compute(x):\n    return x\n\nasync def main():\n    time.sleep(DELAY)\n\nasyncio.run(main())\nif __name__ == \"__main__\":\n    print(1)\n";
        let (probe, fallback) = only_probe(source);
        assert_eq!(probe.entry, ProbeEntry::Function("main".into()));
        assert_eq!((probe.first_line, probe.flagged_line), (1, 14));
        assert_eq!(probe.kind, ProbeKind::Blocking);
        let expected = "\"\"\"Doc.\"\"\"\nimport asyncio\nimport time\n\nDELAY = 0.5\nLIMIT = compute(DELAY)\n\n\n\ndef compute(x):\n    return x\n\nasync def main():\n    time.sleep(DELAY)\n\n\n\n\n";
        assert_eq!(probe.source, expected);
        assert_eq!(probe.source.lines().count(), source.lines().count());
        // The statement alone is no fallback: `DELAY` is this file's.
        assert_eq!(fallback, None);
    }

    /// With lone `\r` line endings, statements are blanked by the same lines tree-sitter's rows
    /// count, each blanked line keeping its line break.
    #[test]
    fn a_lone_cr_module_context_blanks_whole_lines() {
        let source = "import asyncio\rimport time\rrunning = asyncio.run(main())\r\nprint('hi')\rasync def main():\r    time.sleep(1)\r";
        let (probe, _) = only_probe(source);
        assert_eq!(probe.entry, ProbeEntry::Function("main".into()));
        assert_eq!(probe.flagged_line, 6);
        assert_eq!(
            probe.source,
            "import asyncio\rimport time\r\r\n\rasync def main():\r    time.sleep(1)\r"
        );
    }

    #[test]
    fn literal_statements_get_a_fallback_and_needed_imports() {
        let (probe, fallback) =
            only_probe("from time import sleep as pause\n\nasync def main():\n    pause(0.5)\n");
        assert_eq!(probe.entry, ProbeEntry::Function("main".into()));
        let fallback = fallback.expect("a statement fallback");
        assert_eq!(fallback.entry, ProbeEntry::Statements);
        assert_eq!(
            fallback.source,
            "from time import sleep as pause; pause(0.5)\n"
        );
        assert_eq!((fallback.first_line, fallback.flagged_line), (4, 4));
    }

    #[test]
    fn coroutines_needing_arguments_fall_back_to_the_statement() {
        let (probe, fallback) = only_probe(
            "import time\n\nasync def fetch(url, retries=3, *args, **kw):\n    time.sleep(\n        0.3)\n",
        );
        assert_eq!(fallback, None);
        assert_eq!(probe.entry, ProbeEntry::Statements);
        assert_eq!(probe.source, "import time; time.sleep(\n        0.3)\n");
        assert_eq!((probe.first_line, probe.flagged_line), (4, 4));

        let reason =
            only_skip("import time\n\nasync def fetch(url, delay):\n    time.sleep(delay)\n");
        assert_eq!(
            reason,
            "`fetch` needs arguments (`url`, `delay`); the arguments of `time.sleep(...)` are not literals (`delay`)"
        );
    }

    #[test]
    fn methods_need_an_instance_that_builds_without_arguments() {
        let source = "import time\n\nclass Base:\n    def __init__(self, x=1):\n        self.x = x\n\nclass Service(Base):\n    async def run(self):\n        time.sleep(0.5)\n\n    @staticmethod\n    async def tick():\n        time.sleep(0.5)\n";
        let planned = plans(source);
        let entries: Vec<(ProbeEntry, bool)> = planned
            .iter()
            .map(|p| match p {
                Planned::Probe { probe, .. } => (
                    probe.entry.clone(),
                    probe.source.contains("await Service().run()"),
                ),
                Planned::Skipped(reason) => panic!("{reason}"),
            })
            .collect();
        assert_eq!(
            entries,
            [
                (ProbeEntry::Function(PROBE_ENTRY.into()), true),
                (ProbeEntry::Function("Service.tick".into()), false),
            ]
        );

        let reason = only_skip(
            "import time\n\nclass Client:\n    def __init__(self, url):\n        self.url = url\n    async def get(self):\n        time.sleep(self.url)\n",
        );
        assert!(
            reason.starts_with("`Client()` needs arguments (`url`)"),
            "{reason}"
        );
        let reason = only_skip(
            "import time\nimport somewhere\n\nclass Client(somewhere.Base):\n    async def get(self):\n        time.sleep(self.delay)\n",
        );
        assert!(reason.contains("derives from `somewhere.Base`"), "{reason}");
    }

    #[test]
    fn locals_nested_functions_and_decorators_are_reasons() {
        let reason = only_skip(
            "import time\n\ndef outer():\n    async def inner(d):\n        time.sleep(d)\n    return inner\n",
        );
        assert!(reason.starts_with("`inner` is nested"), "{reason}");
        let reason = only_skip(
            "import time\nimport app\n\n@app.route('/')\nasync def index():\n    x = 1\n    time.sleep(x)\n",
        );
        assert!(reason.starts_with("`index` is decorated"), "{reason}");
        assert!(reason.contains("not literals (`x`)"), "{reason}");
    }

    #[test]
    fn long_arguments_are_shortened_in_reasons() {
        let reason = only_skip(
            "import asyncio\n\nasync def go(x):\n    asyncio.create_task(work(\n        x))\n\nasync def work(x):\n    pass\n",
        );
        assert!(
            reason.ends_with("are not literals (`work(...`)"),
            "{reason}"
        );
    }

    #[test]
    fn rules_map_to_probe_kinds() {
        assert_eq!(
            ProbeKind::for_rule(Rule::BlockingSleep),
            Some(ProbeKind::Blocking)
        );
        assert_eq!(
            ProbeKind::for_rule(Rule::MissingAwait),
            Some(ProbeKind::NeverAwaited)
        );
        assert_eq!(
            ProbeKind::for_rule(Rule::NestedRun),
            Some(ProbeKind::NestedRun)
        );
        assert_eq!(
            ProbeKind::for_rule(Rule::DanglingTask),
            Some(ProbeKind::PendingTaskDestroyed)
        );
        assert_eq!(ProbeKind::for_rule(Rule::SyntaxError), None);
    }

    #[test]
    fn missing_await_and_nested_run_are_planned() {
        let (probe, _) = only_probe(
            "import asyncio\n\nasync def fetch():\n    return 1\n\nasync def main():\n    fetch()\n",
        );
        assert_eq!(probe.kind, ProbeKind::NeverAwaited);
        assert_eq!(probe.flagged_line, 7);
        let (probe, _) = only_probe(
            "import asyncio\n\nasync def work():\n    return 1\n\nasync def main():\n    asyncio.run(work())\n",
        );
        assert_eq!(probe.kind, ProbeKind::NestedRun);
        assert_eq!(probe.entry, ProbeEntry::Function("main".into()));
    }

    #[test]
    fn try_imports_are_kept_and_shared_lines_dropped_together() {
        let source = "try:\n    import uvloop\nexcept ImportError:\n    uvloop = None\nimport time; print(1)\n\nasync def main():\n    time.sleep(1)\n";
        let (probe, _) = only_probe(source);
        assert!(
            probe
                .source
                .starts_with("try:\n    import uvloop\nexcept ImportError:\n    uvloop = None\n\n"),
            "{}",
            probe.source
        );
    }
}
