//! How control leaves a block of statements: whether it can run off its end, and which
//! `return`, `break`, `continue` and `raise` statements leave it. Shared by the cancellation
//! rule (every path out of a handler must re-raise) and the module summaries (a function whose
//! body always raises never returns).
//!
//! The analysis is structural (Python's statements, not a control-flow graph) and computed
//! bottom-up with an explicit stack, never by recursion on the Rust stack.

use rustc_hash::FxHashMap;
use tree_sitter::Node;

use crate::syntax::NodeExt;

/// What a statement (or block) can do besides raising.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Flow {
    /// It can complete normally: control goes on with the next statement.
    normal: bool,
    /// It can `break` out of the innermost loop around it.
    breaks: bool,
}

const NORMAL: Flow = Flow {
    normal: true,
    breaks: false,
};

/// A statement that leaves a block without completing it normally and without raising.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jump {
    Return,
    Break,
    Continue,
}

impl Jump {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Jump::Return => "return",
            Jump::Break => "break",
            Jump::Continue => "continue",
        }
    }
}

/// Whether `block` (a `block` node) can complete normally. `never_returns` tells whether the
/// call of an expression statement always raises (`sys.exit()`, a `NoReturn` function).
pub(crate) fn can_complete<'t>(
    block: Node<'t>,
    source: &str,
    never_returns: &dyn Fn(Node<'t>) -> bool,
) -> bool {
    flow(block, source, never_returns).normal
}

/// The `return` statements in `block`, and the `break`/`continue` statements that leave it (not
/// those of a loop inside it), in source order. Nested functions and classes are not looked at.
pub(crate) fn jumps_out(block: Node<'_>) -> Vec<(Node<'_>, Jump)> {
    let mut found = Vec::new();
    // (node, inside a loop of the block)
    let mut stack = vec![(block, false)];
    while let Some((node, in_loop)) = stack.pop() {
        match node.node_kind() {
            "return_statement" => found.push((node, Jump::Return)),
            "break_statement" if !in_loop => found.push((node, Jump::Break)),
            "continue_statement" if !in_loop => found.push((node, Jump::Continue)),
            "function_definition" | "class_definition" | "lambda" => {}
            "for_statement" | "while_statement" => {
                for child in node.named_children_vec() {
                    // A loop's `else` runs after it, outside it.
                    let inside = in_loop || child.node_kind() != "else_clause";
                    stack.push((child, inside));
                }
            }
            _ if is_statement_level(node) => {
                stack.extend(node.named_children_vec().into_iter().map(|c| (c, in_loop)));
            }
            _ => {}
        }
    }
    found.sort_by_key(|(node, _)| node.start_byte());
    found
}

/// The `raise` statements in `block` (nested functions and classes excluded), in source order.
pub(crate) fn raises(block: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![block];
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "raise_statement" => found.push(node),
            "function_definition" | "class_definition" | "lambda" => {}
            _ if is_statement_level(node) => stack.extend(node.named_children_vec()),
            _ => {}
        }
    }
    found.sort_by_key(Node::start_byte);
    found
}

/// Statements, blocks and clauses: the nodes the analysis descends into (expressions hold no
/// statements).
fn is_statement_level(node: Node<'_>) -> bool {
    let kind = node.node_kind();
    kind == "block"
        || kind == "module"
        || kind.ends_with("_statement")
        || (kind.ends_with("_clause") && kind != "with_clause" && kind != "for_in_clause")
}

/// The flow of `root`, computed bottom-up: children first, then each compound statement from
/// its parts.
fn flow<'t>(root: Node<'t>, source: &str, never_returns: &dyn Fn(Node<'t>) -> bool) -> Flow {
    let mut flows: FxHashMap<usize, Flow> = FxHashMap::default();
    let mut stack = vec![(root, false)];
    while let Some((node, expanded)) = stack.pop() {
        if !expanded {
            stack.push((node, true));
            if !matches!(
                node.node_kind(),
                "function_definition" | "class_definition" | "decorated_definition"
            ) {
                stack.extend(
                    node.named_children_vec()
                        .into_iter()
                        .filter(|c| is_statement_level(*c))
                        .map(|c| (c, false)),
                );
            }
            continue;
        }
        let of = |child: Option<Node<'t>>| {
            child.map_or(NORMAL, |c| flows.get(&c.id()).copied().unwrap_or(NORMAL))
        };
        let result = compute(node, source, &of, never_returns);
        flows.insert(node.id(), result);
    }
    flows.get(&root.id()).copied().unwrap_or(NORMAL)
}

/// The flow of one node from the flows of its parts (`of`).
fn compute<'t>(
    node: Node<'t>,
    source: &str,
    of: &dyn Fn(Option<Node<'t>>) -> Flow,
    never_returns: &dyn Fn(Node<'t>) -> bool,
) -> Flow {
    let children = || node.named_children_vec();
    let body_of = |node: Node<'t>| {
        node.field("body")
            .or_else(|| node.field("consequence"))
            .or_else(|| {
                node.named_children_vec()
                    .into_iter()
                    .find(|c| c.node_kind() == "block")
            })
    };
    match node.node_kind() {
        "block" | "module" => {
            let mut breaks = false;
            for statement in children() {
                let flow = of(Some(statement));
                breaks |= flow.breaks;
                if !flow.normal {
                    return Flow {
                        normal: false,
                        breaks,
                    };
                }
            }
            Flow {
                normal: true,
                breaks,
            }
        }
        "break_statement" => Flow {
            normal: false,
            breaks: true,
        },
        "continue_statement" | "return_statement" | "raise_statement" => Flow {
            normal: false,
            breaks: false,
        },
        "expression_statement" => {
            // `fail(...)` or `await fail(...)`.
            let call = node
                .named_child(0)
                .map(NodeExt::unparenthesized)
                .map(|e| match e.node_kind() {
                    "await" => e.named_child(0).map_or(e, NodeExt::unparenthesized),
                    _ => e,
                })
                .filter(|c| c.node_kind() == "call");
            Flow {
                normal: !call.is_some_and(never_returns),
                breaks: false,
            }
        }
        "if_statement" => {
            let mut flow = of(node.field("consequence"));
            let mut has_else = false;
            let mut cursor = node.walk();
            for alternative in node.children_by_field_name("alternative", &mut cursor) {
                has_else |= alternative.node_kind() == "else_clause";
                let branch = of(Some(alternative));
                flow.normal |= branch.normal;
                flow.breaks |= branch.breaks;
            }
            flow.normal |= !has_else;
            flow
        }
        "elif_clause"
        | "else_clause"
        | "except_clause"
        | "except_group_clause"
        | "finally_clause"
        | "case_clause" => of(body_of(node)),
        "while_statement" => {
            let infinite = node
                .field("condition")
                .is_some_and(|c| matches!(c.node_kind(), "true") || is_nonzero_integer(c, source));
            let body = of(node.field("body"));
            let otherwise = node.field("alternative").map_or(NORMAL, |e| of(Some(e)));
            Flow {
                normal: body.breaks || (!infinite && otherwise.normal),
                breaks: otherwise.breaks && !infinite,
            }
        }
        "for_statement" => {
            let body = of(node.field("body"));
            let otherwise = node.field("alternative").map_or(NORMAL, |e| of(Some(e)));
            Flow {
                normal: body.breaks || otherwise.normal,
                breaks: otherwise.breaks,
            }
        }
        "try_statement" => {
            let mut body = of(node.field("body"));
            let mut handlers = Flow {
                normal: false,
                breaks: false,
            };
            let mut finally = None;
            for part in children() {
                match part.node_kind() {
                    "except_clause" | "except_group_clause" => {
                        let flow = of(Some(part));
                        handlers.normal |= flow.normal;
                        handlers.breaks |= flow.breaks;
                    }
                    "else_clause" => {
                        let flow = of(Some(part));
                        body.breaks |= flow.breaks;
                        body.normal &= flow.normal;
                    }
                    "finally_clause" => finally = Some(of(Some(part))),
                    _ => {}
                }
            }
            let joined = Flow {
                normal: body.normal || handlers.normal,
                breaks: body.breaks || handlers.breaks,
            };
            match finally {
                Some(finally) if !finally.normal => finally,
                Some(finally) => Flow {
                    normal: joined.normal,
                    breaks: joined.breaks || finally.breaks,
                },
                None => joined,
            }
        }
        "with_statement" => of(node.field("body")),
        "match_statement" => {
            let cases: Vec<Node<'t>> = node
                .field("body")
                .map(|b| b.named_children_vec())
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.node_kind() == "case_clause")
                .collect();
            // `case _:` (or a bare capture) without a guard matches anything.
            let exhaustive = cases.iter().any(|case| {
                case.field("guard").is_none()
                    && case.named_children_vec().first().is_some_and(|pattern| {
                        pattern.node_kind() == "case_pattern" && {
                            let text = pattern.text(source);
                            text.starts_with(|c: char| c.is_alphabetic() || c == '_')
                                && text.chars().all(|c| c.is_alphanumeric() || c == '_')
                                && !matches!(text, "None" | "True" | "False")
                        }
                    })
            });
            let mut flow = Flow {
                normal: !exhaustive,
                breaks: false,
            };
            for case in cases {
                let case = of(Some(case));
                flow.normal |= case.normal;
                flow.breaks |= case.breaks;
            }
            flow
        }
        _ => NORMAL,
    }
}

/// `while 1:` (any integer literal but zero).
fn is_nonzero_integer(node: Node<'_>, source: &str) -> bool {
    node.node_kind() == "integer"
        && node
            .text(source)
            .chars()
            .any(|c| c.is_ascii_digit() && c != '0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParsedModule;

    /// The body of the first function of `source`, with `check` run on it.
    fn with_body<T>(source: &str, check: impl FnOnce(Node<'_>) -> T) -> T {
        let parsed = ParsedModule::parse(source).expect("parses");
        let function = parsed
            .root()
            .named_children_vec()
            .into_iter()
            .find(|n| n.node_kind() == "function_definition")
            .expect("a function");
        check(function.field("body").expect("a body"))
    }

    fn completes(source: &str) -> bool {
        let exits = |call: Node<'_>| {
            call.field("function")
                .is_some_and(|f| f.text(source) == "fail")
        };
        with_body(source, |body| can_complete(body, source, &exits))
    }

    #[test]
    fn which_blocks_can_complete() {
        assert!(completes("def f():\n    pass\n"));
        assert!(!completes("def f():\n    raise\n"));
        assert!(!completes("def f():\n    fail()\n"));
        assert!(!completes("def f():\n    await fail()\n"));
        assert!(completes("def f(x):\n    if x:\n        raise\n"));
        assert!(!completes(
            "def f(x):\n    if x:\n        raise\n    else:\n        return\n"
        ));
        assert!(completes(
            "def f(x):\n    if x:\n        raise\n    elif y:\n        return\n"
        ));
        assert!(!completes("def f():\n    while True:\n        pass\n"));
        assert!(completes("def f():\n    while True:\n        break\n"));
        assert!(!completes(
            "def f():\n    while 1:\n        for x in y:\n            break\n"
        ));
        assert!(completes("def f():\n    while 0:\n        pass\n"));
        assert!(completes("def f():\n    for x in y:\n        raise\n"));
        assert!(!completes(
            "def f():\n    for x in y:\n        pass\n    else:\n        raise\n"
        ));
        assert!(completes(
            "def f():\n    try:\n        raise\n    except E:\n        pass\n"
        ));
        assert!(!completes(
            "def f():\n    try:\n        pass\n    finally:\n        raise\n"
        ));
        assert!(!completes(
            "def f():\n    try:\n        raise\n    except E:\n        raise\n"
        ));
        assert!(!completes("def f():\n    with x:\n        raise\n"));
        assert!(!completes(
            "def f(x):\n    match x:\n        case 1:\n            raise\n        case _:\n            return\n"
        ));
        assert!(completes(
            "def f(x):\n    match x:\n        case 1:\n            raise\n"
        ));
        assert!(completes(
            "def f(x):\n    match x:\n        case None:\n            raise\n"
        ));
        assert!(completes("def f():\n    def g():\n        raise\n"));
    }

    #[test]
    fn jumps_that_leave_the_block() {
        let source = "def f():\n    for x in y:\n        break\n    else:\n        continue\n    while z:\n        continue\n    break\n    def g():\n        return\n    return\n";
        let found = with_body(source, |body| {
            jumps_out(body)
                .into_iter()
                .map(|(node, jump)| (node.start_position().row, jump))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            found,
            [(4, Jump::Continue), (7, Jump::Break), (10, Jump::Return)]
        );
    }
}
