//! How the value of an expression is used: awaited, handed on, dropped, bound to a name, or
//! treated as a plain value. Shared by the rules about coroutines and tasks.

use tree_sitter::Node;

use crate::known::KnownApi;
use crate::semantic::{FunctionId, ScopeId, SemanticModel, Value};
use crate::syntax::NodeExt;

/// Builtins that never accept an awaitable in place of a value.
const VALUE_BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "int",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "print",
    "repr",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
];

/// Attributes that belong to coroutine objects themselves.
const COROUTINE_ATTRIBUTES: &[&str] = &[
    "send",
    "throw",
    "close",
    "cr_await",
    "cr_code",
    "cr_frame",
    "cr_running",
    "cr_origin",
    "cr_suspended",
    "__await__",
    "__class__",
    "__name__",
    "__qualname__",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Use<'t> {
    /// `await value`.
    Awaited,
    /// Passed to something that runs or schedules awaitables (`gather`, `create_task`, ...).
    Consumed,
    /// An expression statement: the value is thrown away.
    Dropped,
    /// `name = value`: the bound identifier.
    Bound(Node<'t>),
    /// Used as if it were a result; says how (`used as a condition`).
    AsValue(String),
    /// Returned, stored, collected, or passed somewhere unknown.
    Other,
}

/// The nearest ancestor that is not a parenthesis, and the child of it that contains `node`.
pub(crate) fn parent_skipping_parens(node: Node<'_>) -> (Option<Node<'_>>, Node<'_>) {
    let mut child = node;
    while let Some(parent) = child.parent() {
        if parent.node_kind() == "parenthesized_expression" && parent.named_child_count() == 1 {
            child = parent;
        } else {
            return (Some(parent), child);
        }
    }
    (None, child)
}

/// How the value of `node` (evaluated in `scope`) is used by its parent.
pub(crate) fn classify<'t>(
    model: &SemanticModel<'t>,
    known: &KnownApi,
    scope: ScopeId,
    node: Node<'t>,
) -> Use<'t> {
    use_of(model, known, scope, node, true)
}

/// [`classify`]; with `follow_calls`, a value passed to a function of this file is looked
/// for in that function (one level deep: not from there on).
fn use_of<'t>(
    model: &SemanticModel<'t>,
    known: &KnownApi,
    scope: ScopeId,
    node: Node<'t>,
    follow_calls: bool,
) -> Use<'t> {
    let (Some(parent), child) = parent_skipping_parens(node) else {
        return Use::Other;
    };
    let is_field = |field: &str| parent.field(field).is_some_and(|f| f.id() == child.id());
    let as_value = |how: &str| Use::AsValue(how.to_string());
    match parent.node_kind() {
        "await" => Use::Awaited,
        "expression_statement" => Use::Dropped,
        "argument_list" => parent.parent().map_or(Use::Other, |call| {
            argument_use(model, known, scope, call, child, follow_calls)
        }),
        "keyword_argument" if is_field("value") => parent
            .parent()
            .and_then(|list| list.parent())
            .map_or(Use::Other, |call| {
                argument_use(model, known, scope, call, parent, follow_calls)
            }),
        "if_statement" | "elif_clause" | "while_statement" if is_field("condition") => {
            as_value("used as a condition")
        }
        "conditional_expression" if parent.named_child(1).is_some_and(|c| c.id() == child.id()) => {
            as_value("used as a condition")
        }
        "if_clause" => as_value("used as a condition"),
        "augmented_assignment" if is_field("right") => as_value("used in an augmented assignment"),
        "assert_statement" => as_value("asserted, which is always true"),
        "not_operator" => as_value("negated with `not`"),
        "boolean_operator" => as_value("used in a boolean expression"),
        "comparison_operator" => as_value("compared"),
        "binary_operator" | "unary_operator" => as_value("used in an arithmetic expression"),
        "interpolation" => as_value("formatted into a string"),
        "subscript" if is_field("value") => as_value("subscripted"),
        "attribute" if is_field("object") => {
            let attribute = parent
                .field("attribute")
                .map_or("", |a| a.text(model.source));
            if COROUTINE_ATTRIBUTES.contains(&attribute) {
                Use::Other
            } else {
                Use::AsValue(format!("used through its attribute `.{attribute}`"))
            }
        }
        "for_statement" | "for_in_clause" if is_field("right") => as_value("iterated over"),
        "assignment" if is_field("right") => match parent.field("left") {
            // `global x` / `nonlocal x`: stored in an outer variable, used who knows where.
            Some(left)
                if left.node_kind() == "identifier"
                    && model.declared_outer(scope, left.text(model.source)) =>
            {
                Use::Other
            }
            Some(left) if left.node_kind() == "identifier" => Use::Bound(left),
            Some(left)
                if matches!(
                    left.node_kind(),
                    "pattern_list" | "tuple_pattern" | "list_pattern"
                ) =>
            {
                as_value("unpacked")
            }
            _ => Use::Other,
        },
        _ => Use::Other,
    }
}

/// The use of a value passed as `argument` (a positional argument or a `keyword_argument`) to
/// `call`.
fn argument_use<'t>(
    model: &SemanticModel<'t>,
    known: &KnownApi,
    scope: ScopeId,
    call: Node<'t>,
    argument: Node<'t>,
    follow_calls: bool,
) -> Use<'t> {
    let Some(function) = call.field("function") else {
        return Use::Other;
    };
    match model.infer(function, scope, known) {
        Value::External(name) => {
            if known.function(&name).is_some_and(|f| f.consumes) {
                return Use::Consumed;
            }
            match name.strip_prefix("builtins.") {
                Some(builtin) if VALUE_BUILTINS.contains(&builtin) => {
                    Use::AsValue(format!("passed to `{builtin}()`"))
                }
                _ => Use::Other,
            }
        }
        Value::ExternalMethod { class, method } if known.method_consumes(&class, &method) => {
            Use::Consumed
        }
        Value::Function(function)
            if follow_calls && discards_argument(model, known, function, call, argument) =>
        {
            Use::AsValue(format!(
                "passed to `{}()`, which never awaits it",
                model.functions[function].name
            ))
        }
        _ => Use::Other,
    }
}

/// Whether `function`, a plain function of this file (not a method, undecorated, not a
/// generator), does nothing with the parameter `argument` is passed to in `call` but drop it or
/// use it as a plain value (`print(x)`, `if x:`): it never awaits, stores, returns or hands it
/// on. Unsure (a nested `def` that may capture it, a parameter rebound, an argument that cannot
/// be matched to one parameter) is `false`.
fn discards_argument<'t>(
    model: &SemanticModel<'t>,
    known: &KnownApi,
    function: FunctionId,
    call: Node<'t>,
    argument: Node<'t>,
) -> bool {
    let info = &model.functions[function];
    if info.class.is_some() || info.is_generator || !info.decorators.is_empty() {
        return false;
    }
    let Some(scope) = model.scope_opened_by(info.node) else {
        return false;
    };
    let Some(parameter) = parameter_for(model.source, info.node, call, argument) else {
        return false;
    };
    if model.binding_count(scope, parameter) != 1
        || model.declared_outer(scope, parameter)
        || defines_functions(info.node)
    {
        return false;
    }
    model
        .references_to(parameter, scope)
        .all(|(use_scope, reference)| {
            matches!(
                use_of(model, known, use_scope, reference, false),
                Use::Dropped | Use::AsValue(_)
            )
        })
}

/// Whether the body of `def` holds a nested `def` (whose body a focused model may not have
/// walked, and which may keep a parameter alive).
fn defines_functions(def: Node<'_>) -> bool {
    let mut stack: Vec<Node<'_>> = def.field("body").into_iter().collect();
    while let Some(node) = stack.pop() {
        if node.node_kind() == "function_definition" {
            return true;
        }
        stack.extend(node.named_children_vec());
    }
    false
}

/// The name of the parameter of `def` that `argument` (a positional argument or a
/// `keyword_argument` of `call`) binds; `None` when that cannot be told for sure: a `*args` or
/// `**kwargs` splat at or before it, no matching parameter, or a parameter list this does not
/// know.
fn parameter_for<'t>(
    source: &'t str,
    def: Node<'t>,
    call: Node<'t>,
    argument: Node<'t>,
) -> Option<&'t str> {
    // (name, may be passed by position, may be passed by keyword)
    let mut slots: Vec<(&'t str, bool, bool)> = Vec::new();
    let mut by_position = true;
    for parameter in def.field("parameters")?.named_children_vec() {
        let name = match parameter.node_kind() {
            "identifier" => Some(parameter),
            "typed_parameter" => parameter
                .named_child(0)
                .filter(|name| name.node_kind() == "identifier"),
            "default_parameter" | "typed_default_parameter" => Some(
                parameter
                    .field("name")
                    .filter(|name| name.node_kind() == "identifier")?,
            ),
            "positional_separator" => {
                for slot in &mut slots {
                    slot.2 = false;
                }
                None
            }
            "keyword_separator" | "list_splat_pattern" => {
                by_position = false;
                None
            }
            "comment" | "dictionary_splat_pattern" => None,
            _ => return None,
        };
        if parameter.node_kind() == "typed_parameter" && name.is_none() {
            // `*args: T` ends the positional parameters; `**kwargs: T` takes the rest.
            if parameter
                .named_child(0)
                .is_some_and(|p| p.node_kind() == "list_splat_pattern")
            {
                by_position = false;
            }
            continue;
        }
        if let Some(name) = name {
            slots.push((name.text(source), by_position, true));
        }
    }
    if argument.node_kind() == "keyword_argument" {
        let keyword = argument.field("name")?.text(source);
        return slots
            .iter()
            .find(|(name, _, by_keyword)| *name == keyword && *by_keyword)
            .map(|(name, _, _)| *name);
    }
    let mut index = 0;
    for passed in call.field("arguments")?.named_children_vec() {
        match passed.node_kind() {
            "list_splat" | "dictionary_splat" => return None,
            _ if passed.id() == argument.id() => break,
            "keyword_argument" | "comment" => {}
            _ => index += 1,
        }
    }
    slots
        .iter()
        .filter(|(_, by_position, _)| *by_position)
        .nth(index)
        .map(|(name, _, _)| *name)
}

/// Every name an assignment chain binds its value to, innermost first: for `a = b = value`,
/// `target` is `b` (what [`classify`] gives for `value`) and the chain is `[b, a]`. `None` when
/// an outer target is not a plain local name (an attribute, a subscript, a pattern, a name
/// declared `global`/`nonlocal`): the value is stored or unpacked there.
pub(crate) fn chained_targets<'t>(
    model: &SemanticModel<'t>,
    scope: ScopeId,
    target: Node<'t>,
) -> Option<Vec<Node<'t>>> {
    let mut targets = vec![target];
    let mut assignment = target.parent()?;
    while let Some(outer) = assignment.parent().filter(|outer| {
        outer.node_kind() == "assignment"
            && outer
                .field("right")
                .is_some_and(|right| right.id() == assignment.id())
    }) {
        let left = outer.field("left")?;
        if left.node_kind() != "identifier" || model.declared_outer(scope, left.text(model.source))
        {
            return None;
        }
        targets.push(left);
        assignment = outer;
    }
    Some(targets)
}

/// How the value bound to `name` in `scope` is used afterwards, summarised: `None` when any use
/// could be legitimate (awaited, handed on, stored...), else the first value-like use with its
/// node, or `Some((None, ..))` when the name is never read at all.
pub(crate) fn bound_value_misuse<'t>(
    model: &SemanticModel<'t>,
    known: &KnownApi,
    scope: ScopeId,
    name: Node<'t>,
) -> Option<(Option<Node<'t>>, String)> {
    let text = name.text(model.source);
    if model.binding_count(scope, text) != 1 {
        return None;
    }
    let mut first_misuse = None;
    for (use_scope, reference) in model.references_to(text, scope) {
        match classify(model, known, use_scope, reference) {
            Use::AsValue(how) => {
                if first_misuse.is_none() {
                    first_misuse = Some((Some(reference), how));
                }
            }
            _ => return None,
        }
    }
    Some(first_misuse.unwrap_or((None, String::new())))
}
