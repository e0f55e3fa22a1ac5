//! Rules about starting event loops.

pub(crate) mod nested_run;
pub(crate) mod repeated_run;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::{check_fixture, check_project_fixture};

    #[test]
    fn nested_run_through_helpers() {
        insta::assert_snapshot!(check_project_fixture(Rule::NestedRun, "project"));
    }

    #[test]
    fn repeated_run() {
        insta::assert_snapshot!(check_fixture(Rule::RepeatedRun, "event_loop/AIO301.py"));
    }

    #[test]
    fn nested_run() {
        insta::assert_snapshot!(check_fixture(Rule::NestedRun, "event_loop/AIO300.py"));
    }

    #[test]
    fn nested_run_guards() {
        insta::assert_snapshot!(check_fixture(
            Rule::NestedRun,
            "event_loop/AIO300_guards.py"
        ));
        insta::assert_snapshot!(
            "trio",
            check_fixture(Rule::NestedRun, "event_loop/AIO300_trio.py")
        );
    }

    #[test]
    fn nested_run_through_guarded_helpers() {
        insta::assert_snapshot!(check_project_fixture(Rule::NestedRun, "precision_project"));
    }
}
