//! Command-line arguments. Doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// aiolint: finds the mistakes that make asyncio programs hang, stall or silently skip work.
#[derive(Debug, Parser)]
#[command(name = "aiolint", version, about, max_term_width = 100)]
pub(crate) struct App {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check Python files and directories for asyncio pitfalls.
    Check(CheckArgs),
    /// Explain a rule: what it flags, why, an example and the fix.
    Rule(RuleArgs),
    /// Run the language server over stdin/stdout (for editors).
    Server(ServerArgs),
    /// Check, then run each confirmable finding in real Python to prove it (runs your code).
    Confirm(ConfirmArgs),
    /// Measurements for aiolint's own benchmarks.
    #[command(hide = true)]
    Debug(DebugArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DebugArgs {
    /// Parse the Python files under these paths and nothing else (the parser's floor).
    #[arg(long, required = true, num_args = 1.., value_name = "PATHS")]
    pub parse_only: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Each finding with its source line.
    Text,
    /// One line per finding: `path:line:col: CODE message`.
    Concise,
    /// A JSON array, one object per finding (the stable machine contract).
    Json,
    /// SARIF 2.1.0, for code scanning services (GitHub code scanning and others).
    Sarif,
    /// GitHub Actions workflow commands: annotations on the pull request's diff.
    Github,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is a command-line switch"
)]
pub(crate) struct CheckArgs {
    /// Files or directories to check (directories are walked, respecting `.gitignore`).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// How to print the findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,

    /// Only these rules: codes, code prefixes (`AIO2`), rule names, or `ALL`; comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Option<Vec<String>>,

    /// Leave these rules out (same forms as `--select`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,

    /// Exit with status 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,

    /// Print a count of findings per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,

    /// Use this configuration file (`aiolint.toml`, or a `pyproject.toml` with
    /// `[tool.aiolint]`) for every file, instead of the nearest one to each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The Python version to check against: py38 ... py314 (default: the configuration's
    /// `target-version`, else the lower bound of `requires-python`, else py311).
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub target_version: Option<analyzer::PythonVersion>,

    /// Apply the safe fixes and write the files (only when the result still parses); the
    /// findings left are reported as usual.
    #[arg(long)]
    pub fix: bool,

    /// Also apply the unsafe fixes (with `--fix` or `--diff`).
    #[arg(long)]
    pub unsafe_fixes: bool,

    /// Print the changes `--fix` would make as a unified diff and write nothing; exits with 1
    /// when there would be changes.
    #[arg(long)]
    pub diff: bool,

    /// Analyse every file afresh and neither read nor write the cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Where to keep the cache (default: `.aiolint_cache` in the working directory).
    #[arg(long, value_name = "DIR", env = "AIOLINT_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Print on stderr how the files were analysed (parsed, from the cache, checked again).
    #[arg(long, hide = true)]
    pub run_statistics: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RuleArgs {
    /// A rule code (`AIO200`) or name (`blocking-sleep`).
    #[arg(required_unless_present = "all")]
    pub rule: Option<String>,

    /// Explain every rule.
    #[arg(long, conflicts_with = "rule")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// How much to log on stderr.
    #[arg(long, default_value = "info", value_parser = ["error", "warn", "info", "debug", "trace"])]
    pub log_level: String,

    /// Accepted for editor clients that pass it; stdio is the only transport.
    #[arg(long, hide = true)]
    pub stdio: bool,
}

/// How `confirm` prints its verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConfirmFormat {
    /// One line per finding, then its verdict and evidence.
    Text,
    /// The JSON array of `check`, each finding with a `confirmation` object.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ConfirmArgs {
    /// Files or directories to check and confirm (as for `check`).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// The Python interpreter that runs the probes (3.8 or newer): a path or a name on `PATH`.
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: PathBuf,

    /// How long each probe may run, in seconds; it is killed at the deadline.
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: f64,

    /// How many probes run at once (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// How to print the verdicts.
    #[arg(long, value_enum, default_value_t = ConfirmFormat::Text)]
    pub output_format: ConfirmFormat,

    /// Only these rules (same forms as for `check`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Option<Vec<String>>,

    /// Leave these rules out (same forms as `--select`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(secs)
    } else {
        Err("the timeout must be more than 0 and at most 86400 seconds".to_string())
    }
}

fn parse_version(text: &str) -> Result<analyzer::PythonVersion, String> {
    analyzer::PythonVersion::parse(text)
        .ok_or_else(|| format!("`{text}` is not a supported version: expected py38 ... py314"))
}
