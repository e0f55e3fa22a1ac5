//! End-to-end tests of the CI output formats (`sarif`, `github`, `concise`) and `--statistics`.

mod common;

use common::{aiolint, code, project, root, stderr, stdout};
use serde_json::Value;

const PROJECT: &[(&str, &[u8])] = &[
    (
        "app/sleepy.py",
        b"import time\n\nasync def poll():\n    time.sleep(1)\n",
    ),
    (
        "app/dangling.py",
        b"import asyncio\n\nasync def work():\n    pass\n\nasync def start():\n    asyncio.create_task(work())\n",
    ),
    (
        "app/nested.py",
        b"import asyncio\n\nasync def main():\n    asyncio.run(main())\n",
    ),
];

fn sarif_schema() -> Value {
    let path = root().join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path).expect("the vendored SARIF schema");
    serde_json::from_str(&text).expect("the schema is JSON")
}

#[track_caller]
fn validate_sarif(log: &Value) {
    let validator = jsonschema::draft4::new(&sarif_schema()).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_schema_check_rejects_invalid_sarif() {
    // The validation below would pass vacuously if the schema accepted anything.
    let invalid = serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]});
    let validator = jsonschema::draft4::new(&sarif_schema()).expect("the SARIF schema compiles");
    assert!(
        !validator.is_valid(&invalid),
        "a run without a tool must be rejected"
    );
    let bad_region = serde_json::json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "x"}},
        "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "a.py"}, "region": {"startLine": 0}}}]}]}]});
    assert!(!validator.is_valid(&bad_region), "line 0 must be rejected");
}

#[test]
fn sarif_output_validates_against_the_schema_and_carries_rules_and_fixes() {
    let dir = project(PROJECT);
    let output = aiolint(dir.path(), &["check", "--output-format", "sarif", "app"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let log: Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    validate_sarif(&log);

    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "aiolint");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().expect("rules");
    let sleep_rule = rules
        .iter()
        .find(|r| r["id"] == "AIO200")
        .expect("AIO200 is described");
    assert_eq!(sleep_rule["name"], "blocking-sleep");
    assert_eq!(sleep_rule["defaultConfiguration"]["level"], "warning");
    assert!(
        sleep_rule["shortDescription"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Checks for `time.sleep(...)`")),
        "{sleep_rule}"
    );
    assert!(
        sleep_rule["help"]["markdown"]
            .as_str()
            .is_some_and(|t| t.contains("## Why is this bad?")),
        "{sleep_rule}"
    );

    let results = run["results"].as_array().expect("results");
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(codes, ["AIO101", "AIO300", "AIO200"]);
    let sleep = &results[2];
    assert_eq!(sleep["level"], "warning");
    let index = usize::try_from(sleep["ruleIndex"].as_u64().expect("ruleIndex")).expect("small");
    assert_eq!(rules[index]["id"], "AIO200");
    let location = &sleep["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "app/sleepy.py");
    assert_eq!(
        location["region"],
        serde_json::json!({"startLine": 4, "startColumn": 5, "endLine": 4, "endColumn": 18})
    );
    let changes = &sleep["fixes"][0]["artifactChanges"][0];
    assert_eq!(changes["artifactLocation"]["uri"], "app/sleepy.py");
    let inserted: Vec<&str> = changes["replacements"]
        .as_array()
        .expect("replacements")
        .iter()
        .map(|r| r["insertedContent"]["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(inserted, ["import asyncio\n", "await asyncio.sleep(1)"]);
    assert_eq!(results[1]["level"], "error");
}

#[test]
fn sarif_output_of_a_clean_project_and_of_odd_paths_validates() {
    let dir = project(&[
        ("ok.py", b"import asyncio\n"),
        (
            "my dir/é #1.py",
            b"import time\n\nasync def f():\n    time.sleep(1)\n",
        ),
    ]);
    let clean = aiolint(dir.path(), &["check", "--output-format", "sarif", "ok.py"]);
    assert_eq!(code(&clean), 0);
    let log: Value = serde_json::from_slice(&clean.stdout).expect("SARIF is JSON");
    validate_sarif(&log);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));

    let odd = aiolint(dir.path(), &["check", "--output-format", "sarif", "my dir"]);
    let log: Value = serde_json::from_slice(&odd.stdout).expect("SARIF is JSON");
    validate_sarif(&log);
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "my%20dir/%C3%A9%20%231.py"
    );
}

#[test]
fn github_output_is_one_workflow_command_per_finding() {
    let dir = project(PROJECT);
    let output = aiolint(dir.path(), &["check", "--output-format", "github", "app"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "::warning file=app/dangling.py,line=7,col=5,endLine=7,endColumn=32,title=aiolint (AIO101)::task created by `asyncio.create_task()` may be garbage-collected before it finishes: the task is not stored\n\
         ::error file=app/nested.py,line=4,col=5,endLine=4,endColumn=24,title=aiolint (AIO300)::`asyncio.run()` cannot be called while the event loop is running (inside coroutine `main`)\n\
         ::warning file=app/sleepy.py,line=4,col=5,endLine=4,endColumn=18,title=aiolint (AIO200)::`time.sleep()` blocks the event loop inside coroutine `poll`\n"
    );
}

#[test]
fn github_output_escapes_properties() {
    let dir = project(&[(
        "a,b:50%.py",
        b"import time\n\nasync def f():\n    time.sleep(1)\n",
    )]);
    let output = aiolint(
        dir.path(),
        &["check", "--output-format", "github", "a,b:50%.py"],
    );
    assert_eq!(
        stdout(&output),
        "::warning file=a%2Cb%3A50%25.py,line=4,col=5,endLine=4,endColumn=18,title=aiolint (AIO200)::`time.sleep()` blocks the event loop inside coroutine `f`\n"
    );
}

#[test]
fn concise_output_and_statistics_with_fixable_counts() {
    let dir = project(PROJECT);
    let concise = aiolint(dir.path(), &["check", "--output-format", "concise", "app"]);
    assert_eq!(
        stdout(&concise),
        "app/dangling.py:7:5: AIO101 task created by `asyncio.create_task()` may be garbage-collected before it finishes: the task is not stored\n\
         app/nested.py:4:5: AIO300 `asyncio.run()` cannot be called while the event loop is running (inside coroutine `main`)\n\
         app/sleepy.py:4:5: AIO200 `time.sleep()` blocks the event loop inside coroutine `poll`\n\
         Found 3 findings.\n\
         2 fixable with `--fix`, 1 more with `--fix --unsafe-fixes`.\n"
    );
    let statistics = aiolint(dir.path(), &["check", "--statistics", "app"]);
    assert_eq!(code(&statistics), 1);
    assert_eq!(
        stdout(&statistics),
        "1  AIO101  dangling-task (1 fixable with --unsafe-fixes)\n\
         1  AIO200  blocking-sleep (1 fixable)\n\
         1  AIO300  nested-run (1 fixable)\n\
         Found 3 findings.\n\
         2 fixable with `--fix`, 1 more with `--fix --unsafe-fixes`.\n"
    );
}
