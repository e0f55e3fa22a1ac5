use tree_sitter::Node;

use crate::calls::{self, loop_runner};
use crate::diagnostic::{Diagnostic, Related};
use crate::fix::{Edit, Fix};
use crate::guards::no_running_loop;
use crate::index::Chain;
use crate::rules::pending::{Pending, Question};
use crate::rules::usage::parent_skipping_parens;
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::{ClassRef, ScopeId, ScopeKind, Value};
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for `asyncio.run(...)`, `loop.run_until_complete(...)` and `Runner.run(...)`
    /// where an event loop is already running: in a coroutine, and in a callback handed to the
    /// loop (a `lambda` or function passed to `call_soon`, `call_soon_threadsafe`,
    /// `call_later`, `call_at`, or a task's `add_done_callback`). In a Jupyter notebook, top-level code of
    /// a cell counts too: the notebook's loop is already running. Module level and
    /// `if __name__ == "__main__":` are fine. A coroutine that calls a project sync function
    /// which starts a loop, directly or through further sync calls (in any module), is
    /// reported at that call, with the chain in the message.
    ///
    /// Not reported: code that only runs when no loop is running in the thread, in the
    /// coroutine or in the helper: the branches of `if not loop.is_running():` (also `else` of
    /// `if loop.is_running():`, `x if loop.is_running() else loop.run_until_complete(x)`, and
    /// the code after `if loop.is_running(): return ...`), and the child of `os.fork()`
    /// (`if os.fork() == 0:`, `pid = os.fork()` then `if pid == 0:` / `if not pid:`), where
    /// asyncio resets the running loop; and modules that import `trio` but not `asyncio`.
    ///
    /// Branches the analysis cannot decide stay reported: a helper that starts a loop only on
    /// some of its branches (`if interactive: asyncio.run(...)`) is reported at every call from
    /// a coroutine, whatever the arguments, because the call may reach that branch; the
    /// message then says "may start" and names the condition (`(when `interactive` in
    /// `main`)`), and the related location points at the call that starts the loop. Guard it
    /// with `loop.is_running()` or suppress the finding where the branch cannot be reached.
    ///
    /// ## Why is this bad?
    /// asyncio allows one running loop per thread. The call raises
    /// `RuntimeError: asyncio.run() cannot be called from a running event loop` (or "This event
    /// loop is already running"), and the coroutine passed to it is never awaited.
    ///
    /// ## Example
    /// ```python
    /// async def refresh():
    ///     data = asyncio.run(fetch())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def refresh():
    ///     data = await fetch()
    /// ```
    ///
    /// ## Fix safety
    /// Safe in a coroutine: `asyncio.run(x)` becomes `await x`. No fix in callbacks, which
    /// cannot await.
    pub(crate) struct NestedRun {
        code: "AIO300",
        name: "nested-run",
        severity: Error,
    }
}

/// AIO300
pub(crate) fn nested_run<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
    pending: &mut Vec<Pending>,
) {
    let Some(runner) = loop_runner(ctx.model, call, ctx.scope, ctx.known) else {
        through_helper(ctx, call, pending);
        return;
    };
    if no_loop_here(ctx, call) {
        return;
    }
    let (place, fix) = if let Some(coroutine) = ctx.enclosing_coroutine() {
        (
            format!("inside coroutine `{}`", ctx.function_name(coroutine)),
            await_instead(ctx, call, runner),
        )
    } else if let Some(scheduler) = scheduling_callback(ctx) {
        (
            format!("inside a callback scheduled with `{scheduler}()`"),
            None,
        )
    } else if ctx.file.kind == crate::source::SourceKind::Notebook
        && ctx.model.enclosing_function(ctx.scope).is_none()
        && !matches!(ctx.model.scopes[ctx.scope].kind, ScopeKind::Lambda)
    {
        // Jupyter runs every cell inside its own running event loop.
        (
            "in a notebook cell: use top-level `await`".to_string(),
            None,
        )
    } else {
        return;
    };
    let message = format!("`{runner}` cannot be called while the event loop is running ({place})");
    out.push(Diagnostic::new(Rule::NestedRun, call.byte_range().into(), message).with_fix(fix));
}

/// A coroutine calling a project sync function that may start an event loop, directly or
/// through further sync calls: a pending finding at the call, reported if the call graph says
/// it does.
fn through_helper<'t>(ctx: &RuleContext<'_, 't>, call: Node<'t>, pending: &mut Vec<Pending>) {
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    let Some(callee) = ctx.project_sync_function(call) else {
        return;
    };
    if no_loop_here(ctx, call) {
        return;
    }
    pending.push(Pending {
        question: Question::RunsLoop(callee),
        range: call.byte_range().into(),
        coroutine: ctx.function_name(coroutine),
        fix: None,
    });
}

/// Whether `call` runs where no asyncio loop can be running: guarded by
/// `loop.is_running()` being false, in the child of `os.fork()`, or in a Trio-only module.
fn no_loop_here<'t>(ctx: &RuleContext<'_, 't>, call: Node<'t>) -> bool {
    no_running_loop(ctx.model, call, ctx.ancestors, ctx.scope, ctx.known) || ctx.runs_on_trio_only()
}

/// The finding for `pending`, whose callee starts an event loop through `chain`.
pub(crate) fn report_through_helper(pending: &Pending, chain: &Chain, path: &str) -> Diagnostic {
    let sink = chain.last();
    let first = chain.first().display.as_str();
    let message = format!(
        "`{first}()` {} an event loop while one is running (inside coroutine `{}`): {}",
        chain.verb("starts", "may start"),
        pending.coroutine,
        chain.describe()
    );
    let mut diagnostic = Diagnostic::new(Rule::NestedRun, pending.range, message);
    diagnostic.related.push(Related {
        path: (sink.path != path).then(|| sink.path.clone()),
        range: sink.range,
        start: sink.start,
        message: format!("`{}` is called here", chain.sink),
    });
    diagnostic
}

/// The scheduling method when the current code is the body of a lambda or a plain function
/// passed as a callback to the running loop.
fn scheduling_callback(ctx: &RuleContext<'_, '_>) -> Option<&'static str> {
    let scope = &ctx.model.scopes[ctx.scope];
    match scope.kind {
        ScopeKind::Lambda => {
            let lambda = ctx
                .ancestors
                .iter()
                .rev()
                .find(|a| a.node_kind() == "lambda")?;
            let outer = scope.parent?;
            scheduler_receiving(ctx, *lambda, outer)
        }
        ScopeKind::Function(id) => {
            let info = &ctx.model.functions[id];
            if info.is_async {
                return None;
            }
            ctx.model
                .references_to(info.name, info.parent_scope)
                .find_map(|(scope, reference)| scheduler_receiving(ctx, reference, scope))
        }
        _ => None,
    }
}

/// The loop scheduling method that `callback` (an expression in `scope`) is passed to as an
/// argument, if any.
fn scheduler_receiving<'t>(
    ctx: &RuleContext<'_, 't>,
    callback: Node<'t>,
    scope: ScopeId,
) -> Option<&'static str> {
    let (Some(arguments), _) = parent_skipping_parens(callback) else {
        return None;
    };
    if arguments.node_kind() != "argument_list" {
        return None;
    }
    let function = arguments
        .parent()?
        .field("function")
        .filter(|f| f.node_kind() == "attribute")?;
    let method = ctx.text(function.field("attribute")?);
    if let Some(found) = calls::LOOP_CALLBACKS.iter().find(|m| **m == method) {
        return Some(found);
    }
    if method == "add_done_callback" {
        // Only asyncio futures run done-callbacks on the loop (concurrent ones use a thread).
        let receiver = function.field("object")?;
        if let Value::Instance(ClassRef::External(class)) =
            ctx.model.infer(receiver, scope, ctx.known)
            && (class == "asyncio.Task" || class == "asyncio.Future")
        {
            return Some("add_done_callback");
        }
    }
    None
}

/// `asyncio.run(x)` -> `await x`.
fn await_instead(ctx: &RuleContext<'_, '_>, call: Node<'_>, runner: &str) -> Option<Fix> {
    if runner != "asyncio.run()" || !ctx.can_insert_await() {
        return None;
    }
    let arguments = call.field("arguments")?.named_children_vec();
    let [argument] = arguments.as_slice() else {
        return None;
    };
    if matches!(
        argument.node_kind(),
        "keyword_argument" | "list_splat" | "dictionary_splat"
    ) {
        return None;
    }
    let awaited = format!("await {}", argument.text(ctx.source));
    let replacement = ctx.parenthesize_if_needed(call, awaited);
    Some(Fix::safe(
        "Replace `asyncio.run(x)` with `await x`",
        vec![Edit::replace(call.byte_range().into(), replacement)],
    ))
}
