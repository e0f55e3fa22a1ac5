//! The open documents behind one `std::sync::Mutex`.
//!
//! Handlers run concurrently, so every mutation happens inside one short, synchronous critical
//! section before the handler's first `.await`, and the lock is never held across an `.await`
//! (the methods here take closures, so a guard cannot escape).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::convert::PositionEncoding;
use crate::document::Document;

#[derive(Debug, Default)]
pub(crate) struct DocumentStore {
    docs: Mutex<HashMap<Uri, Document>>,
    epochs: AtomicU64,
}

/// Why a `didChange` was not applied.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChangeRejected {
    NotOpen,
    /// The change's version is not newer than the document's.
    Stale {
        current: i32,
        received: i32,
    },
}

/// Whether the caller must start the document's diagnostics task, and which opening it is for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scheduled {
    /// No task was running: start one for this epoch.
    Start(u64),
    /// The running task will pick the change up.
    Pending,
}

impl DocumentStore {
    /// Opens (or reopens) a document; a task must be started for the returned epoch.
    pub(crate) fn open(&self, uri: Uri, version: i32, text: &str) -> u64 {
        let epoch = self.epochs.fetch_add(1, Ordering::Relaxed);
        let mut doc = Document::new(uri.clone(), version, text, epoch);
        doc.schedule.running = true;
        self.lock().insert(uri, doc);
        epoch
    }

    pub(crate) fn change(
        &self,
        uri: &Uri,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) -> Result<Scheduled, ChangeRejected> {
        let mut docs = self.lock();
        let doc = docs.get_mut(uri).ok_or(ChangeRejected::NotOpen)?;
        if version <= doc.version {
            return Err(ChangeRejected::Stale {
                current: doc.version,
                received: version,
            });
        }
        doc.apply_changes(version, changes, encoding);
        Ok(if doc.schedule.running {
            Scheduled::Pending
        } else {
            doc.schedule.running = true;
            Scheduled::Start(doc.epoch)
        })
    }

    /// Asks every open document whose newest analysis did not run against project generation
    /// `generation` to be analysed again. Returns the documents whose diagnostics task must be
    /// started (the others have one running, which will see the request).
    pub(crate) fn mark_stale(&self, generation: u64) -> Vec<(Uri, u64)> {
        let mut start = Vec::new();
        for (uri, doc) in self.lock().iter_mut() {
            if doc.generation == Some(generation) {
                continue;
            }
            doc.schedule.refresh = true;
            if !doc.schedule.running {
                doc.schedule.running = true;
                start.push((uri.clone(), doc.epoch));
            }
        }
        start
    }

    /// Closes a document and hands it back; `None` if it was not open.
    pub(crate) fn close(&self, uri: &Uri) -> Option<Document> {
        self.lock().remove(uri)
    }

    pub(crate) fn is_open(&self, uri: &Uri) -> bool {
        self.lock().contains_key(uri)
    }

    /// Runs `f` on the document if it is open.
    pub(crate) fn with<R>(&self, uri: &Uri, f: impl FnOnce(&Document) -> R) -> Option<R> {
        self.lock().get(uri).map(f)
    }

    /// Runs `f` on the document if it is open in the given epoch (not closed and reopened since).
    pub(crate) fn with_epoch<R>(
        &self,
        uri: &Uri,
        epoch: u64,
        f: impl FnOnce(&mut Document) -> R,
    ) -> Option<R> {
        self.lock()
            .get_mut(uri)
            .filter(|doc| doc.epoch == epoch)
            .map(f)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uri, Document>> {
        // A panic while holding the lock leaves documents that are still usable.
        self.docs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_must_grow_and_reopening_starts_a_new_epoch() {
        let store = DocumentStore::default();
        let uri: Uri = "file:///tmp/a.py".parse().expect("valid URI");
        let first = store.open(uri.clone(), 1, "x = 1\n");
        assert_eq!(
            store.change(&uri, 1, &[], PositionEncoding::Utf16),
            Err(ChangeRejected::Stale {
                current: 1,
                received: 1
            })
        );
        // The task started by `open` is still marked running.
        assert_eq!(
            store.change(&uri, 2, &[], PositionEncoding::Utf16),
            Ok(Scheduled::Pending)
        );
        store.with_epoch(&uri, first, |doc| doc.schedule.running = false);
        assert_eq!(
            store.change(&uri, 3, &[], PositionEncoding::Utf16),
            Ok(Scheduled::Start(first))
        );
        assert!(store.close(&uri).is_some());
        assert!(store.close(&uri).is_none());
        let second = store.open(uri.clone(), 1, "x = 1\n");
        assert_ne!(first, second);
        assert!(store.with_epoch(&uri, first, |_| ()).is_none());
        let other: Uri = "file:///tmp/b.py".parse().expect("valid URI");
        assert_eq!(
            store.change(&other, 2, &[], PositionEncoding::Utf16),
            Err(ChangeRejected::NotOpen)
        );
    }
}
