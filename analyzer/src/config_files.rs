//! Which configuration applies to a file: the nearest `aiolint.toml` or `pyproject.toml` with a
//! `[tool.aiolint]` table in its directory or above (an `aiolint.toml` wins over a
//! `pyproject.toml` in the same directory), each file loaded once; its `exclude`,
//! `extend-exclude` and `per-file-ignores` globs matched against paths. Shared by `aiolint check`
//! and `aiolint server`.
//!
//! The analyzer does no IO: paths are absolute (the caller makes them so) and configuration
//! files are read through the caller's [`ReadFile`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::config::Config;

/// Directories excluded by default (they hold environments, caches and build output); a
/// configuration's `exclude` replaces this list, `extend-exclude` adds to it.
pub const EXCLUDED_DIRECTORIES: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
];

/// The names of configuration files, in order of precedence within one directory.
pub const CONFIG_FILE_NAMES: [&str; 2] = ["aiolint.toml", "pyproject.toml"];

/// Reads a configuration file for [`ConfigResolver`]: `None` when there is no file at the path,
/// an error when there is one that cannot be read.
pub type ReadFile = dyn Fn(&Path) -> Option<std::io::Result<String>> + Send + Sync;

/// A loaded configuration and the directory its globs are relative to.
#[derive(Debug)]
pub struct ConfigFile {
    /// The parsed options (`Config::default()` for the built-in defaults).
    pub config: Config,
    dir: PathBuf,
    exclude: Gitignore,
    per_file_ignores: Vec<(Gitignore, Vec<String>)>,
}

impl ConfigFile {
    /// The built-in defaults, their excluded directories matched anywhere under `root`.
    pub fn defaults(root: PathBuf) -> Result<Self, String> {
        Self::new(Config::default(), root)
    }

    /// Parses the configuration file at the absolute path `path`, holding `text`; `display` is
    /// how messages name it. A `pyproject.toml` without `[tool.aiolint]` gives `Ok(None)`; any
    /// other name is read as an `aiolint.toml`. Errors name the file.
    pub fn parse(display: &str, path: &Path, text: &str) -> Result<Option<Self>, String> {
        let config = if path.file_name().is_some_and(|n| n == "pyproject.toml") {
            match Config::from_pyproject(display, text).map_err(|e| e.to_string())? {
                Some(config) => config,
                None => return Ok(None),
            }
        } else {
            Config::from_aiolint_toml(display, text).map_err(|e| e.to_string())?
        };
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        Self::new(config, dir).map(Some)
    }

    fn new(config: Config, dir: PathBuf) -> Result<Self, String> {
        let mut exclude = GitignoreBuilder::new(&dir);
        let patterns: Vec<String> = match &config.exclude {
            Some(list) => list.clone(),
            None => EXCLUDED_DIRECTORIES
                .iter()
                .map(|d| format!("{d}/"))
                .collect(),
        };
        for pattern in patterns.iter().chain(&config.extend_exclude) {
            exclude.add_line(None, pattern).map_err(|error| {
                format!(
                    "{}: bad `exclude` pattern `{pattern}`: {error}",
                    config.path
                )
            })?;
        }
        let mut per_file_ignores = Vec::new();
        for (glob, codes) in &config.per_file_ignores {
            let mut builder = GitignoreBuilder::new(&dir);
            builder.add_line(None, glob).map_err(|error| {
                format!(
                    "{}: bad `per-file-ignores` pattern `{glob}`: {error}",
                    config.path
                )
            })?;
            let built = builder.build().map_err(|error| error.to_string())?;
            per_file_ignores.push((built, codes.clone()));
        }
        Ok(Self {
            exclude: exclude.build().map_err(|error| error.to_string())?,
            config,
            dir,
            per_file_ignores,
        })
    }

    /// The directory the configuration's globs are relative to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The selectors of the `per-file-ignores` entries that match the absolute path `path`.
    pub fn ignored_for(&self, path: &Path) -> Vec<String> {
        let Ok(relative) = path.strip_prefix(&self.dir) else {
            return Vec::new();
        };
        self.per_file_ignores
            .iter()
            .filter(|(glob, _)| {
                glob.matched_path_or_any_parents(path, false).is_ignore()
                    || relative
                        .file_name()
                        .is_some_and(|name| glob.matched(Path::new(name), false).is_ignore())
            })
            .flat_map(|(_, codes)| codes.iter().cloned())
            .collect()
    }

    /// Whether `exclude`/`extend-exclude` (by default the usual environment and build
    /// directories) match the absolute path `path` or one of its parents below this
    /// configuration's directory.
    pub fn excludes(&self, path: &Path, is_dir: bool) -> bool {
        path.starts_with(&self.dir)
            && self
                .exclude
                .matched_path_or_any_parents(path, is_dir)
                .is_ignore()
    }
}

/// What a directory itself holds, configuration-wise.
#[derive(Clone, Debug)]
enum Own {
    /// No configuration file (or only a `pyproject.toml` without `[tool.aiolint]`).
    Nothing,
    /// A configuration.
    Config(Arc<ConfigFile>),
    /// A configuration file that cannot be used, and why.
    Broken(String),
}

impl PartialEq for Own {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Own::Nothing, Own::Nothing) => true,
            (Own::Config(a), Own::Config(b)) => a.config == b.config && a.dir == b.dir,
            (Own::Broken(a), Own::Broken(b)) => a == b,
            _ => false,
        }
    }
}

/// A directory's lookup: what applies there, and what the directory itself holds.
#[derive(Debug)]
struct Found {
    applies: Arc<ConfigFile>,
    own: Own,
}

/// Finds the configuration of each file, loading every configuration file once.
pub struct ConfigResolver {
    read: Box<ReadFile>,
    /// The built-in defaults, for files with no configuration or a broken one.
    default: Arc<ConfigFile>,
    /// Directory -> what applies there.
    cache: Mutex<HashMap<PathBuf, Found>>,
    /// Configuration files that could not be used.
    errors: Mutex<Vec<String>>,
}

impl std::fmt::Debug for ConfigResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigResolver")
            .field("default", &self.default)
            .field("cache", &self.lock_cache().len())
            .finish_non_exhaustive()
    }
}

impl ConfigResolver {
    /// A resolver that reads files with `read`; the defaults' excluded directories are matched
    /// under `root`.
    pub fn new(root: PathBuf, read: Box<ReadFile>) -> Result<Self, String> {
        Ok(Self {
            read,
            default: Arc::new(ConfigFile::defaults(root)?),
            cache: Mutex::new(HashMap::new()),
            errors: Mutex::new(Vec::new()),
        })
    }

    /// The configuration that applies in the absolute directory `dir`: its own, else its
    /// nearest parent's, else the defaults. A broken configuration file is recorded as an error
    /// (see [`ConfigResolver::errors`]) and the defaults apply below it until it is fixed.
    pub fn config_in(&self, dir: &Path) -> Arc<ConfigFile> {
        if let Some(found) = self.lock_cache().get(dir) {
            return found.applies.clone();
        }
        let own = self.own(dir);
        let applies = match &own {
            Own::Config(config) => config.clone(),
            Own::Broken(error) => {
                self.lock_errors().push(error.clone());
                self.default.clone()
            }
            Own::Nothing => match dir.parent() {
                Some(parent) => self.config_in(parent),
                None => self.default.clone(),
            },
        };
        self.lock_cache().insert(
            dir.to_path_buf(),
            Found {
                applies: applies.clone(),
                own,
            },
        );
        applies
    }

    /// The configuration that applies to the file at the absolute path `file`.
    pub fn config_for_file(&self, file: &Path) -> Arc<ConfigFile> {
        self.config_in(file.parent().unwrap_or(file))
    }

    /// Whether walking skips the absolute path `path` (a directory when `is_dir`): the
    /// `exclude`/`extend-exclude` of the configuration that applies there (a directory's own
    /// configuration, if it has one).
    pub fn is_excluded(&self, path: &Path, is_dir: bool) -> bool {
        let config = if is_dir {
            self.config_in(path)
        } else {
            self.config_for_file(path)
        };
        config.excludes(path, is_dir)
    }

    /// Whether the configuration file at the absolute path `path` now reads differently from
    /// what this resolver found in its directory, for a directory it has looked at: a file was
    /// created, changed or deleted in a way that matters. A `pyproject.toml` without
    /// `[tool.aiolint]` never matters.
    pub fn is_outdated_by(&self, path: &Path) -> bool {
        let Some(dir) = path.parent() else {
            return false;
        };
        let Some(before) = self.lock_cache().get(dir).map(|found| found.own.clone()) else {
            return false;
        };
        self.own(dir) != before
    }

    /// The configuration errors met so far, sorted, each once.
    pub fn errors(&self) -> Vec<String> {
        let mut errors = self.lock_errors().clone();
        errors.sort();
        errors.dedup();
        errors
    }

    /// What `dir` itself holds.
    fn own(&self, dir: &Path) -> Own {
        for name in CONFIG_FILE_NAMES {
            let candidate = dir.join(name);
            let display = candidate.display().to_string();
            let text = match (self.read)(&candidate) {
                None => continue,
                Some(Ok(text)) => text,
                Some(Err(error)) => {
                    return Own::Broken(format!("{display}: cannot read configuration: {error}"));
                }
            };
            match ConfigFile::parse(&display, &candidate, &text) {
                Ok(Some(loaded)) => return Own::Config(Arc::new(loaded)),
                Ok(None) => {}
                Err(error) => return Own::Broken(error),
            }
        }
        Own::Nothing
    }

    fn lock_cache(&self) -> MutexGuard<'_, HashMap<PathBuf, Found>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_errors(&self) -> MutexGuard<'_, Vec<String>> {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolver over an in-memory file system that can change.
    fn resolver(files: &Arc<Mutex<HashMap<PathBuf, String>>>) -> ConfigResolver {
        let files = Arc::clone(files);
        let read = move |path: &Path| {
            files
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(path)
                .cloned()
                .map(Ok)
        };
        ConfigResolver::new(PathBuf::from("/"), Box::new(read)).expect("defaults build")
    }

    fn files(list: &[(&str, &str)]) -> Arc<Mutex<HashMap<PathBuf, String>>> {
        Arc::new(Mutex::new(
            list.iter()
                .map(|(p, t)| (PathBuf::from(p), (*t).to_string()))
                .collect(),
        ))
    }

    #[test]
    fn nearest_configuration_wins_and_aiolint_toml_beats_pyproject() {
        let fs = files(&[
            (
                "/ws/pyproject.toml",
                "[tool.aiolint]\nignore = [\"AIO200\"]\n",
            ),
            ("/ws/sub/pyproject.toml", "[project]\nname = \"x\"\n"),
            (
                "/ws/tools/pyproject.toml",
                "[tool.aiolint]\nselect = [\"AIO1\"]\n",
            ),
            ("/ws/tools/aiolint.toml", "select = [\"AIO4\"]\n"),
        ]);
        let resolver = resolver(&fs);
        let root = resolver.config_for_file(Path::new("/ws/sub/a.py"));
        assert_eq!(root.config.path, "/ws/pyproject.toml");
        assert_eq!(root.dir(), Path::new("/ws"));
        let tools = resolver.config_for_file(Path::new("/ws/tools/deep/b.py"));
        assert_eq!(tools.config.path, "/ws/tools/aiolint.toml");
        let outside = resolver.config_for_file(Path::new("/elsewhere/c.py"));
        assert_eq!(outside.config, Config::default());
        assert!(resolver.errors().is_empty());
    }

    #[test]
    fn excludes_and_per_file_ignores_are_relative_to_the_configuration() {
        let fs = files(&[(
            "/ws/pyproject.toml",
            "[tool.aiolint]\nextend-exclude = [\"generated\"]\n\n[tool.aiolint.per-file-ignores]\n\"tests/*\" = [\"AIO100\"]\n\"conftest.py\" = [\"AIO101\"]\n",
        )]);
        let resolver = resolver(&fs);
        assert!(resolver.is_excluded(Path::new("/ws/generated"), true));
        assert!(resolver.is_excluded(Path::new("/ws/generated/x.py"), false));
        assert!(resolver.is_excluded(Path::new("/ws/.venv"), true));
        assert!(!resolver.is_excluded(Path::new("/ws/app/x.py"), false));
        // The defaults apply everywhere under the resolver's root.
        assert!(resolver.is_excluded(Path::new("/other/.venv/lib/x.py"), false));
        let config = resolver.config_for_file(Path::new("/ws/tests/test_a.py"));
        assert_eq!(
            config.ignored_for(Path::new("/ws/tests/test_a.py")),
            ["AIO100"]
        );
        assert_eq!(
            config.ignored_for(Path::new("/ws/pkg/conftest.py")),
            ["AIO101"]
        );
        assert!(config.ignored_for(Path::new("/ws/app/a.py")).is_empty());
        assert!(
            config
                .ignored_for(Path::new("/other/tests/a.py"))
                .is_empty()
        );
    }

    #[test]
    fn a_broken_configuration_is_an_error_and_the_defaults_apply_below_it() {
        let fs = files(&[
            (
                "/ws/pyproject.toml",
                "[tool.aiolint]\nignore = [\"AIO200\"]\n",
            ),
            ("/ws/sub/aiolint.toml", "selct = [\"AIO1\"]\n"),
        ]);
        let resolver = resolver(&fs);
        let config = resolver.config_for_file(Path::new("/ws/sub/a.py"));
        assert_eq!(config.config, Config::default());
        let errors = resolver.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("/ws/sub/aiolint.toml:1: invalid configuration key `selct`"),
            "{errors:?}"
        );
        // Looked up again: the error is recorded once.
        resolver.config_for_file(Path::new("/ws/sub/b.py"));
        assert_eq!(resolver.errors().len(), 1);
    }

    #[test]
    fn only_changes_that_matter_outdate_the_resolver() {
        let fs = files(&[
            (
                "/ws/pyproject.toml",
                "[tool.aiolint]\nignore = [\"AIO200\"]\n",
            ),
            ("/ws/sub/pyproject.toml", "[project]\nname = \"x\"\n"),
        ]);
        let resolver = resolver(&fs);
        resolver.config_for_file(Path::new("/ws/sub/a.py"));
        let set = |path: &str, text: Option<&str>| {
            let mut files = fs.lock().unwrap_or_else(PoisonError::into_inner);
            match text {
                Some(text) => files.insert(PathBuf::from(path), text.to_string()),
                None => files.remove(Path::new(path)),
            };
        };
        // A `pyproject.toml` without `[tool.aiolint]` changes: nothing to reload.
        set("/ws/sub/pyproject.toml", Some("[project]\nname = \"y\"\n"));
        assert!(!resolver.is_outdated_by(Path::new("/ws/sub/pyproject.toml")));
        // Other tables of a configured `pyproject.toml`, or formatting: nothing either.
        set(
            "/ws/pyproject.toml",
            Some("[tool.black]\nline-length = 100\n\n[tool.aiolint]\nignore = [ \"AIO200\" ]\n"),
        );
        assert!(!resolver.is_outdated_by(Path::new("/ws/pyproject.toml")));
        // The options change, a configuration appears, or one goes away: reload.
        set("/ws/pyproject.toml", Some("[tool.aiolint]\n"));
        assert!(resolver.is_outdated_by(Path::new("/ws/pyproject.toml")));
        set(
            "/ws/pyproject.toml",
            Some("[tool.aiolint]\nignore = [\"AIO200\"]\n"),
        );
        set("/ws/sub/aiolint.toml", Some("select = [\"AIO1\"]\n"));
        assert!(resolver.is_outdated_by(Path::new("/ws/sub/aiolint.toml")));
        set("/ws/sub/aiolint.toml", None);
        set("/ws/pyproject.toml", None);
        assert!(resolver.is_outdated_by(Path::new("/ws/pyproject.toml")));
        // A directory nothing was looked up in does not matter yet.
        set("/elsewhere/aiolint.toml", Some("select = [\"AIO1\"]\n"));
        assert!(!resolver.is_outdated_by(Path::new("/elsewhere/aiolint.toml")));
    }
}
