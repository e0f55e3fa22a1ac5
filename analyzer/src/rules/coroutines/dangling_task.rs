use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::importer::insert_after_imports;
use crate::line_index::{line_content_end, line_start_before, newline_of};
use crate::rules::usage::{Use, chained_targets, classify, parent_skipping_parens};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::{BindingKind, Lookup, MODULE_SCOPE, ScopeId, ScopeKind, Value};
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for tasks created with `asyncio.create_task`, `asyncio.ensure_future` or
    /// `loop.create_task` (any event loop: `asyncio.get_running_loop().create_task(...)`,
    /// `self.loop.create_task(...)`) whose Task is thrown away or bound to a name that is never
    /// used again. Also a task lost another way: put in a list, tuple, set, dict or
    /// comprehension that is itself thrown away or bound to a name never used
    /// (`[asyncio.create_task(c) for c in coros]` as a statement), only tested
    /// (`x = 1 if asyncio.create_task(c) else 2`, `if create_task(...)`, `not`, comparisons), or
    /// entered by `with` (a Task is not a context manager). A generator expression of
    /// `create_task` calls that is a statement of its own never runs, so no task is even
    /// created: reported too. Tasks created by a `TaskGroup`, and tasks that are stored,
    /// awaited, returned, or collected to be gathered, are fine; so is a task bound through an
    /// assignment chain (`task = other = asyncio.create_task(...)`) when one of its names is
    /// used.
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
    /// the caller may be the better home. The fix is offered only for a call that is a statement
    /// on lines of its own, or bound to one name, in a function or at module level.
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
    let Some(lost) = lost_task(ctx, call) else {
        return;
    };
    let names = |targets: &[Node<'_>]| {
        targets
            .iter()
            .rev()
            .map(|t| format!("`{}`", ctx.text(*t)))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let (problem, fix) = match lost {
        Lost::Dropped => (
            "the task is not stored".to_string(),
            keep_dropped(ctx, call),
        ),
        Lost::Unused(targets) => {
            let problem = match targets.as_slice() {
                [target] => format!("`{}` is never used again", ctx.text(*target)),
                _ => format!("{} are never used again", names(&targets)),
            };
            let fix = match targets.as_slice() {
                [target] => keep_bound(ctx, call, *target),
                _ => None,
            };
            (problem, fix)
        }
        Lost::Collected(None) => ("the collection holding it is not stored".to_string(), None),
        Lost::Collected(Some(targets)) => (
            format!(
                "the collection holding it is bound to {}, never used again",
                names(&targets)
            ),
            None,
        ),
        Lost::Tested(how) => (format!("the task is only {how}"), None),
        Lost::Entered => (
            "`with` does not keep it (and fails: a Task is not a context manager)".to_string(),
            None,
        ),
        Lost::NeverIterated => {
            let message = format!(
                "`{factory}` in a generator expression that is never iterated: no task is created and the work never runs"
            );
            out.push(Diagnostic::new(
                Rule::DanglingTask,
                call.byte_range().into(),
                message,
            ));
            return;
        }
    };
    let message = format!(
        "task created by `{factory}` may be garbage-collected before it finishes: {problem}"
    );
    out.push(Diagnostic::new(Rule::DanglingTask, call.byte_range().into(), message).with_fix(fix));
}

/// Why a task is not kept.
enum Lost<'t> {
    /// The call is a statement of its own.
    Dropped,
    /// Bound to names (innermost first: `a = b = task` gives `[b, a]`) never read again.
    Unused(Vec<Node<'t>>),
    /// Put in a list, tuple, set, dict or comprehension that is dropped (`None`) or bound to
    /// names never read again.
    Collected(Option<Vec<Node<'t>>>),
    /// Only tested or compared (`if create_task(...)`, `x = a if create_task(...) else b`):
    /// says how.
    Tested(&'static str),
    /// The context manager of a `with`.
    Entered,
    /// In a generator expression that is a statement of its own: never run at all.
    NeverIterated,
}

/// Builtins that collect the items of a generator expression (`list(t for t in ...)`).
const COLLECTORS: &[&str] = &["list", "tuple", "set", "frozenset", "sorted"];

/// How the task `call` creates is lost, if it is: follows it out through collections,
/// comprehensions and conditional expressions to where the value ends up.
fn lost_task<'t>(ctx: &RuleContext<'_, 't>, call: Node<'t>) -> Option<Lost<'t>> {
    let model = ctx.model;
    let mut node = call;
    let mut scope = ctx.scope;
    let mut collected = false;
    // The scope a comprehension node itself is in (its body is in the scope it opens).
    let outside = |comprehension: Node<'t>, scope: ScopeId| {
        model
            .scope_opened_by(comprehension)
            .and_then(|opened| model.scopes[opened].parent)
            .unwrap_or(scope)
    };
    loop {
        let (Some(parent), child) = parent_skipping_parens(node) else {
            return None;
        };
        let is_field = |field: &str| parent.field(field).is_some_and(|f| f.id() == child.id());
        match parent.node_kind() {
            "list" | "tuple" | "set" | "dictionary" | "expression_list" | "pair" => {
                collected = true;
                node = parent;
            }
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension"
                if is_field("body") =>
            {
                collected = true;
                scope = outside(parent, scope);
                node = parent;
            }
            "generator_expression" if is_field("body") => {
                let (holder, _) = parent_skipping_parens(parent);
                let holder = holder?;
                if holder.node_kind() == "expression_statement" {
                    return Some(Lost::NeverIterated);
                }
                // `list(create_task(c) for c in ...)`: the generator is the call's arguments.
                let collector = holder.node_kind() == "call"
                    && holder
                        .field("arguments")
                        .is_some_and(|a| a.id() == parent.id())
                    && holder.field("function").is_some_and(|function| {
                        model
                            .infer(function, outside(parent, scope), ctx.known)
                            .external()
                            .and_then(|name| name.strip_prefix("builtins."))
                            .is_some_and(|name| COLLECTORS.contains(&name))
                    });
                if !collector {
                    return None;
                }
                collected = true;
                scope = outside(parent, scope);
                node = holder;
            }
            "conditional_expression" => {
                if parent.named_child(1).is_some_and(|c| c.id() == child.id()) {
                    return Some(Lost::Tested("used as a condition"));
                }
                node = parent;
            }
            // `a or create_task(...)`: the value may be the task.
            "boolean_operator" => node = parent,
            "if_statement" | "elif_clause" | "while_statement" if is_field("condition") => {
                return Some(Lost::Tested("used as a condition"));
            }
            "not_operator" => return Some(Lost::Tested("negated with `not`")),
            "comparison_operator" => return Some(Lost::Tested("compared")),
            "assert_statement" => return Some(Lost::Tested("asserted")),
            "with_item" => return Some(Lost::Entered),
            "as_pattern"
                if parent.named_child(0).is_some_and(|c| c.id() == child.id())
                    && parent
                        .parent()
                        .is_some_and(|p| p.node_kind() == "with_item") =>
            {
                return Some(Lost::Entered);
            }
            _ => break,
        }
    }
    match classify(model, ctx.known, scope, node) {
        Use::Dropped if collected => Some(Lost::Collected(None)),
        Use::Dropped => Some(Lost::Dropped),
        Use::Bound(target) => {
            let targets = chained_targets(model, scope, target)?;
            let unused = targets.iter().all(|target| {
                let name = ctx.text(*target);
                name == "_" || model.references_to(name, scope).next().is_none()
            });
            if !unused {
                None
            } else if collected {
                Some(Lost::Collected(Some(targets)))
            } else {
                Some(Lost::Unused(targets))
            }
        }
        _ => None,
    }
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
    let (statement, _) = parent_skipping_parens(call);
    let statement = statement
        .filter(|s| s.node_kind() == "expression_statement" && s.named_child_count() == 1)?;
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
    let line_start = line_start_before(source, statement.start_byte());
    let indent = &source[line_start..statement.start_byte()];
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let end = statement.end_byte();
    let line_end = line_content_end(source, end);
    let rest = source[end..line_end].trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let newline = newline_of(source);
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
