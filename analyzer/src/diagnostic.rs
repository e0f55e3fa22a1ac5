//! Diagnostics: what a rule reports.

use crate::fix::Fix;
use crate::line_index::LineColumn;
use crate::rules::Rule;
use crate::text_range::TextRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Another location that explains a diagnostic (the blocking line of a transitive finding).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Related {
    /// The file, when it is not the diagnostic's own.
    pub path: Option<String>,
    pub range: TextRange,
    /// Where `range` starts (1-based), computed from the related file's own text.
    pub start: LineColumn,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    pub rule: Rule,
    pub range: TextRange,
    pub message: String,
    pub fix: Option<Fix>,
    pub related: Vec<Related>,
    /// The flagged code may be written that way on purpose (`_ = fetch()`, which type checkers
    /// take as a deliberate discard): editors offer suppressing the finding before fixing it.
    pub may_be_deliberate: bool,
}

impl Diagnostic {
    pub fn new(rule: Rule, range: TextRange, message: impl Into<String>) -> Self {
        Self {
            rule,
            range,
            message: message.into(),
            fix: None,
            related: Vec::new(),
            may_be_deliberate: false,
        }
    }

    #[must_use]
    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    /// Marks the flagged code as possibly deliberate (see [`Diagnostic::may_be_deliberate`]).
    #[must_use]
    pub fn deliberate(mut self) -> Self {
        self.may_be_deliberate = true;
        self
    }

    pub fn code(&self) -> &'static str {
        self.rule.code()
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }
}
