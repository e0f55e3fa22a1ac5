//! Confirming findings by running them: the glue between the analyzer's probe plans
//! ([`analyzer::plan_probes`]) and the reference executor ([`runtime_check::run_probes`]).
//!
//! `aiolint confirm` and the server's `aiolint.confirm` command both go through
//! [`confirm_planned`], so a finding gets the same verdict from the command line and from the
//! editor. It lives in this crate because it is the one library that may depend on both the
//! analyzer and the executor (which must not know each other); it does IO (it runs Python).

use analyzer::{Planned, ProbeEntry, ProbeKind, ProbePlan};
use runtime_check::{Confirmation, Entry, FindingKind, Isolation, Options, Probe, Verdict};

/// One finding to confirm: the file it is in (a label for reports and tracebacks) and its plan.
#[derive(Clone, Debug)]
pub struct PlannedFinding {
    pub filename: String,
    pub planned: Planned,
}

/// The confirmations of [`confirm_planned`], and how the probes were contained.
#[derive(Clone, Debug)]
pub struct Confirmed {
    /// One per finding, in order.
    pub confirmations: Vec<Confirmation>,
    /// What every probe that ran had ([`Isolation::common`]); `None` when none ran.
    pub isolation: Option<Isolation>,
}

/// Runs the probes of `findings` (up to [`Options::jobs`] at once) and returns one
/// confirmation per finding, in order, with the isolation the probes had.
///
/// A finding without a probe is `skipped` with the planner's reason. A probe whose context
/// failed before the flagged line (the module did not execute: a third-party import missing
/// from the interpreter, a name the module context left out) is retried with the plan's
/// fallback, the flagged statement alone, in a second round.
pub fn confirm_planned(
    findings: &[PlannedFinding],
    options: &Options,
) -> Result<Confirmed, runtime_check::Error> {
    let mut isolation = None;
    let mut confirmations: Vec<Confirmation> = findings
        .iter()
        .map(|f| match &f.planned {
            Planned::Skipped(reason) => Confirmation::skipped(reason.clone()),
            Planned::Probe { .. } => Confirmation::skipped("not run"),
        })
        .collect();
    let primary: Vec<(usize, &ProbePlan)> = findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.planned {
            Planned::Probe { probe, .. } => Some((i, probe)),
            Planned::Skipped(_) => None,
        })
        .collect();
    let mut context_failed = vec![false; findings.len()];
    for ((index, _), (confirmation, failed)) in
        primary
            .iter()
            .zip(run(findings, &primary, options, &mut isolation)?)
    {
        confirmations[*index] = confirmation;
        context_failed[*index] = failed;
    }
    let fallbacks: Vec<(usize, &ProbePlan)> = findings
        .iter()
        .enumerate()
        .filter(|(i, _)| context_failed[*i])
        .filter_map(|(i, f)| match &f.planned {
            Planned::Probe {
                fallback: Some(fallback),
                ..
            } => Some((i, fallback)),
            _ => None,
        })
        .collect();
    for ((index, _), (second, _)) in
        fallbacks
            .iter()
            .zip(run(findings, &fallbacks, options, &mut isolation)?)
    {
        let first = &confirmations[*index];
        confirmations[*index] = if second.verdict == Verdict::Skipped {
            Confirmation::skipped(format!(
                "{}; the flagged statement alone: {}",
                first.detail, second.detail
            ))
        } else {
            Confirmation {
                detail: format!(
                    "{} (the flagged statement run alone, since the coroutine's module could not be run: {})",
                    second.detail, first.detail
                ),
                ..second
            }
        };
    }
    Ok(Confirmed {
        confirmations,
        isolation,
    })
}

/// Runs the plans and returns each one's confirmation, and whether the flagged line went
/// unexercised because the probe's context failed: the module did not compile or execute, the
/// entry was missing, or the code raised or crashed before reaching the line (a name the
/// module context left out). A coroutine that ran to its end without reaching the line is not
/// such a failure: the line does not run on that path, and running it alone would prove
/// nothing about the coroutine. Each probe's isolation is folded into `isolation`.
fn run(
    findings: &[PlannedFinding],
    plans: &[(usize, &ProbePlan)],
    options: &Options,
    isolation: &mut Option<Isolation>,
) -> Result<Vec<(Confirmation, bool)>, runtime_check::Error> {
    let probes: Vec<Probe> = plans
        .iter()
        .map(|(index, plan)| probe(plan, &findings[*index].filename))
        .collect();
    let outcomes = runtime_check::run_probes(probes, options)?;
    for outcome in &outcomes {
        *isolation = Some(isolation.map_or(outcome.isolation, |i| i.common(outcome.isolation)));
    }
    Ok(plans
        .iter()
        .zip(&outcomes)
        .map(|((_, plan), outcome)| {
            let confirmation = outcome.confirm(finding_kind(plan.kind));
            let failed = confirmation.verdict == Verdict::Skipped
                && !outcome.flagged_line_reached
                && (outcome.failure.is_some()
                    || outcome.exception.is_some()
                    || outcome.crash.is_some()
                    || !outcome.started);
            (confirmation, failed)
        })
        .collect())
}

/// The executor's probe for a plan.
pub fn probe(plan: &ProbePlan, filename: &str) -> Probe {
    Probe {
        source: plan.source.clone(),
        entry: match &plan.entry {
            ProbeEntry::Function(name) => Entry::Function(name.clone()),
            ProbeEntry::Statements => Entry::Statements,
        },
        filename: filename.to_string(),
        first_line: plan.first_line,
        flagged_line: plan.flagged_line,
    }
}

/// The executor's name for the evidence a plan looks for.
pub fn finding_kind(kind: ProbeKind) -> FindingKind {
    match kind {
        ProbeKind::Blocking => FindingKind::Blocking,
        ProbeKind::NeverAwaited => FindingKind::NeverAwaited,
        ProbeKind::NestedRun => FindingKind::NestedRun,
        ProbeKind::PendingTaskDestroyed => FindingKind::PendingTaskDestroyed,
    }
}

/// The directories a probe of the file at `path` needs on `sys.path` for its imports of
/// project modules: the first ancestor directory that is not a package (has no `__init__.py`).
pub fn import_root(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut dir = std::fs::canonicalize(path).ok()?.parent()?.to_path_buf();
    for _ in 0..64 {
        if !dir.join("__init__.py").is_file() {
            return Some(dir);
        }
        dir = dir.parent()?.to_path_buf();
    }
    Some(dir)
}
