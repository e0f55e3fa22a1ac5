//! Everything the handlers share.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use analyzer::Settings;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::MessageType;

use crate::config::Configs;
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
    /// The configuration files as last loaded: each file's settings and exclusion.
    pub configs: Configs,
    /// Held by the workspace scan, so that a scan started by a reload waits for the one it
    /// replaces to stop.
    pub scanning: tokio::sync::Mutex<()>,
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
            configs: Configs::default(),
            scanning: tokio::sync::Mutex::new(()),
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

    /// The analyzer settings for the file at `path` (a document that is not a file gets the
    /// defaults), from its nearest configuration file.
    pub(crate) fn settings_for(&self, path: &Path) -> Arc<Settings> {
        let load = self.configs.current();
        let settings = load.settings_for(path);
        self.report_config_errors(&load);
        settings
    }

    /// Whether the configuration excludes the file at `path`: it is not scanned, and has no
    /// diagnostics when open.
    pub(crate) fn is_excluded(&self, path: &Path) -> bool {
        let load = self.configs.current();
        let excluded = load.is_excluded_file(path);
        self.report_config_errors(&load);
        excluded
    }

    /// Reads the configuration files again (for the workspace folders) when next needed.
    pub(crate) fn reload_configs(&self) {
        let generation = self.configs.reload(&self.session().folders);
        tracing::info!(generation, "configuration reloaded");
    }

    /// Shows the configuration errors met by `load` that were not shown yet, and logs them.
    pub(crate) fn report_config_errors(&self, load: &crate::config::Load) {
        for error in load.unreported_errors() {
            tracing::error!("configuration: {error}");
            let message = format!("aiolint: {error} (using the default settings there)");
            let client = self.client.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime
                    .spawn(async move { client.show_message(MessageType::ERROR, message).await });
            }
        }
    }

    pub(crate) fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
    }

    /// Whether `shutdown` was requested; background work stops early once it was.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}
