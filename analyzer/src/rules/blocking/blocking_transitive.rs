use tree_sitter::Node;

use crate::diagnostic::{Diagnostic, Related};
use crate::index::Chain;
use crate::rules::blocking::to_thread_fix;
use crate::rules::pending::{Pending, Question};
use crate::rules::{Rule, RuleContext, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks for coroutines that call a sync function of the project which blocks, directly
    /// or through any number of further sync calls, in this module or another one
    /// (`load_config -> read_disk -> time.sleep()`). The finding is reported at the call in the
    /// coroutine; the message names the chain and the related location points at the blocking
    /// call. Passing the function to `asyncio.to_thread` or `loop.run_in_executor` instead of
    /// calling it is fine. A helper blocks through the calls `blocking-call` reports, found
    /// through the same inference (a `Path` parameter's `read_text()`, a file's `read()`, a
    /// sync HTTP client's methods); iterating over a file in a helper is not counted.
    ///
    /// A helper that blocks only on some of its branches (`if host == "localhost":
    /// time.sleep(1)`) is reported at every call from a coroutine, whatever the arguments: the
    /// analysis does not evaluate them, and the call may reach that branch. The message then
    /// says "may block" and names the condition of the blocking call in its function
    /// (`(when `host == "localhost"` in `connect`)`); the related location points at the
    /// blocking call. Move the branch out of the helper, or suppress the finding where the
    /// branch cannot be reached.
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

/// AIO202: a pending finding for every call in a coroutine to a project sync function; it
/// is reported if the call graph says that function blocks.
pub(crate) fn blocking_transitive<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Pending>,
) {
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    let Some(callee) = ctx.project_sync_function(call) else {
        return;
    };
    out.push(Pending {
        question: Question::Blocks(callee),
        range: call.byte_range().into(),
        coroutine: ctx.function_name(coroutine),
        fix: to_thread_fix(ctx, call),
    });
}

/// The finding for `pending`, whose callee blocks through `chain`.
pub(crate) fn report(pending: &Pending, chain: &Chain, path: &str) -> Diagnostic {
    let sink = chain.last();
    let first = chain.first().display.as_str();
    let message = format!(
        "`{first}()` {} the event loop inside coroutine `{}`: {}",
        chain.verb("blocks", "may block"),
        pending.coroutine,
        chain.describe()
    );
    let related = Related {
        path: (sink.path != path).then(|| sink.path.clone()),
        range: sink.range,
        start: sink.start,
        message: format!("`{}` blocks here", chain.sink),
    };
    let mut diagnostic = Diagnostic::new(Rule::BlockingTransitive, pending.range, message)
        .with_fix(pending.fix.clone());
    diagnostic.related.push(related);
    diagnostic
}
