//! Rules about using asyncio's API and the async protocols correctly.

pub(crate) mod async_protocol;
pub(crate) mod await_outside_async;
pub(crate) mod deprecated_api;
pub(crate) mod unknown_api;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::check_fixture;

    #[test]
    fn unknown_api() {
        insta::assert_snapshot!(check_fixture(Rule::UnknownApi, "api/AIO500.py"));
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
    fn await_outside_async() {
        insta::assert_snapshot!(check_fixture(Rule::AwaitOutsideAsync, "api/AIO503.py"));
    }
}
