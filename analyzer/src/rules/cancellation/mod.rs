//! Rules about task cancellation.

pub(crate) mod cancel_swallowed;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::{check_fixture, check_project_fixture};

    #[test]
    fn cancel_swallowed() {
        insta::assert_snapshot!(check_fixture(
            Rule::CancelSwallowed,
            "cancellation/AIO400.py"
        ));
    }

    #[test]
    fn cancel_swallowed_later_handlers() {
        insta::assert_snapshot!(check_fixture(
            Rule::CancelSwallowed,
            "cancellation/AIO400_later_handlers.py"
        ));
    }

    #[test]
    fn cancel_swallowed_paths() {
        insta::assert_snapshot!(check_fixture(
            Rule::CancelSwallowed,
            "cancellation/AIO400_paths.py"
        ));
    }

    #[test]
    fn cancel_swallowed_never_returning_calls() {
        insta::assert_snapshot!(check_fixture(
            Rule::CancelSwallowed,
            "cancellation/AIO400_never_returns.py"
        ));
    }

    #[test]
    fn cancel_swallowed_cancel_then_await() {
        insta::assert_snapshot!(check_fixture(
            Rule::CancelSwallowed,
            "cancellation/AIO400_cancel_then_await.py"
        ));
    }

    #[test]
    fn cancel_swallowed_unshielded_cleanup() {
        insta::assert_snapshot!(check_fixture(
            Rule::CancelSwallowed,
            "cancellation/AIO400_shield.py"
        ));
    }

    #[test]
    fn cancel_swallowed_trio_and_anyio() {
        insta::assert_snapshot!(
            "trio",
            check_fixture(Rule::CancelSwallowed, "cancellation/AIO400_trio.py")
        );
        insta::assert_snapshot!(
            "anyio",
            check_fixture(Rule::CancelSwallowed, "cancellation/AIO400_anyio.py")
        );
        insta::assert_snapshot!(
            "trio_and_asyncio",
            check_fixture(
                Rule::CancelSwallowed,
                "cancellation/AIO400_trio_and_asyncio.py"
            )
        );
    }

    #[test]
    fn cancel_swallowed_helpers_of_other_modules() {
        insta::assert_snapshot!(check_project_fixture(
            Rule::CancelSwallowed,
            "precision_project"
        ));
    }
}
