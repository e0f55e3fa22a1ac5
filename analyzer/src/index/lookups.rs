//! The project index as one module's check sees it.
//!
//! Everything a check learns about other modules goes through [`Lookups`]: which project
//! class a dotted name is, a method or function and the facts about it that rules read
//! (async-ness, generator, plain, return class, whether it never returns), and instance
//! attribute types. When asked to, it records each question with a fingerprint of its answer:
//! a cached check stays valid for a later index exactly when every recorded question still
//! gets the same answer ([`Dependencies::hold`]).

use std::cell::RefCell;
use std::hash::{Hash, Hasher};

use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::Xxh3;

use super::summary::{FunctionSummary, TypeSummary};
use super::{ModuleSummary, ProjectIndex};
use crate::semantic::Wrapper;

/// What a project function (of another module, or reached through the index) is, as far as
/// checks need it.
#[derive(Clone, Copy, Debug, Hash)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts about one function, each read on its own"
)]
pub(crate) struct ProjectFunction<'a> {
    /// The dotted name of the module defining it.
    pub module: &'a str,
    /// Its name within the module (`fetch`, `Client.fetch`).
    pub qualname: &'a str,
    pub is_async: bool,
    pub is_generator: bool,
    /// Decorators (if any) keep it a plain function.
    pub plain: bool,
    /// The type its return annotation names.
    pub returns: Option<&'a TypeSummary>,
    /// It never returns (annotated `NoReturn`/`Never`, or its body always raises).
    pub never_returns: bool,
    /// What it does as a decorator of an `async def`.
    pub wrapper: Wrapper,
    /// A plain function whose every `return` gives a coroutine.
    pub returns_coroutine: bool,
}

impl<'a> ProjectFunction<'a> {
    fn of(module: &'a ModuleSummary, function: &'a FunctionSummary) -> Self {
        Self {
            module: &module.name,
            qualname: &function.qualname,
            is_async: function.is_async,
            is_generator: function.is_generator,
            plain: function.plain,
            returns: function.returns.as_ref(),
            never_returns: function.never_returns,
            wrapper: function.wrapper,
            returns_coroutine: function.returns_coroutine,
        }
    }

    /// The absolute dotted name (`pkg.client.Client.fetch`).
    pub(crate) fn qualified(&self) -> String {
        format!("{}.{}", self.module, self.qualname)
    }
}

/// A question a check asked the index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum Query {
    Class(String),
    Method(String, String),
    Attribute(String, String),
    Function(String),
}

/// The questions one check asked, each with a fingerprint of the answer it got.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dependencies {
    pub(crate) answers: Vec<(Query, u64)>,
}

impl Dependencies {
    /// Whether `index` still answers every question the same way.
    pub fn hold(&self, index: &ProjectIndex) -> bool {
        let lookups = Lookups::new(index);
        self.answers
            .iter()
            .all(|(query, answer)| lookups.answer(query) == *answer)
    }
}

/// The index seen through one check, recording what it asks when `recording` is on.
#[derive(Debug)]
pub(crate) struct Lookups<'i> {
    index: &'i ProjectIndex,
    recorded: Option<RefCell<FxHashMap<Query, u64>>>,
}

impl<'i> Lookups<'i> {
    pub(crate) fn new(index: &'i ProjectIndex) -> Self {
        Self {
            index,
            recorded: None,
        }
    }

    /// The same index, now recording every question and its answer.
    pub(crate) fn recording(index: &'i ProjectIndex) -> Self {
        Self {
            index,
            recorded: Some(RefCell::default()),
        }
    }

    /// What was asked so far (empty when not recording).
    pub(crate) fn dependencies(&self) -> Dependencies {
        let mut answers: Vec<(Query, u64)> = self
            .recorded
            .as_ref()
            .map(|recorded| {
                recorded
                    .borrow()
                    .iter()
                    .map(|(q, a)| (q.clone(), *a))
                    .collect()
            })
            .unwrap_or_default();
        answers.sort_unstable_by(|a, b| a.0.cmp_key().cmp(&b.0.cmp_key()));
        Dependencies { answers }
    }

    fn record(&self, query: impl FnOnce() -> Query, answer: &impl Hash) {
        if let Some(recorded) = &self.recorded {
            let query = query();
            recorded
                .borrow_mut()
                .entry(query)
                .or_insert_with(|| fingerprint(answer));
        }
    }

    /// The fingerprint of the answer `query` gets now.
    fn answer(&self, query: &Query) -> u64 {
        match query {
            Query::Class(name) => fingerprint(&self.index.class(name).map(|(q, _)| q)),
            Query::Method(class, method) => fingerprint(
                &self
                    .index
                    .method(class, method)
                    .map(|(m, f)| ProjectFunction::of(m, f)),
            ),
            Query::Attribute(class, name) => fingerprint(&self.index.attribute(class, name)),
            Query::Function(name) => fingerprint(
                &self
                    .index
                    .function(name)
                    .map(|(m, f)| ProjectFunction::of(m, f)),
            ),
        }
    }

    /// The canonical qualified name of the project class `name` refers to.
    pub(crate) fn class(&self, name: &str) -> Option<String> {
        let found = self.index.class(name).map(|(qualified, _)| qualified);
        self.record(|| Query::Class(name.to_string()), &found);
        found
    }

    /// `method` of the project class `class` (or its project bases).
    pub(crate) fn method(&self, class: &str, method: &str) -> Option<ProjectFunction<'i>> {
        let found = self
            .index
            .method(class, method)
            .map(|(m, f)| ProjectFunction::of(m, f));
        self.record(
            || Query::Method(class.to_string(), method.to_string()),
            &found,
        );
        found
    }

    /// The type of instance attribute `name` of the project class `class`.
    pub(crate) fn attribute(&self, class: &str, name: &str) -> Option<&'i TypeSummary> {
        let found = self.index.attribute(class, name);
        self.record(
            || Query::Attribute(class.to_string(), name.to_string()),
            &found,
        );
        found
    }

    /// The project function a dotted name refers to.
    pub(crate) fn function(&self, name: &str) -> Option<ProjectFunction<'i>> {
        let found = self
            .index
            .function(name)
            .map(|(m, f)| ProjectFunction::of(m, f));
        self.record(|| Query::Function(name.to_string()), &found);
        found
    }
}

impl Query {
    /// A total order for a stable serialized form.
    fn cmp_key(&self) -> (u8, &str, &str) {
        match self {
            Query::Class(name) => (0, name, ""),
            Query::Method(class, method) => (1, class, method),
            Query::Attribute(class, name) => (2, class, name),
            Query::Function(name) => (3, name, ""),
        }
    }
}

fn fingerprint(answer: &impl Hash) -> u64 {
    let mut hasher = Xxh3::new();
    answer.hash(&mut hasher);
    hasher.finish()
}
