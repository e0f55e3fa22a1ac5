use tree_sitter::Node;

use crate::calls;
use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::known::Awaitable;
use crate::rules::usage::{Use, bound_value_misuse, chained_targets, classify};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::Value;

declare_rule! {
    /// ## What it does
    /// Checks for calls to coroutine functions whose coroutine is never awaited: the call is a
    /// statement of its own, is bound to a name that is never awaited (through an assignment
    /// chain, `a = b = fetch()`, every name counts), or its result is used as if it were the
    /// function's return value (`if fetch():`, `print(fetch())`, `data = fetch()` then
    /// `data["key"]`). That includes handing it to a plain function of the same file that never
    /// awaits it: `log(fetch())` where `log` only drops its parameter or uses it as a value
    /// (`def log(value): print(value)`), never awaiting, storing, returning or passing it on.
    ///
    /// `_ = fetch()` is reported too, although pyright takes an assignment to `_` as a
    /// deliberate discard and stays silent: the coroutine still never runs. As it may be meant,
    /// the editor offers "Disable AIO100 for this line" before the fix there.
    ///
    /// Coroutine functions are the `async def` functions of the file (also methods called
    /// through `self.`/`cls.` or an instance of a class of the file) and the coroutines of the
    /// asyncio API (`asyncio.sleep`, `wait_for`, `open_connection`, `Queue.get`, `Lock.acquire`,
    /// `Event.wait`, `StreamWriter.drain`, ...). An `async def` that contains `yield` is an
    /// async generator and is not flagged. A coroutine handed to something that runs it
    /// (`asyncio.gather`, `create_task`, `TaskGroup.create_task`, `wait_for`, `shield`,
    /// `asyncio.run`, `run_until_complete`), returned, stored, or collected in a list is fine.
    ///
    /// Values are followed the way a type checker would, through imports and aliases
    /// (`from asyncio import wait_for as bounded`): tuple unpacking of library results
    /// (`reader, writer = await asyncio.open_connection(...)`), `with`/`async with` targets
    /// (`async with session.get(url) as response`), annotations of parameters, attributes and
    /// return values (`Optional[X]`, `X | None`, generic classes such as `asyncio.Queue[int]`,
    /// string annotations, names imported under `if TYPE_CHECKING:`), attributes assigned in any
    /// method or annotated in the class body (dataclass fields included), collections
    /// (`for peer in self.peers` with `peers: list[Peer]`, `dict[str, Client]` with `.values()`,
    /// `.items()`, `.get()`, `enumerate`, `zip`, `sorted`, `peers[0]`), `super().method()` in a
    /// class with one base, `cls.create()` in class methods, static methods, and instances of
    /// classes whose `__call__` is an `async def`. A loop variable also bound elsewhere in the
    /// function to something else, or iterated with `async for`, is unknown.
    ///
    /// Decorators: `functools.lru_cache`/`functools.cache` and a decorator of the project whose
    /// wrapper is an `async def` (the `functools.wraps` retry pattern, also as a factory,
    /// `@retry(times=3)`) keep an `async def` a coroutine function. Any other decorator may
    /// return anything and the function is not reported.
    ///
    /// `asyncio.gather(...)` and `loop.run_in_executor(...)` return futures: dropped as a
    /// statement their result and errors are lost, which is reported too (a future bound to a
    /// name is not: `add_done_callback`, `cancel` and `result` are uses of their own).
    /// A plain function of the file whose every `return` gives a coroutine
    /// (`def start(): return fetch()`) hands it to its caller, who must await it: a call to
    /// it is checked the same way.
    /// A coroutine used as a value includes augmented assignment (`total += count(k)`),
    /// comprehension conditions (`[k for k in keys if valid(k)]`), f-strings, `and`/`or` and
    /// comparisons.
    ///
    /// ## Why is this bad?
    /// Calling a coroutine function only creates a coroutine object; its body does not run until
    /// it is awaited or scheduled. The work is silently skipped and Python warns
    /// "coroutine ... was never awaited" at best, long after the fact. A coroutine object is also
    /// always truthy, so `if is_ready():` takes the same branch every time.
    ///
    /// ## Example
    /// ```python
    /// async def save(record): ...
    ///
    /// async def handler(record):
    ///     save(record)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def handler(record):
    ///     await save(record)
    /// ```
    ///
    /// ## Fix safety
    /// Inserting `await` inside an `async def` is safe: it runs the code that was meant to run.
    /// For `_ = fetch()` it is unsafe: the discard may be deliberate, and awaiting runs what was
    /// meant not to run. For a dropped future it is unsafe too: awaiting makes the coroutine
    /// wait for work it let run on its own. There is no fix outside a coroutine (or in a generator expression),
    /// where `await` is not allowed.
    pub(crate) struct MissingAwait {
        code: "AIO100",
        name: "missing-await",
        severity: Error,
    }
}

/// AIO100
pub(crate) fn missing_await<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let callee = ctx.callee(call);
    let returns_coroutine = !ctx.is_coroutine_function(&callee);
    if returns_coroutine && !returns_coroutines(ctx, &callee) {
        dropped_future(ctx, &callee, call, out);
        return;
    }
    let name = ctx.describe(&callee, call);
    let mut deliberate = false;
    let problem = match classify(ctx.model, ctx.known, ctx.scope, call) {
        Use::Dropped => "the coroutine is discarded and never runs".to_string(),
        Use::AsValue(how) => format!("the coroutine object is {how}"),
        Use::Bound(target) => {
            let Some(problem) = bound_problem(ctx, target) else {
                return;
            };
            deliberate = problem.deliberate;
            problem.text
        }
        Use::Awaited | Use::Consumed | Use::Other => return,
    };
    let message = if returns_coroutine {
        format!("`{name}()` returns a coroutine, used without `await`: {problem}")
    } else {
        format!("coroutine `{name}` is called without `await`: {problem}")
    };
    let fix = ctx
        .can_insert_await()
        .then(|| insert_await(ctx, call, deliberate));
    let diagnostic =
        Diagnostic::new(Rule::MissingAwait, call.byte_range().into(), message).with_fix(fix);
    out.push(if deliberate {
        diagnostic.deliberate()
    } else {
        diagnostic
    });
}

/// Whether `callee` is a plain function (not a method, undecorated, not a generator) whose
/// every `return` gives the call of a coroutine function (`def start(): return fetch()`), and
/// there is at least one: of this file, or of another module of the project (as its summary
/// tells, from the coroutine functions of that module and the libraries').
fn returns_coroutines(ctx: &RuleContext<'_, '_>, callee: &Value) -> bool {
    match callee {
        Value::Function(id) => {
            calls::returns_coroutine_calls(ctx.model, *id, ctx.known, &|value| {
                ctx.is_coroutine_function(value)
            })
        }
        Value::External(name) => ctx
            .model
            .index
            .function(name)
            .is_some_and(|function| function.returns_coroutine),
        _ => false,
    }
}

/// A call that returns a future meant to be awaited (`asyncio.gather`,
/// `loop.run_in_executor`), dropped as a statement. Only dropped: a future bound to a name has
/// legitimate uses (`add_done_callback`, `cancel`, `result`).
fn dropped_future<'t>(
    ctx: &RuleContext<'_, 't>,
    callee: &Value,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let future = match callee {
        Value::External(name) => ctx
            .known
            .function(name)
            .is_some_and(|f| f.awaitable == Awaitable::Future),
        Value::ExternalMethod { class, method } => ctx.known.is_future_method(class, method),
        _ => false,
    };
    if !future || classify(ctx.model, ctx.known, ctx.scope, call) != Use::Dropped {
        return;
    }
    let name = ctx.describe(callee, call);
    let message = format!(
        "`{name}` returns a future that is discarded without `await`: its result and its errors are never seen"
    );
    let fix = ctx.can_insert_await().then(|| {
        Fix::unsafe_(
            "Add `await`",
            vec![Edit::insert(call.start_byte(), "await ")],
        )
    });
    out.push(Diagnostic::new(Rule::MissingAwait, call.byte_range().into(), message).with_fix(fix));
}

/// What is wrong with a coroutine bound to `target` (and the other names of its assignment
/// chain, `a = b = fetch()`); `None` when one of them may use it rightly.
struct BoundProblem {
    text: String,
    /// Bound to `_` alone: the conventional deliberate discard.
    deliberate: bool,
}

fn bound_problem<'t>(ctx: &RuleContext<'_, 't>, target: Node<'t>) -> Option<BoundProblem> {
    let targets = chained_targets(ctx.model, ctx.scope, target)?;
    let mut never_read = Vec::new();
    let mut misused = None;
    for target in &targets {
        let name = ctx.text(*target);
        if name == "_" && ctx.model.references_to("_", ctx.scope).next().is_none() {
            continue;
        }
        match bound_value_misuse(ctx.model, ctx.known, ctx.scope, *target)? {
            (None, _) => never_read.push(name),
            (Some(usage), how) => {
                misused.get_or_insert((name, usage, how));
            }
        }
    }
    let text = if let Some((name, usage, how)) = misused {
        let line = ctx.file.line_index.line_of(usage.start_byte()) + 1;
        format!("`{name}` holds the coroutine object, which on line {line} is {how}")
    } else if never_read.is_empty() {
        "the coroutine is discarded and never runs".to_string()
    } else {
        let names: Vec<String> = never_read.iter().rev().map(|n| format!("`{n}`")).collect();
        let verb = if names.len() == 1 { "holds" } else { "hold" };
        format!(
            "{} {verb} the coroutine, which never runs",
            names.join(" and ")
        )
    };
    let deliberate = targets.len() == 1 && ctx.text(target) == "_" && never_read.is_empty();
    Some(BoundProblem { text, deliberate })
}

/// `await call`, parenthesized when the call is the object of an attribute, subscript or call;
/// unsafe when the coroutine may be discarded on purpose.
fn insert_await(ctx: &RuleContext<'_, '_>, call: Node<'_>, deliberate: bool) -> Fix {
    let needs_parens = ctx.needs_parens(call);
    let edits = if needs_parens {
        vec![
            Edit::insert(call.start_byte(), "(await "),
            Edit::insert(call.end_byte(), ")"),
        ]
    } else {
        vec![Edit::insert(call.start_byte(), "await ")]
    };
    if deliberate {
        Fix::unsafe_("Add `await`", edits)
    } else {
        Fix::safe("Add `await`", edits)
    }
}
