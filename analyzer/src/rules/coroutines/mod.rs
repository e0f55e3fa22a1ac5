//! Rules about coroutine objects and tasks.

pub(crate) mod dangling_task;
pub(crate) mod missing_await;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::{check_fixture, check_project_fixture};

    #[test]
    fn missing_await_across_modules() {
        insta::assert_snapshot!(check_project_fixture(Rule::MissingAwait, "project"));
    }

    #[test]
    fn missing_await_through_inference_across_modules() {
        insta::assert_snapshot!(check_project_fixture(Rule::MissingAwait, "inference"));
    }

    #[test]
    fn missing_await() {
        insta::assert_snapshot!(check_fixture(Rule::MissingAwait, "coroutines/AIO100.py"));
    }

    #[test]
    fn missing_await_through_inference() {
        insta::assert_snapshot!(check_fixture(
            Rule::MissingAwait,
            "coroutines/AIO100_inference.py"
        ));
    }

    #[test]
    fn dangling_task() {
        insta::assert_snapshot!(check_fixture(Rule::DanglingTask, "coroutines/AIO101.py"));
    }

    #[test]
    fn dangling_task_chained_assignment() {
        insta::assert_snapshot!(check_fixture(
            Rule::DanglingTask,
            "coroutines/AIO101_chained.py"
        ));
    }

    #[test]
    fn dangling_task_in_other_statements() {
        insta::assert_snapshot!(check_fixture(
            Rule::DanglingTask,
            "coroutines/AIO101_statements.py"
        ));
    }

    #[test]
    fn missing_await_through_plain_functions() {
        insta::assert_snapshot!(check_fixture(
            Rule::MissingAwait,
            "coroutines/AIO100_plain_functions.py"
        ));
    }

    #[test]
    fn dangling_task_fix() {
        insta::assert_snapshot!(check_fixture(
            Rule::DanglingTask,
            "coroutines/AIO101_fix.py"
        ));
    }
}
