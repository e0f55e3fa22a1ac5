//! `textDocument/hover`: over a diagnostic, the rule's documentation.

use std::sync::Arc;

use analyzer::Diagnostic;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::analysis::{Analysis, Record, analyze};
use crate::convert::{from_proto, to_proto};
use crate::state::State;

pub(crate) async fn hover(state: Arc<State>, params: HoverParams) -> Result<Option<Hover>> {
    let position = params.text_document_position_params;
    let Some((snapshot, latest)) = state.docs.with(&position.text_document.uri, |d| {
        (d.snapshot(), d.latest.clone())
    }) else {
        return Ok(None);
    };
    let encoding = state.encoding();
    let offset = from_proto::offset(&snapshot.rope, encoding, position.position);
    let analysis = match latest {
        Some(analysis) if analysis.is_of(&snapshot) => analysis,
        _ => {
            let snapshot = snapshot.clone();
            let worker = Arc::clone(&state);
            let (analysis, _) = tokio::task::spawn_blocking(move || {
                analyze(&worker, &snapshot, None, Record::Nothing)
            })
            .await
            .map_err(|_| Error::internal_error())?;
            Arc::new(analysis)
        }
    };
    Ok(render(&analysis, offset).map(|(range, value)| Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(to_proto::range(&snapshot.rope, encoding, range)),
    }))
}

/// The documentation of the rules whose diagnostics cover `offset` (ends included, so the
/// position just after a finding still shows it), and the range of the first.
fn render(analysis: &Analysis, offset: usize) -> Option<(analyzer::TextRange, String)> {
    let mut hits: Vec<&Diagnostic> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.range.start <= offset && offset <= d.range.end)
        .collect();
    let first = hits.first()?.range;
    let mut seen = Vec::new();
    hits.retain(|d| {
        let new = !seen.contains(&d.rule);
        seen.push(d.rule);
        new
    });
    let sections: Vec<String> = hits
        .iter()
        .map(|d| {
            format!(
                "**{}** `{}`: {}\n\n{}",
                d.code(),
                d.rule.name(),
                d.message,
                d.rule.meta().documentation().trim()
            )
        })
        .collect();
    Some((first, sections.join("\n\n---\n\n")))
}
