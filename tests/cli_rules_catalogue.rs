//! Every rule of the catalogue through the built binary: each rule's fixture is checked with
//! only that rule selected, and the reported lines must be exactly the lines marked `# CODE`.

mod common;

use common::{aiolint, code, findings, root, stderr};

fn marked_lines(path: &str, rule: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(root().join(path)).expect("fixture exists");
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.split('#')
                .skip(1)
                .any(|comment| comment.trim_start().starts_with(rule))
        })
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

#[test]
fn each_rule_reports_exactly_its_marked_lines() {
    let fixtures = [
        (
            "AIO201",
            "analyzer/resources/test/fixtures/blocking/AIO201.py",
        ),
        (
            "AIO301",
            "analyzer/resources/test/fixtures/event_loop/AIO301.py",
        ),
        (
            "AIO100",
            "analyzer/resources/test/fixtures/coroutines/AIO100_plain_functions.py",
        ),
        (
            "AIO101",
            "analyzer/resources/test/fixtures/coroutines/AIO101_chained.py",
        ),
        (
            "AIO101",
            "analyzer/resources/test/fixtures/coroutines/AIO101_statements.py",
        ),
        (
            "AIO201",
            "analyzer/resources/test/fixtures/blocking/AIO201_typing_imports.py",
        ),
        (
            "AIO400",
            "analyzer/resources/test/fixtures/cancellation/AIO400.py",
        ),
        (
            "AIO400",
            "analyzer/resources/test/fixtures/cancellation/AIO400_later_handlers.py",
        ),
        ("AIO500", "analyzer/resources/test/fixtures/api/AIO500.py"),
        ("AIO501", "analyzer/resources/test/fixtures/api/AIO501.py"),
        ("AIO502", "analyzer/resources/test/fixtures/api/AIO502.py"),
        (
            "AIO502",
            "analyzer/resources/test/fixtures/api/AIO502_context_managers.py",
        ),
        ("AIO503", "analyzer/resources/test/fixtures/api/AIO503.py"),
        (
            "AIO503",
            "analyzer/resources/test/fixtures/api/AIO503_evaluation_scopes.py",
        ),
        (
            "AIO600",
            "analyzer/resources/test/fixtures/performance/AIO600.py",
        ),
    ];
    for (rule, path) in fixtures {
        let output = aiolint(
            &root(),
            &["check", "--output-format", "json", "--select", rule, path],
        );
        assert_eq!(code(&output), 1, "{rule}: {}", stderr(&output));
        let mut lines: Vec<u64> = findings(&output)
            .into_iter()
            .filter(|(_, _, c)| c == rule)
            .map(|(_, line, _)| line)
            .collect();
        lines.dedup();
        assert_eq!(lines, marked_lines(path, rule), "{rule} in {path}");
    }
}

#[test]
fn sequential_await_is_opt_in() {
    let path = "analyzer/resources/test/fixtures/performance/AIO600.py";
    let output = aiolint(&root(), &["check", "--output-format", "json", path]);
    assert!(
        findings(&output).iter().all(|(_, _, c)| c != "AIO600"),
        "AIO600 ran without being selected"
    );
}

#[test]
fn rule_all_documents_every_rule() {
    let output = aiolint(&root(), &["rule", "--all"]);
    let text = common::stdout(&output);
    for heading in [
        "# repeated-run (AIO301)",
        "# cancel-swallowed (AIO400)",
        "# unknown-api (AIO500)",
        "# deprecated-api (AIO501)",
        "# async-protocol (AIO502)",
        "# await-outside-async (AIO503)",
        "# sequential-await (AIO600)",
    ] {
        assert!(text.contains(heading), "missing {heading}");
    }
    assert!(text.contains("Severity: info, opt-in"));
}
