//! `# noqa` / `# noqa: CODES` on a line and `# aiolint: disable-file`, following the
//! flake8/Ruff convention.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use crate::line_index::LineIndex;

/// What a `# noqa` comment on one line suppresses.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Noqa {
    All,
    Codes(Vec<String>),
}

/// The suppressions of one file, collected from its comments.
#[derive(Clone, Debug, Default)]
pub(crate) struct Suppressions {
    lines: FxHashMap<usize, Noqa>,
    pub disable_file: bool,
}

/// Finds the words without which a comment suppresses nothing.
fn directive_words() -> Option<&'static AhoCorasick> {
    static WORDS: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    WORDS
        .get_or_init(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(["noqa", "disable-file"])
                .ok()
        })
        .as_ref()
}

impl Suppressions {
    /// The suppressions of a module: its comments that hold a directive, found from the
    /// directive words in the text (comments inside `ERROR` nodes do not count, as a walk
    /// that skips broken code would not see them).
    pub(crate) fn of_comments(root: Node<'_>, source: &str, lines: &LineIndex) -> Self {
        let mut suppressions = Suppressions::default();
        let Some(words) = directive_words() else {
            return suppressions;
        };
        let mut seen = FxHashSet::default();
        for found in words.find_iter(source) {
            let Some(comment) = root
                .descendant_for_byte_range(found.start(), found.start())
                .filter(|node| node.kind() == "comment")
            else {
                continue;
            };
            if !seen.insert(comment.start_byte()) || in_error(comment) {
                continue;
            }
            let text = comment.utf8_text(source.as_bytes()).unwrap_or("");
            suppressions.add_comment(text, comment.start_byte(), source, lines);
        }
        suppressions
    }

    /// Records a comment whose text is `comment`, starting at byte `offset` of `source`.
    pub(crate) fn add_comment(
        &mut self,
        comment: &str,
        offset: usize,
        source: &str,
        lines: &LineIndex,
    ) {
        let line = lines.line_of(offset);
        let before = source.get(lines.line_start(line)..offset).unwrap_or("");
        let body = comment.trim_start_matches('#').trim();
        if before.trim().is_empty() && body.eq_ignore_ascii_case("aiolint: disable-file") {
            self.disable_file = true;
            return;
        }
        if let Some(noqa) = parse_noqa(comment) {
            let entry = self.lines.entry(line).or_insert_with(|| noqa.clone());
            if let (Noqa::Codes(existing), Noqa::Codes(more)) = (&mut *entry, noqa) {
                existing.extend(more);
            }
        }
    }

    /// Whether a diagnostic with `code` starting on 0-based `line` is suppressed.
    pub(crate) fn suppresses(&self, line: usize, code: &str) -> bool {
        match self.lines.get(&line) {
            Some(Noqa::All) => true,
            Some(Noqa::Codes(codes)) => codes.iter().any(|c| c.eq_ignore_ascii_case(code)),
            None => false,
        }
    }
}

/// Whether `node` is inside an `ERROR` node.
fn in_error(node: Node<'_>) -> bool {
    let mut current = node.parent();
    while let Some(parent) = current {
        if parent.is_error() {
            return true;
        }
        current = parent.parent();
    }
    false
}

/// Finds `# noqa` or `# noqa: A1, B2` anywhere in a comment (`# type: ignore  # noqa: AIO100`).
fn parse_noqa(comment: &str) -> Option<Noqa> {
    let lower = comment.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find("noqa") {
        let start = search + found;
        search = start + 4;
        let prefix = lower[..start].trim_end();
        if !prefix.ends_with('#') {
            continue;
        }
        let rest = &comment[start + 4..];
        let Some(codes) = rest.strip_prefix(':') else {
            // `# noqa` alone (or followed by text that is not a code list) suppresses everything.
            return rest
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
                .then_some(Noqa::All);
        };
        let codes: Vec<String> = codes
            .split([',', ' ', '\t'])
            .map(str::trim)
            .take_while(|c| c.is_empty() || is_code(c))
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        return Some(if codes.is_empty() {
            Noqa::All
        } else {
            Noqa::Codes(codes)
        });
    }
    None
}

fn is_code(text: &str) -> bool {
    let letters = text.chars().take_while(char::is_ascii_uppercase).count();
    letters > 0 && letters < text.len() && text[letters..].chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noqa_forms() {
        assert_eq!(parse_noqa("# noqa"), Some(Noqa::All));
        assert_eq!(parse_noqa("# NOQA"), Some(Noqa::All));
        assert_eq!(
            parse_noqa("# noqa: AIO200,AIO101"),
            Some(Noqa::Codes(vec!["AIO200".into(), "AIO101".into()]))
        );
        assert_eq!(
            parse_noqa("# noqa:AIO200 trailing words"),
            Some(Noqa::Codes(vec!["AIO200".into()]))
        );
        assert_eq!(
            parse_noqa("# type: ignore  # noqa: AIO100"),
            Some(Noqa::Codes(vec!["AIO100".into()]))
        );
        assert_eq!(parse_noqa("# this is not noqa"), None);
        assert_eq!(parse_noqa("# noqanope"), None);
    }

    #[test]
    fn disable_file_only_on_its_own_line() {
        let source = "x = 1  # aiolint: disable-file\n# aiolint: disable-file\n";
        let lines = LineIndex::new(source);
        let mut own = Suppressions::default();
        own.add_comment("# aiolint: disable-file", 7, source, &lines);
        assert!(!own.disable_file);
        own.add_comment("# aiolint: disable-file", 31, source, &lines);
        assert!(own.disable_file);
    }
}
