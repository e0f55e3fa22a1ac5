//! Helpers shared by the integration tests (they run the real `python3` on `PATH`).

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use runtime_check::{Entry, Options, Outcome, Probe, run_probe};

/// Options for tests: `python3`, 5 s timeout, 100 ms threshold.
pub fn options() -> Options {
    Options {
        python: "python3".into(),
        timeout: Duration::from_secs(5),
        jobs: 2,
        stall_threshold: Duration::from_millis(100),
        ..Options::default()
    }
}

/// A probe of `source` placed at line 1 of `app.py`.
pub fn probe(source: &str, entry: Entry, flagged_line: u32) -> Probe {
    Probe {
        source: source.to_owned(),
        entry,
        filename: "app.py".to_owned(),
        first_line: 1,
        flagged_line,
    }
}

/// The 1-based line of the first line of `source` containing `needle`.
pub fn line_of(source: &str, needle: &str) -> u32 {
    let index = source
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the probe"));
    u32::try_from(index + 1).expect("small line number")
}

/// Runs one probe with `opts`, panicking with the error on failure.
pub fn run(probe: Probe, opts: &Options) -> Outcome {
    match run_probe(probe, opts) {
        Ok(outcome) => outcome,
        Err(err) => panic!("run_probe failed: {err}"),
    }
}

/// A token unique to this test process and `name`, to pass to every process a probe starts
/// (as an argument), so that [`live_processes_with`] finds them from outside whatever PID
/// namespace they ran in.
pub fn marker(name: &str) -> String {
    format!("aiolint-test-marker-{}-{name}", std::process::id())
}

/// The live (not zombie) processes, seen from here, with `marker` in one of their arguments:
/// `(pid, command line)`.
pub fn live_processes_with(marker: &str) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.to_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if !args.iter().any(|a| a.contains(marker)) {
                return None;
            }
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let state = stat
                .rfind(')')
                .and_then(|i| stat.get(i + 1..))
                .and_then(|rest| rest.split_whitespace().next())?;
            (!matches!(state, "Z" | "X")).then(|| (pid, args.join(" ")))
        })
        .collect()
}

/// [`run`] with a hang guard: panics if the probe has not come back after two minutes (far
/// beyond any deadline the tests set, so a loaded machine cannot trip it; only a supervisor
/// that hangs does).
pub fn run_guarded(probe: Probe, opts: &Options) -> Outcome {
    let (sender, receiver) = std::sync::mpsc::channel();
    let opts = opts.clone();
    std::thread::spawn(move || {
        let _ = sender.send(run_probe(probe, &opts));
    });
    match receiver.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(err)) => panic!("run_probe failed: {err}"),
        Err(err) => panic!("the supervisor did not return within two minutes ({err})"),
    }
}
