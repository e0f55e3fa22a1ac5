use std::sync::OnceLock;

use rustc_hash::FxHashMap;
use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::settings::PythonVersion;
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for names of the `asyncio` module that do not exist (typos such as
    /// `asyncio.togather`, `asyncio.create_tasks`, `asyncio.sleeep`), that do not exist yet in
    /// the target Python version (`asyncio.TaskGroup`, `asyncio.timeout` and `asyncio.Runner`
    /// before 3.11, `asyncio.to_thread` before 3.9), or that were removed by it (the child
    /// watchers in 3.14). Every import form counts: `import asyncio as aio` then `aio.X`, and
    /// `from asyncio import X`. Private names (`asyncio._x`) are not checked.
    ///
    /// Code under a version guard is checked against the versions it runs on, from the target
    /// version up: `if sys.version_info >= (3, 12):` (either side, `sys.version_info[:2]`,
    /// `not`/`and`/`or`, a name bound to such a comparison as `PY312 = ...`, the `else`
    /// branch, conditional expressions, and the code after `if sys.version_info < (3, 12):
    /// return`), the marks `@pytest.mark.skipif(<version check>, ...)` on the test function or
    /// class around it, `@pytest.mark.skip` and `if TYPE_CHECKING:` (never run). So
    /// `asyncio.eager_task_factory` is fine under `>= (3, 12)` but `asyncio.capture_call_graph`
    /// (3.14) is still reported there. Also fine: names under `hasattr(asyncio, "X")` being
    /// true, in a `try` whose handler catches `ImportError`/`AttributeError` (or a base of
    /// them, or bare `except:`), used only in annotations (for version differences), under
    /// `with pytest.raises(...)`, and code that only runs on versions newer than the bundled
    /// table knows.
    ///
    /// The names per version come from `dir(asyncio)` of `CPython` 3.8 to 3.13 and the 3.14
    /// documentation (see `analyzer/src/known/asyncio_api.toml`).
    ///
    /// ## Why is this bad?
    /// The line raises `AttributeError` (or `ImportError`) when it runs, often only on the
    /// error path or on the oldest Python the project supports, long after the code shipped.
    ///
    /// ## Example
    /// ```python
    /// results = await asyncio.togather(*jobs)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// results = await asyncio.gather(*jobs)
    /// ```
    ///
    /// ## Fix safety
    /// Safe when exactly one existing name is close to the misspelled one (at most two edits
    /// apart): the name is replaced. No fix for names that are too new for the target version.
    pub(crate) struct UnknownApi {
        code: "AIO500",
        name: "unknown-api",
        severity: Error,
    }
}

/// The newest minor version the table of names knows: beyond it, a name may exist.
const NEWEST_KNOWN: u8 = 14;

/// Names that other rules report when they are missing (`@asyncio.coroutine` is AIO501's).
const REPORTED_ELSEWHERE: &[&str] = &["coroutine"];

/// The asyncio module's names per minor version of Python 3.
struct AsyncioNames {
    /// Name -> (first minor version with it, first minor version without it again).
    names: FxHashMap<String, (u8, Option<u8>)>,
}

impl AsyncioNames {
    fn get() -> &'static AsyncioNames {
        static NAMES: OnceLock<AsyncioNames> = OnceLock::new();
        NAMES.get_or_init(|| {
            AsyncioNames::parse(include_str!("../../known/asyncio_api.toml")).unwrap_or_else(|| {
                debug_assert!(false, "asyncio_api.toml does not parse");
                AsyncioNames {
                    names: FxHashMap::default(),
                }
            })
        })
    }

    fn parse(text: &str) -> Option<AsyncioNames> {
        let table: toml::Table = text.parse().ok()?;
        let minor = |key: &str| key.strip_prefix("3.")?.parse::<u8>().ok();
        let strings = |value: &toml::Value| -> Vec<String> {
            value
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(toml::Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut names: FxHashMap<String, (u8, Option<u8>)> = strings(table.get("base")?)
            .into_iter()
            .map(|n| (n, (8, None)))
            .collect();
        let mut changes: Vec<(u8, bool, Vec<String>)> = Vec::new();
        for (key, added) in [("added", true), ("removed", false)] {
            for (version, list) in table.get(key)?.as_table()? {
                changes.push((minor(version)?, added, strings(list)));
            }
        }
        changes.sort_by_key(|(version, added, _)| (*version, !*added));
        for (version, added, list) in changes {
            for name in list {
                if added {
                    names.insert(name, (version, None));
                } else if let Some(entry) = names.get_mut(&name) {
                    entry.1 = Some(version);
                }
            }
        }
        Some(AsyncioNames { names })
    }

    fn exists_in(&self, name: &str, version: PythonVersion) -> bool {
        self.names.get(name).is_some_and(|(since, until)| {
            *since <= version.minor && until.is_none_or(|u| version.minor < u)
        })
    }

    /// Public names that exist in `version` and are at most a small edit away from `name`.
    fn close_to(&self, name: &str, version: PythonVersion) -> Vec<&str> {
        let limit = (name.chars().count() / 3).clamp(1, 2);
        let mut close: Vec<&str> = self
            .names
            .keys()
            .map(String::as_str)
            .filter(|n| !n.starts_with('_') && self.exists_in(n, version))
            .filter(|n| edit_distance(n, name) <= limit)
            .collect();
        close.sort_unstable();
        close
    }
}

/// Optimal string alignment distance (Levenshtein with adjacent transpositions).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// AIO500 on `asyncio.X` (any alias of the module).
pub(crate) fn unknown_api_attribute<'t>(
    ctx: &RuleContext<'_, 't>,
    attribute: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let (Some(object), Some(name)) = (attribute.field("object"), attribute.field("attribute"))
    else {
        return;
    };
    if is_assignment_target(attribute, ctx.ancestors.last().copied())
        || ctx.infer(object).external() != Some("asyncio")
    {
        return;
    }
    let spelled = format!("{}.{}", ctx.text(object), ctx.text(name));
    check_name(ctx, attribute, name, &spelled, attribute, true, out);
}

/// AIO500 on `from asyncio import X`.
pub(crate) fn unknown_api_import<'t>(
    ctx: &RuleContext<'_, 't>,
    import: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(module) = import.field("module_name") else {
        return;
    };
    if module.node_kind() != "dotted_name" || ctx.text(module) != "asyncio" {
        return;
    }
    let mut cursor = import.walk();
    let imported: Vec<Node<'t>> = import.children_by_field_name("name", &mut cursor).collect();
    for item in imported {
        let name = match item.node_kind() {
            "aliased_import" => item.field("name"),
            "dotted_name" => Some(item),
            _ => None,
        };
        let Some(name) = name.filter(|n| n.named_child_count() == 1) else {
            continue;
        };
        // Renaming an unaliased import would leave its uses behind: no fix there.
        let fixable = item.node_kind() == "aliased_import";
        check_name(ctx, import, name, ctx.text(name), name, fixable, out);
    }
}

/// Whether `node`, whose parent is `parent`, is assigned to or deleted.
fn is_assignment_target(node: Node<'_>, parent: Option<Node<'_>>) -> bool {
    parent.is_some_and(|parent| {
        matches!(parent.node_kind(), "assignment" | "augmented_assignment")
            && parent.field("left").is_some_and(|l| l.id() == node.id())
            || parent.node_kind() == "delete_statement"
    })
}

/// Reports `name` (an identifier naming an attribute of asyncio) when it is missing in the
/// target version (or the oldest version the guards around `checked`, the node being checked,
/// let it run on). `spelled` is how the code writes it; `range` is what the finding covers.
fn check_name<'t>(
    ctx: &RuleContext<'_, 't>,
    checked: Node<'t>,
    name: Node<'t>,
    spelled: &str,
    range: Node<'t>,
    fixable: bool,
    out: &mut Vec<Diagnostic>,
) {
    let text = ctx.text(name);
    let names = AsyncioNames::get();
    let target = ctx.settings.target_version;
    let never_removed = names
        .names
        .get(text)
        .is_some_and(|(since, until)| *since <= target.minor && until.is_none());
    if never_removed || text.starts_with('_') || REPORTED_ELSEWHERE.contains(&text) {
        return;
    }
    // The code runs on the versions its guards allow, from the target version on.
    let Some(oldest) = ctx.versions(checked).oldest_from(target.minor) else {
        return;
    };
    let runs_on = PythonVersion {
        major: 3,
        minor: oldest,
    };
    if names.exists_in(text, runs_on)
        || runs_on.minor > NEWEST_KNOWN
        || checked_with_hasattr(ctx, checked, text)
        || in_try_catching_missing_names(ctx)
        || super::expects_failure(ctx)
    {
        return;
    }
    let (message, fix) = if let Some((since, until)) = names.names.get(text) {
        if in_annotation(ctx) {
            return;
        }
        let why = if runs_on.minor < *since {
            format!("was added in Python 3.{since}")
        } else {
            format!("was removed in Python 3.{}", until.unwrap_or(runs_on.minor))
        };
        let place = if runs_on == target {
            format!("the target version {target}")
        } else {
            format!(
                "Python 3.{}, the oldest version this guarded code runs on",
                runs_on.minor
            )
        };
        (
            format!("`{spelled}` does not exist in {place}: it {why}"),
            None,
        )
    } else {
        let close = names.close_to(text, runs_on);
        if let [only] = close.as_slice() {
            (
                format!("`{spelled}` does not exist in asyncio; did you mean `{only}`?"),
                fixable.then(|| {
                    Fix::safe(
                        format!("Replace with `{only}`"),
                        vec![Edit::replace(name.byte_range().into(), *only)],
                    )
                }),
            )
        } else {
            (format!("`{spelled}` does not exist in asyncio"), None)
        }
    };
    out.push(Diagnostic::new(Rule::UnknownApi, range.byte_range().into(), message).with_fix(fix));
}

/// Whether `checked` (the current node) only runs after `hasattr(asyncio, "name")` was found
/// true.
fn checked_with_hasattr<'t>(ctx: &RuleContext<'_, 't>, checked: Node<'t>, name: &str) -> bool {
    crate::guards::conditions(checked, ctx.ancestors, ctx.source, true)
        .into_iter()
        .any(|(condition, truth)| hasattr_holds(ctx, condition, truth, name))
}

/// Whether `condition` being `truth` means `hasattr(asyncio, "name")` is true.
fn hasattr_holds(ctx: &RuleContext<'_, '_>, condition: Node<'_>, truth: bool, name: &str) -> bool {
    let mut condition = condition.unparenthesized();
    let mut truth = truth;
    // `not` flips; `a and b` being true means both are (a bounded walk down the left/right).
    for _ in 0..32 {
        match condition.node_kind() {
            "not_operator" => {
                let Some(argument) = condition.field("argument") else {
                    return false;
                };
                condition = argument.unparenthesized();
                truth = !truth;
            }
            "boolean_operator" => {
                let is_and = condition
                    .field("operator")
                    .is_some_and(|o| o.node_kind() == "and");
                if is_and != truth {
                    return false;
                }
                let (Some(left), Some(right)) = (condition.field("left"), condition.field("right"))
                else {
                    return false;
                };
                if hasattr_call(ctx, left.unparenthesized(), name) {
                    return true;
                }
                condition = right.unparenthesized();
            }
            _ => return truth && hasattr_call(ctx, condition, name),
        }
    }
    false
}

/// `hasattr(asyncio, "name")` (any alias of asyncio; `getattr` is not a check).
fn hasattr_call(ctx: &RuleContext<'_, '_>, call: Node<'_>, name: &str) -> bool {
    if call.node_kind() != "call"
        || call
            .field("function")
            .is_none_or(|f| ctx.infer(f).external() != Some("builtins.hasattr"))
    {
        return false;
    }
    let arguments = call
        .field("arguments")
        .map(|a| a.named_children_vec())
        .unwrap_or_default();
    let [object, attribute] = arguments.as_slice() else {
        return false;
    };
    let literal = ctx.text(*attribute);
    ctx.infer(*object).external() == Some("asyncio")
        && (literal == format!("\"{name}\"") || literal == format!("'{name}'"))
}

/// Whether the current node is in the body of a `try` with a handler for the error a missing
/// name raises (`ImportError`, `AttributeError`, a base of them, or a bare `except:`).
fn in_try_catching_missing_names(ctx: &RuleContext<'_, '_>) -> bool {
    let mut child = None;
    for ancestor in ctx.ancestors.iter().rev() {
        if ancestor.node_kind() == "try_statement"
            && child
                .is_some_and(|c: Node<'_>| ancestor.field("body").is_some_and(|b| b.id() == c.id()))
            && catches_missing_names(ctx, *ancestor)
        {
            return true;
        }
        child = Some(*ancestor);
    }
    false
}

/// The exceptions whose handler catches a missing name.
const CATCHES_MISSING_NAMES: &[&str] = &[
    "builtins.ImportError",
    "builtins.ModuleNotFoundError",
    "builtins.AttributeError",
    "builtins.Exception",
    "builtins.BaseException",
];

fn catches_missing_names(ctx: &RuleContext<'_, '_>, try_statement: Node<'_>) -> bool {
    try_statement
        .named_children_vec()
        .into_iter()
        .filter(|c| c.node_kind() == "except_clause")
        .any(|handler| {
            let caught = handler.caught_exceptions();
            caught.is_empty()
                || caught.into_iter().any(|exception| {
                    ctx.infer(exception)
                        .external()
                        .is_some_and(|e| CATCHES_MISSING_NAMES.contains(&e))
                })
        })
}

fn in_annotation(ctx: &RuleContext<'_, '_>) -> bool {
    ctx.ancestors.iter().any(|a| a.node_kind() == "type")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_knows_versions() {
        let names = AsyncioNames::get();
        let py = |minor| PythonVersion { major: 3, minor };
        assert!(names.exists_in("gather", py(8)));
        assert!(!names.exists_in("TaskGroup", py(10)));
        assert!(names.exists_in("TaskGroup", py(11)));
        assert!(!names.exists_in("to_thread", py(8)));
        assert!(names.exists_in("to_thread", py(9)));
        assert!(!names.exists_in("coroutine", py(11)));
        assert!(names.exists_in("SafeChildWatcher", py(13)));
        assert!(!names.exists_in("SafeChildWatcher", py(14)));
        assert!(names.exists_in("ProactorEventLoop", py(12)));
        assert_eq!(names.close_to("togather", py(11)), ["gather"]);
        assert_eq!(names.close_to("create_tasks", py(11)), ["create_task"]);
    }

    fn messages(source: &str, target: &str) -> Vec<String> {
        let settings = crate::Settings {
            rules: crate::RuleSelection::from_selectors(Some(&["AIO500".into()]), &[])
                .expect("AIO500 exists"),
            target_version: PythonVersion::parse(target).expect("a valid version"),
            ..crate::Settings::default()
        };
        crate::check_file(&crate::SourceFile::new("t.py", source), &settings)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn names_too_new_or_removed_for_the_target() {
        let source = "import asyncio\nfrom asyncio import Runner\n\nasync def f():\n    async with asyncio.TaskGroup() as g:\n        pass\n    await asyncio.to_thread(print)\n    asyncio.SafeChildWatcher()\n\ndef g(x: asyncio.Timeout) -> None:\n    pass\n";
        assert_eq!(
            messages(source, "py38"),
            [
                "`Runner` does not exist in the target version py38: it was added in Python 3.11",
                "`asyncio.TaskGroup` does not exist in the target version py38: it was added in Python 3.11",
                "`asyncio.to_thread` does not exist in the target version py38: it was added in Python 3.9",
            ]
        );
        assert_eq!(messages(source, "py311"), Vec::<String>::new());
        assert_eq!(
            messages(source, "py314"),
            [
                "`asyncio.SafeChildWatcher` does not exist in the target version py314: it was removed in Python 3.14"
            ]
        );
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("sleep", "sleeep"), 1);
        assert_eq!(edit_distance("gather", "gahter"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
