//! `aiolint server` against a hostile or clumsy client, over stdio through the real binary:
//! broken frames, wrong parameters, requests out of order, positions that point nowhere or
//! into the middle of a character, changes the server must refuse, a long burst of edits, and
//! the ways a session can end. The server must keep serving (and answer correctly) or exit
//! cleanly, leaving no process behind. (`tests/cli_server.rs` has the first malformed and
//! out-of-range requests; these go further.)
//!
//! Every wait has a deadline; nothing sleeps for a fixed time.

mod lsp_client;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use lsp_client::{Client, Encoding, TIMEOUT, file_uri, range_of};
use serde_json::{Value, json};

/// A finding on a line with an emoji before it and one inside it.
const EMOJI: &str = "import time\n\n\nasync def poll():\n    s = '😊😊'; time.sleep(len('😊'))\n";

fn doc_uri(name: &str) -> String {
    format!("file:///tmp/aiolint-robustness/{name}")
}

fn framed(body: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

/// A hover request that must be answered (with anything but an error): the server still reads
/// and answers after whatever came before.
fn still_serving(client: &mut Client, uri: &str) {
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
    );
    assert!(hover.is_ok(), "{hover:?}\n{}", client.stderr());
    assert!(client.is_running());
}

/// The response with `id`, or a failure naming what was expected.
fn response(client: &mut Client, id: i64) -> Value {
    client.wait_for(&format!("the response to request {id}"), |m| {
        m.get("method").is_none() && m["id"] == id
    })
}

fn parse_error(client: &mut Client, what: &str) -> Value {
    let error = client.wait_for(what, |m| m["error"]["code"] == -32700);
    assert!(error["id"].is_null(), "{error}");
    error
}

#[test]
fn bodies_that_are_not_json_rpc_are_answered_and_reading_goes_on() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("bodies.py");
    client.open(&uri, EMOJI);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);

    // Invalid UTF-8, an empty body, JSON cut short, and trailing garbage: parse errors.
    client.send_raw(b"Content-Length: 4\r\n\r\n\xff\xfe\x00{");
    parse_error(&mut client, "a parse error for invalid UTF-8");
    client.send_raw(b"Content-Length: 0\r\n\r\n");
    parse_error(&mut client, "a parse error for an empty body");
    client.send_raw(framed(r#"{"jsonrpc": "2.0", "id": 3, "method": "#).as_bytes());
    parse_error(&mut client, "a parse error for JSON cut short");
    client.send_raw(framed(r#"{"jsonrpc": "2.0", "id": 4, "method": "shutdown"} x"#).as_bytes());
    parse_error(&mut client, "a parse error for trailing garbage");
    // Valid JSON that is no message: a batch (LSP has none), a string, a wrong version.
    for (id, body) in [
        (0, "[]".to_string()),
        (0, r#""hello""#.to_string()),
        (
            41,
            r#"{"jsonrpc": "1.0", "id": 41, "method": "shutdown"}"#.to_string(),
        ),
    ] {
        client.send_raw(framed(&body).as_bytes());
        let invalid = client.wait_for(&format!("invalid request for {body}"), |m| {
            m["error"]["code"] == -32600
        });
        let expected = if id == 0 { Value::Null } else { json!(id) };
        assert_eq!(invalid["id"], expected, "{invalid}");
    }
    still_serving(&mut client, &uri);
    // The wrong-version `shutdown` was not obeyed: the session still ends as one without it.
    assert!(client.shutdown_and_exit().success());
}

/// A `Content-Length` that does not match the body: the server answers what it can, loses at
/// most the message the bad length ran into, and is back in step for the one after.
#[test]
fn a_wrong_content_length_costs_at_most_the_next_message() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("lengths.py");
    client.open(&uri, EMOJI);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);
    let probe = |id: i64| -> String {
        json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/hover",
            "params": {"textDocument": {"uri": doc_uri("lengths.py")}, "position": {"line": 0, "character": 0}}})
        .to_string()
    };

    // Too short: the body is cut (a parse error), the rest of it runs into the next header.
    let body = probe(10);
    client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len() - 7).as_bytes());
    client.send_raw(framed(&probe(11)).as_bytes());
    parse_error(&mut client, "a parse error for the cut body");
    assert!(response(&mut client, 11).get("result").is_some());

    // Too long: the body takes the start of the next frame (a parse error), whose header is
    // then broken (another); the frame after that is read.
    let body = probe(12);
    client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len() + 5).as_bytes());
    client.send_raw(framed(&probe(13)).as_bytes());
    client.send_raw(framed(&probe(14)).as_bytes());
    parse_error(&mut client, "a parse error for the overlong body");
    parse_error(&mut client, "a parse error for the broken header");
    assert!(response(&mut client, 14).get("result").is_some());

    // Not a number, negative, too large, and no Content-Length at all: each is answered and
    // the frame after it read.
    let mut id = 20;
    for header in [
        "Content-Length: twelve\r\n".to_string(),
        "Content-Length: -5\r\n".to_string(),
        "Content-Length: 99999999999999999999999\r\n".to_string(),
        "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n".to_string(),
    ] {
        client.send_raw(format!("{header}\r\n{}", probe(id)).as_bytes());
        client.send_raw(framed(&probe(id + 1)).as_bytes());
        parse_error(
            &mut client,
            &format!("a parse error for `{}`", header.trim()),
        );
        assert!(
            response(&mut client, id + 1).get("result").is_some(),
            "after `{}`",
            header.trim()
        );
        assert!(
            client
                .collect_for(Duration::ZERO, |m| m["id"] == id)
                .is_empty(),
            "the body of a frame without a usable length is not a message"
        );
        id += 2;
    }
    still_serving(&mut client, &uri);
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn parameters_of_the_wrong_type_are_invalid_params_and_notifications_with_them_are_dropped() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("params.py");
    client.open(&uri, EMOJI);
    let diagnostics = client.diagnostics(&uri, Some(1));
    assert_eq!(diagnostics.len(), 1);

    let position = json!({"line": 0, "character": 0});
    for (method, params) in [
        ("textDocument/hover", Value::Null),
        ("textDocument/hover", json!([uri, position])),
        (
            "textDocument/hover",
            json!({"textDocument": {"uri": 5}, "position": position}),
        ),
        (
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": -1, "character": 0}}),
        ),
        (
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 4_294_967_296_u64, "character": 0}}),
        ),
        (
            "textDocument/hover",
            json!({"textDocument": {"uri": "not a uri"}, "position": position}),
        ),
        (
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": [0, 1], "context": {"diagnostics": []}}),
        ),
        (
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": position, "end": position}, "context": {"diagnostics": "all"}}),
        ),
        (
            "workspace/executeCommand",
            json!({"command": "aiolint.confirm", "arguments": "x"}),
        ),
    ] {
        let error = client
            .request(method, params.clone())
            .expect_err("wrong parameters are an error");
        assert_eq!(error["code"], -32602, "{method} {params}: {error}");
    }

    // Notifications with parameters of the wrong type change nothing.
    client.notify("textDocument/didOpen", json!({"textDocument": {"uri": doc_uri("other.py"), "languageId": "python", "version": "1", "text": 5}}));
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": {"text": ""}}),
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": "all", "text": ""}]}),
    );
    client.notify("textDocument/didClose", json!({"textDocument": uri}));
    client.notify("workspace/didChangeWatchedFiles", json!({"changes": 3}));
    // The document is as it was, still open, at version 1.
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": diagnostics[0]["range"]["start"]}),
        )
        .unwrap_or_else(|e| panic!("hover failed: {e}"));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("AIO200")),
        "{hover}"
    );
    let edit =
        json!({"range": range_of(EMOJI, "time.sleep(len('😊'))", Encoding::Utf16), "text": "pass"});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]}),
    );
    assert!(client.diagnostics(&uri, Some(2)).is_empty());
    // `other.py` was never opened.
    let unopened = client.collect_for(Duration::ZERO, |m| {
        m["params"]["uri"] == doc_uri("other.py")
    });
    assert!(unopened.is_empty(), "{unopened:#?}");
    // `shutdown` takes no parameters; given some, it is still obeyed, and says so (the library
    // would shut down and answer with an error).
    let shutdown = client.request("shutdown", json!({"now": true}));
    assert_eq!(shutdown, Ok(Value::Null));
    let error = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": position}),
        )
        .expect_err("shut down");
    assert_eq!(error["code"], -32600, "{error}");
    assert_eq!(client.exit().code(), Some(0));
}

/// Before `initialize`, requests are refused with `ServerNotInitialized` and notifications
/// dropped; the session then starts normally. After `shutdown`, requests are invalid.
#[test]
fn requests_before_initialize_and_after_shutdown_are_refused() {
    let mut client = Client::start();
    let uri = doc_uri("early.py");
    let error = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        )
        .expect_err("not initialized yet");
    assert_eq!(error["code"], -32002, "{error}");
    let error = client
        .request("shutdown", Value::Null)
        .expect_err("not initialized yet");
    assert_eq!(error["code"], -32002, "{error}");
    // (A method nobody implements is `MethodNotFound` even now: the library looks the method
    // up first.)
    let error = client
        .request("aiolint/nonsense", json!({}))
        .expect_err("unknown");
    assert_eq!(error["code"], -32601, "{error}");
    // A document opened before `initialize` is not open afterwards.
    client.open(&uri, EMOJI);

    client.initialize(&[Encoding::Utf16], &[]);
    let error = client
        .request(
            "initialize",
            json!({"processId": null, "capabilities": {}, "rootUri": null}),
        )
        .expect_err("initialize only once");
    assert_eq!(error["code"], -32600, "{error}");
    let early = client.collect_for(Duration::ZERO, |m| {
        m["method"] == "textDocument/publishDiagnostics"
    });
    assert!(early.is_empty(), "{early:#?}");
    let edit = json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "# "});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]}),
    );
    client.open(&uri, EMOJI);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);

    client
        .request("shutdown", Value::Null)
        .unwrap_or_else(|e| panic!("shutdown failed: {e}"));
    let error = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        )
        .expect_err("shut down");
    assert_eq!(error["code"], -32600, "{error}");
    assert_eq!(client.exit().code(), Some(0));
}

/// An unknown request is `MethodNotFound`; an unknown notification (with or without the `$/`
/// prefix the protocol lets servers ignore) gets no answer at all.
#[test]
fn unknown_methods_are_method_not_found_and_unknown_notifications_ignored() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("unknown.py");
    client.open(&uri, EMOJI);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);
    for method in [
        "textDocument/nonsense",
        "$/aiolint.unknown",
        "",
        "shutdown/",
    ] {
        let error = client
            .request(method, json!({}))
            .expect_err("unknown requests are an error");
        assert_eq!(error["code"], -32601, "`{method}`: {error}");
    }
    for method in [
        "textDocument/nonsense",
        "$/aiolint.unknown",
        "$/cancelRequest",
        "$/setTrace",
        "",
    ] {
        client.notify(method, json!({"id": 12345, "value": "off"}));
    }
    // Requests are answered in order of the pipe, so if a notification had been answered, its
    // answer would have come before this one.
    still_serving(&mut client, &uri);
    let answers = client.collect_for(Duration::ZERO, |m| {
        m.get("method").is_none() && m["id"].is_null()
    });
    assert!(answers.is_empty(), "{answers:#?}");
    assert!(client.shutdown_and_exit().success());
}

/// The UTF-16 column of `needle` in `text`'s line `line` (0-based), plus `units`.
fn column(text: &str, needle: &str, units: u32) -> Value {
    let at = text.find(needle).expect("in the text");
    let position = lsp_client::position(text, at, Encoding::Utf16);
    json!({"line": position["line"], "character": position["character"].as_u64().unwrap_or_default() + u64::from(units)})
}

/// Columns inside an emoji's surrogate pair (UTF-16) or inside its four bytes (UTF-8) round
/// down to the start of the emoji, for requests and for edits; lines and columns past the end
/// clamp to the end.
#[test]
fn positions_inside_a_surrogate_pair_or_out_of_range_round_to_a_character() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("surrogates.py");
    client.open(&uri, EMOJI);
    let diagnostics = client.diagnostics(&uri, Some(1));
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let finding = diagnostics[0]["range"].clone();
    assert_eq!(
        finding,
        range_of(EMOJI, "time.sleep(len('😊'))", Encoding::Utf16)
    );

    // Hover and code actions inside the emoji within the finding's range find it.
    let inside = column(EMOJI, "😊'))", 1);
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": inside}),
        )
        .unwrap_or_else(|e| panic!("hover failed: {e}"));
    assert_eq!(hover["range"], finding, "{hover}");
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": inside, "end": inside},
                "context": {"diagnostics": diagnostics}}),
        )
        .unwrap_or_else(|e| panic!("codeAction failed: {e}"));
    assert!(
        actions.as_array().is_some_and(|a| a
            .iter()
            .any(|a| a["title"] == "Disable AIO200 for this line")),
        "{actions:#?}"
    );
    // Hover inside the emoji before the finding: nothing there.
    let before = column(EMOJI, "😊😊", 1);
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": before}),
        )
        .unwrap_or_else(|e| panic!("hover failed: {e}"));
    assert!(hover.is_null(), "{hover}");

    // An edit from inside the first emoji to inside the second: both ends round down, so the
    // first emoji goes and the second stays.
    let start = column(EMOJI, "😊😊", 1);
    let end = column(EMOJI, "😊😊", 3);
    let edit = json!({"range": {"start": start, "end": end}, "text": "x"});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [edit]}),
    );
    let text = EMOJI.replacen("😊😊", "x😊", 1);
    let diagnostics = client.diagnostics(&uri, Some(2));
    let ranges: Vec<&Value> = diagnostics.iter().map(|d| &d["range"]).collect();
    assert_eq!(
        ranges,
        [&range_of(&text, "time.sleep(len('😊'))", Encoding::Utf16)],
        "{text}"
    );
    // A reversed range inside the emoji and past the end of the file: put in order, clamped.
    let inside = column(&text, "😊';", 1);
    let edit = json!({"range": {"start": {"line": 4_000_000_000_u32, "character": 4_000_000_000_u32}, "end": inside}, "text": "';\n"});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [edit]}),
    );
    let text = text[..text.find("😊';").expect("in the text")].to_string() + "';\n";
    assert!(text.ends_with("s = 'x';\n"), "{text}");
    assert!(client.diagnostics(&uri, Some(3)).is_empty());
    assert!(client.shutdown_and_exit().success());
}

#[test]
fn positions_inside_a_utf8_character_round_down() {
    let mut client = Client::initialized(&[Encoding::Utf8], &[]);
    assert_eq!(client.encoding, Encoding::Utf8);
    let uri = doc_uri("utf8.py");
    client.open(&uri, EMOJI);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);
    let line = EMOJI.lines().nth(4).expect("line 5");
    let first = line.find('😊').expect("an emoji");
    for byte in 1..4 {
        let at = json!({"line": 4, "character": first + byte});
        let edit = json!({"range": {"start": at, "end": at}, "text": ""});
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 1 + byte}, "contentChanges": [edit]}),
        );
    }
    // Inserting at each byte inside the emoji inserts before it: with "" nothing changed.
    let at = json!({"line": 4, "character": first + 2});
    let edit =
        json!({"range": {"start": at, "end": {"line": 4, "character": first + 5}}, "text": "é"});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 5}, "contentChanges": [edit]}),
    );
    let text = EMOJI.replacen("😊😊", "é😊", 1);
    let diagnostics = client.diagnostics(&uri, Some(5));
    let ranges: Vec<&Value> = diagnostics.iter().map(|d| &d["range"]).collect();
    assert_eq!(
        ranges,
        [&range_of(&text, "time.sleep(len('😊'))", Encoding::Utf8)]
    );
    assert!(client.shutdown_and_exit().success());
}

/// A change to a document that is not open, or with a version that does not grow, is ignored:
/// no diagnostics for it, and the text the server holds stays the one the client last sent
/// in order.
#[test]
fn changes_to_unopened_documents_and_backward_versions_are_ignored() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let uri = doc_uri("versions.py");
    let unopened = doc_uri("never_opened.py");
    let everything = json!({"text": "import time\n\nasync def f():\n    time.sleep(1)\n"});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": unopened, "version": 2}, "contentChanges": [everything]}),
    );
    client.open(&uri, EMOJI);
    assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);
    // Version 5, then 3 and 5 again (both stale), then 6.
    let comment_out = |line: u32| json!({"range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 4}}, "text": "# "});
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": "x = (\n"}]}),
    );
    assert_eq!(
        codes(&client.diagnostics(&uri, Some(5))),
        ["E999"],
        "a syntax error at version 5"
    );
    for stale in [3, 5, -1] {
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": stale}, "contentChanges": [everything]}),
        );
    }
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 6}, "contentChanges": [{"text": EMOJI}]}),
    );
    assert_eq!(codes(&client.diagnostics(&uri, Some(6))), ["AIO200"]);
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 7}, "contentChanges": [comment_out(4)]}),
    );
    assert!(client.diagnostics(&uri, Some(7)).is_empty());
    // Reopening starts again from the version it gives, even a lower one.
    client.open(&uri, "x = (\n");
    assert_eq!(codes(&client.diagnostics(&uri, Some(1))), ["E999"]);
    // Nothing was ever published for the unopened document or the stale versions.
    let unexpected = client.collect_for(Duration::ZERO, |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && (m["params"]["uri"] == unopened
                || [3, -1].contains(&m["params"]["version"].as_i64().unwrap_or(0)))
    });
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    let log = client.stderr_containing("didChange for a document that is not open");
    assert!(log.contains("stale didChange ignored"), "{log}");
    assert!(client.shutdown_and_exit().success());
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect()
}

/// A small deterministic pseudo-random generator (xorshift), so a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap_or_default()
    }
}

/// Statements the burst inserts at the start of a line of a function body.
const STATEMENTS: &[&str] = &[
    "    time.sleep(1)\n",
    "    fetch()\n",
    "    await fetch()\n",
    "    s = '😊é日本'; time.sleep(2)\n",
    "    asyncio.create_task(fetch())\n",
    "    x = 1  # 😊\n",
    "    asyncio.get_event_loop()\n",
];

const BURST_START: &str = "import asyncio\nimport time\n\n\nasync def fetch():\n    pass\n\n\ndef helper():\n    pass\n\n\nasync def main():\n    pass\n\n\nclass Service:\n    async def run(self):\n        pass\n";

/// The byte offsets of the starts of the lines in `text` that are function bodies (indented),
/// with whether the line is a `pass` (which keeps its body non-empty, so it stays).
fn body_lines(text: &str) -> Vec<(usize, bool)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indented = line.len() - trimmed.len() >= 4;
        if indented && !trimmed.starts_with("async def") {
            lines.push((start, trimmed.starts_with("pass")));
        }
        start += line.len();
    }
    lines
}

/// One edit of the burst against `text`: (start, end, new text) in bytes.
fn random_edit(
    random: &mut Random,
    text: &str,
    typo: &mut Option<(usize, usize)>,
) -> (usize, usize, String) {
    // A typo is deleted again by the next edit.
    if let Some((start, end)) = typo.take() {
        return (start, end, String::new());
    }
    let lines = body_lines(text);
    let (line, pass) = lines[random.below(lines.len())];
    match random.below(10) {
        0..=3 => {
            let statement = STATEMENTS[random.below(STATEMENTS.len())];
            let indent = text[line..].len() - text[line..].trim_start().len();
            let statement = format!("{}{}", " ".repeat(indent - 4), statement);
            (line, line, statement)
        }
        4..=6 if !pass => {
            let end = text[line..].find('\n').map_or(text.len(), |i| line + i + 1);
            (line, end, String::new())
        }
        _ => {
            // Somewhere on the line, a character that breaks the syntax for one edit.
            let end = text[line..].find('\n').map_or(text.len(), |i| line + i);
            let boundaries: Vec<usize> =
                (line..=end).filter(|&i| text.is_char_boundary(i)).collect();
            let at = boundaries[random.below(boundaries.len())];
            let junk = ["(", "😊", "'", ":", "é"][random.below(5)];
            *typo = Some((at, at + junk.len()));
            (at, at, junk.to_string())
        }
    }
}

/// `aiolint check --output-format json` on `path`: (code, LSP range in UTF-16) of each finding.
fn check_findings(path: &std::path::Path, text: &str) -> Vec<(String, Value)> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args(["check", "--no-cache", "--output-format", "json"])
        .arg(path)
        .output()
        .expect("aiolint check runs");
    let findings: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON output ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let position = |line: &Value, column: &Value| {
        let line = usize::try_from(line.as_u64().expect("a line")).expect("small") - 1;
        let column = usize::try_from(column.as_u64().expect("a column")).expect("small") - 1;
        let line_start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let offset = text[line_start..]
            .char_indices()
            .nth(column)
            .map_or(text.len(), |(i, _)| line_start + i);
        lsp_client::position(text, offset, Encoding::Utf16)
    };
    findings
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                json!({"start": position(&f["line"], &f["column"]), "end": position(&f["end_line"], &f["end_column"])}),
            )
        })
        .collect()
}

/// 1,000 edits sent as fast as the pipe takes them (statements added and removed in several
/// functions, typos made and undone, several changes in some notifications): the diagnostics
/// of the last version are those of `aiolint check` on the final text.
#[test]
fn a_burst_of_1000_edits_ends_with_the_findings_of_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("burst.py");
    let uri = file_uri(&path);
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    client.open(&uri, BURST_START);
    assert!(client.diagnostics(&uri, Some(1)).is_empty());

    let mut random = Random(0x5eed_1234_abcd_0001);
    let mut text = BURST_START.to_string();
    let mut typo = None;
    let mut version = 1;
    let mut edits = 0;
    while edits < 1000 {
        // Up to three changes in one notification, each against the text after the one before.
        let mut changes = Vec::new();
        for _ in 0..=random.below(3).min(999 - edits) {
            let (start, end, new_text) = random_edit(&mut random, &text, &mut typo);
            changes.push(json!({"range": {
                "start": lsp_client::position(&text, start, Encoding::Utf16),
                "end": lsp_client::position(&text, end, Encoding::Utf16),
            }, "text": new_text}));
            text.replace_range(start..end, &new_text);
            edits += 1;
        }
        version += 1;
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        );
    }
    if let Some((start, end)) = typo {
        version += 1;
        let change = json!({"range": {
            "start": lsp_client::position(&text, start, Encoding::Utf16),
            "end": lsp_client::position(&text, end, Encoding::Utf16),
        }, "text": ""});
        text.replace_range(start..end, "");
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
        );
    }

    std::fs::write(&path, &text).expect("write the final text");
    let mut expected = check_findings(&path, &text);
    expected.sort_by_key(|(code, range)| (range.to_string(), code.clone()));
    let expected_codes: HashSet<&str> = expected.iter().map(|(c, _)| c.as_str()).collect();
    assert!(
        ["AIO100", "AIO101", "AIO200"]
            .iter()
            .all(|c| expected_codes.contains(c)),
        "the final text exercises the rules: {expected:?}\n{text}"
    );
    assert!(!expected_codes.contains("E999"), "{text}");
    // The final version may be published first from a re-check of one function and then from
    // the whole document once typing pauses: wait (with a deadline) for the one that matches.
    let deadline = Instant::now() + TIMEOUT * 2;
    let mut last = None;
    while let Some(message) = client.next_before(deadline, |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri
            && m["params"]["version"] == version
    }) {
        let mut published: Vec<(String, Value)> = message["params"]["diagnostics"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                (
                    d["code"].as_str().unwrap_or_default().to_string(),
                    d["range"].clone(),
                )
            })
            .collect();
        published.sort_by_key(|(code, range)| (range.to_string(), code.clone()));
        if published == expected {
            assert!(client.shutdown_and_exit().success());
            return;
        }
        last = Some(published);
    }
    panic!(
        "the last publication of version {version}:\n{last:#?}\nis not what check finds:\n{expected:#?}\nin\n{text}\nstderr:\n{}",
        client.stderr()
    );
}

/// `exit` without `shutdown` while an analysis is running: status 1, at once.
#[test]
fn exit_without_shutdown_during_work_is_status_1() {
    let mut client = Client::initialized(&[Encoding::Utf16], &[]);
    let mut text = String::from("import time\n\nasync def f():\n");
    for i in 0..20_000 {
        let _ = writeln!(text, "    x{i} = time.sleep({i})");
    }
    client.open(&doc_uri("busy.py"), &text);
    assert_eq!(client.exit().code(), Some(1));
}

/// The client goes away without `shutdown` or `exit`, in the middle of a frame: the server
/// notices the end of its input and exits cleanly (not by a signal, without a panic), at once.
#[test]
fn closing_stdin_ends_the_server_promptly() {
    for cut in [
        "",
        "Content-Len",
        "Content-Length: 60\r\n\r\n{\"jsonrpc\": \"2.0\", ",
    ] {
        let mut client = Client::initialized(&[Encoding::Utf16], &[]);
        let uri = doc_uri("closed.py");
        client.open(&uri, EMOJI);
        assert_eq!(client.diagnostics(&uri, Some(1)).len(), 1);
        client.send_raw(cut.as_bytes());
        client.close_input();
        let status = client.wait_for_exit();
        assert_eq!(status.code(), Some(1), "cut after `{cut}`: {status:?}");
        let log = client.stderr();
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// A process in `/proc`: its parent, process group and state.
#[derive(Debug)]
struct Process {
    pid: u32,
    parent: u32,
    group: u32,
    state: char,
}

fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; the command may hold spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut fields = rest.split(' ');
            let state = fields.next()?.chars().next()?;
            let parent = fields.next()?.parse().ok()?;
            let group = fields.next()?.parse().ok()?;
            Some(Process {
                pid,
                parent,
                group,
                state,
            })
        })
        .collect()
}

/// The server's child processes, waiting (with the deadline) until one of them leads a
/// process group of its own (the probe; the server runs in this test's group, as does a child
/// between its fork and its `setpgid`).
fn probe_of(server: u32) -> Vec<Process> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let children: Vec<Process> = processes()
            .into_iter()
            .filter(|p| p.parent == server)
            .collect();
        if children.iter().any(|p| p.group == p.pid) {
            return children;
        }
        assert!(
            Instant::now() < deadline,
            "the server started no probe: {children:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (with the deadline) until no process is in any of `groups` and none of `pids`
/// lives; a failure lists what is left.
fn wait_until_gone(pids: &[u32], groups: &[u32]) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left: Vec<Process> = processes()
            .into_iter()
            .filter(|p| pids.contains(&p.pid) || groups.contains(&p.group))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes left behind: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The only processes the server starts are the probes of `aiolint.confirm`. One that is still
/// running when the session ends (by `exit`, or by the client closing stdin) goes with the
/// server, and so does its temporary directory; one that finished is reaped (no zombie). Even
/// when the server is killed, its probe goes with it (only its directory is left then).
#[test]
fn no_process_outlives_the_server_and_none_is_left_a_zombie() {
    let text = "import time\n\nasync def poll():\n    time.sleep(120)\n";
    let finished = "import time\n\nasync def poll():\n    time.sleep(0.2)\n";
    for ending in ["exit", "stdin closed", "killed", "finished"] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut client = Client::start_with_env(&[("TMPDIR", tmp.path())]);
        client.initialize(&[Encoding::Utf16], &[]);
        let server = client.pid();
        let uri = doc_uri("probe.py");
        let text = if ending == "finished" { finished } else { text };
        client.open(&uri, text);
        let diagnostics = client.diagnostics(&uri, Some(1));
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        let confirm = json!({"jsonrpc": "2.0", "id": 900, "method": "workspace/executeCommand",
            "params": {"command": "aiolint.confirm", "arguments": [uri, {"range": diagnostics[0]["range"], "code": "AIO200"}]}});
        client.send(&confirm);
        let children = probe_of(server);
        let pids: Vec<u32> = children.iter().map(|p| p.pid).collect();
        // The groups the probes lead (not the server's, which is this test's).
        let groups: Vec<u32> = children
            .iter()
            .filter(|p| p.group == p.pid)
            .map(|p| p.group)
            .collect();
        match ending {
            "exit" => assert_eq!(client.exit().code(), Some(1)),
            "stdin closed" => {
                client.close_input();
                assert_eq!(client.wait_for_exit().code(), Some(1));
            }
            "killed" => {
                client.kill();
                wait_until_gone(&pids, &groups);
                continue;
            }
            _ => {
                // Whatever the verdict (a busy machine may change it), the probe ran and ended.
                let answer = response(&mut client, 900);
                assert!(answer["result"]["verdict"].is_string(), "{answer}");
                // Reaped: not even a zombie is left while the server runs on.
                wait_until_gone(&pids, &groups);
                assert!(client.is_running());
                assert!(client.shutdown_and_exit().success());
            }
        }
        wait_until_gone(&pids, &groups);
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("list the temporary directory")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "after {ending}: {left:?}");
    }
}

#[test]
fn the_process_table_is_read() {
    // The helpers above would pass vacuously if `/proc` could not be read.
    let me = std::process::id();
    let all = processes();
    let this = all
        .iter()
        .find(|p| p.pid == me)
        .expect("this test's process");
    assert!(
        this.state != 'Z' && this.parent != 0 && this.group != 0,
        "{this:?}"
    );
}
