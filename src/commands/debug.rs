//! `aiolint debug --parse-only PATHS`: reads and parses every Python file under the paths, in
//! parallel as `check` does, and nothing else. The benchmark runs it beside `check` on the same
//! files to measure the parser's floor.

use std::process::ExitCode;

use analyzer::ParsedModule;
use rayon::prelude::*;

use crate::args::DebugArgs;
use crate::discover::python_files;

pub(crate) fn run(args: &DebugArgs) -> ExitCode {
    let discovered = python_files(&args.parse_only);
    let (lines, errors) = discovered
        .files
        .par_iter()
        .map(|path| match std::fs::read_to_string(path) {
            Ok(text) => {
                let clean = ParsedModule::parse(&text).is_some_and(|parsed| parsed.is_valid());
                (text.lines().count(), usize::from(!clean))
            }
            Err(_) => (0, 1),
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    eprintln!(
        "parsed {} files, {lines} lines ({errors} unreadable or with syntax errors)",
        discovered.files.len()
    );
    ExitCode::SUCCESS
}
