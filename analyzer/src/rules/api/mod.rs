//! Rules about using asyncio's API and the async protocols correctly.

pub(crate) mod async_protocol;
pub(crate) mod await_outside_async;
pub(crate) mod deprecated_api;
pub(crate) mod unknown_api;

use crate::rules::RuleContext;
use crate::syntax::NodeExt;

/// Whether the current node runs inside `with pytest.raises(...)` (or `self.assertRaises`): a
/// test that expects the failure these rules predict.
pub(crate) fn expects_failure(ctx: &RuleContext<'_, '_>) -> bool {
    ctx.ancestors
        .iter()
        .filter(|a| a.node_kind() == "with_statement")
        .flat_map(NodeExt::named_children_vec)
        .filter(|clause| clause.node_kind() == "with_clause")
        .flat_map(|clause| clause.named_children_vec())
        .filter_map(|item| {
            let mut value = item.field("value")?;
            if value.node_kind() == "as_pattern" {
                value = value.named_child(0)?;
            }
            value.field("function")
        })
        .any(|function| {
            ctx.infer(function).external() == Some("pytest.raises")
                || function
                    .field("attribute")
                    .is_some_and(|a| ctx.text(a).starts_with("assertRaises"))
        })
}

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::check_fixture;

    #[test]
    fn unknown_api() {
        insta::assert_snapshot!(check_fixture(Rule::UnknownApi, "api/AIO500.py"));
    }

    #[test]
    fn unknown_api_version_guards() {
        insta::assert_snapshot!(check_fixture(Rule::UnknownApi, "api/AIO500_versions.py"));
    }

    #[test]
    fn deprecated_api_version_guards() {
        insta::assert_snapshot!(check_fixture(Rule::DeprecatedApi, "api/AIO501_versions.py"));
    }

    #[test]
    fn deprecated_api() {
        insta::assert_snapshot!(check_fixture(Rule::DeprecatedApi, "api/AIO501.py"));
    }

    #[test]
    fn async_protocol() {
        insta::assert_snapshot!(check_fixture(Rule::AsyncProtocol, "api/AIO502.py"));
    }

    #[test]
    fn async_protocol_context_managers() {
        insta::assert_snapshot!(check_fixture(
            Rule::AsyncProtocol,
            "api/AIO502_context_managers.py"
        ));
    }

    #[test]
    fn await_outside_async() {
        insta::assert_snapshot!(check_fixture(Rule::AwaitOutsideAsync, "api/AIO503.py"));
    }

    #[test]
    fn await_outside_async_where_python_evaluates() {
        insta::assert_snapshot!(check_fixture(
            Rule::AwaitOutsideAsync,
            "api/AIO503_evaluation_scopes.py"
        ));
    }
}
