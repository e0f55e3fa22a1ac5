//! Publishing diagnostics: one task per open document, versioned, coalescing bursts.
//!
//! A change to an idle document is analysed at once (so typing gets its result in the time one
//! analysis takes). Changes that arrive while an analysis is running are coalesced: the task
//! waits until the document has been quiet for [`DEBOUNCE`], then analyses the newest text.
//! A result is published only if it is still for the current version; superseded results are
//! dropped. Only this task publishes for an open document, so versions go out in order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tower_lsp_server::ls_types::Uri;

use crate::analysis::{Analysis, analyze};
use crate::state::State;

/// How long a burst of changes must pause before the newest text is analysed.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(50);

/// Starts the diagnostics task of one opening (`epoch`) of a document.
pub(crate) fn spawn(state: &Arc<State>, uri: Uri, epoch: u64) {
    tokio::spawn(run(Arc::clone(state), uri, epoch));
}

enum Step {
    Wait(Duration),
    Analyze(crate::document::Snapshot),
}

async fn run(state: Arc<State>, uri: Uri, epoch: u64) {
    let mut leading = true;
    loop {
        let step = state.docs.with_epoch(&uri, epoch, |doc| {
            let quiet_at = doc.schedule.last_change + DEBOUNCE;
            let now = Instant::now();
            if !leading && quiet_at > now {
                Step::Wait(quiet_at - now)
            } else {
                Step::Analyze(doc.snapshot())
            }
        });
        let snapshot = match step {
            None => return, // Closed (or reopened, which has its own task).
            Some(Step::Wait(pause)) => {
                tokio::time::sleep(pause).await;
                continue;
            }
            Some(Step::Analyze(snapshot)) => snapshot,
        };
        leading = false;
        let version = snapshot.version;
        let settings = Arc::clone(&state.settings);
        let encoding = state.encoding();
        let analysis =
            tokio::task::spawn_blocking(move || analyze(&snapshot, &settings, encoding)).await;
        let analysis: Arc<Analysis> = match analysis {
            Ok(analysis) => Arc::new(analysis),
            Err(error) => {
                tracing::error!(uri = uri.as_str(), version, "analysis failed: {error}");
                // The same text would fail again: wait for the next change.
                if finish(&state, &uri, epoch, version) {
                    return;
                }
                continue;
            }
        };
        let current = state.docs.with_epoch(&uri, epoch, |doc| {
            let current = doc.version == version;
            if current {
                if let Some(parsed) = &analysis.parsed {
                    doc.store_parse(version, parsed.clone());
                }
                doc.latest = Some(Arc::clone(&analysis));
            }
            current
        });
        match current {
            None => return,
            Some(false) => continue, // Superseded: drop it and analyse the newer text.
            Some(true) => {}
        }
        state
            .client
            .publish_diagnostics(uri.clone(), analysis.published.clone(), Some(version))
            .await;
        if finish(&state, &uri, epoch, version) {
            return;
        }
    }
}

/// Marks the task finished if `version` is still current; otherwise it must go on.
fn finish(state: &State, uri: &Uri, epoch: u64, version: i32) -> bool {
    state
        .docs
        .with_epoch(uri, epoch, |doc| {
            let done = doc.version == version;
            if done {
                doc.schedule.running = false;
            }
            done
        })
        .unwrap_or(true)
}
