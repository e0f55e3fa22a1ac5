//! The project as the server sees it: one module summary per Python file, and the project index
//! built from them.
//!
//! A file can have two summaries: the one of its text on disk (from the workspace scan and from
//! watched-file events) and the one of its open document (the newest analysed text). The open
//! one wins while the document is open. Every change to the summaries that the index sees
//! advances the *generation*; the index is rebuilt lazily, at most once per generation, the
//! first time someone asks for it after a change. Analyses remember the generation they used,
//! so the server can tell which results a change made stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use analyzer::{ModuleName, ModuleSummary, ProjectIndex, module_names};

/// An index that took longer than this to build is not rebuilt for every keystroke.
const INLINE_BUILD: Duration = Duration::from_millis(5);

/// Files that make a project root when found in a directory (as for `aiolint check`).
const ROOT_MARKERS: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg", ".git"];

/// Where a summary comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The file's text on disk.
    Disk,
    /// The open document's text.
    Open,
}

#[derive(Debug, Default)]
pub(crate) struct Project {
    inner: Mutex<Inner>,
    /// Held while the index is built, so that concurrent requests build it once.
    building: Mutex<()>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By analyzer path. Ordered, so that the index is built in path order and the first file
    /// claiming a module name is always the same one.
    files: BTreeMap<String, Slots>,
    generation: u64,
    /// The index of some generation (the newest one asked for).
    index: Option<(u64, Arc<ProjectIndex>)>,
    /// How long the last build of the index took.
    last_build: Duration,
}

#[derive(Debug, Default)]
struct Slots {
    disk: Option<Arc<ModuleSummary>>,
    open: Option<Arc<ModuleSummary>>,
}

impl Slots {
    fn effective(&self) -> Option<&Arc<ModuleSummary>> {
        self.open.as_ref().or(self.disk.as_ref())
    }
}

fn same(a: Option<&Arc<ModuleSummary>>, b: Option<&Arc<ModuleSummary>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}

impl Project {
    /// Sets (or with `None` removes) the summary of `path` from `origin`. Returns whether the
    /// summaries the index sees changed, which advances the generation.
    pub(crate) fn set(
        &self,
        path: &str,
        origin: Origin,
        summary: Option<Arc<ModuleSummary>>,
    ) -> bool {
        let mut inner = self.lock();
        let changed = {
            let slots = inner.files.entry(path.to_string()).or_default();
            let before = slots.effective().cloned();
            match origin {
                Origin::Disk => slots.disk = summary,
                Origin::Open => slots.open = summary,
            }
            !same(before.as_ref(), slots.effective())
        };
        if inner
            .files
            .get(path)
            .is_some_and(|s| s.disk.is_none() && s.open.is_none())
        {
            inner.files.remove(path);
        }
        if changed {
            inner.generation += 1;
        }
        changed
    }

    /// Sets many disk summaries at once (a batch of the workspace scan); one generation step.
    pub(crate) fn set_disk_many(&self, summaries: Vec<(String, Arc<ModuleSummary>)>) -> bool {
        let mut inner = self.lock();
        let mut changed = false;
        for (path, summary) in summaries {
            let slots = inner.files.entry(path).or_default();
            let before = slots.effective().cloned();
            slots.disk = Some(summary);
            changed |= !same(before.as_ref(), slots.effective());
        }
        if changed {
            inner.generation += 1;
        }
        changed
    }

    /// Advances the generation without a summary changing: the configuration was reloaded, so
    /// every analysis made so far is stale.
    pub(crate) fn touch(&self) {
        self.lock().generation += 1;
    }

    /// How long the last build of the index took.
    pub(crate) fn last_build(&self) -> Duration {
        self.lock().last_build
    }

    /// The current generation: it advances whenever the index would change.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The index of the current summaries and its generation, built if a summary changed since
    /// the last build.
    pub(crate) fn index(&self) -> (u64, Arc<ProjectIndex>) {
        if let Some(cached) = self.cached() {
            return cached;
        }
        let _building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        // Someone else may have built it while this thread waited.
        if let Some(cached) = self.cached() {
            return cached;
        }
        let (generation, summaries) = {
            let inner = self.lock();
            let summaries: Vec<Arc<ModuleSummary>> = inner
                .files
                .values()
                .filter_map(Slots::effective)
                .cloned()
                .collect();
            (inner.generation, summaries)
        };
        let started = std::time::Instant::now();
        let modules = summaries.len();
        let index = Arc::new(ProjectIndex::new(summaries));
        tracing::debug!(
            modules,
            generation,
            micros = started.elapsed().as_micros(),
            "project index rebuilt"
        );
        let mut inner = self.lock();
        inner.last_build = started.elapsed();
        if inner.index.as_ref().is_none_or(|(g, _)| *g < generation) {
            inner.index = Some((generation, Arc::clone(&index)));
        }
        (generation, index)
    }

    /// The index for analysing a keystroke: the current one when it is built already or cheap
    /// to build, else the last one built. Building is linear in the number of modules (about
    /// 70 ms for Home Assistant's 6,700), too slow for every keystroke of a large project; the
    /// lagging index lacks only the newest summaries, and the caller analyses again against the
    /// current index once typing pauses (the analysis records the older generation).
    pub(crate) fn index_while_typing(&self) -> (u64, Arc<ProjectIndex>) {
        {
            let inner = self.lock();
            if let Some((generation, index)) = &inner.index
                && (*generation == inner.generation || inner.last_build > INLINE_BUILD)
            {
                return (*generation, Arc::clone(index));
            }
        }
        self.index()
    }

    fn cached(&self) -> Option<(u64, Arc<ProjectIndex>)> {
        let inner = self.lock();
        match &inner.index {
            Some((generation, index)) if *generation == inner.generation => {
                Some((*generation, Arc::clone(index)))
            }
            _ => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The module names of the file at `path` (absolute): from its package chain and relative to
/// its project root, the nearest directory with a `pyproject.toml`, `setup.py`, `setup.cfg` or
/// `.git` (as `aiolint check` does), else the workspace folder that holds it.
pub(crate) fn module_name(path: &Path, folders: &[PathBuf]) -> ModuleName {
    let marked = path
        .ancestors()
        .skip(1)
        .find(|dir| ROOT_MARKERS.iter().any(|marker| dir.join(marker).exists()));
    let root = marked.or_else(|| {
        folders
            .iter()
            .filter(|folder| path.starts_with(folder))
            .max_by_key(|folder| folder.as_os_str().len())
            .map(PathBuf::as_path)
    });
    module_names(path, root, &|candidate: &Path| candidate.is_file())
}

/// A module name for a document that is not a file (an `untitled:` buffer): one identifier made
/// from its URI, so that its own functions resolve and no real module is shadowed.
pub(crate) fn scratch_module_name(uri: &str) -> ModuleName {
    let mut name = String::from("__aiolint_scratch_");
    name.extend(
        uri.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    ModuleName {
        names: vec![name],
        is_package: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::{ParsedModule, Settings, SourceFile, summarize};

    fn summary(path: &str, module: &str, text: &str) -> Arc<ModuleSummary> {
        let file = SourceFile::new(path, text);
        let parsed = ParsedModule::parse(text).expect("parses");
        let name = ModuleName {
            names: vec![module.to_string()],
            is_package: false,
        };
        Arc::new(summarize(&file, &parsed, &name, &Settings::default()))
    }

    #[test]
    fn generations_advance_only_when_the_effective_summary_changes() {
        let project = Project::default();
        let disk = summary("/p/a.py", "a", "def f():\n    pass\n");
        assert!(project.set("/p/a.py", Origin::Disk, Some(Arc::clone(&disk))));
        let (first, index) = project.index();
        assert_eq!(index.module_count(), 1);
        // An equal summary (another parse of the same text) is no change.
        let again = summary("/p/a.py", "a", "def f():\n    pass\n");
        assert!(!project.set("/p/a.py", Origin::Disk, Some(again)));
        assert!(!project.set("/p/a.py", Origin::Open, Some(Arc::clone(&disk))));
        assert_eq!(project.index().0, first);
        // The open document's text wins over the disk's while it is open.
        let edited = summary("/p/a.py", "a", "async def f():\n    pass\n");
        assert!(project.set("/p/a.py", Origin::Open, Some(edited)));
        let (second, index) = project.index();
        assert!(second > first);
        assert_eq!(index.module_count(), 1);
        // Closing goes back to the disk summary: a change again.
        assert!(project.set("/p/a.py", Origin::Open, None));
        assert!(project.set("/p/a.py", Origin::Disk, None));
        assert_eq!(project.index().1.module_count(), 0);
        // Removing what is not there changes nothing.
        assert!(!project.set("/p/a.py", Origin::Disk, None));
    }

    #[test]
    fn batches_count_once_and_the_index_is_cached_per_generation() {
        let project = Project::default();
        let batch = vec![
            ("/p/a.py".to_string(), summary("/p/a.py", "a", "x = 1\n")),
            ("/p/b.py".to_string(), summary("/p/b.py", "b", "y = 2\n")),
        ];
        assert!(project.set_disk_many(batch));
        let (generation, first) = project.index();
        assert_eq!(generation, project.generation());
        let (_, second) = project.index();
        assert!(Arc::ptr_eq(&first, &second), "built once per generation");
        assert_eq!(second.module_count(), 2);
    }

    #[test]
    fn typing_gets_the_last_index_only_when_building_is_slow() {
        let project = Project::default();
        project.set(
            "/p/a.py",
            Origin::Disk,
            Some(summary("/p/a.py", "a", "x = 1\n")),
        );
        let (built, _) = project.index();
        project.set(
            "/p/b.py",
            Origin::Open,
            Some(summary("/p/b.py", "b", "y = 2\n")),
        );
        // Cheap to build: typing gets the current index. (Set, not measured: on a busy machine
        // even this build can take longer than the inline budget.)
        project.lock().last_build = Duration::ZERO;
        let (current, index) = project.index_while_typing();
        assert!(current > built);
        assert_eq!(index.module_count(), 2);
        // Slow to build: typing gets the last one, the next full request builds.
        project.lock().last_build = INLINE_BUILD * 2;
        project.set(
            "/p/c.py",
            Origin::Open,
            Some(summary("/p/c.py", "c", "z = 3\n")),
        );
        let (lagging, index) = project.index_while_typing();
        assert_eq!((lagging, index.module_count()), (current, 2));
        let (newest, index) = project.index();
        assert!(newest > lagging);
        assert_eq!(index.module_count(), 3);
    }

    #[test]
    fn module_names_come_from_the_marked_root_or_the_workspace_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (path, text) in [
            ("ws/pkg/__init__.py", ""),
            ("ws/pkg/app.py", ""),
            ("ws/sub/pyproject.toml", ""),
            ("ws/sub/tool/run.py", ""),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let folders = [root.join("ws")];
        let app = module_name(&root.join("ws/pkg/app.py"), &folders);
        assert_eq!(app.primary(), "pkg.app");
        let run = module_name(&root.join("ws/sub/tool/run.py"), &folders);
        assert!(run.names.contains(&"tool.run".to_string()), "{run:?}");
        let scratch = scratch_module_name("untitled:Untitled-1");
        assert_eq!(scratch.primary(), "__aiolint_scratch_untitled_Untitled_1");
    }
}
