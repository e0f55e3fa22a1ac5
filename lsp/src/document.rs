//! One open document: its text as a rope and its syntax tree, kept in step by incremental edits.

use std::sync::Arc;

use analyzer::{InputEdit, ParsedModule, SourceFile, SourceKind, TextChange, TextRange};
use ropey::Rope;
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::analysis::Analysis;
use crate::convert::{PositionEncoding, from_proto};
use crate::rope_ext::RopeExt;

/// The most changes kept for bringing an older parse up to date.
const MAX_LOG: usize = 4096;

#[derive(Debug)]
pub(crate) struct Document {
    pub uri: Uri,
    /// The path handed to the analyzer (the file path when the URI has one).
    pub path: String,
    pub kind: SourceKind,
    pub version: i32,
    /// Tells this opening of `uri` apart from an earlier one that used the same versions.
    pub epoch: u64,
    pub rope: Rope,
    /// The last parse, with every change made since recorded in it (`ParsedModule::edit`), so
    /// that reparsing it is incremental. `None` until the first parse.
    tree: Option<ParsedModule>,
    /// Whether the text changed since `tree` was parsed.
    tree_stale: bool,
    /// The version `tree` is the parse of.
    tree_version: Option<i32>,
    /// Every change since the text of version `log_from`: a parse of any version since (one
    /// that finished after newer changes came) can be brought up to date
    /// ([`Document::store_parse`]), and the texts in between rebuilt.
    log: Vec<LoggedChange>,
    log_from: i32,
    /// The analysis whose text `tree` is the parse of (a whole one, or a partial one whose
    /// whole parse agreed with it): what the next keystroke re-checks against.
    base: Option<Arc<Analysis>>,
    pub schedule: Schedule,
    /// The newest analysis that was published, for hover and for skipping work.
    pub latest: Option<Arc<Analysis>>,
    /// The project generation the newest analysis of this version ran against (a refresh that
    /// finds the same diagnostics keeps `latest` and only updates this).
    pub generation: Option<u64>,
}

/// One change of the text, as applied.
#[derive(Clone, Debug)]
pub(crate) struct LoggedChange {
    /// The version the change made.
    pub version: i32,
    pub edit: InputEdit,
    pub change: TextChange,
}

/// When this document's diagnostics task runs (see `handlers::diagnostics`).
#[derive(Debug)]
pub(crate) struct Schedule {
    /// A task is analysing or publishing this document; changes only need to wait for it.
    pub running: bool,
    /// The project changed: analyse again even if the text did not.
    pub refresh: bool,
    /// The whole parse of a partial analysis's text is being made (`handlers::diagnostics`).
    pub settling: bool,
}

/// What an analysis run needs from a document: cheap clones taken under the lock.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub uri: Uri,
    pub path: String,
    pub kind: SourceKind,
    pub version: i32,
    pub epoch: u64,
    pub rope: Rope,
    tree: Option<ParsedModule>,
    tree_stale: bool,
    /// The version the document's last parse is of.
    pub tree_version: Option<i32>,
    /// The analysis of the text of `tree_version`, if one is kept.
    pub base: Option<Arc<Analysis>>,
    /// The changes since the text of `tree_version`, in order.
    pub log: Vec<LoggedChange>,
}

impl Snapshot {
    /// The syntax tree of this text. When the text changed since the document's last parse,
    /// this reparses incrementally from the edited tree, reading the rope chunk by chunk: the
    /// costly step, done here (off the lock, on the blocking pool) rather than in `didChange`,
    /// so that a burst of changes costs one reparse.
    ///
    /// The tree is always the one a parse of the whole text gives, which is what `aiolint check`
    /// reports on. Tree-sitter's incremental reparse gives it for a text without syntax errors,
    /// but its error recovery depends on the subtrees it reuses: for a text with errors (and for
    /// one with a NUL byte) the reparse can recover differently, and report other syntax errors
    /// and findings (both found by the `document` fuzz target). Such a text is parsed again from
    /// scratch; that costs about what the whole check that follows does.
    pub(crate) fn parse(&self) -> Option<ParsedModule> {
        let from_scratch = || ParsedModule::parse(&String::from(&self.rope));
        if has_nul(&self.rope) {
            return from_scratch();
        }
        let parsed = self.parse_incrementally()?;
        if parsed.is_valid() {
            Some(parsed)
        } else {
            from_scratch()
        }
    }

    /// The document's last parse brought up to this text by an incremental reparse (itself when
    /// the text did not change), or a whole parse when there is none. For a text with syntax
    /// errors it may have recovered from them otherwise than [`Snapshot::parse`]: good as the
    /// base of the next keystroke's re-check (whose syntax errors are those of its function),
    /// not for a whole analysis, and it costs a fraction of parsing again from scratch.
    pub(crate) fn parse_incrementally(&self) -> Option<ParsedModule> {
        match &self.tree {
            Some(tree) if !self.tree_stale => Some(tree.clone()),
            Some(tree) => tree.reparse(&mut |offset| self.rope.chunk_from(offset)),
            None => ParsedModule::parse(&String::from(&self.rope)),
        }
    }

    /// The document's last parse with the changes since recorded in it (not reparsed), when
    /// the text changed since.
    pub(crate) fn edited_tree(&self) -> Option<&ParsedModule> {
        self.tree.as_ref().filter(|_| self.tree_stale)
    }

    /// The analyzer's view of the text. Copies the rope into one string.
    pub(crate) fn source_file(&self) -> SourceFile {
        let mut file = SourceFile::new(self.path.clone(), String::from(&self.rope));
        file.kind = self.kind;
        file
    }
}

impl Document {
    pub(crate) fn new(uri: Uri, version: i32, text: &str, epoch: u64) -> Self {
        let (path, kind) = path_and_kind(&uri);
        let rope = Rope::from_str(text);
        Self {
            uri,
            path,
            kind,
            version,
            epoch,
            rope,
            tree: None,
            tree_stale: true,
            tree_version: None,
            log: Vec::new(),
            log_from: version,
            base: None,
            schedule: Schedule {
                running: false,
                refresh: false,
                settling: false,
            },
            latest: None,
            generation: None,
        }
    }

    /// Applies the changes of one `didChange` in order (each range is relative to the text
    /// after the previous change), recording each in the tree for the next (incremental) parse.
    pub(crate) fn apply_changes(
        &mut self,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) {
        for change in changes {
            match change.range {
                None => self.replace_all(version, &change.text),
                Some(range) => {
                    let range = from_proto::text_range(&self.rope, encoding, range);
                    self.replace(version, range, &change.text);
                }
            }
        }
        self.version = version;
    }

    /// Keeps a parse made from a snapshot of `version`, so the next reparse starts from it: the
    /// changes since, if any, are recorded in it. Ignored unless it is newer than the kept one
    /// (and no later than the whole text was last replaced). Returns the tree it replaces.
    pub(crate) fn store_parse(
        &mut self,
        version: i32,
        parsed: ParsedModule,
    ) -> Option<ParsedModule> {
        let newer = self.tree_version.is_none_or(|kept| kept < version);
        if !newer || version < self.log_from || version > self.version {
            return None;
        }
        let mut tree = parsed;
        for logged in self.log.iter().filter(|logged| logged.version > version) {
            tree.edit(&logged.edit);
        }
        self.log.retain(|logged| logged.version > version);
        self.log_from = version;
        self.tree_stale = !self.log.is_empty();
        self.tree_version = Some(version);
        self.base = None;
        self.tree.replace(tree)
    }

    /// Keeps an analysis and its parse (see [`Document::store_parse`]) as the one the next
    /// keystroke re-checks against. An analysis of the kept parse's own text (a refresh)
    /// replaces the kept analysis. Returns what it replaces.
    pub(crate) fn store_base(
        &mut self,
        analysis: &Arc<Analysis>,
    ) -> Option<(Option<ParsedModule>, Option<Arc<Analysis>>)> {
        let parsed = analysis.parsed.as_ref()?;
        if analysis.epoch != self.epoch {
            return None;
        }
        if self.tree_version == Some(analysis.version) {
            return Some((None, self.base.replace(Arc::clone(analysis))));
        }
        let tree = self.store_parse(analysis.version, parsed.clone());
        if self.tree_version != Some(analysis.version) {
            return None;
        }
        Some((tree, self.base.replace(Arc::clone(analysis))))
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            uri: self.uri.clone(),
            path: self.path.clone(),
            kind: self.kind,
            version: self.version,
            epoch: self.epoch,
            rope: self.rope.clone(),
            tree: self.tree.clone(),
            tree_stale: self.tree_stale,
            tree_version: self.tree_version,
            base: self.base.clone(),
            log: if self.tree_version == Some(self.log_from) {
                self.log.clone()
            } else {
                Vec::new()
            },
        }
    }

    fn replace_all(&mut self, version: i32, text: &str) {
        self.rope = Rope::from_str(text);
        self.tree = None;
        self.tree_stale = true;
        self.tree_version = None;
        self.log.clear();
        self.log_from = version;
        self.base = None;
    }

    /// Replaces the bytes `range` (on character boundaries, as `from_proto` makes them) with
    /// `text`, and records the edit in the tree.
    ///
    /// Tree-sitter is given each lone `\r` as a `\n` (`analyzer::ParsedModule`), so a `\r` just
    /// before the change can turn from a line break of its own into the first half of a `\r\n`
    /// (or back): the edit given to the tree starts at that `\r`, which it replaces with itself.
    /// The change's end needs no such care: whether a `\r` is lone depends on the byte after it.
    fn replace(&mut self, version: i32, range: TextRange, text: &str) {
        let cr_before = range.start > 0 && self.rope.get_byte(range.start - 1) == Some(b'\r');
        let edit_start = if cr_before {
            range.start - 1
        } else {
            range.start
        };
        let start_point = self.rope.ts_point(edit_start);
        let old_end_point = self.rope.ts_point(range.end);
        let start_char = self.rope.byte_to_char(range.start);
        let end_char = self.rope.byte_to_char(range.end);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, text);
        let new_end = range.start + text.len();
        self.tree_stale = true;
        let new_end_point = self.rope.ts_point(new_end);
        let edit = InputEdit {
            start_byte: edit_start,
            old_end_byte: range.end,
            new_end_byte: new_end,
            start_point,
            old_end_point,
            new_end_point,
        };
        let rows = |point: analyzer::Point| isize::try_from(point.row).unwrap_or(isize::MAX);
        let change = TextChange {
            start: range.start,
            old_end: range.end,
            new_end,
            lines: rows(new_end_point) - rows(old_end_point),
        };
        // A document whose parse is never kept (an excluded file) does not log without bound.
        if self.log.len() >= MAX_LOG {
            self.log.clear();
            self.log_from = version;
        }
        self.log.push(LoggedChange {
            version,
            edit,
            change,
        });
        if let Some(tree) = &mut self.tree {
            tree.edit(&edit);
        }
    }
}

/// Whether the text holds a NUL byte.
fn has_nul(rope: &Rope) -> bool {
    rope.chunks().any(|chunk| chunk.as_bytes().contains(&0))
}

/// The analyzer path of a URI (its file path when it is a `file:` URI) and its kind of source.
fn path_and_kind(uri: &Uri) -> (String, SourceKind) {
    let path = uri.to_file_path().map_or_else(
        || uri.as_str().to_string(),
        |p| p.to_string_lossy().into_owned(),
    );
    let is_stub = std::path::Path::new(&path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pyi"));
    let kind = if is_stub {
        SourceKind::Stub
    } else {
        SourceKind::Module
    };
    (path, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf8, Utf16};
    use analyzer::{Settings, check_parsed};
    use tower_lsp_server::ls_types::{Position, Range};

    fn uri() -> Uri {
        "file:///tmp/doc.py".parse().expect("valid URI")
    }

    fn change(range: ((u32, u32), (u32, u32)), text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(
                Position::new(range.0.0, range.0.1),
                Position::new(range.1.0, range.1.1),
            )),
            range_length: None,
            text: text.to_string(),
        }
    }

    /// Parses the document as the server does (incrementally, from a snapshot), keeps the
    /// tree for the next reparse, and checks the text and that the tree agrees with a fresh
    /// parse: the same root node with the same points, the same syntax errors, the same
    /// findings.
    #[track_caller]
    fn check(doc: &mut Document, expected: &str) {
        assert_eq!(String::from(&doc.rope), expected);
        let incremental = doc.snapshot().parse().expect("parses");
        let fresh = ParsedModule::parse(expected).expect("parses");
        assert_eq!(format!("{incremental:?}"), format!("{fresh:?}"));
        assert_eq!(
            analyzer::fuzzing::tree_positions(&incremental),
            analyzer::fuzzing::tree_positions(&fresh)
        );
        let file = SourceFile::new("doc.py", expected);
        let settings = Settings::default();
        assert_eq!(
            check_parsed(&file, &incremental, &settings),
            check_parsed(&file, &fresh, &settings)
        );
        doc.store_parse(doc.version, incremental);
    }

    /// A parse that finished after newer changes came is kept with those changes recorded in
    /// it: the next reparse from it is the text's parse. An older one than the kept parse, or
    /// one from before the whole text was replaced, is ignored.
    #[test]
    fn a_parse_of_an_older_version_is_brought_up_to_date() {
        let mut doc = Document::new(uri(), 1, "def f():\n    pass\n\n\ndef g():\n    pass\n", 0);
        check(&mut doc, "def f():\n    pass\n\n\ndef g():\n    pass\n");
        doc.apply_changes(2, &[change(((1, 4), (1, 4)), "x = 1\n    ")], Utf8);
        let second = doc.snapshot();
        doc.apply_changes(3, &[change(((6, 4), (6, 8)), "return 2")], Utf8);
        doc.apply_changes(4, &[change(((0, 4), (0, 5)), "first")], Utf8);
        let older = second.parse().expect("parses");
        assert!(doc.store_parse(2, older).is_some());
        assert_eq!((doc.tree_version, doc.log.len()), (Some(2), 2));
        let text = "def first():\n    x = 1\n    pass\n\n\ndef g():\n    return 2\n";
        check(&mut doc, text);
        assert_eq!(doc.tree_version, Some(4));
        assert!(
            doc.store_parse(3, second.parse().expect("parses"))
                .is_none()
        );

        doc.apply_changes(5, &[change(((0, 0), (0, 0)), "#\n")], Utf8);
        let before_replace = doc.snapshot().parse().expect("parses");
        doc.apply_changes(
            6,
            &[TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "y = 1\n".to_string(),
            }],
            Utf8,
        );
        assert!(doc.store_parse(5, before_replace).is_none());
        check(&mut doc, "y = 1\n");
    }

    #[test]
    fn changes_apply_in_order_utf16() {
        let mut doc = Document::new(uri(), 1, "x = '😊'\ny = 2\n", 0);
        // Each range is relative to the text left by the previous change.
        let changes = [
            change(((0, 7), (0, 7)), "a"),       // after the emoji (2 UTF-16 units)
            change(((1, 0), (1, 1)), "日本"),    // replace `y`
            change(((1, 2), (1, 2)), "_z"),      // after the two CJK characters
            change(((2, 0), (2, 0)), "w = 3\n"), // append a line
        ];
        doc.apply_changes(2, &changes, Utf16);
        check(&mut doc, "x = '😊a'\n日本_z = 2\nw = 3\n");
        assert_eq!(doc.version, 2);
    }

    #[test]
    fn changes_apply_in_order_utf8() {
        let mut doc = Document::new(uri(), 1, "x = 'é'\n", 0);
        let changes = [
            change(((0, 7), (0, 7)), "!"), // after `é` (2 bytes)
            change(((0, 0), (0, 1)), "long_name"),
        ];
        doc.apply_changes(2, &changes, Utf8);
        check(&mut doc, "long_name = 'é!'\n");
    }

    #[test]
    fn crlf_and_lone_cr_documents_keep_the_tree_in_step() {
        let mut doc = Document::new(uri(), 1, "a = 1\r\nb = 2\r\n", 0);
        doc.apply_changes(2, &[change(((1, 0), (1, 1)), "bee")], Utf16);
        check(&mut doc, "a = 1\r\nbee = 2\r\n");
        // A lone `\r` before a `\r\n`: a line break for LSP and tree-sitter alike.
        doc.apply_changes(3, &[change(((0, 5), (0, 5)), "\r")], Utf16);
        check(&mut doc, "a = 1\r\r\nbee = 2\r\n");
        doc.apply_changes(4, &[change(((2, 3), (2, 3)), "s")], Utf16);
        check(&mut doc, "a = 1\r\r\nbees = 2\r\n");
        // Inserting a `\n` after a lone `\r` makes a `\r\n` of it: one line break fewer.
        doc.apply_changes(5, &[change(((1, 0), (1, 0)), "\n")], Utf16);
        check(&mut doc, "a = 1\r\n\r\nbees = 2\r\n");
        // Deleting the `\n` of a `\r\n` leaves a lone `\r`: still a line break.
        doc.apply_changes(6, &[change(((0, 5), (1, 0)), "\r")], Utf16);
        check(&mut doc, "a = 1\r\r\nbees = 2\r\n");
        doc.apply_changes(7, &[change(((1, 0), (2, 0)), "")], Utf16);
        check(&mut doc, "a = 1\rbees = 2\r\n");
        // A whole file of lone `\r`s, edited at line ends.
        let mut doc = Document::new(
            uri(),
            1,
            "import time\r\rasync def f():\r    time.sleep(1)\r",
            0,
        );
        doc.apply_changes(2, &[change(((1, 0), (1, 0)), "\n")], Utf16);
        check(
            &mut doc,
            "import time\r\n\rasync def f():\r    time.sleep(1)\r",
        );
        doc.apply_changes(3, &[change(((2, 14), (3, 0)), "\r\n    x = 1\r")], Utf16);
        check(
            &mut doc,
            "import time\r\n\rasync def f():\r\n    x = 1\r    time.sleep(1)\r",
        );
        doc.apply_changes(4, &[change(((5, 0), (5, 0)), "y = 2\r")], Utf16);
        check(
            &mut doc,
            "import time\r\n\rasync def f():\r\n    x = 1\r    time.sleep(1)\ry = 2\r",
        );
        // A `\r` typed between a line's `\r` and the next line: two lone `\r`s, a new line.
        doc.apply_changes(5, &[change(((4, 17), (4, 17)), "\r")], Utf16);
        check(
            &mut doc,
            "import time\r\n\rasync def f():\r\n    x = 1\r    time.sleep(1)\r\ry = 2\r",
        );
    }

    #[test]
    fn full_replacement_and_out_of_range_edits() {
        let mut doc = Document::new(uri(), 1, "a = 1\n", 0);
        let full = TextDocumentContentChangeEvent {
            range: None,
            range_length: None,
            text: "b = 2\n".into(),
        };
        doc.apply_changes(2, &[full, change(((50, 3), (99, 99)), "# end")], Utf16);
        check(&mut doc, "b = 2\n# end");
        // A reversed range is put in order rather than rejected.
        doc.apply_changes(3, &[change(((0, 5), (0, 0)), "c = 3")], Utf16);
        check(&mut doc, "c = 3\n# end");
    }

    /// Found by the `document` fuzz target: with a NUL byte in the text, reparsing the edited
    /// tree incrementally gave another tree than parsing the text from scratch (which is what
    /// `aiolint check` does), so the server's findings differed from the command line's.
    #[test]
    fn a_text_with_a_nul_byte_is_parsed_as_from_scratch() {
        use crate::fuzzing::{Change, edit_session};
        let at = |line, character| Some(((line, character), (line, character)));
        let session = [
            (
                vec![Change {
                    range: at(1, 21),
                    text: "\n".into(),
                }],
                true,
            ),
            (
                vec![
                    Change {
                        range: at(3, 32),
                        text: "yield".into(),
                    },
                    Change {
                        range: at(7, 32),
                        text: "(\0etc)\n)".into(),
                    },
                ],
                true,
            ),
        ];
        let initial = "mcio\nimpord\ndef fl(\0etc)\n):\n    try:\n    l\"  t  except a t";
        assert_eq!(edit_session(initial, &session, true), Ok(()));
    }

    /// Found by the `document` fuzz target: tree-sitter recovered from the syntax errors of the
    /// edited text differently when reparsing incrementally than when parsing it whole (one
    /// error over `except asslice.t(message)def g():` instead of two), and the server reported
    /// other E999s than `aiolint check` on the same text.
    #[test]
    fn a_text_with_syntax_errors_gets_the_errors_of_a_whole_parse() {
        use crate::fuzzing::{Change, edit_session};
        let change = |range: ((u32, u32), (u32, u32)), text: &str| Change {
            range: Some(range),
            text: text.into(),
        };
        let initial = "impo asyncio\nimport ver\n\n\ndef fatal(message) -> syclient.fetch()\n   d):\n    try:\n    celled\")\n    t   except asslice.t(message)\nellech t(message)\nge)\n";
        let session = [
            (
                vec![
                    change(((3, 30), (3, 30)), "# noqa\n"),
                    change(((10, 14), (9, 112)), "def g():\n    time.sleep(1)\n"),
                ],
                true,
            ),
            (vec![change(((4, 6), (4, 8)), " ver\n\n\nd")], true),
        ];
        assert_eq!(edit_session(initial, &session, true), Ok(()));
    }

    /// Many pseudo-random sessions of edits around line breaks of every kind, lone `\r`s
    /// first: after each one, the rope holds the text and the incremental parse is the parse of
    /// the text from scratch, node for node and point for point (`lsp::fuzzing`'s properties,
    /// as the `document` fuzz target checks them).
    #[test]
    fn edits_around_lone_crs_keep_the_tree_in_step() {
        use crate::fuzzing::{Change, edit_session_with};
        const SNIPPETS: &[&str] = &[
            "\r",
            "\r",
            "\n",
            "\r\n",
            "",
            "x",
            "    ",
            "(",
            ")",
            "\"\"\"",
            "#",
            "\\",
            ":",
            "async def f():\r    time.sleep(1)\r",
            "import time\r",
            "é",
            "😊",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % bound as u64).unwrap_or_default()
        };
        let small = |n: usize| u32::try_from(n).unwrap_or_default();
        let initial = "import time\r\rasync def f():\r    x = 1\r\n    time.sleep(1)\r";
        for session in 0..150 {
            let notifications: Vec<(Vec<Change>, bool)> = (0..8)
                .map(|_| {
                    let changes = (0..=next(3))
                        .map(|_| {
                            let start = (small(next(8)), small(next(20)));
                            let end = if next(2) == 0 {
                                start
                            } else {
                                (start.0 + small(next(2)), small(next(20)))
                            };
                            Change {
                                range: Some((start, end)),
                                text: SNIPPETS[next(SNIPPETS.len())].to_string(),
                            }
                        })
                        .collect();
                    (changes, next(3) != 0)
                })
                .collect();
            assert_eq!(
                edit_session_with(initial, &notifications, session % 2 == 0, false),
                Ok(()),
                "session {session}: {notifications:?}"
            );
        }
    }

    #[test]
    fn typing_burst_matches_a_fresh_parse() {
        let start = "import time\n\nasync def f():\n    pass\n";
        let mut doc = Document::new(uri(), 1, start, 0);
        let mut expected = String::from(start);
        let mut line = String::new();
        for (version, ch) in (2..).zip("    s = '😊'; time.sleep(1)".chars()) {
            let column = u32::try_from(line.encode_utf16().count()).unwrap_or_default();
            doc.apply_changes(
                version,
                &[change(((4, column), (4, column)), &ch.to_string())],
                Utf16,
            );
            line.push(ch);
            expected.push(ch);
            // Parse after every third keystroke: the others pile up edits in the tree.
            if version % 3 == 0 {
                check(&mut doc, &expected);
            }
        }
        check(&mut doc, &expected);
        assert!(doc.snapshot().parse().is_some_and(|p| p.is_valid()));
    }
}
