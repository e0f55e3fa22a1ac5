//! Runs ten probes that each block the loop for 0.5 s, ten at a time, and compares the wall
//! time of the batch with the sum of the probes' own wall times. With the supervisor running
//! them concurrently the batch should take about as long as the slowest probe (plus
//! interpreter start-up contention on few cores), not the sum.
//!
//! `cargo bench -p aiolint-runtime-check --bench parallel` (needs `python3` on `PATH`;
//! `AIOLINT_BENCH_PYTHON` picks another interpreter).

#![allow(clippy::print_stdout)] // A benchmark's report is its output.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use runtime_check::{Entry, FindingKind, Options, Probe, Verdict, run_probes};

const PROBES: usize = 10;

fn main() -> ExitCode {
    let source = "\
import time


async def handler():
    time.sleep(0.5)
";
    let probes: Vec<Probe> = (0..PROBES)
        .map(|i| Probe {
            source: source.to_owned(),
            entry: Entry::Function("handler".to_owned()),
            filename: format!("handler_{i}.py"),
            first_line: 1,
            flagged_line: 5,
        })
        .collect();
    let opts = Options {
        python: std::env::var_os("AIOLINT_BENCH_PYTHON")
            .map_or_else(|| "python3".into(), Into::into),
        jobs: PROBES,
        ..Options::default()
    };
    let started = Instant::now();
    let outcomes = match run_probes(probes, &opts) {
        Ok(outcomes) => outcomes,
        Err(err) => {
            eprintln!("parallel bench: {err}");
            return ExitCode::FAILURE;
        }
    };
    let wall = started.elapsed();
    let sum: Duration = outcomes.iter().map(|o| o.wall_time).sum();
    let slowest = outcomes
        .iter()
        .map(|o| o.wall_time)
        .max()
        .unwrap_or_default();
    let confirmed = outcomes
        .iter()
        .filter(|o| o.confirm(FindingKind::Blocking).verdict == Verdict::Confirmed)
        .count();
    let stalls: Vec<u64> = outcomes
        .iter()
        .map(|o| o.max_stall().map_or(0, runtime_check::Stall::millis))
        .collect();
    println!("parallel: {PROBES} probes of time.sleep(0.5), jobs={PROBES}");
    println!("  wall time of the batch   {:>7.0} ms", ms(wall));
    println!("  slowest probe            {:>7.0} ms", ms(slowest));
    println!("  sum of the probes' walls {:>7.0} ms", ms(sum));
    println!(
        "  speed-up (sum / wall)    {:>7.1}x",
        sum.as_secs_f64() / wall.as_secs_f64()
    );
    println!("  confirmed                {confirmed}/{PROBES}; stalls (ms) {stalls:?}");
    if confirmed == PROBES {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
