//! The document-model target: an initial text and a sequence of `didChange`s decoded from the
//! input, checked by `lsp::fuzzing::edit_session`.

use arbitrary::{Result, Unstructured};
use lsp::fuzzing::{Change, edit_session};

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
    let lines = u32::try_from(initial.lines().count()).unwrap_or(u32::MAX);
    let mut u = Unstructured::new(edits);
    let Ok((notifications, utf16)) = decode(&mut u, lines) else {
        return;
    };
    if std::env::var_os("AIOLINT_FUZZ_PRINT").is_some() {
        // For turning a failure into a regression test.
        eprintln!("initial {initial:?}\nutf16 {utf16}\n{notifications:?}");
    }
    if let Err(failure) = edit_session(&initial, &notifications, utf16) {
        panic!("{failure}");
    }
}

/// `didChange` notifications, each with whether it is analysed.
type Notifications = Vec<(Vec<Change>, bool)>;

/// Up to 24 notifications of 1 to 3 changes each, about a third of them analysed, and whether
/// positions are in UTF-16.
fn decode(u: &mut Unstructured<'_>, lines: u32) -> Result<(Notifications, bool)> {
    let utf16 = u.arbitrary()?;
    let mut notifications = Vec::new();
    for _ in 0..u.int_in_range(1..=24)? {
        let mut changes = Vec::new();
        for _ in 0..u.int_in_range(1..=3)? {
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

fn change(u: &mut Unstructured<'_>, lines: u32) -> Result<Change> {
    let text = if u.ratio(1, 4)? {
        let typed: String = u.arbitrary()?;
        typed.chars().take(8).collect()
    } else {
        (*u.choose(SNIPPETS)?).to_string()
    };
    if u.ratio(1, 40)? {
        return Ok(Change { range: None, text });
    }
    let line = u.int_in_range(0..=lines.saturating_add(2))?;
    let character: u32 = u.int_in_range(0..=90)?;
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
