use crate::syntax::NodeExt;
use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::{ScopeId, ScopeKind};
use crate::source::SourceKind;

declare_rule! {
    /// ## What it does
    /// Checks for `await`, `async for` and `async with` outside an `async def`: in a plain
    /// `def`, a `lambda`, a class body, or at the top level of a `.py` module. In a Jupyter
    /// notebook, top-level `await` is fine (`IPython` runs each cell in its event loop). An
    /// `await` in a comprehension inside an `async def` is fine, and so is a generator
    /// expression with `await` or `async for` anywhere (it is an async generator expression).
    /// Code runs where Python evaluates it: the default values of a nested `def`'s or
    /// `lambda`'s parameters are evaluated by the enclosing function, so
    /// `def inner(x=await make()):` inside an `async def` is fine, while the iterable of a
    /// comprehension's first `for` is evaluated outside the comprehension, so
    /// `return (x for x in await g())` in a plain function is reported.
    ///
    /// ## Why is this bad?
    /// Python rejects the module with `SyntaxError: 'await' outside async function`, so nothing
    /// in it runs. It usually means a function was meant to be `async def`, or async code was
    /// pasted from a notebook or a REPL (`python -m asyncio`), which allow top-level `await`.
    ///
    /// ## Example
    /// ```python
    /// def load(client):
    ///     return await client.get("/config")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def load(client):
    ///     return await client.get("/config")
    /// ```
    ///
    /// ## Fix safety
    /// No fix: making the function `async def` changes what every caller gets back.
    pub(crate) struct AwaitOutsideAsync {
        code: "AIO503",
        name: "await-outside-async",
        severity: Error,
    }
}

/// AIO503, for `await`, `async for` (statements and comprehension clauses) and `async with`.
pub(crate) fn await_outside_async<'t>(
    ctx: &RuleContext<'_, 't>,
    node: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    if !node.is_named() {
        // The `await` keyword token inside an `await` expression.
        return;
    }
    let (what, range) = match node.node_kind() {
        "await" => ("`await`", node.byte_range()),
        "for_statement" | "with_statement" | "for_in_clause" => {
            let Some(keyword) = node.child(0).filter(|c| c.node_kind() == "async") else {
                return;
            };
            let what = if node.node_kind() == "with_statement" {
                "`async with`"
            } else {
                "`async for`"
            };
            let end = node
                .child(1)
                .map_or(keyword.end_byte(), |second| second.end_byte());
            (what, keyword.start_byte()..end)
        }
        _ => return,
    };
    // The iterable of a comprehension's first `for` is evaluated in the enclosing scope.
    let scope = if node.node_kind() == "for_in_clause" {
        comprehension_clause_scope(ctx, node)
    } else {
        ctx.scope
    };
    let Some(place) = outside_async(ctx, scope) else {
        return;
    };
    let message = format!("{what} outside an async function ({place})");
    out.push(Diagnostic::new(
        Rule::AwaitOutsideAsync,
        range.into(),
        message,
    ));
}

/// The scope whose asyncness decides whether an `async for` clause is allowed: that of the
/// comprehension itself.
fn comprehension_clause_scope<'t>(ctx: &RuleContext<'_, 't>, clause: Node<'t>) -> ScopeId {
    clause
        .parent()
        .and_then(|comprehension| ctx.model.scope_opened_by(comprehension))
        .unwrap_or(ctx.scope)
}

/// Where the code in `scope` runs when that is not a coroutine: `None` when it is in an
/// `async def` (or at the top level of a notebook).
fn outside_async(ctx: &RuleContext<'_, '_>, scope: ScopeId) -> Option<String> {
    let mut current = scope;
    loop {
        let data = &ctx.model.scopes[current];
        match data.kind {
            // A generator expression with `await` or `async for` is an async generator
            // expression, allowed anywhere.
            ScopeKind::Comprehension { generator: true } => return None,
            ScopeKind::Comprehension { generator: false } => current = data.parent?,
            ScopeKind::Function(id) => {
                let info = &ctx.model.functions[id];
                return (!info.is_async)
                    .then(|| format!("in plain function `{}`", ctx.function_name(id)));
            }
            ScopeKind::Lambda => return Some("in a lambda".to_string()),
            ScopeKind::Class(class) => {
                return Some(format!(
                    "in the body of class `{}`",
                    ctx.model.classes[class].name
                ));
            }
            ScopeKind::Module => {
                return (ctx.file.kind != SourceKind::Notebook)
                    .then(|| "at module level".to_string());
            }
        }
    }
}
