//! Turning an [`Outcome`] into a verdict on one finding.
//!
//! The rule is the one in `SPEC.md`: never pretend. `confirmed` needs evidence measured or
//! observed *at the flagged line* (a stall whose sampled stack contains the line, a
//! never-awaited coroutine created on it, a nested-run `RuntimeError` raised by a call on it).
//! When the flagged line could not be exercised the verdict is `skipped` with the reason;
//! when it was exercised without evidence it is `not-confirmed`.

use std::fmt::{self, Write as _};

use crate::outcome::{LineEvent, Outcome, Phase, ProbeFailureKind};

/// What kind of finding a probe is meant to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// The flagged line blocks the event loop (blocking sleep, blocking call, or a call of a
    /// sync function that blocks). Confirmed by a stall whose sampled stack contains the line.
    Blocking,
    /// The flagged line creates a coroutine that is never awaited. Confirmed by the
    /// interpreter's `RuntimeWarning` for a coroutine created at that line.
    NeverAwaited,
    /// The flagged line runs an event loop while one is running. Confirmed by the
    /// `RuntimeError` raised by a call at (or below) that line.
    NestedRun,
    /// The flagged line creates a task that is destroyed while pending. Confirmed by the
    /// loop's "Task was destroyed but it is pending!" report for a task created at that line.
    PendingTaskDestroyed,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Blocking => "blocking",
            Self::NeverAwaited => "never-awaited",
            Self::NestedRun => "nested-run",
            Self::PendingTaskDestroyed => "pending-task-destroyed",
        })
    }
}

/// The three verdicts of `aiolint confirm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Evidence was measured or observed at the flagged line.
    Confirmed,
    /// The flagged line ran, and the evidence did not show up.
    NotConfirmed,
    /// The finding could not be exercised (no probe, the probe failed before the line, ...).
    Skipped,
}

impl Verdict {
    /// The verdict as written in reports: `confirmed`, `not-confirmed` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::NotConfirmed => "not-confirmed",
            Self::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict on one finding with its evidence, shaped like the `confirmation` object of
/// `aiolint confirm --output-format json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The verdict.
    pub verdict: Verdict,
    /// One sentence explaining the verdict (what was measured or why nothing was).
    pub detail: String,
    /// For blocking findings, the measured stall in milliseconds: the stall at the flagged
    /// line when confirmed, else the longest stall seen (if any).
    pub stall_ms: Option<u64>,
}

impl Confirmation {
    /// A `skipped` verdict, for findings the caller could not build a probe for.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Skipped,
            detail: reason.into(),
            stall_ms: None,
        }
    }

    fn confirmed(detail: String, stall_ms: Option<u64>) -> Self {
        Self {
            verdict: Verdict::Confirmed,
            detail,
            stall_ms,
        }
    }

    fn not_confirmed(detail: String, stall_ms: Option<u64>) -> Self {
        Self {
            verdict: Verdict::NotConfirmed,
            detail,
            stall_ms,
        }
    }
}

fn at_line(events: &[LineEvent], line: u32, innermost_only: bool) -> Option<&LineEvent> {
    events.iter().find(|event| {
        if innermost_only {
            event.line() == Some(line)
        } else {
            event.lines.contains(&line)
        }
    })
}

fn where_(lines: &[u32]) -> String {
    lines.first().map_or_else(
        || "outside the probe's file".to_owned(),
        |l| format!("at line {l}"),
    )
}

fn secs(duration: std::time::Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

impl Outcome {
    /// Decides whether the probe confirms a finding of `kind` at [`Outcome::flagged_line`].
    pub fn confirm(&self, kind: FindingKind) -> Confirmation {
        let line = self.flagged_line;
        let longest_ms = self.max_stall().map(crate::Stall::millis);
        match kind {
            FindingKind::Blocking => {
                if let Some(stall) = self.stall_at(line) {
                    let ms = stall.millis();
                    let at_least = if stall.cut_by_deadline {
                        "at least "
                    } else {
                        ""
                    };
                    let seen = stall
                        .samples
                        .iter()
                        .filter(|sample| sample.contains(&line))
                        .count();
                    let mut detail = if seen == stall.samples.len() {
                        format!("event loop blocked for {at_least}{ms} ms at line {line}")
                    } else {
                        // The stall also covered other code: say how much of it was this line.
                        format!(
                            "event loop blocked for {at_least}{ms} ms; line {line} was executing in {seen} of the {} stack samples taken during the stall",
                            stall.samples.len()
                        )
                    };
                    let inner = stall
                        .samples
                        .iter()
                        .find(|sample| sample.contains(&line))
                        .and_then(|sample| sample.first().copied());
                    if let Some(inner) = inner.filter(|&inner| inner != line) {
                        let _ = write!(detail, " (blocking inside the call, at line {inner})");
                    }
                    if stall.cut_by_deadline {
                        let _ = write!(
                            detail,
                            "; the probe was killed at its {} deadline",
                            secs(self.timeout)
                        );
                    }
                    return Confirmation::confirmed(detail, Some(ms));
                }
            }
            FindingKind::NeverAwaited => {
                if let Some(event) = at_line(&self.never_awaited, line, true) {
                    return Confirmation::confirmed(
                        format!(
                            "coroutine `{}` created at line {line} was never awaited (RuntimeWarning)",
                            event.detail
                        ),
                        None,
                    );
                }
            }
            FindingKind::NestedRun => {
                if let Some(event) = at_line(&self.nested_runs, line, false) {
                    return Confirmation::confirmed(
                        format!("RuntimeError at line {line}: {}", event.detail),
                        None,
                    );
                }
            }
            FindingKind::PendingTaskDestroyed => {
                if let Some(event) = at_line(&self.pending_destroyed, line, true) {
                    return Confirmation::confirmed(
                        format!(
                            "task created at line {line} was destroyed while pending: {}",
                            event.detail
                        ),
                        None,
                    );
                }
            }
        }
        let stall_ms = if kind == FindingKind::Blocking {
            longest_ms
        } else {
            None
        };
        if let Some(reason) = self.skip_reason() {
            return Confirmation {
                verdict: crate::Verdict::Skipped,
                detail: reason,
                stall_ms,
            };
        }
        Confirmation::not_confirmed(self.absence_detail(kind), stall_ms)
    }

    /// Why the flagged line was not exercised, if it was not.
    fn skip_reason(&self) -> Option<String> {
        if let Some(failure) = &self.failure {
            let what = match failure.kind {
                ProbeFailureKind::Syntax => "the probe does not compile",
                ProbeFailureKind::Setup => "executing the probe module failed",
                ProbeFailureKind::Entry => "the probe's entry function was not found",
                ProbeFailureKind::Harness => "the harness failed",
            };
            let location = failure
                .lines
                .first()
                .map(|l| format!(" at line {l}"))
                .unwrap_or_default();
            return Some(format!("{what}{location}: {}", failure.message));
        }
        if let Some(crash) = &self.crash {
            let when = if self.flagged_line_reached {
                "after reaching the flagged line"
            } else {
                "before reaching the flagged line"
            };
            return Some(format!(
                "the interpreter died {when} ({}); stderr: {}",
                crash.exit,
                last_line(&crash.stderr_tail)
            ));
        }
        if !self.started {
            return Some(match self.timed_out {
                Some(Phase::Setup) => {
                    "interpreter start-up or the probe module did not finish before the start-up deadline; killed"
                        .to_owned()
                }
                _ => "the probe did not start".to_owned(),
            });
        }
        if !self.flagged_line_reached {
            let why = if let Some(exception) = &self.exception {
                format!(
                    "; the probe raised {} {} first{}",
                    exception.detail,
                    where_(&exception.lines),
                    self.limit_hint(&exception.detail)
                )
            } else if self.timed_out == Some(Phase::Running) {
                format!(
                    "; the probe was killed at its {} deadline",
                    secs(self.timeout)
                )
            } else {
                String::new()
            };
            return Some(format!(
                "line {} was never executed by the probe{why}",
                self.flagged_line
            ));
        }
        None
    }

    /// When an exception is what a containment limit raises, which limit: ` (the probe's
    /// memory is limited to 1024 MiB)`; else empty.
    fn limit_hint(&self, exception: &str) -> String {
        let memory = self
            .memory_limit
            .filter(|_| exception.starts_with("MemoryError"));
        if let Some(bytes) = memory {
            return format!(" (the probe's memory is limited to {} MiB)", bytes >> 20);
        }
        // EAGAIN from fork or thread creation under the cgroup's `pids.max`.
        let processes = self.isolation.process_limit.filter(|_| {
            exception.starts_with("BlockingIOError: [Errno 11]")
                || exception.starts_with("RuntimeError: can't start new thread")
        });
        if let Some(limit) = processes {
            return format!(" (the probe may have at most {limit} processes and threads)");
        }
        String::new()
    }

    /// What was (not) seen, for a `not-confirmed` verdict.
    fn absence_detail(&self, kind: FindingKind) -> String {
        let line = self.flagged_line;
        let mut detail = match kind {
            FindingKind::Blocking => match self.max_stall() {
                Some(stall) => format!(
                    "line {line} ran without blocking the loop; the longest stall was {} ms {}",
                    stall.millis(),
                    where_(&stall.lines)
                ),
                None => format!(
                    "line {line} ran without blocking the loop for more than {} ms (longest heartbeat gap {} ms)",
                    self.stall_threshold.as_millis(),
                    self.max_gap.as_millis()
                ),
            },
            FindingKind::NeverAwaited => {
                let mut d = format!("no coroutine created at line {line} went unawaited");
                if let Some(other) = self.never_awaited.first() {
                    let _ = write!(d, " (`{}` {} did)", other.detail, where_(&other.lines));
                }
                d
            }
            FindingKind::NestedRun => {
                format!("no nested-run RuntimeError was raised at line {line}")
            }
            FindingKind::PendingTaskDestroyed => {
                format!("no task created at line {line} was destroyed while pending")
            }
        };
        if let Some(phase) = self.timed_out {
            let _ = write!(
                detail,
                "; killed at the {} deadline while {phase}",
                secs(self.timeout)
            );
        }
        detail
    }
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(empty)")
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::outcome::{Crash, ExitInfo, ProbeFailure, Stall};

    pub(crate) fn empty_outcome() -> Outcome {
        Outcome {
            filename: "app.py".into(),
            flagged_line: 12,
            stall_threshold: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
            memory_limit: Some(1 << 30),
            stalls: Vec::new(),
            max_gap: Duration::from_millis(7),
            heartbeats: 40,
            started: true,
            finished: true,
            flagged_line_reached: true,
            never_awaited: Vec::new(),
            pending_destroyed: Vec::new(),
            nested_runs: Vec::new(),
            network_refused: Vec::new(),
            loop_errors: Vec::new(),
            exception: None,
            failure: None,
            timed_out: None,
            crash: None,
            exit: ExitInfo {
                code: Some(0),
                signal: None,
            },
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            wall_time: Duration::from_millis(300),
            cleanup_error: None,
            isolation: crate::Isolation::default(),
        }
    }

    fn stall(ms: u64, lines: &[u32], cut: bool) -> Stall {
        Stall {
            duration: Duration::from_millis(ms),
            line: lines.first().copied(),
            lines: lines.to_vec(),
            samples: vec![lines.to_vec()],
            during_entry: true,
            cut_by_deadline: cut,
        }
    }

    fn event(lines: &[u32], detail: &str) -> LineEvent {
        LineEvent {
            lines: lines.to_vec(),
            detail: detail.into(),
        }
    }

    #[test]
    fn blocking_needs_a_stall_at_the_flagged_line() {
        let mut outcome = empty_outcome();
        outcome.stalls = vec![stall(503, &[12], false)];
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::Confirmed);
        assert_eq!(c.stall_ms, Some(503));
        assert_eq!(c.detail, "event loop blocked for 503 ms at line 12");

        outcome.stalls = vec![stall(503, &[30, 12], false)];
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::Confirmed);
        assert!(c.detail.contains("at line 30"), "{}", c.detail);

        let mut mixed = stall(1800, &[9, 12], false);
        mixed.samples = vec![vec![9], vec![9], vec![12], vec![]];
        outcome.stalls = vec![mixed];
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::Confirmed);
        assert_eq!(
            c.detail,
            "event loop blocked for 1800 ms; line 12 was executing in 1 of the 4 stack samples taken during the stall"
        );

        outcome.stalls = vec![stall(503, &[13], false), stall(900, &[], false)];
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::NotConfirmed);
        assert_eq!(c.stall_ms, Some(900));

        outcome.stalls.clear();
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::NotConfirmed);
        assert_eq!(c.stall_ms, None);
        assert!(
            c.detail.contains("longest heartbeat gap 7 ms"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn deadline_cut_stalls_say_at_least() {
        let mut outcome = empty_outcome();
        outcome.timeout = Duration::from_millis(1500);
        outcome.timed_out = Some(Phase::Running);
        outcome.finished = false;
        outcome.stalls = vec![stall(1504, &[12], true)];
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::Confirmed);
        assert_eq!(
            c.detail,
            "event loop blocked for at least 1504 ms at line 12; the probe was killed at its 1.5 s deadline"
        );
    }

    #[test]
    fn never_awaited_needs_the_creation_line() {
        let mut outcome = empty_outcome();
        outcome.never_awaited = vec![event(&[14, 12], "fetch")];
        assert_eq!(
            outcome.confirm(FindingKind::NeverAwaited).verdict,
            Verdict::NotConfirmed
        );
        outcome.never_awaited.push(event(&[12], "fetch"));
        let c = outcome.confirm(FindingKind::NeverAwaited);
        assert_eq!(c.verdict, Verdict::Confirmed);
        assert!(c.detail.contains("`fetch`"));
    }

    #[test]
    fn nested_run_accepts_the_call_chain() {
        let mut outcome = empty_outcome();
        outcome.nested_runs = vec![event(
            &[40, 12],
            "asyncio.run() cannot be called from a running event loop",
        )];
        assert_eq!(
            outcome.confirm(FindingKind::NestedRun).verdict,
            Verdict::Confirmed
        );
        assert_eq!(
            outcome.confirm(FindingKind::Blocking).verdict,
            Verdict::NotConfirmed
        );
    }

    #[test]
    fn unexercised_lines_are_skipped() {
        let mut outcome = empty_outcome();
        outcome.flagged_line_reached = false;
        outcome.exception = Some(event(&[5], "PermissionError: no network"));
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::Skipped);
        assert!(c.detail.contains("PermissionError"), "{}", c.detail);
        assert!(!c.detail.contains("limited"), "{}", c.detail);

        // Exceptions that containment limits raise say which limit.
        outcome.exception = Some(event(&[5], "MemoryError"));
        assert_eq!(
            outcome.confirm(FindingKind::Blocking).detail,
            "line 12 was never executed by the probe; the probe raised MemoryError at line 5 first (the probe's memory is limited to 1024 MiB)"
        );
        outcome.exception = Some(event(
            &[5],
            "BlockingIOError: [Errno 11] Resource temporarily unavailable",
        ));
        outcome.isolation.process_limit = Some(128);
        assert!(
            outcome
                .confirm(FindingKind::Blocking)
                .detail
                .ends_with("first (the probe may have at most 128 processes and threads)")
        );

        let mut outcome = empty_outcome();
        outcome.failure = Some(ProbeFailure {
            kind: ProbeFailureKind::Syntax,
            lines: vec![3],
            message: "SyntaxError: invalid syntax".into(),
        });
        let c = outcome.confirm(FindingKind::NestedRun);
        assert_eq!(c.verdict, Verdict::Skipped);
        assert!(c.detail.contains("at line 3"));

        let mut outcome = empty_outcome();
        outcome.crash = Some(Crash {
            exit: ExitInfo {
                code: None,
                signal: Some(11),
            },
            stderr_tail: "Fatal Python error: Segmentation fault\n\n".into(),
        });
        let c = outcome.confirm(FindingKind::Blocking);
        assert_eq!(c.verdict, Verdict::Skipped);
        assert!(c.detail.contains("signal 11"), "{}", c.detail);
        assert!(c.detail.contains("Segmentation fault"), "{}", c.detail);

        let mut outcome = empty_outcome();
        outcome.started = false;
        outcome.timed_out = Some(Phase::Setup);
        assert_eq!(
            outcome.confirm(FindingKind::Blocking).verdict,
            Verdict::Skipped
        );
    }

    #[test]
    fn evidence_beats_a_crash() {
        let mut outcome = empty_outcome();
        outcome.stalls = vec![stall(700, &[12], false)];
        outcome.crash = Some(Crash {
            exit: ExitInfo {
                code: None,
                signal: Some(9),
            },
            stderr_tail: String::new(),
        });
        assert_eq!(
            outcome.confirm(FindingKind::Blocking).verdict,
            Verdict::Confirmed
        );
    }

    #[test]
    fn verdicts_print_like_the_json_contract() {
        assert_eq!(Verdict::Confirmed.to_string(), "confirmed");
        assert_eq!(Verdict::NotConfirmed.to_string(), "not-confirmed");
        assert_eq!(Verdict::Skipped.to_string(), "skipped");
        assert_eq!(
            Confirmation::skipped("needs arguments").verdict,
            Verdict::Skipped
        );
    }
}
