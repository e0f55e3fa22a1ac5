use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::Value;
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks, in a coroutine, for `except asyncio.CancelledError`, `except BaseException` and
    /// bare `except:` handlers whose `try` body awaits (`await`, `async for`, `async with`) and
    /// that neither re-raise (a `raise` anywhere in the handler counts) nor call `.uncancel()`
    /// or `.cancel()`. `except Exception` is fine: `CancelledError` is a `BaseException` since
    /// Python 3.8.
    ///
    /// Not reported: the idiom that waits for a task it has just cancelled
    /// (`task.cancel()` then `try: await task` / `except CancelledError: pass`, also through
    /// `wait_for(task, ...)` or under `async with asyncio.timeout(...)`), where the
    /// `CancelledError` is normally the task's own; handlers that hand the exception on
    /// (`errors.append(error)`, `future.set_exception(error)`) for someone else to raise; and a
    /// handler after one of the same `try` that already catches the cancellation
    /// (`except CancelledError: raise` then `except BaseException:`, or a bare `except:` after
    /// `except BaseException:`), which the `CancelledError` never reaches.
    ///
    /// ## Why is this bad?
    /// Cancellation is delivered as a `CancelledError` raised at the `await` the task is
    /// suspended in. A handler that swallows it makes the task carry on as if nothing happened:
    /// `task.cancel()` no longer stops it, `asyncio.timeout()` and `wait_for` stop working, a
    /// `TaskGroup` cannot shut down, and the program hangs on exit.
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
    /// code that follows. Not offered when the handler ends with `return`, `break` or
    /// `continue`, or sits on one line with its `except`.
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
    if !awaits(try_body)
        || propagates(ctx, body)
        || hands_exception_on(ctx, handler, body)
        || waits_for_cancelled_task(ctx, try_statement)
    {
        return;
    }
    let message = format!(
        "`{caught}` handler in coroutine `{}` swallows the task's cancellation; re-raise it (`raise`) after cleaning up",
        ctx.function_name(coroutine)
    );
    let values = caught_values(handler);
    let keyword_start = handler.start_byte();
    let end = values.last().map_or_else(
        || handler.child(0).map_or(keyword_start, |k| k.end_byte()),
        Node::end_byte,
    );
    let range = keyword_start..end;
    out.push(
        Diagnostic::new(Rule::CancelSwallowed, range.into(), message)
            .with_fix(add_raise(ctx, handler, body)),
    );
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
    let mut stack = values;
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "tuple" | "parenthesized_expression" | "expression_list" => {
                stack.extend(node.named_children_vec());
            }
            // `except E as name`.
            "as_pattern" => stack.extend(node.named_child(0)),
            _ => {
                if is_cancellation(&ctx.infer(node)) {
                    return Some(format!("except {}", ctx.text(node)));
                }
            }
        }
    }
    None
}

/// Whether a handler before `handler` in its `try` statement may already catch the task's
/// cancellation: the `CancelledError` goes there (whatever that handler does with it, a `raise`
/// inside a handler is not caught by its siblings), so `handler` never sees it. An exception
/// that cannot be resolved may be `CancelledError` too.
fn earlier_handler_catches_cancellation<'t>(ctx: &RuleContext<'_, 't>, handler: Node<'t>) -> bool {
    let mut sibling = handler.prev_named_sibling();
    while let Some(earlier) = sibling {
        if earlier.node_kind() == handler.node_kind() {
            let mut stack = caught_values(earlier);
            while let Some(node) = stack.pop() {
                match node.node_kind() {
                    "tuple" | "parenthesized_expression" | "expression_list" => {
                        stack.extend(node.named_children_vec());
                    }
                    "as_pattern" => stack.extend(node.named_child(0)),
                    _ => {
                        let value = ctx.infer(node);
                        if value == Value::Unknown || is_cancellation(&value) {
                            return true;
                        }
                    }
                }
            }
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

/// Whether the handler re-raises somewhere, or un-cancels or re-cancels the task.
fn propagates(ctx: &RuleContext<'_, '_>, body: Node<'_>) -> bool {
    let mut stack = vec![body];
    while let Some(current) = stack.pop() {
        match current.node_kind() {
            "raise_statement" => return true,
            "call" => {
                let method = current
                    .field("function")
                    .filter(|f| f.node_kind() == "attribute")
                    .and_then(|f| f.field("attribute"))
                    .map(|a| ctx.text(a));
                if matches!(method, Some("uncancel" | "cancel")) {
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
/// handler catches the cancelled task's `CancelledError`. Every `await` of the `try` body must
/// wait for a task cancelled before it.
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
    let mut awaited = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "await" if node.is_named() => {
                let Some(operand) = node.named_child(0).map(NodeExt::unparenthesized) else {
                    return false;
                };
                let waited = match operand.node_kind() {
                    "identifier" | "attribute" => Some(operand),
                    "call" => operand
                        .field("arguments")
                        .and_then(|a| a.named_children_vec().into_iter().next())
                        .filter(|a| matches!(a.node_kind(), "identifier" | "attribute")),
                    _ => None,
                };
                let Some(waited) = waited else {
                    return false;
                };
                awaited.push((ctx.text(waited), node.start_byte()));
            }
            "for_statement" | "for_in_clause"
                if node.child(0).is_some_and(|c| c.node_kind() == "async") =>
            {
                return false;
            }
            "function_definition" | "lambda" | "class_definition" => {}
            _ => stack.extend(node.named_children_vec()),
        }
    }
    !awaited.is_empty()
        && awaited
            .iter()
            .all(|(name, at)| cancelled_before(ctx, *function, name, *at))
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
    let Some(alias) = caught_values(handler)
        .into_iter()
        .find(|v| v.node_kind() == "as_pattern")
        .and_then(|p| p.named_child(1))
        .map(|target| ctx.text(target).trim())
        .or_else(|| handler.field("alias").map(|a| ctx.text(a)))
    else {
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
    let line_start = ctx.source[..first.start_byte()].rfind('\n')? + 1;
    let indent = &ctx.source[line_start..first.start_byte()];
    if !indent.chars().all(|c| c == ' ' || c == '\t') || line_start <= handler.start_byte() {
        return None;
    }
    let edit = if last.node_kind() == "pass_statement" {
        Edit::replace(last.byte_range().into(), "raise")
    } else {
        Edit::insert(last.end_byte(), format!("\n{indent}raise"))
    };
    Some(Fix::unsafe_(
        "Re-raise the cancellation at the end of the handler",
        vec![edit],
    ))
}
