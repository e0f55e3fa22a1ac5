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
//! checked against the new index. A file whose answers changed is checked again. When nothing
//! changed, the last run's findings are replayed; when only a few files changed and none of
//! their summaries did (but for where their sites are), only those are analysed and the other
//! files' findings replayed.
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
use crate::index::{Loader, ModuleName, ModuleSummary, ProjectIndex, summarize};
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
    /// Only edited files were analysed: none of their summaries changed (or only in where
    /// their sites are, and no call-graph chain goes through them), so what every other file
    /// sees is as it was, and their findings are the last run's.
    pub edited_only: bool,
}

/// The result of a project run.
#[derive(Debug)]
pub struct ProjectOutcome {
    /// One per file, in the order given.
    pub files: Vec<FileOutcome>,
    /// The complete index; `None` when the findings came from the last run's record (nothing
    /// changed, or only files whose summaries stayed the same, see [`RunStatistics`]).
    pub index: Option<ProjectIndex>,
    pub statistics: RunStatistics,
}

/// What the cache keeps of a whole run: the findings of each file, under the key of
/// everything they depend on, with what a run that edits a few files needs to reuse them.
#[derive(Serialize, Deserialize)]
struct LastRun {
    /// [`RunKeys::run`].
    key: u128,
    /// [`RunKeys::files`].
    files: u128,
    /// [`RunKeys::entries`].
    entries: Vec<u128>,
    diagnostics: Vec<Vec<Diagnostic>>,
    /// The complete index's call-graph facts ([`ProjectIndex::facts`]).
    facts: Vec<u8>,
}

/// The keys of a run's inputs (when caching and every file could be read).
struct RunKeys {
    /// Everything the run's findings depend on: [`RunKeys::files`] and every entry key.
    run: u128,
    /// The files' paths and module names, the settings and the build, without their texts.
    files: u128,
    /// Each file's cache entry key, in order.
    entries: Vec<u128>,
}

/// How many files a run may find edited and still try to analyse only those
/// ([`Run::edited`]); more, and the whole run costs about the same.
const MAX_EDITED: usize = 256;

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

    /// Whether the cache has an entry for file `position` as it is now.
    fn is_cached(&self, position: usize) -> bool {
        let (Some(cache), Some(key)) = (self.cache.as_ref(), self.known_key(position)) else {
            return false;
        };
        cache.get(key).is_some()
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
        self.outcome(position, source, diagnostics)
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
        let keys = run.run_keys();
        let last = keys.as_ref().and_then(|_| run.last_run());
        if let (Some(keys), Some(last)) = (&keys, &last)
            && last.key == keys.run
            && let Some(files) = run.replay(last)
        {
            statistics_of(&statistics).replayed = true;
            return (files, None);
        }
        let index = ProjectIndex::lazy(&names, Arc::clone(&run) as Arc<dyn Loader>);
        if let (Some(keys), Some(last)) = (&keys, last)
            && let Some(files) = run.edited(&index, keys, last, &statistics)
        {
            return (files, None);
        }
        // Larger files first, so that the last to finish are small; a file the cache has is
        // not parsed, and its size is not asked.
        let sizes: Vec<u64> = (0..count)
            .into_par_iter()
            .map(|position| {
                if run.is_cached(position) {
                    0
                } else {
                    run.workspace.size(position)
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&position| std::cmp::Reverse(sizes[position]));
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
        if let Some(keys) = keys {
            run.set_last_run(&LastRun {
                key: keys.run,
                files: keys.files,
                entries: keys.entries,
                diagnostics: files.iter().map(|f| f.diagnostics.clone()).collect(),
                facts: index.facts(),
            });
        }
        (files, Some(index))
    };
    let (files, index) = match rayon::ThreadPoolBuilder::new()
        .stack_size(STACK_SIZE)
        .build()
    {
        Ok(pool) => pool.install(pass),
        Err(_) => pass(),
    };
    let statistics = statistics
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    ProjectOutcome {
        files,
        index,
        statistics,
    }
}

impl Run {
    /// The keys of the run's inputs: every file's contents, path and module names, the
    /// settings and the build. `None` without a cache, or when a file cannot be read (its
    /// error is not cached).
    fn run_keys(&self) -> Option<RunKeys> {
        let cache = self.cache.as_ref()?;
        let fingerprints: Vec<Option<u128>> = (0..self.files.len())
            .into_par_iter()
            .map(|position| self.workspace.fingerprint(position))
            .collect();
        let _ = self.fingerprints.set(fingerprints);
        let entries: Option<Vec<u128>> = (0..self.files.len())
            .map(|position| self.known_key(position))
            .collect();
        let mut hasher = Xxh3::new();
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        cache.salt().hash(&mut hasher);
        self.settings.hash(&mut hasher);
        for file in &self.files {
            file.path.hash(&mut hasher);
            file.module.names.hash(&mut hasher);
            file.module.is_package.hash(&mut hasher);
        }
        let files = hasher.digest128();
        let entries = entries?;
        let mut hasher = Xxh3::new();
        files.hash(&mut hasher);
        entries.hash(&mut hasher);
        Some(RunKeys {
            run: hasher.digest128(),
            files,
            entries,
        })
    }

    /// The last run's record, if the cache has one this build can read.
    fn last_run(&self) -> Option<LastRun> {
        postcard::from_bytes(self.cache.as_ref()?.last_run()?).ok()
    }

    fn set_last_run(&self, record: &LastRun) {
        if let Some(cache) = &self.cache {
            cache.set_last_run(postcard::to_allocvec(record).unwrap_or_default());
        }
    }

    /// The last run's findings again (its key is this run's); the texts of files with
    /// findings are read again to show them.
    fn replay(&self, last: &LastRun) -> Option<Vec<FileOutcome>> {
        if last.diagnostics.len() != self.files.len() {
            return None;
        }
        Some(
            last.diagnostics
                .par_iter()
                .enumerate()
                .map(|(position, diagnostics)| self.outcome(position, None, diagnostics.clone()))
                .collect(),
        )
    }

    /// The run when only a few files were edited since the last run, of the same files, and
    /// none of their summaries changed, or only in where their sites are and no call-graph
    /// chain goes through them ([`only_moved`]): everything another file's check sees (the
    /// index's answers and its call-graph facts) is as it was, so every other file's findings
    /// are the last run's. The edited files are analysed (their lookups load the modules they
    /// need from the cache) and their pending findings answered by the last run's facts.
    ///
    /// `None` when that does not hold; what was analysed meanwhile stays in `index`, for the
    /// whole run that follows.
    fn edited(
        &self,
        index: &ProjectIndex,
        keys: &RunKeys,
        last: LastRun,
        statistics: &Mutex<RunStatistics>,
    ) -> Option<Vec<FileOutcome>> {
        if last.files != keys.files
            || last.entries.len() != keys.entries.len()
            || last.diagnostics.len() != keys.entries.len()
        {
            return None;
        }
        let edited: Vec<usize> = (0..keys.entries.len())
            .filter(|&position| keys.entries[position] != last.entries[position])
            .collect();
        if edited.is_empty() || edited.len() > MAX_EDITED {
            return None;
        }
        let facts = ProjectIndex::from_facts(&last.facts)?;
        let before: Vec<Option<Arc<ModuleSummary>>> = edited
            .iter()
            .map(|&position| Some(self.cached(Some(last.entries[position]))?.summary))
            .collect::<Option<_>>()?;
        edited.par_iter().for_each(|&position| {
            if index.claim(position) {
                self.first_pass(index, position);
            }
        });
        let unchanged = edited.iter().zip(&before).all(|(&position, before)| {
            let Some(slot) = self.states.get(position) else {
                return false;
            };
            let state = slot.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(State::Analysed {
                analysis,
                key,
                cached,
                ..
            }) = &*state
            else {
                return false;
            };
            // Compared as values: a summary's maps, built again or decoded, may iterate in
            // another order. A text seen in an earlier run (an edit undone) comes from its
            // cache entry, whose lookups must still hold.
            let kept = analysis.summary == *before
                || only_moved(analysis.summary.as_deref(), before.as_deref(), &facts);
            kept && (!cached || self.still_valid(*key, index))
        });
        if !unchanged {
            return None;
        }
        let mut last = last;
        let files: Vec<FileOutcome> = std::mem::take(&mut last.diagnostics)
            .into_par_iter()
            .enumerate()
            .map(|(position, diagnostics)| {
                if edited.binary_search(&position).is_err() {
                    if let Some(cache) = &self.cache {
                        cache.keep(keys.entries[position]);
                    }
                    return self.outcome(position, None, diagnostics);
                }
                match self.take(position) {
                    Some(State::Analysed {
                        source, analysis, ..
                    }) => {
                        let path = self.files.get(position).map_or("", |f| f.path.as_str());
                        let diagnostics = analysis.diagnostics(&facts, path);
                        self.outcome(position, source, diagnostics)
                    }
                    _ => self.outcome(position, None, Vec::new()),
                }
            })
            .collect();
        *statistics_of(statistics) = RunStatistics {
            files: files.len(),
            analysed: edited.len(),
            cached: files.len() - edited.len(),
            edited_only: true,
            ..RunStatistics::default()
        };
        self.set_last_run(&LastRun {
            key: keys.run,
            files: keys.files,
            entries: keys.entries.clone(),
            diagnostics: files.iter().map(|f| f.diagnostics.clone()).collect(),
            facts: last.facts,
        });
        Some(files)
    }

    /// File `position`'s outcome: its findings, and its text when they are not empty (read
    /// again unless given).
    fn outcome(
        &self,
        position: usize,
        source: Option<SourceFile>,
        diagnostics: Vec<Diagnostic>,
    ) -> FileOutcome {
        let source = match source {
            _ if diagnostics.is_empty() => None,
            Some(source) => Some(source),
            None => self.workspace.read(position).ok(),
        };
        FileOutcome {
            path: self
                .files
                .get(position)
                .map(|f| f.path.clone())
                .unwrap_or_default(),
            source,
            diagnostics,
        }
    }
}

/// Whether an edited file's summary `now` is its summary `before` with only its sites moved
/// (lines added or removed above them), and the last run's call-graph `facts` show none of its
/// sites. Lookups see no positions, and the facts, made of the same calls between the same
/// functions, are the same: what every other file sees is as it was.
fn only_moved(
    now: Option<&ModuleSummary>,
    before: Option<&ModuleSummary>,
    facts: &ProjectIndex,
) -> bool {
    match (now, before) {
        (Some(now), Some(before)) => {
            now.same_but_positions(before) && !facts.facts_mention(now.path())
        }
        _ => false,
    }
}

fn statistics_of(statistics: &Mutex<RunStatistics>) -> std::sync::MutexGuard<'_, RunStatistics> {
    statistics.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// The cache of `cache`'s run, for the next run.
    fn next_run(cache: Arc<MemoryCache>) -> Arc<MemoryCache> {
        let cache = Arc::try_unwrap(cache).unwrap_or_else(|_| panic!("no cache kept"));
        Arc::new(cache.next_run())
    }

    /// Edits that keep every summary (a coroutine's body, a comment) are the only files
    /// analysed: the others' findings are the last run's, and the edited files' findings that
    /// wait for the call graph are answered by the last run's facts. An edit undone takes the
    /// old text's entry when the cache still has it; an edit that changes a summary makes a
    /// whole run again; a replayed run leaves the cache as it was.
    #[test]
    fn edits_that_keep_every_summary_analyse_only_the_edited_files() {
        let storage =
            "import time\n\n\ndef read_disk(path):\n    time.sleep(0.1)\n    return path\n";
        let app = "from storage import read_disk\nfrom client import fetch\n\n\nasync def main():\n    read_disk('a')\n";
        let client = "async def fetch():\n    pass\n";
        let user =
            "from storage import read_disk\n\n\nasync def load():\n    return read_disk('u')\n";
        let files = |storage: &str, app: &str, user: &str| {
            vec![
                module("storage", storage),
                module("app", app),
                module("client", client),
                module("user", user),
            ]
        };
        let settings = Settings::default();
        let before = files(storage, app, user);
        let cache = Arc::new(MemoryCache::default());
        let (found, _) = run(&before, cache.clone());
        assert_eq!(found, reference(&before, &settings));
        let cache = next_run(cache);
        let first = cache.copy();
        let (found, statistics) = run(&before, cache.clone());
        assert!(statistics.replayed, "{statistics:?}");
        assert_eq!(found, reference(&before, &settings));

        // A new missing await and a new blocking call in the coroutine, a comment in the
        // helper's module.
        let app_edited = format!("{app}    fetch()\n    read_disk('b')\n");
        let edited = files(
            &format!("{storage}# the helper blocks\n"),
            &app_edited,
            user,
        );
        let cache = next_run(cache);
        let (found, statistics) = run(&edited, cache.clone());
        assert_eq!(found, reference(&edited, &settings));
        assert_eq!(
            (found[1].len(), found[3].len()),
            (3, 1),
            "two AIO202 and an AIO100 in app, the AIO202 in user kept: {found:?}"
        );
        assert!(statistics.edited_only, "{statistics:?}");
        assert_eq!((statistics.analysed, statistics.cached), (2, 2));

        // Both edits undone, with the first texts' entries still there.
        let cache = next_run(cache);
        let mut undone = cache.copy();
        undone.old.extend(first.old);
        let (found, statistics) = run(&before, Arc::new(undone));
        assert_eq!(found, reference(&before, &settings));
        assert!(statistics.edited_only, "{statistics:?}");

        // The helper stops blocking: its summary changes, so every file is seen again.
        let fixed = files("def read_disk(path):\n    return path\n", &app_edited, user);
        let (found, statistics) = run(&fixed, cache);
        assert_eq!(found, reference(&fixed, &settings));
        assert!(found[3].is_empty(), "{found:?}");
        assert!(!statistics.edited_only, "{statistics:?}");
    }

    /// Lines added above a module's functions move its sites and so change its summary. When
    /// no call-graph chain goes through it, only it is analysed; when one does (another file's
    /// finding shows where the helper blocks), every file is seen again, and the finding
    /// shows the new line.
    #[test]
    fn an_edit_that_only_moves_sites_analyses_only_the_edited_file_unless_a_chain_shows_them() {
        let storage =
            "import time\n\n\ndef read_disk(path):\n    time.sleep(0.1)\n    return path\n";
        let client = "def parse(text):\n    return text.strip()\n\n\nasync def fetch():\n    return parse('x')\n";
        let app = "from storage import read_disk\nfrom client import fetch\n\n\nasync def main():\n    fetch()\n    read_disk('a')\n";
        let files = |storage: &str, client: &str| {
            vec![
                module("storage", storage),
                module("client", client),
                module("app", app),
            ]
        };
        let settings = Settings::default();
        let before = files(storage, client);
        let cache = Arc::new(MemoryCache::default());
        let (found, _) = run(&before, cache.clone());
        assert_eq!(found, reference(&before, &settings));
        assert_eq!(
            found[2].len(),
            2,
            "an AIO100 and an AIO202 in app: {found:?}"
        );

        let moved_client = format!("# a comment\n\n{client}");
        let edited = files(storage, &moved_client);
        let cache = next_run(cache);
        let (found, statistics) = run(&edited, cache.clone());
        assert_eq!(found, reference(&edited, &settings));
        assert!(statistics.edited_only, "{statistics:?}");
        assert_eq!((statistics.analysed, statistics.cached), (1, 2));

        let moved_storage = format!("# a comment\n{storage}");
        let edited = files(&moved_storage, &moved_client);
        let cache = next_run(cache);
        let (found, statistics) = run(&edited, cache);
        assert_eq!(found, reference(&edited, &settings));
        assert!(!statistics.edited_only, "{statistics:?}");
        assert_ne!(
            found,
            reference(&before, &settings),
            "the chain's line moved"
        );
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
