//! The containment tests again, as an unprivileged user: without the privilege to unshare
//! namespaces, the child enters a user namespace first (where the caller's user is root) and
//! gets the same layers there, with `RLIMIT_NPROC` for a process limit instead of a cgroup.
//!
//! Run as root (CI), this test runs the `containment` test binary as `nobody` with
//! `setpriv`; run as anyone else, `containment` itself already is this test.

use std::path::PathBuf;
use std::process::Command;

/// The `containment` test binary next to this one (cargo builds every test of the package).
fn containment_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("containment-") && std::path::Path::new(name).extension().is_none()
        })
        .max_by_key(|path| path.metadata().and_then(|m| m.modified()).ok())
}

#[test]
fn the_containment_tests_pass_as_an_unprivileged_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Already unprivileged: `containment` runs as such.
        return;
    }
    let Some(binary) = containment_binary() else {
        panic!("the containment test binary was not built next to this one");
    };
    // The test binary is self-contained (the harness is compiled in); a copy in a folder
    // anyone may enter runs wherever the checkout is (under root's home, say).
    let copy_dir = tempfile::tempdir().expect("temporary directory");
    let copy = copy_dir.path().join("containment");
    std::fs::copy(&binary, &copy).expect("copy the containment test binary");
    for (path, mode) in [(copy_dir.path(), 0o755), (copy.as_path(), 0o755)] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .expect("make the copy runnable by anyone");
    }
    // `nobody` cannot read root's home, so the system's interpreter.
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&copy)
        .args(["--test-threads", "2"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("TMPDIR", std::env::temp_dir())
        .env("CARGO_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("setpriv runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "as nobody:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok"), "{stdout}");
}
