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
    /// The objects are followed as for `missing-await` (variables, attributes, `with` targets,
    /// annotations, collections), by family:
    /// - **Paths**: every file-system method of `pathlib.Path` (`read_text`, `write_bytes`,
    ///   `open`, `exists`, `mkdir`, `stat`, `resolve`, ...) on any expression that is a `Path`:
    ///   `(ROOT / "state.json").read_text()`, `ROOT.parent`, `path.with_suffix(...)`,
    ///   `Path.home()`, a `Path` parameter or attribute. `iterdir()`, `glob()`, `rglob()` and
    ///   `walk()` return lazy iterators: the call does no IO, iterating over it in the
    ///   coroutine (`for entry in root.glob("*.json")`) is reported. Methods that only compute
    ///   names (`with_suffix`, `absolute`, `expanduser`, ...), like `os.path.abspath`,
    ///   `normpath`, `join` and `expanduser`, are not reported (`expanduser("~user")` may read
    ///   the password database; that is taken as cheap).
    /// - **Files**: the object returned by `open()`, `io.open`, `Path.open`, `gzip.open`,
    ///   `bz2.open`, `lzma.open`, `tempfile.TemporaryFile`/`NamedTemporaryFile` or `os.fdopen`,
    ///   reached through a variable, `with ... as f` or an attribute, or a parameter annotated
    ///   with a concrete file class (`io.TextIOWrapper`, `io.BufferedReader`, `io.FileIO`,
    ///   `gzip.GzipFile`, ...): `read`, `readline(s)`, `write`, `writelines`, `seek`, `flush`,
    ///   `truncate`, and `for line in f`. A parameter annotated `IO[...]`, `TextIO`,
    ///   `BinaryIO` or `io.IOBase` is not reported: `io.BytesIO` and `io.StringIO` live in
    ///   memory and are those too (on real code, the values behind such annotations were
    ///   in-memory buffers). `aiofiles` and `anyio` file objects are async.
    /// - **Sync HTTP clients**: every public method of `httpx.Client`, `requests.Session`,
    ///   `urllib3.PoolManager` and `HTTPConnectionPool` (`get`, `send`, `stream`, `request`,
    ///   ...) but the few that do no IO (`build_request`, `mount`, `close`, ...).
    /// - **Sockets**: `connect`, `accept`, `recv*`, `send*` of a `socket.socket`, unless the
    ///   socket does not block: made with `SOCK_NONBLOCK`, or switched with
    ///   `setblocking(False)`/`settimeout(0)` anywhere in the function (a local socket) or the
    ///   class (an attribute); and `connect` on a `SOCK_DGRAM` socket, which sends nothing.
    /// - **Threads and queues**: `queue.Queue.get/put` unless `block=False` (or a zero timeout),
    ///   `threading.Lock/RLock/Semaphore.acquire` unless `blocking=False`, `Event.wait`,
    ///   `Condition.wait`, `Barrier.wait`, `Thread.join` unless the timeout is `0`. An argument
    ///   whose value is not known (`queue.get(block=flag)`) is not reported. `queue.Queue.put`
    ///   blocks only on a bounded queue, which the type does not tell: it is reported;
    ///   `queue.SimpleQueue.put` never blocks. `concurrent.futures.Future.result()` is not
    ///   reported: in a coroutine it is nearly always read once the future is known to be done.
    /// - **Processes**: `subprocess.run/call/check_call/check_output/getoutput/getstatusoutput`,
    ///   `Popen.wait/communicate`, `os.system`, `os.popen`, `os.wait`/`wait3`/`wait4`/`waitid`/
    ///   `waitpid`, and the eight `os.spawn*` spellings. `os.spawn*` with `os.P_NOWAIT` or
    ///   `os.P_NOWAITO` (positional or `mode=`), like `subprocess.Popen(...)` and
    ///   `os.posix_spawn`, only starts the process and returns its id: it is not reported at
    ///   all (waiting for it is).
    /// - **Databases**: `sqlite3.connect`, `Connection.execute/commit/...` and the cursors it
    ///   returns (`cursor()`, `execute()`).
    /// - **Other protocols and waits**: `smtplib.SMTP`, every method of `ftplib.FTP` that talks
    ///   to the server, `telnetlib.Telnet` reads and writes, `select.select` and a selector's
    ///   `select()` unless the timeout is `0`, `input()` and `getpass.getpass()`.
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

/// AIO201 for `for line in file` or `for entry in path.iterdir()` (or a comprehension over
/// one) in a coroutine: each step reads from the disk.
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
    let message = format!(
        "iterating over `{}` reads from the disk and blocks the event loop inside coroutine `{}`",
        ctx.text(iterable),
        ctx.function_name(coroutine)
    );
    out.push(Diagnostic::new(
        Rule::BlockingCall,
        iterable.byte_range().into(),
        message,
    ));
}
