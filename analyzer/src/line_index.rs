//! Conversion between byte offsets and line/column positions.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`, as Python reads source (universal newlines), as
//! the parser sees it (lone `\r`s reach tree-sitter as `\n`, see [`crate::parse`]) and as the
//! language server's ropes count them. A line's text excludes its line break. Columns are reported in Unicode code points, as the JSON contract requires; this module
//! knows nothing of LSP or UTF-16.

/// Where the line holding `offset` starts: just after the last line break before `offset`.
pub(crate) fn line_start_before(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|before| before.rfind(['\n', '\r']))
        .map_or(0, |i| i + 1)
}

/// Where the content of the line holding `offset` ends: at its line break (the `\r` of a
/// `\r\n`), or at the end of the text.
pub(crate) fn line_content_end(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|after| after.find(['\n', '\r']))
        .map_or(text.len(), |i| offset + i)
}

/// Where the line after the one holding `offset` starts (past its `\n`, `\r\n` or lone `\r`),
/// or `None` when that line is the last.
pub(crate) fn next_line_start(text: &str, offset: usize) -> Option<usize> {
    let end = line_content_end(text, offset);
    match text.as_bytes().get(end..)? {
        [b'\r', b'\n', ..] => Some(end + 2),
        [_, ..] => Some(end + 1),
        [] => None,
    }
}

/// The line break a fix writes into `text`: `\r\n` when the text has one, `\r` when its only
/// line breaks are lone `\r`s, else `\n`.
pub(crate) fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else if text.contains('\r') && !text.contains('\n') {
        "\r"
    } else {
        "\n"
    }
}

/// A 1-based line and column (in Unicode code points).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

/// The byte offset of the start of every line of a text.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        if memchr::memchr(b'\r', bytes).is_none() {
            line_starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        } else {
            // A `\r` ends a line unless a `\n` follows (then the `\n` ends it).
            line_starts.extend(
                memchr::memchr2_iter(b'\n', b'\r', bytes)
                    .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
                    .map(|i| i + 1),
            );
        }
        Self { line_starts }
    }

    /// The 0-based line that contains `offset` (offsets past the end map to the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset) - 1
    }

    /// The byte offset where 0-based `line` starts, clamped to the last line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts[line.min(self.line_starts.len() - 1)]
    }

    /// The byte range of 0-based `line`, without its line terminator.
    pub fn line_range(&self, line: usize, text: &str) -> std::ops::Range<usize> {
        let start = self.line_start(line);
        let bytes = text.as_bytes();
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(text.len(), |&next| next - 1);
        // The `\r` of a `\r\n` is part of the break (a lone `\r` is the break itself).
        if end > start && bytes.get(end) == Some(&b'\n') && bytes.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        start..end.max(start)
    }

    /// The text of 0-based `line`, without its line terminator.
    pub fn line_text<'a>(&self, line: usize, text: &'a str) -> &'a str {
        text.get(self.line_range(line, text)).unwrap_or("")
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The 1-based line and code-point column of `offset` in `text`.
    pub fn line_column(&self, offset: usize, text: &str) -> LineColumn {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_start(line);
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        LineColumn {
            line: line + 1,
            column: column + 1,
        }
    }

    /// The byte offset of a 1-based line and code-point column, clamped to the text.
    pub fn offset(&self, position: LineColumn, text: &str) -> usize {
        let line = position.line.saturating_sub(1);
        if line >= self.line_starts.len() {
            return text.len();
        }
        let range = self.line_range(line, text);
        let line_text = &text[range.clone()];
        let column = position.column.saturating_sub(1);
        range.start
            + line_text
                .char_indices()
                .nth(column)
                .map_or(line_text.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_code_points() {
        let text = "a😊b\r\né = 1\n";
        let index = LineIndex::new(text);
        let b = text.find('b').unwrap_or_default();
        assert_eq!(
            index.line_column(b, text),
            LineColumn { line: 1, column: 3 }
        );
        let eq = text.find('=').unwrap_or_default();
        assert_eq!(
            index.line_column(eq, text),
            LineColumn { line: 2, column: 3 }
        );
        assert_eq!(index.line_text(0, text), "a😊b");
        assert_eq!(index.offset(LineColumn { line: 2, column: 3 }, text), eq);
        assert_eq!(index.line_count(), 3);
    }

    /// Every line start, checked against a reference that splits the text by hand.
    fn reference_lines(text: &str) -> Vec<&str> {
        let mut lines = Vec::new();
        let bytes = text.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    lines.push(&text[start..i]);
                    i += 2;
                    start = i;
                }
                b'\r' | b'\n' => {
                    lines.push(&text[start..i]);
                    i += 1;
                    start = i;
                }
                _ => i += 1,
            }
        }
        lines.push(&text[start..]);
        lines
    }

    #[test]
    fn lines_end_at_newline_crlf_and_lone_cr() {
        for text in [
            "",
            "a",
            "a\nb\n",
            "a\r\nb\r\n",
            "a\rb\r",
            "a\r\rb\r\r\n\nc",
            "\r\n\r\r\n\n\r",
            "x = 1\r\r\nasync def f():\r    é = '😊'\n    pass\r\n",
        ] {
            let index = LineIndex::new(text);
            let expected = reference_lines(text);
            assert_eq!(index.line_count(), expected.len(), "{text:?}");
            for (line, content) in expected.iter().enumerate() {
                assert_eq!(
                    index.line_text(line, text),
                    *content,
                    "{text:?} line {line}"
                );
                let start = index.line_start(line);
                assert_eq!(index.line_of(start), line, "{text:?} line {line}");
                assert_eq!(
                    index.line_column(start, text),
                    LineColumn {
                        line: line + 1,
                        column: 1
                    }
                );
            }
        }
    }

    #[test]
    fn line_helpers_for_fixes_know_every_line_break() {
        let text = "a = 1\rb = 2\r\nc = 3\nd";
        let b = text.find('b').unwrap_or_default();
        let c = text.find('c').unwrap_or_default();
        let d = text.find('d').unwrap_or_default();
        assert_eq!(line_start_before(text, b + 2), b);
        assert_eq!(line_start_before(text, c), c);
        assert_eq!(line_start_before(text, 3), 0);
        assert_eq!(line_content_end(text, 0), 5);
        assert_eq!(line_content_end(text, b), b + 5);
        assert_eq!(next_line_start(text, 0), Some(b));
        assert_eq!(next_line_start(text, b), Some(c));
        assert_eq!(next_line_start(text, c), Some(d));
        assert_eq!(next_line_start(text, d), None);
        assert_eq!(newline_of(text), "\r\n");
        assert_eq!(newline_of("a\rb\r"), "\r");
        assert_eq!(newline_of("a\nb\r"), "\n");
        assert_eq!(newline_of("a"), "\n");
    }

    #[test]
    fn a_lone_cr_ends_a_line() {
        let text = "import time\r\rasync def f():\r    time.sleep(1)\r";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 5);
        let sleep = text.find("time.sleep").unwrap_or_default();
        assert_eq!(
            index.line_column(sleep, text),
            LineColumn { line: 4, column: 5 }
        );
        assert_eq!(index.line_text(3, text), "    time.sleep(1)");
        assert_eq!(index.offset(LineColumn { line: 4, column: 5 }, text), sleep);
        // Past the end of a line: its end, before the `\r`.
        assert_eq!(
            index.offset(
                LineColumn {
                    line: 3,
                    column: 99
                },
                text
            ),
            text.find("):\r").unwrap_or_default() + 2
        );
        // Between the `\r` and `\n` of a `\r\n`: still the line before it.
        let crlf = "a\r\nb";
        let index = LineIndex::new(crlf);
        assert_eq!(index.line_of(2), 0);
        assert_eq!(index.line_of(3), 1);
    }
}
