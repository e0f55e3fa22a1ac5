//! Fixes as text edits, and applying them.

use crate::diagnostic::Diagnostic;
use crate::settings::Settings;
use crate::source::SourceFile;
use crate::text_range::TextRange;
use crate::{ModuleName, ParsedModule, ProjectIndex, check_file, check_in_project, parses_cleanly};

/// Whether a fix can be applied without review.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Applicability {
    /// Keeps the program's meaning apart from removing the bug; `--fix` applies it.
    Safe,
    /// May change behaviour beyond the bug; needs `--unsafe-fixes` or an explicit code action.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// Replace `range` with `content` (an empty range inserts, empty content deletes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Edit {
    pub range: TextRange,
    pub content: String,
}

impl Edit {
    pub fn replace(range: TextRange, content: impl Into<String>) -> Self {
        Self {
            range,
            content: content.into(),
        }
    }

    pub fn insert(offset: usize, content: impl Into<String>) -> Self {
        Self::replace(TextRange::empty(offset), content)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fix {
    pub title: String,
    /// Sorted by position, non-overlapping.
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
}

impl Fix {
    pub fn new(
        title: impl Into<String>,
        mut edits: Vec<Edit>,
        applicability: Applicability,
    ) -> Self {
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        Self {
            title: title.into(),
            edits,
            applicability,
        }
    }

    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self::new(title, edits, Applicability::Safe)
    }

    pub fn unsafe_(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self::new(title, edits, Applicability::Unsafe)
    }
}

/// Applies as many of `fixes` as fit without overlapping, in order of their first edit, and
/// returns the new text and how many fixes were applied. Fixes left out because they overlap an
/// applied one can be applied in another round after re-checking. An edit identical to one
/// already accepted (two fixes adding the same `import asyncio`) is shared, not a clash, and is
/// applied once.
pub fn apply_fixes<'a>(text: &str, fixes: impl IntoIterator<Item = &'a Fix>) -> (String, usize) {
    let mut fixes: Vec<&Fix> = fixes.into_iter().filter(|f| !f.edits.is_empty()).collect();
    // A stable sort: fixes starting at the same place keep the caller's order.
    fixes.sort_by_key(|f| f.edits.first().map(|e| (e.range.start, e.range.end)));
    let mut accepted: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    for fix in fixes {
        let valid = fix.edits.iter().all(|e| {
            e.range.start <= e.range.end
                && e.range.end <= text.len()
                && text.is_char_boundary(e.range.start)
                && text.is_char_boundary(e.range.end)
        });
        let clashes = fix
            .edits
            .iter()
            .any(|e| !accepted.contains(&e) && accepted.iter().any(|a| a.range.overlaps(e.range)));
        if valid && !clashes {
            for edit in &fix.edits {
                if !accepted.contains(&edit) {
                    accepted.push(edit);
                }
            }
            applied += 1;
        }
    }
    accepted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut output = String::with_capacity(text.len() + 64);
    let mut last = 0;
    for edit in accepted {
        output.push_str(&text[last..edit.range.start]);
        output.push_str(&edit.content);
        last = edit.range.end;
    }
    output.push_str(&text[last..]);
    (output, applied)
}

/// How many rounds of fixing [`fix_until_stable`] does at most.
pub const MAX_FIX_ROUNDS: usize = 10;

/// The result of fixing one file.
#[derive(Clone, Debug)]
pub struct FixOutcome {
    /// The fixed text (the original text when nothing could be fixed).
    pub text: String,
    /// How many findings were fixed, over all rounds.
    pub fixed: usize,
    /// The findings left in the fixed text.
    pub diagnostics: Vec<Diagnostic>,
    /// False when fixes were still being offered after [`MAX_FIX_ROUNDS`] rounds.
    pub converged: bool,
}

/// Applies the fixes of `file`'s findings round after round, re-checking the text after each
/// round, until no fix is left (or [`MAX_FIX_ROUNDS`] rounds have run). Safe fixes always apply;
/// unsafe ones only with `unsafe_fixes`. Overlapping fixes are resolved by position: the first
/// wins and the others are retried on the re-checked text of the next round.
///
/// A file that does not parse is left alone, and a round whose combined result would not parse
/// falls back to applying its fixes one at a time, keeping only those that leave the file
/// parsing: the outcome parses whenever the input did.
pub fn fix_until_stable(file: &SourceFile, settings: &Settings, unsafe_fixes: bool) -> FixOutcome {
    fix_until_stable_in(
        file,
        &ModuleName::default(),
        ProjectIndex::empty(),
        settings,
        unsafe_fixes,
    )
}

/// [`fix_until_stable`] for module `module` of a project: findings that depend on other modules
/// (and their fixes) come from `index`, which is not rebuilt between rounds.
pub fn fix_until_stable_in(
    file: &SourceFile,
    module: &ModuleName,
    index: &ProjectIndex,
    settings: &Settings,
    unsafe_fixes: bool,
) -> FixOutcome {
    let check = |source: &SourceFile| match ParsedModule::parse(&source.text) {
        Some(parsed) if source.kind != crate::SourceKind::Notebook => {
            check_in_project(source, &parsed, module, index, settings)
        }
        _ => check_file(source, settings),
    };
    let mut text = file.text.to_string();
    let mut diagnostics = check(file);
    let mut fixed = 0;
    let wanted = |fix: &Fix| unsafe_fixes || fix.applicability == Applicability::Safe;
    if !parses_cleanly(&text) {
        return FixOutcome {
            text,
            fixed,
            diagnostics,
            converged: true,
        };
    }
    for _ in 0..MAX_FIX_ROUNDS {
        let offered: Vec<&Fix> = diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter(|f| wanted(f))
            .collect();
        if offered.is_empty() {
            return FixOutcome {
                text,
                fixed,
                diagnostics,
                converged: true,
            };
        }
        let (next, applied) = apply_round(&text, &offered);
        if applied == 0 || next == text {
            // Every remaining fix breaks the file or changes nothing: stop here.
            return FixOutcome {
                text,
                fixed,
                diagnostics,
                converged: true,
            };
        }
        fixed += applied;
        text = next;
        let mut round = SourceFile::new(file.path.clone(), text.as_str());
        round.kind = file.kind;
        diagnostics = check(&round);
    }
    let converged = !diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .any(wanted);
    FixOutcome {
        text,
        fixed,
        diagnostics,
        converged,
    }
}

/// One round of fixing: all of `fixes` that fit; when their combined result does not parse,
/// only those that parse on their own, and when those still clash, only the first of them.
fn apply_round(text: &str, fixes: &[&Fix]) -> (String, usize) {
    let (next, applied) = apply_fixes(text, fixes.iter().copied());
    if parses_cleanly(&next) {
        return (next, applied);
    }
    let good: Vec<&Fix> = fixes
        .iter()
        .copied()
        .filter(|fix| {
            let (candidate, one) = apply_fixes(text, [*fix]);
            one == 1 && parses_cleanly(&candidate)
        })
        .collect();
    let (next, applied) = apply_fixes(text, good.iter().copied());
    if parses_cleanly(&next) {
        return (next, applied);
    }
    match good.first() {
        Some(first) => apply_fixes(text, [*first]),
        None => (text.to_string(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_fixes_wait_for_the_next_round() {
        let text = "abcdef";
        let first = Fix::safe("x", vec![Edit::replace(TextRange::new(1, 3), "X")]);
        let clash = Fix::safe("y", vec![Edit::replace(TextRange::new(2, 4), "Y")]);
        let same_insert = Fix::safe(
            "z",
            vec![
                Edit::insert(0, "Z"),
                Edit::replace(TextRange::new(5, 6), "F"),
            ],
        );
        let other_insert = Fix::safe("w", vec![Edit::insert(0, "W")]);
        let (out, applied) = apply_fixes(text, [&first, &clash, &same_insert, &other_insert]);
        assert_eq!(out, "ZaXdeF");
        assert_eq!(applied, 2);
    }

    #[test]
    fn identical_edits_are_shared_and_applied_once() {
        let text = "abcdef";
        let one = Fix::safe(
            "x",
            vec![
                Edit::insert(0, "import asyncio\n"),
                Edit::replace(TextRange::new(1, 2), "B"),
            ],
        );
        let two = Fix::safe(
            "y",
            vec![
                Edit::insert(0, "import asyncio\n"),
                Edit::replace(TextRange::new(4, 5), "E"),
            ],
        );
        let (out, applied) = apply_fixes(text, [&one, &two]);
        assert_eq!(out, "import asyncio\naBcdEf");
        assert_eq!(applied, 2);
    }

    fn settings() -> Settings {
        Settings::default()
    }

    #[test]
    fn fixes_converge_and_count_every_applied_fix() {
        let text = "import time\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n";
        let outcome = fix_until_stable(&SourceFile::new("a.py", text), &settings(), false);
        assert_eq!(
            outcome.text,
            "import time\nimport asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n    await asyncio.sleep(2)\n"
        );
        assert_eq!(outcome.fixed, 2);
        assert!(outcome.converged);
        assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
    }

    #[test]
    fn unsafe_fixes_only_when_asked() {
        let text = "import asyncio\n\nasync def g():\n    pass\n\nasync def f():\n    asyncio.create_task(g())\n";
        let file = SourceFile::new("a.py", text);
        let safe_only = fix_until_stable(&file, &settings(), false);
        assert_eq!(safe_only.text, text);
        assert_eq!((safe_only.fixed, safe_only.diagnostics.len()), (0, 1));
        let with_unsafe = fix_until_stable(&file, &settings(), true);
        assert_ne!(with_unsafe.text, text);
        assert_eq!((with_unsafe.fixed, with_unsafe.diagnostics.len()), (1, 0));
    }

    #[test]
    fn a_fix_that_breaks_parsing_is_left_out() {
        let text = "x = 1\ny = 2\n";
        let breaks = Fix::safe("b", vec![Edit::insert(0, "(")]);
        let good = Fix::safe("g", vec![Edit::replace(TextRange::new(10, 11), "3")]);
        assert_eq!(
            apply_round(text, &[&breaks, &good]),
            ("x = 1\ny = 3\n".to_string(), 1)
        );
        assert_eq!(apply_round(text, &[&breaks]), (text.to_string(), 0));
        // Each parses alone, together they do not: only the first given is applied this round.
        let text = "if x:\n    a\nb\n";
        let add_else = Fix::safe(
            "e",
            vec![Edit::replace(TextRange::new(12, 13), "else:\n    b")],
        );
        let add_line = Fix::safe(
            "l",
            vec![Edit::replace(TextRange::new(6, 12), "    a\nc\n")],
        );
        let (next, applied) = apply_round(text, &[&add_else, &add_line]);
        assert_eq!(
            (next.as_str(), applied),
            ("if x:\n    a\nelse:\n    b\n", 1)
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_left_alone() {
        let text = "import time\n\nasync def f(:\n    time.sleep(1)\n";
        let outcome = fix_until_stable(&SourceFile::new("a.py", text), &settings(), true);
        assert_eq!(outcome.text, text);
        assert_eq!(outcome.fixed, 0);
    }
}
