use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::importer::insert_after_imports;
use crate::rules::usage::{Use, classify};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::{BindingKind, Lookup, MODULE_SCOPE, ScopeKind, Value};
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for tasks created with `asyncio.create_task`, `asyncio.ensure_future` or
    /// `loop.create_task` (any event loop: `asyncio.get_running_loop().create_task(...)`,
    /// `self.loop.create_task(...)`) whose Task is thrown away or bound to a name that is never
    /// used again. Tasks created by a `TaskGroup`, and tasks that are stored, awaited, returned,
    /// or collected to be gathered, are fine.
    ///
    /// ## Why is this bad?
    /// The event loop keeps only a weak reference to its tasks. A task nothing else refers to can
    /// be garbage-collected before it finishes, so its work stops at a random point with no
    /// error. Its exceptions are also never retrieved.
    ///
    /// ## Example
    /// ```python
    /// async def handle(event):
    ///     asyncio.create_task(notify(event))
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// background_tasks = set()
    ///
    /// async def handle(event):
    ///     task = asyncio.create_task(notify(event))
    ///     background_tasks.add(task)
    ///     task.add_done_callback(background_tasks.discard)
    /// ```
    /// or run the work in an `asyncio.TaskGroup`.
    ///
    /// ## Fix safety
    /// Unsafe: the fix keeps the task in a module-level set, `_background_tasks = set()` (added
    /// below the imports, or reused when it already exists), and lets the task remove itself when
    /// done: `task = asyncio.create_task(...)`, `_background_tasks.add(task)`,
    /// `task.add_done_callback(_background_tasks.discard)`. The task now runs to completion
    /// instead of possibly vanishing, which changes behaviour, and a set or a `TaskGroup` owned by
    /// the caller may be the better home. The fix is offered only for a statement on lines of its
    /// own in a function or at module level.
    pub(crate) struct DanglingTask {
        code: "AIO101",
        name: "dangling-task",
        severity: Warning,
    }
}

/// Receivers of `.create_task(...)` that are event loops by name when nothing else is known.
const LOOP_NAMES: &[&str] = &["loop", "_loop", "event_loop", "_event_loop"];

/// AIO101
pub(crate) fn dangling_task<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(factory) = task_factory(ctx, call) else {
        return;
    };
    let (problem, fix) = match classify(ctx.model, ctx.known, ctx.scope, call) {
        Use::Dropped => (
            "the task is not stored".to_string(),
            keep_dropped(ctx, call),
        ),
        Use::Bound(target) => {
            let name = ctx.text(target);
            let unused = name == "_" || ctx.model.references_to(name, ctx.scope).next().is_none();
            if !unused {
                return;
            }
            (
                format!("`{name}` is never used again"),
                keep_bound(ctx, call, target),
            )
        }
        _ => return,
    };
    let message = format!(
        "task created by `{factory}` may be garbage-collected before it finishes: {problem}"
    );
    out.push(Diagnostic::new(Rule::DanglingTask, call.byte_range().into(), message).with_fix(fix));
}

/// The module-level set the fix keeps tasks in.
const TASK_SET: &str = "_background_tasks";

/// Names tried, in order, for the variable that holds a dropped task.
const TASK_NAMES: &[&str] = &[
    "task",
    "background_task",
    "task_1",
    "task_2",
    "task_3",
    "task_4",
    "task_5",
];

/// `asyncio.create_task(...)` as a statement -> `task = asyncio.create_task(...)` followed by
/// the lines that keep it in the set.
fn keep_dropped(ctx: &RuleContext<'_, '_>, call: Node<'_>) -> Option<Fix> {
    let (statement, _) = crate::rules::usage::parent_skipping_parens(call);
    let statement = statement.filter(|s| s.node_kind() == "expression_statement")?;
    let name = fresh_task_name(ctx)?;
    let mut edits = keep_in_set(ctx, statement, name)?;
    edits.push(Edit::insert(statement.start_byte(), format!("{name} = ")));
    Some(Fix::unsafe_("Keep a strong reference to the task", edits))
}

/// `task = asyncio.create_task(...)` with `task` unused -> the same, followed by the lines that
/// keep it in the set (`_ = ...` gets a real name, since `_` means "thrown away").
fn keep_bound(ctx: &RuleContext<'_, '_>, call: Node<'_>, target: Node<'_>) -> Option<Fix> {
    let assignment = call.parent().filter(|a| a.node_kind() == "assignment")?;
    let statement = assignment
        .parent()
        .filter(|s| s.node_kind() == "expression_statement" && s.named_child_count() == 1)?;
    let mut name = ctx.text(target);
    let mut rename = None;
    if name == "_" {
        name = fresh_task_name(ctx)?;
        rename = Some(Edit::replace(target.byte_range().into(), name));
    }
    let mut edits = keep_in_set(ctx, statement, name)?;
    edits.extend(rename);
    Some(Fix::unsafe_("Keep a strong reference to the task", edits))
}

/// The edits that add `_background_tasks.add(name)` and
/// `name.add_done_callback(_background_tasks.discard)` below `statement` (at its indentation),
/// and the set itself when the module lacks it. `None` when the statement does not stand on
/// lines of its own in a function or module body, or when the set's name is taken.
fn keep_in_set(ctx: &RuleContext<'_, '_>, statement: Node<'_>, name: &str) -> Option<Vec<Edit>> {
    if !matches!(
        ctx.model.scopes.get(ctx.scope)?.kind,
        ScopeKind::Function(_) | ScopeKind::Module
    ) || !matches!(
        statement.parent().map(|p| p.node_kind()),
        Some("block" | "module")
    ) {
        return None;
    }
    let source = ctx.source;
    let line_start = source[..statement.start_byte()]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let indent = &source[line_start..statement.start_byte()];
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let end = statement.end_byte();
    let line_end = source[end..].find('\n').map_or(source.len(), |i| end + i);
    let line_end = if source[..line_end].ends_with('\r') {
        line_end - 1
    } else {
        line_end
    };
    let rest = source[end..line_end].trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let newline = if source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut edits = Vec::new();
    if needs_task_set(ctx)? {
        let root = ctx.ancestors.first().copied()?;
        edits.push(insert_after_imports(
            root,
            source,
            &format!("{TASK_SET} = set()  # Strong references to running background tasks."),
        ));
    }
    edits.push(Edit::insert(
        line_end,
        format!(
            "{newline}{indent}{TASK_SET}.add({name}){newline}{indent}{name}.add_done_callback({TASK_SET}.discard)"
        ),
    ));
    Some(edits)
}

/// Whether the module-level set must be added (`Some(false)` when an earlier fix added it),
/// or `None` when the name means something else here.
fn needs_task_set(ctx: &RuleContext<'_, '_>) -> Option<bool> {
    match ctx.model.lookup(ctx.scope, TASK_SET) {
        Lookup::Unknown if !ctx.model.scopes.get(MODULE_SCOPE)?.star_import => Some(true),
        Lookup::Bound(MODULE_SCOPE, [binding]) if !binding.conditional => match &binding.kind {
            BindingKind::Assignment {
                value: Some(value),
                annotation: None,
            } if ctx.text(*value) == "set()" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A name for the task that nothing in the function (or, at module level, the module) uses.
fn fresh_task_name(ctx: &RuleContext<'_, '_>) -> Option<&'static str> {
    let region = match ctx.model.enclosing_function(ctx.scope) {
        Some(id) => ctx.text(ctx.model.functions[id].node),
        None => ctx.source,
    };
    TASK_NAMES.iter().copied().find(|name| {
        matches!(ctx.model.lookup(ctx.scope, name), Lookup::Unknown) && !contains_word(region, name)
    })
}

/// Whether `text` contains `word` as a whole identifier.
fn contains_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(is_ident)
            && !text[at + word.len()..].chars().next().is_some_and(is_ident)
    })
}

/// `asyncio.create_task()`, `asyncio.ensure_future()` or `loop.create_task()` when `call`
/// creates a task the loop holds only weakly.
fn task_factory(ctx: &RuleContext<'_, '_>, call: Node<'_>) -> Option<&'static str> {
    match ctx.callee(call) {
        Value::External(name) if name == "asyncio.create_task" => Some("asyncio.create_task()"),
        Value::External(name) if name == "asyncio.ensure_future" => Some("asyncio.ensure_future()"),
        Value::ExternalMethod { class, method } if method == "create_task" => ctx
            .known
            .is_event_loop(&class)
            .then_some("loop.create_task()"),
        Value::Unknown => {
            let function = call.field("function")?;
            if function.node_kind() != "attribute"
                || function.field("attribute").map(|a| ctx.text(a)) != Some("create_task")
            {
                return None;
            }
            let receiver = function.field("object")?;
            let last_name = match receiver.node_kind() {
                "identifier" => receiver,
                "attribute" => receiver.field("attribute")?,
                _ => return None,
            };
            let unknown_receiver = ctx.infer(receiver) == Value::Unknown;
            (unknown_receiver && LOOP_NAMES.contains(&ctx.text(last_name)))
                .then_some("loop.create_task()")
        }
        _ => None,
    }
}
