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
    /// `from asyncio import X`. Names used under a version or `hasattr` check, in a `try` that
    /// catches `ImportError`/`AttributeError`, or only in annotations (for version
    /// differences) are fine, and so is code under `with pytest.raises(...)`. Private names
    /// (`asyncio._x`) are not checked.
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
    check_name(ctx, name, &spelled, attribute, true, out);
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
        check_name(ctx, name, ctx.text(name), name, fixable, out);
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
/// target version. `spelled` is how the code writes it; `range` is what the finding covers.
fn check_name<'t>(
    ctx: &RuleContext<'_, 't>,
    name: Node<'t>,
    spelled: &str,
    range: Node<'t>,
    fixable: bool,
    out: &mut Vec<Diagnostic>,
) {
    let text = ctx.text(name);
    let names = AsyncioNames::get();
    let target = ctx.settings.target_version;
    if text.starts_with('_')
        || REPORTED_ELSEWHERE.contains(&text)
        || names.exists_in(text, target)
        || guarded(ctx)
        || super::expects_failure(ctx)
    {
        return;
    }
    let (message, fix) = if let Some((since, until)) = names.names.get(text) {
        if in_annotation(ctx) {
            return;
        }
        let why = if target.minor < *since {
            format!("was added in Python 3.{since}")
        } else {
            format!("was removed in Python 3.{}", until.unwrap_or(target.minor))
        };
        (
            format!("`{spelled}` does not exist in the target version {target}: it {why}"),
            None,
        )
    } else {
        let close = names.close_to(text, target);
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

/// Whether the current node only runs after a check that the name exists: under an
/// `if`/conditional expression that tests a version, `hasattr` or `TYPE_CHECKING`, or in a
/// `try` body that catches `ImportError`, `AttributeError` or `Exception`.
fn guarded(ctx: &RuleContext<'_, '_>) -> bool {
    let mut child = None;
    for ancestor in ctx.ancestors.iter().rev() {
        match ancestor.node_kind() {
            "if_statement" | "elif_clause" | "conditional_expression" | "while_statement" => {
                let condition = if ancestor.node_kind() == "conditional_expression" {
                    ancestor.named_child(1)
                } else {
                    ancestor.field("condition")
                };
                if condition.is_some_and(|c| is_version_check(ctx.text(c))) {
                    return true;
                }
            }
            "try_statement" => {
                let in_body = child.is_some_and(|c: Node<'_>| {
                    ancestor.field("body").is_some_and(|b| b.id() == c.id())
                });
                if in_body && catches_missing_names(ctx, *ancestor) {
                    return true;
                }
            }
            _ => {}
        }
        child = Some(*ancestor);
    }
    false
}

fn is_version_check(condition: &str) -> bool {
    let lower = condition.to_ascii_lowercase();
    [
        "version",
        "hasattr",
        "type_checking",
        "py3",
        "py_3",
        "python3",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

fn catches_missing_names(ctx: &RuleContext<'_, '_>, try_statement: Node<'_>) -> bool {
    try_statement
        .named_children_vec()
        .into_iter()
        .filter(|c| c.node_kind() == "except_clause")
        .any(|handler| {
            let mut cursor = handler.walk();
            let values: Vec<Node<'_>> = handler
                .children_by_field_name("value", &mut cursor)
                .filter(Node::is_named)
                .collect();
            values.is_empty()
                || values.iter().any(|v| {
                    let text = ctx.text(*v);
                    ["ImportError", "AttributeError", "Exception"]
                        .iter()
                        .any(|e| text.contains(e))
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
