use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::ScopeKind;
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for a plain (`def`) function that calls `asyncio.run(...)` more than once: a
    /// second call on the straight path after a first one, or a call inside a `for`/`while`
    /// loop of the function. Calls in different branches of an `if`/`try`/`match` (only one of
    /// which runs) are fine.
    ///
    /// ## Why is this bad?
    /// Each `asyncio.run` creates a new event loop, runs the coroutine, cancels what is left,
    /// shuts down the default executor and closes the loop. Doing that repeatedly is slow, and
    /// anything bound to the first loop (connections, locks, queues, cached clients) is unusable
    /// in the next one. `asyncio.Runner` (Python 3.11+) keeps one loop across several calls; or
    /// make one coroutine that does all the work.
    ///
    /// ## Example
    /// ```python
    /// def main():
    ///     asyncio.run(connect())
    ///     asyncio.run(serve())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def main():
    ///     with asyncio.Runner() as runner:
    ///         runner.run(connect())
    ///         runner.run(serve())
    /// ```
    ///
    /// ## Fix safety
    /// No fix: merging the calls changes when loops are created and closed.
    pub(crate) struct RepeatedRun {
        code: "AIO301",
        name: "repeated-run",
        severity: Info,
    }
}

/// Statements and expressions that may skip part of their body, so that a call under them may
/// not run.
const CONDITIONAL: &[&str] = &[
    "if_statement",
    "elif_clause",
    "else_clause",
    "match_statement",
    "case_clause",
    "try_statement",
    "except_clause",
    "finally_clause",
    "for_statement",
    "while_statement",
    "conditional_expression",
    "boolean_operator",
    "with_statement",
    "lambda",
    "function_definition",
    "class_definition",
    "list_comprehension",
    "set_comprehension",
    "dictionary_comprehension",
    "generator_expression",
];

/// AIO301
pub(crate) fn repeated_run<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    if !is_asyncio_run(ctx, call) {
        return;
    }
    let ScopeKind::Function(id) = ctx.model.scopes[ctx.scope].kind else {
        return;
    };
    let info = &ctx.model.functions[id];
    if info.is_async {
        return;
    }
    let name = ctx.function_name(id);
    // The ancestors from the function's body down to the call.
    let Some(body_index) = ctx.ancestors.iter().rposition(|a| a.id() == info.node.id()) else {
        return;
    };
    let path = &ctx.ancestors[body_index + 1..];
    if let Some(looping) = path
        .iter()
        .find(|a| matches!(a.node_kind(), "for_statement" | "while_statement"))
    {
        let keyword = if looping.node_kind() == "for_statement" {
            "for"
        } else {
            "while"
        };
        let message = format!(
            "`asyncio.run()` in a `{keyword}` loop of `{name}` creates and closes a new event loop on every iteration; use one `asyncio.Runner` or one coroutine for all of them"
        );
        out.push(Diagnostic::new(
            Rule::RepeatedRun,
            call.byte_range().into(),
            message,
        ));
        return;
    }
    let Some(first) = earlier_unconditional_run(ctx, info.node, call, path) else {
        return;
    };
    let line = ctx.file.line_index.line_of(first.start_byte()) + 1;
    let message = format!(
        "`asyncio.run()` is called again in `{name}` (first call on line {line}): each call creates and closes a new event loop; use one `asyncio.Runner` or one coroutine"
    );
    out.push(Diagnostic::new(
        Rule::RepeatedRun,
        call.byte_range().into(),
        message,
    ));
}

fn is_asyncio_run<'t>(ctx: &RuleContext<'_, 't>, call: Node<'t>) -> bool {
    ctx.callee(call).external() == Some("asyncio.run")
}

/// An `asyncio.run` call before `call` in the same function that always runs when `call`
/// does: it sits in an earlier statement of a block that contains `call`, and nothing between
/// that block and it is conditional. `path` are the ancestors of `call` below the function.
fn earlier_unconditional_run<'t>(
    ctx: &RuleContext<'_, 't>,
    function: Node<'t>,
    call: Node<'t>,
    path: &[Node<'t>],
) -> Option<Node<'t>> {
    // Statements preceding `call` in each block on its path (the function body first); code
    // before the statement that leads to `call` has run whenever `call` runs.
    function.field("body")?;
    for block in path.iter().filter(|a| a.node_kind() == "block") {
        for statement in block.named_children_vec() {
            if statement.start_byte() >= call.start_byte() {
                break;
            }
            if statement.end_byte() > call.start_byte() {
                // The statement that contains `call`.
                break;
            }
            if matches!(
                statement.node_kind(),
                "return_statement" | "raise_statement" | "break_statement" | "continue_statement"
            ) {
                return None;
            }
            if let Some(found) = unconditional_run_in(ctx, statement) {
                return Some(found);
            }
        }
    }
    None
}

/// The first `asyncio.run` call in `statement` that is not under anything conditional.
fn unconditional_run_in<'t>(ctx: &RuleContext<'_, 't>, statement: Node<'t>) -> Option<Node<'t>> {
    let mut stack = vec![statement];
    let mut found: Option<Node<'t>> = None;
    while let Some(node) = stack.pop() {
        if CONDITIONAL.contains(&node.node_kind()) {
            continue;
        }
        if node.node_kind() == "call"
            && is_asyncio_run(ctx, node)
            && found.is_none_or(|f| node.start_byte() < f.start_byte())
        {
            found = Some(node);
        }
        stack.extend(node.named_children_vec());
    }
    found
}
