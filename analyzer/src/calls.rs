//! Classifying calls: which ones block the thread and which ones start an event loop. Shared by
//! the rules and the module summaries.

use tree_sitter::Node;

use crate::flow;
use crate::known::KnownApi;
use crate::semantic::{ClassRef, FunctionId, ScopeId, SemanticModel, Value};
use crate::settings::Settings;
use crate::syntax::NodeExt;

/// `time.sleep()` is reported by its own rule (`blocking-sleep`) but blocks like the others.
pub(crate) const TIME_SLEEP: &str = "time.sleep";

/// What a call that blocks the thread does (`time.sleep()`, `requests.get()`), if it is one:
/// the bundled table of blocking calls, `time.sleep`, and the configured `extra-blocking-calls`.
pub(crate) fn blocking_call<'t>(
    model: &SemanticModel<'t>,
    call: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
    settings: &Settings,
) -> Option<String> {
    let callee = call.field("function")?;
    match model.infer(callee, scope, known) {
        Value::External(name) => {
            let blocking = name == TIME_SLEEP
                || known.function(&name).is_some_and(|f| f.blocking)
                || settings.extra_blocking_calls.contains(&name)
                || name.rsplit_once('.').is_some_and(|(class, method)| {
                    known.class(class).is_some() && known.is_blocking_method(class, method)
                });
            blocking.then(|| format!("{}()", name.strip_prefix("builtins.").unwrap_or(&name)))
        }
        Value::ExternalMethod { class, method } => {
            let configured = settings
                .extra_blocking_calls
                .iter()
                .any(|extra| *extra == format!("{class}.{method}"));
            (known.is_blocking_method(&class, &method) || configured)
                .then(|| format!("{}.{method}()", class.rsplit('.').next().unwrap_or(&class)))
        }
        _ => None,
    }
}

/// Loop methods that run their callback on the loop's thread while it is running.
pub(crate) const LOOP_CALLBACKS: &[&str] =
    &["call_soon", "call_soon_threadsafe", "call_later", "call_at"];

/// Which loop-starting API `call` is, if any: `asyncio.run()`, `loop.run_until_complete()`
/// (any event loop; only event loops have that method), `Runner.run()`.
pub(crate) fn loop_runner<'t>(
    model: &SemanticModel<'t>,
    call: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> Option<&'static str> {
    let function = call.field("function")?;
    match model.infer(function, scope, known) {
        Value::External(name) if name == "asyncio.run" => Some("asyncio.run()"),
        Value::ExternalMethod { class, method } => match method.as_str() {
            "run_until_complete" if known.is_event_loop(&class) => {
                Some("loop.run_until_complete()")
            }
            "run" if class == "asyncio.Runner" => Some("Runner.run()"),
            _ => None,
        },
        Value::Unknown => (function.node_kind() == "attribute"
            && function.field("attribute").map(|a| a.text(model.source))
                == Some("run_until_complete"))
        .then_some("loop.run_until_complete()"),
        _ => None,
    }
}

/// Library functions that never return: they always raise (or end the process).
const NEVER_RETURN: &[&str] = &[
    "sys.exit",
    "os._exit",
    "os.abort",
    "builtins.exit",
    "builtins.quit",
    "pytest.fail",
    "pytest.skip",
    "pytest.exit",
    "pytest.xfail",
];

/// `unittest` test cases, whose `fail()` and `skipTest()` always raise.
const UNITTEST_CASES: &[&str] = &[
    "unittest.TestCase",
    "unittest.case.TestCase",
    "unittest.IsolatedAsyncioTestCase",
    "unittest.async_case.IsolatedAsyncioTestCase",
];

/// Return annotations that say a function never returns.
const NO_RETURN_TYPES: &[&str] = &[
    "typing.NoReturn",
    "typing.Never",
    "typing_extensions.NoReturn",
    "typing_extensions.Never",
];

/// Whether `call` (in `scope`) never returns: a library function that always raises
/// (`sys.exit()`, `pytest.fail()`), a function annotated `NoReturn`/`Never`, or a project
/// function whose body always raises. Functions of other modules are asked of the index (so a
/// cached check depends on the answer); a function of this file is judged from its own text.
pub(crate) fn never_returns<'t>(
    model: &SemanticModel<'t>,
    call: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    let Some(callee) = call.field("function") else {
        return false;
    };
    match model.infer(callee, scope, known) {
        Value::External(name) => {
            NEVER_RETURN.contains(&name.as_str())
                || model.index.function(&name).is_some_and(|f| f.never_returns)
        }
        Value::ExternalMethod { class, method } => model
            .index
            .method(&class, &method)
            .is_some_and(|f| f.never_returns),
        Value::Unknown => unittest_fail(model, callee, scope, known),
        // A body the model did not walk (a focused model) is unknown: the rule stays silent.
        Value::Function(id) | Value::BoundMethod(id) => {
            function_never_returns(model, id, known).unwrap_or(true)
        }
        _ => false,
    }
}

/// `self.fail(...)` / `self.skipTest(...)` in a test case of this file that derives from a
/// `unittest` test case directly and does not define the method itself.
fn unittest_fail<'t>(
    model: &SemanticModel<'t>,
    callee: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    let (Some(object), Some(method)) = (callee.field("object"), callee.field("attribute")) else {
        return false;
    };
    let method = method.text(model.source);
    if !matches!(method, "fail" | "skipTest") {
        return false;
    }
    let Value::Instance(ClassRef::Local(class)) = model.infer(object, scope, known) else {
        return false;
    };
    let info = &model.classes[class];
    !info.methods.contains_key(method)
        && info.bases.iter().any(|base| {
            model
                .infer(*base, info.parent_scope, known)
                .external()
                .is_some_and(|name| UNITTEST_CASES.contains(&name))
        })
}

/// Whether the function `id` of this file never returns: annotated `NoReturn`/`Never`, or a
/// body that cannot complete and has no `return` (calls in it count as never returning when
/// they are library functions that always raise or functions of this file annotated so). Uses
/// this file alone, so the module summary and the file's own check agree. `None` when the
/// model did not walk its body (a model focused on another function).
pub(crate) fn function_never_returns(
    model: &SemanticModel<'_>,
    id: FunctionId,
    known: &KnownApi,
) -> Option<bool> {
    let info = &model.functions[id];
    if info.is_generator || !model.is_plain_method(id, known) {
        return Some(false);
    }
    if annotated_no_return(model, id, known) {
        return Some(true);
    }
    let Some(body) = info.node.field("body") else {
        return Some(false);
    };
    let scope = model.scope_opened_by(info.node)?;
    let inner = |call: Node<'_>| {
        call.field("function")
            .is_some_and(|callee| match model.infer(callee, scope, known) {
                Value::External(name) => NEVER_RETURN.contains(&name.as_str()),
                Value::Function(other) | Value::BoundMethod(other) => {
                    annotated_no_return(model, other, known)
                }
                _ => false,
            })
    };
    Some(
        !flow::can_complete(body, model.source, &inner)
            && !flow::jumps_out(body)
                .iter()
                .any(|(_, jump)| *jump == flow::Jump::Return),
    )
}

/// Whether the function `id` of this file is annotated `-> NoReturn` or `-> Never`.
fn annotated_no_return(model: &SemanticModel<'_>, id: FunctionId, known: &KnownApi) -> bool {
    let info = &model.functions[id];
    info.node
        .field("return_type")
        .and_then(|annotation| annotation.named_child(0).or(Some(annotation)))
        .is_some_and(|annotation| {
            model
                .infer(annotation, info.parent_scope, known)
                .external()
                .is_some_and(|name| NO_RETURN_TYPES.contains(&name))
        })
}
