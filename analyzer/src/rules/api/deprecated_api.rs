use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::settings::PythonVersion;
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for asyncio APIs that are deprecated or gone:
    /// - `asyncio.get_event_loop()` in a coroutine (use `asyncio.get_running_loop()`), and
    ///   outside a coroutine when the target is Python 3.14+, where it raises `RuntimeError`
    ///   if no event loop is set;
    /// - `@asyncio.coroutine` generator-based coroutines (deprecated in 3.8, removed in 3.11),
    ///   and plain generators that `yield from` a coroutine (`yield from asyncio.sleep(1)`),
    ///   which raises `TypeError` without the decorator;
    /// - the `loop=` keyword argument of asyncio's high-level API (`sleep`, `gather`,
    ///   `wait_for`, `Queue`, `Lock`, `open_connection`, ...), deprecated in 3.8 and removed
    ///   in 3.10.
    ///
    /// The removed APIs are not reported in code that only runs on versions that still have
    /// them: under `if sys.version_info < (3, 10):` (and the other version guards that
    /// `unknown-api` reads), in a test marked `@pytest.mark.skipif(sys.version_info >= (3,
    /// 11), ...)`, or one marked `@pytest.mark.skip`.
    ///
    /// ## Why is this bad?
    /// `get_event_loop()` has confusing semantics (it may create a loop, or return a loop that
    /// is not running) and is deprecated outside a running loop; inside a coroutine,
    /// `get_running_loop()` says what is meant and always works. Removed APIs fail on newer
    /// Pythons: `@asyncio.coroutine` raises `AttributeError` and `loop=` raises `TypeError`.
    ///
    /// ## Example
    /// ```python
    /// async def start(handler):
    ///     loop = asyncio.get_event_loop()
    ///     await asyncio.sleep(1, loop=loop)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def start(handler):
    ///     loop = asyncio.get_running_loop()
    ///     await asyncio.sleep(1)
    /// ```
    ///
    /// ## Fix safety
    /// Safe in a coroutine: `get_event_loop()` becomes `get_running_loop()` (the same loop
    /// there). Removing `loop=` is safe in a coroutine, where the running loop is the one
    /// passed, and unsafe elsewhere. No fix for `@asyncio.coroutine`, which needs rewriting
    /// `yield from` as `await`.
    pub(crate) struct DeprecatedApi {
        code: "AIO501",
        name: "deprecated-api",
        severity: Warning,
    }
}

/// APIs whose `loop` parameter was removed in Python 3.10.
const LOOP_PARAMETER_REMOVED: &[&str] = &[
    "asyncio.sleep",
    "asyncio.gather",
    "asyncio.shield",
    "asyncio.wait_for",
    "asyncio.wait",
    "asyncio.as_completed",
    "asyncio.open_connection",
    "asyncio.open_unix_connection",
    "asyncio.start_server",
    "asyncio.start_unix_server",
    "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell",
    "asyncio.Queue",
    "asyncio.PriorityQueue",
    "asyncio.LifoQueue",
    "asyncio.Lock",
    "asyncio.Event",
    "asyncio.Condition",
    "asyncio.Semaphore",
    "asyncio.BoundedSemaphore",
];

const PY314: PythonVersion = PythonVersion {
    major: 3,
    minor: 14,
};

/// Whether `node` (the node being checked) can run on Python 3.`minor` or later, where the
/// API is gone: its version guards (`if sys.version_info < (3, 10):`,
/// `@pytest.mark.skipif(sys.version_info >= (3, 11), ...)`) may keep it to older versions.
fn runs_from<'t>(ctx: &RuleContext<'_, 't>, node: Node<'t>, minor: u8) -> bool {
    let versions = ctx.versions(node);
    versions
        .oldest_from(ctx.settings.target_version.minor)
        .is_some()
        && versions.until.is_none_or(|until| until > minor)
}

/// AIO501 on calls: `get_event_loop()` and `loop=`.
pub(crate) fn deprecated_api_call<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let callee = ctx.callee(call);
    let Some(name) = callee.external() else {
        return;
    };
    if name == "asyncio.get_event_loop" {
        get_event_loop(ctx, call, out);
    } else if LOOP_PARAMETER_REMOVED.contains(&name) {
        loop_keyword(ctx, call, name, out);
    }
}

fn get_event_loop<'t>(ctx: &RuleContext<'_, 't>, call: Node<'t>, out: &mut Vec<Diagnostic>) {
    let Some(function) = call.field("function") else {
        return;
    };
    if call
        .field("arguments")
        .is_none_or(|a| !a.named_children_vec().is_empty())
    {
        return;
    }
    if let Some(coroutine) = ctx.enclosing_coroutine() {
        let message = format!(
            "`asyncio.get_event_loop()` in coroutine `{}`: use `asyncio.get_running_loop()`",
            ctx.function_name(coroutine)
        );
        let fix = running_loop_fix(ctx, function);
        out.push(
            Diagnostic::new(Rule::DeprecatedApi, call.byte_range().into(), message).with_fix(fix),
        );
    } else if ctx.settings.target_version >= PY314 && runs_from(ctx, call, PY314.minor) {
        let message = format!(
            "`asyncio.get_event_loop()` raises `RuntimeError` when no event loop is set (Python 3.14+, target {}); create one with `asyncio.new_event_loop()` or use `asyncio.run()`",
            ctx.settings.target_version
        );
        out.push(Diagnostic::new(
            Rule::DeprecatedApi,
            call.byte_range().into(),
            message,
        ));
    }
}

/// `asyncio.get_event_loop` -> `asyncio.get_running_loop`.
fn running_loop_fix(ctx: &RuleContext<'_, '_>, function: Node<'_>) -> Option<Fix> {
    let edit = if function.node_kind() == "attribute" {
        let attribute = function.field("attribute")?;
        Edit::replace(attribute.byte_range().into(), "get_running_loop")
    } else {
        let asyncio = ctx.asyncio_name()?;
        Edit::replace(
            function.byte_range().into(),
            format!("{asyncio}.get_running_loop"),
        )
    };
    Some(Fix::safe("Use `get_running_loop()`", vec![edit]))
}

fn loop_keyword<'t>(
    ctx: &RuleContext<'_, 't>,
    call: Node<'t>,
    name: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(arguments) = call
        .field("arguments")
        .filter(|a| a.node_kind() == "argument_list")
    else {
        return;
    };
    let all = arguments.named_children_vec();
    let Some(index) = all.iter().position(|a| {
        a.node_kind() == "keyword_argument" && a.field("name").map(|n| ctx.text(n)) == Some("loop")
    }) else {
        return;
    };
    let keyword = all[index];
    if !runs_from(ctx, call, 10) {
        return;
    }
    let message = format!(
        "the `loop` argument of `{name}` was removed in Python 3.10 (deprecated since 3.8)"
    );
    // The keyword and the comma that separates it from its neighbour (or, when it is the only
    // argument, everything between the parentheses).
    let (start, end) = match (index.checked_sub(1).map(|i| all[i]), all.get(index + 1)) {
        (Some(previous), _) => (previous.end_byte(), keyword.end_byte()),
        (None, Some(next)) => (keyword.start_byte(), next.start_byte()),
        (None, None) => (
            arguments.start_byte() + 1,
            arguments
                .end_byte()
                .saturating_sub(1)
                .max(keyword.end_byte()),
        ),
    };
    let edits = vec![Edit::replace((start..end).into(), "")];
    let fix = if ctx.enclosing_coroutine().is_some() {
        Fix::safe("Remove the `loop` argument", edits)
    } else {
        Fix::unsafe_("Remove the `loop` argument", edits)
    };
    out.push(
        Diagnostic::new(Rule::DeprecatedApi, keyword.byte_range().into(), message)
            .with_fix(Some(fix)),
    );
}

/// AIO501 on decorators: `@asyncio.coroutine`.
pub(crate) fn deprecated_api_decorator<'t>(
    ctx: &RuleContext<'_, 't>,
    decorator: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(expression) = decorator.named_child(0) else {
        return;
    };
    if ctx.infer(expression).external() != Some("asyncio.coroutine")
        || !runs_from(ctx, decorator, 11)
    {
        return;
    }
    let message = "`@asyncio.coroutine` generator-based coroutines were removed in Python 3.11 (deprecated since 3.8); use `async def` and `await`";
    out.push(Diagnostic::new(
        Rule::DeprecatedApi,
        decorator.byte_range().into(),
        message,
    ));
}

/// AIO501 on `yield from <coroutine call>` in a plain generator: a generator-based coroutine
/// without the (removed) `@asyncio.coroutine`.
pub(crate) fn deprecated_api_yield<'t>(
    ctx: &RuleContext<'_, 't>,
    yield_node: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    if !yield_node.is_named()
        || !yield_node
            .children(&mut yield_node.walk())
            .any(|c| c.node_kind() == "from")
    {
        return;
    }
    let Some(call) = yield_node
        .named_child(0)
        .map(NodeExt::unparenthesized)
        .filter(|c| c.node_kind() == "call")
    else {
        return;
    };
    let Some(function) = ctx.model.enclosing_function(ctx.scope) else {
        return;
    };
    let info = &ctx.model.functions[function];
    let decorated = info.decorators.iter().any(|decorator| {
        matches!(
            ctx.model
                .infer(*decorator, info.parent_scope, ctx.known)
                .external(),
            Some("asyncio.coroutine" | "types.coroutine")
        )
    });
    if info.is_async
        || decorated
        || !ctx.is_coroutine_function(&ctx.callee(call))
        || !runs_from(ctx, yield_node, 11)
    {
        return;
    }
    let message = format!(
        "generator `{}` uses `yield from` on coroutine `{}`, which raises `TypeError` in a plain generator (generator-based coroutines are gone since Python 3.11); use `async def` and `await`",
        ctx.function_name(function),
        ctx.describe(&ctx.callee(call), call)
    );
    out.push(Diagnostic::new(
        Rule::DeprecatedApi,
        yield_node.byte_range().into(),
        message,
    ));
}

#[cfg(test)]
mod tests {
    use crate::{PythonVersion, RuleSelection, Settings, SourceFile, check_file};

    fn lines(source: &str, target: &str) -> Vec<usize> {
        let settings = Settings {
            rules: RuleSelection::from_selectors(Some(&["AIO501".into()]), &[])
                .expect("AIO501 exists"),
            target_version: PythonVersion::parse(target).expect("a valid version"),
            ..Settings::default()
        };
        let file = SourceFile::new("t.py", source);
        check_file(&file, &settings)
            .iter()
            .map(|d| file.line_index.line_of(d.range.start) + 1)
            .collect()
    }

    /// Outside a coroutine, `get_event_loop()` is reported only where it raises without a
    /// loop: Python 3.14 and later.
    #[test]
    fn get_event_loop_outside_a_coroutine_depends_on_the_target() {
        let source = "import asyncio\n\nloop = asyncio.get_event_loop()\n\nasync def f():\n    return asyncio.get_event_loop()\n";
        assert_eq!(lines(source, "py313"), [6]);
        assert_eq!(lines(source, "py314"), [3, 6]);
    }
}
