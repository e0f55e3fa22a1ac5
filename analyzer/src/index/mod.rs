//! The project index: a summary of every module, cross-module name resolution, and the
//! project-wide facts computed over the sync call graph ("may block", "runs an event loop").
//!
//! Summaries are small, owned and independent of syntax trees, so they can be built in
//! parallel, cached, and replaced one file at a time.

mod blocking;
mod module_name;
mod summary;

use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap;

pub(crate) use blocking::{Chain, Facts};
pub use module_name::{ModuleName, module_names};
pub use summary::ModuleSummary;
pub use summary::summarize;
pub(crate) use summary::{ClassSummary, FunctionSummary, Site};

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

/// Every module of the project, by dotted name, with the call-graph facts.
#[derive(Debug, Default)]
pub struct ProjectIndex {
    /// Finds trigger words and the names of the project's coroutine functions.
    triggers: Option<aho_corasick::AhoCorasick>,
    modules: FxHashMap<String, usize>,
    summaries: Vec<Arc<ModuleSummary>>,
    may_block: Facts,
    runs_loop: Facts,
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
        let mut modules = FxHashMap::default();
        for (position, summary) in summaries.iter().enumerate() {
            for name in &summary.names {
                // The first file claiming a module name wins; later ones are shadowed copies.
                modules.entry(name.clone()).or_insert(position);
            }
        }
        let mut index = ProjectIndex {
            modules,
            summaries,
            ..ProjectIndex::default()
        };
        index.may_block = blocking::propagate(&index, |f| f.blocking.first());
        index.runs_loop = blocking::propagate(&index, |f| f.runs_loop.first());
        let mut words: Vec<String> = TRIGGERS.iter().map(|w| (*w).to_string()).collect();
        for module in index.summaries() {
            for function in module.functions.iter().filter(|f| f.is_async) {
                let name = function
                    .qualname
                    .rsplit('.')
                    .next()
                    .unwrap_or(&function.qualname);
                words.push(name.to_string());
            }
        }
        words.sort_unstable();
        words.dedup();
        index.triggers = aho_corasick::AhoCorasick::new(&words).ok();
        index
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
        last_segments
            || self
                .triggers
                .as_ref()
                .is_none_or(|triggers| triggers.is_match(text))
    }

    pub fn module_count(&self) -> usize {
        self.summaries.len()
    }

    pub(crate) fn summaries(&self) -> impl Iterator<Item = &ModuleSummary> {
        self.summaries.iter().map(AsRef::as_ref)
    }

    /// What `name` (an absolute dotted name) refers to in the project, following re-exports.
    pub(crate) fn resolve(&self, name: &str) -> Option<Symbol<'_>> {
        self.resolve_hops(name, 0)
    }

    fn resolve_hops(&self, name: &str, hops: u32) -> Option<Symbol<'_>> {
        if hops > MAX_HOPS || self.modules.is_empty() {
            return None;
        }
        let segments: Vec<&str> = name.split('.').collect();
        for split in (1..=segments.len()).rev() {
            let Some(&position) = self.modules.get(&segments[..split].join(".")) else {
                continue;
            };
            let module = &self.summaries[position];
            let rest = &segments[split..];
            let Some((&first, rest)) = rest.split_first() else {
                return Some(Symbol::Module);
            };
            if let Some(function) = module.function(first) {
                return rest
                    .is_empty()
                    .then_some(Symbol::Function(module, function));
            }
            if let Some(class) = module.classes.get(first) {
                return match rest {
                    [] => Some(Symbol::Class(module, class)),
                    [method] => {
                        let qualified = format!("{}.{}", module.name, class.name);
                        self.method(&qualified, method)
                            .map(|(m, f)| Symbol::Function(m, f))
                    }
                    _ => None,
                };
            }
            if let Some(target) = module.imports.get(first) {
                let mut redirected = target.clone();
                for segment in rest {
                    redirected.push('.');
                    redirected.push_str(segment);
                }
                return self.resolve_hops(&redirected, hops + 1);
            }
            if let Some(class) = module.variables.get(first) {
                return match rest {
                    [] => Some(Symbol::Instance),
                    [method] => self
                        .method(class, method)
                        .map(|(m, f)| Symbol::Function(m, f)),
                    _ => None,
                };
            }
            return None;
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
    pub(crate) fn attribute(&self, class: &str, name: &str) -> Option<&str> {
        self.find_in_bases(class, |_, summary| {
            summary.attributes.get(name).map(String::as_str)
        })
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
            let (_, summary) = self.class(&current)?;
            let module = self.module_of_class(&current)?;
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

    fn module_of_class(&self, class: &str) -> Option<&ModuleSummary> {
        match self.resolve(class)? {
            Symbol::Class(module, _) => Some(module),
            _ => None,
        }
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
