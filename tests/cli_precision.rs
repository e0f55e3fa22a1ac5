//! End-to-end tests of the precision work (issue 16) and the cancellation paths (issue 17)
//! through the built binary: guards on the running loop in a helper of another module,
//! handlers that end in a helper that always raises (also after the helper changes, with the
//! cache), version guards and Trio-only modules.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{code, findings, json, project, stderr};

/// Runs `aiolint check --output-format json ARGS .` in `dir` with the cache in `cache`.
fn check(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args(["check", "--output-format", "json"])
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .arg(".")
        .current_dir(dir)
        .env_remove("AIOLINT_CACHE_DIR")
        .output()
        .expect("the aiolint binary runs")
}

const BRIDGE: &str = "import asyncio\n\n\ndef run_sync(coro):\n    loop = asyncio.get_event_loop()\n    if loop.is_running():\n        raise RuntimeError(\"use await\")\n    return loop.run_until_complete(coro)\n\n\ndef run_always(coro):\n    return asyncio.run(coro)\n\n\ndef stop(message):\n    raise RuntimeError(message)\n";

const SERVICE: &str = "import asyncio\n\nfrom app.bridge import run_always, run_sync, stop\n\n\nasync def job():\n    return 1\n\n\nasync def main(client):\n    run_sync(job())\n    run_always(job())\n    try:\n        await client.fetch()\n    except asyncio.CancelledError:\n        stop(\"cancelled\")\n    try:\n        await client.fetch()\n    except asyncio.CancelledError:\n        if client.closing:\n            return None\n        raise\n";

fn app() -> tempfile::TempDir {
    project(&[
        ("pyproject.toml", b"[project]\nname = \"app\"\n"),
        ("app/__init__.py", b""),
        ("app/bridge.py", BRIDGE.as_bytes()),
        ("app/service.py", SERVICE.as_bytes()),
        (
            "app/trio_worker.py",
            b"import trio\n\n\nasync def worker(channel):\n    try:\n        await channel.receive()\n    except BaseException:\n        await trio.lowlevel.checkpoint()\n",
        ),
        (
            "app/compat.py",
            b"import asyncio\nimport sys\n\nif sys.version_info >= (3, 12):\n    factory = asyncio.eager_task_factory\nelse:\n    factory = None\n\nnewer = asyncio.eager_task_factory\n",
        ),
    ])
}

#[test]
fn guarded_helpers_never_returning_helpers_and_handler_paths() {
    let dir = app();
    let cache = tempfile::tempdir().expect("temporary directory");
    let output = check(dir.path(), cache.path(), &["--target-version", "py311"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        findings(&output),
        [
            ("./app/compat.py".to_string(), 9, "AIO500".to_string()),
            ("./app/service.py".to_string(), 12, "AIO300".to_string()),
            ("./app/service.py".to_string(), 19, "AIO400".to_string()),
        ],
        "`run_sync` checks `is_running()` first, `stop` always raises, the Trio module and the \
         version-guarded name are fine: {:#?}",
        json(&output)
    );
    let all = json(&output);
    assert_eq!(
        all[2]["message"],
        "`except asyncio.CancelledError` handler in coroutine `main` swallows the task's \
         cancellation: `return` on line 21 leaves the handler without re-raising; re-raise it \
         (`raise`) after cleaning up"
    );
    assert!(
        all[2]["fix"].is_null(),
        "adding `raise` at the end would leave the `return`"
    );
}

#[test]
fn a_helper_that_stops_always_raising_is_seen_through_the_cache() {
    let dir = app();
    let cache = tempfile::tempdir().expect("temporary directory");
    let lines = |output: &Output| -> Vec<(u64, String)> {
        findings(output)
            .into_iter()
            .filter(|(path, _, _)| path == "./app/service.py")
            .map(|(_, line, code)| (line, code))
            .collect()
    };
    let cold = check(dir.path(), cache.path(), &[]);
    assert_eq!(
        lines(&cold),
        [(12, "AIO300".to_string()), (19, "AIO400".to_string())],
        "{}",
        stderr(&cold)
    );
    // `stop` may now return: the handler that ends in it swallows the cancellation. Only
    // bridge.py changed; service.py's cached check asked the index whether `stop` returns.
    let bridge = BRIDGE.replace(
        "def stop(message):\n    raise RuntimeError(message)\n",
        "def stop(message):\n    if message:\n        raise RuntimeError(message)\n",
    );
    std::fs::write(dir.path().join("app/bridge.py"), bridge).expect("write bridge.py");
    let warm = check(dir.path(), cache.path(), &[]);
    assert_eq!(
        lines(&warm),
        [
            (12, "AIO300".to_string()),
            (15, "AIO400".to_string()),
            (19, "AIO400".to_string())
        ],
        "{}",
        stderr(&warm)
    );
    let uncached = Command::new(env!("CARGO_BIN_EXE_aiolint"))
        .args(["check", "--no-cache", "--output-format", "json", "."])
        .current_dir(dir.path())
        .output()
        .expect("the aiolint binary runs");
    assert_eq!(findings(&uncached), findings(&warm), "warm equals cold");
}
