//! Finding the Python interpreter and checking that it can run the harness.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;

/// Oldest Python the harness supports.
const MIN_VERSION: (u32, u32) = (3, 8);
/// How long the version check may take (a cold start of a big virtualenv can be slow).
const VERSION_CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// Resolves `python` (a path, or a bare name searched on `PATH`) to an executable and checks
/// that it is Python 3.8 or newer.
pub(crate) fn resolve(python: &Path) -> Result<PathBuf, Error> {
    let path = locate(python).ok_or_else(|| Error::InterpreterNotFound(python.to_path_buf()))?;
    check_version(&path)?;
    Ok(path)
}

fn is_executable_file(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn locate(python: &Path) -> Option<PathBuf> {
    let bare = python.components().count() == 1 && !python.as_os_str().is_empty();
    let has_separator = python.as_os_str().as_encoded_bytes().contains(&b'/');
    if bare && !has_separator {
        let paths = std::env::var_os("PATH")?;
        return std::env::split_paths(&paths)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(python))
            .find(|candidate| is_executable_file(candidate));
    }
    // Absolute, but not canonical: a virtualenv's `bin/python` symlink must stay as it is,
    // or the interpreter would no longer find its `pyvenv.cfg`.
    let absolute = std::path::absolute(python).ok()?;
    is_executable_file(&absolute).then_some(absolute)
}

fn check_version(path: &Path) -> Result<(), Error> {
    let unusable = |reason: String| Error::UnusableInterpreter {
        path: path.to_path_buf(),
        reason,
    };
    let mut child = Command::new(path)
        .args([
            OsStr::new("-I"),
            OsStr::new("-c"),
            OsStr::new("import sys; print('%d.%d' % sys.version_info[:2])"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| unusable(format!("cannot start it: {err}")))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > VERSION_CHECK_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(unusable(format!(
                    "it did not report its version within {} s",
                    VERSION_CHECK_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(unusable(format!("waiting for it failed: {err}")));
            }
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        return Err(unusable(format!("`-c 'import sys'` failed ({status})")));
    }
    let version = parse_version(out.trim())
        .ok_or_else(|| unusable(format!("unexpected version output `{}`", out.trim())))?;
    if version < MIN_VERSION {
        return Err(unusable(format!(
            "it is Python {}.{}, but {}.{} or newer is required",
            version.0, version.1, MIN_VERSION.0, MIN_VERSION.1
        )));
    }
    Ok(())
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("3.11"), Some((3, 11)));
        assert_eq!(parse_version("2.7"), Some((2, 7)));
        assert_eq!(parse_version("banana"), None);
        assert!(parse_version("3.7").is_some_and(|v| v < MIN_VERSION));
        assert!(parse_version("3.10").is_some_and(|v| v >= MIN_VERSION));
    }

    #[test]
    fn missing_interpreters_are_not_found() {
        assert!(locate(Path::new("/nonexistent/python3")).is_none());
        assert!(locate(Path::new("definitely-not-a-python-binary-xyz")).is_none());
    }
}
