//! Everything the handlers share.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use analyzer::Settings;
use tower_lsp_server::Client;

use crate::convert::PositionEncoding;
use crate::document_store::DocumentStore;
use crate::handlers::diagnostics::Refresher;
use crate::handlers::workspace::Rechecker;
use crate::project::Project;
use crate::workspace::Workspace;

#[derive(Debug)]
pub(crate) struct State {
    pub client: Client,
    pub docs: DocumentStore,
    pub workspace: Workspace,
    /// Every file's module summary and the project index built from them.
    pub project: Project,
    /// Re-analyses open documents once the project has been quiet.
    pub refresher: Refresher,
    /// Re-checks the workspace files that are not open after changes reach the disk.
    pub rechecker: Rechecker,
    /// The analyzer settings. Configuration files are not read yet, so these are the defaults.
    pub settings: Arc<Settings>,
    session: OnceLock<Session>,
    shutdown: AtomicBool,
}

/// What `initialize` settled for the rest of the session.
#[derive(Clone, Debug, Default)]
pub(crate) struct Session {
    pub encoding: PositionEncoding,
    /// The workspace folders that are local directories.
    pub folders: Vec<PathBuf>,
    /// The client accepts `window/workDoneProgress/create`.
    pub progress: bool,
    /// The client lets the server register file watchers.
    pub dynamic_watchers: bool,
    /// The client applies versioned `documentChanges` in a `WorkspaceEdit`.
    pub document_changes: bool,
}

impl State {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            docs: DocumentStore::default(),
            workspace: Workspace::default(),
            project: Project::default(),
            refresher: Refresher::default(),
            rechecker: Rechecker::default(),
            settings: Arc::new(Settings::default()),
            session: OnceLock::new(),
            shutdown: AtomicBool::new(false),
        }
    }

    /// Records the session; `false` if `initialize` already did.
    pub(crate) fn start_session(&self, session: Session) -> bool {
        self.session.set(session).is_ok()
    }

    pub(crate) fn session(&self) -> Session {
        self.session.get().cloned().unwrap_or_default()
    }

    pub(crate) fn encoding(&self) -> PositionEncoding {
        self.session.get().map(|s| s.encoding).unwrap_or_default()
    }

    pub(crate) fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
    }

    /// Whether `shutdown` was requested; background work stops early once it was.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}
