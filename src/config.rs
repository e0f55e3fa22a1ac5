//! Finding and loading configuration: for each file, the nearest `aiolint.toml` or
//! `pyproject.toml` with a `[tool.aiolint]` table in its directory or above (an `aiolint.toml`
//! wins over a `pyproject.toml` in the same directory), or the one `--config FILE` names.
//! Command-line options override the file: `--select` replaces its `select` and `ignore`,
//! `--ignore` adds to its `ignore`, `--target-version` replaces its target version.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use analyzer::{Config, PythonVersion, Settings};
use anyhow::{Context, anyhow};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::discover::EXCLUDED_DIRECTORIES;

/// A loaded configuration and the directory its globs are relative to.
pub(crate) struct Loaded {
    pub config: Config,
    dir: PathBuf,
    exclude: Gitignore,
    per_file_ignores: Vec<(Gitignore, Vec<String>)>,
}

impl Loaded {
    fn new(config: Config, dir: PathBuf) -> anyhow::Result<Self> {
        let mut exclude = GitignoreBuilder::new(&dir);
        let defaults = EXCLUDED_DIRECTORIES.iter().map(|d| format!("{d}/"));
        let patterns: Vec<String> = match &config.exclude {
            Some(list) => list.clone(),
            None => defaults.collect(),
        };
        for pattern in patterns.iter().chain(&config.extend_exclude) {
            exclude
                .add_line(None, pattern)
                .with_context(|| format!("{}: bad `exclude` pattern `{pattern}`", config.path))?;
        }
        let mut per_file_ignores = Vec::new();
        for (glob, codes) in &config.per_file_ignores {
            let mut builder = GitignoreBuilder::new(&dir);
            builder.add_line(None, glob).with_context(|| {
                format!("{}: bad `per-file-ignores` pattern `{glob}`", config.path)
            })?;
            per_file_ignores.push((builder.build()?, codes.clone()));
        }
        Ok(Self {
            exclude: exclude.build()?,
            config,
            dir,
            per_file_ignores,
        })
    }

    /// The selectors of the `per-file-ignores` entries that match `path`.
    fn ignored_for(&self, path: &Path) -> Vec<String> {
        let path = absolute(path);
        let Ok(relative) = path.strip_prefix(&self.dir) else {
            return Vec::new();
        };
        self.per_file_ignores
            .iter()
            .filter(|(glob, _)| {
                glob.matched_path_or_any_parents(&path, false).is_ignore()
                    || relative
                        .file_name()
                        .is_some_and(|name| glob.matched(Path::new(name), false).is_ignore())
            })
            .flat_map(|(_, codes)| codes.iter().cloned())
            .collect()
    }
}

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
    fixed: Option<Arc<Loaded>>,
    /// The built-in defaults, for files with no configuration.
    default: Arc<Loaded>,
    /// Directory -> the configuration that applies there.
    cache: Mutex<HashMap<PathBuf, Arc<Loaded>>>,
    /// Configuration files that could not be used, reported once each.
    errors: Mutex<Vec<String>>,
}

impl Resolver {
    pub(crate) fn new(config: Option<&Path>, overrides: Overrides) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let fixed = match config {
            Some(path) => {
                let loaded = load(path)?
                    .ok_or_else(|| anyhow!("{}: has no `[tool.aiolint]` table", path.display()))?;
                Some(Arc::new(loaded))
            }
            None => None,
        };
        // Check the command-line selectors once, up front.
        analyzer::RuleSelection::from_selectors(overrides.select.as_deref(), &overrides.ignore)?;
        Ok(Self {
            overrides,
            fixed,
            default: Arc::new(Loaded::new(Config::default(), cwd)?),
            cache: Mutex::new(HashMap::new()),
            errors: Mutex::new(Vec::new()),
        })
    }

    /// The configuration that applies to `path` (a file or directory).
    pub(crate) fn config_for(&self, path: &Path) -> Arc<Loaded> {
        if let Some(fixed) = &self.fixed {
            return fixed.clone();
        }
        let path = absolute(path);
        let start = if path.is_dir() {
            path.as_path()
        } else {
            path.parent().unwrap_or(&path)
        };
        self.config_in(start)
    }

    fn config_in(&self, dir: &Path) -> Arc<Loaded> {
        if let Some(found) = self.lock_cache().get(dir) {
            return found.clone();
        }
        let found = match self.load_in(dir) {
            Some(loaded) => Arc::new(loaded),
            None => match dir.parent() {
                Some(parent) => self.config_in(parent),
                None => self.default.clone(),
            },
        };
        self.lock_cache().insert(dir.to_path_buf(), found.clone());
        found
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<Loaded>>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration file in `dir` itself, if any; a broken one is recorded as an error.
    fn load_in(&self, dir: &Path) -> Option<Loaded> {
        for name in ["aiolint.toml", "pyproject.toml"] {
            let candidate = dir.join(name);
            if !candidate.is_file() {
                continue;
            }
            match load(&candidate) {
                Ok(Some(loaded)) => return Some(loaded),
                Ok(None) => {}
                Err(error) => {
                    self.errors
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!("{error:#}"));
                    return None;
                }
            }
        }
        None
    }

    /// Configuration errors met so far.
    pub(crate) fn errors(&self) -> Vec<String> {
        let mut errors = self
            .errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        errors.sort();
        errors.dedup();
        errors
    }

    /// Whether walking should skip `path`: the configuration's `exclude` (by default the
    /// usual environment and build directories) and `extend-exclude`.
    pub(crate) fn is_excluded(&self, path: &Path, is_dir: bool) -> bool {
        let loaded = self.config_for(path);
        let path = absolute(path);
        path.starts_with(&loaded.dir)
            && loaded
                .exclude
                .matched_path_or_any_parents(&path, is_dir)
                .is_ignore()
    }

    /// The settings for checking `path`, without its `per-file-ignores`.
    pub(crate) fn base_settings(&self, path: &Path) -> anyhow::Result<(PathBuf, Settings)> {
        let loaded = self.config_for(path);
        let settings = self.settings_with(&loaded, &[])?;
        Ok((PathBuf::from(&loaded.config.path), settings))
    }

    /// The settings for checking `path`, its `per-file-ignores` applied.
    pub(crate) fn settings(&self, path: &Path) -> anyhow::Result<Settings> {
        let loaded = self.config_for(path);
        let ignored = loaded.ignored_for(path);
        self.settings_with(&loaded, &ignored)
    }

    fn settings_with(&self, loaded: &Loaded, ignored: &[String]) -> anyhow::Result<Settings> {
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

/// Loads a configuration file: `pyproject.toml` (`None` without `[tool.aiolint]`) or any
/// other name as an `aiolint.toml`.
fn load(path: &Path) -> anyhow::Result<Option<Loaded>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read configuration", path.display()))?;
    let display = path.display().to_string();
    let config = if path.file_name().is_some_and(|n| n == "pyproject.toml") {
        match Config::from_pyproject(&display, &text)? {
            Some(config) => config,
            None => return Ok(None),
        }
    } else {
        Config::from_aiolint_toml(&display, &text)?
    };
    let dir = absolute(path)
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    Ok(Some(Loaded::new(config, dir)?))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
