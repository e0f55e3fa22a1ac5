use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::importer::add_import;
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for `time.sleep(...)` in a coroutine, however it was imported
    /// (`import time as t`, `from time import sleep as nap`, a function-local import). Code in a
    /// plain `def` or `lambda` nested inside the coroutine is not the coroutine, and neither is a
    /// function handed to `asyncio.to_thread` or `loop.run_in_executor`.
    ///
    /// ## Why is this bad?
    /// `time.sleep` blocks the whole thread, and with it the event loop: every other task, timer
    /// and connection of the program stalls for the duration.
    ///
    /// ## Example
    /// ```python
    /// async def poll(client):
    ///     while not await client.ready():
    ///         time.sleep(2)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def poll(client):
    ///     while not await client.ready():
    ///         await asyncio.sleep(2)
    /// ```
    ///
    /// ## Fix safety
    /// Safe: the call is replaced with `await asyncio.sleep(...)` with the same arguments, and
    /// `import asyncio` is added when the module lacks it (an existing `import asyncio as aio`
    /// is reused). Not offered inside a generator expression.
    pub(crate) struct BlockingSleep {
        code: "AIO200",
        name: "blocking-sleep",
        severity: Warning,
    }
}

/// AIO200
pub(crate) fn blocking_sleep<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    if ctx.callee(call).external() != Some("time.sleep") {
        return;
    }
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    let message = format!(
        "`time.sleep()` blocks the event loop inside coroutine `{}`",
        ctx.function_name(coroutine)
    );
    out.push(
        Diagnostic::new(Rule::BlockingSleep, call.byte_range().into(), message)
            .with_fix(fix(ctx, call)),
    );
}

fn fix(ctx: &RuleContext<'_, '_>, call: Node<'_>) -> Option<Fix> {
    if !ctx.can_insert_await() {
        return None;
    }
    let arguments = call
        .field("arguments")
        .filter(|a| a.node_kind() == "argument_list")?;
    let mut edits = Vec::new();
    let asyncio = match ctx.asyncio_name() {
        Some(name) => name,
        None if ctx.can_import_asyncio() => {
            let root = ctx.ancestors.first().copied()?;
            edits.push(add_import(root, ctx.source, "asyncio"));
            "asyncio".to_string()
        }
        None => return None,
    };
    let replacement = format!("await {asyncio}.sleep{}", arguments.text(ctx.source));
    let replacement = ctx.parenthesize_if_needed(call, replacement);
    edits.push(Edit::replace(call.byte_range().into(), replacement));
    Some(Fix::safe("Replace with `await asyncio.sleep(...)`", edits))
}
