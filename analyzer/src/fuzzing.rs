//! Properties shared by the unit tests and the fuzz targets (`fuzz/`), built only for tests and
//! with the `fuzzing` feature. Not a stable API.
//!
//! The central one is the re-check's: where [`crate::recheck_functions`] takes an edit and a
//! parse of the whole new text leaves everything outside the edited function as it was, its
//! findings are those of a whole check.

use crate::recheck::{Checked, Rechecked, TextChange, only_function};
use crate::{
    Diagnostic, ModuleName, ParsedModule, Point, ProjectIndex, Settings, SourceFile, TextRange,
    check_in_project, recheck_functions,
};

/// The tree-sitter point of byte `offset` of `text` (rows end at `\n`, `\r\n` and a lone `\r`,
/// as [`crate::LineIndex`] counts them; columns are bytes). `offset` is clamped to the text and
/// moved back to a character boundary.
pub fn point_at(text: &str, offset: usize) -> Point {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let bytes = &text.as_bytes()[..offset];
    let mut row = 0;
    let mut line_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        // A `\r` is a line break unless a `\n` follows it in the text (not only before `offset`).
        if byte == b'\n' || (byte == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n')) {
            row += 1;
            line_start = i + 1;
        }
    }
    Point {
        row,
        column: offset - line_start,
    }
}

/// Every node of the tree, in order, with its kind, byte range and points: two parses of a text
/// agree when these do (the `Debug` form of a parse shows only its root).
pub fn tree_positions(parsed: &ParsedModule) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = parsed.root().walk();
    loop {
        let node = cursor.node();
        out.push(format!(
            "{} {:?} {:?}-{:?}",
            node.kind(),
            node.byte_range(),
            node.start_position(),
            node.end_position()
        ));
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

/// The tree's structure (kinds, nesting, and where each node ends outside the function), with
/// `function` as one placeholder.
fn shape(node: tree_sitter::Node<'_>, function: tree_sitter::Node<'_>, out: &mut String) {
    if node == function {
        out.push_str("FUNCTION");
        return;
    }
    out.push('(');
    out.push_str(node.kind());
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        out.push(' ');
        shape(child, function, out);
    }
    out.push(')');
}

/// The outermost function definition of `tree` that holds `offset`.
fn outermost(tree: &ParsedModule, offset: usize) -> Option<tree_sitter::Node<'_>> {
    let mut node = tree.root().descendant_for_byte_range(offset, offset)?;
    let mut function = None;
    loop {
        if node.kind() == "function_definition" {
            function = Some(node);
        }
        match node.parent() {
            Some(parent) => node = parent,
            None => return function,
        }
    }
}

/// Whether the parse of the whole new text (`parsed`) is the old parse but for the function
/// that holds `offset`, and that function parsed alone has the syntax it has there: then a
/// whole check is the reference for the re-check. (Else the re-check is meant to differ: it
/// keeps a syntax error inside the function until the whole module is parsed again.)
pub fn edit_stays_inside(
    old: &ParsedModule,
    parsed: &ParsedModule,
    text: &str,
    offset: usize,
) -> bool {
    confining_function(old, parsed, text, offset).is_some()
}

/// The range in the new text of the function that [`edit_stays_inside`] finds the edit kept in.
pub fn confining_function(
    old: &ParsedModule,
    parsed: &ParsedModule,
    text: &str,
    offset: usize,
) -> Option<TextRange> {
    // The edit is inside the function, which therefore starts where it did.
    let before = outermost(old, offset)?;
    let after = outermost(parsed, before.start_byte())?;
    let without = |tree: &ParsedModule, function: tree_sitter::Node<'_>| {
        let mut out = String::new();
        shape(tree.root(), function, &mut out);
        out
    };
    let range = TextRange::new(after.start_byte(), after.end_byte());
    let alone = ParsedModule::parse_range(
        text,
        range,
        point_at(text, range.start),
        point_at(text, range.end),
    )?;
    (without(old, before) == without(parsed, after)
        && only_function(alone.root(), range.start).is_some_and(|f| f.to_sexp() == after.to_sexp()))
    .then_some(range)
}

/// What one re-check gave, and whether a whole check was its reference.
#[derive(Debug)]
pub struct Agreement {
    /// The re-check, when it took the change.
    pub rechecked: Option<Rechecked>,
    /// A whole check of the new text, from `parsed`.
    pub whole: Vec<Diagnostic>,
    /// The re-checked function, when the whole parse kept the change inside it.
    pub confined: Option<TextRange>,
}

/// Re-checks `change` (which turned `old` into `file`; `edited` is `old.parsed` with the change
/// recorded in it, `parsed` the parse of the new text) and checks the re-check's properties:
///
/// - a re-check whose syntax agrees with the whole parse only happens when the parse kept the
///   edit inside the function (else a wrong base would stand for the next keystroke);
/// - a re-check of a change kept inside the function gives the findings of a whole check in
///   that function.
///
/// Findings elsewhere may differ by design until the next whole check (the module
/// documentation of `recheck`: a helper that stops raising or starts blocking changes its
/// callers' findings), so they are not compared. `Err` names the property that failed.
#[allow(
    clippy::too_many_arguments,
    reason = "the inputs of a re-check and its reference"
)]
pub fn check_recheck(
    old: Checked<'_>,
    change: TextChange,
    edited: &ParsedModule,
    parsed: &ParsedModule,
    file: &SourceFile,
    module: &ModuleName,
    index: &ProjectIndex,
    settings: &Settings,
) -> Result<Agreement, String> {
    let rechecked = recheck_functions(old, &[change], edited, file, module, index, settings);
    let whole = check_in_project(file, parsed, module, index, settings);
    let confined = rechecked
        .as_ref()
        .and_then(|_| confining_function(old.parsed, parsed, &file.text, change.start));
    if let Some(rechecked) = &rechecked {
        if rechecked.syntax.agrees_with(edited, parsed) && confined.is_none() {
            return Err(
                "a re-check agreed with a parse that restructured more than the function"
                    .to_string(),
            );
        }
        if let Some(function) = confined {
            let inside = |diagnostics: &[Diagnostic]| -> Vec<Diagnostic> {
                diagnostics
                    .iter()
                    .filter(|d| function.start <= d.range.start && d.range.start < function.end)
                    .cloned()
                    .collect()
            };
            let (partial, reference) = (inside(&rechecked.diagnostics), inside(&whole));
            if partial != reference {
                // The first finding that differs in full, for findings with the same codes.
                let differing = partial
                    .iter()
                    .zip(&reference)
                    .find(|(a, b)| a != b)
                    .map(|(a, b)| format!("\nfirst difference: {a:?}\n!= {b:?}"))
                    .unwrap_or_default();
                return Err(format!(
                    "in the function at {function:?}: re-check {:?} != whole check {:?}{differing}",
                    codes(&partial),
                    codes(&reference)
                ));
            }
        }
    }
    Ok(Agreement {
        rechecked,
        whole,
        confined,
    })
}

/// Each finding's start and code, for messages.
pub fn codes(diagnostics: &[Diagnostic]) -> Vec<(usize, &str)> {
    diagnostics
        .iter()
        .map(|d| (d.range.start, d.code()))
        .collect()
}
