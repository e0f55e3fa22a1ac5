//! `aiolint check --fix` and `--diff`: apply the fixes of each file until they converge, then
//! write the file atomically or print the change as a unified diff.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use analyzer::{
    ModuleName, ProjectIndex, Settings, SourceFile, SourceKind, check_file, fix_until_stable_in,
};
use anyhow::Context as _;
use rayon::prelude::*;

use crate::args::CheckArgs;
use crate::commands::check::read_source;
use crate::discover::Discovered;
use crate::printer::{self, FileReport};
use crate::project;

/// What to do with the fixed text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `--fix`: write the files.
    Write,
    /// `--diff`: print what would change, write nothing.
    Diff,
}

impl Mode {
    /// The mode `args` ask for, if any (`--diff` wins over `--fix`: it never writes).
    pub(crate) fn from_args(args: &CheckArgs) -> Option<Self> {
        if args.diff {
            Some(Mode::Diff)
        } else if args.fix {
            Some(Mode::Write)
        } else {
            None
        }
    }
}

/// One file after fixing.
struct FileFix {
    /// The file as it is now (written, or as it would be with `--diff`) and its findings.
    report: FileReport,
    /// The text before fixing, when it changed.
    original: Option<String>,
    /// How many findings the fixes removed (0 when the file could not be written).
    fixed: usize,
    /// Why the fixed text could not be written.
    error: Option<String>,
    /// Fixes were still offered after the last round.
    unconverged: bool,
}

/// Fixes every discovered file in parallel; reports, writes or diffs, and sums up on stderr.
/// Each group of files shares its configuration's settings and is one project (one index).
pub(crate) fn run(
    args: &CheckArgs,
    mode: Mode,
    discovered: &Discovered,
    groups: &[(Settings, Vec<PathBuf>)],
) -> anyhow::Result<ExitCode> {
    let mut results: Vec<FileFix> = Vec::new();
    for (settings, files) in groups {
        // Without a cache the run is never a replay, so there is always an index.
        let index = project::check_paths(files, settings, None)
            .index
            .unwrap_or_default();
        let fixed: Vec<FileFix> = files
            .par_iter()
            .map(|path| match read_source(path) {
                Ok(file) => fix_module(
                    file,
                    &project::module_name(path),
                    &index,
                    settings,
                    mode,
                    args.unsafe_fixes,
                ),
                Err(report) => FileFix::unfixed(report),
            })
            .collect();
        results.extend(fixed);
    }
    results.sort_by(|a, b| a.report.file.path.cmp(&b.report.file.path));
    let fixed: usize = results.iter().map(|r| r.fixed).sum();
    let remaining: usize = results.iter().map(|r| r.report.diagnostics.len()).sum();
    let changed = results.iter().any(|r| r.original.is_some());
    let mut failed = !discovered.errors.is_empty();
    for result in &results {
        if let Some(error) = &result.error {
            eprintln!("aiolint: error: {error}");
            failed = true;
        }
        if result.unconverged {
            eprintln!(
                "aiolint: warning: fixes for {} did not converge after {} rounds; run again to apply the rest",
                result.report.file.path,
                analyzer::MAX_FIX_ROUNDS
            );
        }
    }
    let noun = |n: usize| if n == 1 { "finding" } else { "findings" };
    match mode {
        Mode::Diff => {
            let diffs: Vec<(&str, &str, &str)> = results
                .iter()
                .filter_map(|r| {
                    let original = r.original.as_deref()?;
                    Some((r.report.file.path.as_str(), original, &*r.report.file.text))
                })
                .collect();
            printer::diffs(&diffs)?;
            eprintln!("Would fix {fixed} {} ({remaining} remaining).", noun(fixed));
        }
        Mode::Write => {
            let reports: Vec<FileReport> = results
                .into_iter()
                .map(|r| r.report)
                .filter(|r| !r.diagnostics.is_empty())
                .collect();
            if args.statistics {
                printer::statistics(&reports)?;
            } else {
                printer::findings(&reports, args.output_format)?;
            }
            eprintln!("Fixed {fixed} {} ({remaining} remaining).", noun(fixed));
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else if args.exit_zero {
        ExitCode::SUCCESS
    } else if match mode {
        Mode::Diff => changed,
        Mode::Write => remaining > 0,
    } {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

impl FileFix {
    fn unfixed(report: FileReport) -> Self {
        FileFix {
            report,
            original: None,
            fixed: 0,
            error: None,
            unconverged: false,
        }
    }
}

/// Fixes and (in [`Mode::Write`]) writes one file of a project.
fn fix_module(
    file: SourceFile,
    name: &ModuleName,
    index: &ProjectIndex,
    settings: &Settings,
    mode: Mode,
    unsafe_fixes: bool,
) -> FileFix {
    let unfixed = FileFix::unfixed;
    let path = PathBuf::from(&file.path);
    let path = path.as_path();
    if file.kind == SourceKind::Stub {
        return unfixed(FileReport {
            file,
            diagnostics: Vec::new(),
        });
    }
    if file.kind == SourceKind::Notebook {
        // Fixes are not written back into a notebook's JSON: its findings are reported only.
        let diagnostics = check_file(&file, settings);
        return unfixed(FileReport { file, diagnostics });
    }
    let outcome = fix_until_stable_in(&file, name, index, settings, unsafe_fixes);
    let unconverged = !outcome.converged;
    if outcome.text == *file.text {
        let mut result = unfixed(FileReport {
            file,
            diagnostics: outcome.diagnostics,
        });
        result.unconverged = unconverged;
        return result;
    }
    if mode == Mode::Write
        && let Err(error) = write_atomically(path, &outcome.text)
    {
        // Nothing was written: the file keeps its text and its findings.
        let diagnostics = check_file(&file, settings);
        let mut result = unfixed(FileReport { file, diagnostics });
        result.error = Some(format!("{}: {error:#}", path.display()));
        return result;
    }
    let mut fixed_file = SourceFile::new(file.path.clone(), outcome.text.as_str());
    fixed_file.kind = file.kind;
    FileFix {
        report: FileReport {
            file: fixed_file,
            diagnostics: outcome.diagnostics,
        },
        original: Some(file.text.to_string()),
        fixed: outcome.fixed,
        error: None,
        unconverged,
    }
}

/// Replaces the file at `path` with `text` atomically: the text goes to a temporary file in the
/// same directory, which takes the original's permissions and is then renamed over it. A
/// symbolic link is followed, so the link stays and its target is updated.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let target = std::fs::canonicalize(path).context("cannot resolve the file's path")?;
    let directory = target
        .parent()
        .context("the file has no parent directory")?;
    let permissions = std::fs::metadata(&target)
        .context("cannot read the file's permissions")?
        .permissions();
    let mut temporary = tempfile::NamedTempFile::new_in(directory).with_context(|| {
        format!(
            "cannot create a temporary file in {} to write the fixes",
            directory.display()
        )
    })?;
    temporary
        .write_all(text.as_bytes())
        .and_then(|()| temporary.as_file().sync_all())
        .context("cannot write the fixed text to a temporary file")?;
    temporary
        .as_file()
        .set_permissions(permissions)
        .context("cannot give the temporary file the original's permissions")?;
    temporary
        .persist(&target)
        .context("cannot replace the file with the fixed text")?;
    Ok(())
}
