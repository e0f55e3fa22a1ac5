//! The document-model target: an initial text and a sequence of `didChange`s decoded from the
//! input, checked by `lsp::fuzzing::edit_session`.

use arbitrary::{Result, Unstructured};
use lsp::fuzzing::{Change, edit_session_with};

/// Separates the initial text from the bytes the edits are decoded from. (0xFF never occurs in
/// UTF-8, so a seed taken from a fixture is all text, and its edits come from its own bytes.)
const SEPARATOR: u8 = 0xFF;

/// What is typed: bits of Python that open and close brackets, strings and blocks, line
/// breaks of every kind, and characters of several UTF-8 and UTF-16 lengths.
const SNIPPETS: &[&str] = &[
    "",
    "x",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "'",
    "\"\"\"",
    ":",
    "\n",
    "\r\n",
    "\r",
    "    ",
    "\t",
    "#",
    "\\",
    "await ",
    "async ",
    "def ",
    "time.sleep(1)",
    "fetch()",
    "asyncio.run(main())",
    "asyncio.create_task(fetch())",
    "yield",
    "global x\n",
    "self.x = 1\n",
    "return\n",
    "async def f():\n    pass\n",
    "def g():\n    time.sleep(1)\n",
    "    time.sleep(2)\n",
    "import time\n",
    "# noqa\n",
    "😊",
    "é",
    "日本",
    "\u{2028}",
    "\0",
];

/// Runs one session decoded from `data`; panics with the failed property.
pub fn document_session(data: &[u8]) {
    let (text, edits) = match data.iter().position(|&b| b == SEPARATOR) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, data),
    };
    let initial = String::from_utf8_lossy(text);
    let lines = Lines::of(&initial);
    let mut u = Unstructured::new(edits);
    let Ok((notifications, utf16)) = decode(&mut u, &lines) else {
        return;
    };
    if std::env::var_os("AIOLINT_FUZZ_PRINT").is_some() {
        // For turning a failure into a regression test.
        eprintln!("initial {initial:?}\nutf16 {utf16}\n{notifications:?}");
    }
    if let Err(failure) = edit_session_with(&initial, &notifications, utf16, recheck()) {
        panic!("{failure}");
    }
}

/// Whether edits are aimed into function bodies (`AIOLINT_FUZZ_BODIES` set), where the
/// re-check takes them several times as often (for use with `AIOLINT_FUZZ_RECHECK`).
fn into_bodies() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("AIOLINT_FUZZ_BODIES").is_some())
}

/// Whether the re-check's property is checked (`AIOLINT_FUZZ_RECHECK` set, as `.ci/run`
/// does). Off by default, so that a run without it checks the rope and the trees alone
/// (docs/reliability.md, "Fuzzing").
fn recheck() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("AIOLINT_FUZZ_RECHECK").is_some())
}

/// Where the initial text's lines are: how many, and the indented ones (function bodies,
/// mostly) with their indentation, where the re-check takes an edit.
struct Lines {
    count: u32,
    indented: Vec<(u32, u32)>,
}

impl Lines {
    fn of(text: &str) -> Self {
        let mut indented = Vec::new();
        let mut count = 0;
        for (line, content) in (0..).zip(text.lines()) {
            let indentation = content.len() - content.trim_start_matches(' ').len();
            if indentation >= 4 && content.len() > indentation {
                indented.push((line, u32::try_from(indentation).unwrap_or(0)));
            }
            count = line + 1;
        }
        Self { count, indented }
    }
}

/// `didChange` notifications, each with whether it is analysed.
type Notifications = Vec<(Vec<Change>, bool)>;

/// Up to 24 notifications of 1 to 3 changes each, about a third of them analysed, and whether
/// positions are in UTF-16.
fn decode(u: &mut Unstructured<'_>, lines: &Lines) -> Result<(Notifications, bool)> {
    let utf16 = u.arbitrary()?;
    let mut notifications = Vec::new();
    for _ in 0..u.int_in_range(1..=24)? {
        let mut changes = Vec::new();
        // Into bodies: mostly one change (a keystroke); changes in two places make the
        // re-check decline.
        let count = if into_bodies() && u.ratio(7, 10)? {
            1
        } else {
            u.int_in_range(1..=3)?
        };
        for _ in 0..count {
            changes.push(change(u, lines)?);
        }
        notifications.push((changes, u.ratio(1, 3)?));
    }
    // The last one is always analysed, so every session ends with its properties checked.
    if let Some(last) = notifications.last_mut() {
        last.1 = true;
    }
    Ok((notifications, utf16))
}

fn change(u: &mut Unstructured<'_>, lines: &Lines) -> Result<Change> {
    let text = if u.ratio(1, 4)? {
        let typed: String = u.arbitrary()?;
        typed.chars().take(8).collect()
    } else {
        (*u.choose(SNIPPETS)?).to_string()
    };
    if u.ratio(1, 40)? {
        return Ok(Change { range: None, text });
    }
    // Into bodies: two in three in the statements of an indented line (past its
    // indentation), which the re-check can take; the others anywhere, or past the end.
    let (line, character): (u32, u32) =
        if into_bodies() && !lines.indented.is_empty() && u.ratio(2, 3)? {
            let (line, indentation) = *u.choose(&lines.indented)?;
            (line, indentation + u.int_in_range(0..=30)?)
        } else {
            (
                u.int_in_range(0..=lines.count.saturating_add(2))?,
                u.int_in_range(0..=90)?,
            )
        };
    // Mostly short ranges on the line, some over lines, some reversed or past the end.
    let end = match u.int_in_range(0..=9)? {
        0..=5 => (line, character),
        6 | 7 => (line, character.saturating_add(u.int_in_range(1..=6)?)),
        8 => (
            line.saturating_add(u.int_in_range(1..=3)?),
            u.int_in_range(0..=20)?,
        ),
        _ => (line.saturating_sub(1), u.int_in_range(0..=200)?),
    };
    Ok(Change {
        range: Some(((line, character), end)),
        text,
    })
}
