//! Classifying calls: which ones block the thread and which ones start an event loop. Shared by
//! the rules and the module summaries.

use tree_sitter::Node;

use crate::known::KnownApi;
use crate::semantic::{ScopeId, SemanticModel, Value};
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
