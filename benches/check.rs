//! `cargo bench --bench check`: how `aiolint check` scales with the size of a project, next to
//! Ruff on the same files in the same run.
//!
//! 1. Generated projects of 250 to 2,000 modules, each with a sync function that calls the next
//!    module's (a call chain as deep as the project, ending in `time.sleep`) and a coroutine
//!    that calls it: every module gets a transitive finding. The time per module should stay
//!    flat (linear growth).
//! 2. If `AIOLINT_BENCH_DIR` names a directory (for example an unpacked real project), both
//!    tools check it too.
//!
//! Ruff runs as `ruff check --isolated --no-cache --select ASYNC,RUF006` when it is on `PATH`.
//! Figures are wall time and CPU time (user + system) of the child process.

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]
#![allow(
    clippy::cast_precision_loss,
    reason = "times and counts far below 2^52"
)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Wall and CPU seconds of one run of `program args` in `dir`, or `None` if it cannot run.
fn measure(program: &str, args: &[&str], dir: &Path) -> Option<(f64, f64)> {
    let before = children_cpu();
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    let wall = start.elapsed().as_secs_f64();
    // Exit codes 0 and 1 mean "checked" for both tools.
    matches!(status.code(), Some(0 | 1)).then(|| (wall, children_cpu() - before))
}

/// CPU seconds used so far by waited-for children.
fn children_cpu() -> f64 {
    // SAFETY: `getrusage` only writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn generate(dir: &Path, modules: usize) -> std::io::Result<()> {
    let package = dir.join("generated");
    std::fs::create_dir_all(&package)?;
    std::fs::write(
        dir.join("pyproject.toml"),
        "[project]\nname = \"generated\"\n",
    )?;
    std::fs::write(package.join("__init__.py"), "")?;
    for i in 0..modules {
        let next = if i + 1 < modules {
            format!(
                "from generated import m{} as following\n\n\ndef step(value):\n    return following.step(value + 1)\n",
                i + 1
            )
        } else {
            "import time\n\n\ndef step(value):\n    time.sleep(0.01)\n    return value\n"
                .to_string()
        };
        let body = format!(
            "{next}\n\nasync def handler_{i}(request):\n    total = step({i})\n    return {{\"total\": total, \"request\": request}}\n\n\nclass Service{i}:\n    def describe(self):\n        return \"service {i}\"\n"
        );
        std::fs::write(package.join(format!("m{i}.py")), body)?;
    }
    Ok(())
}

fn row(label: &str, files: usize, aiolint: Option<(f64, f64)>, ruff: Option<(f64, f64)>) {
    let show = |m: Option<(f64, f64)>| {
        m.map_or_else(
            || "      n/a           ".to_string(),
            |(w, c)| format!("{w:7.3}s {c:7.3}s cpu"),
        )
    };
    let per_module = aiolint.map_or(String::new(), |(w, _)| {
        format!("{:8.1} µs/module", w * 1e6 / files.max(1) as f64)
    });
    println!(
        "{label:>28} {files:>6}  aiolint {}  ruff {}  {per_module}",
        show(aiolint),
        show(ruff)
    );
}

fn main() {
    let aiolint = env!("CARGO_BIN_EXE_aiolint");
    let ruff_args = [
        "check",
        "--isolated",
        "--no-cache",
        "--select",
        "ASYNC,RUF006",
        ".",
    ];
    let has_ruff = Command::new("ruff")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    println!(
        "{:>28} {:>6}  {:<29}  {:<29}",
        "project", "files", "aiolint (wall, cpu)", "ruff (wall, cpu)"
    );
    for modules in [250, 500, 1000, 2000] {
        let Ok(dir) = tempfile::tempdir() else { return };
        if let Err(error) = generate(dir.path(), modules) {
            eprintln!("cannot generate the project: {error}");
            return;
        }
        let ours = measure(aiolint, &["check", "--statistics", "."], dir.path());
        let theirs = if has_ruff {
            measure("ruff", &ruff_args, dir.path())
        } else {
            None
        };
        row(
            &format!("generated chain x{modules}"),
            modules + 1,
            ours,
            theirs,
        );
    }
    if let Ok(real) = std::env::var("AIOLINT_BENCH_DIR") {
        let path = Path::new(&real);
        let files = ignore::Walk::new(path)
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "py"))
            .count();
        let ours = measure(aiolint, &["check", "--statistics", "."], path);
        let theirs = if has_ruff {
            measure("ruff", &ruff_args, path)
        } else {
            None
        };
        row(&real, files, ours, theirs);
    }
}
