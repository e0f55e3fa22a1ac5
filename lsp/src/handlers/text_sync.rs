//! `didOpen`, `didChange`, `didSave` and `didClose`: every mutation happens before the first
//! `.await`, so notifications take effect in the order they arrived.

use std::sync::Arc;

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams,
};

use crate::document_store::{ChangeRejected, Scheduled};
use crate::handlers::{diagnostics, workspace};
use crate::project::Origin;
use crate::state::State;

pub(crate) fn did_open(state: &Arc<State>, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    let extension = std::path::Path::new(doc.uri.path().as_str())
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let python = doc.language_id == "python" || extension == "py" || extension == "pyi";
    if !python {
        tracing::debug!(
            uri = doc.uri.as_str(),
            language = doc.language_id,
            "not Python, ignored"
        );
        return;
    }
    let epoch = state.docs.open(doc.uri.clone(), doc.version, &doc.text);
    diagnostics::spawn(state, doc.uri, epoch);
}

pub(crate) fn did_change(state: &Arc<State>, params: &DidChangeTextDocumentParams) {
    let id = &params.text_document;
    tracing::debug!(uri = id.uri.as_str(), version = id.version, "didChange");
    let changed = state.docs.change(
        &id.uri,
        id.version,
        &params.content_changes,
        state.encoding(),
    );
    match changed {
        Ok(Scheduled::Start(epoch)) => diagnostics::spawn(state, id.uri.clone(), epoch),
        Ok(Scheduled::Pending) => {}
        Err(ChangeRejected::NotOpen) => {
            tracing::warn!(
                uri = id.uri.as_str(),
                "didChange for a document that is not open"
            );
        }
        Err(ChangeRejected::Stale { current, received }) => {
            tracing::warn!(
                uri = id.uri.as_str(),
                current,
                received,
                "stale didChange ignored"
            );
        }
    }
}

/// The open document already has the saved text, and its summary is in the project (the file
/// watcher, if any, refreshes the disk summary). What a save adds: the workspace files that are
/// not open are checked again against the current project, if it changed since they were.
pub(crate) fn did_save(state: &Arc<State>, params: &DidSaveTextDocumentParams) {
    tracing::debug!(uri = params.text_document.uri.as_str(), "didSave");
    workspace::schedule_recheck(state);
}

/// Clears the document's diagnostics. A file of the workspace then gets its on-disk findings
/// back, as if it had never been opened.
pub(crate) async fn did_close(state: &Arc<State>, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    let Some(closed) = state.docs.close(&uri) else {
        tracing::warn!(
            uri = uri.as_str(),
            "didClose for a document that is not open"
        );
        return;
    };
    // Before the first `.await`, so that a reopening finds the project without this text.
    let project_changed = state.project.set(&closed.path, Origin::Open, None);
    state
        .client
        .publish_diagnostics(uri.clone(), Vec::new(), None)
        .await;
    workspace::recheck_closed(state, &uri, project_changed);
}
