//! `aiolint check`: discover files, analyse them in parallel, print the findings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use analyzer::{Notebook, Settings, SourceFile, SourceKind, io_error};

use crate::args::CheckArgs;
use crate::cache;
use crate::commands::fix;
use crate::config;
use crate::discover::{Discovered, python_and_notebook_files};
use crate::printer::{self, FileReport};
use crate::project;

pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let resolver = config::Resolver::new(
        args.config.as_deref(),
        config::Overrides {
            select: args.select.clone(),
            ignore: args.ignore.clone(),
            target_version: args.target_version,
        },
    )?;
    let resolver = Arc::new(resolver);
    let discovered = discover(&args.paths, &resolver);
    let groups = settings_groups(&resolver, &discovered.files)?;
    for error in &discovered.errors {
        eprintln!("aiolint: error: {error}");
    }
    if let Some(mode) = fix::Mode::from_args(args) {
        return fix::run(args, mode, &discovered, &groups);
    }
    let mut reports = Vec::new();
    for (settings, files) in &groups {
        let pack = (!args.no_cache)
            .then(|| {
                let directory = args
                    .cache_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(cache::DEFAULT_DIRECTORY));
                cache::Pack::open(&directory, files, settings)
            })
            .flatten()
            .map(Arc::new);
        let cache = pack.clone().map(|pack| pack as Arc<dyn analyzer::Cache>);
        let checked = project::check_paths(files, settings, cache);
        if args.run_statistics {
            let s = checked.statistics;
            eprintln!(
                "aiolint: {} files: {} analysed, {} from the cache, {} checked again{}",
                s.files,
                s.analysed,
                s.cached,
                s.rechecked,
                if s.replayed {
                    " (the last run replayed)"
                } else if s.edited_only {
                    " (no summary changed but for positions: the other files' findings replayed)"
                } else {
                    ""
                }
            );
        }
        reports.extend(checked.reports);
        // Freeing a large project's index one allocation at a time takes longer than exiting.
        std::mem::forget(checked.index);
        if let Some(pack) = pack {
            pack.save();
        }
    }
    apply_per_file_ignores(&resolver, &mut reports)?;
    let findings: usize = reports.iter().map(|r| r.diagnostics.len()).sum();
    if args.statistics {
        printer::statistics(&reports)?;
    } else {
        printer::findings(&reports, args.output_format)?;
    }
    Ok(if !discovered.errors.is_empty() {
        ExitCode::from(2)
    } else if findings > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Files under `paths` (`.py`, `.pyi`, `.ipynb`), skipping what each directory's
/// configuration excludes.
fn discover(paths: &[PathBuf], resolver: &Arc<config::Resolver>) -> Discovered {
    let resolver = resolver.clone();
    python_and_notebook_files(
        paths,
        &(Arc::new(move |path: &Path, is_dir: bool| resolver.is_excluded(path, is_dir))
            as crate::discover::Exclude),
    )
}

/// The files grouped by the configuration that applies to them, each group with its settings
/// (every configuration is its own project). Broken configuration files are errors.
fn settings_groups(
    resolver: &config::Resolver,
    files: &[PathBuf],
) -> anyhow::Result<Vec<(Settings, Vec<PathBuf>)>> {
    let mut groups: Vec<(PathBuf, Settings, Vec<PathBuf>)> = Vec::new();
    for file in files {
        let (config, settings) = resolver.base_settings(file)?;
        match groups.iter_mut().find(|(c, _, _)| *c == config) {
            Some((_, _, members)) => members.push(file.clone()),
            None => groups.push((config, settings, vec![file.clone()])),
        }
    }
    let errors = resolver.errors();
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("\naiolint: error: "));
    }
    Ok(groups.into_iter().map(|(_, s, f)| (s, f)).collect())
}

/// Drops the findings that a file's `per-file-ignores` entries turn off.
fn apply_per_file_ignores(
    resolver: &config::Resolver,
    reports: &mut [FileReport],
) -> anyhow::Result<()> {
    for report in reports {
        let settings = resolver.settings(Path::new(&report.file.path))?;
        report
            .diagnostics
            .retain(|d| settings.rules.is_enabled(d.rule));
    }
    Ok(())
}

/// Reads one file for checking; an unreadable or undecodable file becomes a report with its
/// `E902` finding.
pub(crate) fn read_source(path: &Path) -> Result<SourceFile, FileReport> {
    let display = path.display().to_string();
    let text = match lsp::files::read_regular_file(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                let offset = error.utf8_error().valid_up_to();
                let message = format!("file is not valid UTF-8 (invalid byte at offset {offset})");
                return Err(FileReport::unreadable(display, io_error(message)));
            }
        },
        Err(error) => {
            return Err(FileReport::unreadable(
                display,
                io_error(format!("cannot read file: {error}")),
            ));
        }
    };
    if path.extension().is_some_and(|e| e == "ipynb") {
        return read_notebook(display, &text);
    }
    let mut file = SourceFile::new(display, text);
    if path.extension().is_some_and(|e| e == "pyi") {
        file.kind = SourceKind::Stub;
    }
    Ok(file)
}

/// A notebook's code cells as one module; a file that is not a notebook gets an `E902`.
fn read_notebook(display: String, json: &str) -> Result<SourceFile, FileReport> {
    let notebook = Notebook::parse(json)
        .map_err(|error| FileReport::unreadable(display.clone(), io_error(error.to_string())))?;
    let mut file = SourceFile::new(display, notebook.text.clone());
    file.kind = SourceKind::Notebook;
    file.notebook = Some(Arc::new(notebook));
    Ok(file)
}
