//! Conversion between byte offsets and line/column positions.
//!
//! Lines are split on `\n` only (as tree-sitter does); a `\r` before it belongs to the line's
//! text. Columns are reported in Unicode code points, as the JSON contract requires; this module
//! knows nothing of LSP or UTF-16.

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
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
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
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(text.len(), |&next| next - 1);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
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
}
