//! Re-checking only the functions edits are in.
//!
//! While someone types inside a function, the rest of the module keeps its text and, nearly
//! always, its findings. [`recheck_functions`] checks each edited function alone, with a model
//! focused on them ([`crate::semantic::Focus`]: the module's names, the classes, every
//! signature, but not the other functions' bodies), and keeps the previous findings of the rest
//! of the module, moved by the edits. The edits since the previous check may be in several
//! functions (keystrokes that hop from function to function faster than the whole text is
//! parsed again): each function is parsed on its own, and all are checked with one model. It
//! declines (returns `None`) whenever that could differ from a whole check in more than the
//! edited functions: an edit is not inside one function's body, the parser restructured
//! something outside it, an earlier finding straddles a function or points into it, a moved
//! finding's message names a line that moved, or the file disables itself.
//!
//! An edit inside one function can still change findings elsewhere (a helper that starts to
//! block changes its callers), and the focused model sees less than the whole one. The result
//! is for the moment of typing: the caller checks the whole module again once typing pauses
//! (the language server does), so any difference lasts until then.

use aho_corasick::AhoCorasick;
use std::sync::OnceLock;
use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::index::{ModuleName, ProjectIndex};
use crate::parse::{ParsedModule, Point, SyntaxError, same_nodes};
use crate::rules::{self, Rule};
use crate::semantic::{Focus, Spliced};
use crate::settings::Settings;
use crate::source::{SourceFile, SourceKind};
use crate::syntax::NodeExt;
use crate::text_range::TextRange;

/// How a text changed between two analyses: the bytes `start..old_end` of the old text became
/// the bytes `start..new_end` of the new one, and the text has `lines` more lines (fewer when
/// negative). Everything before `start` and after the changed bytes is the same text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextChange {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
    pub lines: isize,
}

impl TextChange {
    /// This change followed by `next` (whose offsets are in the text after this change): one
    /// change from the text before this one to the text after `next`.
    #[must_use]
    pub fn then(self, next: TextChange) -> TextChange {
        let start = self.start.min(next.start);
        // The end of both changed regions in the intermediate text, then in the two others.
        let end = self.new_end.max(next.old_end);
        TextChange {
            start,
            old_end: end - self.new_end + self.old_end,
            new_end: end - next.old_end + next.new_end,
            lines: self.lines + next.lines,
        }
    }

    /// How far the text after the change moved (negative: towards the start).
    fn delta(self) -> isize {
        offset_delta(self.old_end, self.new_end)
    }

    /// The same change, with offsets counted from `origin` (at or before its start).
    fn offset_by(self, origin: usize) -> Option<TextChange> {
        Some(TextChange {
            start: self.start.checked_sub(origin)?,
            old_end: self.old_end.checked_sub(origin)?,
            new_end: self.new_end.checked_sub(origin)?,
            lines: self.lines,
        })
    }
}

fn offset_delta(old: usize, new: usize) -> isize {
    if new >= old {
        isize::try_from(new - old).unwrap_or(isize::MAX)
    } else {
        -isize::try_from(old - new).unwrap_or(isize::MAX)
    }
}

/// A module's text as it was checked last: its text, its parse, and the findings.
#[derive(Clone, Copy, Debug)]
pub struct Checked<'a> {
    pub text: &'a str,
    /// The parse of `text`, without later edits recorded in it.
    pub parsed: &'a ParsedModule,
    pub diagnostics: &'a [Diagnostic],
}

/// What re-checking the edited functions found.
#[derive(Clone, Debug)]
pub struct Rechecked {
    /// The module's findings: the edited functions', and the others moved.
    pub diagnostics: Vec<Diagnostic>,
    pub syntax: RecheckedSyntax,
}

/// The syntax of the new text as a re-check saw it.
#[derive(Clone, Debug)]
pub struct RecheckedSyntax {
    /// The functions re-checked, in order.
    functions: Vec<TextRange>,
    /// Each of `functions` parsed alone, as the re-check checked it.
    alone: Vec<ParsedModule>,
    /// Every syntax error (the functions' own, each parsed alone, and the others moved), in
    /// order.
    syntax_errors: Vec<TextRange>,
}

impl RecheckedSyntax {
    /// Whether `parsed`, a parse of the whole new text, has each function re-checked where the
    /// re-check parsed it alone and with the nodes it had alone, exactly the syntax errors the
    /// re-check saw, and everywhere outside the functions the nodes of `edited` (the parse the
    /// re-check was taken against, with the changes recorded in it, as given to
    /// [`recheck_functions`]). Then the parser did not restructure anything the re-check did
    /// not see (an unclosed string or bracket that swallows what follows makes a function
    /// longer, or moves an error; an edit can also make the parser recover from another
    /// function's syntax error otherwise, with the same error ranges; and the text after a
    /// function can make it recover from an error inside it otherwise than alone), so `parsed`
    /// with these findings can stand as the checked text for the next re-check. Node for node,
    /// so it costs a walk of the tree (less what an incremental reparse reused): for the
    /// background, not for a keystroke.
    #[must_use]
    pub fn agrees_with(&self, edited: &ParsedModule, parsed: &ParsedModule) -> bool {
        self.agrees_with_ranges(parsed)
            && self
                .functions
                .iter()
                .zip(&self.alone)
                .all(|(&range, alone)| {
                    match (
                        only_function(alone.root(), range.start),
                        function_at(parsed.root(), range.start),
                    ) {
                        (Some(alone), Some(whole)) => same_nodes(alone, whole, &[]),
                        _ => false,
                    }
                })
            && edited.same_outside(parsed, &self.functions)
    }

    /// The cheap part of [`RecheckedSyntax::agrees_with`]: the functions' ranges and the syntax
    /// errors.
    fn agrees_with_ranges(&self, parsed: &ParsedModule) -> bool {
        self.functions.iter().all(|&range| {
            function_at(parsed.root(), range.start)
                .is_some_and(|function| TextRange::from(function.byte_range()) == range)
        }) && parsed.syntax_errors.len() == self.syntax_errors.len()
            && parsed
                .syntax_errors
                .iter()
                .zip(&self.syntax_errors)
                .all(|(error, &range)| error.range == range)
    }
}

/// The most functions one re-check takes: beyond, a whole check is cheaper.
const MAX_FUNCTIONS: usize = 16;

/// The findings of the new text of a module: those of the edited functions, each parsed and
/// checked again on its own, and the previous ones of the rest of the module, moved.
/// `changes`, in order (each in the text the ones before it made), turned `old.text` into
/// `file.text`; each is inside the body of an outermost function (several changes may be in
/// one). `edited` is `old.parsed` with `changes` recorded in it ([`ParsedModule::edit`]), not
/// reparsed. `None` when only a whole check can tell (see the module documentation).
pub fn recheck_functions(
    old: Checked<'_>,
    changes: &[TextChange],
    edited: &ParsedModule,
    file: &SourceFile,
    module: &ModuleName,
    index: &ProjectIndex,
    settings: &Settings,
) -> Option<Rechecked> {
    let text: &str = &file.text;
    if file.kind == SourceKind::Stub || text.contains('\0') || disables_itself(text) {
        return None;
    }
    let functions = edited_functions(old.parsed.root(), changes)?;
    let point = |offset: usize| {
        let row = file.line_index.line_of(offset);
        Point {
            row,
            column: offset - file.line_index.line_start(row),
        }
    };
    // Each function now, parsed on its own: what an edit inside it does stays inside it until
    // the whole module is parsed again (an unclosed bracket does not swallow the next
    // function meanwhile).
    let mut alone = Vec::with_capacity(functions.len());
    for function in &functions {
        if has_version_marks(function.old, old.text) {
            return None;
        }
        let range = function.new_range;
        let parsed = ParsedModule::parse_range(text, range, point(range.start), point(range.end))?;
        alone.push(parsed);
    }
    let mut spliced = Vec::with_capacity(functions.len());
    for (function, parsed) in functions.iter().zip(&alone) {
        let new = only_function(parsed.root(), function.new_range.start)?;
        let replaced = function_at(edited.root(), function.new_range.start)?;
        let before = Exposed::of(function.old, old.text);
        let after = Exposed::of(new, text);
        if before.global || after.global || before != after {
            return None;
        }
        spliced.push(Spliced {
            function: new,
            replaced,
        });
    }

    let focus = Focus::new(spliced, text);
    let found = rules::check_functions(file, edited.root(), text, settings, module, index, &focus);
    let kept = |range: TextRange, code: &str| {
        !found
            .suppressions
            .suppresses(file.line_index.line_of(range.start), code)
    };
    let mut diagnostics: Vec<Diagnostic> = found
        .diagnostics
        .iter()
        .filter(|d| kept(d.range, d.code()))
        .cloned()
        .collect();
    diagnostics.extend(
        found
            .pending
            .iter()
            .filter(|p| kept(p.range, p.rule().code()))
            .filter_map(|p| p.answer(index, &file.path)),
    );
    let mover = Mover {
        functions: functions
            .iter()
            .map(|function| Moved {
                old_range: function.old_range,
                delta: offset_delta(function.old_range.len(), function.new_range.len()),
                lines: line_delta(
                    old.text
                        .get(function.old_range.start..function.old_range.end)
                        .unwrap_or_default(),
                    text.get(function.new_range.start..function.new_range.end)
                        .unwrap_or_default(),
                ),
            })
            .collect(),
        file,
    };
    // The first syntax error of the module, where a whole check reports one.
    let elsewhere =
        old.parsed
            .syntax_errors
            .iter()
            .filter_map(|error| match mover.place(error.range)? {
                Place::Outside(range, _) => Some(SyntaxError {
                    range,
                    missing: error.missing.clone(),
                }),
                Place::Inside => None,
            });
    let mut syntax_errors: Vec<SyntaxError> = elsewhere
        .chain(
            alone
                .iter()
                .flat_map(|parsed| parsed.syntax_errors.iter().cloned()),
        )
        .collect();
    syntax_errors.sort_by_key(|error| error.range.start);
    if let Some(first) = syntax_errors.first() {
        diagnostics.push(rules::syntax_error(first, text));
    }
    for diagnostic in old.diagnostics {
        if diagnostic.rule == Rule::SyntaxError {
            continue;
        }
        match mover.place(diagnostic.range)? {
            Place::Inside => {}
            Place::Outside(range, lines) => {
                diagnostics.push(mover.diagnostic(diagnostic, range, lines)?);
            }
        }
    }
    diagnostics.sort_by(|a, b| {
        (a.range.start, a.range.end, a.code()).cmp(&(b.range.start, b.range.end, b.code()))
    });
    Some(Rechecked {
        diagnostics,
        syntax: RecheckedSyntax {
            functions: functions.iter().map(|f| f.new_range).collect(),
            alone,
            syntax_errors: syntax_errors.into_iter().map(|error| error.range).collect(),
        },
    })
}

/// An outermost function of the old text that changes are inside.
struct EditedFunction<'t> {
    /// The function in the old tree.
    old: Node<'t>,
    old_range: TextRange,
    /// Where it is in the text the changes so far made.
    new_range: TextRange,
    /// The changes so far inside it, as one, in offsets from its start.
    change: TextChange,
}

/// The outermost functions of the old tree that `changes` (in order) are inside, in the order
/// of the text, each with its range in the new text. `None` when a change is not inside one
/// function's body (of the old text, for the changes in that function taken together), or
/// there are more than [`MAX_FUNCTIONS`].
fn edited_functions<'t>(
    old_root: Node<'t>,
    changes: &[TextChange],
) -> Option<Vec<EditedFunction<'t>>> {
    let mut functions: Vec<EditedFunction<'t>> = Vec::new();
    for &change in changes {
        let delta = change.delta();
        let inside = functions
            .iter()
            .position(|f| f.new_range.start <= change.start && change.old_end <= f.new_range.end);
        let at = if let Some(at) = inside {
            let function = &mut functions[at];
            let local = change.offset_by(function.new_range.start)?;
            function.change = function.change.then(local);
            let body = function.old.field("body")?;
            let start = function.old_range.start;
            let local_start = function.change.start + start;
            if local_start < body.start_byte() || function.change.old_end + start > body.end_byte()
            {
                return None;
            }
            function.new_range.end = shift(function.new_range.end, delta)?;
            at
        } else {
            if functions
                .iter()
                .any(|f| f.new_range.start < change.old_end && change.start < f.new_range.end)
            {
                return None;
            }
            // The change's offsets in the old text: before it, only the functions edited
            // so far moved the text.
            let moved: isize = functions
                .iter()
                .filter(|f| f.new_range.end <= change.start)
                .map(|f| offset_delta(f.old_range.len(), f.new_range.len()))
                .sum();
            let old_change = TextChange {
                start: shift(change.start, -moved)?,
                old_end: shift(change.old_end, -moved)?,
                new_end: shift(change.new_end, -moved)?,
                lines: change.lines,
            };
            let old = edited_function(old_root, old_change)?;
            let old_range: TextRange = old.byte_range().into();
            let new_start = shift(old_range.start, moved)?;
            let new_end = shift(shift(old_range.end, moved)?, delta)?;
            let at = functions
                .iter()
                .position(|f| f.old_range.start > old_range.start)
                .unwrap_or(functions.len());
            functions.insert(
                at,
                EditedFunction {
                    old,
                    old_range,
                    new_range: TextRange::new(new_start, new_end),
                    change: old_change.offset_by(old_range.start)?,
                },
            );
            if functions.len() > MAX_FUNCTIONS {
                return None;
            }
            at
        };
        for function in &mut functions[at + 1..] {
            function.new_range = TextRange::new(
                shift(function.new_range.start, delta)?,
                shift(function.new_range.end, delta)?,
            );
        }
    }
    (!functions.is_empty()).then_some(functions)
}

/// `offset` moved by `delta`, if that stays an offset.
fn shift(offset: usize, delta: isize) -> Option<usize> {
    usize::try_from(isize::try_from(offset).ok()? + delta).ok()
}

/// How many more lines `new` has than `old`.
fn line_delta(old: &str, new: &str) -> isize {
    let lines = |s: &str| isize::try_from(memchr::memchr_iter(b'\n', s.as_bytes()).count());
    match (lines(old), lines(new)) {
        (Ok(old), Ok(new)) => new - old,
        _ => 0,
    }
}

/// Whether the text may hold `# aiolint: disable-file` (then only a whole check can tell).
fn disables_itself(text: &str) -> bool {
    static FINDER: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    FINDER
        .get_or_init(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(["disable-file"])
                .ok()
        })
        .as_ref()
        .is_none_or(|finder| finder.is_match(text))
}

/// Whether `function` has a decorator that may be a pytest mark (`@pytest.mark.skipif(...)`,
/// `@mark.skip`, `@skipif(...)`): the versions it runs on, which a whole check takes from the
/// marks, are lost when the function is parsed alone (found by the `document` fuzz target). A
/// plain text test, so that handlers with other decorators are still re-checked.
fn has_version_marks(function: Node<'_>, text: &str) -> bool {
    let Some(decorated) = function
        .parent()
        .filter(|p| p.node_kind() == "decorated_definition")
    else {
        return false;
    };
    decorated
        .named_children_vec()
        .into_iter()
        .filter(|d| d.node_kind() == "decorator")
        .any(|d| {
            let decorator = text.get(d.byte_range()).unwrap_or_default();
            decorator.contains("skip") || decorator.contains("mark")
        })
}

/// The outermost function whose body holds the bytes `change` replaced, unless the syntax
/// around it is broken. (An error inside the function is fine: a whole check skips it the same
/// way.) Typing at the very end of the body, on its last line, is in the body too.
fn edited_function(root: Node<'_>, change: TextChange) -> Option<Node<'_>> {
    let mut node = root.descendant_for_byte_range(change.start, change.old_end)?;
    let mut function = None;
    loop {
        if node.is_error() {
            function = None;
        } else if node.node_kind() == "function_definition" {
            function = Some(node);
        }
        match node.parent() {
            Some(parent) => node = parent,
            None => break,
        }
    }
    let function = function?;
    let body = function.field("body")?;
    (body.start_byte() <= change.start && change.old_end <= body.end_byte()).then_some(function)
}

/// The outermost `function_definition` starting at `start`.
fn function_at(root: Node<'_>, start: usize) -> Option<Node<'_>> {
    let mut node = root.descendant_for_byte_range(start, start)?;
    let mut function = None;
    while node.start_byte() == start {
        if node.node_kind() == "function_definition" {
            function = Some(node);
        }
        match node.parent() {
            Some(parent) => node = parent,
            None => break,
        }
    }
    function
}

/// The one function definition, starting at `start`, of a module parsed from a function's
/// text alone (comments around it aside).
pub(crate) fn only_function(root: Node<'_>, start: usize) -> Option<Node<'_>> {
    let mut statements = root.named_children_vec().into_iter();
    let function = statements.next()?;
    (statements.next().is_none()
        && function.node_kind() == "function_definition"
        && function.start_byte() == start)
        .then_some(function)
}

/// What the body of a function shows to the rest of the module, read off its syntax.
#[derive(Debug, PartialEq, Eq)]
struct Exposed<'s> {
    /// `yield`s: whether it is a generator.
    yields: usize,
    /// A `global` or `nonlocal` statement: it may bind names of the scopes around it.
    global: bool,
    /// Assignments to attributes (`self.session = ...`), as written: instance attributes the
    /// other methods see.
    attribute_assignments: Vec<&'s str>,
}

impl<'s> Exposed<'s> {
    fn of(function: Node<'_>, source: &'s str) -> Self {
        let mut exposed = Exposed {
            yields: 0,
            global: false,
            attribute_assignments: Vec::new(),
        };
        let mut cursor = function.walk();
        loop {
            let node = cursor.node();
            match node.node_kind() {
                "yield" => exposed.yields += 1,
                "global_statement" | "nonlocal_statement" => exposed.global = true,
                "assignment" | "augmented_assignment"
                    if node.field("left").is_some_and(|left| {
                        left.node_kind() == "attribute" || has_attribute_target(left)
                    }) =>
                {
                    exposed.attribute_assignments.push(node.text(source));
                }
                _ => {}
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() || cursor.node() == function {
                    return exposed;
                }
            }
        }
    }
}

/// Whether a target list (`a, self.b = ...`) assigns an attribute.
fn has_attribute_target(target: Node<'_>) -> bool {
    matches!(
        target.node_kind(),
        "pattern_list" | "tuple_pattern" | "list_pattern"
    ) && target
        .named_children_vec()
        .into_iter()
        .any(|t| t.node_kind() == "attribute" || has_attribute_target(t))
}

/// Where an earlier finding's range is after the changes.
enum Place {
    /// In an edited function: checked again.
    Inside,
    /// Elsewhere, at this range of the new text, which has this many more lines before it.
    Outside(TextRange, isize),
}

/// An edited function, as the rest of the module sees it: the text after it moved.
struct Moved {
    /// The function in the old text.
    old_range: TextRange,
    /// How far the text after it moved.
    delta: isize,
    /// How many lines it gained.
    lines: isize,
}

/// Moves earlier findings of the rest of the module to the new text.
struct Mover<'a> {
    /// The edited functions, in the order of the text.
    functions: Vec<Moved>,
    file: &'a SourceFile,
}

impl Mover<'_> {
    /// Where `range` (of the old text) is now; `None` when it straddles a function's edge.
    fn place(&self, range: TextRange) -> Option<Place> {
        let (mut delta, mut lines) = (0, 0);
        for function in &self.functions {
            let old = function.old_range;
            if range.end <= old.start && !(range.is_empty() && range.start == old.start) {
                break;
            } else if range.start >= old.end {
                delta += function.delta;
                lines += function.lines;
            } else if old.start <= range.start && range.end <= old.end {
                return Some(Place::Inside);
            } else {
                return None;
            }
        }
        let moved = TextRange::new(shift(range.start, delta)?, shift(range.end, delta)?);
        Some(Place::Outside(moved, lines))
    }

    /// The range of the new text that `range` (outside the functions) moved to.
    fn outside(&self, range: TextRange) -> Option<TextRange> {
        match self.place(range)? {
            Place::Outside(moved, _) => Some(moved),
            Place::Inside => None,
        }
    }

    /// `diagnostic`, now at `range` (with `lines` more lines before it), with its fix and
    /// related locations in this file moved too.
    fn diagnostic(
        &self,
        diagnostic: &Diagnostic,
        range: TextRange,
        lines: isize,
    ) -> Option<Diagnostic> {
        // A message may name a line of this file (`first call on line 12`).
        if lines != 0 && diagnostic.message.contains("line ") {
            return None;
        }
        let mut diagnostic = diagnostic.clone();
        diagnostic.range = range;
        if let Some(fix) = &mut diagnostic.fix {
            for edit in &mut fix.edits {
                edit.range = self.outside(edit.range)?;
            }
        }
        for related in &mut diagnostic.related {
            if related.path.is_none() {
                related.range = self.outside(related.range)?;
                related.start = self
                    .file
                    .line_index
                    .line_column(related.range.start, &self.file.text);
            }
        }
        Some(diagnostic)
    }
}

#[cfg(test)]
mod tests;
