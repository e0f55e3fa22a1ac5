//! Findings that wait for the whole project: whether a project sync function blocks, or starts
//! an event loop, is a fact of the project's call graph, known only once every module has been
//! summarized. A rule records the call with everything the file itself tells (where, in which
//! coroutine, the fix); [`Pending::answer`] turns it into a diagnostic, or nothing, against the
//! complete index, without the syntax tree.

use crate::diagnostic::Diagnostic;
use crate::fix::Fix;
use crate::index::ProjectIndex;
use crate::rules::Rule;
use crate::rules::blocking::blocking_transitive;
use crate::rules::event_loop::nested_run;
use crate::text_range::TextRange;

/// What a pending finding asks of the call graph, about a project function (qualified name).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Question {
    /// Does it block, directly or through further sync calls? (AIO202)
    Blocks(String),
    /// Does it start an event loop? (AIO300)
    RunsLoop(String),
}

/// A call in a coroutine that is a finding if its callee turns out to block or to start an
/// event loop.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub(crate) question: Question,
    /// The call.
    pub(crate) range: TextRange,
    /// The coroutine making the call, as messages name it.
    pub(crate) coroutine: String,
    pub(crate) fix: Option<Fix>,
}

impl Pending {
    /// The rule that reports it.
    pub(crate) fn rule(&self) -> Rule {
        match self.question {
            Question::Blocks(_) => Rule::BlockingTransitive,
            Question::RunsLoop(_) => Rule::NestedRun,
        }
    }

    /// The diagnostic, when the index says the callee does what was asked. `path` is the path
    /// of the file the call is in (related locations in it carry no path).
    pub(crate) fn answer(&self, index: &ProjectIndex, path: &str) -> Option<Diagnostic> {
        match &self.question {
            Question::Blocks(function) => {
                let chain = index.may_block(function)?;
                Some(blocking_transitive::report(self, &chain, path))
            }
            Question::RunsLoop(function) => {
                let chain = index.runs_loop(function)?;
                Some(nested_run::report_through_helper(self, &chain, path))
            }
        }
    }
}
