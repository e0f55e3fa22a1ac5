//! Errors that keep probes from running at all.

use std::io;
use std::path::PathBuf;

/// Why [`run_probes`](crate::run_probes) could not run the probes.
///
/// Problems of a single probe that did run (a syntax error, an exception, a crash, a timeout)
/// are not errors: they are reported in its [`Outcome`](crate::Outcome).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured interpreter does not exist (or is not on `PATH`).
    #[error("python interpreter not found at `{}`", .0.display())]
    InterpreterNotFound(PathBuf),
    /// The interpreter exists but could not be used: it failed to start, is not Python, or is
    /// older than Python 3.8.
    #[error("python interpreter `{}` is not usable: {reason}", .path.display())]
    UnusableInterpreter {
        /// The interpreter that was tried.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A field of [`Options`](crate::Options) is out of range.
    #[error("invalid runtime-check options: {0}")]
    InvalidOptions(String),
    /// A probe is malformed (bad entry name, flagged line outside the probe, ...).
    #[error("invalid probe #{index} for `{filename}`: {reason}")]
    InvalidProbe {
        /// Position of the probe in the input.
        index: usize,
        /// The probe's [`filename`](crate::Probe::filename).
        filename: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An operating-system call failed (temporary directory, pipe, poll, spawning).
    #[error("runtime-check failed while {context}: {source}")]
    Io {
        /// What the supervisor was doing.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Probes need a Unix system (process groups, signals, pipes).
    #[error("runtime-check is only supported on Unix systems")]
    Unsupported,
    /// A bug in this crate; it is reported instead of panicking.
    #[error("runtime-check internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn io(context: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { context, source }
    }
}
