//! End-to-end tests of `aiolint server`: the built binary, spoken to over stdin/stdout.

mod common;
mod lsp_client;

use std::fmt::Write as _;
use std::time::Duration;

use lsp_client::{Client, Encoding, action_edits, apply_edits, file_uri, range_of};
use serde_json::{Value, json};

const SLEEPY: &str = "import time\n\nasync def poll():\n    label = \"日本😊\"; time.sleep(2)\n";

fn doc_uri(name: &str) -> String {
    format!("file:///tmp/aiolint-e2e/{name}")
}

/// The code actions for the document's diagnostics over its whole text.
fn code_actions(
    client: &mut Client,
    uri: &str,
    diagnostics: &[Value],
    only: Option<&[&str]>,
) -> Vec<Value> {
    let mut context = json!({"diagnostics": diagnostics});
    if let Some(only) = only {
        context["only"] = json!(only);
    }
    let result = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 9999, "character": 0}},
                "context": context,
            }),
        )
        .unwrap_or_else(|e| panic!("codeAction failed: {e}"));
    result.as_array().cloned().unwrap_or_default()
}

fn titled<'a>(actions: &'a [Value], prefix: &str) -> &'a Value {
    actions
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no action titled `{prefix}…` in {actions:#?}"))
}

/// Open, diagnose, fix through the quick fix, and see the diagnostic go, in one encoding. The
/// line has CJK and an emoji before the finding, so columns differ between encodings.
fn quick_fix_round_trip(offered: &[Encoding], expected: Encoding) {
    let mut client = Client::initialized(offered, &[]);
    assert_eq!(client.encoding, expected);
    let uri = doc_uri(&format!("roundtrip_{}.py", expected.name()));
    client.open(&uri, SLEEPY);
    let diagnostics = client.diagnostics(&uri, Some(1));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic["code"], "AIO200");
    assert_eq!(diagnostic["source"], "aiolint");
    assert_eq!(diagnostic["severity"], 2);
    assert_eq!(
        diagnostic["range"],
        range_of(SLEEPY, "time.sleep(2)", expected)
    );
    let actions = code_actions(&mut client, &uri, &diagnostics, None);
    let fix = titled(&actions, "Replace");
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(fix["isPreferred"], true, "a safe fix is preferred");
    assert!(titled(&actions, "Disable AIO200 for this line")["isPreferred"].is_null());
    let edits = action_edits(fix, &uri);
    let fixed = client.change(&uri, 2, SLEEPY, &edits);
    assert!(
        fixed.contains("label = \"日本😊\"; await asyncio.sleep(2)"),
        "{fixed}"
    );
    assert!(fixed.contains("import asyncio"), "{fixed}");
    assert_eq!(client.diagnostics(&uri, Some(2)), Vec::<Value>::new());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn quick_fix_round_trip_in_utf8() {
    quick_fix_round_trip(&[Encoding::Utf16, Encoding::Utf8], Encoding::Utf8);
}

#[test]
fn quick_fix_round_trip_in_utf16() {
    quick_fix_round_trip(&[Encoding::Utf16], Encoding::Utf16);
}

#[test]
fn hover_over_a_diagnostic_shows_the_rule_documentation() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("hover.py");
    client.open(&uri, SLEEPY);
    let diagnostics = client.diagnostics(&uri, Some(1));
    let start = diagnostics[0]["range"]["start"].clone();
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": start}),
        )
        .unwrap_or_else(|e| panic!("hover failed: {e}"));
    assert_eq!(hover["contents"]["kind"], "markdown");
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains("AIO200") && text.contains("blocking-sleep"),
        "{text}"
    );
    assert!(text.contains("## What it does"), "{text}");
    assert_eq!(hover["range"], diagnostics[0]["range"]);
    let nothing = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 2}}),
        )
        .unwrap_or_else(|e| panic!("hover failed: {e}"));
    assert!(nothing.is_null());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn fix_all_applies_every_safe_fix() {
    let text =
        "import time\n\nasync def a():\n    time.sleep(1)\n\nasync def b():\n    time.sleep(2)\n";
    let mut client = Client::initialized(&[Encoding::Utf8], &[]);
    let uri = doc_uri("fixall.py");
    client.open(&uri, text);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 2);
    let actions = code_actions(&mut client, &uri, &[], Some(&["source.fixAll"]));
    assert_eq!(actions.len(), 1, "{actions:#?}");
    assert_eq!(actions[0]["kind"], "source.fixAll.aiolint");
    let fixed = client.change(&uri, 2, text, &action_edits(&actions[0], &uri));
    assert!(!fixed.contains("time.sleep"), "{fixed}");
    assert_eq!(fixed.matches("await asyncio.sleep(").count(), 2, "{fixed}");
    assert_eq!(client.diagnostics(&uri, Some(2)), Vec::<Value>::new());
    // Nothing left to fix: no fixAll action, and quick fixes only when asked for.
    assert!(code_actions(&mut client, &uri, &[], Some(&["source.fixAll"])).is_empty());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn noqa_action_appends_or_merges_the_code() {
    let text = "import asyncio\nimport time\n\nasync def a():\n    time.sleep(1)\n    asyncio.create_task(a())  # noqa: AIO999\n";
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("noqa.py");
    client.open(&uri, text);
    let diagnostics = client.diagnostics(&uri, Some(1));
    let codes: Vec<&str> = diagnostics
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(codes, ["AIO200", "AIO101"], "{diagnostics:#?}");
    let actions = code_actions(&mut client, &uri, &diagnostics, Some(&["quickfix"]));
    let append = action_edits(titled(&actions, "Disable AIO200 for this line"), &uri);
    let merge = action_edits(titled(&actions, "Disable AIO101 for this line"), &uri);
    let mut edits = append;
    edits.extend(merge);
    let fixed = client.change(&uri, 2, text, &edits);
    assert!(
        fixed.contains("    time.sleep(1)  # noqa: AIO200\n"),
        "{fixed}"
    );
    assert!(
        fixed.contains("create_task(a())  # noqa: AIO999, AIO101\n"),
        "{fixed}"
    );
    assert_eq!(client.diagnostics(&uri, Some(2)), Vec::<Value>::new());
    assert!(client.shutdown_and_exit().success());
}

/// `_ = fetch()` may be a deliberate discard: "disable for this line" comes first and the
/// `await` fix is not preferred; a plain missing `await` keeps its fix first.
#[test]
fn a_deliberate_discard_offers_noqa_before_the_fix() {
    let text =
        "async def fetch():\n    return 1\n\nasync def main():\n    _ = fetch()\n    fetch()\n";
    let mut client = Client::initialized(&[Encoding::Utf8], &[]);
    let uri = doc_uri("discard.py");
    client.open(&uri, text);
    let diagnostics = client.diagnostics(&uri, Some(1));
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    let mut titles = |diagnostic: &Value| -> Vec<String> {
        code_actions(
            &mut client,
            &uri,
            std::slice::from_ref(diagnostic),
            Some(&["quickfix"]),
        )
        .iter()
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect()
    };
    let discard = titles(&diagnostics[0]);
    assert_eq!(
        discard,
        ["Disable AIO100 for this line", "Add `await`"],
        "{diagnostics:#?}"
    );
    let dropped = titles(&diagnostics[1]);
    assert_eq!(dropped, ["Add `await`", "Disable AIO100 for this line"]);
    let actions = code_actions(&mut client, &uri, &diagnostics[..1], Some(&["quickfix"]));
    assert!(titled(&actions, "Add `await`")["isPreferred"].is_null());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn a_burst_of_200_incremental_edits_ends_with_the_right_diagnostics() {
    let start = "import time\n\nasync def f():\n    pass\n";
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("burst.py");
    client.open(&uri, start);
    assert!(client.diagnostics(&uri, Some(1)).is_empty());
    // Type statements with emoji comments, one character per notification, sent as fast as
    // the pipe takes them.
    let statements: Vec<String> = (0..20)
        .map(|i| format!("    time.sleep({i})  # 😊\n"))
        .collect();
    let typed: String = statements.concat().chars().take(200).collect();
    let mut text = start.to_string();
    let mut version = 1;
    let (mut line, mut column) = (4_usize, 0_usize);
    for ch in typed.chars() {
        version += 1;
        let at = json!({"line": line, "character": column});
        let edit = json!({"range": {"start": at, "end": at}, "newText": ch.to_string()});
        text = client.change(&uri, version, &text, &[edit]);
        column += ch.len_utf16();
        if ch == '\n' {
            line += 1;
            column = 0;
        }
    }
    // Finish the statement being typed, in one more change.
    let partial = typed.rsplit('\n').next().unwrap_or_default();
    let statement = statements
        .iter()
        .find(|s| s.starts_with(partial))
        .expect("the partial line starts a statement");
    version += 1;
    let at = json!({"line": line, "character": column});
    let edit = json!({"range": {"start": at, "end": at}, "newText": &statement[partial.len()..]});
    text = client.change(&uri, version, &text, &[edit]);
    assert_eq!(version, 202);

    let diagnostics = client.diagnostics(&uri, Some(version));
    let expected: Vec<Value> = text
        .match_indices("time.sleep(")
        .map(|(at, _)| {
            let end = at + text[at..].find(')').unwrap_or_default() + 1;
            json!({
                "start": lsp_client::position(&text, at, Encoding::Utf16),
                "end": lsp_client::position(&text, end, Encoding::Utf16),
            })
        })
        .collect();
    let ranges: Vec<Value> = diagnostics.iter().map(|d| d["range"].clone()).collect();
    assert_eq!(expected.len(), 9, "{text}");
    assert_eq!(ranges, expected, "{text}");
    // Superseded results were dropped: few publications, in version order, none after the last.
    let published: Vec<i64> = client
        .collect_for(Duration::from_millis(200), |m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        })
        .iter()
        .filter_map(|m| m["params"]["version"].as_i64())
        .collect();
    assert!(published.windows(2).all(|w| w[0] < w[1]), "{published:?}");
    assert!(published.iter().all(|&v| v < version), "{published:?}");
    assert!(published.len() < 100, "bursts are coalesced: {published:?}");
    assert!(client.shutdown_and_exit().success());
}

/// `(code, line, column)` of each finding of `aiolint check` on `path` in `dir`, 1-based.
fn check_findings(dir: &std::path::Path, path: &str) -> Vec<(String, u64, u64)> {
    let output = common::aiolint(
        dir,
        &["check", "--output-format", "json", "--no-cache", path],
    );
    common::json(&output)
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["column"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// `(code, line, column)` of each diagnostic, 1-based (the column of an ASCII line).
fn diagnostic_positions(diagnostics: &[Value]) -> Vec<(String, u64, u64)> {
    diagnostics
        .iter()
        .map(|d| {
            let start = &d["range"]["start"];
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                start["line"].as_u64().unwrap_or_default() + 1,
                start["character"].as_u64().unwrap_or_default() + 1,
            )
        })
        .collect()
}

/// A document whose line breaks are mostly lone `\r`s (old Mac line endings), with a string
/// across one and a `# noqa`: the server's diagnostics are at the lines and columns
/// `aiolint check` gives, when opened and after an edit that adds a line.
#[test]
fn a_lone_cr_document_gets_the_diagnostics_of_aiolint_check() {
    let text = "import time\r\rasync def f():\r    x = 1\r\n    time.sleep(1)\r    s = '''a\rb'''; time.sleep(2)\r    time.sleep(4)  # noqa\r";
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cr.py");
    std::fs::write(&path, text).expect("write");
    let expected = check_findings(dir.path(), "cr.py");
    assert_eq!(
        expected,
        [("AIO200".to_string(), 5, 5), ("AIO200".to_string(), 7, 7)]
    );
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = file_uri(&path);
    client.open(&uri, text);
    assert_eq!(
        diagnostic_positions(&client.diagnostics(&uri, Some(1))),
        expected
    );
    // After `time.sleep(1)` (line 5, counting lone `\r`s), a new line ended by a lone `\r`.
    let at = json!({"line": 4, "character": 17});
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": &uri, "version": 2},
            "contentChanges": [{"range": {"start": at, "end": at}, "text": "\r    time.sleep(3)"}],
        }),
    );
    let edited = text.replacen("time.sleep(1)", "time.sleep(1)\r    time.sleep(3)", 1);
    std::fs::write(&path, &edited).expect("write");
    let expected = check_findings(dir.path(), "cr.py");
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert_eq!(
        diagnostic_positions(&client.diagnostics(&uri, Some(2))),
        expected
    );
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn malformed_and_out_of_range_requests_get_errors_and_the_server_keeps_working() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("robust.py");
    client.open(&uri, SLEEPY);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);

    // Parameters of the wrong shape.
    let error = client
        .request("textDocument/hover", json!({"position": "nowhere"}))
        .expect_err("bad params are an error");
    assert_eq!(error["code"], -32602);
    // A method nobody implements.
    let error = client
        .request("aiolint/nonsense", json!({}))
        .expect_err("unknown methods are an error");
    assert_eq!(error["code"], -32601);
    // A frame that is not JSON.
    client.send_raw(b"Content-Length: 9\r\n\r\n{not json");
    let parse_error = client.wait_for("parse error", |m| m["error"]["code"] == -32700);
    assert!(parse_error["id"].is_null());
    // JSON that is not JSON-RPC.
    client.send(&json!({"id": 99, "method": 3}));
    let invalid = client.wait_for("invalid request", |m| m["id"] == 99);
    assert_eq!(invalid["error"]["code"], -32600);
    // A notification with bad parameters has no one to answer; it is dropped.
    client.notify("textDocument/didChange", json!({"textDocument": 5}));
    // Commands: confirm with arguments of the wrong shape is an error.
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "aiolint.confirm", "arguments": [{"uri": uri}]}),
        )
        .expect_err("confirm needs [uri, {range, code}]");
    assert_eq!(error["code"], -32602, "{error}");
    let error = client
        .request("workspace/executeCommand", json!({"command": "rm -rf"}))
        .expect_err("unknown commands are an error");
    assert_eq!(error["code"], -32602);

    // Positions past the end of a line and of the file are clamped.
    let far = json!({"line": 9999, "character": 9999});
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": far}),
        )
        .unwrap_or_else(|e| panic!("hover failed: {e}"));
    assert!(hover.is_null());
    let wide =
        json!({"start": {"line": 3, "character": 500}, "end": {"line": 9999, "character": 1}});
    let edit = json!({"range": wide, "text": "\nx = 1\n"});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]}),
    );
    let diagnostics = client.diagnostics(&uri, Some(2));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    // A stale version and an unknown document are ignored.
    let stale = json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "oops("});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [stale.clone()]}),
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc_uri("unknown.py"), "version": 7}, "contentChanges": [stale]}),
    );
    // A code action for stale diagnostics (version 1) offers nothing for them.
    let old = json!([{"range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 4}},
        "code": "AIO200", "source": "aiolint", "message": "m", "data": {"version": 1}}]);
    let actions = code_actions(
        &mut client,
        &uri,
        old.as_array().map_or(&[], Vec::as_slice),
        Some(&["quickfix"]),
    );
    assert!(actions.is_empty(), "{actions:#?}");
    // Still alive and still right: the stale change did not apply.
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": diagnostics[0]["range"]["start"]}),
        )
        .unwrap_or_else(|e| panic!("hover failed: {e}"));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("AIO200"))
    );
    // The stale change did not apply: the next version has no syntax error from `oops(`.
    let noop = json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": ""});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [noop]}),
    );
    let codes: Vec<Value> = client
        .diagnostics(&uri, Some(3))
        .iter()
        .map(|d| d["code"].clone())
        .collect();
    assert_eq!(codes, [json!("AIO200")]);
    assert!(client.is_running());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn a_50000_line_document_is_handled() {
    let mut text = String::from("import time\n\nasync def f():\n");
    for i in 0..50_000 {
        let _ = writeln!(text, "    x{i} = {i}");
    }
    text.push_str("    time.sleep(1)\n");
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("large.py");
    client.open(&uri, &text);
    let diagnostics = client.diagnostics(&uri, Some(1));
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 50_003);
    let edit =
        json!({"range": range_of(&text, "time.sleep(1)", Encoding::Utf16), "newText": "pass"});
    client.change(&uri, 2, &text, &[edit]);
    assert!(client.diagnostics(&uri, Some(2)).is_empty());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn workspace_scan_reports_progress_and_watched_files_are_rechecked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::write(root.join(".gitignore"), "ignored/\n").expect("write");
    std::fs::create_dir_all(root.join("ignored")).expect("mkdir");
    std::fs::write(root.join("ignored/skip.py"), SLEEPY).expect("write");
    std::fs::write(root.join("app.py"), SLEEPY).expect("write");
    std::fs::write(root.join("clean.py"), "x = 1\n").expect("write");
    let mut client = Client::initialized(&[Encoding::Utf16], &[root]);
    let app = file_uri(&root.join("app.py"));
    let create = client.wait_for("progress create", |m| {
        m["method"] == "window/workDoneProgress/create"
    });
    let token = create["params"]["token"].clone();
    let begin = client.wait_for("progress begin", |m| {
        m["method"] == "$/progress"
            && m["params"]["token"] == token
            && m["params"]["value"]["kind"] == "begin"
    });
    assert!(
        begin["params"]["value"]["title"]
            .as_str()
            .is_some_and(|t| t.contains("aiolint"))
    );
    let diagnostics = client.diagnostics(&app, None);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(
        diagnostics[0]["range"],
        range_of(SLEEPY, "time.sleep(2)", Encoding::Utf16)
    );
    let end = client.wait_for("progress end", |m| {
        m["method"] == "$/progress"
            && m["params"]["token"] == token
            && m["params"]["value"]["kind"] == "end"
    });
    assert!(
        end["params"]["value"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("2 files")),
        "{end}"
    );
    let registration = client.wait_for("watcher registration", |m| {
        m["method"] == "client/registerCapability"
    });
    assert_eq!(
        registration["params"]["registrations"][0]["method"],
        "workspace/didChangeWatchedFiles"
    );
    // Nothing for the ignored file or the clean one.
    let others = client.collect_for(Duration::from_millis(300), |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] != app
    });
    assert!(others.is_empty(), "{others:#?}");

    // The file is fixed on disk: the watcher's event clears its diagnostics.
    std::fs::write(root.join("app.py"), "import asyncio\n").expect("write");
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": app, "type": 2}]}),
    );
    assert!(client.diagnostics(&app, None).is_empty());
    // A new file with a finding is picked up.
    std::fs::write(root.join("new.py"), SLEEPY).expect("write");
    let new = file_uri(&root.join("new.py"));
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": new, "type": 1}]}),
    );
    assert_eq!(client.diagnostics(&new, None).len(), 1);
    // Deleted: cleared.
    std::fs::remove_file(root.join("new.py")).expect("remove");
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": new, "type": 3}]}),
    );
    assert!(client.diagnostics(&new, None).is_empty());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn closing_a_document_clears_its_diagnostics() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("close.py");
    client.open(&uri, SLEEPY);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    assert!(client.diagnostics(&uri, None).is_empty());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn exit_without_shutdown_is_status_1() {
    let client = Client::initialized(&[Encoding::Utf16], &[]);
    assert_eq!(client.exit().code(), Some(1));
}

#[test]
fn the_client_model_agrees_with_itself() {
    // The test's own position arithmetic, checked once on the tricky characters.
    let text = "a😊b\né\n日本";
    for encoding in [Encoding::Utf8, Encoding::Utf16] {
        for (i, _) in text.char_indices() {
            let p = lsp_client::position(text, i, encoding);
            let back = lsp_client::offset(
                text,
                p["line"].as_u64().unwrap_or_default(),
                p["character"].as_u64().unwrap_or_default(),
                encoding,
            );
            assert_eq!(back, i);
        }
    }
    let edits = [json!({"range": range_of(text, "é", Encoding::Utf16), "newText": "e"})];
    assert_eq!(apply_edits(text, &edits, Encoding::Utf16), "a😊b\ne\n日本");
}

/// `aiolint.confirm` runs the finding in real Python, answers with the confirmation, and
/// republishes the diagnostic with the evidence; the code action list offers it.
#[test]
fn confirm_command_runs_the_finding_and_republishes_the_evidence() {
    let text = "import time\n\nasync def poll():\n    time.sleep(0.4)\n";
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("confirm.py");
    client.open(&uri, text);
    let diagnostics = client.diagnostics(&uri, Some(1));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let actions = code_actions(&mut client, &uri, &diagnostics, None);
    let command = &titled(&actions, "aiolint: Confirm AIO200 by running it")["command"];
    assert_eq!(command["command"], "aiolint.confirm");
    let arguments = command["arguments"].clone();
    assert_eq!(
        arguments,
        json!([uri, {"range": diagnostics[0]["range"], "code": "AIO200"}])
    );
    // Not a quick fix: absent when only quick fixes are asked for.
    let quick = code_actions(&mut client, &uri, &diagnostics, Some(&["quickfix"]));
    assert!(
        quick.iter().all(|a| a.get("command").is_none()),
        "{quick:#?}"
    );

    let result = client
        .request(
            "workspace/executeCommand",
            json!({"command": "aiolint.confirm", "arguments": arguments}),
        )
        .unwrap_or_else(|e| panic!("confirm failed: {e}"));
    assert_eq!(result["verdict"], "confirmed", "{result}");
    let stall = result["stall_ms"].as_u64().unwrap_or_default();
    assert!((350..=700).contains(&stall), "{result}");
    assert!(
        result["detail"]
            .as_str()
            .is_some_and(|d| d.ends_with("at line 4")),
        "{result}"
    );
    let republished = client.diagnostics(&uri, Some(1));
    assert_eq!(republished.len(), 1, "{republished:#?}");
    let message = republished[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(diagnostics[0]["message"].as_str().unwrap_or("?")),
        "{message}"
    );
    assert!(
        message.contains(" — confirmed: event loop blocked for "),
        "{message}"
    );
    assert_eq!(republished[0]["range"], diagnostics[0]["range"]);

    // A range where there is no such diagnostic is a failed request, not a guess.
    let error = client
        .request(
            "workspace/executeCommand",
            json!({"command": "aiolint.confirm", "arguments": [uri, {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "code": "AIO200"}]}),
        )
        .expect_err("no diagnostic there");
    assert_eq!(error["code"], -32803, "{error}");
    assert!(client.shutdown_and_exit().success());
}

/// A package of three modules in a temporary workspace folder.
fn package(helpers: &str, app: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(pkg.join("__init__.py"), "").expect("write");
    std::fs::write(pkg.join("helpers.py"), helpers).expect("write");
    std::fs::write(pkg.join("app.py"), app).expect("write");
    dir
}

/// Replaces the whole text of an open document with one incremental change.
fn replace_text(client: &mut Client, uri: &str, version: i64, old: &str, new: &str) {
    let whole = json!({
        "start": {"line": 0, "character": 0},
        "end": lsp_client::position(old, old.len(), client.encoding),
    });
    let changed = client.change(
        uri,
        version,
        old,
        &[json!({"range": whole, "newText": new})],
    );
    assert_eq!(changed, new);
}

/// Waits for a publication of `uri`'s diagnostics at `version` that satisfies `wanted` (earlier
/// ones are skipped; each wait has the client's deadline).
fn diagnostics_until(
    client: &mut Client,
    uri: &str,
    version: Option<i64>,
    wanted: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    loop {
        let diagnostics = client.diagnostics(uri, version);
        if wanted(&diagnostics) {
            return diagnostics;
        }
    }
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect()
}

const APP: &str = "from pkg.helpers import load\n\n\nasync def main():\n    load()\n";

/// Typing a blocking call into a helper of one open document makes another open document's
/// coroutine that calls it report AIO202, with the related location in the helper's file
/// (columns in UTF-16 after an emoji); typing it away clears the finding again.
#[test]
fn a_change_in_one_file_updates_transitive_blocking_in_another() {
    let clean = "def load():\n    return 1\n";
    let blocking = "import time\n\n\ndef load():\n    s = '😊'; time.sleep(1)\n    return 1\n";
    let dir = package(clean, APP);
    let root = dir.path();
    let app = file_uri(&root.join("pkg/app.py"));
    let helpers = file_uri(&root.join("pkg/helpers.py"));
    let mut client = Client::initialized(&[Encoding::Utf16], &[root]);
    client.open(&app, APP);
    client.open(&helpers, clean);
    assert!(client.diagnostics(&app, Some(1)).is_empty());
    assert!(client.diagnostics(&helpers, Some(1)).is_empty());

    replace_text(&mut client, &helpers, 2, clean, blocking);
    let found = diagnostics_until(&mut client, &app, Some(1), |d| !d.is_empty());
    assert_eq!(codes(&found), ["AIO202"], "{found:#?}");
    assert_eq!(found[0]["range"], range_of(APP, "load()", Encoding::Utf16));
    let message = found[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("load -> time.sleep()"), "{message}");
    let related = &found[0]["relatedInformation"];
    assert_eq!(related.as_array().map(Vec::len), Some(1), "{related:#?}");
    assert_eq!(related[0]["location"]["uri"], helpers);
    assert_eq!(
        related[0]["location"]["range"],
        range_of(blocking, "time.sleep(1)", Encoding::Utf16)
    );
    // The helper itself has no finding: it is not a coroutine.
    assert!(client.diagnostics(&helpers, Some(2)).is_empty());

    replace_text(&mut client, &helpers, 3, blocking, clean);
    let cleared = diagnostics_until(&mut client, &app, Some(1), <[Value]>::is_empty);
    assert!(cleared.is_empty());
    assert!(client.shutdown_and_exit().success());
}

/// A helper that becomes a coroutine makes the dropped call in another module AIO100 (with the
/// safe "add await" quick fix); closing the helper's unsaved buffer brings the disk text back,
/// and a change on disk, reported by the file watcher, counts again.
#[test]
fn missing_await_follows_a_coroutine_across_files_open_closed_and_on_disk() {
    let sync = "def load():\n    return 1\n";
    let coroutine = "async def load():\n    return 1\n";
    let dir = package(sync, APP);
    let root = dir.path();
    let app = file_uri(&root.join("pkg/app.py"));
    let helpers = file_uri(&root.join("pkg/helpers.py"));
    let mut client = Client::initialized(&[Encoding::Utf8, Encoding::Utf16], &[root]);
    assert_eq!(client.encoding, Encoding::Utf8);
    client.open(&app, APP);
    client.open(&helpers, sync);
    assert!(client.diagnostics(&app, Some(1)).is_empty());

    replace_text(&mut client, &helpers, 2, sync, coroutine);
    let found = diagnostics_until(&mut client, &app, Some(1), |d| !d.is_empty());
    assert_eq!(codes(&found), ["AIO100"], "{found:#?}");
    assert_eq!(found[0]["range"], range_of(APP, "load()", Encoding::Utf8));
    let actions = code_actions(&mut client, &app, &found, Some(&["quickfix"]));
    let edits = action_edits(titled(&actions, "Add `await`"), &app);
    let fixed = apply_edits(APP, &edits, Encoding::Utf8);
    assert!(fixed.contains("    await load()\n"), "{fixed}");

    // Closing the unsaved helper: the project goes back to its text on disk (sync).
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": helpers}}),
    );
    diagnostics_until(&mut client, &app, Some(1), <[Value]>::is_empty);

    // The helper becomes a coroutine on disk; the watcher says so.
    std::fs::write(root.join("pkg/helpers.py"), coroutine).expect("write");
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": helpers, "type": 2}]}),
    );
    let found = diagnostics_until(&mut client, &app, Some(1), |d| !d.is_empty());
    assert_eq!(codes(&found), ["AIO100"], "{found:#?}");
    assert!(client.shutdown_and_exit().success());
}

/// A file the workspace scan published (not open) is checked again when a change to another
/// file is saved: unversioned diagnostics with the cross-file finding.
#[test]
fn saving_a_change_rechecks_closed_workspace_files() {
    let clean = "def load():\n    return 1\n";
    let blocking = "import time\n\n\ndef load():\n    time.sleep(1)\n    return 1\n";
    let dir = package(clean, APP);
    let root = dir.path();
    let app = file_uri(&root.join("pkg/app.py"));
    let helpers = file_uri(&root.join("pkg/helpers.py"));
    let mut client = Client::initialized(&[Encoding::Utf16], &[root]);
    client.wait_for("the end of the workspace scan", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    client.open(&helpers, clean);
    assert!(client.diagnostics(&helpers, Some(1)).is_empty());
    replace_text(&mut client, &helpers, 2, clean, blocking);
    assert!(client.diagnostics(&helpers, Some(2)).is_empty());
    // Typing alone leaves closed files as they are; the save re-checks them.
    let early = client.collect_for(Duration::from_millis(300), |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == app
    });
    assert!(early.is_empty(), "{early:#?}");
    std::fs::write(root.join("pkg/helpers.py"), blocking).expect("write");
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": helpers}}),
    );
    let found = client.diagnostics(&app, None);
    assert_eq!(codes(&found), ["AIO202"], "{found:#?}");
    assert_eq!(
        found[0]["relatedInformation"][0]["location"]["range"],
        range_of(blocking, "time.sleep(1)", Encoding::Utf16)
    );
    assert!(client.shutdown_and_exit().success());
}

/// Typing inside one function re-checks that function at once and the whole document once
/// typing pauses: a blocking call typed into a sync helper shows up in the coroutine that
/// calls it (a finding outside the edited function) without another change, and a blocking
/// call typed into the coroutine is reported with the earlier finding still in place.
#[test]
fn typing_in_a_function_is_rechecked_and_the_document_completed_when_typing_pauses() {
    let text = "import time\n\n\ndef helper():\n    return 1\n\n\nasync def main():\n    helper()\n    await tick()\n\n\nasync def tick():\n    pass\n";
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.py");
    std::fs::write(&path, text).expect("write");
    let uri = file_uri(&path);
    let mut client = Client::initialized(&[Encoding::Utf16], &[dir.path()]);
    client.open(&uri, text);
    assert!(client.diagnostics(&uri, Some(1)).is_empty());

    let insert = |client: &mut Client, version: i64, old: &str, before: &str, new: &str| {
        let offset = old.find(before).expect("in the text");
        let at = lsp_client::position(old, offset, client.encoding);
        client.change(
            &uri,
            version,
            old,
            &[json!({"range": {"start": at, "end": at}, "newText": new})],
        )
    };
    let blocking_helper = insert(&mut client, 2, text, "return 1", "time.sleep(1)\n    ");
    let found = diagnostics_until(&mut client, &uri, Some(2), |d| !d.is_empty());
    assert_eq!(codes(&found), ["AIO202"], "{found:#?}");
    // The call, not the `def`.
    let call = |text: &str| {
        let start = text.rfind("helper()").expect("a call");
        json!({
            "start": lsp_client::position(text, start, Encoding::Utf16),
            "end": lsp_client::position(text, start + "helper()".len(), Encoding::Utf16),
        })
    };
    assert_eq!(found[0]["range"], call(&blocking_helper));

    let both = insert(
        &mut client,
        3,
        &blocking_helper,
        "await tick()",
        "time.sleep(2)\n    ",
    );
    let found = diagnostics_until(&mut client, &uri, Some(3), |d| d.len() == 2);
    assert_eq!(codes(&found), ["AIO202", "AIO200"], "{found:#?}");
    assert_eq!(found[0]["range"], call(&both));
    assert_eq!(
        found[1]["range"],
        range_of(&both, "time.sleep(2)", Encoding::Utf16)
    );
    assert!(client.shutdown_and_exit().success());
}

/// A coroutine and three empty ones to type into.
const FOUR_COROUTINES: &str = "import asyncio\nimport time\n\n\nasync def fetch():\n    await asyncio.sleep(0)\n\n\nasync def one():\n    pass\n\n\nasync def two():\n    pass\n\n\nasync def three():\n    pass\n";

/// The code and (1-based) line of each diagnostic.
fn code_lines(diagnostics: &[Value]) -> Vec<(&str, u64)> {
    diagnostics
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default(),
                d["range"]["start"]["line"].as_u64().unwrap_or_default() + 1,
            )
        })
        .collect()
}

/// A keystroke: what is inserted, before the n-th occurrence of what, and the (code, line)s
/// expected afterwards.
type Hop = (
    &'static str,
    &'static str,
    usize,
    &'static [(&'static str, u64)],
);

/// Keystrokes that hop from function to function, each published at its own version before
/// the next is sent: every publication has the findings of its text, also while one function
/// holds a syntax error and after the hop back to an earlier function; and each hop re-checks
/// only its function, against the text of the hop before.
#[test]
fn typing_that_hops_between_functions_is_right_at_every_keystroke() {
    let text = FOUR_COROUTINES;
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("hops.py");
    client.open(&uri, text);
    assert!(client.diagnostics(&uri, Some(1)).is_empty());
    let hops: &[Hop] = &[
        ("fetch()\n    ", "pass", 0, &[("AIO100", 10)]),
        (
            "time.sleep(1)\n    ",
            "pass",
            1,
            &[("AIO100", 10), ("AIO200", 15)],
        ),
        (
            "x ",
            "pass",
            2,
            &[("AIO100", 10), ("AIO200", 15), ("E999", 20)],
        ),
        ("await ", "fetch()", 1, &[("AIO200", 15), ("E999", 20)]),
        ("# ", "time.sleep(1)", 0, &[("E999", 20)]),
    ];
    let mut text = text.to_string();
    for (version, &(inserted, before, nth, expected)) in (2..).zip(hops) {
        let (offset, _) = text.match_indices(before).nth(nth).expect("in the text");
        let at = lsp_client::position(&text, offset, Encoding::Utf16);
        text = client.change(
            &uri,
            version,
            &text,
            &[json!({"range": {"start": at, "end": at}, "newText": inserted})],
        );
        let found = client.diagnostics(&uri, Some(version));
        let lines = code_lines(&found);
        assert_eq!(lines, expected, "version {version}:\n{text}");
        // The next hop re-checks against this text (once its whole parse is kept), not
        // against the whole analysis of the text as opened.
        if version < 4 {
            client.stderr_containing(&format!(
                "kept the whole parse of a re-checked text uri={uri:?} version={version}"
            ));
        }
    }
    let log = client.stderr();
    for version in 3..=4 {
        let against = version - 1;
        let line = format!(
            "re-checked the functions typed in uri={uri:?} version={version} against={against}"
        );
        assert!(log.contains(&line), "{line}\n{log}");
    }
    assert!(client.shutdown_and_exit().success());
}

/// Keystrokes in several functions sent back to back (faster than each can be analysed): the
/// diagnostics of the last one have the findings of its text, whether the server re-checked
/// the functions typed in all at once or analysed the document whole.
#[test]
fn keystrokes_in_several_functions_at_once_end_with_the_right_diagnostics() {
    let text = FOUR_COROUTINES;
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("burst_hops.py");
    client.open(&uri, text);
    assert!(client.diagnostics(&uri, Some(1)).is_empty());
    let mut text = text.to_string();
    for (version, (inserted, nth)) in (2..).zip([
        ("fetch()\n    ", 0),
        ("time.sleep(1)\n    ", 1),
        ("# ", 2),
        ("await ", 0),
    ]) {
        let before = if inserted == "await " {
            "fetch()\n"
        } else {
            "pass"
        };
        let (offset, _) = text.match_indices(before).nth(nth).expect("in the text");
        let at = lsp_client::position(&text, offset, Encoding::Utf16);
        text = client.change(
            &uri,
            version,
            &text,
            &[json!({"range": {"start": at, "end": at}, "newText": inserted})],
        );
    }
    let found = client.diagnostics(&uri, Some(5));
    let lines = code_lines(&found);
    assert_eq!(lines, [("AIO200", 15)], "{text}");
    assert!(client.shutdown_and_exit().success());
}
