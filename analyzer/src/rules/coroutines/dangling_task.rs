use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::rules::usage::{Use, classify};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::Value;
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
    /// There is no automatic fix yet: where the task should live is a design decision.
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
    let problem = match classify(ctx.model, ctx.known, ctx.scope, call) {
        Use::Dropped => "the task is not stored".to_string(),
        Use::Bound(target) => {
            let name = ctx.text(target);
            let unused = name == "_" || ctx.model.references_to(name, ctx.scope).next().is_none();
            if !unused {
                return;
            }
            format!("`{name}` is never used again")
        }
        _ => return,
    };
    let message = format!(
        "task created by `{factory}` may be garbage-collected before it finishes: {problem}"
    );
    out.push(Diagnostic::new(
        Rule::DanglingTask,
        call.byte_range().into(),
        message,
    ));
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
            if function.kind() != "attribute"
                || function.field("attribute").map(|a| ctx.text(a)) != Some("create_task")
            {
                return None;
            }
            let receiver = function.field("object")?;
            let last_name = match receiver.kind() {
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
