//! Classifying calls: which ones block the thread and which ones start an event loop. Shared by
//! the rules and the module summaries.

use tree_sitter::Node;

use crate::flow;
use crate::known::{KnownApi, Release, ReleaseWhen};
use crate::semantic::{BindingKind, ClassRef, FunctionId, Lookup, ScopeId, SemanticModel, Value};
use crate::settings::Settings;
use crate::syntax::NodeExt;

/// `time.sleep()` is reported by its own rule (`blocking-sleep`) but blocks like the others.
pub(crate) const TIME_SLEEP: &str = "time.sleep";

/// What a call that blocks the thread does (`time.sleep()`, `requests.get()`), if it is one:
/// the bundled table of blocking calls, `time.sleep`, and the configured `extra-blocking-calls`.
/// Not when its arguments make it return at once (`queue.get(block=False)`,
/// `os.spawnl(os.P_NOWAIT, ...)`), nor for a socket made non-blocking.
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
            let function = known.function(&name);
            let method = name.rsplit_once('.').filter(|(class, method)| {
                known.class(class).is_some() && known.is_blocking_method(class, method)
            });
            let released = match (function, method) {
                (Some(function), _) if function.blocking => function.released.clone(),
                (_, Some((class, method))) => known.method_released(class, method),
                _ => Vec::new(),
            };
            let blocking = name == TIME_SLEEP
                || function.is_some_and(|f| f.blocking)
                || settings.extra_blocking_calls.contains(&name)
                || method.is_some();
            (blocking && !released_by(model, call, scope, known, &released))
                .then(|| format!("{}()", name.strip_prefix("builtins.").unwrap_or(&name)))
        }
        Value::ExternalMethod { class, method } => {
            let configured = settings
                .extra_blocking_calls
                .iter()
                .any(|extra| *extra == format!("{class}.{method}"));
            let known_blocking = known.is_blocking_method(&class, &method)
                && !released_by(
                    model,
                    call,
                    scope,
                    known,
                    &known.method_released(&class, &method),
                )
                && !(class == SOCKET && socket_does_not_block(model, callee, scope, &method));
            (known_blocking || configured)
                .then(|| format!("{}.{method}()", class.rsplit('.').next().unwrap_or(&class)))
        }
        _ => None,
    }
}

/// Whether an argument of `call` makes it return at once (one of `releases`). An argument
/// whose value is not known (`get(block=flag)`, `*args`) counts as releasing: unsure is silent.
fn released_by<'t>(
    model: &SemanticModel<'t>,
    call: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
    releases: &[Release],
) -> bool {
    let Some(arguments) = call
        .field("arguments")
        .filter(|a| a.node_kind() == "argument_list")
    else {
        return false;
    };
    let arguments = arguments.named_children_vec();
    releases.iter().any(|release| {
        let mut position = 0;
        let mut value = None;
        for argument in &arguments {
            match argument.node_kind() {
                "comment" => {}
                "list_splat" | "dictionary_splat" => return true,
                "keyword_argument" => {
                    if argument.field("name").map(|n| n.text(model.source))
                        == Some(release.keyword.as_str())
                    {
                        value = argument.field("value");
                    }
                }
                _ => {
                    if Some(position) == release.position {
                        value = Some(*argument);
                    }
                    position += 1;
                }
            }
        }
        value.is_some_and(|value| releases_with(model, value, scope, known, &release.when))
    })
}

/// Whether the argument `value` is one with which the call returns at once (or may be).
fn releases_with<'t>(
    model: &SemanticModel<'t>,
    value: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
    when: &ReleaseWhen,
) -> bool {
    let value = value.unparenthesized();
    let number = || {
        value
            .text(model.source)
            .replace('_', "")
            .parse::<f64>()
            .ok()
    };
    let kind = value.node_kind();
    match when {
        // `False`, `0`, or not a literal (it may be `False`).
        ReleaseWhen::False => match kind {
            "integer" | "float" => number() == Some(0.0),
            "true" | "none" | "string" => false,
            _ => true,
        },
        ReleaseWhen::Zero => matches!(kind, "integer" | "float") && number() == Some(0.0),
        ReleaseWhen::Names(names) => match model.infer(value, scope, known) {
            Value::External(name) => names.contains(&name),
            Value::Unknown => !matches!(kind, "integer" | "string" | "none"),
            _ => false,
        },
    }
}

/// `socket.socket`.
const SOCKET: &str = "socket.socket";

/// Whether the socket that `callee` (`sock.connect`, `self.sock.recv`) is called on does not
/// block: made with `SOCK_NONBLOCK`, or put in non-blocking mode anywhere in the function (a
/// local socket) or the class (an attribute) with `setblocking(False)` / `settimeout(0)`;
/// `connect` on a `SOCK_DGRAM` socket sends nothing and returns at once. A call in the body of
/// a `try` that catches `BlockingIOError` (or `ssl.SSLWantReadError`/`SSLWantWriteError`) is
/// made on a socket its author knows to be non-blocking, wherever that was set: only such a
/// socket raises them.
fn socket_does_not_block<'t>(
    model: &SemanticModel<'t>,
    callee: Node<'t>,
    scope: ScopeId,
    method: &str,
) -> bool {
    let Some(receiver) = callee.field("object").map(NodeExt::unparenthesized) else {
        return false;
    };
    let known = KnownApi::get();
    if expects_would_block(model, callee, scope, known) {
        return true;
    }
    let made_so = |value: Node<'t>, value_scope: ScopeId| {
        made_non_blocking(model, value, value_scope, known, method == "connect")
    };
    let switched = |reference: Node<'t>, reference_scope: ScopeId| {
        switched_off(model, reference, reference_scope, known)
    };
    match receiver.node_kind() {
        "identifier" => {
            let name = receiver.text(model.source);
            let Lookup::Bound(found, bindings) = model.lookup(scope, name) else {
                return false;
            };
            bindings.iter().any(|b| match &b.kind {
                BindingKind::Assignment {
                    value: Some(value), ..
                } => made_so(*value, found),
                _ => false,
            }) || model
                .references_to(name, found)
                .any(|(use_scope, reference)| switched(reference, use_scope))
        }
        "attribute" => {
            let (Some(object), Some(attribute)) =
                (receiver.field("object"), receiver.field("attribute"))
            else {
                return false;
            };
            let Some(class) = model
                .enclosing_function(scope)
                .and_then(|f| model.functions[f].class)
            else {
                return false;
            };
            let attribute = attribute.text(model.source);
            let info = &model.classes[class];
            let assigned = info.attributes.get(attribute).is_some_and(|bindings| {
                bindings
                    .iter()
                    .any(|b| b.value.is_some_and(|value| made_so(value, b.scope)))
            });
            let self_name = object.text(model.source);
            assigned
                || info.methods.values().flatten().any(|&method| {
                    let Some(method_scope) = model.scope_opened_by(model.functions[method].node)
                    else {
                        return false;
                    };
                    model
                        .references_to(self_name, method_scope)
                        .any(|(use_scope, reference)| {
                            reference.parent().is_some_and(|parent| {
                                parent.node_kind() == "attribute"
                                    && parent.field("attribute").map(|a| a.text(model.source))
                                        == Some(attribute)
                                    && switched(parent, use_scope)
                            })
                        })
                })
        }
        _ => false,
    }
}

/// The exceptions only a non-blocking socket raises.
const WOULD_BLOCK: &[&str] = &[
    "builtins.BlockingIOError",
    "ssl.SSLWantReadError",
    "ssl.SSLWantWriteError",
];

/// Whether `node` is in the body of a `try` (in its function) with a handler naming one of
/// [`WOULD_BLOCK`].
fn expects_would_block<'t>(
    model: &SemanticModel<'t>,
    node: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    let mut child = node;
    while let Some(parent) = child.parent() {
        match parent.node_kind() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "try_statement"
                if parent
                    .field("body")
                    .is_some_and(|body| body.id() == child.id()) =>
            {
                let handles = parent
                    .named_children_vec()
                    .into_iter()
                    .filter(|c| c.node_kind() == "except_clause")
                    .any(|handler| handler_names_would_block(model, handler, scope, known));
                if handles {
                    return true;
                }
            }
            _ => {}
        }
        child = parent;
    }
    false
}

/// Whether the `except` clause `handler` names one of [`WOULD_BLOCK`].
fn handler_names_would_block<'t>(
    model: &SemanticModel<'t>,
    handler: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    handler.caught_exceptions().into_iter().any(|exception| {
        model
            .infer(exception, scope, known)
            .external()
            .is_some_and(|name| WOULD_BLOCK.contains(&name))
    })
}

/// Whether `value` makes a socket with `SOCK_NONBLOCK` (or, when `datagram_counts`, a
/// `SOCK_DGRAM` one) among its arguments.
fn made_non_blocking<'t>(
    model: &SemanticModel<'t>,
    value: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
    datagram_counts: bool,
) -> bool {
    if value.node_kind() != "call"
        || value
            .field("function")
            .is_none_or(|f| model.infer(f, scope, known).external() != Some(SOCKET))
    {
        return false;
    }
    let mut stack: Vec<Node<'t>> = value.field("arguments").into_iter().collect();
    while let Some(node) = stack.pop() {
        if matches!(node.node_kind(), "attribute" | "identifier") {
            match model.infer(node, scope, known).external() {
                Some("socket.SOCK_NONBLOCK") => return true,
                Some("socket.SOCK_DGRAM") if datagram_counts => return true,
                _ => {}
            }
        }
        if node.node_kind() != "attribute" {
            stack.extend(node.named_children_vec());
        }
    }
    false
}

/// Whether `reference` (a socket) is the object of `.setblocking(False)` or `.settimeout(0)`.
fn switched_off<'t>(
    model: &SemanticModel<'t>,
    reference: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    let Some(attribute) = reference.parent().filter(|p| p.node_kind() == "attribute") else {
        return false;
    };
    let Some(call) = attribute.parent().filter(|c| c.node_kind() == "call") else {
        return false;
    };
    let when = match attribute.field("attribute").map(|a| a.text(model.source)) {
        Some("setblocking") => ReleaseWhen::False,
        Some("settimeout") => ReleaseWhen::Zero,
        _ => return false,
    };
    let release = Release {
        position: Some(0),
        keyword: String::new(),
        when,
    };
    released_by(model, call, scope, known, &[release])
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

/// Whether function `id` is a plain function (not a method, undecorated, neither a generator
/// nor a coroutine function) whose every `return` gives the call of a function that
/// `is_coroutine` says is a coroutine function (`def start(): return fetch()`), and there is at
/// least one such `return`.
pub(crate) fn returns_coroutine_calls(
    model: &SemanticModel<'_>,
    id: FunctionId,
    known: &KnownApi,
    is_coroutine: &dyn Fn(&Value) -> bool,
) -> bool {
    let info = &model.functions[id];
    if info.is_async || info.is_generator || info.class.is_some() || !info.decorators.is_empty() {
        return false;
    }
    let (Some(scope), Some(body)) = (model.scope_opened_by(info.node), info.node.field("body"))
    else {
        return false;
    };
    body.every_return(&mut |value| {
        value
            .map(NodeExt::unparenthesized)
            .filter(|value| value.node_kind() == "call")
            .and_then(|value| value.field("function"))
            .is_some_and(|function| is_coroutine(&model.infer(function, scope, known)))
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
