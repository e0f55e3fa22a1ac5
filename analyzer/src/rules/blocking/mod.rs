//! Rules about code that blocks the event loop.

pub(crate) mod blocking_sleep;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::check_fixture;

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
