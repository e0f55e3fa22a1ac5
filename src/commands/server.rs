//! `aiolint server`: the language server over stdio. The runtime, logging and protocol live in
//! the `lsp` crate; this only maps the outcome to an exit status.

use std::process::ExitCode;

use anyhow::Context;

use crate::args::ServerArgs;

pub(crate) fn run(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    let options = lsp::Options {
        log_level: args.log_level.clone(),
    };
    let clean = lsp::run_stdio(&options).context("while running the language server")?;
    // The protocol's `exit`: status 0 after `shutdown`, 1 without it.
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
