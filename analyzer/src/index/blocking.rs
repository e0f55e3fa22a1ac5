//! Project-wide facts over the sync call graph: which sync functions may block (or start an
//! event loop), directly or through other project sync functions, with the chain that shows why.
//! Computed as a fixpoint by a worklist over reversed call edges, so cycles are fine and the
//! cost is linear in the number of call edges.

use std::collections::VecDeque;
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{FunctionSummary, ModuleSummary, ProjectIndex, Site};
use crate::line_index::LineColumn;
use crate::text_range::TextRange;

/// One step of a chain: a function and where the next step happens in it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Step {
    /// The function's qualified name.
    pub function: String,
    /// Its short name for messages (`Client.load`).
    pub display: String,
    pub path: String,
    /// Where this function calls the next step (or makes the blocking call).
    pub range: TextRange,
    pub start: LineColumn,
}

/// How many steps of a chain messages show before eliding the middle.
const SHOWN_STEPS: usize = 4;

/// One function's fact: its own step, the next function down the chain (none when it makes
/// the blocking call itself), the chain's length from here, and the sink it ends in.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Link {
    step: Step,
    next: Option<String>,
    depth: usize,
    sink: Arc<(Step, String, Option<String>)>,
}

/// The facts of every project sync function, one link each, so deep chains cost linear space.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Facts {
    links: FxHashMap<String, Link>,
}

/// Why a function may block: the first steps from it, how many are elided, the function that
/// makes the blocking call, and that call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    pub steps: Vec<Step>,
    pub elided: usize,
    pub last: Step,
    /// The blocking call (`time.sleep()`).
    pub sink: String,
    /// The condition the blocking call is under in its function (``when `verbose` ``), if any.
    pub branch: Option<String>,
}

impl Chain {
    /// `load_config -> read_disk -> time.sleep()`, with the middle of long chains elided, and
    /// the condition the last call is under (``(when `verbose` in `read_disk`)``).
    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<String> = self.steps.iter().map(|s| s.display.clone()).collect();
        if self.elided > 0 {
            parts.push(format!("... ({} more)", self.elided));
        }
        if self
            .steps
            .last()
            .is_none_or(|s| s.function != self.last.function)
        {
            parts.push(self.last.display.clone());
        }
        parts.push(self.sink.clone());
        let chain = parts.join(" -> ");
        match &self.branch {
            Some(branch) => format!("{chain} ({branch} in `{}`)", self.last.display),
            None => chain,
        }
    }

    /// `blocks` or, when the sink is under a condition, `may block`.
    pub(crate) fn verb<'a>(&self, certain: &'a str, uncertain: &'a str) -> &'a str {
        if self.branch.is_some() {
            uncertain
        } else {
            certain
        }
    }

    /// The step that makes the blocking call.
    pub(crate) fn last(&self) -> &Step {
        &self.last
    }

    /// The first function of the chain.
    pub(crate) fn first(&self) -> &Step {
        self.steps.first().unwrap_or(&self.last)
    }
}

impl Facts {
    /// Whether a chain goes through the file at `path` (every function of a chain has a link
    /// of its own, with its step in its file).
    pub(crate) fn mention(&self, path: &str) -> bool {
        self.links.values().any(|link| link.step.path == path)
    }

    /// The chain from `function`, if it has the fact.
    pub(crate) fn chain(&self, function: &str) -> Option<Chain> {
        let first = self.links.get(function)?;
        let mut steps = Vec::new();
        let mut current = Some(first);
        while let Some(link) = current {
            if steps.len() == SHOWN_STEPS {
                break;
            }
            steps.push(link.step.clone());
            current = link.next.as_deref().and_then(|next| self.links.get(next));
        }
        let (last, sink, branch) = first.sink.as_ref().clone();
        let shown =
            steps.len() + usize::from(steps.last().is_none_or(|s| s.function != last.function));
        let elided = (first.depth + 1).saturating_sub(shown);
        Some(Chain {
            steps,
            elided,
            last,
            sink,
            branch,
        })
    }
}

/// The project's sync functions (not generators), in module order, and who calls whom among
/// them: what both facts are computed from. Call targets are resolved once, in parallel.
pub(crate) struct CallGraph<'a> {
    functions: Vec<(&'a ModuleSummary, &'a FunctionSummary)>,
    /// Callee (qualified name) to its callers' steps, in the order of the calls.
    callers: FxHashMap<String, Vec<Step>>,
}

impl<'a> CallGraph<'a> {
    pub(crate) fn new(index: &'a ProjectIndex) -> Self {
        let modules: Vec<&ModuleSummary> = index.summaries().collect();
        let sync = |f: &&FunctionSummary| !f.is_async && !f.is_generator;
        let edges: Vec<Vec<(String, Step)>> = modules
            .par_iter()
            .map(|module| {
                let mut edges = Vec::new();
                for function in module.functions.iter().filter(sync) {
                    let qualified = module.qualified(function);
                    let display = short_name(&function.qualname);
                    for call in &function.calls {
                        // Resolve through re-exports and methods to the defining function.
                        let Some((callee_module, callee)) = index.function(&call.target) else {
                            continue;
                        };
                        if callee.is_async || callee.is_generator || !callee.plain {
                            continue;
                        }
                        edges.push((
                            callee_module.qualified(callee),
                            Step {
                                function: qualified.clone(),
                                display: display.clone(),
                                path: module.path.clone(),
                                range: call.range,
                                start: call.start,
                            },
                        ));
                    }
                }
                edges
            })
            .collect();
        let mut callers: FxHashMap<String, Vec<Step>> = FxHashMap::default();
        for (target, step) in edges.into_iter().flatten() {
            callers.entry(target).or_default().push(step);
        }
        let functions = modules
            .iter()
            .flat_map(|module| {
                module
                    .functions
                    .iter()
                    .filter(sync)
                    .map(move |function| (*module, function))
            })
            .collect();
        CallGraph { functions, callers }
    }

    /// Computes (breadth-first, so chains are shortest) for every project sync function
    /// whether it reaches a function for which `direct` gives a site.
    pub(crate) fn propagate(&self, direct: impl Fn(&FunctionSummary) -> Option<&Site>) -> Facts {
        let mut links: FxHashMap<String, Link> = FxHashMap::default();
        let mut worklist: VecDeque<String> = VecDeque::new();
        for &(module, function) in &self.functions {
            let Some(site) = direct(function) else {
                continue;
            };
            let qualified = module.qualified(function);
            let step = Step {
                function: qualified.clone(),
                display: short_name(&function.qualname),
                path: module.path.clone(),
                range: site.range,
                start: site.start,
            };
            let sink = Arc::new((step.clone(), site.description.clone(), site.branch.clone()));
            links.insert(
                qualified.clone(),
                Link {
                    step,
                    next: None,
                    depth: 0,
                    sink,
                },
            );
            worklist.push_back(qualified);
        }
        while let Some(callee) = worklist.pop_front() {
            let Some(link) = links.get(&callee) else {
                continue;
            };
            let (depth, sink) = (link.depth, Arc::clone(&link.sink));
            let Some(edges) = self.callers.get(&callee) else {
                continue;
            };
            for caller in edges {
                if links.contains_key(&caller.function) {
                    continue;
                }
                let link = Link {
                    step: caller.clone(),
                    next: Some(callee.clone()),
                    depth: depth + 1,
                    sink: Arc::clone(&sink),
                };
                links.insert(caller.function.clone(), link);
                worklist.push_back(caller.function.clone());
            }
        }
        Facts { links }
    }
}

/// `Client.load` for `Client.load`, `helper` for `main.<locals>.helper`.
fn short_name(qualname: &str) -> String {
    qualname
        .rsplit(".<locals>.")
        .next()
        .unwrap_or(qualname)
        .to_string()
}
