//! Configuration files: `[tool.aiolint]` in `pyproject.toml`, or the top level of
//! `aiolint.toml`. Parsing only: finding the files is the caller's job (the analyzer does no
//! IO). Unknown keys and bad values are errors that name the file, the key and the line.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use crate::settings::{PythonVersion, RuleSelection, Settings, matching};

/// The options, as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Options {
    select: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
    per_file_ignores: Option<BTreeMap<String, Vec<Spanned<String>>>>,
    exclude: Option<Vec<String>>,
    extend_exclude: Option<Vec<String>>,
    target_version: Option<Spanned<String>>,
    extra_blocking_calls: Option<Vec<String>>,
    extra_coroutines: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct PyProject {
    tool: Option<Tools>,
    project: Option<Project>,
}

#[derive(Debug, Default, Deserialize)]
struct Tools {
    aiolint: Option<Options>,
}

#[derive(Debug, Default, Deserialize)]
struct Project {
    #[serde(rename = "requires-python")]
    requires_python: Option<toml::Value>,
}

/// A configuration error, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    /// 1-based line of the offending key or value (0 when unknown).
    pub line: usize,
    /// The key concerned, when known.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.path, self.line)?;
        match &self.key {
            Some(key) => write!(f, "invalid configuration key `{key}`: {}", self.message),
            None => write!(f, "invalid configuration: {}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// One configuration file's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The file it came from, as given.
    pub path: String,
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    /// Glob (relative to the configuration's directory) and the rule selectors it ignores.
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    /// Replaces the built-in list of excluded directories when set.
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Vec<String>,
    /// `target-version`, else the lower bound of `[project] requires-python`.
    pub target_version: Option<PythonVersion>,
    pub extra_blocking_calls: Vec<String>,
    pub extra_coroutines: Vec<String>,
}

impl Config {
    /// Parses a `pyproject.toml`. `Ok(None)` when it has no `[tool.aiolint]` table.
    pub fn from_pyproject(path: &str, text: &str) -> Result<Option<Config>, ConfigError> {
        let pyproject: PyProject =
            toml::from_str(text).map_err(|error| toml_error(path, text, &error))?;
        let requires = pyproject
            .project
            .and_then(|p| p.requires_python)
            .and_then(|v| v.as_str().and_then(requires_python_lower_bound));
        let Some(options) = pyproject.tool.and_then(|t| t.aiolint) else {
            return Ok(None);
        };
        let mut config = Config::from_options(path, text, options)?;
        if config.target_version.is_none() {
            config.target_version = requires;
        }
        Ok(Some(config))
    }

    /// Parses an `aiolint.toml`, whose keys sit at the top level.
    pub fn from_aiolint_toml(path: &str, text: &str) -> Result<Config, ConfigError> {
        let options: Options =
            toml::from_str(text).map_err(|error| toml_error(path, text, &error))?;
        Config::from_options(path, text, options)
    }

    fn from_options(path: &str, text: &str, options: Options) -> Result<Config, ConfigError> {
        let error = |key: &str, span: std::ops::Range<usize>, message: String| ConfigError {
            path: path.to_string(),
            line: line_of(text, span.start),
            key: Some(key.to_string()),
            message,
        };
        let check_selectors =
            |key: &str, list: &[Spanned<String>]| -> Result<Vec<String>, ConfigError> {
                list.iter()
                    .map(|s| {
                        matching(s.get_ref())
                            .map(|_| s.get_ref().clone())
                            .map_err(|e| error(key, s.span(), e.to_string()))
                    })
                    .collect()
            };
        let select = options
            .select
            .as_deref()
            .map(|list| check_selectors("select", list))
            .transpose()?;
        let ignore = options
            .ignore
            .as_deref()
            .map(|list| check_selectors("ignore", list))
            .transpose()?
            .unwrap_or_default();
        let mut per_file_ignores = Vec::new();
        for (glob, list) in options.per_file_ignores.unwrap_or_default() {
            let codes = check_selectors("per-file-ignores", &list)?;
            per_file_ignores.push((glob, codes));
        }
        let target_version = options
            .target_version
            .map(|v| {
                PythonVersion::parse(v.get_ref()).ok_or_else(|| {
                    error(
                        "target-version",
                        v.span(),
                        format!(
                            "`{}` is not a supported version: expected py38, py39, ... py314",
                            v.get_ref()
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(Config {
            path: path.to_string(),
            select,
            ignore,
            per_file_ignores,
            exclude: options.exclude,
            extend_exclude: options.extend_exclude.unwrap_or_default(),
            target_version,
            extra_blocking_calls: options.extra_blocking_calls.unwrap_or_default(),
            extra_coroutines: options.extra_coroutines.unwrap_or_default(),
        })
    }

    /// The settings for a file under this configuration. `select` on the command line replaces
    /// the configuration's `select` and `ignore`, `ignore` adds to them, a command-line target version wins, and
    /// `ignored` (from `per-file-ignores` entries that match the file) are left out too.
    pub fn settings(
        &self,
        cli_select: Option<&[String]>,
        cli_ignore: &[String],
        cli_target: Option<PythonVersion>,
        ignored: &[String],
    ) -> Result<Settings, crate::UnknownSelector> {
        let select = cli_select.or(self.select.as_deref());
        // A command-line `--select` is a later layer: it replaces the file's `select` and
        // `ignore` both (as in Ruff).
        let from_file: &[String] = if cli_select.is_some() {
            &[]
        } else {
            &self.ignore
        };
        let ignore: Vec<String> = from_file
            .iter()
            .chain(cli_ignore)
            .chain(ignored)
            .cloned()
            .collect();
        Ok(Settings {
            rules: RuleSelection::from_selectors(select, &ignore)?,
            target_version: cli_target
                .or(self.target_version)
                .unwrap_or(PythonVersion::DEFAULT),
            extra_blocking_calls: self.extra_blocking_calls.clone(),
            extra_coroutines: self.extra_coroutines.clone(),
        })
    }
}

/// The lower bound of a `requires-python` specifier (`>=3.9`, `~=3.10`, `>=3.8,<4`, `^3.11`).
pub fn requires_python_lower_bound(spec: &str) -> Option<PythonVersion> {
    spec.split(',').find_map(|clause| {
        let clause = clause.trim();
        let (op, version) = [">=", "~=", "==", "^", ">"]
            .iter()
            .find_map(|op| clause.strip_prefix(op).map(|rest| (*op, rest.trim())))?;
        let mut parts = version.split('.');
        let major: u8 = parts.next()?.trim().parse().ok()?;
        let minor: u8 = parts
            .next()
            .map_or(Some(0), |m| m.trim_end_matches('*').parse().ok())?;
        let minor = if op == ">" { minor + 1 } else { minor };
        let found = PythonVersion { major, minor };
        // Clamp to the range aiolint knows.
        if major != 3 {
            return None;
        }
        Some(if minor < 8 {
            PythonVersion { major: 3, minor: 8 }
        } else if minor > 14 {
            PythonVersion {
                major: 3,
                minor: 14,
            }
        } else {
            found
        })
    })
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count() + 1)
}

fn toml_error(path: &str, text: &str, error: &toml::de::Error) -> ConfigError {
    let line = error.span().map_or(0, |span| line_of(text, span.start));
    let message = error.message().trim().to_string();
    // `unknown field `selct``: the key is in the message; otherwise it starts the line.
    let key = if let Some(rest) = message.strip_prefix("unknown field `") {
        rest.split('`').next().map(str::to_string)
    } else {
        error.span().and_then(|span| key_at(text, span.start))
    };
    ConfigError {
        path: path.to_string(),
        line,
        key,
        message,
    }
}

/// The key of the `key = value` line that contains byte `offset`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYPROJECT: &str = r#"[project]
name = "demo"
requires-python = ">=3.9"

[tool.black]
line-length = 100

[tool.aiolint]
select = ["AIO1", "AIO200"]
ignore = ["AIO101"]
extend-exclude = ["generated"]
extra-blocking-calls = ["mylib.slow_io"]

[tool.aiolint.per-file-ignores]
"tests/*" = ["AIO100"]
"#;

    #[test]
    fn parses_pyproject() {
        let config = Config::from_pyproject("pyproject.toml", PYPROJECT)
            .expect("valid")
            .expect("has [tool.aiolint]");
        assert_eq!(config.select, Some(vec!["AIO1".into(), "AIO200".into()]));
        assert_eq!(config.ignore, ["AIO101"]);
        assert_eq!(config.extend_exclude, ["generated"]);
        assert_eq!(config.extra_blocking_calls, ["mylib.slow_io"]);
        assert_eq!(
            config.per_file_ignores,
            [("tests/*".to_string(), vec!["AIO100".to_string()])]
        );
        assert_eq!(config.target_version, PythonVersion::parse("py39"));
        assert_eq!(
            Config::from_pyproject("p", "[project]\nname='x'\n"),
            Ok(None)
        );
    }

    #[test]
    fn errors_name_file_key_and_line() {
        let text = PYPROJECT.replace("ignore = [", "ignroe = [");
        let error = Config::from_pyproject("pyproject.toml", &text).expect_err("unknown key");
        assert_eq!((error.line, error.key.as_deref()), (10, Some("ignroe")));
        assert!(
            error
                .to_string()
                .starts_with("pyproject.toml:10: invalid configuration key `ignroe`"),
            "{error}"
        );

        let error =
            Config::from_aiolint_toml("aiolint.toml", "\nselect = 3\n").expect_err("wrong type");
        assert_eq!((error.line, error.key.as_deref()), (2, Some("select")));

        let error = Config::from_aiolint_toml("aiolint.toml", "target-version = \"py27\"\n")
            .expect_err("bad version");
        assert_eq!(
            (error.line, error.key.as_deref()),
            (1, Some("target-version"))
        );

        let error = Config::from_aiolint_toml("aiolint.toml", "ignore = [\n  \"AIO999\",\n]\n")
            .expect_err("bad code");
        assert_eq!((error.line, error.key.as_deref()), (2, Some("ignore")));
    }

    #[test]
    fn requires_python() {
        let v = |s| requires_python_lower_bound(s).map(|v| v.to_string());
        assert_eq!(v(">=3.10").as_deref(), Some("py310"));
        assert_eq!(v(">=3.8, <4").as_deref(), Some("py38"));
        assert_eq!(v("~=3.12.1").as_deref(), Some("py312"));
        assert_eq!(v(">3.9").as_deref(), Some("py310"));
        assert_eq!(v(">=3.6").as_deref(), Some("py38"));
        assert_eq!(v("<4"), None);
    }
}
