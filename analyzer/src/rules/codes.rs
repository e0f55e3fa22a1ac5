//! The rule registry: one line per rule, mapping its enum variant to its declaration. Where Ruff
//! has a rule for the same pattern, its code is noted.

use super::{RuleMeta, api, blocking, cancellation, coroutines, errors, event_loop, performance};
use crate::diagnostic::Severity;

macro_rules! registry {
    ($($variant:ident => $decl:path,)*) => {
        /// Every rule aiolint knows, in code order.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            pub fn meta(self) -> &'static RuleMeta {
                match self {
                    $(Rule::$variant => &<$decl>::META,)*
                }
            }
        }
    };
}

registry! {
    MissingAwait => coroutines::missing_await::MissingAwait,   // Pyright reportUnusedCoroutine
    DanglingTask => coroutines::dangling_task::DanglingTask,   // Ruff RUF006
    BlockingSleep => blocking::blocking_sleep::BlockingSleep,  // Ruff ASYNC251
    BlockingCall => blocking::blocking_call::BlockingCall,     // Ruff ASYNC210-230, ASYNC240
    BlockingTransitive => blocking::blocking_transitive::BlockingTransitive,
    NestedRun => event_loop::nested_run::NestedRun,
    RepeatedRun => event_loop::repeated_run::RepeatedRun,
    CancelSwallowed => cancellation::cancel_swallowed::CancelSwallowed, // flake8-async ASYNC103/104 (trio)
    UnknownApi => api::unknown_api::UnknownApi,
    DeprecatedApi => api::deprecated_api::DeprecatedApi,
    AsyncProtocol => api::async_protocol::AsyncProtocol,
    AwaitOutsideAsync => api::await_outside_async::AwaitOutsideAsync, // Ruff PLE1142
    SequentialAwait => performance::sequential_await::SequentialAwait,
    IoError => errors::io_error::IoError,                      // Ruff E902
    SyntaxError => errors::syntax_error::SyntaxErrorRule,      // Ruff E999
}

impl Rule {
    pub fn code(self) -> &'static str {
        self.meta().code
    }

    pub fn name(self) -> &'static str {
        self.meta().name
    }

    pub fn severity(self) -> Severity {
        self.meta().severity
    }

    /// Finds a rule by code (`AIO200`, any case) or kebab-case name (`blocking-sleep`).
    pub fn find(code_or_name: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.code().eq_ignore_ascii_case(code_or_name) || r.name() == code_or_name)
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn codes_and_names_are_unique() {
        for (i, a) in Rule::ALL.iter().enumerate() {
            for b in &Rule::ALL[i + 1..] {
                assert_ne!(a.code(), b.code());
                assert_ne!(a.name(), b.name());
            }
        }
    }

    /// Every rule documents itself: the text feeds `aiolint rule`, hover and the docs.
    #[test]
    fn every_rule_has_all_documentation_sections() {
        for rule in Rule::ALL {
            let docs = rule.meta().documentation();
            for section in ["## What it does", "## Why is this bad?", "## Example"] {
                assert!(docs.contains(section), "{} lacks `{section}`", rule.code());
            }
            if !rule.meta().always_on {
                for section in ["Use instead:", "## Fix safety"] {
                    assert!(docs.contains(section), "{} lacks `{section}`", rule.code());
                }
            }
        }
    }
}
