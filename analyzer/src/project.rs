//! A whole project analysed in one pass, each file parsed once.
//!
//! Every file is parsed, given one semantic model, summarized and checked while its tree is
//! alive; the tree is dropped right after. A check that looks up another module (a coroutine
//! imported from it, a base class, an attribute's type) needs that module's summary: the index
//! is [lazy](ProjectIndex::lazy), and a summary not yet published is made on demand by
//! analysing that file there and then (nested a few files deep at most; deeper, the file is only
//! summarized and checked again at the end). The findings that need the whole call graph
//! (AIO202, AIO300 through helpers) wait as [`Pending`](crate::Pending) until every file is
//! summarized, then are answered from the complete index, without any tree.
//!
//! With a [`Cache`], a file whose text, module names and settings are unchanged is not parsed
//! at all: its summary and findings come from the cache entry, and the entry's
//! [`Dependencies`](crate::Dependencies) (what its check asked about other modules) are
//! checked against the new index. A file whose answers changed is checked again.
//!
//! The analyzer does no IO: files are read through the caller's [`Workspace`], the cache is the
//! caller's too.

use std::cell::Cell;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::cache_format;
use crate::diagnostic::Diagnostic;
use crate::index::{Loader, ModuleName, ProjectIndex, summarize};
use crate::parse::ParsedModule;
use crate::settings::Settings;
use crate::source::SourceFile;
use crate::{Analysis, Options, analyze, check_file};

/// A file of the project: its path as the caller names it, and its module names.
#[derive(Clone, Debug)]
pub struct ProjectFile {
    pub path: String,
    pub module: ModuleName,
}

/// Where the files come from.
pub trait Workspace: Send + Sync {
    /// The text of file `position`, or the diagnostic that says why it cannot be had.
    fn read(&self, position: usize) -> Result<SourceFile, Box<Diagnostic>>;

    /// The size of file `position` in bytes, if known: the largest files are analysed first
    /// (their trees are the largest, and memory is lowest at the start, before the summaries
    /// pile up).
    fn size(&self, _position: usize) -> u64 {
        0
    }

    /// The 128-bit XXH3 hash of the text [`Workspace::read`] gives for file `position` (`None`
    /// when it cannot be read), which cache keys are made of. An implementation may compute it
    /// without decoding the file, when the text is the file's bytes.
    fn fingerprint(&self, position: usize) -> Option<u128> {
        let source = self.read(position).ok()?;
        Some(fingerprint(&source))
    }
}

/// Where analyses of unchanged files are kept between runs, by key.
pub trait Cache: Send + Sync {
    /// What distinguishes this build of the analyzer (entries of other builds never match).
    fn salt(&self) -> u64;
    /// The entry stored under `key`, if any.
    fn get(&self, key: u128) -> Option<&[u8]>;
    /// Stores an entry for this run.
    fn put(&self, key: u128, entry: Vec<u8>);
    /// An entry from an earlier run was found valid and is kept for the next run.
    fn keep(&self, key: u128);
    /// The record of the last run (its findings, under the key of all its inputs).
    fn last_run(&self) -> Option<&[u8]>;
    /// Stores the record of this run.
    fn set_last_run(&self, record: Vec<u8>);
}

/// What became of one file.
#[derive(Debug)]
pub struct FileOutcome {
    pub path: String,
    /// The file as read, kept when it has findings (the caller shows their lines).
    pub source: Option<SourceFile>,
    /// Sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Counts of how the files were analysed, for benchmarks and debugging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStatistics {
    pub files: usize,
    /// Files parsed once, summarized and checked.
    pub analysed: usize,
    /// Files taken from the cache whose lookups still hold.
    pub cached: usize,
    /// Files parsed again: cached ones whose lookups changed, and those summarized on demand
    /// too deep to be checked there.
    pub rechecked: usize,
    /// Nothing changed since the last run: its findings were reported again.
    pub replayed: bool,
}

/// The result of a project run.
#[derive(Debug)]
pub struct ProjectOutcome {
    /// One per file, in the order given.
    pub files: Vec<FileOutcome>,
    /// The complete index; `None` when the whole run was the last one again (nothing it
    /// depends on changed, so its findings came from the cache as they were).
    pub index: Option<ProjectIndex>,
    pub statistics: RunStatistics,
}

/// What the cache keeps of a whole run: the findings of each file, under the key of
/// everything they depend on (every file's entry key, in order).
#[derive(Serialize, Deserialize)]
struct LastRun {
    key: u128,
    diagnostics: Vec<Vec<Diagnostic>>,
}

/// How many files deep an analysis started on demand (by another file's lookup) may nest; a
/// file needed deeper is summarized only and checked at the end.
const MAX_NESTING: u32 = 8;

/// Stack size of the threads that run the pass: nested on-demand analyses need more than the
/// default.
const STACK_SIZE: usize = 64 << 20;

thread_local! {
    /// How many on-demand analyses this thread is inside.
    static NESTING: Cell<u32> = const { Cell::new(0) };
}

/// One file after the first pass.
enum State {
    Unreadable(Diagnostic),
    /// Parsed, summarized and checked (or taken from the cache). The text is kept only when
    /// there are findings already; it is read again when the file must be checked again, or
    /// when a pending finding turns out to be one.
    Analysed {
        source: Option<SourceFile>,
        analysis: Analysis,
        /// The cache key, when caching.
        key: Option<u128>,
        /// From the cache: its lookups are checked against the complete index.
        cached: bool,
    },
    /// Summarized on demand too deep to be checked there.
    Summarized {
        key: Option<u128>,
    },
    /// The parser gave up: no summary; the file-local check's findings.
    Unparsed {
        source: SourceFile,
        diagnostics: Vec<Diagnostic>,
    },
}

struct Run {
    files: Vec<ProjectFile>,
    settings: Settings,
    workspace: Arc<dyn Workspace>,
    cache: Option<Arc<dyn Cache>>,
    states: Vec<Mutex<Option<State>>>,
    /// Each file's [`Workspace::fingerprint`], when caching.
    fingerprints: OnceLock<Vec<Option<u128>>>,
}

/// Publishes "no summary" for a file if its analysis ends (or panics) before publishing one,
/// so that nobody waits for it forever.
struct PublishOnExit<'a> {
    index: &'a ProjectIndex,
    position: usize,
}

impl Drop for PublishOnExit<'_> {
    fn drop(&mut self) {
        self.index.publish(self.position, None);
    }
}

impl Loader for Run {
    fn load(&self, index: &ProjectIndex, position: usize) {
        self.first_pass(index, position);
    }
}

impl Run {
    fn store(&self, position: usize, state: State) {
        if let Some(slot) = self.states.get(position) {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(state);
        }
    }

    fn take(&self, position: usize) -> Option<State> {
        self.states
            .get(position)?
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The cache key of file `position` whose text hashes to `fingerprint`.
    fn key(&self, position: usize, fingerprint: u128) -> Option<u128> {
        let cache = self.cache.as_ref()?;
        let file = self.files.get(position)?;
        Some(cache_key(cache.salt(), fingerprint, file, &self.settings))
    }

    /// The cache key of file `position` as fingerprinted before the pass started.
    fn known_key(&self, position: usize) -> Option<u128> {
        let fingerprint = (*self.fingerprints.get()?.get(position)?)?;
        self.key(position, fingerprint)
    }

    /// Reads, parses, summarizes and checks file `position` (claimed by the caller), or takes
    /// it from the cache; publishes its summary before its check starts.
    fn first_pass(&self, index: &ProjectIndex, position: usize) {
        let _unpublished = PublishOnExit { index, position };
        let Some(file) = self.files.get(position) else {
            return;
        };
        // A file the cache knows is not even read (its text is read again if it has
        // findings to show or must be checked again).
        let known = self.known_key(position);
        if let Some(analysis) = self.cached(known) {
            index.publish(position, analysis.summary.clone());
            return self.store(
                position,
                State::Analysed {
                    source: None,
                    analysis,
                    key: known,
                    cached: true,
                },
            );
        }
        let source = match self.workspace.read(position) {
            Ok(source) => source,
            Err(diagnostic) => return self.store(position, State::Unreadable(*diagnostic)),
        };
        let key = self.key(position, fingerprint(&source));
        let Some(parsed) = ParsedModule::parse(&source.text) else {
            let diagnostics = check_file(&source, &self.settings);
            return self.store(
                position,
                State::Unparsed {
                    source,
                    diagnostics,
                },
            );
        };
        let nesting = NESTING.get();
        if nesting >= MAX_NESTING {
            let summary = summarize(&source, &parsed, &file.module, &self.settings);
            index.publish(position, Some(Arc::new(summary)));
            return self.store(position, State::Summarized { key });
        }
        NESTING.set(nesting + 1);
        let publish = |summary| index.publish(position, Some(summary));
        let options = Options {
            summarize: true,
            publish: Some(&publish),
            record: key.is_some(),
        };
        let analysis = analyze(
            &source,
            &parsed,
            &file.module,
            index,
            &self.settings,
            &options,
        );
        NESTING.set(nesting);
        drop(parsed);
        // Stored now: what it recorded of its lookups is not needed again this run.
        self.save(key, &analysis);
        self.store(
            position,
            State::Analysed {
                source: analysis.has_local_findings().then_some(source),
                analysis: analysis.into_findings(),
                key,
                cached: false,
            },
        );
    }

    /// Whether the cache entry `key` was checked against lookups that `index` still answers
    /// the same way.
    fn still_valid(&self, key: Option<u128>, index: &ProjectIndex) -> bool {
        let (Some(cache), Some(key)) = (self.cache.as_ref(), key) else {
            return false;
        };
        cache
            .get(key)
            .and_then(cache_format::decode_dependencies)
            .is_some_and(|dependencies| dependencies.hold(index))
    }

    fn cached(&self, key: Option<u128>) -> Option<Analysis> {
        let (cache, key) = (self.cache.as_ref()?, key?);
        cache_format::decode(cache.get(key)?)
    }

    /// Checks file `position` again against the complete index (its summary is published
    /// already), reading it again unless its text was kept. `None` when it can no longer be
    /// read.
    fn recheck(
        &self,
        index: &ProjectIndex,
        position: usize,
        source: Option<SourceFile>,
    ) -> Option<(SourceFile, Analysis)> {
        let file = self.files.get(position)?;
        let source = match source {
            Some(source) => source,
            None => self.workspace.read(position).ok()?,
        };
        let parsed = ParsedModule::parse(&source.text)?;
        let options = Options {
            summarize: true,
            publish: None,
            record: self.cache.is_some(),
        };
        let analysis = analyze(
            &source,
            &parsed,
            &file.module,
            index,
            &self.settings,
            &options,
        );
        Some((source, analysis))
    }

    /// The file's findings, from its first-pass state and the complete index.
    fn second_pass(
        &self,
        index: &ProjectIndex,
        position: usize,
        statistics: &Mutex<RunStatistics>,
    ) -> FileOutcome {
        let path = self
            .files
            .get(position)
            .map(|f| f.path.clone())
            .unwrap_or_default();
        let count = |update: fn(&mut RunStatistics)| {
            update(&mut statistics.lock().unwrap_or_else(PoisonError::into_inner));
        };
        let (source, diagnostics) = match self.take(position) {
            None => (None, Vec::new()),
            Some(State::Unreadable(diagnostic)) => (None, vec![diagnostic]),
            Some(State::Unparsed {
                source,
                diagnostics,
            }) => {
                count(|s| s.analysed += 1);
                (Some(source), diagnostics)
            }
            Some(State::Summarized { key }) => {
                count(|s| s.rechecked += 1);
                match self.recheck(index, position, None) {
                    Some((source, analysis)) => {
                        self.save(key, &analysis);
                        (Some(source), analysis.diagnostics(index, &path))
                    }
                    None => (None, Vec::new()),
                }
            }
            Some(State::Analysed {
                source,
                analysis,
                key,
                cached,
            }) => {
                if !cached {
                    count(|s| s.analysed += 1);
                    (source, analysis.diagnostics(index, &path))
                } else if self.still_valid(key, index) {
                    count(|s| s.cached += 1);
                    if let (Some(cache), Some(key)) = (&self.cache, key) {
                        cache.keep(key);
                    }
                    (source, analysis.diagnostics(index, &path))
                } else {
                    count(|s| s.rechecked += 1);
                    match self.recheck(index, position, source) {
                        Some((source, analysis)) => {
                            self.save(key, &analysis);
                            (Some(source), analysis.diagnostics(index, &path))
                        }
                        None => (None, Vec::new()),
                    }
                }
            }
        };
        let source = match source {
            _ if diagnostics.is_empty() => None,
            Some(source) => Some(source),
            None => self.workspace.read(position).ok(),
        };
        FileOutcome {
            path,
            source,
            diagnostics,
        }
    }

    fn save(&self, key: Option<u128>, analysis: &Analysis) {
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            cache.put(key, cache_format::encode(analysis));
        }
    }
}

/// Analyses `files` as one project: each file is read through `workspace`, parsed once, and
/// checked against every other; with `cache`, unchanged files are taken from it.
pub fn check_project(
    files: Vec<ProjectFile>,
    settings: Settings,
    workspace: Arc<dyn Workspace>,
    cache: Option<Arc<dyn Cache>>,
) -> ProjectOutcome {
    let count = files.len();
    let names: Vec<Vec<String>> = files.iter().map(|f| f.module.names.clone()).collect();
    let run = Arc::new(Run {
        states: (0..count).map(|_| Mutex::new(None)).collect(),
        files,
        settings,
        workspace,
        cache,
        fingerprints: OnceLock::new(),
    });
    let statistics = Mutex::new(RunStatistics {
        files: count,
        ..RunStatistics::default()
    });
    let pass = || {
        let run_key = run.run_key();
        if let Some(files) = run_key.and_then(|key| run.replay(key)) {
            return (files, None, true);
        }
        let sizes: Vec<u64> = (0..count)
            .into_par_iter()
            .map(|position| run.workspace.size(position))
            .collect();
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&position| std::cmp::Reverse(sizes[position]));
        let index = ProjectIndex::lazy(&names, Arc::clone(&run) as Arc<dyn Loader>);
        order.par_iter().for_each(|&position| {
            if index.claim(position) {
                run.first_pass(&index, position);
            }
        });
        let index = index.complete();
        let files: Vec<FileOutcome> = (0..count)
            .into_par_iter()
            .map(|position| run.second_pass(&index, position, &statistics))
            .collect();
        if let (Some(cache), Some(key)) = (&run.cache, run_key) {
            let record = LastRun {
                key,
                diagnostics: files.iter().map(|f| f.diagnostics.clone()).collect(),
            };
            cache.set_last_run(postcard::to_allocvec(&record).unwrap_or_default());
        }
        (files, Some(index), false)
    };
    let (files, index, replayed) = match rayon::ThreadPoolBuilder::new()
        .stack_size(STACK_SIZE)
        .build()
    {
        Ok(pool) => pool.install(pass),
        Err(_) => pass(),
    };
    let mut statistics = statistics
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    statistics.replayed = replayed;
    ProjectOutcome {
        files,
        index,
        statistics,
    }
}

impl Run {
    /// The key of everything a run's findings depend on: every file's contents, path and
    /// module names, the settings and the build. `None` without a cache, or when a file cannot
    /// be read (its error is not cached).
    fn run_key(&self) -> Option<u128> {
        let cache = self.cache.as_ref()?;
        let fingerprints: Vec<Option<u128>> = (0..self.files.len())
            .into_par_iter()
            .map(|position| self.workspace.fingerprint(position))
            .collect();
        let contents: Option<Vec<u128>> = fingerprints.iter().copied().collect();
        let _ = self.fingerprints.set(fingerprints);
        let mut hasher = Xxh3::new();
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        cache.salt().hash(&mut hasher);
        self.settings.hash(&mut hasher);
        for file in &self.files {
            file.path.hash(&mut hasher);
            file.module.names.hash(&mut hasher);
            file.module.is_package.hash(&mut hasher);
        }
        contents?.hash(&mut hasher);
        Some(hasher.digest128())
    }

    /// The last run's findings, when its key is `key`; the texts of files with findings are
    /// read again to show them.
    fn replay(&self, key: u128) -> Option<Vec<FileOutcome>> {
        let record: LastRun = postcard::from_bytes(self.cache.as_ref()?.last_run()?).ok()?;
        if record.key != key || record.diagnostics.len() != self.files.len() {
            return None;
        }
        Some(
            record
                .diagnostics
                .into_par_iter()
                .enumerate()
                .map(|(position, diagnostics)| FileOutcome {
                    path: self.files[position].path.clone(),
                    source: (!diagnostics.is_empty())
                        .then(|| self.workspace.read(position).ok())
                        .flatten(),
                    diagnostics,
                })
                .collect(),
        )
    }
}

/// The hash of a file's text that cache keys are made of.
fn fingerprint(source: &SourceFile) -> u128 {
    xxhash_rust::xxh3::xxh3_128(source.text.as_bytes())
}

/// The key of a file's cache entry: everything its analysis depends on besides other modules
/// (the path also tells what kind of file it is).
fn cache_key(salt: u64, fingerprint: u128, file: &ProjectFile, settings: &Settings) -> u128 {
    let mut hasher = Xxh3::new();
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    salt.hash(&mut hasher);
    settings.hash(&mut hasher);
    file.path.hash(&mut hasher);
    file.module.names.hash(&mut hasher);
    file.module.is_package.hash(&mut hasher);
    fingerprint.hash(&mut hasher);
    hasher.digest128()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::test_support::{Memory, MemoryCache, assert_one_pass_agrees};
    use crate::{
        Diagnostic, ModuleName, ParsedModule, ProjectFile, ProjectIndex, Settings, SourceFile,
        check_in_project, check_project, summarize,
    };

    fn module(name: &str, text: &str) -> (SourceFile, ModuleName) {
        let names = ModuleName {
            names: vec![name.to_string()],
            is_package: false,
        };
        (SourceFile::new(format!("{name}.py"), text), names)
    }

    /// Each file checked against the complete index: the findings a project run must give.
    fn reference(files: &[(SourceFile, ModuleName)], settings: &Settings) -> Vec<Vec<Diagnostic>> {
        let parsed: Vec<ParsedModule> = files
            .iter()
            .map(|(file, _)| ParsedModule::parse(&file.text).expect("parses"))
            .collect();
        let summaries = files
            .iter()
            .zip(&parsed)
            .map(|((file, module), parsed)| Arc::new(summarize(file, parsed, module, settings)))
            .collect();
        let index = ProjectIndex::new(summaries);
        files
            .iter()
            .zip(&parsed)
            .map(|((file, module), parsed)| {
                check_in_project(file, parsed, module, &index, settings)
            })
            .collect()
    }

    fn run(
        files: &[(SourceFile, ModuleName)],
        cache: Arc<MemoryCache>,
    ) -> (Vec<Vec<Diagnostic>>, crate::RunStatistics) {
        let project: Vec<ProjectFile> = files
            .iter()
            .map(|(file, module)| ProjectFile {
                path: file.path.clone(),
                module: module.clone(),
            })
            .collect();
        let workspace = Arc::new(Memory(files.iter().map(|(f, _)| f.clone()).collect()));
        let outcome = check_project(project, Settings::default(), workspace, Some(cache));
        let found = outcome.files.into_iter().map(|f| f.diagnostics).collect();
        (found, outcome.statistics)
    }

    /// A chain of modules each importing the next, deeper than on-demand analyses nest: the
    /// deepest ones are summarized first and checked at the end, with the same findings.
    #[test]
    fn long_import_chains_give_the_same_findings() {
        let mut files = Vec::new();
        for i in 0..40 {
            let text = if i + 1 < 40 {
                format!(
                    "import m{next}\n\n\nasync def run_{i}():\n    m{next}.run_{next}()\n    m{next}.step()\n\n\ndef step():\n    return m{next}.step()\n",
                    next = i + 1
                )
            } else {
                format!(
                    "import time\n\n\nasync def run_{i}():\n    pass\n\n\ndef step():\n    time.sleep(1)\n"
                )
            };
            files.push(module(&format!("m{i}"), &text));
        }
        let settings = Settings::default();
        let expected = reference(&files, &settings);
        assert!(expected.iter().flatten().count() >= 78, "{expected:?}");
        assert_one_pass_agrees(&files, &settings, &expected);
    }

    /// A cached file whose lookups changed (the coroutine it calls became a plain function in
    /// another, edited module) is checked again; the files that only the edit concerns are not.
    #[test]
    fn a_change_in_an_imported_module_reaches_the_cached_files_that_use_it() {
        let client = "async def fetch():\n    pass\n";
        let user = "from client import fetch\n\n\nasync def main():\n    fetch()\n";
        let other = "async def idle():\n    pass\n";
        let before = vec![
            module("client", client),
            module("user", user),
            module("other", other),
        ];
        let cache = Arc::new(MemoryCache::default());
        let (found, _) = run(&before, cache.clone());
        assert_eq!(found, reference(&before, &Settings::default()));
        assert_eq!(found[1].len(), 1, "`fetch()` is a missing await: {found:?}");

        let after = vec![
            module("client", "def fetch():\n    pass\n"),
            module("user", user),
            module("other", other),
        ];
        let next = Arc::try_unwrap(cache)
            .unwrap_or_else(|_| panic!("no cache kept"))
            .next_run();
        let (found, statistics) = run(&after, Arc::new(next));
        assert_eq!(found, reference(&after, &Settings::default()));
        assert!(
            found[1].is_empty(),
            "`fetch` is no coroutine now: {found:?}"
        );
        assert_eq!(
            (statistics.analysed, statistics.rechecked, statistics.cached),
            (1, 1, 1),
            "{statistics:?}"
        );
    }
}
