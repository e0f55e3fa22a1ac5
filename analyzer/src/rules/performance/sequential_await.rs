use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::ScopeKind;
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Opt-in (select `AIO600` or `sequential-await`). Checks for loops and comprehensions that
    /// await independent calls one by one: `[await fetch(u) for u in urls]`, or a `for` loop
    /// whose body is simple statements with a single `await` of a call whose arguments use the
    /// loop variable and nothing computed in the loop, and whose result is collected
    /// (`for u in urls: results.append(await fetch(u))`, `by_url[u] = await fetch(u)`,
    /// `total += await size(u)`).
    ///
    /// Not reported: loops that may stop early (`break`, `return`, `continue`), calls whose
    /// arguments change inside the loop (pagination: `page = await fetch(page.next)`), calls
    /// that do not use the loop variable (`await queue.get()`), calls made for their effect
    /// (a bare `await send(x)`), `asyncio.sleep`, and methods whose order usually matters
    /// (`send`, `write`, `put`, `publish`, ...).
    ///
    /// ## Why is this bad?
    /// Each iteration waits for the previous call to finish, so ten 100 ms requests take a
    /// second instead of 100 ms. When the calls do not depend on each other they can run
    /// concurrently.
    ///
    /// ## Example
    /// ```python
    /// async def fetch_all(urls):
    ///     return [await fetch(u) for u in urls]
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def fetch_all(urls):
    ///     return await asyncio.gather(*(fetch(u) for u in urls))
    /// ```
    ///
    /// ## Fix safety
    /// No fix: running the calls concurrently changes ordering, error handling and load on the
    /// other side; the message suggests `asyncio.gather` or a `TaskGroup`.
    pub(crate) struct SequentialAwait {
        code: "AIO600",
        name: "sequential-await",
        severity: Info,
        default_enabled: false,
    }
}

/// Methods whose calls usually must stay in order.
const ORDERED_METHODS: &[&str] = &[
    "send",
    "sendall",
    "send_bytes",
    "send_json",
    "send_str",
    "send_text",
    "send_message",
    "write",
    "writelines",
    "drain",
    "put",
    "publish",
    "execute",
    "executemany",
    "commit",
    "acquire",
    "release",
    "wait",
    "sleep",
];

/// AIO600
pub(crate) fn sequential_await<'t>(
    ctx: &RuleContext<'_, 't>,
    await_node: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    if !await_node.is_named() || ctx.enclosing_coroutine().is_none() {
        return;
    }
    let Some(call) = await_node
        .named_child(0)
        .map(NodeExt::unparenthesized)
        .filter(|c| c.node_kind() == "call")
    else {
        return;
    };
    if !plain_call(ctx, call) {
        return;
    }
    let independent = match ctx.model.scopes[ctx.scope].kind {
        ScopeKind::Comprehension { generator: false } => in_comprehension(ctx, await_node, call),
        ScopeKind::Function(_) => collected(ctx, await_node) && in_for_loop(ctx, call),
        _ => false,
    };
    if !independent {
        return;
    }
    let callee = call
        .field("function")
        .map_or("", |f| ctx.text(f))
        .to_string();
    let message = format!(
        "`await {callee}(...)` runs once per iteration, one call after another; the calls look independent, so run them concurrently with `asyncio.gather` or a `TaskGroup`"
    );
    out.push(Diagnostic::new(
        Rule::SequentialAwait,
        await_node.byte_range().into(),
        message,
    ));
}

/// A call that is not `asyncio.sleep` and not an order-sensitive method.
fn plain_call(ctx: &RuleContext<'_, '_>, call: Node<'_>) -> bool {
    let Some(function) = call.field("function") else {
        return false;
    };
    let last_name = match function.node_kind() {
        "attribute" => function.field("attribute").map(|a| ctx.text(a)),
        "identifier" => Some(ctx.text(function)),
        _ => None,
    };
    last_name.is_some_and(|name| !ORDERED_METHODS.contains(&name))
}

/// `[await f(x) for x in xs]`: one `for` clause, the await in the body.
fn in_comprehension<'t>(ctx: &RuleContext<'_, 't>, await_node: Node<'t>, call: Node<'t>) -> bool {
    let Some(comprehension) = ctx.ancestors.iter().rev().find(|a| {
        matches!(
            a.node_kind(),
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension"
        )
    }) else {
        return false;
    };
    let children = comprehension.named_children_vec();
    let clauses: Vec<Node<'t>> = children
        .iter()
        .copied()
        .filter(|c| c.node_kind() == "for_in_clause")
        .collect();
    let [clause] = clauses.as_slice() else {
        return false;
    };
    if clause.child(0).is_some_and(|c| c.node_kind() == "async") {
        return false;
    }
    let Some(body) = comprehension.field("body") else {
        return false;
    };
    let in_body =
        body.start_byte() <= await_node.start_byte() && await_node.end_byte() <= body.end_byte();
    if !in_body || count_awaits(*comprehension) != 1 {
        return false;
    }
    let targets = clause.field("left").map(names_in).unwrap_or_default();
    uses_only_loop_values(ctx, call, &targets, &[])
}

/// Whether the awaited result is collected: `results.append(await ...)` (or `add`,
/// `extend`), `by_key[k] = await ...`, `total += await ...`. A bare `await send(x)` is done for
/// its effect, where order usually matters.
fn collected<'t>(ctx: &RuleContext<'_, 't>, await_node: Node<'t>) -> bool {
    let mut child = await_node;
    let mut parent = await_node.parent();
    while let Some(p) = parent.filter(|p| p.node_kind() == "parenthesized_expression") {
        child = p;
        parent = p.parent();
    }
    let Some(parent) = parent else {
        return false;
    };
    match parent.node_kind() {
        "argument_list" => parent
            .parent()
            .and_then(|call| call.field("function"))
            .filter(|f| f.node_kind() == "attribute")
            .and_then(|f| f.field("attribute"))
            .is_some_and(|m| matches!(ctx.text(m), "append" | "add" | "extend" | "appendleft")),
        "assignment" => {
            parent.field("right").is_some_and(|r| r.id() == child.id())
                && parent
                    .field("left")
                    .is_some_and(|l| l.node_kind() == "subscript")
        }
        "augmented_assignment" => parent.field("right").is_some_and(|r| r.id() == child.id()),
        _ => false,
    }
}

/// `for x in xs:` whose body is simple statements with this single await.
fn in_for_loop<'t>(ctx: &RuleContext<'_, 't>, call: Node<'t>) -> bool {
    // The nearest statement block around the await must be the body of a `for` loop.
    let Some(block_index) = ctx.ancestors.iter().rposition(|a| a.node_kind() == "block") else {
        return false;
    };
    let Some(loop_node) = block_index
        .checked_sub(1)
        .map(|i| ctx.ancestors[i])
        .filter(|l| l.node_kind() == "for_statement")
    else {
        return false;
    };
    if loop_node.child(0).is_some_and(|c| c.node_kind() == "async")
        || loop_node.field("alternative").is_some()
    {
        return false;
    }
    let Some(body) = loop_node.field("body") else {
        return false;
    };
    let statements = body.named_children_vec();
    let simple = statements.iter().all(|s| {
        matches!(
            s.node_kind(),
            "expression_statement" | "pass_statement" | "assert_statement"
        )
    });
    if !simple || count_awaits(body) != 1 {
        return false;
    }
    // The await itself must be at the statement level (an expression, an assignment's value, or
    // an argument of a call such as `append`), not inside a lambda or conditional expression.
    let path = &ctx.ancestors[block_index + 1..];
    if path.iter().any(|a| {
        matches!(
            a.node_kind(),
            "conditional_expression" | "boolean_operator" | "lambda"
        )
    }) {
        return false;
    }
    let targets = loop_node.field("left").map(names_in).unwrap_or_default();
    let assigned: Vec<&str> = statements
        .iter()
        .filter_map(|s| s.named_child(0))
        .filter(|e| matches!(e.node_kind(), "assignment" | "augmented_assignment"))
        .filter_map(|e| e.field("left"))
        .flat_map(|left| {
            // `x = ...` and `a, b = ...` rebind names; `d[k] = ...` and `o.a = ...` do not.
            if matches!(
                left.node_kind(),
                "identifier" | "pattern_list" | "tuple_pattern"
            ) {
                names_in(left)
            } else {
                Vec::new()
            }
        })
        .map(|n| ctx.text(n))
        .collect();
    uses_only_loop_values(ctx, call, &targets, &assigned)
}

/// Whether the call's arguments use a loop variable, and neither the arguments nor the callee
/// use a name the loop rebinds.
fn uses_only_loop_values<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    targets: &[Node<'t>],
    assigned: &[&str],
) -> bool {
    let targets: Vec<&str> = targets.iter().map(|t| ctx.text(*t)).collect();
    let (Some(arguments), Some(function)) = (call.field("arguments"), call.field("function"))
    else {
        return false;
    };
    let argument_names: Vec<&str> = names_read(arguments)
        .into_iter()
        .map(|n| ctx.text(n))
        .collect();
    let callee_names: Vec<&str> = names_read(function)
        .into_iter()
        .map(|n| ctx.text(n))
        .collect();
    argument_names.iter().any(|n| targets.contains(n))
        && !argument_names
            .iter()
            .chain(&callee_names)
            .any(|n| assigned.contains(n))
        && !callee_names.iter().any(|n| targets.contains(n))
}

/// `await` expressions under `node`, not counting nested functions.
fn count_awaits(node: Node<'_>) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        match current.node_kind() {
            "await" => count += 1,
            "for_statement" | "with_statement" | "for_in_clause"
                if current.child(0).is_some_and(|c| c.node_kind() == "async") =>
            {
                count += 2;
            }
            "function_definition" | "lambda" | "class_definition" => continue,
            _ => {}
        }
        stack.extend(current.named_children_vec());
    }
    count
}

/// The identifiers bound by a target pattern.
fn names_in(pattern: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![pattern];
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "identifier" => found.push(node),
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "tuple"
            | "list"
            | "parenthesized_expression"
            | "list_splat_pattern" => {
                stack.extend(node.named_children_vec());
            }
            _ => {}
        }
    }
    found
}

/// The names an expression reads: identifiers, but not attribute names or keyword names.
fn names_read(node: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        match current.node_kind() {
            "identifier" => found.push(current),
            "attribute" => stack.extend(current.field("object")),
            "keyword_argument" => stack.extend(current.field("value")),
            "lambda" => {}
            _ => stack.extend(current.named_children_vec()),
        }
    }
    found
}
