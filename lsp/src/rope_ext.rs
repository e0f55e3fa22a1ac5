//! `RopeExt`: byte offsets, LSP columns (UTF-8 or UTF-16 code units) and tree-sitter points of
//! a rope, kept in step.
//!
//! The rope is built with ropey's `cr_lines` feature only, so its lines are the LSP's lines:
//! they end at `\n`, `\r\n` or a lone `\r` (never at U+2028 and friends, which `unicode_lines`
//! would add). They are also the analyzer's lines and tree-sitter's rows: the analyzer hands
//! each lone `\r` to tree-sitter as a `\n` (`analyzer::ParsedModule`), and its `LineIndex`
//! counts lines the same way.
//!
//! Every method clamps what it is given: a line past the end of the document, a column past
//! the end of a line, an offset in the middle of a character or between the `\r` and `\n` of a
//! line break. Nothing here panics on client input.

use analyzer::Point;
use ropey::Rope;

use crate::convert::PositionEncoding;

pub(crate) trait RopeExt {
    /// The byte offset of an LSP position (`line`, `column` in `encoding` code units), clamped
    /// to the document, to the end of the line's content, and down to a character boundary.
    fn offset_of(&self, line: u32, column: u32, encoding: PositionEncoding) -> usize;

    /// The LSP position (`line`, `column` in `encoding` code units) of a byte offset, clamped to
    /// the document and down to a character boundary.
    fn position_of(&self, offset: usize, encoding: PositionEncoding) -> (u32, u32);

    /// The tree-sitter point of a byte offset: the number of line breaks before it (rope lines)
    /// and the bytes since the last one. `O(log n)`.
    fn ts_point(&self, offset: usize) -> Point;

    /// The text from byte `offset` on, as far as the chunk holding `offset` goes (empty at or
    /// past the end). This is how tree-sitter reads the rope.
    fn chunk_from(&self, offset: usize) -> &[u8];

    /// The byte offset where the content of rope line `line` ends (before its line break).
    fn line_content_end(&self, line: usize) -> usize;

    /// The byte offset of an analyzer position: 1-based `line` (the rope's lines, which are the
    /// analyzer's) and 1-based `column` in Unicode code points. A column past the end of
    /// its line is clamped to the line's end; `None` when the text has fewer lines.
    fn offset_of_line_column(&self, line: usize, column: usize) -> Option<usize>;
}

impl RopeExt for Rope {
    fn offset_of(&self, line: u32, column: u32, encoding: PositionEncoding) -> usize {
        let line = usize::try_from(line).unwrap_or(usize::MAX);
        let column = usize::try_from(column).unwrap_or(usize::MAX);
        if line >= self.len_lines() {
            return self.len_bytes();
        }
        let start = self.line_to_byte(line);
        let end = self.line_content_end(line);
        match encoding {
            PositionEncoding::Utf8 => {
                let mut offset = start.saturating_add(column).min(end);
                while offset > start && !self.is_char_boundary(offset) {
                    offset -= 1;
                }
                offset
            }
            PositionEncoding::Utf16 => {
                let first_unit = self.char_to_utf16_cu(self.line_to_char(line));
                let end_unit = self.char_to_utf16_cu(self.byte_to_char(end));
                let unit = first_unit.saturating_add(column).min(end_unit);
                // A column inside a surrogate pair rounds down to the start of its character.
                self.char_to_byte(self.utf16_cu_to_char(unit))
            }
        }
    }

    fn position_of(&self, offset: usize, encoding: PositionEncoding) -> (u32, u32) {
        let offset = self.snap(offset);
        let line = self.byte_to_line(offset);
        let line_start = self.line_to_byte(line);
        let column = match encoding {
            PositionEncoding::Utf8 => offset - line_start,
            PositionEncoding::Utf16 => {
                self.char_to_utf16_cu(self.byte_to_char(offset))
                    - self.char_to_utf16_cu(self.line_to_char(line))
            }
        };
        (saturate(line), saturate(column))
    }

    fn ts_point(&self, offset: usize) -> Point {
        let offset = offset.min(self.len_bytes());
        // Between the `\r` and `\n` of a break, ropey may already count the break; tree-sitter
        // does not until after the `\n`.
        if offset > 0
            && self.byte_at(offset) == Some(b'\n')
            && self.byte_at(offset - 1) == Some(b'\r')
        {
            let before = self.ts_point(offset - 1);
            return Point {
                row: before.row,
                column: before.column + 1,
            };
        }
        let row = self.byte_to_line(offset);
        Point {
            row,
            column: offset - self.line_to_byte(row),
        }
    }

    fn chunk_from(&self, offset: usize) -> &[u8] {
        if offset >= self.len_bytes() {
            return &[];
        }
        let (chunk, chunk_start, _, _) = self.chunk_at_byte(offset);
        chunk
            .as_bytes()
            .get(offset - chunk_start..)
            .unwrap_or_default()
    }

    fn line_content_end(&self, line: usize) -> usize {
        if line + 1 >= self.len_lines() {
            return self.len_bytes();
        }
        let next = self.line_to_byte(line + 1);
        let start = self.line_to_byte(line);
        let mut end = next;
        if end > start && self.byte_at(end - 1) == Some(b'\n') {
            end -= 1;
        }
        if end > start && self.byte_at(end - 1) == Some(b'\r') {
            end -= 1;
        }
        end
    }

    fn offset_of_line_column(&self, line: usize, column: usize) -> Option<usize> {
        let line = line.checked_sub(1)?;
        if line >= self.len_lines() {
            return None;
        }
        let (start, end) = (self.line_to_byte(line), self.line_content_end(line));
        let first = self.byte_to_char(start);
        let last = self.byte_to_char(end);
        let char = first.saturating_add(column.saturating_sub(1)).min(last);
        Some(self.char_to_byte(char))
    }
}

/// Small helpers on top of ropey that never panic.
trait RopeBytes {
    fn byte_at(&self, offset: usize) -> Option<u8>;
    fn is_char_boundary(&self, offset: usize) -> bool;
    /// Clamps `offset` to the text, down to a character boundary, and off the `\n` of `\r\n`.
    fn snap(&self, offset: usize) -> usize;
}

impl RopeBytes for Rope {
    fn byte_at(&self, offset: usize) -> Option<u8> {
        self.get_byte(offset)
    }

    fn is_char_boundary(&self, offset: usize) -> bool {
        // UTF-8 continuation bytes look like 0b10xx_xxxx.
        self.byte_at(offset).is_none_or(|b| (b & 0xC0) != 0x80)
    }

    fn snap(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.len_bytes());
        while offset > 0 && !self.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset > 0
            && self.byte_at(offset) == Some(b'\n')
            && self.byte_at(offset - 1) == Some(b'\r')
        {
            offset -= 1;
        }
        offset
    }
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf8, Utf16};

    /// The reference: a tree-sitter point computed from the whole string as tree-sitter is
    /// given it (each lone `\r` replaced by `\n`).
    #[allow(clippy::naive_bytecount)]
    fn reference_point(text: &str, offset: usize) -> Point {
        let bytes = text.as_bytes();
        let normalized: Vec<u8> = (0..bytes.len())
            .map(|i| {
                if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
                    b'\n'
                } else {
                    bytes[i]
                }
            })
            .collect();
        let before = &normalized[..offset];
        let row = before.iter().filter(|&&b| b == b'\n').count();
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Point {
            row,
            column: offset - start,
        }
    }

    #[test]
    fn emoji_columns() {
        let rope = Rope::from_str("a😊b");
        // `b` is byte 5, UTF-16 unit 3.
        assert_eq!(rope.position_of(5, Utf8), (0, 5));
        assert_eq!(rope.position_of(5, Utf16), (0, 3));
        assert_eq!(rope.offset_of(0, 5, Utf8), 5);
        assert_eq!(rope.offset_of(0, 3, Utf16), 5);
        // Inside the emoji: UTF-16 unit 2 is its low surrogate; UTF-8 bytes 2..5 are inside it.
        assert_eq!(rope.offset_of(0, 2, Utf16), 1);
        assert_eq!(rope.offset_of(0, 3, Utf8), 1);
        assert_eq!(rope.position_of(3, Utf16), (0, 1));
        // Past the end of the line clamps to its end.
        assert_eq!(rope.offset_of(0, 99, Utf16), 6);
        assert_eq!(rope.offset_of(0, 99, Utf8), 6);
    }

    #[test]
    fn accented_and_cjk_columns() {
        let rope = Rope::from_str("é = 1\n日本語 = time\n");
        assert_eq!(rope.position_of(2, Utf8), (0, 2));
        assert_eq!(rope.position_of(2, Utf16), (0, 1));
        assert_eq!(rope.offset_of(0, 1, Utf16), 2);
        let time = "é = 1\n日本語 = ".len();
        assert_eq!(rope.position_of(time, Utf16), (1, 6));
        assert_eq!(rope.position_of(time, Utf8), (1, 12));
        assert_eq!(rope.offset_of(1, 6, Utf16), time);
        assert_eq!(rope.offset_of(1, 12, Utf8), time);
        // A UTF-8 column inside `本` rounds down to its start.
        assert_eq!(rope.offset_of(1, 4, Utf8), "é = 1\n日".len());
    }

    #[test]
    fn crlf_lines() {
        let text = "a\r\nb😊\r\n\r\nc";
        let rope = Rope::from_str(text);
        assert_eq!(rope.len_lines(), 4);
        assert_eq!(rope.offset_of(1, 0, Utf16), 3);
        // The end of line 1 is before its `\r\n`, whatever column is asked for.
        assert_eq!(rope.offset_of(1, 50, Utf16), 8);
        assert_eq!(rope.offset_of(1, 50, Utf8), 8);
        assert_eq!(rope.position_of(8, Utf16), (1, 3));
        // An offset between `\r` and `\n` is reported at the `\r`.
        assert_eq!(rope.position_of(9, Utf8), (1, 5));
        assert_eq!(rope.offset_of(3, 1, Utf8), text.len());
        for offset in 0..=text.len() {
            assert_eq!(
                rope.ts_point(offset),
                reference_point(text, offset),
                "{offset}"
            );
        }
    }

    #[test]
    fn lone_cr_is_a_line_break_for_lsp_and_tree_sitter() {
        for text in ["a\rb\nc", "\r\r\n\r", "x\r\r\ny = '😊'\r\n\rz\r", "\r"] {
            let rope = Rope::from_str(text);
            for offset in 0..=text.len() {
                assert_eq!(
                    rope.ts_point(offset),
                    reference_point(text, offset),
                    "{text:?} {offset}"
                );
            }
        }
        let rope = Rope::from_str("a\rb\nc");
        assert_eq!(rope.len_lines(), 3);
        assert_eq!(rope.position_of(2, Utf16), (1, 0));
        assert_eq!(rope.ts_point(2), Point { row: 1, column: 0 });
    }

    #[test]
    fn unicode_line_separators_are_not_line_breaks() {
        // Guards the feature selection: `unicode_lines` would split here and shift every line.
        let rope = Rope::from_str("a\u{2028}b\u{85}c\n");
        assert_eq!(rope.len_lines(), 2);
    }

    #[test]
    fn positions_past_the_end_clamp() {
        let rope = Rope::from_str("ab\ncd");
        assert_eq!(rope.offset_of(7, 0, Utf16), 5);
        assert_eq!(rope.offset_of(u32::MAX, u32::MAX, Utf8), 5);
        assert_eq!(rope.offset_of(1, u32::MAX, Utf16), 5);
        assert_eq!(rope.position_of(999, Utf16), (1, 2));
        let empty = Rope::new();
        assert_eq!(empty.offset_of(3, 3, Utf16), 0);
        assert_eq!(empty.position_of(3, Utf8), (0, 0));
        assert_eq!(empty.ts_point(4), Point::default());
        assert!(empty.chunk_from(0).is_empty());
    }

    #[test]
    fn analyzer_line_columns_count_line_breaks_and_code_points() {
        let text = "a😊b\r\nx\ry = 日本\nlast";
        let rope = Rope::from_str(text);
        // Line 1, after the emoji (one code point, four bytes).
        assert_eq!(rope.offset_of_line_column(1, 3), Some(5));
        // A lone `\r` ends a line, for the analyzer too: `y` is on line 3.
        assert_eq!(rope.offset_of_line_column(2, 1), Some(8));
        assert_eq!(rope.offset_of_line_column(3, 1), Some(10));
        assert_eq!(rope.offset_of_line_column(3, 5), Some(14));
        // Past the end of a line: its end, before the line break.
        assert_eq!(rope.offset_of_line_column(1, 99), Some(6));
        assert_eq!(rope.offset_of_line_column(2, 99), Some(9));
        assert_eq!(rope.offset_of_line_column(4, 99), Some(rope.len_bytes()));
        assert_eq!(rope.offset_of_line_column(5, 1), None);
        assert_eq!(rope.offset_of_line_column(0, 1), None);
        // The analyzer's own line index agrees, position for position.
        let index = analyzer::LineIndex::new(text);
        for offset in (0..=text.len()).filter(|&o| text.is_char_boundary(o)) {
            let at = index.line_column(offset, text);
            if text.as_bytes().get(offset) == Some(&b'\n') && text[..offset].ends_with('\r') {
                continue; // between the `\r` and `\n` of a break: not a position of either
            }
            assert_eq!(
                rope.offset_of_line_column(at.line, at.column),
                Some(offset),
                "{offset}"
            );
        }
    }
}
