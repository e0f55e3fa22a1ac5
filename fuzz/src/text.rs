//! The targets over one file's bytes: checking and fixing.

use std::sync::Arc;

use analyzer::{
    Diagnostic, Notebook, Settings, SourceFile, SourceKind, check_file, fix_until_stable,
    parses_cleanly,
};

/// Checks `data` as `aiolint check` checks one file (a module, and a notebook when it is one's
/// JSON), and converts every position as the printers do: ranges must be in the text, on
/// character boundaries, and so must every fix's edits.
pub fn check_bytes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        // `aiolint check` reports the file as undecodable (E902) without analysing it.
        return;
    };
    let settings = Settings::default();
    let file = SourceFile::new("fuzz.py", text);
    for diagnostic in check_file(&file, &settings) {
        check_positions(&file, &diagnostic);
    }
    if let Ok(notebook) = Notebook::parse(text) {
        let mut file = SourceFile::new("fuzz.ipynb", notebook.text.clone());
        file.kind = SourceKind::Notebook;
        file.notebook = Some(Arc::new(notebook));
        for diagnostic in check_file(&file, &settings) {
            check_positions(&file, &diagnostic);
            let line = file.line_index.line_of(diagnostic.range.start);
            let notebook = file.notebook.as_deref();
            assert!(
                notebook.and_then(|n| n.cell_line(line)).is_some() || file.text.is_empty(),
                "a notebook finding at line {line} has no cell: {diagnostic:?}"
            );
        }
    }
}

/// A finding's range and its fix's edits are ranges of characters of the text, and convert to
/// lines and columns.
fn check_positions(file: &SourceFile, diagnostic: &Diagnostic) {
    let text = &*file.text;
    let in_text = |start: usize, end: usize| {
        start <= end
            && end <= text.len()
            && text.is_char_boundary(start)
            && text.is_char_boundary(end)
    };
    let range = diagnostic.range;
    assert!(
        in_text(range.start, range.end),
        "finding outside the text: {diagnostic:?}"
    );
    file.line_index.line_column(range.start, text);
    file.line_index.line_column(range.end, text);
    if let Some(fix) = &diagnostic.fix {
        for edit in &fix.edits {
            assert!(
                in_text(edit.range.start, edit.range.end),
                "fix edit outside the text: {diagnostic:?}"
            );
        }
    }
}

/// Fixes `data` (unsafe fixes too): when the input parses, the result does; when it does not,
/// it is left as it was.
pub fn fix_bytes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("fuzz.py", text);
    let outcome = fix_until_stable(&file, &Settings::default(), true);
    if parses_cleanly(text) {
        assert!(
            parses_cleanly(&outcome.text),
            "a fix broke the file:\n--- before\n{text}\n--- after\n{}",
            outcome.text
        );
    } else {
        assert_eq!(outcome.text, text, "a file that does not parse was changed");
    }
}
