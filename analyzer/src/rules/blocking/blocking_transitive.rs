use tree_sitter::Node;

use crate::diagnostic::{Diagnostic, Related};
use crate::rules::blocking::to_thread_fix;
use crate::rules::{Rule, RuleContext, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks for coroutines that call a sync function of the project which blocks, directly
    /// or through any number of further sync calls, in this module or another one
    /// (`load_config -> read_disk -> time.sleep()`). The finding is reported at the call in the
    /// coroutine; the message names the chain and the related location points at the blocking
    /// call. Passing the function to `asyncio.to_thread` or `loop.run_in_executor` instead of
    /// calling it is fine.
    ///
    /// ## Why is this bad?
    /// A blocking call stalls the event loop no matter how deep in the sync call stack it
    /// happens, and it is easy to miss when it hides in a helper of a helper in another file.
    /// Linters that look at one function at a time cannot see it.
    ///
    /// ## Example
    /// ```python
    /// def read_settings(path):
    ///     with open(path) as f:
    ///         return json.load(f)
    ///
    /// async def reload():
    ///     settings = read_settings("app.json")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def reload():
    ///     settings = await asyncio.to_thread(read_settings, "app.json")
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe: the call is moved to a worker thread with `await asyncio.to_thread(...)`
    /// (Python 3.9+); the helper must be safe to run in another thread.
    pub(crate) struct BlockingTransitive {
        code: "AIO202",
        name: "blocking-transitive",
        severity: Warning,
    }
}

/// AIO202
pub(crate) fn blocking_transitive<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    let Some(callee) = ctx.project_function(call) else {
        return;
    };
    let Some(chain) = ctx.model.index.may_block(&callee) else {
        return;
    };
    let sink = chain.last();
    let first = chain.first().display.as_str();
    let message = format!(
        "`{first}()` blocks the event loop inside coroutine `{}`: {}",
        ctx.function_name(coroutine),
        chain.describe()
    );
    let related = Related {
        path: (sink.path != ctx.file.path).then(|| sink.path.clone()),
        range: sink.range,
        start: sink.start,
        message: format!("`{}` blocks here", chain.sink),
    };
    let mut diagnostic =
        Diagnostic::new(Rule::BlockingTransitive, call.byte_range().into(), message)
            .with_fix(to_thread_fix(ctx, call));
    diagnostic.related.push(related);
    out.push(diagnostic);
}
