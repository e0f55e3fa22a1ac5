//! The edge between the analyzer's byte offsets and the protocol's positions.
//!
//! `from_proto` turns client positions into byte offsets (clamped, never trusted) and
//! `to_proto` turns analyzer results into LSP types. Together with `rope_ext.rs`, this is the only
//! module that knows columns can be UTF-16 code units.
//!
//! Fixes travel to the client inside `Diagnostic.data` as a [`DiagnosticData`] DTO: the
//! document version the diagnostic was computed for and, when there is a fix, its title,
//! applicability and edits as LSP `TextEdit`s (ranges in the session's negotiated encoding). A
//! code action decodes the DTO and re-checks the version, so the server keeps no fix cache.

use analyzer::{Applicability, Diagnostic, Fix, Related, Severity, TextRange};
use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    PositionEncodingKind, TextEdit, Uri,
};

use crate::rope_ext::RopeExt;

/// How LSP columns are counted in this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum PositionEncoding {
    /// Bytes of UTF-8, offered by Neovim and Helix among others.
    Utf8,
    /// UTF-16 code units: the protocol's default, and the only one VS Code speaks.
    #[default]
    Utf16,
}

impl PositionEncoding {
    /// UTF-8 when the client offers it (no conversion needed), else the mandatory UTF-16.
    pub(crate) fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Self {
        if offered.is_some_and(|kinds| kinds.contains(&PositionEncodingKind::UTF8)) {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        }
    }

    pub(crate) fn kind(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }
}

/// What aiolint puts in `Diagnostic.data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DiagnosticData {
    /// The document version the diagnostic was computed for; `None` for a file that is not
    /// open (found by the workspace scan), which code actions do not act on.
    pub version: Option<i32>,
    /// The fix, if the rule has one here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixData>,
    /// The flagged code may be deliberate (`_ = fetch()`): "disable for this line" comes before
    /// the fix.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deliberate: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FixData {
    pub title: String,
    /// `"safe"` or `"unsafe"`.
    pub applicability: String,
    /// Sorted and non-overlapping, in the document as it was at `version`.
    pub edits: Vec<TextEdit>,
}

impl FixData {
    pub(crate) fn is_safe(&self) -> bool {
        self.applicability == Applicability::Safe.as_str()
    }
}

pub(crate) mod from_proto {
    use super::{PositionEncoding, RopeExt, TextRange, lsp};
    use ropey::Rope;

    /// The byte offset of a client position, clamped to the document.
    pub(crate) fn offset(
        rope: &Rope,
        encoding: PositionEncoding,
        position: lsp::Position,
    ) -> usize {
        rope.offset_of(position.line, position.character, encoding)
    }

    /// The byte range of a client range; a reversed range is put in order.
    pub(crate) fn text_range(
        rope: &Rope,
        encoding: PositionEncoding,
        range: lsp::Range,
    ) -> TextRange {
        let start = offset(rope, encoding, range.start);
        let end = offset(rope, encoding, range.end);
        TextRange::new(start.min(end), start.max(end))
    }

    /// Decodes aiolint's `Diagnostic.data`; anything else (another tool's data, garbage) is `None`.
    pub(crate) fn diagnostic_data(diagnostic: &lsp::Diagnostic) -> Option<super::DiagnosticData> {
        serde_json::from_value(diagnostic.data.clone()?).ok()
    }
}

pub(crate) mod to_proto {
    use super::{
        Diagnostic, DiagnosticData, DiagnosticRelatedInformation, DiagnosticSeverity, Fix, FixData,
        Location, NumberOrString, PositionEncoding, Related, RopeExt, Severity, TextEdit,
        TextRange, Uri, lsp,
    };
    use ropey::Rope;

    pub(crate) const SOURCE: &str = "aiolint";

    pub(crate) fn position(
        rope: &Rope,
        encoding: PositionEncoding,
        offset: usize,
    ) -> lsp::Position {
        let (line, character) = rope.position_of(offset, encoding);
        lsp::Position { line, character }
    }

    pub(crate) fn range(rope: &Rope, encoding: PositionEncoding, range: TextRange) -> lsp::Range {
        lsp::Range {
            start: position(rope, encoding, range.start),
            end: position(rope, encoding, range.end.max(range.start)),
        }
    }

    pub(crate) fn severity(severity: Severity) -> DiagnosticSeverity {
        match severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }
    }

    pub(crate) fn text_edit(
        rope: &Rope,
        encoding: PositionEncoding,
        range_: TextRange,
        new_text: String,
    ) -> TextEdit {
        TextEdit {
            range: range(rope, encoding, range_),
            new_text,
        }
    }

    pub(crate) fn fix(rope: &Rope, encoding: PositionEncoding, fix: &Fix) -> FixData {
        FixData {
            title: fix.title.clone(),
            applicability: fix.applicability.as_str().to_string(),
            edits: fix
                .edits
                .iter()
                .map(|e| text_edit(rope, encoding, e.range, e.content.clone()))
                .collect(),
        }
    }

    /// A file a diagnostic's related location points into: its URI and, when it can be had
    /// (the open document, else the file on disk), its text, for converting columns.
    pub(crate) type ResolveFile<'a> = &'a dyn Fn(&str) -> Option<(Uri, Option<Rope>)>;

    /// An analyzer diagnostic of the document `uri` (text `rope`, at `version`) for the client.
    /// Related locations in other files are converted through `resolve`, and dropped when it
    /// cannot find the file.
    pub(crate) fn diagnostic(
        rope: &Rope,
        encoding: PositionEncoding,
        uri: &Uri,
        version: Option<i32>,
        diagnostic: &Diagnostic,
        resolve: ResolveFile<'_>,
    ) -> lsp::Diagnostic {
        let related: Vec<DiagnosticRelatedInformation> = diagnostic
            .related
            .iter()
            .filter_map(|r| related(rope, encoding, uri, r, resolve))
            .collect();
        let data = DiagnosticData {
            version,
            fix: diagnostic.fix.as_ref().map(|f| fix(rope, encoding, f)),
            deliberate: diagnostic.may_be_deliberate,
        };
        lsp::Diagnostic {
            range: range(rope, encoding, diagnostic.range),
            severity: Some(severity(diagnostic.severity())),
            code: Some(NumberOrString::String(diagnostic.code().to_string())),
            code_description: None,
            source: Some(SOURCE.to_string()),
            message: diagnostic.message.clone(),
            related_information: (!related.is_empty()).then_some(related),
            tags: None,
            data: serde_json::to_value(&data).ok(),
        }
    }

    fn related(
        rope: &Rope,
        encoding: PositionEncoding,
        uri: &Uri,
        related: &Related,
        resolve: ResolveFile<'_>,
    ) -> Option<DiagnosticRelatedInformation> {
        let range_ = match &related.path {
            None => range(rope, encoding, related.range),
            Some(path) => {
                let (other_uri, other_rope) = resolve(path)?;
                return Some(DiagnosticRelatedInformation {
                    location: Location {
                        uri: other_uri,
                        range: other_file_range(other_rope.as_ref(), encoding, related),
                    },
                    message: related.message.clone(),
                });
            }
        };
        Some(DiagnosticRelatedInformation {
            location: Location {
                uri: uri.clone(),
                range: range_,
            },
            message: related.message.clone(),
        })
    }

    /// The range of a related location in another file. Its byte range is of that file's text
    /// when it was summarized, which may have changed since; its line and column (1-based,
    /// code points) are placed in the file's current text, and the range keeps its length.
    /// Without the text, the column is taken as is (exact for ASCII lines, and for UTF-16 on
    /// lines without characters outside the BMP), with an empty range.
    fn other_file_range(
        rope: Option<&Rope>,
        encoding: PositionEncoding,
        related: &Related,
    ) -> lsp::Range {
        let start = related.start;
        if let Some(rope) = rope
            && let Some(offset) = rope.offset_of_line_column(start.line, start.column)
        {
            let end = offset
                .saturating_add(related.range.len())
                .min(rope.len_bytes());
            return range(rope, encoding, TextRange::new(offset, end));
        }
        let position = lsp::Position {
            line: u32::try_from(start.line.saturating_sub(1)).unwrap_or(u32::MAX),
            character: u32::try_from(start.column.saturating_sub(1)).unwrap_or(u32::MAX),
        };
        lsp::Range {
            start: position,
            end: position,
        }
    }

    /// Whether a fix is safe to apply without review.
    pub(crate) fn is_preferred(fix: &FixData) -> Option<bool> {
        fix.is_safe().then_some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::{Edit, Rule};
    use ropey::Rope;

    fn uri() -> Uri {
        "file:///tmp/t.py".parse().expect("valid URI")
    }

    fn diagnostic_on(text: &str, needle: &str) -> Diagnostic {
        let start = text.find(needle).expect("needle");
        let range = TextRange::new(start, start + needle.len());
        Diagnostic::new(Rule::BlockingSleep, range, "blocks").with_fix(Some(Fix::safe(
            "Replace",
            vec![Edit::replace(range, "await asyncio.sleep(1)")],
        )))
    }

    #[test]
    fn negotiation_prefers_utf8_only_when_offered() {
        let both = [PositionEncodingKind::UTF16, PositionEncodingKind::UTF8];
        assert_eq!(
            PositionEncoding::negotiate(Some(&both)),
            PositionEncoding::Utf8
        );
        let utf16 = [PositionEncodingKind::UTF16];
        assert_eq!(
            PositionEncoding::negotiate(Some(&utf16)),
            PositionEncoding::Utf16
        );
        let utf32 = [PositionEncodingKind::UTF32];
        assert_eq!(
            PositionEncoding::negotiate(Some(&utf32)),
            PositionEncoding::Utf16
        );
        assert_eq!(PositionEncoding::negotiate(None), PositionEncoding::Utf16);
    }

    #[test]
    fn diagnostic_ranges_after_emoji_and_cjk() {
        let text = "async def f():\n    s = '😊日本'; time.sleep(1)\n";
        let rope = Rope::from_str(text);
        let d = diagnostic_on(text, "time.sleep(1)");
        let resolve = |_: &str| None;
        let utf16 = to_proto::diagnostic(
            &rope,
            PositionEncoding::Utf16,
            &uri(),
            Some(3),
            &d,
            &resolve,
        );
        // `    s = '` is 9 units, the emoji 2, CJK 2, `'; ` 3: 16.
        assert_eq!(utf16.range.start, lsp::Position::new(1, 16));
        assert_eq!(utf16.range.end, lsp::Position::new(1, 29));
        let utf8 =
            to_proto::diagnostic(&rope, PositionEncoding::Utf8, &uri(), Some(3), &d, &resolve);
        // The emoji is 4 bytes and each CJK character 3.
        assert_eq!(utf8.range.start, lsp::Position::new(1, 22));
        assert_eq!(utf8.code, Some(NumberOrString::String("AIO200".into())));
        assert_eq!(utf8.source.as_deref(), Some("aiolint"));
        let data = from_proto::diagnostic_data(&utf8).expect("data decodes");
        assert_eq!(data.version, Some(3));
        let fix = data.fix.expect("fix");
        assert!(fix.is_safe());
        assert_eq!(fix.edits[0].range, utf8.range);
        // Back from positions to the same bytes.
        assert_eq!(
            from_proto::text_range(&rope, PositionEncoding::Utf16, utf16.range),
            d.range
        );
        assert_eq!(
            from_proto::text_range(&rope, PositionEncoding::Utf8, utf8.range),
            d.range
        );
    }

    #[test]
    fn reversed_and_out_of_range_client_ranges_are_clamped() {
        let rope = Rope::from_str("ab\ncd\n");
        let range = lsp::Range::new(lsp::Position::new(9, 9), lsp::Position::new(0, 1));
        assert_eq!(
            from_proto::text_range(&rope, PositionEncoding::Utf16, range),
            TextRange::new(1, 6)
        );
    }

    #[test]
    fn foreign_data_is_ignored() {
        let d = lsp::Diagnostic {
            data: Some(serde_json::json!({"kind": "other-tool"})),
            ..lsp::Diagnostic::default()
        };
        assert!(from_proto::diagnostic_data(&d).is_none());
        let d = lsp::Diagnostic {
            data: Some(serde_json::json!([1, 2])),
            ..lsp::Diagnostic::default()
        };
        assert!(from_proto::diagnostic_data(&d).is_none());
    }
}
