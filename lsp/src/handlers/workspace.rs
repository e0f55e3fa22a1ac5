//! The workspace scan on `initialized` (summaries into the project, then checks against its
//! index), file watching, files going back to disk on close, re-checking the files that are
//! not open when the project changed on disk, and reloading the configuration (a watched
//! `pyproject.toml`/`aiolint.toml` changed, or `workspace/didChangeConfiguration`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use analyzer::ProjectIndex;
use tower_lsp_server::ls_types::{
    self as lsp, DidChangeWatchedFilesParams, DidChangeWatchedFilesRegistrationOptions,
    FileChangeType, FileSystemWatcher, GlobPattern, NumberOrString, Registration, Uri,
};

use crate::analysis::{DiskSummary, analyze_path, summarize_path};
use crate::config::is_config_file;
use crate::handlers::diagnostics;
use crate::project::Origin;
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
    // Python files, and the configuration files (`analyzer::CONFIG_FILE_NAMES`).
    let globs = ["**/*.py", "**/pyproject.toml", "**/aiolint.toml"];
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: globs
            .iter()
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String((*glob).to_string()),
                kind: None,
            })
            .collect(),
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

/// Indexes and checks every Python file of the workspace folders, reporting `$/progress` when
/// the client supports it, and publishes the findings of the files that are not open. Two
/// passes: first every file's module summary goes into the project, then every file is checked
/// against the index of the whole project. Workspace files it does not find (the configuration
/// excludes them now) are forgotten. A configuration reload stops it: the reload scans again.
async fn scan(state: &Arc<State>) {
    let config = state.configs.generation();
    let _scanning = state.scanning.lock().await;
    let superseded = || state.is_shutting_down() || state.configs.generation() != config;
    let session = state.session();
    if session.folders.is_empty() || superseded() {
        return;
    }
    let folders = session.folders.clone();
    let load = state.configs.current();
    let walk = Arc::clone(&load);
    let files = tokio::task::spawn_blocking(move || discover(&folders, &walk))
        .await
        .unwrap_or_default();
    state.report_config_errors(&load);
    forget_missing(state, &files).await;
    let total = files.len();
    tracing::info!(files = total, "workspace scan");
    let progress = if session.progress {
        begin_progress(state, total).await
    } else {
        None
    };
    let mut summarized = Vec::with_capacity(total);
    for batch in files.chunks(BATCH) {
        if superseded() {
            return stopped(progress).await;
        }
        summarized.extend(summarize_files(state, batch.to_vec()).await);
        // Indexing is the first half of the work, checking the second.
        let message = format!("{}/{total} files indexed", summarized.len());
        report(progress.as_ref(), message, summarized.len(), 2 * total).await;
    }
    // Documents opened before the index was complete see the whole project now.
    diagnostics::refresh_open_documents(state);
    // One index for the whole pass: typing meanwhile does not rebuild it batch after batch (a
    // save re-checks the files against the newer one).
    let Some((generation, index)) = current_index(state).await else {
        return;
    };
    let mut done = 0;
    let mut with_findings = 0;
    for batch in summarized.chunks(BATCH) {
        if superseded() {
            return stopped(progress).await;
        }
        let checked = check_files(state, batch.to_vec(), Some(Arc::clone(&index))).await;
        for (path, uri, diagnostics) in checked {
            with_findings += usize::from(!diagnostics.is_empty());
            publish_file(state, path, uri, diagnostics, false).await;
        }
        done += batch.len();
        let message = format!("{done}/{total} files checked");
        report(progress.as_ref(), message, total + done, 2 * total).await;
    }
    state.rechecker.checked(generation);
    if let Some(progress) = progress {
        progress
            .finish_with_message(format!(
                "{done} files checked, {with_findings} with findings"
            ))
            .await;
    }
}

/// Ends the progress of a scan that stopped early.
async fn stopped(progress: Option<Progress>) {
    if let Some(progress) = progress {
        progress.finish_with_message("stopped").await;
    }
}

/// Forgets the workspace files that are not in `found` (sorted).
async fn forget_missing(state: &State, found: &[PathBuf]) {
    for (path, _) in state.workspace.files() {
        if found.binary_search(&path).is_err() {
            forget(state, &path).await;
        }
    }
}

/// Forgets a file of the workspace (deleted, or excluded by the configuration now): its
/// summary from disk, and its published findings unless it is open. Returns whether the
/// project changed.
async fn forget(state: &State, path: &Path) -> bool {
    let key = path.to_string_lossy().into_owned();
    let project_changed = state.project.set(&key, Origin::Disk, None);
    let removed = state.workspace.remove(path);
    if let Some(uri) = Uri::from_file_path(path)
        && removed.is_some()
        && !state.docs.is_open(&uri)
    {
        state
            .client
            .publish_diagnostics(uri, Vec::new(), None)
            .await;
    }
    project_changed
}

type Progress =
    tower_lsp_server::OngoingProgress<tower_lsp_server::Bounded, tower_lsp_server::NotCancellable>;

async fn report(progress: Option<&Progress>, message: String, done: usize, total: usize) {
    if let Some(progress) = progress {
        let percentage = u32::try_from(done * 100 / total.max(1)).unwrap_or(100);
        progress.report_with_message(message, percentage).await;
    }
}

async fn begin_progress(state: &State, total: usize) -> Option<Progress> {
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

/// Reads and summarizes files on the blocking pool and records them in the project; a file
/// whose summary panics is logged and skipped. Returns the files with whether they parse
/// cleanly (none when the configuration was reloaded meanwhile).
async fn summarize_files(state: &Arc<State>, paths: Vec<PathBuf>) -> Vec<(PathBuf, bool)> {
    let worker = Arc::clone(state);
    let config = state.configs.generation();
    let summarized = tokio::task::spawn_blocking(move || {
        let folders = worker.session().folders;
        let summaries: Vec<DiskSummary> = paths
            .into_iter()
            .filter_map(|path| {
                catch_unwind(AssertUnwindSafe(|| {
                    summarize_path(&path, &folders, &worker.settings_for(&path))
                }))
                .map_err(|_| tracing::error!(path = %path.display(), "summary panicked"))
                .ok()
            })
            .collect();
        // Summaries made with settings that a reload replaced stay out: the reload's scan
        // summarizes every file again.
        if worker.configs.generation() != config {
            return Vec::new();
        }
        record(&worker, summaries)
    })
    .await;
    summarized.unwrap_or_default()
}

/// Puts summaries into the project and the files into the workspace.
fn record(state: &State, summaries: Vec<DiskSummary>) -> Vec<(PathBuf, bool)> {
    let mut files = Vec::with_capacity(summaries.len());
    let mut found = Vec::with_capacity(summaries.len());
    for summary in summaries {
        let key = summary.path.to_string_lossy().into_owned();
        match summary.summary {
            Some(module) => found.push((key, module)),
            None => {
                state.project.set(&key, Origin::Disk, None);
            }
        }
        state
            .workspace
            .summarized(summary.path.clone(), summary.clean);
        files.push((summary.path, summary.clean));
    }
    state.project.set_disk_many(found);
    files
}

/// The project index, built on the blocking pool if a summary changed since the last build.
async fn current_index(state: &Arc<State>) -> Option<(u64, Arc<ProjectIndex>)> {
    let worker = Arc::clone(state);
    tokio::task::spawn_blocking(move || worker.project.index())
        .await
        .ok()
}

/// Checks files from disk on the blocking pool against `index` (the current one when `None`).
/// A file whose analysis panics is logged and skipped; the others go on. Nothing comes back
/// when the configuration was reloaded meanwhile (the reload's scan checks every file again).
async fn check_files(
    state: &Arc<State>,
    files: Vec<(PathBuf, bool)>,
    index: Option<Arc<ProjectIndex>>,
) -> Vec<(PathBuf, Uri, Vec<lsp::Diagnostic>)> {
    let config = state.configs.generation();
    let worker = Arc::clone(state);
    let checked = tokio::task::spawn_blocking(move || {
        let index = index.unwrap_or_else(|| worker.project.index().1);
        files
            .into_iter()
            .filter_map(|(path, clean)| {
                match catch_unwind(AssertUnwindSafe(|| {
                    analyze_path(&worker, &path, &index, clean)
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
    if state.configs.generation() != config {
        return Vec::new();
    }
    checked.unwrap_or_default()
}

/// Records a file's findings and publishes them if they changed, unless the file is open (an
/// open document's own, versioned diagnostics win). `force` publishes findings even when they
/// did not change (the client dropped them when the document closed).
async fn publish_file(
    state: &State,
    path: PathBuf,
    uri: Uri,
    diagnostics: Vec<lsp::Diagnostic>,
    force: bool,
) {
    let previous = state.workspace.get(&path);
    let changed = previous
        .as_ref()
        .map_or(!diagnostics.is_empty(), |e| e.diagnostics != diagnostics);
    let publish = changed || (force && !diagnostics.is_empty());
    state.workspace.update(
        path,
        FileEntry {
            diagnostics: diagnostics.clone(),
            clean: previous.is_some_and(|e| e.clean),
        },
    );
    if publish && !state.docs.is_open(&uri) {
        state
            .client
            .publish_diagnostics(uri, diagnostics, None)
            .await;
    }
}

/// `workspace/didChangeWatchedFiles`: re-summarizes created and changed files and forgets
/// deleted ones. When that changes the project, the open documents are analysed again and the
/// whole workspace is re-checked; otherwise only the files that changed are. A configuration
/// file that now reads differently reloads the configuration instead (which scans everything).
/// Files the configuration excludes are left alone.
pub(crate) fn did_change_watched_files(state: &Arc<State>, params: DidChangeWatchedFilesParams) {
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let mut changed = Vec::new();
        let mut project_changed = false;
        let mut reload = false;
        for event in params.changes {
            let Some(path) = event.uri.to_file_path().map(std::borrow::Cow::into_owned) else {
                continue;
            };
            if is_config_file(&path) {
                reload |= state.configs.is_outdated_by(&path);
                continue;
            }
            if !is_python(&path) {
                continue;
            }
            if event.typ == FileChangeType::DELETED {
                project_changed |= forget(&state, &path).await;
            } else if !state.is_excluded(&path) {
                changed.push(path);
            }
        }
        if reload {
            reload_configs(&state);
            return;
        }
        let generation = state.project.generation();
        let files = summarize_files(&state, changed).await;
        project_changed |= state.project.generation() != generation;
        if project_changed {
            diagnostics::refresh_open_documents(&state);
            schedule_recheck(&state);
        } else {
            for (path, uri, diagnostics) in check_files(&state, files, None).await {
                publish_file(&state, path, uri, diagnostics, false).await;
            }
        }
    });
}

/// `workspace/didChangeConfiguration`: the configuration is read again.
pub(crate) fn did_change_configuration(state: &Arc<State>) {
    reload_configs(state);
}

/// Reads the configuration files again: every open document is analysed again with its new
/// settings, and the workspace is scanned again (files the configuration now excludes are
/// forgotten, files it no longer excludes found, and every file checked with its settings).
fn reload_configs(state: &Arc<State>) {
    state.reload_configs();
    // The analyses made so far used the old settings: they are all stale now.
    state.project.touch();
    diagnostics::refresh_open_documents(state);
    let state = Arc::clone(state);
    tokio::spawn(async move { scan(&state).await });
}

/// After `didClose` (the document's summary is already out of the project): a file of the
/// workspace is summarized and checked from disk again, since the closed buffer may have held
/// unsaved text; when the project changed, the open documents are analysed again and the
/// workspace is re-checked.
pub(crate) fn recheck_closed(state: &Arc<State>, uri: &Uri, project_changed: bool) {
    let Some(path) = uri.to_file_path().map(std::borrow::Cow::into_owned) else {
        return;
    };
    // Only files the scan found (so not ignored ones) go back to their on-disk findings.
    let in_workspace = state.workspace.get(&path).is_some();
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let generation = state.project.generation();
        let files = if in_workspace {
            summarize_files(&state, vec![path]).await
        } else {
            Vec::new()
        };
        if project_changed || state.project.generation() != generation {
            diagnostics::refresh_open_documents(&state);
            schedule_recheck(&state);
        }
        for (path, uri, diagnostics) in check_files(&state, files, None).await {
            publish_file(&state, path, uri, diagnostics, true).await;
        }
    });
}

/// How long the workspace must be quiet before its files are re-checked.
const RECHECK_DEBOUNCE: Duration = Duration::from_millis(100);

/// Re-checks the workspace's files that are not open when the project changed on disk (a save,
/// a watched-file event, a document closed), in the background. Requests that arrive while
/// one runs are coalesced into one more run.
#[derive(Debug, Default)]
pub(crate) struct Rechecker {
    inner: Mutex<RecheckerState>,
}

#[derive(Debug, Default)]
struct RecheckerState {
    running: bool,
    again: bool,
    /// The project generation the workspace files were last checked against.
    checked: Option<u64>,
}

impl Rechecker {
    fn lock(&self) -> std::sync::MutexGuard<'_, RecheckerState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The workspace files were all checked against generation `generation`.
    fn checked(&self, generation: u64) {
        let mut inner = self.lock();
        if inner.checked.is_none_or(|g| g < generation) {
            inner.checked = Some(generation);
        }
    }
}

/// Asks for the workspace's files that are not open to be checked again against the current
/// index (if they were not checked against it yet).
pub(crate) fn schedule_recheck(state: &Arc<State>) {
    {
        let mut inner = state.rechecker.lock();
        if inner.running {
            inner.again = true;
            return;
        }
        inner.running = true;
    }
    let state = Arc::clone(state);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RECHECK_DEBOUNCE).await;
            state.rechecker.lock().again = false;
            recheck_workspace(&state).await;
            let mut inner = state.rechecker.lock();
            if !inner.again || state.is_shutting_down() {
                inner.running = false;
                return;
            }
        }
    });
}

async fn recheck_workspace(state: &Arc<State>) {
    let Some((generation, index)) = current_index(state).await else {
        return;
    };
    if state.rechecker.lock().checked == Some(generation) {
        return;
    }
    let mut files = state.workspace.files();
    files.retain(|(path, _)| Uri::from_file_path(path).is_none_or(|uri| !state.docs.is_open(&uri)));
    let started = std::time::Instant::now();
    for batch in files.chunks(BATCH) {
        if state.is_shutting_down() {
            return;
        }
        let checked = check_files(state, batch.to_vec(), Some(Arc::clone(&index))).await;
        for (path, uri, diagnostics) in checked {
            if !state.docs.is_open(&uri) {
                publish_file(state, path, uri, diagnostics, false).await;
            }
        }
    }
    state.rechecker.checked(generation);
    tracing::debug!(
        files = files.len(),
        generation,
        millis = started.elapsed().as_millis(),
        "workspace re-checked"
    );
}
