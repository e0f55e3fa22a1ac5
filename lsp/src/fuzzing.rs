//! The document model's properties, for the fuzz targets (`fuzz/`) and the regression tests of
//! what they found; built for tests and with the `fuzzing` feature. Not a stable API.
//!
//! A session of edits is applied to a [`Document`] as `didChange` applies them, and to a plain
//! string; after each `didChange` the rope must hold the string, an incremental reparse must be
//! the parse of the string from scratch, and a re-check of the change against the last analysed
//! text must give a whole check's findings in the function it re-checked wherever the whole
//! parse kept the change inside that function ([`analyzer::fuzzing::check_recheck`]).
//!
//! With `AIOLINT_FUZZ_PRINT` set, each re-check prints whether it was taken and whether the
//! whole parse kept it inside the function, to tell how often the property is exercised.

use analyzer::{
    Checked, Diagnostic, ModuleName, ParsedModule, ProjectIndex, Settings, SourceFile, TextChange,
    check_in_project,
};
use ropey::Rope;
use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

use crate::convert::{PositionEncoding, from_proto};
use crate::document::Document;

/// One change of a `didChange`: the range (line, character) as a client sends it, possibly out
/// of range or reversed, and the text put there; `None` replaces the whole text.
#[derive(Clone, Debug)]
pub struct Change {
    pub range: Option<((u32, u32), (u32, u32))>,
    pub text: String,
}

/// The text last analysed whole: what the next re-check is taken against.
struct Base {
    text: String,
    parsed: ParsedModule,
    diagnostics: Vec<Diagnostic>,
}

/// Opens a document with `initial` and applies each of `notifications` (one `didChange` each),
/// with positions in UTF-16 or UTF-8. After each notification whose flag is set, the document is
/// parsed and analysed as the server does; the others pile up in the tree. `Err` names the first
/// property that failed.
pub fn edit_session(
    initial: &str,
    notifications: &[(Vec<Change>, bool)],
    utf16: bool,
) -> Result<(), String> {
    edit_session_with(initial, notifications, utf16, true)
}

/// [`edit_session`], with the re-check's property checked only when `recheck` is set (the rope
/// and tree properties always are).
pub fn edit_session_with(
    initial: &str,
    notifications: &[(Vec<Change>, bool)],
    utf16: bool,
    recheck: bool,
) -> Result<(), String> {
    let encoding = if utf16 {
        PositionEncoding::Utf16
    } else {
        PositionEncoding::Utf8
    };
    let uri: Uri = "file:///fuzz/doc.py"
        .parse()
        .map_err(|e| format!("uri: {e:?}"))?;
    let mut doc = Document::new(uri, 1, initial, 0);
    let mut model = initial.to_string();
    let settings = Settings::default();
    let module = ModuleName {
        names: vec!["doc".to_string()],
        is_package: false,
    };
    let index = ProjectIndex::empty();
    let mut base: Option<Base> = None;
    for (version, (changes, analyse)) in (2..).zip(notifications) {
        let events: Vec<TextDocumentContentChangeEvent> = changes
            .iter()
            .map(|change| TextDocumentContentChangeEvent {
                range: change.range.map(|(start, end)| {
                    Range::new(Position::new(start.0, start.1), Position::new(end.0, end.1))
                }),
                range_length: None,
                text: change.text.clone(),
            })
            .collect();
        for event in &events {
            apply_to_model(&mut model, event, encoding)?;
        }
        doc.apply_changes(version, &events, encoding);
        if doc.rope != model.as_str() {
            return Err(format!(
                "version {version}: the rope {:?} is not the text {model:?}",
                String::from(&doc.rope)
            ));
        }
        if !analyse {
            continue;
        }
        let snapshot = doc.snapshot();
        let incremental = snapshot.parse().ok_or("the incremental parse gave up")?;
        let fresh = ParsedModule::parse(&model).ok_or("the parse gave up")?;
        // Every node with its points, not only the root that `Debug` shows.
        let (incremental_tree, fresh_tree) = (
            analyzer::fuzzing::tree_positions(&incremental).join("\n"),
            analyzer::fuzzing::tree_positions(&fresh).join("\n"),
        );
        if incremental_tree != fresh_tree {
            return Err(format!(
                "version {version}: the incremental parse is not the parse of {model:?}\n{}",
                difference(&incremental_tree, &fresh_tree)
            ));
        }
        let file = SourceFile::new(snapshot.path.clone(), model.as_str());
        // The changes since the base as one (re-checks of edits in several functions at once
        // are compared with whole checks by the analyzer's unit tests).
        let change = snapshot
            .log
            .iter()
            .map(|logged| logged.change)
            .reduce(TextChange::then);
        let recheckable = base
            .as_ref()
            .filter(|_| recheck)
            .zip(change)
            .zip(snapshot.edited_tree());
        let whole = match recheckable {
            Some(((base, change), edited)) => {
                let old = Checked {
                    text: &base.text,
                    parsed: &base.parsed,
                    diagnostics: &base.diagnostics,
                };
                let agreement = analyzer::fuzzing::check_recheck(
                    old, change, edited, &fresh, &file, &module, index, &settings,
                )
                .map_err(|e| {
                    format!("version {version}: {e}\nfrom {:?}\nto {model:?}", base.text)
                })?;
                if std::env::var_os("AIOLINT_FUZZ_PRINT").is_some() {
                    eprintln!(
                        "re-check taken {} confined {}",
                        agreement.rechecked.is_some(),
                        agreement.confined.is_some()
                    );
                }
                agreement.whole
            }
            None => check_in_project(&file, &fresh, &module, index, &settings),
        };
        base = Some(Base {
            text: model.clone(),
            parsed: incremental.clone(),
            diagnostics: whole,
        });
        doc.store_parse(version, incremental);
    }
    Ok(())
}

/// Applies one change to the plain-string model: the range converted against the text as it is
/// before the change (as the protocol orders them), then replaced by `String::replace_range`.
fn apply_to_model(
    model: &mut String,
    event: &TextDocumentContentChangeEvent,
    encoding: PositionEncoding,
) -> Result<(), String> {
    let Some(range) = event.range else {
        model.clone_from(&event.text);
        return Ok(());
    };
    let rope = Rope::from_str(model);
    let range = from_proto::text_range(&rope, encoding, range);
    if range.start > range.end
        || range.end > model.len()
        || !model.is_char_boundary(range.start)
        || !model.is_char_boundary(range.end)
    {
        return Err(format!(
            "{range:?} is not a range of characters of {model:?}"
        ));
    }
    model.replace_range(range.start..range.end, &event.text);
    Ok(())
}

/// Where two renderings of trees part, with some context, for a failure's message.
fn difference(incremental: &str, fresh: &str) -> String {
    let at = incremental
        .bytes()
        .zip(fresh.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(incremental.len().min(fresh.len()));
    let around = |tree: &str| {
        let start = tree.floor_char_boundary(at.saturating_sub(300));
        let end = tree.floor_char_boundary((at + 300).min(tree.len()));
        tree[start..end].to_string()
    };
    format!(
        "incremental: ...{}...\nfresh:       ...{}...",
        around(incremental),
        around(fresh)
    )
}
