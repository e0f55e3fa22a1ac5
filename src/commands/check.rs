//! `aiolint check`: discover files, analyse them in parallel, print the findings.

use std::path::Path;
use std::process::ExitCode;

use analyzer::{Diagnostic, RuleSelection, Settings, SourceFile, SourceKind, check_file, io_error};
use rayon::prelude::*;

use crate::args::CheckArgs;
use crate::commands::fix;
use crate::discover::python_files;
use crate::printer::{self, FileReport};

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let rules = RuleSelection::from_selectors(args.select.as_deref(), &args.ignore)?;
    let settings = Settings {
        rules,
        ..Settings::default()
    };
    let discovered = python_files(&args.paths);
    for error in &discovered.errors {
        eprintln!("aiolint: error: {error}");
    }
    if let Some(mode) = fix::Mode::from_args(args) {
        return fix::run(args, mode, &discovered, &settings);
    }
    let mut reports: Vec<FileReport> = discovered
        .files
        .par_iter()
        .map(|path| check_path(path, &settings))
        .collect();
    reports.retain(|r| !r.diagnostics.is_empty());
    let findings: usize = reports.iter().map(|r| r.diagnostics.len()).sum();
    if args.statistics {
        printer::statistics(&reports)?;
    } else {
        printer::findings(&reports, args.output_format)?;
    }
    Ok(if !discovered.errors.is_empty() {
        ExitCode::from(2)
    } else if findings > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads and checks one file; unreadable or undecodable files become an `E902` finding.
fn check_path(path: &Path, settings: &Settings) -> FileReport {
    let file = match read_source(path) {
        Ok(file) => file,
        Err(report) => return report,
    };
    let diagnostics: Vec<Diagnostic> = check_file(&file, settings);
    FileReport { file, diagnostics }
}

/// Reads one file for checking; an unreadable or undecodable file becomes a report with its
/// `E902` finding.
pub(crate) fn read_source(path: &Path) -> Result<SourceFile, FileReport> {
    let display = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let offset = error.utf8_error().valid_up_to();
                let message = format!("file is not valid UTF-8 (invalid byte at offset {offset})");
                return Err(FileReport::unreadable(display, io_error(message)));
            }
        },
        Err(error) => {
            return Err(FileReport::unreadable(
                display,
                io_error(format!("cannot read file: {error}")),
            ));
        }
    };
    let mut file = SourceFile::new(display, text);
    if path.extension().is_some_and(|e| e == "pyi") {
        file.kind = SourceKind::Stub;
    }
    Ok(file)
}
