use tree_sitter::Node;

use crate::calls;
use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::flow;
use crate::line_index::{line_start_before, newline_of};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::Value;
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks, in a coroutine, the handlers that can catch the task's cancellation and whose
    /// `try` body awaits (`await`, `async for`, `async with`): `except asyncio.CancelledError`,
    /// `except BaseException`, bare `except:`, a tuple holding one of them
    /// (`except (OSError, CancelledError):`), and the same with `except*`. Every path out of
    /// such a handler must re-raise; reported is the first that does not:
    /// - running to the end of the handler (`pass`, logging, cleanup), also on one branch
    ///   only (`if strict: raise` and nothing else);
    /// - `return`, and `break`/`continue` that leave the handler (not those of a loop inside
    ///   it);
    /// - raising another exception (`raise RuntimeError(...)`, `raise TimeoutError from None`)
    ///   instead of the cancellation; `raise Other(...) from error` (chained to the caught
    ///   exception) is fine, and so is a new exception that carries the caught one
    ///   (`raise BaseExceptionGroup("", [error])`) or raising something unknown
    ///   (`raise self._error`), which may be the cancellation.
    ///
    /// A re-raise is bare `raise`, `raise error` (the caught exception), a new
    /// `CancelledError` (or a subclass of it), or a call that never returns: `sys.exit()`,
    /// `os._exit()`, `pytest.fail()`/`skip()`/`exit()`, `self.fail()` in a `unittest` test
    /// case, a function annotated `-> NoReturn`/`-> Never`, or a project function or method
    /// whose body always raises (of this module or another one, through the project index). `except Exception` is fine: `CancelledError` is a
    /// `BaseException` since Python 3.8.
    ///
    /// In a handler reported for swallowing the cancellation (with the exemptions below), each
    /// cleanup step that suspends without a shield is reported too, on its own: an `await` (of
    /// anything but `asyncio.shield(...)`, however it is imported), an `async with` (its
    /// `__aenter__`/`__aexit__` await) and an `async for` (each step awaits), outside nested
    /// functions, lambdas and classes, and outside the body of a
    /// `with anyio.CancelScope(shield=True)`, `anyio.move_on_after(..., shield=True)` or
    /// `anyio.fail_after(..., shield=True)`. Handlers that re-raise are not checked for this:
    /// a second cancellation there only ends the task sooner, as the first one asked.
    ///
    /// Also reported: `return`, `break` or `continue` that leave the `finally` of a `try` that
    /// awaits, in a coroutine: they discard the exception in flight, a `CancelledError`
    /// included.
    ///
    /// Not reported:
    /// - handlers that call `.uncancel()` or `.cancel()` (a deliberate decision about the
    ///   cancellation), or ask `task.cancelling()` (asyncio's documented way to tell a
    ///   cancellation request from a stray `CancelledError`);
    /// - handlers that hand the exception on (`errors.append(error)`,
    ///   `future.set_exception(error)`) for someone else to raise;
    /// - a handler after one of the same `try` that already catches the cancellation
    ///   (`except CancelledError: raise` then `except BaseException:`), which the
    ///   `CancelledError` never reaches;
    /// - waiting for a task this coroutine cancelled: `task.cancel()` earlier, then a `try`
    ///   that awaits `task` (or `wait_for(task, ...)`, possibly under `asyncio.timeout()`)
    ///   with `except CancelledError: pass`. The `try` may hold other awaits too
    ///   (`server.close()`, then `await server.wait_closed()` and `await task`): the handler
    ///   is there for the cancelled task's own error, and an outer cancellation landing on one
    ///   of those awaits is the same risk the documented idiom takes at `await task` itself,
    ///   where asyncio cannot tell the two apart either. Such code that must stay cancellable
    ///   can re-raise when `asyncio.current_task().cancelling()` is non-zero. A `try` around a
    ///   loop (a routine that cancels and awaits its sub-tasks as it goes) is still checked:
    ///   its handler is there for the routine's own cancellation;
    /// - modules that import `trio` and not `asyncio`: Trio's cancellation is level-triggered
    ///   (delivered again at the next checkpoint), so `except BaseException:` followed by
    ///   cleanup is normal there. Code using `anyio` keeps the rule: it runs on asyncio.
    ///
    /// ## Why is this bad?
    /// Cancellation is delivered as a `CancelledError` raised at the `await` the task is
    /// suspended in. A handler that swallows it makes the task carry on as if nothing happened:
    /// `task.cancel()` no longer stops it, `asyncio.timeout()` and `wait_for` stop working, a
    /// `TaskGroup` cannot shut down, and the program hangs on exit.
    ///
    /// A handler that swallows the cancellation keeps the task running after it, to clean up.
    /// asyncio delivers a cancellation once: the handler's `await conn.close()` runs normally,
    /// unless the task is cancelled again, by a timeout expiring, a `TaskGroup` shutting down
    /// or a repeated `task.cancel()`. Then the `CancelledError` lands in the middle of the
    /// cleanup and leaves it half-done (a connection neither closed nor usable, a lock still
    /// held). `await asyncio.shield(conn.close())` lets the cleanup run to its end (the
    /// `await` still raises, the shielded work goes on); a handler that re-raises ends the
    /// task as the cancellation asked, and a second cancellation only ends it sooner.
    ///
    /// ## Example
    /// ```python
    /// async def worker(queue):
    ///     while True:
    ///         try:
    ///             item = await queue.get()
    ///         except asyncio.CancelledError:
    ///             log.info("stopping")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def worker(queue):
    ///     while True:
    ///         try:
    ///             item = await queue.get()
    ///         except asyncio.CancelledError:
    ///             log.info("stopping")
    ///             raise
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe: adds `raise` at the end of the handler, which changes the control flow of the
    /// code that follows. Offered only when running to the end is the handler's one way out
    /// without re-raising (no `return`, `break`, `continue` or other exception), and not when
    /// it sits on one line with its `except`. No fix for `finally`, nor for an unshielded
    /// cleanup `await`.
    pub(crate) struct CancelSwallowed {
        code: "AIO400",
        name: "cancel-swallowed",
        severity: Warning,
    }
}

/// AIO400
pub(crate) fn cancel_swallowed<'t>(
    ctx: &RuleContext<'_, 't>,
    handler: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    let Some(try_statement) = handler
        .parent()
        .filter(|p| p.node_kind() == "try_statement")
    else {
        return;
    };
    let Some(caught) = catches_cancellation(ctx, handler) else {
        return;
    };
    if earlier_handler_catches_cancellation(ctx, handler) {
        return;
    }
    let Some(body) = handler
        .named_children_vec()
        .into_iter()
        .find(|c| c.node_kind() == "block")
    else {
        return;
    };
    let Some(try_body) = try_statement.field("body") else {
        return;
    };
    if ctx.runs_on_trio_only()
        || !awaits(try_body)
        || recancels(ctx, body)
        || tests_cancelling(ctx, body)
        || hands_exception_on(ctx, handler, body)
        || waits_for_cancelled_task(ctx, try_statement)
    {
        return;
    }
    let alias = caught_alias(ctx, handler);
    let Some(path) = swallowing_path(ctx, body, alias) else {
        return;
    };
    let message = format!(
        "`{caught}` handler in coroutine `{}` swallows the task's cancellation: {}; re-raise it (`raise`) after cleaning up",
        ctx.function_name(coroutine),
        path.describe(ctx)
    );
    let values = caught_values(handler);
    let keyword_start = handler.start_byte();
    let end = values.last().map_or_else(
        || handler.child(0).map_or(keyword_start, |k| k.end_byte()),
        Node::end_byte,
    );
    let range = keyword_start..end;
    let fix = matches!(path, Swallow::FallsThrough)
        .then(|| add_raise(ctx, handler, body))
        .flatten();
    out.push(Diagnostic::new(Rule::CancelSwallowed, range.into(), message).with_fix(fix));
    let coroutine_name = ctx.function_name(coroutine);
    // Code written against anyio alone is pointed to anyio's own shield.
    let shield = if ctx.imports("anyio") && !ctx.imports("asyncio") {
        "run it under `with anyio.CancelScope(shield=True):`"
    } else {
        "wrap it in `asyncio.shield(...)`"
    };
    for suspension in unshielded_suspensions(ctx, body) {
        let message = format!(
            "cleanup `{}` in the `{caught}` handler of coroutine `{coroutine_name}`, which swallows the task's cancellation, is not shielded: a second cancellation (a timeout, a `TaskGroup` shutting down, a repeated `task.cancel()`) interrupts it half-way; {shield} or re-raise the cancellation",
            suspension.shown(ctx)
        );
        out.push(Diagnostic::new(
            Rule::CancelSwallowed,
            suspension.range().into(),
            message,
        ));
    }
}

/// AIO400 on `finally`: a `return`, `break` or `continue` that leaves the `finally` of a
/// `try` that awaits, in a coroutine, discards the exception in flight, the task's
/// `CancelledError` included.
pub(crate) fn cancel_swallowed_finally<'t>(
    ctx: &RuleContext<'_, 't>,
    finally: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(coroutine) = ctx.enclosing_coroutine() else {
        return;
    };
    let Some(try_statement) = finally
        .parent()
        .filter(|p| p.node_kind() == "try_statement")
    else {
        return;
    };
    let Some(block) = finally
        .named_children_vec()
        .into_iter()
        .find(|c| c.node_kind() == "block")
    else {
        return;
    };
    let protected_awaits = try_statement
        .named_children_vec()
        .into_iter()
        .filter(|part| part.id() != finally.id())
        .any(awaits);
    if !protected_awaits || ctx.runs_on_trio_only() {
        return;
    }
    for (jump, kind) in flow::jumps_out(block) {
        let message = format!(
            "`{}` in the `finally` of a `try` that awaits, in coroutine `{}`, discards the exception in flight, the task's cancellation included",
            kind.keyword(),
            ctx.function_name(coroutine)
        );
        out.push(Diagnostic::new(
            Rule::CancelSwallowed,
            jump.byte_range().into(),
            message,
        ));
    }
}

/// A point where a handler's body suspends, and so where a second cancellation lands.
enum Suspension<'t> {
    /// An `await` expression.
    Await(Node<'t>),
    /// An `async with` statement (its `__aenter__` and `__aexit__` await).
    AsyncWith(Node<'t>),
    /// An `async for` statement or comprehension clause (each `__anext__` awaits).
    AsyncFor(Node<'t>),
}

impl Suspension<'_> {
    /// The range reported: the `await` expression, or the header of the `async with`/`async
    /// for` (up to its items or its iterable).
    fn range(&self) -> std::ops::Range<usize> {
        match self {
            Suspension::Await(node) => node.byte_range(),
            Suspension::AsyncWith(node) => {
                let end = node
                    .named_children_vec()
                    .into_iter()
                    .find(|c| c.node_kind() == "with_clause")
                    .map_or(node.end_byte(), |c| c.end_byte());
                node.start_byte()..end
            }
            Suspension::AsyncFor(node) => {
                let end = node
                    .field("right")
                    .map_or(node.end_byte(), |r| r.end_byte());
                node.start_byte()..end
            }
        }
    }

    /// The code in the message: the reported text on one line, shortened when long
    /// (`await self.close(...)`).
    fn shown(&self, ctx: &RuleContext<'_, '_>) -> String {
        let range = self.range();
        let text = &ctx.source[range];
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() <= 60 {
            return one_line;
        }
        if let Suspension::Await(node) = self
            && let Some(callee) = node
                .named_child(0)
                .map(NodeExt::unparenthesized)
                .filter(|o| o.node_kind() == "call")
                .and_then(|call| call.field("function"))
            && !ctx.text(callee).contains('\n')
            && ctx.text(callee).chars().count() <= 50
        {
            return format!("await {}(...)", ctx.text(callee));
        }
        let mut shown: String = one_line.chars().take(57).collect();
        shown.push_str("...");
        shown
    }
}

/// The suspension points of a swallowing handler's `body` that are not shielded from a second
/// cancellation, in source order: `await`s (not of `asyncio.shield(...)`), `async with` and
/// `async for`, outside nested functions, lambdas and classes and outside the body of a
/// `with` that opens an `anyio` shielded cancel scope.
fn unshielded_suspensions<'t>(ctx: &RuleContext<'_, 't>, body: Node<'t>) -> Vec<Suspension<'t>> {
    let mut found = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "function_definition" | "lambda" | "class_definition" => continue,
            "await" if node.is_named() && !awaits_shield(ctx, node) => {
                found.push(Suspension::Await(node));
            }
            "with_statement" => {
                let is_async = node.child(0).is_some_and(|c| c.node_kind() == "async");
                if opens_anyio_shield(ctx, node) {
                    // Its body runs shielded; the items (evaluated before) are still checked.
                    let items = node
                        .named_children_vec()
                        .into_iter()
                        .filter(|c| c.node_kind() == "with_clause");
                    stack.extend(items.rev());
                    continue;
                }
                if is_async {
                    found.push(Suspension::AsyncWith(node));
                }
            }
            "for_statement" | "for_in_clause"
                if node.child(0).is_some_and(|c| c.node_kind() == "async") =>
            {
                found.push(Suspension::AsyncFor(node));
            }
            _ => {}
        }
        stack.extend(node.named_children_vec().into_iter().rev());
    }
    found.sort_by_key(|s| s.range().start);
    found
}

/// Whether `await_node` awaits a call of `asyncio.shield` (however it is imported or named).
fn awaits_shield(ctx: &RuleContext<'_, '_>, await_node: Node<'_>) -> bool {
    await_node
        .named_child(0)
        .map(NodeExt::unparenthesized)
        .filter(|operand| operand.node_kind() == "call")
        .is_some_and(|call| ctx.callee(call).external() == Some("asyncio.shield"))
}

/// Whether a `with`/`async with` statement opens a shielded `anyio` cancel scope:
/// `anyio.CancelScope(shield=True)`, `anyio.move_on_after(..., shield=True)` or
/// `anyio.fail_after(..., shield=True)` among its items.
fn opens_anyio_shield(ctx: &RuleContext<'_, '_>, with_statement: Node<'_>) -> bool {
    let Some(clause) = with_statement
        .named_children_vec()
        .into_iter()
        .find(|c| c.node_kind() == "with_clause")
    else {
        return false;
    };
    clause
        .named_children_vec()
        .into_iter()
        .filter(|item| item.node_kind() == "with_item")
        .filter_map(|item| item.field("value"))
        .map(|value| match value.node_kind() {
            "as_pattern" => value.named_child(0).unwrap_or(value),
            _ => value,
        })
        .map(NodeExt::unparenthesized)
        .filter(|manager| manager.node_kind() == "call")
        .any(|call| {
            let callee = ctx.callee(call);
            let shield_scope = matches!(
                callee.external(),
                Some("anyio.CancelScope" | "anyio.move_on_after" | "anyio.fail_after")
            );
            shield_scope
                && call.field("arguments").is_some_and(|arguments| {
                    arguments.named_children_vec().into_iter().any(|argument| {
                        argument.node_kind() == "keyword_argument"
                            && argument.field("name").map(|n| ctx.text(n)) == Some("shield")
                            && argument
                                .field("value")
                                .is_some_and(|v| v.unparenthesized().node_kind() == "true")
                    })
                })
        })
}

/// A way out of a handler that loses the cancellation.
enum Swallow<'t> {
    /// The handler can run to its end.
    FallsThrough,
    /// `return`, or `break`/`continue` out of the handler.
    Jumps(Node<'t>, flow::Jump),
    /// `raise Other(...)` without `from` the caught exception: the cancellation is replaced.
    Replaces(Node<'t>),
}

impl Swallow<'_> {
    fn describe(&self, ctx: &RuleContext<'_, '_>) -> String {
        let line = |node: Node<'_>| ctx.file.line_index.line_of(node.start_byte()) + 1;
        match self {
            Swallow::FallsThrough => "it can end without re-raising".to_string(),
            Swallow::Jumps(node, jump) => format!(
                "`{}` on line {} leaves the handler without re-raising",
                jump.keyword(),
                line(*node)
            ),
            Swallow::Replaces(node) => {
                let raised = node.named_child(0).map_or("", |e| ctx.text(e));
                format!(
                    "`raise {raised}` on line {} replaces it with another exception (not chained `from` it)",
                    line(*node)
                )
            }
        }
    }
}

/// The first path out of the handler's `body` that does not re-raise: a `return`, `break` or
/// `continue` that leaves it, a `raise` of another exception, in source order; else running
/// to its end, when it can (calls that never return, such as `sys.exit()` or a `NoReturn`
/// helper, end a path like a `raise`).
fn swallowing_path<'t>(
    ctx: &RuleContext<'_, 't>,
    body: Node<'t>,
    alias: Option<&str>,
) -> Option<Swallow<'t>> {
    let jumps = flow::jumps_out(body)
        .into_iter()
        .map(|(node, jump)| Swallow::Jumps(node, jump));
    let replaces = flow::raises(body)
        .into_iter()
        .filter(|raise| replaces_cancellation(ctx, *raise, alias))
        .map(Swallow::Replaces);
    let first = jumps.chain(replaces).min_by_key(|path| match path {
        Swallow::Jumps(node, _) | Swallow::Replaces(node) => node.start_byte(),
        Swallow::FallsThrough => usize::MAX,
    });
    if first.is_some() {
        return first;
    }
    let never_returns =
        |call: Node<'t>| calls::never_returns(ctx.model, call, ctx.scope, ctx.known);
    flow::can_complete(body, ctx.source, &never_returns).then_some(Swallow::FallsThrough)
}

/// `raise Other(...)` / `raise Other` (a class other than `CancelledError`) without
/// `from error` (the caught exception): the task ends with another exception and its
/// cancellation is lost. `raise error`, bare `raise` and raising something unknown are not.
fn replaces_cancellation(ctx: &RuleContext<'_, '_>, raise: Node<'_>, alias: Option<&str>) -> bool {
    let Some(raised) = raise.named_child(0).map(NodeExt::unparenthesized) else {
        return false;
    };
    if let Some(cause) = raise.field("cause") {
        let cause = cause.unparenthesized();
        if cause.node_kind() != "none" {
            // `from error` chains it; `from` something unknown: unsure.
            return false;
        }
    }
    let class = match raised.node_kind() {
        "call" => raised.field("function"),
        "identifier" | "attribute" => Some(raised),
        _ => None,
    };
    let Some(class) = class else {
        return false;
    };
    if alias.is_some_and(|alias| ctx.text(class) == alias || carries(ctx, raised, alias)) {
        return false;
    }
    match ctx.infer(class) {
        // A class of this file that derives from `CancelledError` is a cancellation too.
        Value::Class(id) => !ctx.model.classes[id].bases.iter().any(|base| {
            let base = ctx
                .model
                .infer(*base, ctx.model.classes[id].parent_scope, ctx.known);
            base == Value::Unknown || is_cancellation(&base)
        }),
        Value::External(name) => {
            !is_cancellation(&Value::External(name.clone()))
                && name
                    .rsplit('.')
                    .next()
                    .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase()))
        }
        _ => false,
    }
}

/// Whether the raised call carries the caught exception `alias` along: as an argument or an
/// element of a list or tuple argument (`BaseExceptionGroup("", [error])`), so the
/// cancellation is still raised, inside the new exception.
fn carries(ctx: &RuleContext<'_, '_>, raised: Node<'_>, alias: &str) -> bool {
    let arguments = raised
        .field("arguments")
        .map(|a| a.named_children_vec())
        .unwrap_or_default();
    arguments
        .into_iter()
        .any(|argument| match argument.node_kind() {
            "list" | "tuple" => argument
                .named_children_vec()
                .iter()
                .any(|element| ctx.text(*element) == alias),
            _ => ctx.text(argument) == alias,
        })
}

/// The name the handler binds the exception to (`except E as error`), if any.
fn caught_alias<'t>(ctx: &RuleContext<'_, 't>, handler: Node<'t>) -> Option<&'t str> {
    caught_values(handler)
        .into_iter()
        .find(|v| v.node_kind() == "as_pattern")
        .and_then(|p| p.named_child(1))
        .map(|target| ctx.text(target).trim())
        .or_else(|| handler.field("alias").map(|a| ctx.text(a)))
}

/// The exception expressions of an `except` clause (none for a bare `except:`).
fn caught_values(handler: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = handler.walk();
    handler
        .children_by_field_name("value", &mut cursor)
        .filter(|c| c.is_named() && c.node_kind() != "comment")
        .collect()
}

/// How the handler names what it catches, when that includes the task's cancellation.
fn catches_cancellation<'t>(ctx: &RuleContext<'_, 't>, handler: Node<'t>) -> Option<String> {
    let values = caught_values(handler);
    if values.is_empty() {
        return Some("except:".to_string());
    }
    let keyword = if handler.child(1).is_some_and(|c| c.node_kind() == "*") {
        "except*"
    } else {
        "except"
    };
    handler
        .caught_exceptions()
        .into_iter()
        .find(|exception| is_cancellation(&ctx.infer(*exception)))
        .map(|exception| format!("{keyword} {}", ctx.text(exception)))
}

/// Whether a handler before `handler` in its `try` statement may already catch the task's
/// cancellation: the `CancelledError` goes there (whatever that handler does with it, a `raise`
/// inside a handler is not caught by its siblings), so `handler` never sees it. An exception
/// that cannot be resolved may be `CancelledError` too.
fn earlier_handler_catches_cancellation<'t>(ctx: &RuleContext<'_, 't>, handler: Node<'t>) -> bool {
    let mut sibling = handler.prev_named_sibling();
    while let Some(earlier) = sibling {
        if earlier.node_kind() == handler.node_kind()
            && earlier.caught_exceptions().into_iter().any(|exception| {
                let value = ctx.infer(exception);
                value == Value::Unknown || is_cancellation(&value)
            })
        {
            return true;
        }
        sibling = earlier.prev_named_sibling();
    }
    false
}

/// Whether catching `value` catches the task's cancellation.
fn is_cancellation(value: &Value) -> bool {
    matches!(
        value.external(),
        Some("asyncio.CancelledError" | "builtins.BaseException")
    )
}

/// Whether `node` contains an `await`, `async for` or `async with` of the current function
/// (nested functions and lambdas are not run here).
fn awaits(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        match current.node_kind() {
            "await" => return true,
            "for_statement" | "with_statement" | "for_in_clause"
                if current.child(0).is_some_and(|c| c.node_kind() == "async") =>
            {
                return true;
            }
            "function_definition" | "lambda" | "class_definition" => {}
            _ => stack.extend(current.named_children_vec()),
        }
    }
    false
}

/// Whether the handler un-cancels or re-cancels the task (`task.uncancel()`,
/// `task.cancel()`): a deliberate decision about the cancellation.
fn recancels(ctx: &RuleContext<'_, '_>, body: Node<'_>) -> bool {
    calls_method(ctx, body, &["uncancel", "cancel"])
}

/// Whether the handler asks `task.cancelling()`: asyncio's documented way to tell a
/// cancellation request of this task (re-raised) from a stray `CancelledError`.
fn tests_cancelling(ctx: &RuleContext<'_, '_>, body: Node<'_>) -> bool {
    calls_method(ctx, body, &["cancelling"])
}

/// Whether `body` calls a method named one of `methods` (nested functions excluded).
fn calls_method(ctx: &RuleContext<'_, '_>, body: Node<'_>, methods: &[&str]) -> bool {
    let mut stack = vec![body];
    while let Some(current) = stack.pop() {
        match current.node_kind() {
            "call" => {
                let method = current
                    .field("function")
                    .filter(|f| f.node_kind() == "attribute")
                    .and_then(|f| f.field("attribute"))
                    .map(|a| ctx.text(a));
                if method.is_some_and(|m| methods.contains(&m)) {
                    return true;
                }
                stack.extend(current.named_children_vec());
            }
            "function_definition" | "lambda" | "class_definition" => {}
            _ => stack.extend(current.named_children_vec()),
        }
    }
    false
}

/// `task.cancel()` earlier in the function, then `try: await task` (or
/// `await asyncio.wait_for(task, ...)`, possibly under `async with asyncio.timeout(...)`): the
/// handler is there for the cancelled task's `CancelledError`. Other awaits in the same `try`
/// (`server.close()` then `await server.wait_closed()`) do not change that (see the rule's
/// documentation), but a loop does: a `try` around a routine's loop is there for the
/// routine's own cancellation.
fn waits_for_cancelled_task(ctx: &RuleContext<'_, '_>, try_statement: Node<'_>) -> bool {
    let Some(body) = try_statement.field("body") else {
        return false;
    };
    let Some(function) = ctx
        .ancestors
        .iter()
        .rev()
        .find(|a| a.node_kind() == "function_definition")
    else {
        return false;
    };
    if contains_loop(body) {
        // A routine's whole loop under `try`: the handler is there for its own cancellation.
        return false;
    }
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "await" if node.is_named() => {
                let Some(operand) = node.named_child(0).map(NodeExt::unparenthesized) else {
                    continue;
                };
                let waited = match operand.node_kind() {
                    "identifier" | "attribute" => Some(operand),
                    "call" => operand
                        .field("arguments")
                        .and_then(|a| a.named_children_vec().into_iter().next())
                        .filter(|a| matches!(a.node_kind(), "identifier" | "attribute")),
                    _ => None,
                };
                if waited.is_some_and(|w| {
                    cancelled_before(ctx, *function, ctx.text(w), node.start_byte())
                }) {
                    return true;
                }
                stack.extend(node.named_children_vec());
            }
            "function_definition" | "lambda" | "class_definition" => {}
            _ => stack.extend(node.named_children_vec()),
        }
    }
    false
}

/// Whether `body` holds a `for` or `while` loop (nested functions excluded).
fn contains_loop(body: Node<'_>) -> bool {
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "for_statement" | "while_statement" => return true,
            "function_definition" | "lambda" | "class_definition" => {}
            _ => stack.extend(node.named_children_vec()),
        }
    }
    false
}

/// Whether `function` calls `name.cancel()` before byte offset `at`.
fn cancelled_before(ctx: &RuleContext<'_, '_>, function: Node<'_>, name: &str, at: usize) -> bool {
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.start_byte() >= at {
            continue;
        }
        if node.node_kind() == "call"
            && let Some(callee) = node
                .field("function")
                .filter(|f| f.node_kind() == "attribute")
            && callee.field("attribute").map(|a| ctx.text(a)) == Some("cancel")
            && callee.field("object").is_some_and(|o| ctx.text(o) == name)
        {
            return true;
        }
        stack.extend(node.named_children_vec());
    }
    false
}

/// `except BaseException as error:` that hands `error` on (`errors.append(error)`,
/// `future.set_exception(error)`, `saved = error`): the exception is propagated later, by
/// whoever receives it. Logging it does not count.
fn hands_exception_on(ctx: &RuleContext<'_, '_>, handler: Node<'_>, body: Node<'_>) -> bool {
    let Some(alias) = caught_alias(ctx, handler) else {
        return false;
    };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "assignment" => {
                if node.field("right").is_some_and(|r| ctx.text(r) == alias) {
                    return true;
                }
                stack.extend(node.named_children_vec());
            }
            "call" => {
                let method = node.field("function").map_or("", |f| match f.node_kind() {
                    "attribute" => f.field("attribute").map_or("", |a| ctx.text(a)),
                    _ => ctx.text(f),
                });
                let logs = matches!(
                    method,
                    "debug"
                        | "info"
                        | "warning"
                        | "warn"
                        | "error"
                        | "exception"
                        | "critical"
                        | "log"
                        | "print"
                        | "str"
                        | "repr"
                        | "format"
                        | "isinstance"
                );
                let passes_alias = node.field("arguments").is_some_and(|arguments| {
                    arguments
                        .named_children_vec()
                        .iter()
                        .any(|a| ctx.text(*a) == alias)
                });
                if passes_alias && !logs {
                    return true;
                }
                stack.extend(node.named_children_vec());
            }
            "function_definition" | "lambda" | "class_definition" => {}
            _ => stack.extend(node.named_children_vec()),
        }
    }
    false
}

/// Adds `raise` as the handler's last statement.
fn add_raise(ctx: &RuleContext<'_, '_>, handler: Node<'_>, body: Node<'_>) -> Option<Fix> {
    let statements = body.named_children_vec();
    let first = statements.first()?;
    let last = statements.last()?;
    if matches!(
        last.node_kind(),
        "return_statement" | "break_statement" | "continue_statement"
    ) {
        return None;
    }
    let line_start = line_start_before(ctx.source, first.start_byte());
    if line_start == 0 {
        return None;
    }
    let indent = &ctx.source[line_start..first.start_byte()];
    if !indent.chars().all(|c| c == ' ' || c == '\t') || line_start <= handler.start_byte() {
        return None;
    }
    let edit = if last.node_kind() == "pass_statement" {
        Edit::replace(last.byte_range().into(), "raise")
    } else {
        Edit::insert(
            last.end_byte(),
            format!("{}{indent}raise", newline_of(ctx.source)),
        )
    };
    Some(Fix::unsafe_(
        "Re-raise the cancellation at the end of the handler",
        vec![edit],
    ))
}
