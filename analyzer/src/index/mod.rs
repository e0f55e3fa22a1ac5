//! The project index: a summary of every module, cross-module name resolution, and the
//! project-wide facts computed over the sync call graph ("may block", "runs an event loop").
//!
//! Summaries are small, owned and independent of syntax trees, so they can be built in
//! parallel, cached, and replaced one file at a time.

mod blocking;
mod lookups;
mod module_name;
mod summary;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap;

use blocking::CallGraph;
pub(crate) use blocking::{Chain, Facts};
pub use lookups::Dependencies;
pub(crate) use lookups::{Lookups, ProjectFunction};
pub use module_name::{ModuleName, module_names};
pub use summary::ModuleSummary;
pub use summary::summarize;
pub(crate) use summary::{ClassSummary, FunctionSummary, Site, TypeSummary, summarize_model};

/// What a dotted name refers to in the project.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Symbol<'a> {
    Module,
    Function(&'a ModuleSummary, &'a FunctionSummary),
    Class(&'a ModuleSummary, &'a ClassSummary),
    /// A module-level variable holding an instance.
    Instance,
}

/// Words without which a file cannot have a finding of any rule: async syntax, asyncio and
/// event-loop APIs, the async protocol's dunders, and the supported async libraries.
const TRIGGERS: &[&str] = &[
    "async",
    "await",
    "asyncio",
    "loop",
    "__a",
    "create_task",
    "ensure_future",
    "call_soon",
    "add_done_callback",
    "aiohttp",
    "httpx",
    "asyncpg",
    "aiofiles",
    "redis",
    "trio",
    "anyio",
];

/// Produces module summaries on demand for a [`ProjectIndex::lazy`] index.
pub trait Loader: Send + Sync {
    /// Called once for file `position`, by the first lookup that needs its summary before it
    /// was published: must [`ProjectIndex::publish`] it (or `None` when the file has none),
    /// without waiting for any other file's summary.
    fn load(&self, index: &ProjectIndex, position: usize);
}

/// One file of the project: its summary once known, and whether someone is producing it.
#[derive(Debug, Default)]
struct Slot {
    summary: OnceLock<Option<Arc<ModuleSummary>>>,
    claimed: AtomicBool,
}

/// Every module of the project, by dotted name, with the call-graph facts.
///
/// A complete index ([`ProjectIndex::new`]) holds every summary and the facts. A lazy one
/// ([`ProjectIndex::lazy`]) knows the files and their module names up front and gets each
/// summary when it is published or, when a lookup needs it first, from its [`Loader`]: a whole
/// project can then be analysed in one pass, each file parsed once, with its lookups answered
/// from the others' summaries as they come. The facts need every summary and exist only in the
/// index [`ProjectIndex::complete`] makes of it at the end.
#[derive(Default)]
pub struct ProjectIndex {
    /// Finds trigger words and the names of the project's coroutine functions: made on first
    /// use (only the language server asks), and only for a complete index.
    triggers: OnceLock<Option<aho_corasick::AhoCorasick>>,
    /// Whether this is the index [`ProjectIndex::complete`] made.
    complete: bool,
    /// Module name to the files claiming it, in order: the first with a summary is the module
    /// (later ones are shadowed copies).
    modules: FxHashMap<String, Vec<usize>>,
    slots: Vec<Slot>,
    loader: Option<Arc<dyn Loader>>,
    may_block: Facts,
    runs_loop: Facts,
}

impl std::fmt::Debug for ProjectIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectIndex")
            .field("files", &self.slots.len())
            .field("lazy", &self.loader.is_some())
            .finish_non_exhaustive()
    }
}

/// How many re-export hops resolution follows (`from .a import x` chains).
const MAX_HOPS: u32 = 16;

impl ProjectIndex {
    /// An index that knows no project modules (file-local analysis).
    pub fn empty() -> &'static ProjectIndex {
        static EMPTY: OnceLock<ProjectIndex> = OnceLock::new();
        EMPTY.get_or_init(ProjectIndex::default)
    }

    /// Builds the index from module summaries and computes the call-graph facts.
    pub fn new(summaries: Vec<Arc<ModuleSummary>>) -> Self {
        let names: Vec<Vec<String>> = summaries.iter().map(|s| s.names.clone()).collect();
        let index = ProjectIndex::with_names(&names, None);
        for (slot, summary) in index.slots.iter().zip(summaries) {
            let _ = slot.summary.set(Some(summary));
        }
        let index = index.complete();
        // The language server's index: made in the background, asked on every keystroke.
        let _ = index.triggers.set(index.trigger_words());
        index
    }

    /// An index of files whose module names are known (`names[i]` for file `i`) and whose
    /// summaries come later: published by whoever analyses the file, or made by `loader` for
    /// the first lookup that needs one.
    pub fn lazy(names: &[Vec<String>], loader: Arc<dyn Loader>) -> Self {
        ProjectIndex::with_names(names, Some(loader))
    }

    fn with_names(names: &[Vec<String>], loader: Option<Arc<dyn Loader>>) -> Self {
        let mut modules: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for (position, names) in names.iter().enumerate() {
            for name in names {
                modules.entry(name.clone()).or_default().push(position);
            }
        }
        ProjectIndex {
            modules,
            slots: names.iter().map(|_| Slot::default()).collect(),
            loader,
            ..ProjectIndex::default()
        }
    }

    /// Claims file `position` for analysis: `true` for the first caller only.
    pub fn claim(&self, position: usize) -> bool {
        self.slots
            .get(position)
            .is_some_and(|slot| !slot.claimed.swap(true, Ordering::AcqRel))
    }

    /// Records the summary of file `position` (`None`: it has none, as when it cannot be read
    /// or parsed). The first summary published for a file stays.
    pub fn publish(&self, position: usize, summary: Option<Arc<ModuleSummary>>) {
        if let Some(slot) = self.slots.get(position) {
            let _ = slot.summary.set(summary);
        }
    }

    /// Whether file `position`'s summary is known.
    pub fn is_published(&self, position: usize) -> bool {
        self.slots
            .get(position)
            .is_some_and(|slot| slot.summary.get().is_some())
    }

    /// The summary of file `position`: published already, made now by the loader, or (when
    /// another thread is making it) waited for.
    fn summary_at(&self, position: usize) -> Option<&ModuleSummary> {
        let slot = self.slots.get(position)?;
        if let Some(summary) = slot.summary.get() {
            return summary.as_deref();
        }
        let loader = self.loader.as_ref()?;
        if self.claim(position) {
            loader.load(self, position);
            if slot.summary.get().is_none() {
                // A loader that forgot to publish must not leave others waiting.
                let _ = slot.summary.set(None);
            }
        }
        slot.summary.wait().as_deref()
    }

    /// The index with every summary published so far and the call-graph facts: what the rest
    /// of the analysis uses once every file has been seen.
    #[must_use]
    pub fn complete(mut self) -> Self {
        self.loader = None;
        for slot in &self.slots {
            let _ = slot.summary.set(None);
        }
        let graph = CallGraph::new(&self);
        let may_block = graph.propagate(|f| f.blocking.as_ref());
        let runs_loop = graph.propagate(|f| f.runs_loop.as_ref());
        drop(graph);
        self.may_block = may_block;
        self.runs_loop = runs_loop;
        self.complete = true;
        self
    }

    /// The call-graph facts of a complete index, serialized: a later run whose summaries are
    /// all the same answers its pending findings with them ([`ProjectIndex::from_facts`]).
    pub(crate) fn facts(&self) -> Vec<u8> {
        postcard::to_allocvec(&(&self.may_block, &self.runs_loop)).unwrap_or_default()
    }

    /// Whether the call-graph facts show a site of the file at `path`.
    pub(crate) fn facts_mention(&self, path: &str) -> bool {
        self.may_block.mention(path) || self.runs_loop.mention(path)
    }

    /// An index that knows no module, only the call-graph facts [`ProjectIndex::facts`] gave:
    /// enough to answer pending findings. `None` when `bytes` are not such facts.
    pub(crate) fn from_facts(bytes: &[u8]) -> Option<Self> {
        let (may_block, runs_loop) = postcard::from_bytes(bytes).ok()?;
        Some(ProjectIndex {
            may_block,
            runs_loop,
            ..ProjectIndex::default()
        })
    }

    /// Whether a file with this text can have any finding besides syntax errors, given the
    /// project's coroutine names and the configured extra coroutines and blocking calls. A
    /// cheap text search that lets a large run skip most sync-only files.
    pub fn may_have_findings(&self, text: &str, settings: &crate::Settings) -> bool {
        let configured = settings
            .extra_coroutines
            .iter()
            .chain(&settings.extra_blocking_calls);
        let last_segments = configured
            .filter_map(|name| name.rsplit('.').next())
            .any(|name| text.contains(name));
        if last_segments || !self.complete {
            return true;
        }
        self.triggers
            .get_or_init(|| self.trigger_words())
            .as_ref()
            .is_none_or(|triggers| triggers.is_match(text))
    }

    /// The automaton of [`ProjectIndex::may_have_findings`]: the trigger words and the last
    /// segments of the project's coroutine functions' names.
    fn trigger_words(&self) -> Option<aho_corasick::AhoCorasick> {
        let mut words: Vec<&str> = TRIGGERS.to_vec();
        for module in self.summaries() {
            for function in module.functions.iter().filter(|f| f.is_async) {
                let name = function
                    .qualname
                    .rsplit('.')
                    .next()
                    .unwrap_or(&function.qualname);
                words.push(name);
            }
        }
        words.sort_unstable();
        words.dedup();
        aho_corasick::AhoCorasick::new(&words).ok()
    }

    /// How many modules have a summary.
    pub fn module_count(&self) -> usize {
        self.summaries().count()
    }

    /// The published summaries, in file order.
    pub(crate) fn summaries(&self) -> impl Iterator<Item = &ModuleSummary> {
        self.slots
            .iter()
            .filter_map(|slot| slot.summary.get().and_then(Option::as_deref))
    }

    /// The module named `name`: the first file claiming the name that has a summary.
    fn module(&self, name: &str) -> Option<&ModuleSummary> {
        self.modules
            .get(name)?
            .iter()
            .find_map(|&position| self.summary_at(position))
    }

    /// What `name` (an absolute dotted name) refers to in the project, following re-exports.
    pub(crate) fn resolve(&self, name: &str) -> Option<Symbol<'_>> {
        self.resolve_hops(name, 0)
    }

    fn resolve_hops(&self, name: &str, hops: u32) -> Option<Symbol<'_>> {
        if hops > MAX_HOPS || self.modules.is_empty() {
            return None;
        }
        // The longest prefix of dotted segments that is a module, then what the rest names.
        let mut end = name.len();
        loop {
            if let Some(module) = self.module(&name[..end]) {
                return self.resolve_in(module, name.get(end + 1..), hops);
            }
            end = name[..end].rfind('.')?;
        }
    }

    /// What the segments `rest` (none: the module itself) name in `module`.
    fn resolve_in<'a>(
        &'a self,
        module: &'a ModuleSummary,
        rest: Option<&str>,
        hops: u32,
    ) -> Option<Symbol<'a>> {
        let Some(rest) = rest else {
            return Some(Symbol::Module);
        };
        let (first, after) = match rest.split_once('.') {
            Some((first, after)) => (first, Some(after)),
            None => (rest, None),
        };
        // A single segment after `first` (`Class.method`), if that is all there is.
        let single = after.filter(|after| !after.contains('.'));
        if let Some(function) = module.function(first) {
            return after
                .is_none()
                .then_some(Symbol::Function(module, function));
        }
        if let Some(class) = module.classes.get(first) {
            return match (after, single) {
                (None, _) => Some(Symbol::Class(module, class)),
                (Some(_), Some(method)) => {
                    let qualified = format!("{}.{}", module.name, class.name);
                    self.method(&qualified, method)
                        .map(|(m, f)| Symbol::Function(m, f))
                }
                (Some(_), None) => None,
            };
        }
        if let Some(target) = module.imports.get(first) {
            let redirected = match after {
                Some(after) => format!("{target}.{after}"),
                None => target.clone(),
            };
            return self.resolve_hops(&redirected, hops + 1);
        }
        if let Some(class) = module.variables.get(first) {
            return match (after, single) {
                (None, _) => Some(Symbol::Instance),
                (Some(_), Some(method)) => self
                    .method(class, method)
                    .map(|(m, f)| Symbol::Function(m, f)),
                (Some(_), None) => None,
            };
        }
        None
    }

    /// The class a dotted name refers to, with its canonical qualified name (the defining
    /// module's name + class name).
    pub(crate) fn class(&self, name: &str) -> Option<(String, &ClassSummary)> {
        match self.resolve(name)? {
            Symbol::Class(module, class) => {
                Some((format!("{}.{}", module.name, class.name), class))
            }
            _ => None,
        }
    }

    /// Finds `method` on the project class `class` or its project bases (depth-first, left to
    /// right). `None` when it is not found or a base is not a project class (it might define it).
    pub(crate) fn method(
        &self,
        class: &str,
        method: &str,
    ) -> Option<(&ModuleSummary, &FunctionSummary)> {
        self.find_in_bases(class, |module, summary| {
            let &function = summary.methods.get(method)?;
            module.functions.get(function).map(|f| (module, f))
        })
    }

    /// The type of attribute `name` on instances of the project class `class` (or its bases).
    pub(crate) fn attribute(&self, class: &str, name: &str) -> Option<&TypeSummary> {
        self.find_in_bases(class, |_, summary| summary.attributes.get(name))
    }

    /// Walks the project class `class` and its bases depth-first, left to right, until `find`
    /// answers; gives up on a base that is not a project class and after 32 classes (cycles).
    fn find_in_bases<'a, T>(
        &'a self,
        class: &str,
        mut find: impl FnMut(&'a ModuleSummary, &'a ClassSummary) -> Option<T>,
    ) -> Option<T> {
        let mut stack = vec![class.to_string()];
        let mut visited = 0;
        while let Some(current) = stack.pop() {
            visited += 1;
            if visited > 32 {
                return None;
            }
            let Some(Symbol::Class(module, summary)) = self.resolve(&current) else {
                return None;
            };
            if let Some(found) = find(module, summary) {
                return Some(found);
            }
            stack.extend(
                summary
                    .bases
                    .iter()
                    .rev()
                    .filter(|b| *b != "builtins.object")
                    .cloned(),
            );
        }
        None
    }

    /// The chain from the project sync function `function` (qualified name) to a blocking
    /// call, if it may block.
    pub(crate) fn may_block(&self, function: &str) -> Option<Chain> {
        self.may_block.chain(function)
    }

    /// The chain from `function` to a call that starts an event loop, if it runs one.
    pub(crate) fn runs_loop(&self, function: &str) -> Option<Chain> {
        self.runs_loop.chain(function)
    }

    /// The module summary that defines `function` (a qualified function name).
    pub(crate) fn function(&self, function: &str) -> Option<(&ModuleSummary, &FunctionSummary)> {
        match self.resolve(function)? {
            Symbol::Function(module, summary) => Some((module, summary)),
            _ => None,
        }
    }
}
