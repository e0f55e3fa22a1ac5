//! Rules about task cancellation.

pub(crate) mod cancel_swallowed;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::check_fixture;

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
}
