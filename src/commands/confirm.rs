//! `aiolint confirm`: check, plan a probe for each finding, run the probes in real Python with
//! the reference executor, and print each finding with its verdict.
//!
//! This is the only command that runs the user's code, and only the code a probe is cut from.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use analyzer::{RuleSelection, Settings, plan_probes};
use anyhow::Context as _;
use lsp::confirm::{PlannedFinding, confirm_planned, import_root};
use rayon::prelude::*;
use runtime_check::{Confirmation, Options};

use crate::args::ConfirmArgs;
use crate::discover::python_files;
use crate::printer::{self, FileReport};

pub(crate) fn run(args: &ConfirmArgs) -> anyhow::Result<ExitCode> {
    let rules = RuleSelection::from_selectors(args.select.as_deref(), &args.ignore)?;
    let settings = Settings {
        rules,
        ..Settings::default()
    };
    let discovered = python_files(&args.paths);
    for error in &discovered.errors {
        eprintln!("aiolint: error: {error}");
    }
    // The same analysis as `check`.
    let mut reports = crate::project::check_paths(&discovered.files, &settings, None).reports;
    reports.retain(|r| !r.diagnostics.is_empty());
    reports.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    for report in &mut reports {
        report
            .diagnostics
            .sort_by_key(|d| (d.range.start, d.range.end, d.code()));
    }

    let findings: Vec<PlannedFinding> = reports
        .par_iter()
        .map(|report| {
            plan_probes(&report.file, &report.diagnostics)
                .into_iter()
                .map(|planned| PlannedFinding {
                    filename: report.file.path.clone(),
                    planned,
                })
                .collect::<Vec<_>>()
        })
        .flatten()
        .collect();
    let defaults = Options::default();
    let options = Options {
        python: args.python.clone(),
        timeout: Duration::from_secs_f64(args.timeout),
        jobs: args.jobs.map_or(defaults.jobs, usize::from),
        python_path: import_roots(&reports),
        ..defaults
    };
    let confirmed = confirm_planned(&findings, &options)
        .with_context(|| format!("cannot run the probes with `{}`", args.python.display()))?;
    // Where the kernel refused a layer of containment, say so (once, whatever the count).
    for shortcoming in confirmed
        .isolation
        .map(|isolation| isolation.shortcomings())
        .unwrap_or_default()
    {
        eprintln!("aiolint: note: probe isolation: {shortcoming}");
    }
    let mut confirmations = confirmed.confirmations.into_iter();
    let confirmed: Vec<(&FileReport, Vec<Confirmation>)> = reports
        .iter()
        .map(|report| {
            let verdicts = confirmations
                .by_ref()
                .take(report.diagnostics.len())
                .collect();
            (report, verdicts)
        })
        .collect();
    printer::confirmations(&confirmed, args.output_format)?;
    Ok(if !discovered.errors.is_empty() {
        ExitCode::from(2)
    } else if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The directories the probes need on `sys.path` to import the project's own modules.
fn import_roots(reports: &[FileReport]) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = reports
        .iter()
        .filter_map(|r| import_root(Path::new(&r.file.path)))
        .collect();
    roots.sort();
    roots.dedup();
    roots
}
