//! The line protocol spoken by `harness.py` on the event pipe.
//!
//! Every event is one line (see the harness's module docstring for the list). Stack dumps
//! requested with `SIGUSR1` arrive in `faulthandler`'s own format on the same pipe.

use crate::outcome::Isolation;

/// A parsed event line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// Written by the supervisor's code in the child before `exec`: how the probe is
    /// contained (`ISO net=N pid=N proc=N ro=N caps=N user=N pids=LIMIT`).
    Isolation(Isolation),
    /// Hooks installed; stack dumps may be requested from now on.
    Ready,
    /// A heartbeat tick, with the loop's clock when it was written (nanoseconds of
    /// `CLOCK_MONOTONIC`), if given.
    Tick(Option<u64>),
    /// The probe's code starts running on the loop (at the loop's clock, if given).
    Start(Option<u64>),
    /// The flagged line was executed.
    Hit(u32),
    /// The probe's code finished; `ok` is false when it raised (at the loop's clock, if
    /// given).
    End { ok: bool, at: Option<u64> },
    /// An exception raised by the probe's code.
    Exception(Located),
    /// A coroutine that was never awaited.
    NeverAwaited(Located),
    /// A task destroyed while pending.
    PendingDestroyed(Located),
    /// `RuntimeError` from a nested `asyncio.run` / `run_until_complete`.
    NestedRun(Located),
    /// Network access refused.
    NetworkRefused(Located),
    /// Another call of the loop's exception handler.
    LoopError(Located),
    /// The probe could not be run.
    Failure { kind: String, located: Located },
    /// The heartbeat stopped; stall measurement ends.
    HeartbeatStop,
    /// The harness is about to exit.
    Done,
    /// `faulthandler`'s header: a new stack dump starts.
    StackHeader,
    /// One frame of a stack dump, innermost first.
    Frame { file: String, line: u32 },
    /// Anything else (ignored).
    Unknown,
}

/// Text of an event with the probe-file lines it was attributed to (innermost first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Located {
    pub(crate) lines: Vec<u32>,
    pub(crate) text: String,
}

/// Parses one line (without its newline).
pub(crate) fn parse_line(line: &str) -> Event {
    if let Some(frame) = parse_frame(line) {
        return frame;
    }
    let line = line.trim_end_matches('\r');
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    match tag {
        "H" => Event::Tick(rest.split(' ').nth(1).and_then(|at| at.parse().ok())),
        "ISO" => Event::Isolation(parse_isolation(rest)),
        "READY" => Event::Ready,
        "START" => Event::Start(rest.trim().parse().ok()),
        "HIT" => rest.trim().parse().map_or(Event::Unknown, Event::Hit),
        "END" => {
            let (outcome, at) = rest.split_once(' ').unwrap_or((rest, ""));
            Event::End {
                ok: outcome == "ok",
                at: at.trim().parse().ok(),
            }
        }
        "EXC" => Event::Exception(parse_located(rest)),
        "NA" => Event::NeverAwaited(parse_located(rest)),
        "PD" => Event::PendingDestroyed(parse_located(rest)),
        "NR" => Event::NestedRun(parse_located(rest)),
        "NET" => Event::NetworkRefused(parse_located(rest)),
        "LOOPERR" => Event::LoopError(parse_located(rest)),
        "FAIL" => {
            let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            Event::Failure {
                kind: kind.to_owned(),
                located: parse_located(rest),
            }
        }
        "HBSTOP" => Event::HeartbeatStop,
        "DONE" => Event::Done,
        "Stack" if rest.starts_with("(most recent call first)") => Event::StackHeader,
        _ => Event::Unknown,
    }
}

/// Parses the fields of an `ISO` line; a missing or garbled field means "not isolated".
fn parse_isolation(rest: &str) -> Isolation {
    let mut isolation = Isolation::default();
    for field in rest.split_whitespace() {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        match key {
            "net" => isolation.network_namespace = value == "1",
            "pid" => isolation.pid_namespace = value == "1",
            "proc" => isolation.private_proc = value == "1",
            "ro" => isolation.read_only_files = value == "1",
            "caps" => isolation.no_capabilities = value == "1",
            "user" => isolation.user_namespace = value == "1",
            "pids" => isolation.process_limit = value.parse().ok().filter(|&n| n > 0),
            _ => {}
        }
    }
    isolation
}

/// Parses `LINES TEXT`, where `LINES` is `-` or comma-separated numbers.
fn parse_located(rest: &str) -> Located {
    let (lines, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let lines = if lines == "-" {
        Vec::new()
    } else {
        lines
            .split(',')
            .filter_map(|n| n.parse::<u32>().ok())
            .collect()
    };
    Located {
        lines,
        text: unescape(text),
    }
}

/// Undoes the harness's escaping of newlines.
fn unescape(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\r", "\r")
}

/// Parses a `faulthandler` frame line: `  File "PATH", line N in NAME`.
fn parse_frame(line: &str) -> Option<Event> {
    let rest = line.strip_prefix("  File \"")?;
    let (file, rest) = rest.split_once("\", line ")?;
    let digits: &str = rest.split(' ').next()?;
    let line = digits.parse().ok()?;
    Some(Event::Frame {
        file: file.to_owned(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse() {
        assert_eq!(parse_line("H 12"), Event::Tick(None));
        assert_eq!(parse_line("H 12 987654321"), Event::Tick(Some(987_654_321)));
        assert_eq!(parse_line("START 5"), Event::Start(Some(5)));
        assert_eq!(
            parse_line("END ok 7"),
            Event::End {
                ok: true,
                at: Some(7)
            }
        );
        assert_eq!(parse_line("READY"), Event::Ready);
        assert_eq!(parse_line("HIT 7"), Event::Hit(7));
        assert_eq!(parse_line("HIT x"), Event::Unknown);
        assert_eq!(parse_line("END ok"), Event::End { ok: true, at: None });
        assert_eq!(
            parse_line("END exc"),
            Event::End {
                ok: false,
                at: None
            }
        );
        assert_eq!(
            parse_line("NA 4,9 fetch"),
            Event::NeverAwaited(Located {
                lines: vec![4, 9],
                text: "fetch".into()
            })
        );
        assert_eq!(
            parse_line("NR - asyncio.run() cannot be called"),
            Event::NestedRun(Located {
                lines: vec![],
                text: "asyncio.run() cannot be called".into()
            })
        );
        assert_eq!(
            parse_line("EXC 3 ValueError: a\\nb"),
            Event::Exception(Located {
                lines: vec![3],
                text: "ValueError: a\nb".into()
            })
        );
        assert_eq!(
            parse_line("FAIL syntax 2 SyntaxError: invalid syntax"),
            Event::Failure {
                kind: "syntax".into(),
                located: Located {
                    lines: vec![2],
                    text: "SyntaxError: invalid syntax".into()
                }
            }
        );
        assert_eq!(
            parse_line("ISO net=1 pid=1 proc=0 ro=1 caps=0 pids=64"),
            Event::Isolation(Isolation {
                network_namespace: true,
                pid_namespace: true,
                private_proc: false,
                read_only_files: true,
                no_capabilities: false,
                user_namespace: false,
                process_limit: Some(64),
            })
        );
        assert_eq!(
            parse_line("ISO net=x pids=-3"),
            Event::Isolation(Isolation::default())
        );
        assert_eq!(parse_line("garbage"), Event::Unknown);
        assert_eq!(parse_line(""), Event::Unknown);
    }

    #[test]
    fn faulthandler_dumps_parse() {
        assert_eq!(
            parse_line("Stack (most recent call first):"),
            Event::StackHeader
        );
        assert_eq!(
            parse_line("  File \"/tmp/x/probe/app.py\", line 5 in main"),
            Event::Frame {
                file: "/tmp/x/probe/app.py".into(),
                line: 5
            }
        );
        assert_eq!(
            parse_line("  File \"/a.py\", line ??? in f"),
            Event::Unknown
        );
        assert_eq!(parse_line("  File \"/a.py\""), Event::Unknown);
    }
}
