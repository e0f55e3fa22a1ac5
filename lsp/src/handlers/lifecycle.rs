//! `initialize`, `initialized` and `shutdown`.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{InitializeParams, InitializeResult, ServerInfo};

use crate::capabilities;
use crate::handlers::workspace;
use crate::state::State;

pub(crate) fn initialize(state: &State, params: &InitializeParams) -> Result<InitializeResult> {
    let session = capabilities::session(params);
    let encoding = session.encoding;
    let folders = session.folders.clone();
    tracing::info!(
        ?encoding,
        folders = session.folders.len(),
        client = params
            .client_info
            .as_ref()
            .map_or("unknown", |c| c.name.as_str()),
        "initialize"
    );
    if !state.start_session(session) {
        return Err(Error::invalid_request());
    }
    // Configuration files are looked up under the workspace folders from now on.
    state.configs.reload(&folders);
    Ok(InitializeResult {
        capabilities: capabilities::server_capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "aiolint".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
        offset_encoding: None,
    })
}

pub(crate) fn initialized(state: &Arc<State>) {
    workspace::start(state);
}

pub(crate) fn shutdown(state: &State) {
    tracing::info!("shutdown");
    state.request_shutdown();
}
