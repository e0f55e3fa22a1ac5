//! Rules about code that blocks the event loop.

pub(crate) mod blocking_call;
pub(crate) mod blocking_sleep;
pub(crate) mod blocking_transitive;

use tree_sitter::Node;

use crate::fix::{Edit, Fix};
use crate::importer::add_import;
use crate::rules::RuleContext;
use crate::settings::PythonVersion;
use crate::syntax::NodeExt;

/// `await asyncio.to_thread(f, *args, **kwargs)` in place of `f(*args, **kwargs)` (unsafe),
/// adding `import asyncio` when needed; only inside a coroutine, for Python 3.9+, and when the
/// call has a plain argument list.
pub(crate) fn to_thread_fix(ctx: &RuleContext<'_, '_>, call: Node<'_>) -> Option<Fix> {
    if !ctx.can_insert_await()
        || ctx.settings.target_version < (PythonVersion { major: 3, minor: 9 })
    {
        return None;
    }
    let function = call.field("function")?;
    let arguments = call
        .field("arguments")
        .filter(|a| a.node_kind() == "argument_list")?;
    let inner = arguments.text(ctx.source);
    let inner = inner.strip_prefix('(')?.strip_suffix(')')?.trim();
    let mut edits = Vec::new();
    let asyncio = match ctx.asyncio_name() {
        Some(name) => name,
        None if ctx.can_import_asyncio() => {
            edits.push(add_import(*ctx.ancestors.first()?, ctx.source, "asyncio"));
            "asyncio".to_string()
        }
        None => return None,
    };
    let separator = if inner.is_empty() { "" } else { ", " };
    let wrapped = format!(
        "await {asyncio}.to_thread({}{separator}{inner})",
        function.text(ctx.source)
    );
    edits.push(Edit::replace(
        call.byte_range().into(),
        ctx.parenthesize_if_needed(call, wrapped),
    ));
    Some(Fix::unsafe_(
        "Run it in a worker thread with `asyncio.to_thread`",
        edits,
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::{check_fixture, check_project_fixture};

    #[test]
    fn blocking_transitive_on_a_branch() {
        insta::assert_snapshot!(check_project_fixture(
            Rule::BlockingTransitive,
            "precision_project"
        ));
    }

    #[test]
    fn blocking_transitive() {
        insta::assert_snapshot!(check_project_fixture(Rule::BlockingTransitive, "project"));
    }

    #[test]
    fn blocking_through_inference_across_modules() {
        insta::assert_snapshot!(check_project_fixture(Rule::BlockingCall, "inference"));
        insta::assert_snapshot!(check_project_fixture(Rule::BlockingTransitive, "inference"));
    }

    #[test]
    fn blocking_call_through_typing_annotations() {
        insta::assert_snapshot!(check_fixture(
            Rule::BlockingCall,
            "blocking/AIO201_typing_imports.py"
        ));
    }

    #[test]
    fn blocking_call_through_inference() {
        insta::assert_snapshot!(check_fixture(
            Rule::BlockingCall,
            "blocking/AIO201_inference.py"
        ));
    }

    #[test]
    fn blocking_sleep() {
        insta::assert_snapshot!(check_fixture(Rule::BlockingSleep, "blocking/AIO200.py"));
    }

    #[test]
    fn blocking_sleep_adds_import() {
        insta::assert_snapshot!(check_fixture(
            Rule::BlockingSleep,
            "blocking/AIO200_import.py"
        ));
    }
}
