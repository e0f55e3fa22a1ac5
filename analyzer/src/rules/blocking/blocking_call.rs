use tree_sitter::Node;

use crate::calls::{self, TIME_SLEEP};
use crate::diagnostic::Diagnostic;
use crate::rules::blocking::to_thread_fix;
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::{ClassRef, Value};
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for calls that block the thread inside a coroutine: HTTP requests (`requests`,
    /// `urllib.request.urlopen`, `http.client`, the sync API of `httpx`, `urllib3`), subprocesses
    /// (`subprocess.run`, `os.system`, `os.popen`, `Popen.wait`), the builtin `open` and file
    /// system calls (`os.path.exists`, `pathlib.Path.read_text`, `shutil.copy`, ...), blocking
    /// socket calls and name resolution, `input()`, `sqlite3` and `psycopg2`, `smtplib`, and
    /// thread synchronisation (`threading.Lock.acquire`, `queue.Queue.get`), plus the calls
    /// listed in the `extra-blocking-calls` setting. Calls are resolved through imports and
    /// aliases and on instances (`session = requests.Session()`, parameters annotated
    /// `lock: threading.Lock`, also `Optional[...]`, `Union[..., None]` and `... | None` from
    /// `typing` or `typing_extensions`, however imported). A function passed to
    /// `asyncio.to_thread` or `loop.run_in_executor` is not called in the coroutine and is
    /// fine.
    ///
    /// ## Why is this bad?
    /// While the call waits for the network, the disk or another thread, the event loop cannot
    /// run anything else: every task, timer and connection of the program stalls.
    ///
    /// ## Example
    /// ```python
    /// async def download(url):
    ///     return requests.get(url, timeout=10).content
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def download(url):
    ///     response = await asyncio.to_thread(requests.get, url, timeout=10)
    ///     return response.content
    /// ```
    /// or an async library (`httpx.AsyncClient`, `aiohttp`).
    ///
    /// ## Fix safety
    /// Unsafe: the call is moved to a worker thread with `await asyncio.to_thread(...)`
    /// (Python 3.9+), which changes which thread runs it and how it interleaves with other
    /// tasks.
    pub(crate) struct BlockingCall {
        code: "AIO201",
        name: "blocking-call",
        severity: Warning,
    }
}

/// AIO201
pub(crate) fn blocking_call<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    let Some(description) =
        calls::blocking_call(ctx.model, call, ctx.scope, ctx.known, ctx.settings)
    else {
        return;
    };
    if description == format!("{TIME_SLEEP}()") {
        return;
    }
    let message = format!(
        "`{description}` blocks the event loop inside coroutine `{}`",
        ctx.function_name(coroutine)
    );
    let fix = to_thread_fix(ctx, call);
    out.push(Diagnostic::new(Rule::BlockingCall, call.byte_range().into(), message).with_fix(fix));
}

/// AIO201 for `for line in file` (or a comprehension over a file) in a coroutine: each step
/// reads the file.
pub(crate) fn blocking_iteration<'t>(
    ctx: &RuleContext<'_, 't>,
    node: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    if node.child(0).is_some_and(|c| c.node_kind() == "async") {
        return;
    }
    let Some(iterable) = node.field("right") else {
        return;
    };
    let Value::Instance(ClassRef::External(class)) = ctx.infer(iterable) else {
        return;
    };
    if !ctx.known.blocks_when_iterated(&class) {
        return;
    }
    let class = class.rsplit('.').next().unwrap_or(&class);
    let message = format!(
        "iterating over `{}` (`{class}`) reads the file and blocks the event loop inside coroutine `{}`",
        ctx.text(iterable),
        ctx.function_name(coroutine)
    );
    out.push(Diagnostic::new(
        Rule::BlockingCall,
        iterable.byte_range().into(),
        message,
    ));
}
