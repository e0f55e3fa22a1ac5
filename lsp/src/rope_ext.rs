//! `RopeExt`: byte offsets, LSP columns (UTF-8 or UTF-16 code units) and tree-sitter points of
//! a rope, kept in step.
//!
//! The rope is built with ropey's `cr_lines` feature only, so its lines are the LSP's lines:
//! they end at `\n`, `\r\n` or a lone `\r` (never at U+2028 and friends, which `unicode_lines`
//! would add). Tree-sitter counts rows by `\n` alone; [`RopeExt::ts_point`] bridges the two.
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

    /// The tree-sitter point of a byte offset: the number of `\n` before it and the bytes since
    /// the last one. `lone_cr` says whether the text may contain a `\r` that is not followed by
    /// `\n`; without one, rope lines and tree-sitter rows coincide and this is `O(log n)`.
    fn ts_point(&self, offset: usize, lone_cr: bool) -> Point;

    /// The text from byte `offset` on, as far as the chunk holding `offset` goes (empty at or
    /// past the end). This is how tree-sitter reads the rope.
    fn chunk_from(&self, offset: usize) -> &[u8];

    /// Whether the bytes in `start..end` (clamped) hold a `\r` that is not followed by `\n`.
    fn has_lone_cr(&self, start: usize, end: usize) -> bool;

    /// The byte offset where the content of rope line `line` ends (before its line break).
    fn line_content_end(&self, line: usize) -> usize;

    /// The byte offset of an analyzer position: 1-based `line` counted by `\n` alone (as
    /// tree-sitter does) and 1-based `column` in Unicode code points. A column past the end of
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

    fn ts_point(&self, offset: usize, lone_cr: bool) -> Point {
        let offset = offset.min(self.len_bytes());
        if lone_cr {
            return slow_ts_point(self, offset);
        }
        // Between the `\r` and `\n` of a break, ropey may already count the break; tree-sitter
        // does not until after the `\n`.
        if offset > 0
            && self.byte_at(offset) == Some(b'\n')
            && self.byte_at(offset - 1) == Some(b'\r')
        {
            let before = self.ts_point(offset - 1, false);
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

    fn has_lone_cr(&self, start: usize, end: usize) -> bool {
        let end = end.min(self.len_bytes());
        let start = start.min(end);
        let mut bytes = self.bytes_at(start);
        let mut position = start;
        while position < end {
            let Some(byte) = bytes.next() else {
                return false;
            };
            position += 1;
            if byte == b'\r' {
                // Peek without consuming, so a following `\r` is examined too.
                match bytes.next() {
                    Some(b'\n') => position += 1,
                    _ => return true,
                }
            }
        }
        false
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
        let (start, end) = newline_line_span(self, line.checked_sub(1)?)?;
        let first = self.byte_to_char(start);
        let last = self.byte_to_char(end);
        let char = first.saturating_add(column.saturating_sub(1)).min(last);
        Some(self.char_to_byte(char))
    }
}

/// The bytes of 0-based line `line` when lines end at `\n` alone, without the `\n` (and without
/// the `\r` of a `\r\n`). Scans chunk by chunk.
fn newline_line_span(rope: &Rope, line: usize) -> Option<(usize, usize)> {
    let mut seen = 0;
    let mut start = (line == 0).then_some(0);
    let mut offset = 0;
    for chunk in rope.chunks() {
        for (i, byte) in chunk.bytes().enumerate() {
            if byte != b'\n' {
                continue;
            }
            let at = offset + i;
            if let Some(start) = start {
                let end = if at > start && rope.get_byte(at - 1) == Some(b'\r') {
                    at - 1
                } else {
                    at
                };
                return Some((start, end));
            }
            seen += 1;
            if seen == line {
                start = Some(at + 1);
            }
        }
        offset += chunk.len();
    }
    start.map(|start| (start, rope.len_bytes()))
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

/// Counts `\n` chunk by chunk; used only for documents holding a lone `\r`.
fn slow_ts_point(rope: &Rope, offset: usize) -> Point {
    let mut row = 0;
    let mut line_start = 0;
    let mut chunk_start = 0;
    for chunk in rope.chunks() {
        if chunk_start >= offset {
            break;
        }
        let take = (offset - chunk_start).min(chunk.len());
        for (i, byte) in chunk.as_bytes()[..take].iter().enumerate() {
            if *byte == b'\n' {
                row += 1;
                line_start = chunk_start + i + 1;
            }
        }
        chunk_start += chunk.len();
    }
    Point {
        row,
        column: offset - line_start,
    }
}

/// The end point of text inserted at `start`: tree-sitter rows advance at each `\n`.
pub(crate) fn point_after(start: Point, inserted: &str) -> Point {
    match inserted.rfind('\n') {
        Some(last) => Point {
            row: start.row + inserted.bytes().filter(|&b| b == b'\n').count(),
            column: inserted.len() - last - 1,
        },
        None => Point {
            row: start.row,
            column: start.column + inserted.len(),
        },
    }
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf8, Utf16};

    /// The reference: a tree-sitter point computed from the whole string.
    #[allow(clippy::naive_bytecount)]
    fn reference_point(text: &str, offset: usize) -> Point {
        let before = &text.as_bytes()[..offset];
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
                rope.ts_point(offset, false),
                reference_point(text, offset),
                "{offset}"
            );
            assert_eq!(
                rope.ts_point(offset, true),
                reference_point(text, offset),
                "{offset}"
            );
        }
        assert!(!rope.has_lone_cr(0, text.len()));
    }

    #[test]
    fn lone_cr_is_a_line_break_for_lsp_but_not_for_tree_sitter() {
        let text = "a\rb\nc";
        let rope = Rope::from_str(text);
        assert_eq!(rope.len_lines(), 3);
        assert_eq!(rope.position_of(2, Utf16), (1, 0));
        assert!(rope.has_lone_cr(0, text.len()));
        assert!(!rope.has_lone_cr(2, text.len()));
        for offset in 0..=text.len() {
            assert_eq!(
                rope.ts_point(offset, true),
                reference_point(text, offset),
                "{offset}"
            );
        }
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
        assert_eq!(empty.ts_point(4, false), Point::default());
        assert!(empty.chunk_from(0).is_empty());
    }

    #[test]
    fn analyzer_line_columns_count_newlines_and_code_points() {
        let rope = Rope::from_str("a😊b\r\nx\ry = 日本\nlast");
        // Line 1, after the emoji (one code point, four bytes).
        assert_eq!(rope.offset_of_line_column(1, 3), Some(5));
        // A lone `\r` does not end an analyzer line: `y` is on line 2.
        assert_eq!(rope.offset_of_line_column(2, 3), Some(10));
        assert_eq!(rope.offset_of_line_column(2, 7), Some(14));
        // Past the end of a line: its end, before the line break.
        assert_eq!(rope.offset_of_line_column(1, 99), Some(6));
        assert_eq!(rope.offset_of_line_column(3, 99), Some(rope.len_bytes()));
        assert_eq!(rope.offset_of_line_column(4, 1), None);
        assert_eq!(rope.offset_of_line_column(0, 1), None);
    }

    #[test]
    fn inserted_text_end_points() {
        let start = Point { row: 2, column: 4 };
        assert_eq!(point_after(start, "abc"), Point { row: 2, column: 7 });
        assert_eq!(
            point_after(start, "a\nbc\r\nd"),
            Point { row: 4, column: 1 }
        );
        assert_eq!(point_after(start, ""), start);
    }
}
