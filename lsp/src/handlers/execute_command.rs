//! `workspace/executeCommand`.

use std::borrow::Cow;

use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{ExecuteCommandParams, LSPAny};

use crate::capabilities::CONFIRM_COMMAND;

/// LSP's `RequestFailed`: the request was valid but could not be carried out.
const REQUEST_FAILED: i64 = -32803;

pub(crate) fn execute_command(params: &ExecuteCommandParams) -> Result<Option<LSPAny>> {
    if params.command == CONFIRM_COMMAND {
        // The command is registered so that editors can offer it, but the reference executor
        // is not connected to the server yet: say so rather than pretend it ran.
        return Err(Error {
            code: ErrorCode::ServerError(REQUEST_FAILED),
            message: Cow::Borrowed(
                "aiolint.confirm is not available yet: the reference executor is not connected \
                 to the language server",
            ),
            data: None,
        });
    }
    Err(Error::invalid_params(format!(
        "unknown command `{}`; this server provides `{CONFIRM_COMMAND}`",
        params.command
    )))
}
