//! The workspace scan on `initialized`, file watching, and files going back to disk on close.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tower_lsp_server::ls_types::{
    self as lsp, DidChangeWatchedFilesParams, DidChangeWatchedFilesRegistrationOptions,
    FileChangeType, FileSystemWatcher, GlobPattern, NumberOrString, Registration, Uri,
};

use crate::analysis::analyze_path;
use crate::state::State;
use crate::workspace::{FileEntry, discover, is_python};

/// Files checked per trip to the blocking pool (and per progress report).
const BATCH: usize = 16;

/// How long to wait for the client to answer one of the server's requests.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Registers the file watcher and scans the workspace, in the background.
pub(crate) fn start(state: &Arc<State>) {
    let state = Arc::clone(state);
    tokio::spawn(async move {
        register_watcher(&state).await;
        scan(&state).await;
    });
}

async fn register_watcher(state: &State) {
    if !state.session().dynamic_watchers {
        return;
    }
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: vec![FileSystemWatcher {
            glob_pattern: GlobPattern::String("**/*.py".to_string()),
            kind: None,
        }],
    };
    let registration = Registration {
        id: "aiolint/watched-files".to_string(),
        method: "workspace/didChangeWatchedFiles".to_string(),
        register_options: serde_json::to_value(options).ok(),
    };
    let registered = tokio::time::timeout(
        CLIENT_TIMEOUT,
        state.client.register_capability(vec![registration]),
    )
    .await;
    match registered {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!("could not register the file watcher: {error}"),
        Err(_) => tracing::warn!("the client did not answer the file watcher registration"),
    }
}

/// Checks every Python file of the workspace folders, reporting `$/progress` when the client
/// supports it, and publishes the findings of the files that are not open.
async fn scan(state: &Arc<State>) {
    let session = state.session();
    if session.folders.is_empty() {
        return;
    }
    let folders = session.folders.clone();
    let files = tokio::task::spawn_blocking(move || discover(&folders))
        .await
        .unwrap_or_default();
    let total = files.len();
    tracing::info!(files = total, "workspace scan");
    let progress = if session.progress {
        begin_progress(state, total).await
    } else {
        None
    };
    let mut done = 0;
    let mut with_findings = 0;
    for batch in files.chunks(BATCH) {
        if state.is_shutting_down() {
            break;
        }
        for (path, uri, diagnostics) in check_files(state, batch.to_vec()).await {
            with_findings += usize::from(!diagnostics.is_empty());
            publish_file(state, path, uri, diagnostics).await;
        }
        done += batch.len();
        if let Some(progress) = &progress {
            let percentage = u32::try_from(done * 100 / total.max(1)).unwrap_or(100);
            progress
                .report_with_message(format!("{done}/{total} files"), percentage)
                .await;
        }
    }
    if let Some(progress) = progress {
        progress
            .finish_with_message(format!(
                "{done} files checked, {with_findings} with findings"
            ))
            .await;
    }
}

async fn begin_progress(
    state: &State,
    total: usize,
) -> Option<
    tower_lsp_server::OngoingProgress<tower_lsp_server::Bounded, tower_lsp_server::NotCancellable>,
> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let token = NumberOrString::String(format!(
        "aiolint/scan/{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let created = tokio::time::timeout(
        CLIENT_TIMEOUT,
        state.client.create_work_done_progress(token.clone()),
    )
    .await;
    match created {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!("no work done progress: {error}");
            return None;
        }
        Err(_) => {
            tracing::warn!("the client did not answer window/workDoneProgress/create");
            return None;
        }
    }
    Some(
        state
            .client
            .progress(token, "aiolint: checking the workspace")
            .with_percentage(0)
            .with_message(format!("0/{total} files"))
            .begin()
            .await,
    )
}

/// Checks files from disk on the blocking pool. A file whose analysis panics is logged and
/// skipped; the others go on.
async fn check_files(
    state: &State,
    paths: Vec<PathBuf>,
) -> Vec<(PathBuf, Uri, Vec<lsp::Diagnostic>)> {
    let settings = Arc::clone(&state.settings);
    let encoding = state.encoding();
    let checked = tokio::task::spawn_blocking(move || {
        paths
            .into_iter()
            .filter_map(|path| {
                match catch_unwind(AssertUnwindSafe(|| {
                    analyze_path(&path, &settings, encoding)
                })) {
                    Ok(Some((uri, diagnostics))) => Some((path, uri, diagnostics)),
                    Ok(None) => None,
                    Err(_) => {
                        tracing::error!(path = %path.display(), "analysis panicked");
                        None
                    }
                }
            })
            .collect()
    })
    .await;
    checked.unwrap_or_default()
}

/// Records a file's findings and publishes them unless the file is open (an open document's
/// own, versioned diagnostics win).
async fn publish_file(state: &State, path: PathBuf, uri: Uri, diagnostics: Vec<lsp::Diagnostic>) {
    let had_findings = state
        .workspace
        .get(&path)
        .is_some_and(|e| !e.diagnostics.is_empty());
    state.workspace.update(
        path,
        FileEntry {
            diagnostics: diagnostics.clone(),
        },
    );
    if (had_findings || !diagnostics.is_empty()) && !state.docs.is_open(&uri) {
        state
            .client
            .publish_diagnostics(uri, diagnostics, None)
            .await;
    }
}

/// `workspace/didChangeWatchedFiles`: re-checks created and changed files, forgets deleted ones.
pub(crate) fn did_change_watched_files(state: &Arc<State>, params: DidChangeWatchedFilesParams) {
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let mut changed = Vec::new();
        for event in params.changes {
            let Some(path) = event.uri.to_file_path().map(std::borrow::Cow::into_owned) else {
                continue;
            };
            if !is_python(&path) {
                continue;
            }
            if event.typ == FileChangeType::DELETED {
                let removed = state.workspace.remove(&path);
                if removed.is_some() && !state.docs.is_open(&event.uri) {
                    state
                        .client
                        .publish_diagnostics(event.uri, Vec::new(), None)
                        .await;
                }
            } else {
                changed.push(path);
            }
        }
        for (path, uri, diagnostics) in check_files(&state, changed).await {
            publish_file(&state, path, uri, diagnostics).await;
        }
    });
}

/// After `didClose`: a file of the workspace index is checked from disk again, since the
/// closed buffer may have held unsaved text.
pub(crate) fn recheck_closed(state: &Arc<State>, uri: &Uri) {
    let Some(path) = uri.to_file_path().map(std::borrow::Cow::into_owned) else {
        return;
    };
    // Only files the scan found (so not ignored ones) go back to their on-disk findings.
    if state.workspace.get(&path).is_none() {
        return;
    }
    let state = Arc::clone(state);
    tokio::spawn(async move {
        for (path, uri, diagnostics) in check_files(&state, vec![path]).await {
            publish_file(&state, path, uri, diagnostics).await;
        }
    });
}
