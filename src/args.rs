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
#[allow(clippy::struct_excessive_bools, reason = "each flag is a command-line switch")]
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
