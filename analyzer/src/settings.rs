//! Settings that shape a run: which rules are enabled and which Python is targeted.

use std::fmt;

use crate::rules::Rule;

/// A Python version as `(3, minor)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    pub major: u8,
    pub minor: u8,
}

impl PythonVersion {
    pub const DEFAULT: PythonVersion = PythonVersion {
        major: 3,
        minor: 11,
    };

    /// Parses `py311`, `3.11` or `311`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let digits = text.strip_prefix("py").unwrap_or(text).replace('.', "");
        let (major, minor) = digits.split_at_checked(1)?;
        let version = PythonVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        };
        (version.major == 3 && (8..=14).contains(&version.minor)).then_some(version)
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "py{}{}", self.major, self.minor)
    }
}

/// A `--select`/`--ignore` entry that matches no rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSelector(pub String);

impl fmt::Display for UnknownSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown rule selector `{}`: expected a rule code or code prefix (such as `AIO200` or `AIO2`), a rule name (such as `blocking-sleep`), or `ALL`",
            self.0
        )
    }
}

impl std::error::Error for UnknownSelector {}

/// The set of enabled rules.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleSelection {
    enabled: Vec<Rule>,
}

impl Default for RuleSelection {
    fn default() -> Self {
        Self {
            enabled: Rule::ALL
                .iter()
                .copied()
                .filter(|r| r.meta().default_enabled)
                .collect(),
        }
    }
}

impl RuleSelection {
    /// Starts from `select` (or the default rules when `None`) and removes `ignore`.
    /// Error-reporting pseudo-rules (`E999`, `E902`) are always on.
    pub fn from_selectors(
        select: Option<&[String]>,
        ignore: &[String],
    ) -> Result<Self, UnknownSelector> {
        let mut enabled: Vec<Rule> = match select {
            None => Self::default().enabled,
            Some(selectors) => {
                let mut rules = Vec::new();
                for selector in selectors {
                    rules.extend(matching(selector)?);
                }
                rules
            }
        };
        for selector in ignore {
            let ignored = matching(selector)?;
            enabled.retain(|r| !ignored.contains(r));
        }
        enabled.extend(Rule::ALL.iter().filter(|r| r.meta().always_on));
        enabled.sort();
        enabled.dedup();
        Ok(Self { enabled })
    }

    pub fn is_enabled(&self, rule: Rule) -> bool {
        self.enabled.contains(&rule)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.enabled
    }
}

/// The rules a selector names: `ALL`, a code prefix (`AIO2`), a full code, or a rule name.
pub(crate) fn matching(selector: &str) -> Result<Vec<Rule>, UnknownSelector> {
    let selector = selector.trim();
    let rules: Vec<Rule> = if selector.eq_ignore_ascii_case("ALL") {
        Rule::ALL.to_vec()
    } else {
        let by_code: Vec<Rule> = Rule::ALL
            .iter()
            .copied()
            .filter(|r| {
                r.code().starts_with(&selector.to_ascii_uppercase()) && !selector.is_empty()
            })
            .collect();
        if by_code.is_empty() {
            Rule::ALL
                .iter()
                .copied()
                .filter(|r| r.name() == selector)
                .collect()
        } else {
            by_code
        }
    };
    if rules.is_empty() {
        Err(UnknownSelector(selector.to_string()))
    } else {
        Ok(rules)
    }
}

/// Everything a check needs besides the source.
#[derive(Clone, Debug, Hash)]
pub struct Settings {
    pub rules: RuleSelection,
    pub target_version: PythonVersion,
    /// `extra-blocking-calls` from the configuration: qualified names (`mylib.slow_io`) that
    /// block like the built-in list.
    pub extra_blocking_calls: Vec<String>,
    /// `extra-coroutines` from the configuration: qualified names (`mylib.Client.fetch`) of
    /// library coroutine functions and methods.
    pub extra_coroutines: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rules: RuleSelection::default(),
            target_version: PythonVersion::DEFAULT,
            extra_blocking_calls: Vec::new(),
            extra_coroutines: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let selection = RuleSelection::from_selectors(Some(&["AIO1".into()]), &["AIO101".into()]);
        let selection = selection.unwrap_or_default();
        assert!(selection.is_enabled(Rule::MissingAwait));
        assert!(!selection.is_enabled(Rule::DanglingTask));
        assert!(!selection.is_enabled(Rule::BlockingSleep));
        assert!(selection.is_enabled(Rule::SyntaxError));
        let by_name =
            RuleSelection::from_selectors(Some(&["missing-await".into()]), &[]).unwrap_or_default();
        assert!(by_name.is_enabled(Rule::MissingAwait) && !by_name.is_enabled(Rule::BlockingSleep));
        assert!(RuleSelection::from_selectors(Some(&["AIO9".into()]), &[]).is_err());
        assert!(RuleSelection::from_selectors(None, &["nope".into()]).is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(
            PythonVersion::parse("py39"),
            Some(PythonVersion { major: 3, minor: 9 })
        );
        assert_eq!(
            PythonVersion::parse("3.14"),
            Some(PythonVersion {
                major: 3,
                minor: 14
            })
        );
        assert_eq!(PythonVersion::parse("py27"), None);
        assert_eq!(
            PythonVersion::parse("py311")
                .map(|v| v.to_string())
                .as_deref(),
            Some("py311")
        );
    }
}
