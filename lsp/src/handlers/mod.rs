//! One module per group of LSP methods. Each handler converts the request in, asks the state or
//! the analyzer, and converts the answer out; `server.rs` only delegates here.

pub(crate) mod code_action;
pub(crate) mod diagnostics;
pub(crate) mod execute_command;
pub(crate) mod hover;
pub(crate) mod lifecycle;
pub(crate) mod text_sync;
pub(crate) mod workspace;
