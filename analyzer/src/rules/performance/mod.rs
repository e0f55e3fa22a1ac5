//! Rules about asyncio code that works but wastes its concurrency.

pub(crate) mod sequential_await;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::check_fixture;

    #[test]
    fn sequential_await() {
        insta::assert_snapshot!(check_fixture(
            Rule::SequentialAwait,
            "performance/AIO600.py"
        ));
    }
}
