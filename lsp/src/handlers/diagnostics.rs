//! Publishing diagnostics: one task per open document, versioned, coalescing bursts, and
//! re-analysing open documents when another file's summary changes the project.
//!
//! A change is analysed at once, never after a debounce: a change to an idle document gets its
//! result in the time one analysis takes. Changes that arrive while an analysis is running are
//! coalesced: as soon as it ends, the newest text is analysed (once, whatever the number of
//! changes). A result is published only if it is still for the current version; superseded
//! results are dropped. Only this task publishes for an open document, so versions go out in
//! order.
//!
//! Each analysis first puts the document's module summary into the project. When that changed
//! the project (a function became async, a helper started to block, or only moved), the
//! *refresher* waits until the project has been quiet for [`QUIET`] and asks every open
//! document that was analysed against an older index to be analysed again, through its own
//! task. A re-analysis of an unchanged text is published only if its findings differ. In a
//! large project, a keystroke may be analysed against the last index built rather than wait
//! for a new one (`Project::index_while_typing`); the refresher then also re-analyses the
//! document being typed in, against the current index, once typing pauses.
//!
//! Most keystrokes are inside one function: their analysis re-checks only that function and
//! moves the rest of the previous findings (`analyzer::recheck_functions`), a few milliseconds
//! even in a long module. Such a partial analysis leaves the document's summary out of the
//! project and arms the refresher, which analyses the whole document once typing pauses. A
//! change that arrives while a refresh runs is analysed as soon as it ends. After a partial
//! analysis, its text is parsed whole in the background and, when that parse agrees with it,
//! becomes the document's base; until then, keystrokes re-check every function typed in since
//! the previous base, in whichever functions they land.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tower_lsp_server::ls_types::Uri;

use analyzer::ParsedModule;

use crate::analysis::{Analysis, Record, analyze, settle};
use crate::document::Snapshot;
use crate::project::Origin;
use crate::state::State;

/// How long the project must be quiet before open documents are analysed whole again: the
/// others when one's summary changed it, and the one typed in after keystrokes that re-checked
/// only their function. Longer than the pause between keystrokes of someone typing, so that
/// a whole analysis does not get in the way of the next keystroke.
pub(crate) const QUIET: Duration = Duration::from_millis(300);

/// Starts the diagnostics task of one opening (`epoch`) of a document.
pub(crate) fn spawn(state: &Arc<State>, uri: Uri, epoch: u64) {
    tokio::spawn(run(Arc::clone(state), uri, epoch));
}

async fn run(state: Arc<State>, uri: Uri, epoch: u64) {
    loop {
        let step = state.docs.with_epoch(&uri, epoch, |doc| {
            doc.schedule.refresh = false;
            (doc.snapshot(), doc.latest.clone())
        });
        // `None`: closed (or reopened, which has its own task).
        let Some((snapshot, previous)) = step else {
            return;
        };
        let version = snapshot.version;
        let worker = Arc::clone(&state);
        // The same text again: the project changed, so the current index is worth its build.
        let record = if previous.as_ref().is_some_and(|p| p.is_of(&snapshot)) {
            Record::Refresh
        } else {
            Record::Keystroke
        };
        let config = state.configs.generation();
        let analysis = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            tracing::debug!(version, "analysing");
            let analysis = if worker.is_excluded(Path::new(&snapshot.path)) {
                excluded(&worker, &snapshot)
            } else {
                analyze(&worker, &snapshot, previous.as_ref(), record)
            };
            tracing::debug!(
                version,
                complete = analysis.0.complete,
                millis = started.elapsed().as_secs_f64() * 1000.0,
                "analysed"
            );
            (analysis, snapshot)
        })
        .await;
        let (analysis, project_changed, snapshot) = match analysis {
            Ok(((analysis, changed), snapshot)) => (Arc::new(analysis), changed, snapshot),
            Err(error) => {
                tracing::error!(uri = uri.as_str(), version, "analysis failed: {error}");
                // The same text would fail again: wait for the next change.
                if finish(&state, &uri, epoch, version) {
                    return;
                }
                continue;
            }
        };
        // Other documents must see this one's new summary; this one must be analysed again if
        // its index lagged behind the project.
        // A keystroke that re-checked only the function typed in: the whole document is
        // analysed again once typing pauses (through the same refresher).
        if project_changed
            || analysis.generation != state.project.generation()
            || !analysis.complete
        {
            project_changed_by_typing(&state);
        }
        // The configuration was reloaded meanwhile: the analysis may have used the old settings.
        if state.configs.generation() != config {
            continue;
        }
        let outcome = state
            .docs
            .with_epoch(&uri, epoch, |doc| store(doc, &analysis));
        let displaced = match outcome {
            None => return,
            Some((Outcome::Superseded, displaced)) => {
                // Drop it and analyse the newer text, against its parse (now the document's),
                // or against its text once parsed whole.
                tokio::task::spawn_blocking(move || drop(displaced));
                if analysis.syntax.is_some() {
                    settle_partial(&state, &uri, epoch, snapshot, analysis);
                }
                continue;
            }
            Some((Outcome::Publish, displaced)) => {
                state
                    .client
                    .publish_diagnostics(uri.clone(), analysis.published.clone(), Some(version))
                    .await;
                tracing::debug!(version, "published");
                displaced
            }
            Some((Outcome::Unchanged, displaced)) => displaced,
        };
        // Freeing a syntax tree takes a while: after publishing, off the async workers.
        tokio::task::spawn_blocking(move || drop(displaced));
        if analysis.syntax.is_some() {
            settle_partial(&state, &uri, epoch, snapshot, analysis);
        }
        if finish(&state, &uri, epoch, version) {
            return;
        }
    }
}

/// After a partial analysis was published: parses its text whole, and when that parse agrees
/// with the re-check ([`settle`]), keeps it (brought up to date with any change that came
/// meanwhile) as the document's parse and base, so that the next keystroke re-checks against
/// this text. In the background, beside the next keystrokes' analyses (which re-check every
/// function typed in since the base kept until then): a text with many syntax errors can take
/// longer to parse than the pause between keystrokes. One at a time per document: a partial
/// analysis that finishes while one runs is not settled (a later one will be).
fn settle_partial(
    state: &Arc<State>,
    uri: &Uri,
    epoch: u64,
    snapshot: Snapshot,
    analysis: Arc<Analysis>,
) {
    let start = state
        .docs
        .with_epoch(uri, epoch, |doc| {
            !std::mem::replace(&mut doc.schedule.settling, true)
        })
        .unwrap_or(false);
    if !start {
        return;
    }
    let (state, uri) = (Arc::clone(state), uri.clone());
    tokio::spawn(async move {
        let settled = tokio::task::spawn_blocking(move || settle(&snapshot, &analysis)).await;
        let displaced = state
            .docs
            .with_epoch(&uri, epoch, |doc| {
                doc.schedule.settling = false;
                let settled = Arc::new(settled.ok().flatten()?);
                let displaced = doc.store_base(&settled)?;
                Some((settled.version, displaced))
            })
            .flatten();
        if let Some((version, displaced)) = displaced {
            tracing::debug!(
                uri = uri.as_str(),
                version,
                "kept the whole parse of a re-checked text"
            );
            tokio::task::spawn_blocking(move || drop(displaced));
        }
    });
}

/// The analysis of a document whose file the configuration excludes: no findings, and no
/// summary in the project (the workspace scan skips the file too). The second value says
/// whether taking its summary out changed the project.
fn excluded(state: &State, snapshot: &Snapshot) -> (Analysis, bool) {
    let changed = state.project.set(&snapshot.path, Origin::Open, None);
    let analysis = Analysis {
        version: snapshot.version,
        epoch: snapshot.epoch,
        diagnostics: Vec::new(),
        published: Vec::new(),
        parsed: None,
        summary: None,
        generation: state.project.generation(),
        text: Arc::from(""),
        complete: true,
        syntax: None,
    };
    (analysis, changed)
}

enum Outcome {
    Superseded,
    Publish,
    /// A re-analysis of the same text found the same diagnostics: nothing to tell the client.
    Unchanged,
}

/// What storing an analysis replaced on its document, to be dropped later: the published
/// analysis, the parse, and the analysis re-checks were made against.
type Displaced = (
    Option<Arc<Analysis>>,
    Option<ParsedModule>,
    Option<Arc<Analysis>>,
);

/// Keeps a finished analysis on its document: its parse (brought up to date with the changes
/// since, if it is superseded) as the document's, so that the next keystroke re-checks against
/// it; and, if it is of the current version, as the latest.
fn store(doc: &mut crate::document::Document, analysis: &Arc<Analysis>) -> (Outcome, Displaced) {
    let (tree, base) = doc.store_base(analysis).unwrap_or_default();
    if doc.version != analysis.version {
        return (Outcome::Superseded, (None, tree, base));
    }
    // A partial analysis leaves the generation unknown: a refresh must complete it.
    doc.generation = analysis.complete.then_some(analysis.generation);
    let unchanged = doc.latest.as_ref().is_some_and(|latest| {
        latest.version == analysis.version
            && latest.epoch == analysis.epoch
            && latest.diagnostics == analysis.diagnostics
    });
    if unchanged {
        // Keep the published analysis (it may carry confirmation evidence).
        return (Outcome::Unchanged, (None, tree, base));
    }
    let latest = doc.latest.replace(Arc::clone(analysis));
    (Outcome::Publish, (latest, tree, base))
}

/// Marks the task finished if `version` is still current and no refresh is due; otherwise it
/// must go on.
fn finish(state: &State, uri: &Uri, epoch: u64, version: i32) -> bool {
    state
        .docs
        .with_epoch(uri, epoch, |doc| {
            let outdated =
                doc.schedule.refresh && doc.generation != Some(state.project.generation());
            let done = doc.version == version && !outdated;
            if done {
                doc.schedule.running = false;
                doc.schedule.refresh = false;
            }
            done
        })
        .unwrap_or(true)
}

/// When the project last changed, and whether the refresher is waiting for it to be quiet.
#[derive(Debug)]
pub(crate) struct Refresher {
    inner: Mutex<RefresherState>,
}

#[derive(Debug)]
struct RefresherState {
    last_change: Instant,
    running: bool,
}

impl Default for Refresher {
    fn default() -> Self {
        Self {
            inner: Mutex::new(RefresherState {
                last_change: Instant::now(),
                running: false,
            }),
        }
    }
}

/// An open document's summary changed the project: the other open documents are analysed again
/// once the project has been quiet for [`QUIET`] (plus four times the last index build), so
/// typing in one file does not re-analyse the others at every keystroke.
pub(crate) fn project_changed_by_typing(state: &Arc<State>) {
    let start = {
        let mut refresher = state
            .refresher
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        refresher.last_change = Instant::now();
        !std::mem::replace(&mut refresher.running, true)
    };
    if start {
        tokio::spawn(refresh_when_quiet(Arc::clone(state)));
    }
}

async fn refresh_when_quiet(state: Arc<State>) {
    loop {
        let pause = {
            let mut refresher = state
                .refresher
                .inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A refresh rebuilds the index: the slower that is, the longer the pause it waits
            // for (300 ms for a small project, about 580 ms for Home Assistant's 6,700 modules).
            let quiet_at = refresher.last_change + QUIET + state.project.last_build() * 4;
            let now = Instant::now();
            if quiet_at > now {
                Some(quiet_at - now)
            } else {
                refresher.running = false;
                None
            }
        };
        match pause {
            Some(pause) => tokio::time::sleep(pause).await,
            None => break,
        }
    }
    refresh_open_documents(&state);
}

/// Asks every open document analysed against an older project index to be analysed again, now.
pub(crate) fn refresh_open_documents(state: &Arc<State>) {
    let generation = state.project.generation();
    for (uri, epoch) in state.docs.mark_stale(generation) {
        tracing::debug!(
            uri = uri.as_str(),
            generation,
            "project changed: re-analysing"
        );
        spawn(state, uri, epoch);
    }
}
