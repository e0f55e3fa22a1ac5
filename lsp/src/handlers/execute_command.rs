//! `workspace/executeCommand`: `aiolint.confirm` runs the reference executor on one
//! diagnostic.
//!
//! # `aiolint.confirm`
//!
//! Arguments: `[uri, {"range": Range, "code": "AIO200"}]`: the document (it must be open) and
//! the diagnostic as the server published it (its range in the session's position encoding,
//! and its code; any other fields, such as a whole `Diagnostic`, are ignored). The diagnostic
//! must still be one of the document's current findings.
//!
//! The server plans a probe for the finding, runs it with `python3` from `PATH` (5 s deadline)
//! on the blocking pool, republishes the document's diagnostics with the evidence appended to
//! that diagnostic's message (`… — confirmed: event loop blocked for 503 ms at line 12`), and
//! answers with the confirmation: `{"verdict": "confirmed" | "not-confirmed" | "skipped",
//! "detail": "...", "stall_ms": 503 | null}`, the `confirmation` object of
//! `aiolint confirm --output-format json`.

use std::borrow::Cow;
use std::sync::Arc;

use analyzer::plan_probes;
use runtime_check::{Confirmation, Options};
use serde::Deserialize;
use serde_json::json;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{self as lsp, ExecuteCommandParams, LSPAny, Uri};

use crate::analysis::{Analysis, Record, analyze};
use crate::capabilities::CONFIRM_COMMAND;
use crate::confirm::{PlannedFinding, confirm_planned, import_root};
use crate::convert::from_proto;
use crate::state::State;

/// LSP's `RequestFailed`: the request was valid but could not be carried out.
const REQUEST_FAILED: i64 = -32803;

/// The second argument of `aiolint.confirm`: which diagnostic.
#[derive(Debug, Deserialize)]
struct DiagnosticRef {
    range: lsp::Range,
    code: String,
}

pub(crate) async fn execute_command(
    state: Arc<State>,
    params: ExecuteCommandParams,
) -> Result<Option<LSPAny>> {
    if params.command != CONFIRM_COMMAND {
        return Err(Error::invalid_params(format!(
            "unknown command `{}`; this server provides `{CONFIRM_COMMAND}`",
            params.command
        )));
    }
    let (uri, target) = confirm_arguments(&params.arguments)?;
    let Some(snapshot) = state.docs.with(&uri, crate::document::Document::snapshot) else {
        return Err(failed(format!(
            "`{}` is not an open document",
            uri.as_str()
        )));
    };
    let encoding = state.encoding();
    let worker = Arc::clone(&state);
    let work = tokio::task::spawn_blocking(move || {
        let (analysis, _) = analyze(&worker, &snapshot, None, Record::Nothing);
        let range = from_proto::text_range(&snapshot.rope, encoding, target.range);
        let index = analysis
            .diagnostics
            .iter()
            .position(|d| d.range == range && d.code() == target.code)
            .ok_or_else(|| {
                format!(
                    "no {} diagnostic at that range in version {} of the document",
                    target.code, snapshot.version
                )
            })?;
        let file = snapshot.source_file();
        let planned = plan_probes(&file, std::slice::from_ref(&analysis.diagnostics[index]));
        let findings: Vec<PlannedFinding> = planned
            .into_iter()
            .map(|planned| PlannedFinding {
                filename: snapshot.path.clone(),
                planned,
            })
            .collect();
        let options = Options {
            jobs: 1,
            python_path: import_root(std::path::Path::new(&snapshot.path))
                .into_iter()
                .collect(),
            ..Options::default()
        };
        let mut confirmed = confirm_planned(&findings, &options).map_err(|e| e.to_string())?;
        for shortcoming in confirmed
            .isolation
            .map(|i| i.shortcomings())
            .unwrap_or_default()
        {
            tracing::warn!("probe isolation: {shortcoming}");
        }
        let confirmation = confirmed
            .confirmations
            .pop()
            .ok_or("the executor gave no confirmation")?;
        Ok::<_, String>((analysis, index, confirmation))
    });
    let (analysis, index, confirmation) = work
        .await
        .map_err(|_| Error::internal_error())?
        .map_err(failed)?;
    republish(&state, &uri, analysis, index, &confirmation).await;
    Ok(Some(json!({
        "verdict": confirmation.verdict.as_str(),
        "detail": confirmation.detail,
        "stall_ms": confirmation.stall_ms,
    })))
}

/// Parses `[uri, {range, code}]`.
fn confirm_arguments(arguments: &[LSPAny]) -> Result<(Uri, DiagnosticRef)> {
    let usage = || {
        Error::invalid_params(format!(
            "`{CONFIRM_COMMAND}` takes [uri, {{\"range\": Range, \"code\": \"AIO200\"}}]"
        ))
    };
    let [uri, diagnostic, ..] = arguments else {
        return Err(usage());
    };
    let uri: Uri = uri
        .as_str()
        .and_then(|u| u.parse().ok())
        .ok_or_else(usage)?;
    let diagnostic: DiagnosticRef =
        serde_json::from_value(diagnostic.clone()).map_err(|_| usage())?;
    Ok((uri, diagnostic))
}

/// Publishes the document's diagnostics with the evidence appended to diagnostic `index`, if
/// the document is still at the analysed version. Evidence already appended to other
/// diagnostics of that version is kept (the published list is stored as the latest analysis).
async fn republish(
    state: &State,
    uri: &Uri,
    fresh: Analysis,
    index: usize,
    confirmation: &Confirmation,
) {
    let evidence = format!(" — {}: {}", confirmation.verdict, confirmation.detail);
    let published = state.docs.with_epoch(uri, fresh.epoch, |doc| {
        if doc.version != fresh.version {
            return None; // Changed since: the diagnostics task publishes the new version.
        }
        let mut published = match &doc.latest {
            Some(latest)
                if latest.version == fresh.version
                    && latest.epoch == fresh.epoch
                    && latest.published.len() == fresh.published.len() =>
            {
                latest.published.clone()
            }
            _ => fresh.published.clone(),
        };
        if let (Some(diagnostic), Some(original)) =
            (published.get_mut(index), fresh.published.get(index))
        {
            // A second confirmation of the same diagnostic replaces the first one's evidence.
            diagnostic.message = format!("{}{evidence}", original.message);
        }
        doc.latest = Some(Arc::new(Analysis {
            version: fresh.version,
            epoch: fresh.epoch,
            diagnostics: fresh.diagnostics.clone(),
            published: published.clone(),
            parsed: fresh.parsed.clone(),
            summary: fresh.summary.clone(),
            generation: fresh.generation,
            text: Arc::clone(&fresh.text),
            complete: fresh.complete,
            syntax: fresh.syntax.clone(),
        }));
        Some(published)
    });
    if let Some(Some(published)) = published {
        state
            .client
            .publish_diagnostics(uri.clone(), published, Some(fresh.version))
            .await;
    }
}

fn failed(message: String) -> Error {
    Error {
        code: ErrorCode::ServerError(REQUEST_FAILED),
        message: Cow::Owned(message),
        data: None,
    }
}
