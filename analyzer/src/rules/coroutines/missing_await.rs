use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::rules::usage::{Use, bound_value_misuse, classify};
use crate::rules::{Rule, RuleContext, declare_rule};

declare_rule! {
    /// ## What it does
    /// Checks for calls to coroutine functions whose coroutine is never awaited: the call is a
    /// statement of its own, is bound to a name that is never awaited, or its result is used as
    /// if it were the function's return value (`if fetch():`, `print(fetch())`,
    /// `data = fetch()` then `data["key"]`).
    ///
    /// Coroutine functions are the `async def` functions of the file (also methods called
    /// through `self.`/`cls.` or an instance of a class of the file) and the coroutines of the
    /// asyncio API (`asyncio.sleep`, `wait_for`, `open_connection`, `Queue.get`, `Lock.acquire`,
    /// `Event.wait`, `StreamWriter.drain`, ...). An `async def` that contains `yield` is an
    /// async generator and is not flagged. A coroutine handed to something that runs it
    /// (`asyncio.gather`, `create_task`, `TaskGroup.create_task`, `wait_for`, `shield`,
    /// `asyncio.run`, `run_until_complete`), returned, stored, or collected in a list is fine.
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
    /// There is no fix outside a coroutine (or in a generator expression), where `await` is not
    /// allowed.
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
    if !ctx.is_coroutine_function(&callee) {
        return;
    }
    let name = ctx.describe(&callee, call);
    let problem = match classify(ctx.model, ctx.known, ctx.scope, call) {
        Use::Dropped => "the coroutine is discarded and never runs".to_string(),
        Use::AsValue(how) => format!("the coroutine object is {how}"),
        Use::Bound(target) => {
            let target_name = ctx.text(target);
            if target_name == "_" && ctx.model.references_to("_", ctx.scope).next().is_none() {
                "the coroutine is discarded and never runs".to_string()
            } else {
                match bound_value_misuse(ctx.model, ctx.known, ctx.scope, target) {
                    Some((None, _)) => {
                        format!("`{target_name}` holds the coroutine, which never runs")
                    }
                    Some((Some(usage), how)) => {
                        let line = ctx.file.line_index.line_of(usage.start_byte()) + 1;
                        format!(
                            "`{target_name}` holds the coroutine object, which is {how} on line {line}"
                        )
                    }
                    None => return,
                }
            }
        }
        Use::Awaited | Use::Consumed | Use::Other => return,
    };
    let message = format!("coroutine `{name}` is called without `await`: {problem}");
    let fix = ctx.can_insert_await().then(|| insert_await(ctx, call));
    out.push(Diagnostic::new(Rule::MissingAwait, call.byte_range().into(), message).with_fix(fix));
}

/// `await call`, parenthesized when the call is the object of an attribute, subscript or call.
fn insert_await(ctx: &RuleContext<'_, '_>, call: Node<'_>) -> Fix {
    let needs_parens = ctx.needs_parens(call);
    let edits = if needs_parens {
        vec![
            Edit::insert(call.start_byte(), "(await "),
            Edit::insert(call.end_byte(), ")"),
        ]
    } else {
        vec![Edit::insert(call.start_byte(), "await ")]
    };
    Fix::safe("Add `await`", edits)
}
