//! The `aiolint` command line: a thin front over the analyzer.

mod allocator;
mod args;
mod cache;
mod commands;
mod config;
mod discover;
mod printer;
mod project;

use std::process::ExitCode;

use clap::Parser;

use args::{App, Command};

fn main() -> ExitCode {
    allocator::install();
    let app = App::parse();
    let result = match app.command {
        Command::Check(args) => commands::check::run(&args),
        Command::Rule(args) => commands::rule::run(&args),
        Command::Server(args) => commands::server::run(&args),
        Command::Confirm(args) => commands::confirm::run(&args),
        Command::Debug(args) => Ok(commands::debug::run(&args)),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("aiolint: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
