//! Project-wide facts over the sync call graph: which sync functions may block (or start an
//! event loop), directly or through other project sync functions, with the chain that shows why.
//! Computed as a fixpoint by a worklist over reversed call edges, so cycles are fine and the
//! cost is linear in the number of call edges.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::{FunctionSummary, ProjectIndex, Site};
use crate::line_index::LineColumn;
use crate::text_range::TextRange;

/// One step of a chain: a function and where the next step happens in it.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Why a function may block: the functions from it down to the one that makes the blocking
/// call, and that call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    pub steps: Vec<Step>,
    /// The blocking call (`time.sleep()`).
    pub sink: String,
}

impl Chain {
    /// `load_config -> read_disk -> time.sleep()`.
    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<&str> = self.steps.iter().map(|s| s.display.as_str()).collect();
        parts.push(&self.sink);
        parts.join(" -> ")
    }

    /// The step that makes the blocking call.
    pub(crate) fn last(&self) -> Option<&Step> {
        self.steps.last()
    }
}

/// Computes (breadth-first, so chains are shortest) for every project sync function the chain to a function for which
/// `direct` gives a site.
pub(crate) fn propagate(
    index: &ProjectIndex,
    direct: impl Fn(&FunctionSummary) -> Option<&Site>,
) -> FxHashMap<String, Chain> {
    // Sync functions by qualified name, and who calls whom (reversed edges).
    let mut facts: FxHashMap<String, Chain> = FxHashMap::default();
    let mut callers: FxHashMap<String, Vec<Step>> = FxHashMap::default();
    let mut worklist: VecDeque<String> = VecDeque::new();
    for module in index.summaries() {
        for function in module
            .functions
            .iter()
            .filter(|f| !f.is_async && !f.is_generator)
        {
            let qualified = module.qualified(function);
            let display = short_name(&function.qualname);
            if let Some(site) = direct(function) {
                let step = Step {
                    function: qualified.clone(),
                    display: display.clone(),
                    path: module.path.clone(),
                    range: site.range,
                    start: site.start,
                };
                facts.insert(
                    qualified.clone(),
                    Chain {
                        steps: vec![step],
                        sink: site.description.clone(),
                    },
                );
                worklist.push_back(qualified.clone());
            }
            for call in &function.calls {
                // Resolve through re-exports and methods to the defining function.
                let Some((callee_module, callee)) = index.function(&call.target) else {
                    continue;
                };
                if callee.is_async || callee.is_generator || !callee.plain {
                    continue;
                }
                let target = callee_module.qualified(callee);
                callers.entry(target).or_default().push(Step {
                    function: qualified.clone(),
                    display: display.clone(),
                    path: module.path.clone(),
                    range: call.range,
                    start: call.start,
                });
            }
        }
    }
    while let Some(callee) = worklist.pop_front() {
        let Some(chain) = facts.get(&callee).cloned() else {
            continue;
        };
        let Some(edges) = callers.get(&callee) else {
            continue;
        };
        for caller in edges {
            if facts.contains_key(&caller.function) {
                continue;
            }
            let mut steps = vec![caller.clone()];
            steps.extend(chain.steps.iter().cloned());
            facts.insert(
                caller.function.clone(),
                Chain {
                    steps,
                    sink: chain.sink.clone(),
                },
            );
            worklist.push_back(caller.function.clone());
        }
    }
    facts
}

/// `Client.load` for `Client.load`, `helper` for `main.<locals>.helper`.
fn short_name(qualname: &str) -> String {
    qualname
        .rsplit(".<locals>.")
        .next()
        .unwrap_or(qualname)
        .to_string()
}
