//! The `mio` event loop that runs probes: the clock of record.
//!
//! One thread, one [`Poll`]. Every running probe registers three pipes (standard output,
//! standard error and the harness's event pipe) under tokens derived from its input index.
//! A [`BinaryHeap`] of timers drives everything time-based, and the poll timeout is the next
//! timer:
//! - `Deadline`: the current phase's deadline (start-up with [`Options::setup_budget`], then
//!   the probe's code and teardown, each [`Options::timeout`] long); at the deadline the group
//!   is killed.
//! - `Sample`: a heartbeat gap is due for a stack sample (`SIGUSR1`).
//! - `ExitCheck`: has the interpreter exited? (Checked every 10 ms, and right after the event
//!   pipe reports end-of-file.)
//! - `GroupCheck`: after the interpreter exited or was killed, are the other members of its
//!   process group gone yet? Once they are (or after half a second), the interpreter is
//!   reaped, its pipes drained and closed, its directory removed, and its [`Outcome`] built.
//!
//! Timers are never removed from the heap; a slot remembers the instant of the timer it
//! armed last for each kind, and timers that no longer match are ignored when they fire.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use mio::unix::pipe::Receiver;
use mio::{Events, Interest, Poll, Registry, Token};

use crate::child::ProbeProcess;
use crate::error::Error;
use crate::heartbeat::Heartbeat;
use crate::outcome::{Crash, LineEvent, Outcome, Phase, ProbeFailure, ProbeFailureKind};
use crate::protocol::{self, Event, Located};
use crate::{Options, Probe};

const STDOUT: usize = 0;
const STDERR: usize = 1;
const EVENTS: usize = 2;
const STREAMS: usize = 3;

/// How often a running interpreter is checked for having exited.
const EXIT_CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// How often after the event pipe closed (the exit is imminent).
const EXIT_CHECK_AFTER_EOF: Duration = Duration::from_millis(1);
/// How often the process group is checked for live members after the leader is gone.
const GROUP_CHECK_INTERVAL: Duration = Duration::from_millis(5);
/// How long to wait for killed group members to die before reaping anyway.
const GROUP_DRAIN_LIMIT: Duration = Duration::from_millis(500);
/// Bytes of standard output and standard error kept per probe.
const TAIL_BYTES: usize = 16 * 1024;
/// Longest event line accepted; longer lines are dropped.
const MAX_EVENT_LINE: usize = 64 * 1024;
/// Bytes read from one pipe before giving the other pipes a turn.
const READ_BUDGET: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Deadline,
    Sample,
    ExitCheck,
    GroupCheck,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    seq: u64,
    index: usize,
    kind: TimerKind,
}

/// Runs `probes` with up to `opts.jobs` at once and returns their outcomes in input order.
pub(crate) fn run(
    probes: Vec<Probe>,
    opts: &Options,
    python: &Path,
) -> Result<Vec<Outcome>, Error> {
    let total = probes.len();
    let mut supervisor = Supervisor {
        poll: Poll::new().map_err(Error::io("creating the poll instance"))?,
        opts,
        python,
        queue: probes.into_iter().enumerate().collect(),
        slots: Vec::new(),
        timers: BinaryHeap::new(),
        seq: 0,
        outcomes: (0..total).map(|_| None).collect(),
    };
    supervisor.run()?;
    supervisor
        .outcomes
        .into_iter()
        .enumerate()
        .map(|(index, outcome)| {
            outcome.ok_or_else(|| Error::Internal(format!("probe #{index} produced no outcome")))
        })
        .collect()
}

struct Supervisor<'a> {
    poll: Poll,
    opts: &'a Options,
    python: &'a Path,
    queue: VecDeque<(usize, Probe)>,
    slots: Vec<Slot>,
    timers: BinaryHeap<Reverse<Timer>>,
    seq: u64,
    outcomes: Vec<Option<Outcome>>,
}

impl Supervisor<'_> {
    fn run(&mut self) -> Result<(), Error> {
        let mut events = Events::with_capacity(256);
        loop {
            self.start_pending()?;
            if self.slots.is_empty() {
                return Ok(());
            }
            let timeout = if self.slots.iter().any(Slot::has_backlog) {
                Some(Duration::ZERO)
            } else {
                self.timers
                    .peek()
                    .map(|Reverse(timer)| timer.at.saturating_duration_since(Instant::now()))
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(Error::Io {
                        context: "polling the probes' pipes",
                        source: err,
                    });
                }
            }
            for event in &events {
                let token = event.token().0;
                self.read(token / STREAMS, token % STREAMS);
            }
            self.read_backlogs();
            self.fire_timers();
        }
    }

    fn push_timer(&mut self, at: Instant, index: usize, kind: TimerKind) {
        self.seq += 1;
        self.timers.push(Reverse(Timer {
            at,
            seq: self.seq,
            index,
            kind,
        }));
    }

    fn position(&self, index: usize) -> Option<usize> {
        self.slots.iter().position(|slot| slot.index == index)
    }

    /// Spawns queued probes while fewer than `jobs` are running.
    fn start_pending(&mut self) -> Result<(), Error> {
        while self.slots.len() < self.opts.jobs {
            let Some((index, probe)) = self.queue.pop_front() else {
                return Ok(());
            };
            let mut process = ProbeProcess::spawn(self.python, &probe, self.opts)?;
            let registry = self.poll.registry();
            for (stream, receiver) in [
                (STDOUT, process.stdout.as_mut()),
                (STDERR, process.stderr.as_mut()),
                (EVENTS, process.events.as_mut()),
            ] {
                if let Some(receiver) = receiver {
                    registry
                        .register(
                            receiver,
                            Token(index * STREAMS + stream),
                            Interest::READABLE,
                        )
                        .map_err(Error::io("registering the probe's pipes"))?;
                }
            }
            let now = Instant::now();
            let heartbeat =
                Heartbeat::new(self.opts.stall_threshold, process.probe_path().to_owned());
            self.slots.push(Slot {
                index,
                filename: probe.filename,
                flagged_line: probe.flagged_line,
                process,
                heartbeat,
                spawned_at: now,
                deadline: now + self.opts.setup_budget(),
                phase: Phase::Setup,
                reached: false,
                done: false,
                line_buf: Vec::new(),
                discarding_line: false,
                stdout: Tail::default(),
                stderr: Tail::default(),
                report: Report::default(),
                timed_out: None,
                killed_at: None,
                armed: Armed::default(),
                backlog: [false; STREAMS],
                isolation: None,
                events_seen: 0,
            });
            let pos = self.slots.len() - 1;
            self.arm_exit_check(pos, now + EXIT_CHECK_INTERVAL);
            self.sync_timers(pos);
        }
        Ok(())
    }

    /// Reads whatever one pipe of probe `index` has.
    fn read(&mut self, index: usize, stream: usize) {
        let Some(pos) = self.position(index) else {
            return;
        };
        let eof = self.slots[pos].read_stream(stream, self.poll.registry(), self.opts);
        if eof && stream == EVENTS {
            self.arm_exit_check(pos, Instant::now());
        }
        self.sync_timers(pos);
    }

    fn read_backlogs(&mut self) {
        let pending: Vec<(usize, usize)> = self
            .slots
            .iter()
            .flat_map(|slot| {
                (0..STREAMS)
                    .filter(|&stream| slot.backlog[stream])
                    .map(|stream| (slot.index, stream))
            })
            .collect();
        for (index, stream) in pending {
            self.read(index, stream);
        }
    }

    /// Arms the timers a slot needs after its state changed.
    fn sync_timers(&mut self, pos: usize) {
        let slot = &mut self.slots[pos];
        let index = slot.index;
        let mut wanted = Vec::new();
        if slot.killed_at.is_none() {
            if slot.armed.deadline != Some(slot.deadline) {
                slot.armed.deadline = Some(slot.deadline);
                wanted.push((slot.deadline, TimerKind::Deadline));
            }
            if let Some(at) = slot.heartbeat.next_sample_at() {
                // One outstanding sample timer: an early one re-arms itself when it fires.
                if slot.armed.sample.is_none() {
                    slot.armed.sample = Some(at);
                    wanted.push((at, TimerKind::Sample));
                }
            }
        }
        for (at, kind) in wanted {
            self.push_timer(at, index, kind);
        }
    }

    fn arm_exit_check(&mut self, pos: usize, at: Instant) {
        let slot = &mut self.slots[pos];
        if slot.killed_at.is_some() || slot.armed.exit_check.is_some_and(|armed| armed <= at) {
            return;
        }
        slot.armed.exit_check = Some(at);
        let index = slot.index;
        self.push_timer(at, index, TimerKind::ExitCheck);
    }

    fn fire_timers(&mut self) {
        loop {
            let now = Instant::now();
            let due = self
                .timers
                .peek()
                .is_some_and(|Reverse(timer)| timer.at <= now);
            if !due {
                return;
            }
            let Some(Reverse(timer)) = self.timers.pop() else {
                return;
            };
            let Some(pos) = self.position(timer.index) else {
                continue;
            };
            match timer.kind {
                TimerKind::Deadline => self.on_deadline(pos, now),
                TimerKind::Sample => self.on_sample(pos, timer.at, now),
                TimerKind::ExitCheck => self.on_exit_check(pos, timer.at, now),
                TimerKind::GroupCheck => self.on_group_check(pos, now),
            }
        }
    }

    fn on_deadline(&mut self, pos: usize, now: Instant) {
        // Take in everything the probe wrote up to now before judging the deadline.
        self.slots[pos].read_stream(EVENTS, self.poll.registry(), self.opts);
        let slot = &mut self.slots[pos];
        if slot.killed_at.is_some() || now < slot.deadline {
            self.sync_timers(pos);
            return;
        }
        slot.timed_out = Some(slot.phase);
        slot.heartbeat.cut(now, true);
        self.begin_kill(pos, now);
    }

    fn on_sample(&mut self, pos: usize, at: Instant, now: Instant) {
        if self.slots[pos].armed.sample != Some(at) {
            return;
        }
        self.slots[pos].armed.sample = None;
        // A tick may be waiting in the pipe: read it before deciding the loop is stuck.
        self.slots[pos].read_stream(EVENTS, self.poll.registry(), self.opts);
        let slot = &mut self.slots[pos];
        if slot.killed_at.is_none() && slot.heartbeat.sample_due(now) {
            slot.process.request_stack();
            slot.heartbeat.sample_requested();
        }
        self.sync_timers(pos);
    }

    fn on_exit_check(&mut self, pos: usize, at: Instant, now: Instant) {
        let slot = &mut self.slots[pos];
        if slot.armed.exit_check != Some(at) {
            return;
        }
        slot.armed.exit_check = None;
        if slot.killed_at.is_some() {
            return;
        }
        if slot.process.has_exited() {
            // Everything the probe wrote is in the pipe by now; take it in, then close a gap
            // that was still open when the probe died: the loop did not run until then.
            self.slots[pos].read_stream(EVENTS, self.poll.registry(), self.opts);
            self.slots[pos].heartbeat.cut(now, false);
            self.begin_kill(pos, now);
        } else {
            let interval = if slot.process.events.is_none() {
                EXIT_CHECK_AFTER_EOF
            } else {
                EXIT_CHECK_INTERVAL
            };
            self.arm_exit_check(pos, now + interval);
        }
    }

    /// Kills the probe's process group (the leader may already have exited) and starts
    /// waiting for its members to die.
    fn begin_kill(&mut self, pos: usize, now: Instant) {
        let slot = &mut self.slots[pos];
        slot.process.kill_group();
        slot.killed_at = Some(now);
        let index = slot.index;
        self.push_timer(now + Duration::from_millis(1), index, TimerKind::GroupCheck);
    }

    fn on_group_check(&mut self, pos: usize, now: Instant) {
        let slot = &self.slots[pos];
        let Some(killed_at) = slot.killed_at else {
            return;
        };
        if slot.process.group_alive() && now.duration_since(killed_at) < GROUP_DRAIN_LIMIT {
            // Stragglers that were killed a moment ago; signal again for any late fork.
            slot.process.kill_group();
            let index = slot.index;
            self.push_timer(now + GROUP_CHECK_INTERVAL, index, TimerKind::GroupCheck);
            return;
        }
        let slot = self.slots.swap_remove(pos);
        let index = slot.index;
        let outcome = slot.finish(self.poll.registry(), self.opts);
        if let Some(entry) = self.outcomes.get_mut(index) {
            *entry = Some(outcome);
        }
    }
}

/// The instants of the timers a slot armed last (see the module docs).
#[derive(Debug, Default)]
struct Armed {
    deadline: Option<Instant>,
    sample: Option<Instant>,
    exit_check: Option<Instant>,
}

/// Reports collected from the event pipe.
#[derive(Debug, Default)]
struct Report {
    never_awaited: Vec<LineEvent>,
    pending_destroyed: Vec<LineEvent>,
    nested_runs: Vec<LineEvent>,
    network_refused: Vec<LineEvent>,
    loop_errors: Vec<LineEvent>,
    exception: Option<LineEvent>,
    failure: Option<ProbeFailure>,
}

/// The end of an output stream.
#[derive(Debug, Default)]
struct Tail {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > 2 * TAIL_BYTES {
            let excess = self.bytes.len() - TAIL_BYTES;
            self.bytes.drain(..excess);
            self.truncated = true;
        }
    }

    fn into_string(mut self) -> String {
        if self.bytes.len() > TAIL_BYTES {
            let excess = self.bytes.len() - TAIL_BYTES;
            self.bytes.drain(..excess);
            self.truncated = true;
        }
        let text = String::from_utf8_lossy(&self.bytes);
        if self.truncated {
            format!("[...]{text}")
        } else {
            text.into_owned()
        }
    }
}

/// One running probe.
#[derive(Debug)]
struct Slot {
    index: usize,
    filename: String,
    flagged_line: u32,
    process: ProbeProcess,
    heartbeat: Heartbeat,
    spawned_at: Instant,
    /// Deadline of the current phase.
    deadline: Instant,
    /// `Setup` until `START`, `Running` until `END`, then `Teardown`.
    phase: Phase,
    reached: bool,
    /// The harness reported `DONE`.
    done: bool,
    line_buf: Vec<u8>,
    discarding_line: bool,
    stdout: Tail,
    stderr: Tail,
    report: Report,
    timed_out: Option<Phase>,
    /// When the process group was killed (after the deadline or after the leader exited).
    killed_at: Option<Instant>,
    armed: Armed,
    /// Pipes whose read budget ran out before they were empty.
    backlog: [bool; STREAMS],
    /// The containment the child reported before `exec` (the first `ISO` line only: the
    /// probe's own code could write more).
    isolation: Option<crate::Isolation>,
    /// Event lines taken in so far.
    events_seen: u64,
}

impl Slot {
    fn has_backlog(&self) -> bool {
        self.backlog.iter().any(|&b| b)
    }

    fn receiver(&mut self, stream: usize) -> &mut Option<Receiver> {
        match stream {
            STDOUT => &mut self.process.stdout,
            STDERR => &mut self.process.stderr,
            _ => &mut self.process.events,
        }
    }

    /// Reads a pipe until it would block, ends, or the read budget is spent. Returns whether
    /// the pipe reached end-of-file.
    fn read_stream(&mut self, stream: usize, registry: &Registry, opts: &Options) -> bool {
        let mut buf = [0_u8; 16 * 1024];
        let mut budget = READ_BUDGET;
        self.backlog[stream] = false;
        loop {
            let slot = self.receiver(stream);
            let Some(receiver) = slot.as_mut() else {
                return false;
            };
            match receiver.read(&mut buf) {
                Ok(0) => {
                    let _ = registry.deregister(receiver);
                    *slot = None;
                    return true;
                }
                Ok(n) => {
                    let now = Instant::now();
                    let data = buf.get(..n).unwrap_or_default();
                    match stream {
                        STDOUT => self.stdout.push(data),
                        STDERR => self.stderr.push(data),
                        _ => self.take_events(data, now, opts),
                    }
                    budget = budget.saturating_sub(n);
                    if budget == 0 {
                        self.backlog[stream] = true;
                        return false;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    let _ = registry.deregister(receiver);
                    *slot = None;
                    return true;
                }
            }
        }
    }

    /// Splits event-pipe data into lines and applies them.
    fn take_events(&mut self, data: &[u8], now: Instant, opts: &Options) {
        let mut rest = data;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(newline);
            rest = tail.get(1..).unwrap_or_default();
            if self.discarding_line {
                self.discarding_line = false;
                continue;
            }
            let event = if self.line_buf.is_empty() {
                protocol::parse_line(&String::from_utf8_lossy(line))
            } else {
                self.line_buf.extend_from_slice(line);
                let event = protocol::parse_line(&String::from_utf8_lossy(&self.line_buf));
                self.line_buf.clear();
                event
            };
            self.apply(event, now, opts);
        }
        if !self.discarding_line {
            self.line_buf.extend_from_slice(rest);
            if self.line_buf.len() > MAX_EVENT_LINE {
                self.line_buf.clear();
                self.discarding_line = true;
            }
        }
    }

    fn apply(&mut self, event: Event, now: Instant, opts: &Options) {
        self.events_seen += 1;
        match event {
            Event::Isolation(isolation) => {
                // Only as the first event, written before `exec`: later lines could come
                // from the probe's own code.
                if self.events_seen == 1 {
                    self.isolation = Some(isolation);
                }
            }
            Event::Tick(at) => self.heartbeat.tick(now, at),
            Event::Start(at) => {
                self.heartbeat.start(now, at);
                self.phase = Phase::Running;
                self.deadline = now + opts.timeout;
            }
            Event::Hit(line) => self.reached |= line == self.flagged_line,
            Event::End { at, .. } => {
                self.heartbeat.end(now, at);
                self.phase = Phase::Teardown;
                self.deadline = now + opts.timeout;
            }
            Event::HeartbeatStop => self.heartbeat.stop(now),
            Event::StackHeader => self.heartbeat.stack_header(),
            Event::Frame { file, line } => self.heartbeat.frame(&file, line),
            Event::Exception(located) => {
                if self.report.exception.is_none() {
                    self.report.exception = Some(line_event(located));
                }
            }
            Event::NeverAwaited(located) => {
                self.report.never_awaited.push(line_event(located));
            }
            Event::PendingDestroyed(located) => {
                self.report.pending_destroyed.push(line_event(located));
            }
            Event::NestedRun(located) => self.report.nested_runs.push(line_event(located)),
            Event::NetworkRefused(located) => {
                self.report.network_refused.push(line_event(located));
            }
            Event::LoopError(located) => self.report.loop_errors.push(line_event(located)),
            Event::Failure { kind, located } => {
                if self.report.failure.is_none() {
                    self.report.failure = Some(ProbeFailure {
                        kind: match kind.as_str() {
                            "syntax" => ProbeFailureKind::Syntax,
                            "setup" => ProbeFailureKind::Setup,
                            "entry" => ProbeFailureKind::Entry,
                            _ => ProbeFailureKind::Harness,
                        },
                        lines: located.lines,
                        message: located.text,
                    });
                }
            }
            Event::Done => self.done = true,
            Event::Ready | Event::Unknown => {}
        }
    }

    /// Reaps the interpreter, drains and closes its pipes, removes its directory, and builds
    /// the outcome.
    fn finish(mut self, registry: &Registry, opts: &Options) -> Outcome {
        for stream in [EVENTS, STDOUT, STDERR] {
            // Bounded: a process that escaped the group could keep writing forever.
            for _ in 0..8 {
                if self.read_stream(stream, registry, opts) || !self.backlog[stream] {
                    break;
                }
            }
            if let Some(mut receiver) = self.receiver(stream).take() {
                let _ = registry.deregister(&mut receiver);
            }
        }
        let exit = self.process.reap();
        let cleanup_error = match (self.process.remove_workdir(), self.process.remove_cgroup()) {
            (Some(dir), Some(cgroup)) => Some(format!("{dir}; {cgroup}")),
            (dir, cgroup) => dir.or(cgroup),
        };
        let wall_time = self.spawned_at.elapsed();
        let stderr_tail = self.stderr.into_string();
        let crash = (!self.done && self.timed_out.is_none()).then(|| Crash {
            exit,
            stderr_tail: stderr_tail.clone(),
        });
        Outcome {
            filename: self.filename,
            flagged_line: self.flagged_line,
            stall_threshold: opts.stall_threshold,
            timeout: opts.timeout,
            memory_limit: opts.memory_limit,
            max_gap: self.heartbeat.max_gap(),
            heartbeats: self.heartbeat.ticks(),
            stalls: self.heartbeat.into_stalls(),
            started: self.phase != Phase::Setup,
            finished: self.phase == Phase::Teardown,
            flagged_line_reached: self.reached,
            never_awaited: self.report.never_awaited,
            pending_destroyed: self.report.pending_destroyed,
            nested_runs: self.report.nested_runs,
            network_refused: self.report.network_refused,
            loop_errors: self.report.loop_errors,
            exception: self.report.exception,
            failure: self.report.failure,
            timed_out: self.timed_out,
            crash,
            exit,
            stdout_tail: self.stdout.into_string(),
            stderr_tail,
            wall_time,
            cleanup_error,
            isolation: self.isolation.unwrap_or_default(),
        }
    }
}

fn line_event(located: Located) -> LineEvent {
    LineEvent {
        lines: located.lines,
        detail: located.text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_end() {
        let mut tail = Tail::default();
        tail.push(b"hello ");
        tail.push(b"world");
        assert_eq!(tail.into_string(), "hello world");

        let mut tail = Tail::default();
        for _ in 0..5000 {
            tail.push(b"0123456789");
        }
        tail.push(b"END");
        let text = tail.into_string();
        assert!(text.starts_with("[...]"));
        assert!(text.ends_with("789END"));
        assert_eq!(text.len(), TAIL_BYTES + "[...]".len());
    }

    #[test]
    fn timers_pop_earliest_first() {
        let now = Instant::now();
        let mut heap = BinaryHeap::new();
        for (seq, ms) in [(1, 30), (2, 10), (3, 20)] {
            heap.push(Reverse(Timer {
                at: now + Duration::from_millis(ms),
                seq,
                index: 0,
                kind: TimerKind::Sample,
            }));
        }
        let order: Vec<u64> = std::iter::from_fn(|| heap.pop().map(|Reverse(t)| t.seq)).collect();
        assert_eq!(order, vec![2, 3, 1]);
    }
}
