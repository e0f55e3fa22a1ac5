//! The `LanguageServer` implementation: one line per method, delegating to `handlers`.

use std::sync::Arc;

use tower_lsp_server::LanguageServer;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    CodeActionParams, CodeActionResponse, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandParams, Hover, HoverParams,
    InitializeParams, InitializeResult, InitializedParams, LSPAny,
};

use crate::handlers::{code_action, execute_command, hover, lifecycle, text_sync, workspace};
use crate::state::State;

#[derive(Debug)]
pub(crate) struct Server(pub(crate) Arc<State>);

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        lifecycle::initialize(&self.0, &params)
    }

    async fn initialized(&self, _: InitializedParams) {
        lifecycle::initialized(&self.0);
    }

    async fn shutdown(&self) -> Result<()> {
        lifecycle::shutdown(&self.0);
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        text_sync::did_open(&self.0, params);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        text_sync::did_change(&self.0, &params);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        text_sync::did_save(&self.0, &params);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        text_sync::did_close(&self.0, params).await;
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        guarded(code_action::code_action(Arc::clone(&self.0), params)).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        guarded(hover::hover(Arc::clone(&self.0), params)).await
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        workspace::did_change_watched_files(&self.0, params);
    }

    async fn did_change_configuration(&self, _: DidChangeConfigurationParams) {
        workspace::did_change_configuration(&self.0);
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        guarded(execute_command::execute_command(
            Arc::clone(&self.0),
            params,
        ))
        .await
    }
}

/// Runs a request handler as a task of its own, so that a bug that makes it panic answers that
/// request with an internal error instead of taking the server down.
async fn guarded<T: Send + 'static>(
    handler: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(handler).await.unwrap_or_else(|error| {
        tracing::error!("request handler failed: {error}");
        Err(Error::internal_error())
    })
}
