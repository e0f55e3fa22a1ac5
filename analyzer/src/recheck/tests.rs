use std::sync::Arc;

use super::*;
use crate::fuzzing::{codes, edit_stays_inside};
use crate::test_support::point_at;
use crate::{InputEdit, check_in_project, summarize};

/// A module with something for most rules: coroutines called without `await`, blocking calls,
/// tasks, a helper that blocks, generators, instance attributes, `noqa`, nested functions.
const MODULE: &str = r#"import asyncio
import time

from lib import Client, remote_fetch, slow_helper


def blocking_helper():
    time.sleep(1)


class Store:
    def __init__(self):
        self.tasks = set()
        self.lock = asyncio.Lock()

    async def load(self, key):
        await asyncio.sleep(0)
        return key

    async def save(self, key):
        self.load(key)
        time.sleep(0.5)  # noqa: AIO200
        task = asyncio.create_task(self.load(key))
        self.tasks.add(task)

    async def stream(self):
        yield 1


async def fetch(url):
    await asyncio.sleep(0)
    return url


async def main():
    fetch("a")
    asyncio.create_task(fetch("b"))
    store = Store()
    await store.save("k")
    blocking_helper()
    slow_helper()
    remote_fetch()
    client = Client()
    client.get("x")

    def inner():
        asyncio.run(fetch("c"))

    inner()
    time.sleep(2)


def entry():
    asyncio.run(main())
"#;

/// Replaces `start..end` of `old_text` with `insert`: the rechecked findings (if the recheck
/// took it, and a whole parse kept it inside its function) and those of a whole check of the
/// new text, both against `index`.
fn recheck(
    old_text: &str,
    start: usize,
    end: usize,
    insert: &str,
    index: &ProjectIndex,
) -> (Option<Vec<Diagnostic>>, Vec<Diagnostic>, String) {
    recheck_sequence(old_text, &[(start, end, insert)], index)
}

/// The project of the module: a module `lib` with a helper that blocks, a coroutine and a
/// class with an async method. (The module's own summary is left out: an index holding the
/// summary of the text before the edit would be stale for the whole check too.)
fn lib_index() -> ProjectIndex {
    let text = "import time\n\n\ndef slow_helper():\n    time.sleep(1)\n\n\nasync def remote_fetch():\n    pass\n\n\nclass Client:\n    async def get(self, key):\n        pass\n";
    let module = ModuleName {
        names: vec!["lib".to_string()],
        is_package: false,
    };
    let file = SourceFile::new("lib.py", text);
    let parsed = ParsedModule::parse(text).expect("parses");
    let summary = summarize(&file, &parsed, &module, &Settings::default());
    ProjectIndex::new(vec![Arc::new(summary)])
}

/// Typing anywhere in an indented line (signatures and indentation included), the recheck
/// equals a whole check of the new text whenever it takes the edit; and it takes most
/// balanced edits in the statements of bodies.
#[test]
fn rechecks_agree_with_whole_checks() {
    // (inserted, bytes removed, balanced)
    let edits: &[(&str, usize, bool)] = &[
        ("x", 0, true),
        ("time.sleep(1)", 0, true),
        ("fetch(1)", 0, true),
        ("await ", 0, true),
        ("", 1, true),
        ("(", 0, false),
        ("\"", 0, false),
        ("\n", 0, false),
    ];
    let project = lib_index();
    let indexes = [ProjectIndex::empty(), &project];
    let (mut balanced, mut balanced_taken) = (0, 0);
    for index in indexes {
        for (offset, _) in MODULE.char_indices() {
            // Within the statements of function bodies (after the indentation).
            let line_start = MODULE[..offset].rfind('\n').map_or(0, |i| i + 1);
            let indentation = &MODULE[line_start..offset];
            let line = &MODULE[line_start..];
            // Every other offset: the test runs a whole check per edit.
            if !line.starts_with("    ") || offset % 2 == 1 {
                continue;
            }
            // Typing in a statement of a body, rather than in a signature or the indentation.
            let signature = line.trim_start().starts_with("def ")
                || line.trim_start().starts_with("async def ");
            let in_indentation = indentation.trim().is_empty()
                && line[offset - line_start..].starts_with(char::is_whitespace);
            let in_statement = !signature && !in_indentation;
            for &(insert, removed, is_balanced) in edits {
                let end = (offset + removed).min(MODULE.len());
                if !MODULE.is_char_boundary(end) || MODULE[offset..end].contains('\n') {
                    continue;
                }
                let (rechecked, whole, new_text) = recheck(MODULE, offset, end, insert, index);
                if is_balanced && in_statement {
                    balanced += 1;
                    balanced_taken += usize::from(rechecked.is_some());
                }
                if let Some(rechecked) = rechecked {
                    assert_eq!(
                        rechecked,
                        whole,
                        "edit at {offset} ({insert:?}, -{removed}):\n{new_text}\nrecheck {:?}\nwhole {:?}",
                        codes(&rechecked),
                        codes(&whole)
                    );
                }
            }
        }
    }
    // The rest are declined on purpose: edits to attribute assignments (`self.lock = ...`)
    // and `yield`s, and keywords typed over (`awit`), which the parser recovers from by
    // restructuring more than the function.
    assert!(
        balanced_taken * 5 > balanced * 4,
        "the recheck took only {balanced_taken} of {balanced} balanced edits"
    );
}

#[test]
fn declines_what_a_function_cannot_tell() {
    let index = ProjectIndex::empty();
    let at = |needle: &str| MODULE.find(needle).expect("in the module");
    // Module-level code and a function's signature.
    let (rechecked, _, _) = recheck(MODULE, at("import time"), at("import time"), "x", index);
    assert!(rechecked.is_none());
    let (rechecked, _, _) = recheck(MODULE, at("(url)") + 1, at("(url)") + 1, "x, ", index);
    assert!(rechecked.is_none());
    // A body that becomes a generator, one that assigns an instance attribute differently,
    // one with a `global`.
    let spot = at("    return url");
    let (rechecked, _, _) = recheck(MODULE, spot, spot, "    yield\n", index);
    assert!(rechecked.is_none());
    let spot = at("set()");
    let (rechecked, _, _) = recheck(MODULE, spot, spot + 3, "lis", index);
    assert!(rechecked.is_none());
    let spot = at("    return url");
    let (rechecked, _, _) = recheck(MODULE, spot, spot, "    global x\n", index);
    assert!(rechecked.is_none());
    // A file that disables itself.
    let disabled = format!("# aiolint: disable-file\n{MODULE}");
    let spot = disabled.find("    return url").expect("in the module");
    let (rechecked, _, _) = recheck(&disabled, spot, spot, "x\n", index);
    assert!(rechecked.is_none());
}

/// A `nonlocal` with no function around it binds its name in the module (found by the
/// `document` fuzz target: the fix for a dropped task, choosing a free name, saw `task` taken
/// in a whole check and free in a re-check that skipped that body).
#[test]
fn a_nonlocal_that_binds_in_the_module_is_seen_by_a_recheck() {
    let text = "import asyncio\n\n\nasync def work():\n    pass\n\n\nasync def dropped():\n                    asyncio.create_task(work())\n\n\nasync def start():\n    nonlocal task\n                    task = None\n";
    let spot = text.find("(work())").expect("in the text") + 1;
    let (rechecked, whole, _) = recheck(text, spot, spot, " ", ProjectIndex::empty());
    let rechecked = rechecked.unwrap_or_else(|| panic!("declined: {:?}", codes(&whole)));
    assert_eq!(rechecked, whole);
    let fixed = whole
        .iter()
        .find(|d| d.code() == "AIO101")
        .and_then(|d| d.fix.as_ref());
    assert!(
        fixed.is_some_and(|fix| fix.edits.iter().any(|e| e.content == "background_task = ")),
        "{whole:?}"
    );
    // Typing a `nonlocal` into a function is left to a whole check, as a `global` is.
    let spot = text.find("    task = None").expect("in the text");
    let (rechecked, _, _) = recheck(text, spot, spot, "    nonlocal x\n", ProjectIndex::empty());
    assert!(rechecked.is_none());
}

#[test]
fn findings_after_the_function_move_with_the_edit() {
    let index = ProjectIndex::empty();
    let spot = MODULE.find("    return url").expect("in the module");
    let (rechecked, whole, _) = recheck(MODULE, spot, spot, "    time.sleep(3)\n", index);
    let rechecked = rechecked.expect("taken");
    assert_eq!(rechecked, whole);
    assert!(
        rechecked.iter().filter(|d| d.code() == "AIO200").count() >= 2,
        "{:?}",
        codes(&rechecked)
    );
}

#[test]
fn changes_compose() {
    // "abc" -> "aXbc" (insert at 1) -> "aXc" (delete "b" at 2).
    let first = TextChange {
        start: 1,
        old_end: 1,
        new_end: 2,
        lines: 0,
    };
    let second = TextChange {
        start: 2,
        old_end: 3,
        new_end: 2,
        lines: 0,
    };
    assert_eq!(
        first.then(second),
        TextChange {
            start: 1,
            old_end: 2,
            new_end: 2,
            lines: 0
        }
    );
    // Disjoint changes: the span between them counts as changed.
    let far = TextChange {
        start: 10,
        old_end: 12,
        new_end: 11,
        lines: -1,
    };
    assert_eq!(
        first.then(far),
        TextChange {
            start: 1,
            old_end: 11,
            new_end: 11,
            lines: -1
        }
    );
}

/// One keystroke at `at` (inserting `insert`) into `old`, a text as last checked: the re-check,
/// the whole parse of the new text, a whole check of it, and the new text.
fn keystroke(
    old: Checked<'_>,
    at: usize,
    insert: &str,
    index: &ProjectIndex,
) -> (Option<Rechecked>, Reparsed, Vec<Diagnostic>, String) {
    let settings = Settings::default();
    let module = ModuleName {
        names: vec!["app".to_string()],
        is_package: false,
    };
    let new_text = format!("{}{insert}{}", &old.text[..at], &old.text[at..]);
    let new_end = at + insert.len();
    let mut edited = old.parsed.clone();
    edited.edit(&InputEdit {
        start_byte: at,
        old_end_byte: at,
        new_end_byte: new_end,
        start_point: point_at(old.text, at),
        old_end_point: point_at(old.text, at),
        new_end_point: point_at(&new_text, new_end),
    });
    let bytes = new_text.as_bytes();
    let parsed = edited
        .reparse(&mut |offset| bytes.get(offset..).unwrap_or_default())
        .expect("reparses");
    let file = SourceFile::new("app.py", new_text.clone());
    let change = TextChange {
        start: at,
        old_end: at,
        new_end,
        lines: isize::try_from(insert.matches('\n').count()).unwrap_or(0),
    };
    let rechecked = recheck_functions(old, &[change], &edited, &file, &module, index, &settings);
    let whole = check_in_project(&file, &parsed, &module, index, &settings);
    (rechecked, Reparsed { edited, parsed }, whole, new_text)
}

/// The parse a keystroke was re-checked against with the keystroke recorded in it, and the
/// parse of the new text.
struct Reparsed {
    edited: ParsedModule,
    parsed: ParsedModule,
}

impl Reparsed {
    fn agrees(&self, rechecked: &Rechecked) -> bool {
        rechecked.syntax.agrees_with(&self.edited, &self.parsed)
    }
}

/// Typing in one function, then in another, each re-checked against the last re-check (its
/// findings and the whole parse of its text, which agreed with it): the result equals a whole
/// check, also when the first function was left with a syntax error that stays inside it. A
/// parse that an unclosed bracket restructured does not agree, so it never stands in.
#[test]
fn a_recheck_that_agrees_with_the_parse_stands_for_it_in_the_next_one() {
    let project = lib_index();
    let settings = Settings::default();
    let module = ModuleName {
        names: vec!["app".to_string()],
        is_package: false,
    };
    let parsed = ParsedModule::parse(MODULE).expect("parses");
    let file = SourceFile::new("app.py", MODULE);
    let diagnostics = check_in_project(&file, &parsed, &module, &project, &settings);
    let first = Checked {
        text: MODULE,
        parsed: &parsed,
        diagnostics: &diagnostics,
    };
    let in_blocking_helper = MODULE.find("time.sleep(1)").expect("in the module");
    for (typed, whole_is_reference) in [("time.sleep(3)\n    ", true), ("x ", false)] {
        let (rechecked, parsed_1, _, text_1) =
            keystroke(first, in_blocking_helper, typed, &project);
        let rechecked = rechecked.expect("re-checked");
        assert!(parsed_1.agrees(&rechecked), "{typed:?}:\n{text_1}");
        let second = Checked {
            text: &text_1,
            parsed: &parsed_1.parsed,
            diagnostics: &rechecked.diagnostics,
        };
        let in_main = text_1.find("    fetch(\"a\")").expect("in main") + 4;
        let (again, parsed_2, whole, text_2) = keystroke(second, in_main, "await ", &project);
        let again = again.expect("re-checked");
        assert!(parsed_2.agrees(&again), "{typed:?}:\n{text_2}");
        if whole_is_reference {
            assert_eq!(again.diagnostics, whole, "{text_2}");
        } else {
            // `x time.sleep(1)`: the syntax error of the first function is still reported.
            assert!(
                again
                    .diagnostics
                    .iter()
                    .any(|d| d.rule == Rule::SyntaxError),
                "{:?}",
                codes(&again.diagnostics)
            );
        }
        assert!(
            !again.diagnostics.iter().any(|d| d.code() == "AIO100"
                && d.range.start == text_2.find("await fetch").expect("typed") + 6),
            "the awaited call is not a missing await"
        );
    }
    let unclosed = MODULE.find("time.sleep(1)").expect("in the module");
    let (rechecked, parsed_1, _, text_1) = keystroke(first, unclosed, "print(", &project);
    if let Some(rechecked) = rechecked {
        assert!(!parsed_1.agrees(&rechecked), "{text_1}");
    }
}

/// A decorator whose wrapper is an `async def` is judged by its body, which a focused model
/// walks too: a keystroke in a caller keeps the finding on the decorated coroutine.
#[test]
fn decorators_and_collections_are_seen_by_a_recheck() {
    let text = r"import asyncio
import functools


def retry(fn):
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        return await fn(*args, **kwargs)

    return wrapper


@retry
async def flaky():
    return 1


class Peer:
    async def ping(self):
        return True


class Mesh:
    peers: list[Peer]


async def main(mesh: Mesh):
    flaky()
    for peer in mesh.peers:
        peer.ping()
    value = 1
    return value
";
    let at = text.find("value = 1").map(|i| i + "value = ".len());
    let Some(at) = at else {
        panic!("the edited statement is in the text");
    };
    let (rechecked, whole, new_text) = recheck(text, at, at + 1, "2", ProjectIndex::empty());
    let call = |code: &str| text.find(code).map_or(0, |i| i + 4);
    assert_eq!(
        codes(&whole),
        [
            (call("    flaky()"), "AIO100"),
            (call("    peer.ping()"), "AIO100")
        ],
        "{new_text}"
    );
    assert_eq!(rechecked, Some(whole));
}

/// Found by the `document` fuzz target: a function marked `@pytest.mark.skipif(<version
/// check>)` runs only on some versions, which a whole check knows (no AIO501 for an API removed
/// only later), but the function parsed alone lost its decorator: the re-check reported the
/// AIO501. Such a function is now left to a whole check; a module-level version guard was
/// always seen.
#[test]
fn a_function_with_version_marks_is_left_to_a_whole_check() {
    let text = "import asyncio\nimport sys\n\nimport pytest\n\n\n@pytest.mark.skipif(sys.version_info >= (3, 11), reason=\"removed\")\ndef test_generator_coroutines():\n    @asyncio.coroutine\n    def generator_part():\n        yield from asyncio.sleep(1)\n    x = 1\n    return generator_part\n\n\nif sys.version_info < (3, 11):\n    def old_style():\n        @asyncio.coroutine\n        def part():\n            yield from asyncio.sleep(1)\n        x = 1\n";
    let marked = text.find("x = 1\n    return").expect("in the text") + 4;
    let (rechecked, whole, _) = recheck(text, marked, marked + 1, "2", ProjectIndex::empty());
    assert_eq!(codes(&whole), []);
    assert_eq!(rechecked, None, "declined");
    let guarded = text.rfind("x = 1").expect("in the text") + 4;
    let (rechecked, whole, _) = recheck(text, guarded, guarded + 1, "2", ProjectIndex::empty());
    assert_eq!(codes(&whole), []);
    assert_eq!(rechecked, Some(whole), "taken, and right");
}

/// Applies `edits` (each `(start, end, insert)` in the text the ones before it left) to
/// `old_text` one after the other, and re-checks them all at once against `old_text`: the
/// re-check (if it took the edits, and a whole parse kept each one inside its function), a
/// whole check of the final text, and that text.
fn recheck_sequence(
    old_text: &str,
    edits: &[(usize, usize, &str)],
    index: &ProjectIndex,
) -> (Option<Vec<Diagnostic>>, Vec<Diagnostic>, String) {
    let settings = Settings::default();
    let module = ModuleName {
        names: vec!["app".to_string()],
        is_package: false,
    };
    let old_file = SourceFile::new("app.py", old_text);
    let old_parsed = ParsedModule::parse(old_text).expect("parses");
    let old_diagnostics = check_in_project(&old_file, &old_parsed, &module, index, &settings);
    let mut text = old_text.to_string();
    let mut edited = old_parsed.clone();
    let mut parsed = old_parsed.clone();
    let mut changes = Vec::new();
    let mut confined = true;
    for &(start, end, insert) in edits {
        let new_text = format!("{}{insert}{}", &text[..start], &text[end..]);
        let new_end = start + insert.len();
        edited.edit(&InputEdit {
            start_byte: start,
            old_end_byte: end,
            new_end_byte: new_end,
            start_point: point_at(&text, start),
            old_end_point: point_at(&text, end),
            new_end_point: point_at(&new_text, new_end),
        });
        let lines = |s: &str| isize::try_from(s.matches('\n').count()).unwrap_or(0);
        changes.push(TextChange {
            start,
            old_end: end,
            new_end,
            lines: lines(insert) - lines(&text[start..end]),
        });
        let reparsed = ParsedModule::parse(&new_text).expect("parses");
        // Typing right after a function's last character is typing in it: the function holds
        // the character before.
        confined &= edit_stays_inside(&parsed, &reparsed, &new_text, start)
            || (start > 0 && edit_stays_inside(&parsed, &reparsed, &new_text, start - 1));
        parsed = reparsed;
        text = new_text;
    }
    let file = SourceFile::new("app.py", text.clone());
    let old = Checked {
        text: old_text,
        parsed: &old_parsed,
        diagnostics: &old_diagnostics,
    };
    let rechecked = recheck_functions(old, &changes, &edited, &file, &module, index, &settings);
    let whole = check_in_project(&file, &parsed, &module, index, &settings);
    if let Some(rechecked) = &rechecked {
        assert!(
            !rechecked.syntax.agrees_with(&edited, &parsed) || confined,
            "{edits:?}: a re-check agreed with a parse that restructured more than its functions:\n{text}"
        );
    }
    let rechecked = rechecked.map(|rechecked| rechecked.diagnostics);
    (rechecked.filter(|_| confined), whole, text)
}

/// Keystrokes in one function, then in another (and back in the first), re-checked all at
/// once against the text before them: the result equals a whole check of the final text
/// whenever the re-check takes them; it takes most balanced edits in statements.
#[test]
fn edits_in_several_functions_are_rechecked_at_once() {
    let project = lib_index();
    let at = |needle: &str| MODULE.find(needle).expect("in the module");
    // First edits, each in another function: (offset, inserted).
    let firsts = [
        (at("time.sleep(1)"), "x = fetch(2)\n    "),
        (at("        self.load(key)") + 8, "await "),
        (at("    fetch(\"a\")") + 4, "time.sleep(0)\n    "),
    ];
    let seconds: &[(&str, usize)] = &[("x", 0), ("time.sleep(1)", 0), ("await ", 0), ("", 1)];
    let (mut tried, mut taken, mut elsewhere) = (0, 0, 0);
    for (first, typed) in firsts {
        let after_first = format!("{}{typed}{}", &MODULE[..first], &MODULE[first..]);
        for (offset, _) in after_first.char_indices() {
            let line_start = after_first[..offset].rfind('\n').map_or(0, |i| i + 1);
            let line = &after_first[line_start..];
            let indentation = &after_first[line_start..offset];
            let signature = line.trim_start().starts_with("def ")
                || line.trim_start().starts_with("async def ");
            if !line.starts_with("    ")
                || offset % 4 != 0
                || signature
                || (indentation.trim().is_empty()
                    && line[offset - line_start..].starts_with(char::is_whitespace))
            {
                continue;
            }
            for &(insert, removed) in seconds {
                let end = (offset + removed).min(after_first.len());
                if !after_first.is_char_boundary(end) || after_first[offset..end].contains('\n') {
                    continue;
                }
                // And a third keystroke back in the first function, right after its edit
                // (moved by the second when that came before it).
                let back = first + typed.len();
                let back = if offset < back {
                    back + insert.len() - (end - offset)
                } else {
                    back
                };
                let edits = [
                    (first, first, typed),
                    (offset, end, insert),
                    (back, back, "y"),
                ];
                for edits in [&edits[..2], &edits[..]] {
                    let (rechecked, whole, text) = recheck_sequence(MODULE, edits, &project);
                    tried += 1;
                    let Some(rechecked) = rechecked else {
                        continue;
                    };
                    taken += 1;
                    let outside_first = !(first..=back).contains(&offset);
                    elsewhere += usize::from(outside_first);
                    assert_eq!(
                        rechecked,
                        whole,
                        "{edits:?}:\n{text}\nrecheck {:?}\nwhole {:?}",
                        codes(&rechecked),
                        codes(&whole)
                    );
                }
            }
        }
    }
    assert!(
        taken * 3 > tried * 2 && elsewhere * 2 > taken,
        "the re-check took {taken} of {tried} edit sequences, {elsewhere} of them in several functions"
    );
}

/// The re-check property of the `document` fuzz target ([`crate::fuzzing::check_recheck`]) for
/// replacing `start..end` of `old_text` with `insert`, and whether the re-check took the edit.
fn recheck_property(
    old_text: &str,
    start: usize,
    end: usize,
    insert: &str,
) -> Result<bool, String> {
    let settings = Settings::default();
    let module = ModuleName {
        names: vec!["app".to_string()],
        is_package: false,
    };
    let index = ProjectIndex::empty();
    let old_file = SourceFile::new("app.py", old_text);
    let old_parsed = ParsedModule::parse(old_text).expect("parses");
    let old_diagnostics = check_in_project(&old_file, &old_parsed, &module, index, &settings);
    let new_text = format!("{}{insert}{}", &old_text[..start], &old_text[end..]);
    let new_end = start + insert.len();
    let mut edited = old_parsed.clone();
    edited.edit(&InputEdit {
        start_byte: start,
        old_end_byte: end,
        new_end_byte: new_end,
        start_point: point_at(old_text, start),
        old_end_point: point_at(old_text, end),
        new_end_point: point_at(&new_text, new_end),
    });
    let parsed = ParsedModule::parse(&new_text).expect("parses");
    let file = SourceFile::new("app.py", new_text.clone());
    let lines = |s: &str| isize::try_from(s.matches('\n').count()).unwrap_or(0);
    let change = TextChange {
        start,
        old_end: end,
        new_end,
        lines: lines(insert) - lines(&old_text[start..end]),
    };
    let old = Checked {
        text: old_text,
        parsed: &old_parsed,
        diagnostics: &old_diagnostics,
    };
    crate::fuzzing::check_recheck(
        old, change, &edited, &parsed, &file, &module, index, &settings,
    )
    .map(|agreement| agreement.rechecked.is_some())
}

/// Found by the `document` fuzz target: a function with a syntax error that tree-sitter
/// recovers from otherwise when the function is parsed alone (the text ends after it) than in
/// the whole module (the text after it is the parser's lookahead), with the same range and the
/// same error ranges. The whole parse agreed with the re-check, and so stood as the base of the
/// next keystroke with findings of another tree; it must have the function's nodes too.
#[test]
fn a_function_that_recovers_otherwise_alone_does_not_agree() {
    let text =
        "import time\n\n\nasync def main():\n    time.sleep(1)\n    def helper():\n    x: (),\n:";
    let at = text.find("sleep(1)").expect("in the text") + 6;
    assert_eq!(recheck_property(text, at, at + 1, "2"), Ok(true));
}

/// Found by the `document` fuzz target: a module that exits early on older versions (`if
/// sys.version_info < (3, 12): raise`) guards the functions after it, and a re-check of one of
/// them (parsed on its own, spliced into the module) must see the module's statements before
/// it, or typing in it shows an `AIO500` a whole check does not.
#[test]
fn a_module_level_version_exit_is_seen_by_a_recheck() {
    let text = "import asyncio\nimport sys\n\nif sys.version_info < (3, 12):\n    raise ImportError(\"3.12+\")\n\n\ndef factory():\n    return asyncio.eager_task_factory\n\n\ndef other():\n    pass\n";
    let at = text.find("return").expect("in the text");
    assert_eq!(recheck_property(text, at, at, "x = 1\n    "), Ok(true));
    let (rechecked, whole, _) = recheck(text, at, at, "x = 1\n    ", ProjectIndex::empty());
    assert_eq!(rechecked, Some(Vec::new()));
    assert!(whole.is_empty(), "{whole:?}");
    // Without the early exit, both report it.
    let unguarded = text.replace("raise ImportError", "print");
    let at = unguarded.find("return").expect("in the text");
    let (rechecked, whole, _) = recheck(&unguarded, at, at, "x = 1\n    ", ProjectIndex::empty());
    assert_eq!(
        whole.iter().map(Diagnostic::code).collect::<Vec<_>>(),
        ["AIO500"]
    );
    assert_eq!(rechecked, Some(whole));
}
