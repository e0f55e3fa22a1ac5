//! What the conditions around a piece of code guarantee when it runs: no event loop running in
//! this thread (under `if not loop.is_running():`, in the child branch of `os.fork()`), read
//! from the `if`s, conditional expressions and early exits (`if loop.is_running(): return`)
//! of its function. Names are resolved through the semantic model, never by spelling.

use tree_sitter::Node;

use crate::flow;
use crate::known::KnownApi;
use crate::semantic::{BindingKind, ClassRef, Lookup, ScopeId, SemanticModel, Value};
use crate::syntax::NodeExt;

/// The conditions known to hold where `node` (under `ancestors`, root first) runs, each as
/// (condition, the value it has there): the branches of `if`/`elif`/`else` and of conditional
/// expressions it is in, and the earlier `if condition: <cannot complete>` (`return`, `raise`)
/// of the blocks around it. Within its function only, unless `through_functions` (a `def`
/// under `if sys.version_info >= ...` only exists on those versions, but a nested function
/// under `if not loop.is_running():` may be called elsewhere).
pub(crate) fn conditions<'t>(
    node: Node<'t>,
    ancestors: &[Node<'t>],
    source: &str,
    through_functions: bool,
) -> Vec<(Node<'t>, bool)> {
    let mut found = Vec::new();
    let mut child = node;
    for &ancestor in ancestors.iter().rev() {
        match ancestor.node_kind() {
            "conditional_expression" => {
                let parts = ancestor.named_children_vec();
                if let [consequence, condition, alternative] = parts.as_slice() {
                    if consequence.id() == child.id() {
                        found.push((*condition, true));
                    } else if alternative.id() == child.id() {
                        found.push((*condition, false));
                    }
                }
            }
            "if_statement" => if_branch_conditions(ancestor, child, &mut found),
            "block" | "module" => early_exits(ancestor, child, source, &mut found),
            "function_definition" | "lambda" | "class_definition" if !through_functions => break,
            _ => {}
        }
        child = ancestor;
    }
    found
}

/// The conditions that hold in `child`, a part of the `if` statement `statement`.
fn if_branch_conditions<'t>(
    statement: Node<'t>,
    child: Node<'t>,
    found: &mut Vec<(Node<'t>, bool)>,
) {
    let Some(condition) = statement.field("condition") else {
        return;
    };
    if statement
        .field("consequence")
        .is_some_and(|c| c.id() == child.id())
    {
        found.push((condition, true));
        return;
    }
    if !matches!(child.node_kind(), "elif_clause" | "else_clause") {
        return;
    }
    // In an `elif`/`else`: the `if` condition and every earlier `elif` condition were false.
    found.push((condition, false));
    let mut cursor = statement.walk();
    for alternative in statement.children_by_field_name("alternative", &mut cursor) {
        let elif_condition = alternative
            .field("condition")
            .filter(|_| alternative.node_kind() == "elif_clause");
        if alternative.id() == child.id() {
            found.extend(elif_condition.map(|c| (c, true)));
            return;
        }
        found.extend(elif_condition.map(|c| (c, false)));
    }
}

/// The conditions of the statements of `block` before `child` (one of its statements) of the
/// form `if condition: <cannot complete>` (no `elif`/`else`): false after them. The statements
/// are read from `block` by position, not as `child`'s siblings: in a re-check, `child` is a
/// function parsed on its own, spliced into the module's tree (found by the `document` fuzz
/// target: a module-level `if sys.version_info < (3, 12): raise` went unseen).
fn early_exits<'t>(
    block: Node<'t>,
    child: Node<'t>,
    source: &str,
    found: &mut Vec<(Node<'t>, bool)>,
) {
    let first = found.len();
    let mut cursor = block.walk();
    for statement in block.named_children(&mut cursor) {
        if statement.start_byte() >= child.start_byte() {
            break;
        }
        if statement.node_kind() == "if_statement"
            && statement.field("alternative").is_none()
            && let (Some(condition), Some(body)) =
                (statement.field("condition"), statement.field("consequence"))
            && !flow::can_complete(body, source, &|_| false)
        {
            found.push((condition, false));
        }
    }
    // The nearest first.
    found[first..].reverse();
}

/// Whether the code at `node` (in `scope`, under `ancestors`) runs only while no event loop is
/// running in this thread: guarded by `loop.is_running()` being false, or in the child
/// process of `os.fork()` (where asyncio resets the running loop).
pub(crate) fn no_running_loop<'t>(
    model: &SemanticModel<'t>,
    node: Node<'t>,
    ancestors: &[Node<'t>],
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    conditions(node, ancestors, model.source, false)
        .into_iter()
        .any(|(condition, truth)| no_loop_when(model, condition, truth, scope, known, 0))
}

/// How deep `not`/`and`/`or` are followed in a condition (the recursion is bounded).
const MAX_CONDITION_DEPTH: u8 = 32;

/// Whether `condition` evaluating to `truth` means no event loop is running here.
fn no_loop_when<'t>(
    model: &SemanticModel<'t>,
    condition: Node<'t>,
    truth: bool,
    scope: ScopeId,
    known: &KnownApi,
    depth: u8,
) -> bool {
    if depth > MAX_CONDITION_DEPTH {
        return false;
    }
    let condition = condition.unparenthesized();
    match condition.node_kind() {
        "not_operator" => condition
            .field("argument")
            .is_some_and(|a| no_loop_when(model, a, !truth, scope, known, depth + 1)),
        "boolean_operator" => {
            let (Some(left), Some(right)) = (condition.field("left"), condition.field("right"))
            else {
                return false;
            };
            let is_and = condition
                .field("operator")
                .is_some_and(|o| o.node_kind() == "and");
            let left = || no_loop_when(model, left, truth, scope, known, depth + 1);
            let right = || no_loop_when(model, right, truth, scope, known, depth + 1);
            // `a and b` true: both are; `a or b` false: both are. Otherwise either may be.
            if is_and == truth {
                left() || right()
            } else {
                left() && right()
            }
        }
        "call" => !truth && is_running_check(model, condition, scope, known),
        "comparison_operator" => in_forked_child(model, condition, truth, scope, known),
        "identifier" => !truth && is_fork_result(model, condition, scope, known),
        _ => false,
    }
}

/// `loop.is_running()` on an event loop, or on something unknown (only loops have it among the
/// values inference knows; a project class's own `is_running` is no guard).
fn is_running_check<'t>(
    model: &SemanticModel<'t>,
    call: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    let Some(function) = call
        .field("function")
        .filter(|f| f.node_kind() == "attribute")
    else {
        return false;
    };
    if function.field("attribute").map(|a| a.text(model.source)) != Some("is_running")
        || call
            .field("arguments")
            .is_none_or(|a| a.named_child_count() != 0)
    {
        return false;
    }
    let Some(receiver) = function.field("object") else {
        return false;
    };
    match model.infer(receiver, scope, known) {
        Value::Instance(ClassRef::External(class)) => known.is_event_loop(&class),
        // What only another module can tell (a property of a class defined there, such as
        // `self.loop` with `self: "Client"`) is as unknown here as a value inference cannot
        // follow.
        Value::Unknown | Value::ExternalMethod { .. } => true,
        _ => false,
    }
}

/// `os.fork() == 0`, `pid == 0`, `pid != 0`, `pid > 0` (with `pid = os.fork()`): whether the
/// comparison evaluating to `truth` means this is the child process.
fn in_forked_child<'t>(
    model: &SemanticModel<'t>,
    comparison: Node<'t>,
    truth: bool,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    let operands = comparison.named_children_vec();
    let [left, right] = operands.as_slice() else {
        return false;
    };
    let Some(operator) = comparison.child(1).map(|o| o.text(model.source)) else {
        return false;
    };
    let zero = |n: &Node<'_>| n.node_kind() == "integer" && n.text(model.source) == "0";
    let fork = |n: &Node<'t>| is_fork_result(model, *n, scope, known);
    let (compared_to_zero, zero_on_right) = if fork(left) && zero(right) {
        (true, true)
    } else if zero(left) && fork(right) {
        (true, false)
    } else {
        (false, true)
    };
    if !compared_to_zero {
        return false;
    }
    match operator {
        "==" => truth,
        "!=" => !truth,
        // `pid > 0` / `0 < pid` is the parent.
        ">" if zero_on_right => !truth,
        "<" if !zero_on_right => !truth,
        _ => false,
    }
}

/// `os.fork()` itself, or a name whose only binding in its scope is `name = os.fork()`.
fn is_fork_result<'t>(
    model: &SemanticModel<'t>,
    node: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> bool {
    let node = node.unparenthesized();
    let is_fork_call = |call: Node<'t>, scope: ScopeId| {
        call.node_kind() == "call"
            && call
                .field("function")
                .is_some_and(|f| model.infer(f, scope, known).external() == Some("os.fork"))
    };
    match node.node_kind() {
        "call" => is_fork_call(node, scope),
        "identifier" => match model.lookup(scope, node.text(model.source)) {
            Lookup::Bound(found, [binding]) => match binding.kind {
                BindingKind::Assignment {
                    value: Some(value), ..
                } => is_fork_call(value.unparenthesized(), found),
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

/// The Python 3 minor versions a piece of code can run on, as its guards say: from `since`
/// (inclusive) up to `until` (exclusive, none: no upper bound). Empty when it never runs
/// (`if TYPE_CHECKING:`, a test marked `@pytest.mark.skip`, contradictory guards).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Versions {
    pub since: u8,
    pub until: Option<u8>,
}

impl Versions {
    pub(crate) const ANY: Versions = Versions {
        since: 0,
        until: None,
    };
    const NEVER: Versions = Versions {
        since: 0,
        until: Some(0),
    };

    fn intersect(self, other: Versions) -> Versions {
        Versions {
            since: self.since.max(other.since),
            until: match (self.until, other.until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    /// The smallest range holding both.
    fn hull(self, other: Versions) -> Versions {
        Versions {
            since: self.since.min(other.since),
            until: self.until.zip(other.until).map(|(a, b)| a.max(b)),
        }
    }

    /// The complement, when it is a range.
    fn complement(self) -> Option<Versions> {
        match (self.since, self.until) {
            (0, Some(until)) => Some(Versions {
                since: until,
                until: None,
            }),
            (since, None) => Some(Versions {
                since: 0,
                until: Some(since),
            }),
            _ => None,
        }
    }

    /// The oldest version the code runs on when the target is `target` (minor), if any.
    pub(crate) fn oldest_from(self, target: u8) -> Option<u8> {
        let oldest = self.since.max(target);
        self.until
            .is_none_or(|until| oldest < until)
            .then_some(oldest)
    }
}

/// The versions the code at `node` (in `scope`, under `ancestors`) runs on: the
/// `sys.version_info` comparisons it is guarded by (also through a name bound to one, as
/// `PY312 = sys.version_info >= (3, 12)`), `if TYPE_CHECKING:`, and the
/// `@pytest.mark.skipif(<version check>, ...)` / `@pytest.mark.skip` marks of the functions and
/// classes around it.
pub(crate) fn versions<'t>(
    model: &SemanticModel<'t>,
    node: Node<'t>,
    ancestors: &[Node<'t>],
    scope: ScopeId,
    known: &KnownApi,
) -> Versions {
    let mut range = Versions::ANY;
    for (condition, truth) in conditions(node, ancestors, model.source, true) {
        if let Some(versions) = versions_when(model, condition, truth, scope, known, 0) {
            range = range.intersect(versions);
        }
    }
    for ancestor in ancestors {
        let Some(decorated) = ancestor
            .parent()
            .filter(|_| {
                matches!(
                    ancestor.node_kind(),
                    "function_definition" | "class_definition"
                )
            })
            .filter(|p| p.node_kind() == "decorated_definition")
        else {
            continue;
        };
        for decorator in decorated
            .named_children_vec()
            .into_iter()
            .filter(|d| d.node_kind() == "decorator")
        {
            if let Some(mark) = decorator.named_child(0) {
                range = range.intersect(mark_versions(model, mark, scope, known));
            }
        }
    }
    range
}

/// `@pytest.mark.skip(...)`: never runs; `@pytest.mark.skipif(condition, ...)`: runs where the
/// condition is false.
fn mark_versions<'t>(
    model: &SemanticModel<'t>,
    mark: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> Versions {
    let (function, arguments) = match mark.node_kind() {
        "call" => (mark.field("function"), mark.field("arguments")),
        _ => (Some(mark), None),
    };
    let Some(function) = function else {
        return Versions::ANY;
    };
    match model.infer(function, scope, known).external() {
        Some("pytest.mark.skip") => Versions::NEVER,
        Some("pytest.mark.skipif") => arguments
            .and_then(|a| a.named_child(0))
            .filter(|c| c.node_kind() != "keyword_argument")
            .and_then(|condition| versions_when(model, condition, false, scope, known, 0))
            .unwrap_or(Versions::ANY),
        _ => Versions::ANY,
    }
}

/// How many names bound to version checks are followed (`PY312 = PY3_12 = ...`).
const MAX_ALIAS_HOPS: u8 = 3;

/// The versions on which `condition` evaluates to `truth`, when it says.
fn versions_when<'t>(
    model: &SemanticModel<'t>,
    condition: Node<'t>,
    truth: bool,
    scope: ScopeId,
    known: &KnownApi,
    depth: u8,
) -> Option<Versions> {
    if depth > MAX_CONDITION_DEPTH {
        return None;
    }
    let condition = condition.unparenthesized();
    match condition.node_kind() {
        "not_operator" => versions_when(
            model,
            condition.field("argument")?,
            !truth,
            scope,
            known,
            depth + 1,
        ),
        "boolean_operator" => {
            let is_and = condition.field("operator")?.node_kind() == "and";
            let left = versions_when(
                model,
                condition.field("left")?,
                truth,
                scope,
                known,
                depth + 1,
            );
            let right = versions_when(
                model,
                condition.field("right")?,
                truth,
                scope,
                known,
                depth + 1,
            );
            if is_and == truth {
                // `a and b` true (or `a or b` false): both hold.
                match (left, right) {
                    (Some(l), Some(r)) => Some(l.intersect(r)),
                    (l, r) => l.or(r),
                }
            } else {
                Some(left?.hull(right?))
            }
        }
        "comparison_operator" => {
            let holds = version_comparison(model, condition, scope, known)?;
            if truth {
                Some(holds)
            } else {
                holds.complement()
            }
        }
        "identifier" | "attribute" => {
            let value = model.infer(condition, scope, known);
            if value.external() == Some("typing.TYPE_CHECKING") {
                return truth.then_some(Versions::NEVER);
            }
            if depth >= MAX_ALIAS_HOPS || condition.node_kind() != "identifier" {
                return None;
            }
            match model.lookup(scope, condition.text(model.source)) {
                Lookup::Bound(found, [binding]) => match binding.kind {
                    BindingKind::Assignment {
                        value: Some(value), ..
                    } => versions_when(model, value, truth, found, known, depth + 1),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

/// `sys.version_info >= (3, 12)` (either side, also `sys.version_info[:2]`): the versions on
/// which it is true.
fn version_comparison<'t>(
    model: &SemanticModel<'t>,
    comparison: Node<'t>,
    scope: ScopeId,
    known: &KnownApi,
) -> Option<Versions> {
    let operands = comparison.named_children_vec();
    let [left, right] = operands.as_slice() else {
        return None;
    };
    let operator = comparison.child(1)?.text(model.source);
    let is_version_info = |node: Node<'t>| {
        let node = node.unparenthesized();
        let node = if node.node_kind() == "subscript" {
            match node.field("subscript") {
                Some(slice) if slice.node_kind() == "slice" => node.field("value"),
                _ => None,
            }
        } else {
            Some(node)
        };
        node.is_some_and(|n| model.infer(n, scope, known).external() == Some("sys.version_info"))
    };
    let (tuple, operator) = if is_version_info(*left) {
        (*right, operator)
    } else if is_version_info(*right) {
        let flipped = match operator {
            "<" => ">",
            ">" => "<",
            "<=" => ">=",
            ">=" => "<=",
            other => other,
        };
        (*left, flipped)
    } else {
        return None;
    };
    let numbers: Vec<u8> = tuple
        .unparenthesized()
        .named_children_vec()
        .into_iter()
        .filter(|n| tuple.unparenthesized().node_kind() == "tuple" && n.node_kind() == "integer")
        .map(|n| n.text(model.source).parse::<u8>().ok())
        .collect::<Option<_>>()?;
    let (3, minor, patch) = (
        *numbers.first()?,
        *numbers.get(1)?,
        numbers.get(2).copied().unwrap_or(0),
    ) else {
        return None;
    };
    // `version_info` is a 5-tuple: `(3, 12, 0, "final", 0) > (3, 12)`, and `<= (3, 12)` is
    // false on 3.12; with a patch level, `< (3, 12, 1)` still holds on 3.12.0.
    let from = |minor: u8| Versions {
        since: minor,
        until: None,
    };
    let before = |minor: u8| Versions {
        since: 0,
        until: Some(minor),
    };
    match operator {
        ">=" | ">" => Some(from(minor)),
        "<" => Some(before(if patch > 0 { minor + 1 } else { minor })),
        "<=" => Some(before(if numbers.len() > 2 { minor + 1 } else { minor })),
        "==" if numbers.len() == 2 => Some(Versions {
            since: minor,
            until: Some(minor + 1),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParsedModule;

    /// The versions on which the condition of `if <condition>:` holds.
    fn holds(condition: &str) -> Option<Versions> {
        let source = format!("import sys\nif {condition}:\n    pass\n");
        let parsed = ParsedModule::parse(&source).expect("parses");
        let model = SemanticModel::build(parsed.root(), &source);
        let statement = parsed
            .root()
            .named_children_vec()
            .into_iter()
            .find(|n| n.node_kind() == "if_statement")
            .expect("an if statement");
        let condition = statement.field("condition").expect("a condition");
        versions_when(&model, condition, true, 0, KnownApi::get(), 0)
    }

    #[allow(
        clippy::unnecessary_wraps,
        reason = "compared with what versions_when returns"
    )]
    fn range(since: u8, until: Option<u8>) -> Option<Versions> {
        Some(Versions { since, until })
    }

    #[test]
    fn version_comparisons_follow_python_tuple_order() {
        assert_eq!(holds("sys.version_info >= (3, 12)"), range(12, None));
        // `(3, 12, 0, "final", 0) > (3, 12)`: true on 3.12 already.
        assert_eq!(holds("sys.version_info > (3, 12)"), range(12, None));
        assert_eq!(holds("sys.version_info < (3, 12)"), range(0, Some(12)));
        // `<= (3, 12)` is false on 3.12.0; `< (3, 12, 1)` is true there.
        assert_eq!(holds("sys.version_info <= (3, 12)"), range(0, Some(12)));
        assert_eq!(holds("sys.version_info < (3, 12, 1)"), range(0, Some(13)));
        assert_eq!(holds("(3, 11) <= sys.version_info[:2]"), range(11, None));
        assert_eq!(
            holds("sys.version_info[:2] == (3, 11)"),
            range(11, Some(12))
        );
        assert_eq!(holds("not sys.version_info >= (3, 12)"), range(0, Some(12)));
        assert_eq!(
            holds("sys.version_info >= (3, 9) and sys.version_info < (3, 12)"),
            range(9, Some(12))
        );
        assert_eq!(
            holds("sys.version_info < (3, 9) or sys.version_info >= (3, 12)"),
            range(0, None)
        );
        assert_eq!(holds("sys.platform == 'win32'"), None);
        assert_eq!(holds("version_info >= (3, 12)"), None);
        assert_eq!(holds("sys.version_info >= (4, 0)"), None);
    }
}
