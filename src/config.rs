//! Finding and loading configuration: for each file, the nearest `aiolint.toml` or
//! `pyproject.toml` with a `[tool.aiolint]` table in its directory or above (an `aiolint.toml`
//! wins over a `pyproject.toml` in the same directory), or the one `--config FILE` names.
//! Command-line options override the file: `--select` replaces its `select` and `ignore`,
//! `--ignore` adds to its `ignore`, `--target-version` replaces its target version.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use analyzer::{ConfigFile, ConfigResolver, PythonVersion, Settings};
use anyhow::{Context, anyhow};

/// What the command line says about configuration.
pub(crate) struct Overrides {
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub target_version: Option<PythonVersion>,
}

/// Finds the configuration of each file, loading every file once.
pub(crate) struct Resolver {
    overrides: Overrides,
    /// `--config FILE`: used for every file.
    fixed: Option<Arc<ConfigFile>>,
    /// The nearest configuration of each directory (the built-in defaults relative to the
    /// current directory).
    nearest: ConfigResolver,
    /// The working directory, that relative paths are relative to.
    cwd: PathBuf,
}

impl Resolver {
    pub(crate) fn new(config: Option<&Path>, overrides: Overrides) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let fixed = match config {
            Some(path) => {
                let bytes = lsp::files::read_regular_file(path)
                    .with_context(|| format!("{}: cannot read configuration", path.display()))?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    anyhow!("{}: cannot read configuration: not UTF-8", path.display())
                })?;
                let loaded = ConfigFile::parse(&path.display().to_string(), &absolute(path), &text)
                    .map_err(|error| anyhow!(error))?
                    .ok_or_else(|| anyhow!("{}: has no `[tool.aiolint]` table", path.display()))?;
                Some(Arc::new(loaded))
            }
            None => None,
        };
        // Check the command-line selectors once, up front.
        analyzer::RuleSelection::from_selectors(overrides.select.as_deref(), &overrides.ignore)?;
        let read = |path: &Path| path.is_file().then(|| std::fs::read_to_string(path));
        Ok(Self {
            overrides,
            fixed,
            nearest: ConfigResolver::new(cwd.clone(), Box::new(read))
                .map_err(|error| anyhow!(error))?,
            cwd,
        })
    }

    /// The configuration that applies to `path` (a file or directory).
    /// The configuration that applies to `path` (a file or directory), a directory when
    /// `is_dir`.
    fn config_of(&self, path: &Path, is_dir: bool) -> Arc<ConfigFile> {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        let path = self.absolute(path);
        if is_dir {
            self.nearest.config_in(&path)
        } else {
            self.nearest.config_for_file(&path)
        }
    }

    /// `path` made absolute against the working directory (without touching the file system).
    fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path).components().collect()
        }
    }

    /// Configuration errors met so far.
    pub(crate) fn errors(&self) -> Vec<String> {
        self.nearest.errors()
    }

    /// Whether walking should skip `path`: the configuration's `exclude` (by default the
    /// usual environment and build directories) and `extend-exclude`.
    pub(crate) fn is_excluded(&self, path: &Path, is_dir: bool) -> bool {
        self.config_of(path, is_dir)
            .excludes(&self.absolute(path), is_dir)
    }

    /// The settings for checking `path`, without its `per-file-ignores`.
    pub(crate) fn base_settings(&self, path: &Path) -> anyhow::Result<(PathBuf, Settings)> {
        let loaded = self.config_of(path, false);
        let settings = self.settings_with(&loaded, &[])?;
        Ok((PathBuf::from(&loaded.config.path), settings))
    }

    /// The settings for checking `path`, its `per-file-ignores` applied.
    pub(crate) fn settings(&self, path: &Path) -> anyhow::Result<Settings> {
        let loaded = self.config_of(path, false);
        let ignored = loaded.ignored_for(&self.absolute(path));
        self.settings_with(&loaded, &ignored)
    }

    fn settings_with(&self, loaded: &ConfigFile, ignored: &[String]) -> anyhow::Result<Settings> {
        loaded
            .config
            .settings(
                self.overrides.select.as_deref(),
                &self.overrides.ignore,
                self.overrides.target_version,
                ignored,
            )
            .with_context(|| loaded.config.path.clone())
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
