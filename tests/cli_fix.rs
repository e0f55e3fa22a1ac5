//! End-to-end tests of `aiolint check --fix`, `--unsafe-fixes` and `--diff` through the built
//! binary.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use common::{aiolint, code, findings, project, stderr, stdout};

const SLEEPY: &str = "import time\n\nasync def poll():\n    time.sleep(1)\n    time.sleep(2)\n";
const SLEEPY_FIXED: &str = "import time\nimport asyncio\n\nasync def poll():\n    await asyncio.sleep(1)\n    await asyncio.sleep(2)\n";
const DANGLING: &str = "import asyncio\n\nasync def work():\n    pass\n\nasync def start():\n    asyncio.create_task(work())\n";
const DANGLING_FIXED: &str = "import asyncio\n_background_tasks = set()  # Strong references to running background tasks.\n\nasync def work():\n    pass\n\nasync def start():\n    task = asyncio.create_task(work())\n    _background_tasks.add(task)\n    task.add_done_callback(_background_tasks.discard)\n";

fn read(dir: &Path, path: &str) -> String {
    fs::read_to_string(dir.join(path)).expect("read the file back")
}

/// The names in `dir`, sorted (to see that no temporary file was left behind).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn fix_applies_the_safe_fixes_and_reports_what_remains() {
    let dir = project(&[
        ("sleepy.py", SLEEPY.as_bytes()),
        ("dangling.py", DANGLING.as_bytes()),
    ]);
    let output = aiolint(
        dir.path(),
        &["check", "--fix", "--output-format", "json", "."],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(read(dir.path(), "sleepy.py"), SLEEPY_FIXED);
    assert_eq!(
        read(dir.path(), "dangling.py"),
        DANGLING,
        "unsafe fix applied"
    );
    assert_eq!(
        findings(&output),
        vec![("./dangling.py".to_string(), 7, "AIO101".to_string())]
    );
    assert!(
        stderr(&output).contains("Fixed 2 findings (1 remaining)."),
        "{}",
        stderr(&output)
    );
    assert_eq!(listing(dir.path()), ["dangling.py", "sleepy.py"]);
}

#[test]
fn unsafe_fixes_are_applied_when_asked_and_the_exit_code_is_zero() {
    let dir = project(&[
        ("sleepy.py", SLEEPY.as_bytes()),
        ("dangling.py", DANGLING.as_bytes()),
    ]);
    let output = aiolint(dir.path(), &["check", "--fix", "--unsafe-fixes", "."]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(read(dir.path(), "sleepy.py"), SLEEPY_FIXED);
    assert_eq!(read(dir.path(), "dangling.py"), DANGLING_FIXED);
    assert!(stderr(&output).contains("Fixed 3 findings (0 remaining)."));
    assert_eq!(stdout(&output), "All checks passed!\n");
}

#[test]
fn a_second_fix_changes_nothing() {
    let dir = project(&[
        ("sleepy.py", SLEEPY.as_bytes()),
        ("dangling.py", DANGLING.as_bytes()),
    ]);
    let first = aiolint(dir.path(), &["check", "--fix", "--unsafe-fixes", "."]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let after_first = (
        read(dir.path(), "sleepy.py"),
        read(dir.path(), "dangling.py"),
    );
    let second = aiolint(dir.path(), &["check", "--fix", "--unsafe-fixes", "."]);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert!(stderr(&second).contains("Fixed 0 findings (0 remaining)."));
    assert_eq!(
        (
            read(dir.path(), "sleepy.py"),
            read(dir.path(), "dangling.py")
        ),
        after_first
    );
    let diff = aiolint(dir.path(), &["check", "--diff", "--unsafe-fixes", "."]);
    assert_eq!((code(&diff), stdout(&diff)), (0, String::new()));
}

#[test]
fn diff_prints_a_unified_diff_and_writes_nothing() {
    let dir = project(&[
        ("sleepy.py", SLEEPY.as_bytes()),
        ("dangling.py", DANGLING.as_bytes()),
    ]);
    let output = aiolint(dir.path(), &["check", "--diff", "sleepy.py", "dangling.py"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "--- sleepy.py\n+++ sleepy.py\n@@ -1,5 +1,6 @@\n import time\n+import asyncio\n \n async def poll():\n-    time.sleep(1)\n-    time.sleep(2)\n+    await asyncio.sleep(1)\n+    await asyncio.sleep(2)\n"
    );
    assert!(stderr(&output).contains("Would fix 2 findings (1 remaining)."));
    assert_eq!(read(dir.path(), "sleepy.py"), SLEEPY);
    assert_eq!(read(dir.path(), "dangling.py"), DANGLING);
    assert_eq!(listing(dir.path()), ["dangling.py", "sleepy.py"]);

    let with_unsafe = aiolint(
        dir.path(),
        &["check", "--diff", "--unsafe-fixes", "dangling.py"],
    );
    assert_eq!(code(&with_unsafe), 1);
    assert!(
        stdout(&with_unsafe).contains("+    _background_tasks.add(task)\n"),
        "{}",
        stdout(&with_unsafe)
    );
    assert_eq!(read(dir.path(), "dangling.py"), DANGLING);

    let nothing = aiolint(dir.path(), &["check", "--diff", "dangling.py"]);
    assert_eq!((code(&nothing), stdout(&nothing)), (0, String::new()));
}

#[test]
fn crlf_and_non_ascii_text_is_kept_byte_exact_outside_the_edits() {
    let original = "# -*- coding: utf-8 -*-\r\n\"\"\"Données météo — 天气.\"\"\"\r\nimport time\r\n\r\nasync def récupérer(数据):\r\n    time.sleep(数据)  # attendre 😴\r\n    return \"é\"\r\n";
    let expected = "# -*- coding: utf-8 -*-\r\n\"\"\"Données météo — 天气.\"\"\"\r\nimport time\r\nimport asyncio\r\n\r\nasync def récupérer(数据):\r\n    await asyncio.sleep(数据)  # attendre 😴\r\n    return \"é\"\r\n";
    let dir = project(&[("météo.py", original.as_bytes())]);
    let output = aiolint(dir.path(), &["check", "--fix", "météo.py"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        fs::read(dir.path().join("météo.py")).expect("read back"),
        expected.as_bytes()
    );
}

/// A file whose line breaks are lone `\r`s (old Mac line endings) is fixed at the right places,
/// its `\r`s kept and the added lines ended the same way.
#[test]
fn lone_cr_line_endings_are_kept() {
    let original = "import time\r\rasync def poll():\r    time.sleep(1)\r    return '\\r'\r";
    let expected = "import time\rimport asyncio\r\rasync def poll():\r    await asyncio.sleep(1)\r    return '\\r'\r";
    let dir = project(&[("cr.py", original.as_bytes())]);
    let output = aiolint(dir.path(), &["check", "--fix", "cr.py"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        fs::read(dir.path().join("cr.py")).expect("read back"),
        expected.as_bytes()
    );
}

#[test]
fn permissions_are_kept_and_symbolic_links_stay_links() {
    let dir = project(&[("real/sleepy.py", SLEEPY.as_bytes())]);
    let real = dir.path().join("real/sleepy.py");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).expect("chmod");
    std::os::unix::fs::symlink("real/sleepy.py", dir.path().join("link.py")).expect("symlink");
    let output = aiolint(dir.path(), &["check", "--fix", "link.py"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        fs::symlink_metadata(dir.path().join("link.py"))
            .expect("link metadata")
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(dir.path(), "real/sleepy.py"), SLEEPY_FIXED);
    assert_eq!(
        fs::metadata(&real).expect("metadata").permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn a_file_that_does_not_parse_is_never_written() {
    let broken = "import time\n\nasync def poll(:\n    time.sleep(1)\n";
    let dir = project(&[("broken.py", broken.as_bytes())]);
    let output = aiolint(
        dir.path(),
        &["check", "--fix", "--unsafe-fixes", "broken.py"],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(read(dir.path(), "broken.py"), broken);
    assert!(stdout(&output).contains("E999"), "{}", stdout(&output));
}

/// A file in a read-only directory cannot be replaced atomically (the temporary file cannot be
/// created next to it): the error names the file, and the other files are still fixed.
///
/// Permission bits do not stop root, and CI runs as root. So when the test runs as root it runs
/// aiolint as the unprivileged user `nobody` (uid 65534) instead, from a copy of the binary in
/// the test's own directory so that every path it needs is readable by that user; the directory
/// modes then apply as they do for any user.
#[test]
fn a_read_only_directory_gives_a_clear_error_and_the_other_files_are_still_fixed() {
    let dir = project(&[
        ("locked/sleepy.py", SLEEPY.as_bytes()),
        ("open/sleepy.py", SLEEPY.as_bytes()),
    ]);
    let root = dir.path();
    let probe = root.join("whoami");
    fs::write(&probe, "").expect("probe file");
    let running_as_root = fs::metadata(&probe).expect("probe metadata").uid() == 0;
    fs::remove_file(&probe).expect("remove probe");

    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aiolint"));
    if running_as_root {
        let binary = root.join("aiolint");
        fs::copy(env!("CARGO_BIN_EXE_aiolint"), &binary).expect("copy the binary");
        command = std::process::Command::new(binary);
        std::os::unix::process::CommandExt::uid(&mut command, 65534);
        std::os::unix::process::CommandExt::gid(&mut command, 65534);
    }
    let chmod = |path: &str, mode: u32| {
        fs::set_permissions(root.join(path), fs::Permissions::from_mode(mode)).expect("chmod");
    };
    chmod(".", 0o755);
    chmod("open", 0o777);
    chmod("open/sleepy.py", 0o666);
    chmod("locked/sleepy.py", 0o666);
    chmod("locked", 0o555);

    let output = command
        .args(["check", "--fix", "locked/sleepy.py", "open/sleepy.py"])
        .current_dir(root)
        .env_remove("RUST_LOG")
        .output()
        .expect("the aiolint binary runs");
    chmod("locked", 0o755);

    let errors = stderr(&output);
    assert_eq!(code(&output), 2, "{errors}");
    assert!(
        errors.contains("aiolint: error: locked/sleepy.py: cannot create a temporary file in"),
        "{errors}"
    );
    assert!(
        errors.contains("Fixed 2 findings (2 remaining)."),
        "{errors}"
    );
    assert_eq!(read(root, "locked/sleepy.py"), SLEEPY);
    assert_eq!(read(root, "open/sleepy.py"), SLEEPY_FIXED);
    // The unfixed file's findings are still reported.
    assert!(
        stdout(&output).contains("locked/sleepy.py:4:5: AIO200"),
        "{}",
        stdout(&output)
    );
    assert_eq!(listing(&root.join("locked")), ["sleepy.py"]);
}

/// Whether `python3` compiles `text` (tree-sitter accepts some text that Python does not, such
/// as `await await x`, so "it still parses" is not enough).
fn python_compiles(text: &str) -> Result<(), String> {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; compile(sys.stdin.read(), 'fixed.py', 'exec')",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python3 runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Found by scripts/fix-safety.sh in redis (`return await self.execute_command(...)`, a sync
/// method that blocks and returns an awaitable): a fix that puts `await` in place of a call
/// that is already awaited must parenthesize it, or the result is `await await ...`.
#[test]
fn a_fix_inside_an_await_is_parenthesized() {
    let text = "import asyncio\nimport time\n\n\ndef command(name):\n    time.sleep(1)\n    return asyncio.sleep(0, name)\n\n\nasync def watch():\n    return await command(\"WATCH\")\n\n\nasync def main():\n    await asyncio.run(watch())\n";
    let dir = project(&[("app.py", text.as_bytes())]);
    let output = aiolint(dir.path(), &["check", "--fix", "--unsafe-fixes", "."]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let fixed = read(dir.path(), "app.py");
    assert!(
        fixed.contains("    return await (await asyncio.to_thread(command, \"WATCH\"))\n"),
        "{fixed}"
    );
    assert!(fixed.contains("    await (await watch())\n"), "{fixed}");
    python_compiles(&fixed).unwrap_or_else(|e| panic!("{e}\n{fixed}"));
}
