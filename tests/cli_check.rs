//! End-to-end tests of `aiolint check` through the built binary.

mod common;

use std::fmt::Write as _;

use common::{aiolint, code, findings, json, project, root, stderr, stdout};

const SLEEPY: &[u8] = b"import time\n\nasync def poll():\n    time.sleep(1)\n";
const CLEAN: &[u8] = b"import asyncio\n\nasync def poll():\n    await asyncio.sleep(1)\n";

#[test]
fn examples_report_every_planted_pitfall_and_nothing_else() {
    let output = aiolint(&root(), &["check", "--output-format", "json", "examples/"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let expected = [
        ("examples/weather/client.py", 17, "AIO100"),
        ("examples/weather/client.py", 29, "AIO200"),
        ("examples/weather/main.py", 15, "AIO300"),
        ("examples/weather/service.py", 24, "AIO202"),
        ("examples/weather/service.py", 28, "AIO100"),
        ("examples/weather/service.py", 38, "AIO101"),
    ];
    let expected: Vec<(String, u64, String)> = expected
        .iter()
        .map(|(p, l, c)| ((*p).to_string(), *l, (*c).to_string()))
        .collect();
    assert_eq!(findings(&output), expected);
}

#[test]
fn json_output_follows_the_contract() {
    let output = aiolint(
        &root(),
        &[
            "check",
            "--output-format",
            "json",
            "examples/weather/client.py",
        ],
    );
    let all = json(&output);
    let sleep = all
        .iter()
        .find(|f| f["code"] == "AIO200")
        .expect("the time.sleep finding");
    assert_eq!(sleep["path"], "examples/weather/client.py");
    assert_eq!(
        (sleep["line"].as_u64(), sleep["column"].as_u64()),
        (Some(29), Some(17))
    );
    assert_eq!(
        (sleep["end_line"].as_u64(), sleep["end_column"].as_u64()),
        (Some(29), Some(41))
    );
    assert_eq!(sleep["rule"], "blocking-sleep");
    assert_eq!(sleep["severity"], "warning");
    assert_eq!(
        sleep["message"],
        "`time.sleep()` blocks the event loop inside coroutine `ForecastClient.forecast`"
    );
    assert_eq!(sleep["fix"]["applicability"], "safe");
    let edit = &sleep["fix"]["edits"][0];
    assert_eq!(edit["content"], "await asyncio.sleep(2 ** attempt)");
    assert_eq!(
        (
            edit["line"].as_u64(),
            edit["column"].as_u64(),
            edit["end_column"].as_u64()
        ),
        (Some(29), Some(17), Some(41))
    );
    assert!(sleep["related"].as_array().is_some_and(Vec::is_empty));
    let keys: Vec<&String> = sleep
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let contract = [
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "rule",
        "severity",
        "message",
        "fix",
        "related",
    ];
    assert_eq!(keys, contract);
    let dangling = aiolint(
        &root(),
        &[
            "check",
            "--output-format",
            "json",
            "examples/weather/service.py",
        ],
    );
    let task = json(&dangling)
        .into_iter()
        .find(|f| f["code"] == "AIO101")
        .expect("the dangling task");
    assert_eq!(task["fix"]["applicability"], "unsafe");
}

#[test]
fn columns_count_code_points() {
    let dir = project(&[(
        "u.py",
        "import time\n\nasync def é():\n    s = \"😊\"; time.sleep(1)\n".as_bytes(),
    )]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "u.py"]);
    let finding = &json(&output)[0];
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(4), Some(14))
    );
    assert_eq!(finding["end_column"].as_u64(), Some(27));
    assert!(
        finding["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`é`")
    );
}

#[test]
fn text_output_shows_location_code_and_source_line() {
    let dir = project(&[("app.py", SLEEPY)]);
    let output = aiolint(dir.path(), &["check", "app.py"]);
    let text = stdout(&output);
    assert!(
        text.contains(
            "app.py:4:5: AIO200 `time.sleep()` blocks the event loop inside coroutine `poll`"
        ),
        "{text}"
    );
    assert!(text.contains("4 |     time.sleep(1)"), "{text}");
    assert!(text.contains("^^^^^^^^^^^^^ AIO200"), "{text}");
    assert!(text.contains("Found 1 finding."), "{text}");
    let concise = aiolint(
        dir.path(),
        &["check", "--output-format", "concise", "app.py"],
    );
    assert_eq!(
        stdout(&concise).lines().next(),
        Some("app.py:4:5: AIO200 `time.sleep()` blocks the event loop inside coroutine `poll`")
    );
}

#[test]
fn exit_codes() {
    let dir = project(&[("bad.py", SLEEPY), ("good.py", CLEAN)]);
    let clean = aiolint(dir.path(), &["check", "good.py"]);
    assert_eq!(code(&clean), 0);
    assert!(stdout(&clean).contains("All checks passed!"));
    assert_eq!(code(&aiolint(dir.path(), &["check", "bad.py"])), 1);
    assert_eq!(
        code(&aiolint(dir.path(), &["check", "--exit-zero", "bad.py"])),
        0
    );
    let unknown = aiolint(dir.path(), &["check", "--select", "AIO999", "bad.py"]);
    assert_eq!(code(&unknown), 2);
    assert!(
        stderr(&unknown).contains("unknown rule selector `AIO999`"),
        "{}",
        stderr(&unknown)
    );
    let missing = aiolint(dir.path(), &["check", "nowhere.py", "bad.py"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("nowhere.py: no such file or directory"));
    assert!(
        stdout(&missing).contains("bad.py:4:5: AIO200"),
        "the other paths are still checked"
    );
    assert_eq!(
        code(&aiolint(dir.path(), &["check", "--output-format", "xml"])),
        2
    );
}

#[test]
fn select_and_ignore_by_code_prefix_and_name() {
    let source =
        b"import asyncio, time\n\nasync def f():\n    time.sleep(1)\n    asyncio.sleep(1)\n";
    let dir = project(&[("m.py", source)]);
    let codes = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["check", "--output-format", "json"];
        full.extend_from_slice(args);
        full.push("m.py");
        findings(&aiolint(dir.path(), &full))
            .into_iter()
            .map(|(_, _, c)| c)
            .collect()
    };
    assert_eq!(codes(&[]), ["AIO200", "AIO100"]);
    assert_eq!(codes(&["--select", "AIO2"]), ["AIO200"]);
    assert_eq!(codes(&["--select", "missing-await"]), ["AIO100"]);
    assert_eq!(codes(&["--ignore", "AIO100,AIO101"]), ["AIO200"]);
    assert_eq!(
        codes(&["--select", "ALL", "--ignore", "blocking-sleep"]),
        ["AIO100"]
    );
}

#[test]
fn noqa_and_disable_file() {
    let source = b"import time\n\nasync def f():\n    time.sleep(1)  # noqa: AIO200\n    time.sleep(2)  # noqa: AIO100\n    time.sleep(3)  # noqa\n";
    let disabled = b"# aiolint: disable-file\nimport time\n\nasync def f():\n    time.sleep(1)\n";
    let dir = project(&[("a.py", source), ("b.py", disabled)]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    assert_eq!(
        findings(&output),
        [("./a.py".to_string(), 5, "AIO200".to_string())]
    );
}

#[test]
fn directories_are_walked_respecting_gitignore_and_excluded_folders() {
    let dir = project(&[
        ("pkg/mod.py", SLEEPY),
        ("pkg/stub.pyi", SLEEPY),
        ("pkg/notes.txt", SLEEPY),
        ("generated/gen.py", SLEEPY),
        (".venv/lib/dep.py", SLEEPY),
        (".gitignore", b"generated/\n"),
    ]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    let paths: Vec<String> = findings(&output).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(paths, ["./pkg/mod.py"]);
    let explicit = aiolint(
        dir.path(),
        &["check", "--output-format", "json", "generated/gen.py"],
    );
    assert_eq!(
        findings(&explicit).len(),
        1,
        "a file named on the command line is checked"
    );
}

#[test]
fn syntax_errors_are_reported_and_other_files_still_checked() {
    let dir = project(&[
        ("broken.py", b"async def f(:\n    pass\n"),
        ("ok.py", SLEEPY),
    ]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    assert_eq!(code(&output), 1);
    let all = json(&output);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        (all[0]["path"].as_str(), all[0]["code"].as_str()),
        (Some("./broken.py"), Some("E999"))
    );
    assert_eq!(all[0]["rule"], "syntax-error");
    assert_eq!(all[0]["line"].as_u64(), Some(1));
    assert_eq!(
        (all[1]["path"].as_str(), all[1]["code"].as_str()),
        (Some("./ok.py"), Some("AIO200"))
    );
}

#[test]
fn undecodable_and_unreadable_files_are_reported_and_the_run_goes_on() {
    let dir = project(&[
        ("latin1.py", b"# caf\xe9\nimport time\n"),
        ("ok.py", SLEEPY),
    ]);
    std::os::unix::fs::symlink("/proc/self/mem", dir.path().join("unreadable.py"))
        .expect("symlink");
    let output = aiolint(
        dir.path(),
        &[
            "check",
            "--output-format",
            "json",
            "latin1.py",
            "unreadable.py",
            "ok.py",
        ],
    );
    assert_eq!(code(&output), 1);
    let all = json(&output);
    let summary: Vec<(&str, &str)> = all
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or(""),
                f["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("latin1.py", "E902"),
            ("ok.py", "AIO200"),
            ("unreadable.py", "E902")
        ]
    );
    assert!(
        all[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not valid UTF-8")
    );
    assert!(
        all[2]["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot read file")
    );
}

#[test]
fn hostile_inputs_never_crash() {
    let deep_parens = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
    let deep_calls = format!(
        "async def f():\n    y = {}0{}\n",
        "g(".repeat(10_000),
        ")".repeat(10_000)
    );
    let deep_attributes = format!(
        "import asyncio\nasync def f():\n    asyncio{}.sleep(1)\n",
        ".a".repeat(10_000)
    );
    let mut deep_blocks = String::new();
    for depth in 0..3000 {
        let _ = writeln!(deep_blocks, "{}if x:", " ".repeat(depth));
    }
    deep_blocks.push_str(&" ".repeat(3000));
    deep_blocks.push_str("pass\n");
    let mut big = String::with_capacity(21 << 20);
    let mut i = 0;
    while big.len() < 20 << 20 {
        let _ = write!(
            big,
            "async def handler_{i}(request):\n    data = await request.json()\n    return {{'id': {i}, 'data': data}}\n\n"
        );
        i += 1;
    }
    big.push_str("import time\nasync def last():\n    time.sleep(1)\n");
    let dir = project(&[
        ("empty.py", b""),
        ("nul.py", b"x = 1\x00\nimport time\n"),
        ("deep_parens.py", deep_parens.as_bytes()),
        ("deep_calls.py", deep_calls.as_bytes()),
        ("deep_attributes.py", deep_attributes.as_bytes()),
        ("deep_blocks.py", deep_blocks.as_bytes()),
        ("big.py", big.as_bytes()),
        (
            "garbage.py",
            b"}{)(:::\n\tdef async await lambda ::\n\xef\xbb\xbf",
        ),
    ]);
    let output = aiolint(dir.path(), &["check", "--output-format", "json", "."]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let found = findings(&output);
    assert!(
        found.contains(&("./nul.py".to_string(), 1, "E999".to_string())),
        "{found:?}"
    );
    assert!(
        found.contains(&("./garbage.py".to_string(), 1, "E999".to_string())),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(p, _, c)| p == "./big.py" && c == "AIO200"),
        "{found:?}"
    );
    assert!(!found.iter().any(|(p, _, _)| p == "./empty.py"));
}

#[test]
fn rule_command_prints_documentation() {
    let output = aiolint(&root(), &["rule", "AIO200"]);
    assert_eq!(code(&output), 0);
    let text = stdout(&output);
    assert!(text.starts_with("# blocking-sleep (AIO200)"), "{text}");
    for section in [
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "Use instead:",
        "## Fix safety",
    ] {
        assert!(text.contains(section), "missing {section}:\n{text}");
    }
    assert!(
        stdout(&aiolint(&root(), &["rule", "missing-await"]))
            .starts_with("# missing-await (AIO100)")
    );
    let all = stdout(&aiolint(&root(), &["rule", "--all"]));
    for code in ["AIO100", "AIO101", "AIO200", "AIO300", "E999"] {
        assert!(
            all.contains(&format!("({code})")),
            "{code} missing from --all"
        );
    }
    let unknown = aiolint(&root(), &["rule", "AIO999"]);
    assert_eq!(code(&unknown), 2);
    assert!(stderr(&unknown).contains("unknown rule `AIO999`"));
}
