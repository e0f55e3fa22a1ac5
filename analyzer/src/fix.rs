//! Fixes as text edits, and applying them.

use crate::text_range::TextRange;

/// Whether a fix can be applied without review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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

#[derive(Clone, Debug, PartialEq, Eq)]
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
/// applied one can be applied in another round after re-checking.
pub fn apply_fixes<'a>(text: &str, fixes: impl IntoIterator<Item = &'a Fix>) -> (String, usize) {
    let mut fixes: Vec<&Fix> = fixes.into_iter().filter(|f| !f.edits.is_empty()).collect();
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
            .any(|e| accepted.iter().any(|a| a.range.overlaps(e.range)));
        if valid && !clashes {
            accepted.extend(fix.edits.iter());
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
        let same_insert_again = Fix::safe("w", vec![Edit::insert(0, "Z")]);
        let (out, applied) = apply_fixes(text, [&first, &clash, &same_insert, &same_insert_again]);
        assert_eq!(out, "ZaXdeF");
        assert_eq!(applied, 2);
    }
}
