//! Configuration files, found as `aiolint check` finds them ([`analyzer::ConfigResolver`]): the
//! settings of each file (its nearest `aiolint.toml` or `pyproject.toml` with `[tool.aiolint]`,
//! `per-file-ignores` applied) and what `exclude`/`extend-exclude` leave out.
//!
//! Everything read from the files belongs to one *load*; a reload (a configuration file changed
//! on disk, or `workspace/didChangeConfiguration`) starts a new one, so nothing cached survives
//! it. Broken files are reported once per load, and the defaults apply below them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use analyzer::{CONFIG_FILE_NAMES, ConfigResolver, Settings};

/// The current load of the configuration files.
#[derive(Debug)]
pub(crate) struct Configs {
    current: Mutex<Arc<Load>>,
}

impl Default for Configs {
    fn default() -> Self {
        Self {
            current: Mutex::new(Arc::new(Load::new(0, &[]))),
        }
    }
}

impl Configs {
    /// The current load.
    pub(crate) fn current(&self) -> Arc<Load> {
        Arc::clone(&self.lock())
    }

    /// Which load is current: it advances at every reload.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Forgets everything read from configuration files; they are read again when next needed,
    /// for the workspace `folders`. Returns the new generation.
    pub(crate) fn reload(&self, folders: &[PathBuf]) -> u64 {
        let mut current = self.lock();
        let generation = current.generation + 1;
        *current = Arc::new(Load::new(generation, folders));
        generation
    }

    /// Whether the configuration file at `path` now reads differently from what the current load
    /// found (see [`ConfigResolver::is_outdated_by`]).
    pub(crate) fn is_outdated_by(&self, path: &Path) -> bool {
        let current = self.current();
        current
            .resolvers()
            .any(|resolver| resolver.is_outdated_by(path))
    }

    fn lock(&self) -> MutexGuard<'_, Arc<Load>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `path` is named like a configuration file (`aiolint.toml`, `pyproject.toml`).
pub(crate) fn is_config_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| CONFIG_FILE_NAMES.iter().any(|n| name == *n))
}

/// A configuration file (its path as shown) and the `per-file-ignores` selectors that apply.
type SettingsKey = (String, Vec<String>);

/// Everything read from the configuration files since the last reload.
#[derive(Debug)]
pub(crate) struct Load {
    generation: u64,
    /// One resolver per workspace folder, innermost first: as for `aiolint check` run in the
    /// folder, the defaults exclude their directories below it.
    folders: Vec<(PathBuf, ConfigResolver)>,
    /// For files outside the workspace folders: the defaults exclude their directories anywhere.
    outside: ConfigResolver,
    /// By configuration file and the `per-file-ignores` selectors that apply.
    settings: Mutex<HashMap<SettingsKey, Arc<Settings>>>,
    /// Whether an open document's file is excluded, by path.
    excluded: Mutex<HashMap<PathBuf, bool>>,
    /// The errors already shown to the user.
    reported: Mutex<HashSet<String>>,
}

impl Load {
    fn new(generation: u64, folders: &[PathBuf]) -> Self {
        let mut folders: Vec<(PathBuf, ConfigResolver)> = folders
            .iter()
            .map(|folder| (folder.clone(), resolver(folder.clone())))
            .collect();
        folders.sort_by_key(|(folder, _)| std::cmp::Reverse(folder.components().count()));
        Self {
            generation,
            folders,
            outside: resolver(PathBuf::from("/")),
            settings: Mutex::default(),
            excluded: Mutex::default(),
            reported: Mutex::default(),
        }
    }

    /// The resolver for `path`, and the workspace folder it is in.
    fn resolver(&self, path: &Path) -> (&ConfigResolver, Option<&Path>) {
        self.folders
            .iter()
            .find(|(folder, _)| path.starts_with(folder))
            .map_or((&self.outside, None), |(folder, resolver)| {
                (resolver, Some(folder.as_path()))
            })
    }

    fn resolvers(&self) -> impl Iterator<Item = &ConfigResolver> {
        self.folders
            .iter()
            .map(|(_, resolver)| resolver)
            .chain([&self.outside])
    }

    /// The settings for the file at `path`: its configuration's, with its `per-file-ignores`
    /// applied. A path that is not absolute (a document that is not a file) gets the defaults.
    pub(crate) fn settings_for(&self, path: &Path) -> Arc<Settings> {
        let (name, ignored, config) = if path.is_absolute() {
            let config = self.resolver(path).0.config_for_file(path);
            let ignored = config.ignored_for(path);
            (config.config.path.clone(), ignored, Some(config))
        } else {
            (String::new(), Vec::new(), None)
        };
        let key = (name, ignored);
        if let Some(settings) = lock(&self.settings).get(&key) {
            return Arc::clone(settings);
        }
        let settings = config.map_or_else(Settings::default, |config| {
            // The selectors were checked when the file was parsed, so this does not fail.
            config
                .config
                .settings(None, &[], None, &key.1)
                .unwrap_or_else(|error| {
                    tracing::error!("{}: {error}", config.config.path);
                    Settings::default()
                })
        });
        let settings = Arc::new(settings);
        lock(&self.settings).insert(key, Arc::clone(&settings));
        settings
    }

    /// Whether the workspace walk skips the entry at `path` (a directory when `is_dir`), as
    /// `aiolint check` does.
    pub(crate) fn is_excluded_entry(&self, path: &Path, is_dir: bool) -> bool {
        self.resolver(path).0.is_excluded(path, is_dir)
    }

    /// Whether the file at `path` is excluded: the file itself, or a directory the walk would
    /// pass through to reach it (below the workspace folder that holds it, or any directory
    /// for a file outside the folders). Documents that are not files are never excluded.
    pub(crate) fn is_excluded_file(&self, path: &Path) -> bool {
        if !path.is_absolute() {
            return false;
        }
        if let Some(&excluded) = lock(&self.excluded).get(path) {
            return excluded;
        }
        let (resolver, folder) = self.resolver(path);
        let excluded = resolver.is_excluded(path, false)
            || path
                .ancestors()
                .skip(1)
                .take_while(|dir| folder.is_none_or(|folder| dir != &folder))
                .any(|dir| resolver.is_excluded(dir, true));
        lock(&self.excluded).insert(path.to_path_buf(), excluded);
        excluded
    }

    /// The configuration errors of this load not shown yet (each is shown once).
    pub(crate) fn unreported_errors(&self) -> Vec<String> {
        let mut reported = lock(&self.reported);
        self.resolvers()
            .flat_map(ConfigResolver::errors)
            .filter(|error| reported.insert(error.clone()))
            .collect()
    }
}

/// A resolver reading from disk, the defaults' excluded directories matched below `root`.
fn resolver(root: PathBuf) -> ConfigResolver {
    let read = |path: &Path| path.is_file().then(|| std::fs::read_to_string(path));
    ConfigResolver::new(root, Box::new(read)).expect("the built-in excludes are valid globs")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
    }

    #[test]
    fn settings_follow_the_nearest_configuration_and_reloads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            &[
                (
                    "pyproject.toml",
                    "[tool.aiolint]\nignore = [\"AIO200\"]\n\n[tool.aiolint.per-file-ignores]\n\"tests/*\" = [\"AIO100\"]\n",
                ),
                ("sub/aiolint.toml", "select = [\"AIO4\"]\n"),
            ],
        );
        let configs = Configs::default();
        let load = configs.current();
        let app = load.settings_for(&root.join("app.py"));
        assert!(!app.rules.is_enabled(analyzer::Rule::BlockingSleep));
        assert!(app.rules.is_enabled(analyzer::Rule::MissingAwait));
        let test = load.settings_for(&root.join("tests/test_app.py"));
        assert!(!test.rules.is_enabled(analyzer::Rule::MissingAwait));
        let sub = load.settings_for(&root.join("sub/x.py"));
        assert!(!sub.rules.is_enabled(analyzer::Rule::MissingAwait));
        // Cached: the same settings for another file under the same configuration.
        assert!(Arc::ptr_eq(
            &app,
            &load.settings_for(&root.join("pkg/other.py"))
        ));
        let untitled = load.settings_for(Path::new("untitled:Untitled-1"));
        assert!(untitled.rules.is_enabled(analyzer::Rule::BlockingSleep));

        write(root, &[("pyproject.toml", "[tool.aiolint]\n")]);
        assert!(configs.is_outdated_by(&root.join("pyproject.toml")));
        assert_eq!(configs.reload(&[root.to_path_buf()]), 1);
        let reloaded = configs.current().settings_for(&root.join("app.py"));
        assert!(reloaded.rules.is_enabled(analyzer::Rule::BlockingSleep));
    }

    #[test]
    fn exclusion_of_files_and_of_the_directories_above_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("ws");
        write(
            &root,
            &[(
                "pyproject.toml",
                "[tool.aiolint]\nextend-exclude = [\"generated\", \"*_pb2.py\"]\n",
            )],
        );
        let venv = dir.path().join("venv");
        let configs = Configs::default();
        configs.reload(&[root.clone(), venv.clone()]);
        let load = configs.current();
        assert!(load.is_excluded_file(&root.join("generated/deep/x.py")));
        assert!(load.is_excluded_file(&root.join("api_pb2.py")));
        assert!(load.is_excluded_file(&root.join(".venv/lib/site.py")));
        assert!(!load.is_excluded_file(&root.join("app/main.py")));
        assert!(!load.is_excluded_file(Path::new("untitled:x")));
        assert!(load.is_excluded_entry(&root.join("generated"), true));
        assert!(!load.is_excluded_entry(&root.join("app"), true));
        // A workspace folder is not excluded by its own name; outside the folders, the
        // defaults apply anywhere.
        assert!(!load.is_excluded_file(&venv.join("x.py")));
        let outside = dir.path().join("other/venv/x.py");
        assert!(load.is_excluded_file(&outside));
    }

    #[test]
    fn a_broken_file_is_reported_once_per_load() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(root, &[("aiolint.toml", "selct = [\"AIO1\"]\n")]);
        let configs = Configs::default();
        let load = configs.current();
        let settings = load.settings_for(&root.join("a.py"));
        assert!(settings.rules.is_enabled(analyzer::Rule::BlockingSleep));
        let errors = load.unreported_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("aiolint.toml:1"), "{errors:?}");
        assert!(load.unreported_errors().is_empty());
        configs.reload(&[]);
        let load = configs.current();
        load.settings_for(&root.join("a.py"));
        assert_eq!(load.unreported_errors().len(), 1);
    }
}
