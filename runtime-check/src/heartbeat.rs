//! Heartbeat gap detection: the supervisor's clock of record.
//!
//! The harness's heartbeat task writes a tick to the event pipe every 5 ms while the event
//! loop runs. [`Heartbeat`] is fed the *arrival* time of every tick (and of the `START`/`END`
//! events, which are also written from the loop) as measured by the supervisor's monotonic
//! clock, and the time the loop wrote it on the same clock (`CLOCK_MONOTONIC`, as the
//! harness's `time.monotonic_ns()`). A gap is measured between the loop's times when both
//! ends have one: a supervisor that is itself kept off the CPU reads a tick late, which would
//! shorten the gap after it (found under heavy load by the stress run of the tests); else
//! between arrivals. A gap longer than the threshold is a stall. While a gap is open and the probe's code
//! is running, the supervisor asks for stack samples ([`Heartbeat::sample_due`]): at 1×, 2× and
//! 3× the threshold into the gap, then every 250 ms, so that every part of a long stall is
//! seen. The frames of the dumps that arrive before the gap closes are attributed to the
//! stall.
//!
//! This module does no IO: it is fed timestamps and parsed events, so its logic is tested
//! without processes.

use std::time::{Duration, Instant};

use crate::outcome::Stall;

/// Stack samples requested early in a gap, at 1×, 2× and 3× the threshold.
const EARLY_SAMPLES: u32 = 3;
/// Interval of the later samples of a long gap.
const LATE_SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// Most stack samples requested per gap (a 5 s stall gets 22).
const MAX_SAMPLES: u32 = 32;
/// Lines kept per sample.
const MAX_LINES: usize = 32;

/// Gap tracking for one probe.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    threshold: Duration,
    probe_path: String,
    /// When the loop last showed it was alive (tick, `START` or `END`): the arrival, and the
    /// loop's own time (nanoseconds) if the event had one.
    last_alive: Option<Instant>,
    last_written: Option<u64>,
    /// The heartbeat has stopped for good (`HBSTOP`, or the process is gone).
    stopped: bool,
    /// Between `START` and `END`.
    in_entry: bool,
    /// State of the open gap.
    gap: Gap,
    max_gap: Duration,
    ticks: u64,
    stalls: Vec<Stall>,
}

/// What is known about the currently open gap.
#[derive(Debug, Default)]
struct Gap {
    /// The probe's code was running when the gap started.
    in_entry: bool,
    /// Stack samples requested so far.
    samples_requested: u32,
    /// Probe-file lines of each dump received, innermost first. Frames are only accepted
    /// once a dump was requested in this gap and its header arrived.
    samples: Vec<Vec<u32>>,
}

impl Heartbeat {
    pub(crate) fn new(threshold: Duration, probe_path: String) -> Self {
        Self {
            threshold,
            probe_path,
            last_alive: None,
            last_written: None,
            stopped: false,
            in_entry: false,
            gap: Gap::default(),
            max_gap: Duration::ZERO,
            ticks: 0,
            stalls: Vec::new(),
        }
    }

    /// A heartbeat tick arrived at `now` (written at the loop's time `written`).
    pub(crate) fn tick(&mut self, now: Instant, written: Option<u64>) {
        if !self.stopped {
            self.ticks += 1;
        }
        self.alive(now, written);
    }

    /// The probe's code started (`START`, written from the loop).
    pub(crate) fn start(&mut self, now: Instant, written: Option<u64>) {
        self.alive(now, written);
        self.in_entry = true;
        self.gap.in_entry = true;
    }

    /// The probe's code finished (`END`, written from the loop).
    pub(crate) fn end(&mut self, now: Instant, written: Option<u64>) {
        self.alive(now, written);
        self.in_entry = false;
        self.gap.in_entry = false;
    }

    /// The heartbeat stopped (`HBSTOP`); no further gaps are measured.
    pub(crate) fn stop(&mut self, now: Instant) {
        self.alive(now, None);
        self.stopped = true;
    }

    /// The loop showed it was alive at `now` (at its own time `written`): closes the open gap.
    fn alive(&mut self, now: Instant, written: Option<u64>) {
        if self.stopped {
            return;
        }
        if let Some(last) = self.last_alive {
            let gap = match (self.last_written, written) {
                (Some(before), Some(after)) => Duration::from_nanos(after.saturating_sub(before)),
                _ => now.saturating_duration_since(last),
            };
            self.close_gap(gap, false);
        }
        self.last_alive = Some(now);
        self.last_written = written;
        self.gap = Gap {
            in_entry: self.in_entry,
            ..Gap::default()
        };
    }

    fn close_gap(&mut self, gap: Duration, cut_by_deadline: bool) {
        self.max_gap = self.max_gap.max(gap);
        if gap > self.threshold {
            let open = std::mem::take(&mut self.gap);
            let line = open
                .samples
                .iter()
                .find_map(|sample| sample.first().copied());
            let mut lines: Vec<u32> = Vec::new();
            for &l in open.samples.iter().flatten() {
                if !lines.contains(&l) {
                    lines.push(l);
                }
            }
            self.stalls.push(Stall {
                duration: gap,
                line,
                lines,
                samples: open.samples,
                during_entry: open.in_entry,
                cut_by_deadline,
            });
        }
    }

    /// The process is being killed at its deadline (`by_deadline`) or was found dead at
    /// `now`: an open gap longer than the threshold becomes a stall lasting until `now`. No
    /// further gaps are measured.
    pub(crate) fn cut(&mut self, now: Instant, by_deadline: bool) {
        if self.stopped {
            return;
        }
        if let Some(last) = self.last_alive {
            self.close_gap(now.saturating_duration_since(last), by_deadline);
        }
        self.stopped = true;
    }

    /// When the next stack sample of the open gap is due, if one will be.
    pub(crate) fn next_sample_at(&self) -> Option<Instant> {
        let n = self.gap.samples_requested;
        if self.stopped || !self.in_entry || n >= MAX_SAMPLES {
            return None;
        }
        let offset = if n < EARLY_SAMPLES {
            self.threshold * (n + 1)
        } else {
            self.threshold * EARLY_SAMPLES + LATE_SAMPLE_INTERVAL * (n + 1 - EARLY_SAMPLES)
        };
        self.last_alive?.checked_add(offset)
    }

    /// Whether a stack sample should be requested now.
    pub(crate) fn sample_due(&self, now: Instant) -> bool {
        self.next_sample_at().is_some_and(|at| now >= at)
    }

    /// Records that a stack sample was requested (the signal was sent).
    pub(crate) fn sample_requested(&mut self) {
        self.gap.samples_requested += 1;
    }

    /// A `faulthandler` dump header arrived.
    pub(crate) fn stack_header(&mut self) {
        let requested = usize::try_from(self.gap.samples_requested).unwrap_or(usize::MAX);
        if self.gap.samples.len() < requested {
            self.gap.samples.push(Vec::new());
        }
    }

    /// A frame of a dump arrived (dumps list the innermost frame first).
    pub(crate) fn frame(&mut self, file: &str, line: u32) {
        if file != self.probe_path {
            return;
        }
        if let Some(sample) = self.gap.samples.last_mut() {
            if sample.len() < MAX_LINES {
                sample.push(line);
            }
        }
    }

    /// Number of ticks received.
    pub(crate) fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The longest gap seen.
    pub(crate) fn max_gap(&self) -> Duration {
        self.max_gap
    }

    /// The stalls measured, in order.
    pub(crate) fn into_stalls(self) -> Vec<Stall> {
        self.stalls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: &str = "/tmp/p/probe/app.py";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn monitor() -> (Heartbeat, Instant) {
        (Heartbeat::new(ms(100), PROBE.to_owned()), Instant::now())
    }

    #[test]
    fn regular_ticks_are_no_stall() {
        let (mut hb, t0) = monitor();
        hb.tick(t0, None);
        hb.start(t0 + ms(1), None);
        for i in 1..50 {
            hb.tick(t0 + ms(5 * i), None);
        }
        hb.end(t0 + ms(251), None);
        assert!(hb.into_stalls().is_empty());
    }

    #[test]
    fn a_long_gap_with_a_sample_is_an_attributed_stall() {
        let (mut hb, t0) = monitor();
        hb.tick(t0, None);
        hb.start(t0 + ms(1), None);
        assert_eq!(hb.next_sample_at(), Some(t0 + ms(101)));
        assert!(!hb.sample_due(t0 + ms(50)));
        assert!(hb.sample_due(t0 + ms(101)));
        hb.sample_requested();
        hb.stack_header();
        hb.frame("/usr/lib/python3.11/asyncio/events.py", 80);
        hb.frame(PROBE, 7);
        hb.frame(PROBE, 3);
        assert_eq!(hb.next_sample_at(), Some(t0 + ms(201)));
        hb.sample_requested();
        hb.stack_header();
        hb.frame(PROBE, 8);
        hb.frame(PROBE, 3);
        hb.tick(t0 + ms(504), None);
        assert_eq!(hb.max_gap(), ms(503));
        let stalls = hb.into_stalls();
        assert_eq!(stalls.len(), 1);
        assert_eq!(stalls[0].duration, ms(503));
        assert_eq!(stalls[0].line, Some(7));
        assert_eq!(stalls[0].lines, vec![7, 3, 8]);
        assert_eq!(stalls[0].samples, vec![vec![7, 3], vec![8, 3]]);
        assert!(stalls[0].during_entry);
        assert!(!stalls[0].cut_by_deadline);
    }

    #[test]
    fn long_gaps_keep_being_sampled() {
        let (mut hb, t0) = monitor();
        hb.start(t0, None);
        let mut offsets = Vec::new();
        while let Some(at) = hb.next_sample_at() {
            offsets.push(at.duration_since(t0).as_millis());
            hb.sample_requested();
        }
        assert_eq!(offsets.len(), MAX_SAMPLES as usize);
        assert_eq!(offsets[..6], [100, 200, 300, 550, 800, 1050]);
    }

    #[test]
    fn unsolicited_frames_and_short_gaps_are_ignored() {
        let (mut hb, t0) = monitor();
        hb.tick(t0, None);
        hb.start(t0, None);
        hb.stack_header();
        hb.frame(PROBE, 7);
        hb.tick(t0 + ms(90), None);
        hb.sample_requested();
        hb.frame(PROBE, 9);
        hb.tick(t0 + ms(95), None);
        hb.tick(t0 + ms(300), None);
        let stalls = hb.into_stalls();
        assert_eq!(stalls.len(), 1);
        assert_eq!(stalls[0].line, None);
        assert!(stalls[0].lines.is_empty());
    }

    #[test]
    fn no_samples_outside_the_entry_or_after_three() {
        let (mut hb, t0) = monitor();
        hb.tick(t0, None);
        assert_eq!(hb.next_sample_at(), None);
        hb.start(t0, None);
        for _ in 0..MAX_SAMPLES {
            assert!(hb.next_sample_at().is_some());
            hb.sample_requested();
        }
        assert_eq!(hb.next_sample_at(), None);
        hb.end(t0 + ms(400), None);
        hb.tick(t0 + ms(401), None);
        assert_eq!(hb.next_sample_at(), None);
        let stalls = hb.into_stalls();
        assert_eq!(stalls.len(), 1);
        assert!(stalls[0].during_entry);
    }

    #[test]
    fn a_deadline_cuts_the_open_gap() {
        let (mut hb, t0) = monitor();
        hb.tick(t0, None);
        hb.start(t0 + ms(1), None);
        hb.sample_requested();
        hb.stack_header();
        hb.frame(PROBE, 4);
        hb.cut(t0 + ms(1502), true);
        hb.tick(t0 + ms(1600), None);
        assert_eq!(hb.ticks(), 1);
        let stalls = hb.into_stalls();
        assert_eq!(stalls.len(), 1);
        assert_eq!(stalls[0].duration, ms(1501));
        assert!(stalls[0].cut_by_deadline);
        assert_eq!(stalls[0].line, Some(4));
    }

    #[test]
    fn stop_ends_measurement() {
        let (mut hb, t0) = monitor();
        hb.tick(t0, None);
        hb.stop(t0 + ms(3));
        hb.tick(t0 + ms(500), None);
        hb.cut(t0 + ms(900), true);
        assert!(hb.into_stalls().is_empty());
    }

    /// A supervisor kept off the CPU reads the tick written just before a one-second block
    /// 800 ms late: measured on the loop's clock the gap is still a second, not 200 ms.
    #[test]
    fn a_tick_read_late_does_not_shorten_the_stall_after_it() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(ms(100), "probe.py".into());
        hb.tick(t0, Some(0));
        hb.start(t0 + ms(800), Some(1_000_000));
        hb.tick(t0 + ms(1_001), Some(1_001_000_000));
        hb.end(t0 + ms(1_002), Some(1_002_000_000));
        let stalls = hb.into_stalls();
        assert_eq!(stalls.len(), 1, "{stalls:?}");
        assert_eq!(stalls[0].duration, ms(1_000));
        assert!(stalls[0].during_entry);
    }
}
