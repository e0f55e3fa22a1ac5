//! `textDocument/codeAction`: quick fixes decoded from `Diagnostic.data`, "disable for this
//! line" (`# noqa`), and `source.fixAll.aiolint`.
//!
//! Stateless: the fixes come back from the client inside the diagnostics, and each is used only
//! if the version it was computed for is still the document's version.

use std::collections::HashMap;
use std::sync::Arc;

use analyzer::{
    Applicability, Fix, ParsedModule, SourceFile, TextRange, apply_fixes, check_file,
    check_in_project, parses_cleanly,
};
use ropey::Rope;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    self as lsp, CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionResponse, DocumentChanges, NumberOrString, OneOf,
    OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use crate::analysis::{Analysis, document_module};
use crate::capabilities::{CONFIRM_COMMAND, FIX_ALL};
use crate::convert::{FixData, PositionEncoding, from_proto, to_proto};
use crate::document::Snapshot;
use crate::rope_ext::RopeExt;
use crate::state::{Session, State};

/// Rounds of "check, apply the safe fixes" before `fixAll` gives up converging.
const MAX_FIX_ROUNDS: usize = 10;

pub(crate) async fn code_action(
    state: Arc<State>,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    let Some((snapshot, latest)) = state.docs.with(&uri, |d| (d.snapshot(), d.latest.clone()))
    else {
        return Ok(None);
    };
    let session = state.session();
    let only = params.context.only.as_deref();
    let mut actions = Vec::new();
    if wanted(only, &CodeActionKind::QUICKFIX) {
        for diagnostic in &params.context.diagnostics {
            for (title, edits, is_preferred) in quick_fixes(&snapshot, session.encoding, diagnostic)
            {
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![diagnostic.clone()]),
                    edit: Some(workspace_edit(&session, &uri, snapshot.version, edits)),
                    is_preferred,
                    ..CodeAction::default()
                }));
            }
        }
    }
    if only.is_none() {
        // Not a fix, so only offered when the client asks for every kind of action.
        actions.extend(
            params
                .context
                .diagnostics
                .iter()
                .filter_map(|d| confirm_action(&uri, d)),
        );
    }
    if wanted(only, &FIX_ALL) && may_have_safe_fixes(latest.as_deref(), &snapshot) {
        let version = snapshot.version;
        let worker = Arc::clone(&state);
        let edit = tokio::task::spawn_blocking(move || fix_all_edit(&worker, &snapshot))
            .await
            .ok()
            .flatten();
        actions.extend(edit.map(|edit| {
            CodeActionOrCommand::CodeAction(CodeAction {
                title: "aiolint: Fix all safe fixes".to_string(),
                kind: Some(FIX_ALL),
                edit: Some(workspace_edit(&session, &uri, version, vec![edit])),
                ..CodeAction::default()
            })
        }));
    }
    Ok(Some(actions))
}

/// "Confirm by running it" for an aiolint diagnostic whose rule the executor can confirm: a
/// command action for `aiolint.confirm` (see `execute_command.rs` for the arguments).
fn confirm_action(uri: &Uri, diagnostic: &lsp::Diagnostic) -> Option<CodeActionOrCommand> {
    let Some(NumberOrString::String(code)) = &diagnostic.code else {
        return None;
    };
    if diagnostic.source.as_deref() != Some(to_proto::SOURCE) {
        return None;
    }
    analyzer::ProbeKind::for_rule(analyzer::Rule::find(code)?)?;
    let title = format!("aiolint: Confirm {code} by running it");
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        diagnostics: Some(vec![diagnostic.clone()]),
        command: Some(lsp::Command {
            title,
            command: CONFIRM_COMMAND.to_string(),
            arguments: Some(vec![
                serde_json::json!(uri.as_str()),
                serde_json::json!({"range": diagnostic.range, "code": code}),
            ]),
        }),
        ..CodeAction::default()
    }))
}

/// Whether an action of `kind` passes the request's `only` filter (kinds are hierarchical:
/// `source` admits `source.fixAll.aiolint`).
fn wanted(only: Option<&[CodeActionKind]>, kind: &CodeActionKind) -> bool {
    only.is_none_or(|only| {
        only.iter().any(|k| {
            kind.as_str() == k.as_str()
                || kind
                    .as_str()
                    .strip_prefix(k.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    })
}

/// The quick fixes for one diagnostic of the request: its fix (if any) and its `# noqa` (first
/// when the flagged code may be deliberate), as `(title, edits, is_preferred)`. Nothing for
/// another tool's diagnostic or a stale one.
fn quick_fixes(
    snapshot: &Snapshot,
    encoding: PositionEncoding,
    diagnostic: &lsp::Diagnostic,
) -> Vec<(String, Vec<TextEdit>, Option<bool>)> {
    if diagnostic.source.as_deref() != Some(to_proto::SOURCE) {
        return Vec::new();
    }
    let Some(data) = from_proto::diagnostic_data(diagnostic) else {
        return Vec::new();
    };
    if data.version != Some(snapshot.version) {
        return Vec::new();
    }
    let mut fixes = Vec::new();
    if let Some(fix) = data.fix {
        let preferred = to_proto::is_preferred(&fix);
        let FixData { title, edits, .. } = fix;
        fixes.push((title, edits, preferred));
    }
    if let Some(NumberOrString::String(code)) = &diagnostic.code {
        let offset = from_proto::offset(&snapshot.rope, encoding, diagnostic.range.start);
        if let Some(edit) = noqa_edit(&snapshot.rope, encoding, offset, code) {
            let noqa = (format!("Disable {code} for this line"), vec![edit], None);
            if data.deliberate {
                fixes.insert(0, noqa);
            } else {
                fixes.push(noqa);
            }
        }
    }
    fixes
}

/// The edit that adds `code` to the `# noqa` of the line holding `offset`: appended as
/// `  # noqa: CODE` at the end of the line, or merged into an existing `# noqa: ...` list.
fn noqa_edit(
    rope: &Rope,
    encoding: PositionEncoding,
    offset: usize,
    code: &str,
) -> Option<TextEdit> {
    let line = rope.byte_to_line(offset.min(rope.len_bytes()));
    let start = rope.line_to_byte(line);
    let end = rope.line_content_end(line);
    let text = String::from(rope.byte_slice(start..end));
    let (range, content) = noqa_change(&text, code)?;
    Some(to_proto::text_edit(
        rope,
        encoding,
        TextRange::new(start + range.start, start + range.end),
        content,
    ))
}

/// What to write in `line` for `# noqa: code`: `None` when a `# noqa` there already covers it.
fn noqa_change(line: &str, code: &str) -> Option<(std::ops::Range<usize>, String)> {
    match find_noqa(line) {
        Some(Noqa::All) => None,
        Some(Noqa::Codes { codes, end }) => {
            if codes.iter().any(|c| c.eq_ignore_ascii_case(code)) {
                None
            } else {
                Some((end..end, format!(", {code}")))
            }
        }
        None => {
            let content_end = line.trim_end().len();
            Some((content_end..line.len(), format!("  # noqa: {code}")))
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Noqa {
    All,
    /// The listed codes, and the byte offset just after the last one.
    Codes {
        codes: Vec<String>,
        end: usize,
    },
}

/// Finds `# noqa` or `# noqa: A1, B2` in a line, with the analyzer's reading of the syntax.
fn find_noqa(line: &str) -> Option<Noqa> {
    let lower = line.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower.get(search..).and_then(|rest| rest.find("noqa")) {
        let start = search + found;
        search = start + 4;
        if !lower[..start].trim_end().ends_with('#') {
            continue;
        }
        let after = start + 4;
        let rest = &line[after..];
        if !rest.starts_with(':') {
            return rest
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
                .then_some(Noqa::All);
        }
        let mut codes = Vec::new();
        let mut end = after + 1;
        let mut position = after + 1;
        for piece in line[after + 1..].split([',', ' ', '\t']) {
            if !piece.is_empty() {
                if !is_code(piece) {
                    break;
                }
                codes.push(piece.to_string());
                end = position + piece.len();
            }
            position += piece.len() + 1;
        }
        return Some(if codes.is_empty() {
            Noqa::All
        } else {
            Noqa::Codes { codes, end }
        });
    }
    None
}

fn is_code(text: &str) -> bool {
    let letters = text.chars().take_while(char::is_ascii_uppercase).count();
    letters > 0 && letters < text.len() && text[letters..].chars().all(|c| c.is_ascii_digit())
}

/// Whether `fixAll` is worth computing: yes unless the published analysis of this very version
/// has no safe fix.
fn may_have_safe_fixes(latest: Option<&Analysis>, snapshot: &Snapshot) -> bool {
    latest.is_none_or(|analysis| {
        !analysis.is_of(snapshot)
            || analysis.diagnostics.iter().any(|d| {
                d.fix
                    .as_ref()
                    .is_some_and(|f| f.applicability == Applicability::Safe)
            })
    })
}

/// Applies the safe fixes of the document until nothing changes (at most [`MAX_FIX_ROUNDS`]),
/// and returns one edit from the old text to the new, or `None` when there is nothing to do or
/// the result would not parse.
/// The document is checked against the project index, so safe fixes of cross-module findings
/// (an `await` for another module's coroutine) are applied too.
fn fix_all_edit(state: &State, snapshot: &Snapshot) -> Option<TextEdit> {
    let settings = &state.settings_for(std::path::Path::new(&snapshot.path));
    let encoding = state.encoding();
    let module = document_module(state, snapshot);
    let (_, index) = state.project.index();
    let original = String::from(&snapshot.rope);
    let mut text = original.clone();
    for _ in 0..MAX_FIX_ROUNDS {
        let mut file = SourceFile::new(snapshot.path.clone(), text.as_str());
        file.kind = snapshot.kind;
        let diagnostics = match ParsedModule::parse(&text) {
            Some(parsed) => check_in_project(&file, &parsed, &module, &index, settings),
            None => check_file(&file, settings),
        };
        let safe: Vec<&Fix> = diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter(|f| f.applicability == Applicability::Safe)
            .collect();
        let (fixed, applied) = apply_fixes(&text, safe);
        if applied == 0 || fixed == text {
            break;
        }
        text = fixed;
    }
    if text == original || !parses_cleanly(&text) {
        return None;
    }
    let (range, new_text) = minimal_change(&original, &text);
    Some(to_proto::text_edit(
        &snapshot.rope,
        encoding,
        range,
        new_text.to_string(),
    ))
}

/// The smallest single replacement that turns `old` into `new`: the bytes between their common
/// prefix and suffix, on character boundaries and never inside a `\r\n`.
fn minimal_change<'a>(old: &str, new: &'a str) -> (TextRange, &'a str) {
    let (old_bytes, new_bytes) = (old.as_bytes(), new.as_bytes());
    let mut prefix = old_bytes
        .iter()
        .zip(new_bytes)
        .take_while(|(a, b)| a == b)
        .count();
    while prefix > 0
        && (!old.is_char_boundary(prefix)
            || !new.is_char_boundary(prefix)
            || old_bytes[prefix - 1] == b'\r')
    {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old_bytes
        .iter()
        .rev()
        .zip(new_bytes.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while suffix > 0
        && (!old.is_char_boundary(old.len() - suffix)
            || !new.is_char_boundary(new.len() - suffix)
            || old_bytes[old.len() - suffix] == b'\n')
    {
        suffix -= 1;
    }
    (
        TextRange::new(prefix, old.len() - suffix),
        &new[prefix..new.len() - suffix],
    )
}

/// The edits as a `WorkspaceEdit`: versioned `documentChanges` when the client takes them (it
/// then refuses to apply them to a changed document), plain `changes` otherwise.
fn workspace_edit(
    session: &Session,
    uri: &Uri,
    version: i32,
    edits: Vec<TextEdit>,
) -> WorkspaceEdit {
    if session.document_changes {
        WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: uri.clone(),
                    version: Some(version),
                },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            }])),
            ..WorkspaceEdit::default()
        }
    } else {
        WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), edits)])),
            ..WorkspaceEdit::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noqa_is_appended_or_merged() {
        assert_eq!(
            noqa_change("    time.sleep(1)   ", "AIO200"),
            Some((17..20, "  # noqa: AIO200".to_string()))
        );
        let line = "    time.sleep(1)  # noqa: AIO100  trailing words";
        let end = line.find("AIO100").unwrap_or_default() + 6;
        assert_eq!(
            noqa_change(line, "AIO200"),
            Some((end..end, ", AIO200".to_string()))
        );
        let line = "x()  # type: ignore  # NOQA:AIO100,AIO101";
        assert_eq!(
            noqa_change(line, "AIO200"),
            Some((line.len()..line.len(), ", AIO200".to_string()))
        );
        assert_eq!(noqa_change("x()  # noqa: AIO200", "AIO200"), None);
        assert_eq!(noqa_change("x()  # noqa", "AIO200"), None);
        assert_eq!(noqa_change("x()  # noqa:", "AIO200"), None);
        // Not a noqa comment: `noqanope`, or `noqa` without a `#` before it.
        assert!(noqa_change("x()  # noqanope", "AIO200").is_some());
        assert!(noqa_change("noqa = 1", "AIO200").is_some());
    }

    #[test]
    fn minimal_change_stays_on_boundaries() {
        let (range, text) = minimal_change("a = time.sleep(1)\n", "a = await asyncio.sleep(1)\n");
        assert_eq!((range, text), (TextRange::new(4, 8), "await asyncio"));
        // `é` and `è` share their first byte: the change starts at the character.
        let (range, text) = minimal_change("xé", "xè");
        assert_eq!((range, text), (TextRange::new(1, 3), "è"));
        // Never split a `\r\n`.
        assert_eq!(
            minimal_change("a\r\nb", "a\r\r\nb"),
            (TextRange::new(1, 1), "\r")
        );
        assert_eq!(
            minimal_change("a\r\nb", "a\r\nxb"),
            (TextRange::new(3, 3), "x")
        );
        let (range, text) = minimal_change("same", "same");
        assert!(range.is_empty() && text.is_empty());
    }

    #[test]
    fn only_filters_by_kind_hierarchy() {
        let source = [CodeActionKind::SOURCE];
        assert!(wanted(Some(&source), &FIX_ALL));
        assert!(!wanted(Some(&source), &CodeActionKind::QUICKFIX));
        let fix_all = [CodeActionKind::SOURCE_FIX_ALL];
        assert!(wanted(Some(&fix_all), &FIX_ALL));
        let other = [CodeActionKind::new("source.fixAllOther")];
        assert!(!wanted(Some(&other), &FIX_ALL));
        assert!(wanted(None, &FIX_ALL));
    }
}
