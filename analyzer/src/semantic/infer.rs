//! Light inference: what an expression refers to, as far as this file and the bundled API tables
//! can tell. Anything unsure is [`Value::Unknown`], and rules stay silent on it.

use std::cell::Cell;

use tree_sitter::Node;

use super::model::{BindingKind, ClassId, FunctionId, Lookup, ScopeId, ScopeKind, SemanticModel};
use crate::known::{Enter, KnownApi, Returns};
use crate::syntax::NodeExt;

/// How deep inference follows bindings before giving up (guards against cycles like `x = x.y`).
const MAX_DEPTH: u32 = 24;

/// How many steps one query may take in all: a name bound many times from itself
/// (`x = x.a(); x = x.b()`) would otherwise branch exponentially.
const MAX_STEPS: u32 = 400;

/// The depth of the current step and the steps left for the whole query.
#[derive(Clone, Copy)]
struct Budget<'a> {
    depth: u32,
    steps: &'a Cell<u32>,
}

impl Budget<'_> {
    /// One step deeper, or `None` when the query has gone too deep or too long.
    fn deeper(self) -> Option<Self> {
        let left = self.steps.get();
        if self.depth >= MAX_DEPTH || left == 0 {
            return None;
        }
        self.steps.set(left - 1);
        Some(Budget {
            depth: self.depth + 1,
            steps: self.steps,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClassRef {
    External(String),
    Local(ClassId),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Unknown,
    /// A module, function, class or attribute outside this file, by canonical dotted name
    /// (`builtins.print` for builtins).
    External(String),
    /// A function defined in this file (also a method looked up on its class).
    Function(FunctionId),
    /// A method of a class defined in this file, looked up on an instance.
    BoundMethod(FunctionId),
    /// A method looked up on an instance of an external class.
    ExternalMethod {
        class: String,
        method: String,
    },
    Class(ClassId),
    Instance(ClassRef),
    Tuple(Vec<Value>),
    /// A list, set, iterator or other homogeneous collection of this value (`list[Peer]`).
    Sequence(Box<Value>),
    /// A mapping from keys to values (`dict[str, Client]`).
    Mapping(Box<Value>, Box<Value>),
    /// `super()` in a method of this class of the file.
    Super(ClassId),
}

impl Value {
    pub(crate) fn external(&self) -> Option<&str> {
        match self {
            Value::External(name) => Some(name),
            _ => None,
        }
    }
}

/// What calling (and, if `awaited`, awaiting) a project function gives: a value of its
/// annotated return type (`-> Peer`, `-> list[Peer]`, `-> dict[str, Peer]`).
fn project_result(function: &crate::index::ProjectFunction<'_>, awaited: bool) -> Value {
    if function.is_async != awaited || function.is_generator || !function.plain {
        return Value::Unknown;
    }
    function
        .returns
        .map_or(Value::Unknown, crate::index::TypeSummary::value)
}

/// The value a bundled table's `returns` names.
fn from_returns(returns: Option<Returns>) -> Value {
    match returns {
        Some(Returns::Class(class)) => Value::Instance(ClassRef::External(class)),
        Some(Returns::Tuple(classes)) => Value::Tuple(
            classes
                .into_iter()
                .map(|c| Value::Instance(ClassRef::External(c)))
                .collect(),
        ),
        None => Value::Unknown,
    }
}

/// What iterating over `value` gives: the elements of a collection, the keys of a mapping.
fn element_of(value: Value) -> Value {
    match value {
        Value::Sequence(element) => *element,
        Value::Mapping(key, _) => *key,
        _ => Value::Unknown,
    }
}

/// What calling `method` on a collection gives (`values()`, `items()`, `get()`, `pop()`).
fn container_method(object: &Value, method: &str) -> Option<Value> {
    match (object, method) {
        (Value::Mapping(key, _), "keys") => Some(Value::Sequence(key.clone())),
        (Value::Mapping(_, value), "values") => Some(Value::Sequence(value.clone())),
        (Value::Mapping(key, value), "items") => {
            Some(Value::Sequence(Box::new(Value::Tuple(vec![
                (**key).clone(),
                (**value).clone(),
            ]))))
        }
        (Value::Mapping(_, value), "get" | "pop" | "setdefault") => Some((**value).clone()),
        (Value::Sequence(element), "pop") => Some((**element).clone()),
        (Value::Sequence(_) | Value::Mapping(..), "copy") => Some(object.clone()),
        (Value::Sequence(_) | Value::Mapping(..), _) => Some(Value::Unknown),
        _ => None,
    }
}

/// The value all of `values` agree on, evaluated lazily: `Unknown` at the first unknown or
/// disagreeing one.
fn agreed(mut values: impl Iterator<Item = Value>) -> Value {
    let Some(first) = values.next() else {
        return Value::Unknown;
    };
    if first == Value::Unknown {
        return first;
    }
    for value in values {
        if value != first {
            return Value::Unknown;
        }
    }
    first
}

/// `typing` wrappers whose first argument is the type (`Annotated[X, ...]`, `ClassVar[X]`).
const TRANSPARENT: &[&str] = &[
    "typing.Annotated",
    "typing.ClassVar",
    "typing.Final",
    "typing.Required",
    "typing.NotRequired",
    "typing.ReadOnly",
];

/// Generic collections whose one argument is the type of their elements.
const SEQUENCES: &[&str] = &[
    "builtins.list",
    "builtins.set",
    "builtins.frozenset",
    "typing.List",
    "typing.Set",
    "typing.FrozenSet",
    "typing.Sequence",
    "typing.MutableSequence",
    "typing.Iterable",
    "typing.Iterator",
    "typing.Collection",
    "typing.AbstractSet",
    "typing.MutableSet",
    "typing.Deque",
    "collections.deque",
    "collections.abc.Sequence",
    "collections.abc.MutableSequence",
    "collections.abc.Iterable",
    "collections.abc.Iterator",
    "collections.abc.Collection",
    "collections.abc.Set",
    "collections.abc.MutableSet",
];

/// Generic mappings: keys, then values.
const MAPPINGS: &[&str] = &[
    "builtins.dict",
    "typing.Dict",
    "typing.Mapping",
    "typing.MutableMapping",
    "typing.DefaultDict",
    "typing.OrderedDict",
    "collections.defaultdict",
    "collections.OrderedDict",
    "collections.abc.Mapping",
    "collections.abc.MutableMapping",
];

/// Decorators that cache what the function returns: on an `async def`, a coroutine.
const CACHING_DECORATORS: &[&str] = &[
    "functools.lru_cache",
    "functools.cache",
    "async_lru.alru_cache",
];

/// What a project function does as a decorator of an `async def`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub(crate) enum Wrapper {
    /// Nothing known: the decorated function may become anything.
    #[default]
    None,
    /// Returns an `async def` wrapper: the decorated function stays a coroutine function.
    Decorator,
    /// Returns such decorators (`@retry(times=3)`).
    Factory,
}

/// How deeply nested an annotation may be before it is unknown (`list[list[...]]`).
const MAX_TYPE_NESTING: u32 = 16;

/// An annotation, from the syntax tree or from the text of a string annotation.
#[derive(Debug)]
enum TypeExpr<'t> {
    /// A name or attribute of the tree.
    Expr(Node<'t>),
    /// A dotted name written in a string annotation.
    Dotted(Vec<&'t str>),
    None,
    /// `head[arguments]`.
    Subscript(Box<TypeExpr<'t>>, Vec<TypeExpr<'t>>),
    /// `a | b | ...`.
    Union(Vec<TypeExpr<'t>>),
    /// `...`, literals and anything else.
    Other,
}

impl<'t> TypeExpr<'t> {
    fn of(node: Node<'t>, source: &'t str, nesting: u32) -> Self {
        if nesting > MAX_TYPE_NESTING {
            return TypeExpr::Other;
        }
        let node = node.unparenthesized();
        let of = |child: Option<Node<'t>>| {
            child.map_or(TypeExpr::Other, |c| TypeExpr::of(c, source, nesting + 1))
        };
        match node.node_kind() {
            // `type` wraps every annotation and every argument of a `generic_type`.
            "type" => of(node.named_child(0)),
            "none" => TypeExpr::None,
            "identifier" | "attribute" => TypeExpr::Expr(node),
            "string" => {
                let children = node.named_children_vec();
                let plain = node.text(source).starts_with(['"', '\''])
                    && children.iter().all(|c| {
                        matches!(
                            c.node_kind(),
                            "string_start" | "string_content" | "string_end"
                        )
                    });
                let content = children.iter().find(|c| c.node_kind() == "string_content");
                match content {
                    Some(content) if plain => TypeText::new(content.text(source))
                        .parse()
                        .unwrap_or(TypeExpr::Other),
                    _ => TypeExpr::Other,
                }
            }
            "binary_operator" if node.field("operator").map(|o| o.node_kind()) == Some("|") => {
                TypeExpr::Union(vec![of(node.field("left")), of(node.field("right"))])
            }
            "union_type" => TypeExpr::Union(
                node.named_children_vec()
                    .into_iter()
                    .map(|c| TypeExpr::of(c, source, nesting + 1))
                    .collect(),
            ),
            "subscript" => {
                let mut cursor = node.walk();
                let arguments = node
                    .children_by_field_name("subscript", &mut cursor)
                    .map(|c| TypeExpr::of(c, source, nesting + 1))
                    .collect();
                TypeExpr::Subscript(Box::new(of(node.field("value"))), arguments)
            }
            "generic_type" => {
                let arguments = node
                    .named_child(1)
                    .filter(|list| list.node_kind() == "type_parameter")
                    .map_or_else(Vec::new, |list| list.named_children_vec())
                    .into_iter()
                    .map(|c| TypeExpr::of(c, source, nesting + 1))
                    .collect();
                TypeExpr::Subscript(Box::new(of(node.named_child(0))), arguments)
            }
            _ => TypeExpr::Other,
        }
    }
}

/// A string annotation's text, read as a type: dotted names, `None`, `...`, subscripts and
/// `|` unions. Anything else does not parse (and the annotation is unknown).
struct TypeText<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> TypeText<'t> {
    fn new(text: &'t str) -> Self {
        Self { text, at: 0 }
    }

    fn parse(mut self) -> Option<TypeExpr<'t>> {
        let expr = self.union(0)?;
        self.skip_spaces();
        (self.at == self.text.len()).then_some(expr)
    }

    fn skip_spaces(&mut self) {
        let rest = &self.text[self.at..];
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_spaces();
        if self.text[self.at..].starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn union(&mut self, nesting: u32) -> Option<TypeExpr<'t>> {
        let mut members = vec![self.primary(nesting)?];
        while self.eat("|") {
            members.push(self.primary(nesting)?);
        }
        Some(if members.len() == 1 {
            members.pop()?
        } else {
            TypeExpr::Union(members)
        })
    }

    fn primary(&mut self, nesting: u32) -> Option<TypeExpr<'t>> {
        if nesting > MAX_TYPE_NESTING {
            return None;
        }
        if self.eat("...") {
            return Some(TypeExpr::Other);
        }
        let mut parts = vec![self.identifier()?];
        while self.eat(".") {
            parts.push(self.identifier()?);
        }
        let head = if parts == ["None"] {
            TypeExpr::None
        } else {
            TypeExpr::Dotted(parts)
        };
        if !self.eat("[") {
            return Some(head);
        }
        let mut arguments = vec![self.union(nesting + 1)?];
        while self.eat(",") {
            arguments.push(self.union(nesting + 1)?);
        }
        self.eat("]")
            .then(|| TypeExpr::Subscript(Box::new(head), arguments))
    }

    fn identifier(&mut self) -> Option<&'t str> {
        self.skip_spaces();
        let rest = &self.text[self.at..];
        let end = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(i, _)| i);
        let name = &rest[..end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        self.at += end;
        Some(name)
    }
}

/// The members of a union that are not `None`.
fn without_none<'a, 't>(members: &'a [TypeExpr<'t>]) -> Vec<&'a TypeExpr<'t>> {
    members
        .iter()
        .filter(|m| !matches!(m, TypeExpr::None))
        .collect()
}

impl<'t> SemanticModel<'t> {
    /// What `expr`, evaluated in `scope`, refers to.
    /// Each query starts with a fresh budget, so its answer depends on the expression and
    /// the scope alone and is remembered.
    pub(crate) fn infer(&self, expr: Node<'t>, scope: ScopeId, known: &KnownApi) -> Value {
        let key = (expr.id(), scope);
        if let Some(value) = self.inferred.borrow().get(&key) {
            return value.clone();
        }
        let steps = Cell::new(MAX_STEPS);
        let value = self.infer_at(
            expr,
            scope,
            known,
            Budget {
                depth: 0,
                steps: &steps,
            },
        );
        self.inferred.borrow_mut().insert(key, value.clone());
        value
    }

    fn infer_at(
        &self,
        expr: Node<'t>,
        scope: ScopeId,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        let Some(depth) = depth.deeper() else {
            return Value::Unknown;
        };
        match expr.node_kind() {
            "identifier" => self.infer_name(expr.text(self.source), scope, known, depth),
            "parenthesized_expression" => {
                let inner = expr.unparenthesized();
                if inner.id() == expr.id() {
                    Value::Unknown
                } else {
                    self.infer_at(inner, scope, known, depth)
                }
            }
            "attribute" => {
                let (Some(object), Some(attribute)) =
                    (expr.field("object"), expr.field("attribute"))
                else {
                    return Value::Unknown;
                };
                let object = self.infer_at(object, scope, known, depth);
                self.member(&object, attribute.text(self.source), known, depth)
            }
            "call" => {
                let Some(function) = expr.field("function") else {
                    return Value::Unknown;
                };
                if function.node_kind() == "attribute"
                    && let (Some(object), Some(method)) =
                        (function.field("object"), function.field("attribute"))
                {
                    let object = self.infer_at(object, scope, known, depth);
                    if let Some(result) = container_method(&object, method.text(self.source)) {
                        return result;
                    }
                    let callee = self.member(&object, method.text(self.source), known, depth);
                    return self.call_result(&callee, known, depth, false);
                }
                let callee = self.infer_at(function, scope, known, depth);
                if let Value::External(name) = &callee
                    && let Some(builtin) = name.strip_prefix("builtins.")
                {
                    return self.builtin_call(builtin, expr, scope, known, depth);
                }
                self.call_result(&callee, known, depth, false)
            }
            "subscript" => {
                let Some(value) = expr.field("value") else {
                    return Value::Unknown;
                };
                let mut cursor = expr.walk();
                let indices: Vec<Node<'t>> = expr
                    .children_by_field_name("subscript", &mut cursor)
                    .collect();
                let [index] = indices.as_slice() else {
                    return Value::Unknown;
                };
                match self.infer_at(value, scope, known, depth) {
                    Value::Sequence(element) if index.node_kind() == "slice" => {
                        Value::Sequence(element)
                    }
                    Value::Sequence(element) => *element,
                    Value::Mapping(_, value) => *value,
                    Value::Tuple(items) => index
                        .text(self.source)
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| items.get(i).cloned())
                        .unwrap_or(Value::Unknown),
                    _ => Value::Unknown,
                }
            }
            "binary_operator" => {
                // `root / "state.json"` is a path when `root` is one.
                let (Some(left), Some(right)) = (expr.field("left"), expr.field("right")) else {
                    return Value::Unknown;
                };
                if expr.field("operator").map(|o| o.node_kind()) != Some("/") {
                    return Value::Unknown;
                }
                let divided = |value: Value| match value {
                    Value::Instance(ClassRef::External(class)) => known
                        .truediv(&class)
                        .map_or(Value::Unknown, |c| Value::Instance(ClassRef::External(c))),
                    _ => Value::Unknown,
                };
                match divided(self.infer_at(left, scope, known, depth)) {
                    // `"a" / path` is a path too (`__rtruediv__`).
                    Value::Unknown
                        if matches!(left.node_kind(), "string" | "concatenated_string") =>
                    {
                        divided(self.infer_at(right, scope, known, depth))
                    }
                    value => value,
                }
            }
            "await" => {
                let Some(call) = expr.named_child(0).map(NodeExt::unparenthesized) else {
                    return Value::Unknown;
                };
                if call.node_kind() != "call" {
                    return Value::Unknown;
                }
                let Some(function) = call.field("function") else {
                    return Value::Unknown;
                };
                let callee = self.infer_at(function, scope, known, depth);
                self.call_result(&callee, known, depth, true)
            }
            _ => Value::Unknown,
        }
    }

    fn infer_name(&self, name: &str, scope: ScopeId, known: &KnownApi, depth: Budget<'_>) -> Value {
        match self.lookup(scope, name) {
            Lookup::Builtin => Value::External(format!("builtins.{name}")),
            Lookup::Unknown => Value::Unknown,
            Lookup::Bound(found, bindings) => {
                // Seen from an inner scope, unconditional rebinding leaves the last value.
                let candidates = if bindings.len() > 1
                    && found != scope
                    && bindings.iter().all(|b| !b.conditional)
                {
                    &bindings[bindings.len() - 1..]
                } else {
                    bindings
                };
                agreed(
                    candidates
                        .iter()
                        .map(|b| self.binding_value(&b.kind, found, known, depth)),
                )
            }
        }
    }

    fn binding_value(
        &self,
        kind: &BindingKind<'t>,
        scope: ScopeId,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        match kind {
            BindingKind::Import(name) if !name.starts_with('.') => {
                Value::External(KnownApi::canonical(name).into_owned())
            }
            BindingKind::Function(id) => Value::Function(*id),
            BindingKind::Class(id) => Value::Class(*id),
            BindingKind::Assignment { value, annotation } => match (annotation, value) {
                (Some(annotation), _) => self.annotated(*annotation, scope, known, depth),
                (None, Some(value)) => self.infer_at(*value, scope, known, depth),
                (None, None) => Value::Unknown,
            },
            BindingKind::Unpacked { value, index } => {
                match self.infer_at(*value, scope, known, depth) {
                    Value::Tuple(items) => items.get(*index).cloned().unwrap_or(Value::Unknown),
                    _ => Value::Unknown,
                }
            }
            BindingKind::Iterated { value, index } => {
                let element = element_of(self.infer_at(*value, scope, known, depth));
                match (index, element) {
                    (None, element) => element,
                    (Some(index), Value::Tuple(items)) => {
                        items.get(*index).cloned().unwrap_or(Value::Unknown)
                    }
                    (Some(_), _) => Value::Unknown,
                }
            }
            BindingKind::Parameter {
                function,
                index,
                annotation,
            } => {
                if let Some(annotation) = annotation {
                    // Annotations are evaluated where the `def` is.
                    let outer = function.map_or(scope, |f| self.functions[f].parent_scope);
                    return self.annotated(*annotation, outer, known, depth);
                }
                self.implicit_first_parameter(*function, *index, known)
            }
            BindingKind::WithItem { value, is_async } => {
                // `async with session.get(url) as response`: a coroutine-like call used as an
                // async context manager yields its awaited result.
                if *is_async
                    && value.node_kind() == "call"
                    && let Some(function) = value.field("function")
                {
                    let callee = self.infer_at(function, scope, known, depth);
                    let awaited = self.call_result(&callee, known, depth, true);
                    if awaited != Value::Unknown {
                        return awaited;
                    }
                }
                let manager = self.infer_at(*value, scope, known, depth);
                self.entered(&manager, *is_async, known)
            }
            BindingKind::Import(_) | BindingKind::Other => Value::Unknown,
        }
    }

    /// `self` / `cls` of a method.
    fn implicit_first_parameter(
        &self,
        function: Option<FunctionId>,
        index: usize,
        known: &KnownApi,
    ) -> Value {
        let Some(info) = function.map(|f| &self.functions[f]) else {
            return Value::Unknown;
        };
        let Some(class) = info.class.filter(|_| index == 0) else {
            return Value::Unknown;
        };
        let decorated = |name: &str| {
            info.decorators.iter().any(|d| {
                self.infer(*d, info.parent_scope, known).external()
                    == Some(&format!("builtins.{name}"))
            })
        };
        if decorated("staticmethod") {
            Value::Unknown
        } else if decorated("classmethod")
            || info.name == "__new__"
            || info.name == "__init_subclass__"
        {
            Value::Class(class)
        } else {
            Value::Instance(ClassRef::Local(class))
        }
    }

    /// The value an annotation describes: the instance of a class (`Optional[X]`,
    /// `Union[X, None]` and `X | None` are `X`; a generic class's arguments are ignored,
    /// `asyncio.Queue[int]` is a `Queue`), collections of them (`list[Peer]`,
    /// `dict[str, Client]`, `tuple[A, B]`), and the same written as a string
    /// (`"asyncio.StreamReader"`). Names from `typing` or `typing_extensions` are recognised
    /// however imported.
    fn annotated(
        &self,
        annotation: Node<'t>,
        scope: ScopeId,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        let expr = TypeExpr::of(annotation, self.source, 0);
        self.type_value(&expr, scope, known, depth)
    }

    fn type_value(
        &self,
        expr: &TypeExpr<'t>,
        scope: ScopeId,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        let Some(depth) = depth.deeper() else {
            return Value::Unknown;
        };
        let instance = |head: Value| match head {
            Value::Class(id) => Value::Instance(ClassRef::Local(id)),
            Value::External(name)
                if known.class(&name).is_some()
                    || (!name.starts_with("builtins.")
                        && !name.starts_with("typing.")
                        && !name.starts_with("typing_extensions.")) =>
            {
                Value::Instance(ClassRef::External(name))
            }
            _ => Value::Unknown,
        };
        match expr {
            TypeExpr::None | TypeExpr::Other => Value::Unknown,
            TypeExpr::Union(members) => match without_none(members).as_slice() {
                [only] => self.type_value(only, scope, known, depth),
                _ => Value::Unknown,
            },
            TypeExpr::Expr(_) | TypeExpr::Dotted(_) => {
                instance(self.type_name(expr, scope, known, depth))
            }
            TypeExpr::Subscript(head, arguments) => {
                let head = self.type_name(head, scope, known, depth);
                let typing = head.external().map(|name| {
                    name.strip_prefix("typing_extensions.")
                        .map_or_else(|| name.to_string(), |rest| format!("typing.{rest}"))
                });
                let argument = |i: usize| {
                    arguments
                        .get(i)
                        .map_or(Value::Unknown, |a| self.type_value(a, scope, known, depth))
                };
                match (typing.as_deref(), arguments.as_slice()) {
                    (Some("typing.Optional"), [_]) => argument(0),
                    (Some("typing.Union"), members) => match without_none(members).as_slice() {
                        [only] => self.type_value(only, scope, known, depth),
                        _ => Value::Unknown,
                    },
                    (Some(wrapper), [_, ..]) if TRANSPARENT.contains(&wrapper) => argument(0),
                    (Some(sequence), [_]) if SEQUENCES.contains(&sequence) => {
                        Value::Sequence(Box::new(argument(0)))
                    }
                    (Some(mapping), [_, _]) if MAPPINGS.contains(&mapping) => {
                        Value::Mapping(Box::new(argument(0)), Box::new(argument(1)))
                    }
                    (Some("builtins.tuple" | "typing.Tuple"), [_, TypeExpr::Other]) => {
                        Value::Sequence(Box::new(argument(0)))
                    }
                    (Some("builtins.tuple" | "typing.Tuple"), items) => {
                        Value::Tuple((0..items.len()).map(argument).collect())
                    }
                    (Some("builtins.type" | "typing.Type"), [_]) => match argument(0) {
                        Value::Instance(ClassRef::Local(id)) => Value::Class(id),
                        _ => Value::Unknown,
                    },
                    (Some(name), _)
                        if name.starts_with("builtins.") || name.starts_with("typing.") =>
                    {
                        instance(head)
                    }
                    // A generic class: `asyncio.Queue[int]` is a `Queue`.
                    _ => instance(head),
                }
            }
        }
    }

    /// What the name of a type refers to: an expression of the tree, or the dotted name of a
    /// string annotation looked up from `scope`.
    fn type_name(
        &self,
        expr: &TypeExpr<'t>,
        scope: ScopeId,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        match expr {
            TypeExpr::Expr(node) => self.infer_at(*node, scope, known, depth),
            TypeExpr::Dotted(parts) => {
                let Some((first, rest)) = parts.split_first() else {
                    return Value::Unknown;
                };
                let mut value = self.infer_name(first, scope, known, depth);
                for part in rest {
                    value = self.member(&value, part, known, depth);
                }
                value
            }
            _ => Value::Unknown,
        }
    }

    /// What `object.name` is.
    fn member(&self, object: &Value, name: &str, known: &KnownApi, depth: Budget<'_>) -> Value {
        match object {
            Value::External(module) => {
                Value::External(KnownApi::canonical(&format!("{module}.{name}")).into_owned())
            }
            Value::Class(class) => self
                .class_method(*class, name)
                .map_or(Value::Unknown, Value::Function),
            Value::Instance(ClassRef::Local(class)) => {
                if let Some(method) = self.class_method(*class, name) {
                    return if self.is_plain_method(method, known) {
                        Value::BoundMethod(method)
                    } else {
                        Value::Unknown
                    };
                }
                let attribute = self.instance_attribute(*class, name, known, depth);
                if attribute != Value::Unknown {
                    return attribute;
                }
                self.inherited_member(*class, name, known)
            }
            Value::Instance(ClassRef::External(class)) => {
                if self.index.class(class).is_some()
                    && self.index.method(class, name).is_none()
                    && let Some(kind) = self.index.attribute(class, name)
                {
                    return kind.value();
                }
                if let Some(property) = known.property(class, name) {
                    return from_returns(Some(property));
                }
                Value::ExternalMethod {
                    class: class.clone(),
                    method: name.to_string(),
                }
            }
            Value::Super(class) => self.super_member(*class, name, known),
            _ => Value::Unknown,
        }
    }

    /// `super().name` in a method of `class`: looked up on its one base (with several bases
    /// the next class in the MRO depends on the instance's class, so it is not guessed).
    fn super_member(&self, class: ClassId, name: &str, known: &KnownApi) -> Value {
        let info = &self.classes[class];
        let [base] = info.bases.as_slice() else {
            return Value::Unknown;
        };
        match self.infer(*base, info.parent_scope, known) {
            Value::Class(base) => match self.class_method(base, name) {
                Some(method) if self.is_plain_method(method, known) => Value::BoundMethod(method),
                _ => Value::Unknown,
            },
            Value::External(base) if base != "builtins.object" => Value::ExternalMethod {
                class: base,
                method: name.to_string(),
            },
            _ => Value::Unknown,
        }
    }

    /// What calling the builtin `name` in `call` gives: collections of what the arguments hold
    /// (`enumerate`, `zip`, `list`, `sorted`, ...), `super()` in a method.
    fn builtin_call(
        &self,
        name: &str,
        call: Node<'t>,
        scope: ScopeId,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        let Some(arguments) = call
            .field("arguments")
            .filter(|a| a.node_kind() == "argument_list")
        else {
            return Value::Unknown;
        };
        let arguments = arguments.named_children_vec();
        let positional = || {
            // The elements of each positional argument (keywords such as `key=` or
            // `strict=` change none); unknown with a splat.
            arguments
                .iter()
                .filter(|a| !matches!(a.node_kind(), "comment" | "keyword_argument"))
                .map(|a| {
                    (!matches!(a.node_kind(), "list_splat" | "dictionary_splat"))
                        .then(|| element_of(self.infer_at(*a, scope, known, depth)))
                })
                .collect::<Option<Vec<Value>>>()
        };
        match name {
            "super" if arguments.is_empty() => self
                .enclosing_function(scope)
                .and_then(|f| self.functions[f].class)
                .map_or(Value::Unknown, Value::Super),
            "enumerate" => match positional().as_deref() {
                Some([element] | [element, _]) => Value::Sequence(Box::new(Value::Tuple(vec![
                    Value::Unknown,
                    element.clone(),
                ]))),
                _ => Value::Unknown,
            },
            "zip" => match positional() {
                Some(elements) if !elements.is_empty() => {
                    Value::Sequence(Box::new(Value::Tuple(elements)))
                }
                _ => Value::Unknown,
            },
            "list" | "tuple" | "set" | "frozenset" | "sorted" | "reversed" | "iter" => {
                match positional().as_deref() {
                    Some([element]) => Value::Sequence(Box::new(element.clone())),
                    _ => Value::Unknown,
                }
            }
            _ => self.call_result(
                &Value::External(format!("builtins.{name}")),
                known,
                depth,
                false,
            ),
        }
    }

    /// `name` on an instance of a class of this file that does not define it itself: looked up
    /// on the class's bases from other modules (the project index or the bundled API tables).
    fn inherited_member(&self, class: ClassId, name: &str, known: &KnownApi) -> Value {
        let info = &self.classes[class];
        if info.methods.contains_key(name) || info.attributes.contains_key(name) {
            return Value::Unknown;
        }
        let mut found = None;
        for base in &info.bases {
            match self.infer(*base, info.parent_scope, known) {
                Value::External(base) if base == "builtins.object" => {}
                Value::External(base) => {
                    let defines = self.index.method(&base, name).is_some()
                        || known.is_coroutine_method(&base, name)
                        || known.is_blocking_method(&base, name);
                    if defines && found.is_none() {
                        found = Some(Value::ExternalMethod {
                            class: base,
                            method: name.to_string(),
                        });
                    }
                }
                // A base of this file: `class_method` already searched it (or gave up).
                _ => return Value::Unknown,
            }
        }
        found.unwrap_or(Value::Unknown)
    }

    /// A method of `class` or of its bases defined in this file (first match in a simple
    /// depth-first MRO). `None` when a base is not from this file and could define it.
    pub(crate) fn class_method(&self, class: ClassId, name: &str) -> Option<FunctionId> {
        let mut stack = vec![class];
        let mut visited = 0;
        while let Some(current) = stack.pop() {
            visited += 1;
            if visited > 32 {
                return None;
            }
            let info = &self.classes[current];
            if let Some(ids) = info.methods.get(name) {
                // Several `def`s of one name (overloads, properties' setters): take the last.
                return ids.last().copied();
            }
            if info.attributes.contains_key(name) {
                return None;
            }
            for base in info.bases.iter().rev() {
                match self.infer(*base, info.parent_scope, KnownApi::get()) {
                    Value::Class(id) => stack.push(id),
                    Value::External(name) if name == "builtins.object" => {}
                    _ => return None,
                }
            }
        }
        None
    }

    /// Methods whose decorators keep them plain callables (`@staticmethod`, `@classmethod`,
    /// `@abstractmethod`, `@override`...). Properties are attributes. On an `async def`, a
    /// decorator that keeps it a coroutine function does too: `functools.lru_cache`/`cache`
    /// (calling it still gives a coroutine), `functools.wraps(...)`, and a project decorator
    /// whose wrapper is an `async def` (or a factory of such decorators, `@retry(times=3)`).
    pub(crate) fn is_plain_method(&self, function: FunctionId, known: &KnownApi) -> bool {
        let info = &self.functions[function];
        info.decorators.iter().all(|decorator| {
            let value = self.infer(*decorator, info.parent_scope, known);
            matches!(
                value.external(),
                Some(
                    "builtins.staticmethod"
                        | "builtins.classmethod"
                        | "abc.abstractmethod"
                        | "typing.override"
                        | "typing_extensions.override"
                        | "typing.final"
                        | "typing_extensions.final"
                        | "typing.no_type_check"
                )
            ) || (info.is_async && self.keeps_coroutine(*decorator, info.parent_scope, known))
        })
    }

    /// Whether `decorator` (evaluated in `scope`), applied to an `async def`, gives a coroutine
    /// function again.
    fn keeps_coroutine(&self, decorator: Node<'t>, scope: ScopeId, known: &KnownApi) -> bool {
        let (callee, wanted) = match decorator.node_kind() {
            "call" => match decorator.field("function") {
                Some(function) => (self.infer(function, scope, known), Wrapper::Factory),
                None => return false,
            },
            _ => (self.infer(decorator, scope, known), Wrapper::Decorator),
        };
        match &callee {
            Value::External(name) if CACHING_DECORATORS.contains(&name.as_str()) => true,
            Value::External(name) if name == "functools.wraps" => wanted == Wrapper::Factory,
            Value::External(name) => self
                .index
                .function(name)
                .is_some_and(|f| f.wrapper == wanted),
            Value::Function(id) => self.wrapper_kind(*id, known) == wanted,
            _ => false,
        }
    }

    /// What kind of decorator the function `id` is, judged by what it returns: every `return`
    /// gives a function defined in its body, all `async def` (a decorator whose wrapper is a
    /// coroutine function) or all decorators of that kind (a factory of them).
    pub(crate) fn wrapper_kind(&self, id: FunctionId, known: &KnownApi) -> Wrapper {
        let judging = self.judging_decorators.get();
        if judging >= 4 {
            return Wrapper::None;
        }
        self.judging_decorators.set(judging + 1);
        let kind = self.judge_wrapper(id, known);
        self.judging_decorators.set(judging);
        kind
    }

    fn judge_wrapper(&self, id: FunctionId, known: &KnownApi) -> Wrapper {
        let Some(returned) = self.returned_functions(id) else {
            return Wrapper::None;
        };
        let coroutine = |f: FunctionId| {
            let info = &self.functions[f];
            info.is_async && !info.is_generator && self.is_plain_method(f, known)
        };
        if returned.iter().all(|&f| coroutine(f)) {
            return Wrapper::Decorator;
        }
        let decorator = |f: FunctionId| {
            let info = &self.functions[f];
            !info.is_async
                && info.decorators.is_empty()
                && self
                    .returned_functions(f)
                    .is_some_and(|inner| inner.iter().all(|&g| coroutine(g)))
        };
        if returned.iter().all(|&f| decorator(f)) {
            Wrapper::Factory
        } else {
            Wrapper::None
        }
    }

    /// The functions defined in the body of the plain function `id` that its `return`s give,
    /// when every `return` gives one by name (and there is at least one).
    fn returned_functions(&self, id: FunctionId) -> Option<Vec<FunctionId>> {
        let info = &self.functions[id];
        if info.is_async || info.is_generator {
            return None;
        }
        let scope = self.scope_opened_by(info.node)?;
        // Only a function defined in the body can be returned by name: without one, no need
        // to look for the `return`s (the summary asks this of every function).
        let defines_functions = self.scopes[scope]
            .bindings
            .values()
            .flatten()
            .any(|binding| matches!(binding.kind, BindingKind::Function(_)));
        if !defines_functions {
            return None;
        }
        let mut found = Vec::new();
        let mut stack = vec![info.node.field("body")?];
        while let Some(node) = stack.pop() {
            match node.node_kind() {
                "function_definition" | "class_definition" | "lambda" => {}
                "return_statement" => {
                    let name = node
                        .named_child(0)
                        .filter(|v| v.node_kind() == "identifier")?;
                    let bindings = self.scopes[scope].bindings.get(name.text(self.source))?;
                    let [binding] = bindings.as_slice() else {
                        return None;
                    };
                    let BindingKind::Function(function) = binding.kind else {
                        return None;
                    };
                    found.push(function);
                }
                _ => stack.extend(node.named_children_vec()),
            }
        }
        (!found.is_empty()).then_some(found)
    }

    fn instance_attribute(
        &self,
        class: ClassId,
        name: &str,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        let Some(bindings) = self.classes[class].attributes.get(name) else {
            return Value::Unknown;
        };
        // A declared type wins over the values assigned (`peers: list[Peer]` in the class body,
        // `self.peers = []` in `__init__`), as for a type checker.
        let declared = bindings.iter().any(|b| b.annotation.is_some());
        agreed(
            bindings
                .iter()
                .filter(|binding| !declared || binding.annotation.is_some())
                .map(|binding| match (binding.annotation, binding.value) {
                    (Some(annotation), _) => {
                        self.annotated(annotation, binding.scope, known, depth)
                    }
                    (None, Some(value)) => self.infer_at(value, binding.scope, known, depth),
                    (None, None) => Value::Unknown,
                }),
        )
    }

    /// What calling `callee` returns (`awaited`: what awaiting that result gives).
    fn call_result(
        &self,
        callee: &Value,
        known: &KnownApi,
        depth: Budget<'_>,
        awaited: bool,
    ) -> Value {
        match callee {
            Value::Class(class) if !awaited => Value::Instance(ClassRef::Local(*class)),
            Value::External(name) => {
                if let Some(spec) = known.function(name) {
                    return if spec.is_coroutine() == awaited {
                        from_returns(spec.returns.clone())
                    } else {
                        Value::Unknown
                    };
                }
                if known.class(name).is_some() && !awaited {
                    return Value::Instance(ClassRef::External(name.clone()));
                }
                if let Some(qualified) = self.index.class(name) {
                    return if awaited {
                        Value::Unknown
                    } else {
                        Value::Instance(ClassRef::External(qualified))
                    };
                }
                self.index
                    .function(name)
                    .map_or(Value::Unknown, |f| project_result(&f, awaited))
            }
            Value::ExternalMethod { class, method } => {
                if let Some(f) = self.index.method(class, method) {
                    return project_result(&f, awaited);
                }
                if known.is_coroutine_method(class, method) != awaited {
                    return Value::Unknown;
                }
                from_returns(known.method_returns(class, method))
            }
            Value::Function(id) | Value::BoundMethod(id) => {
                let info = &self.functions[*id];
                if info.is_async != awaited
                    || info.is_generator
                    || !self.is_plain_method(*id, known)
                {
                    return Value::Unknown;
                }
                info.node
                    .field("return_type")
                    .map_or(Value::Unknown, |annotation| {
                        self.annotated(annotation, info.parent_scope, known, depth)
                    })
            }
            _ => Value::Unknown,
        }
    }

    /// What `with manager as x` binds to `x`.
    fn entered(&self, manager: &Value, is_async: bool, known: &KnownApi) -> Value {
        match manager {
            Value::Instance(ClassRef::External(class)) => match known.enter(class, is_async) {
                Some(Enter::SelfInstance) => manager.clone(),
                Some(Enter::Class(class)) => Value::Instance(ClassRef::External(class)),
                Some(Enter::Nothing) | None => Value::Unknown,
            },
            Value::Instance(ClassRef::Local(class)) => {
                let method = if is_async { "__aenter__" } else { "__enter__" };
                let Some(enter) = self.class_method(*class, method) else {
                    return Value::Unknown;
                };
                if self.returns_self(enter) {
                    manager.clone()
                } else {
                    Value::Unknown
                }
            }
            _ => Value::Unknown,
        }
    }

    /// Whether every `return` of `function` is `return self`, and there is at least one.
    fn returns_self(&self, function: FunctionId) -> bool {
        let info = &self.functions[function];
        info.node.field("body").is_some_and(|body| {
            body.every_return(&mut |value| value.map(|v| v.text(self.source)) == Some("self"))
        })
    }
}

impl<'t> SemanticModel<'t> {
    /// What the bare name `name` refers to when read in `scope`.
    pub(crate) fn infer_name_from(&self, name: &str, scope: ScopeId, known: &KnownApi) -> Value {
        let steps = Cell::new(MAX_STEPS);
        self.infer_name(
            name,
            scope,
            known,
            Budget {
                depth: 0,
                steps: &steps,
            },
        )
    }

    /// Module-level names bound by importing `module` (`import asyncio as aio` gives `aio`).
    pub(crate) fn module_imports_of(&self, module: &str) -> Vec<&'t str> {
        let mut names: Vec<&'t str> = self.scopes[0]
            .bindings
            .iter()
            .filter(|(_, bindings)| {
                bindings
                    .iter()
                    .any(|b| matches!(&b.kind, BindingKind::Import(m) if m == module))
            })
            .map(|(name, _)| *name)
            .collect();
        names.sort_unstable();
        names
    }

    /// The class an annotation names, as an instance value.
    pub(crate) fn annotated_type(
        &self,
        annotation: Node<'t>,
        scope: ScopeId,
        known: &KnownApi,
    ) -> Value {
        let steps = Cell::new(MAX_STEPS);
        self.annotated(
            annotation,
            scope,
            known,
            Budget {
                depth: 0,
                steps: &steps,
            },
        )
    }

    /// The type of instance attribute `name` of a class of this file, as far as it is known.
    pub(crate) fn instance_attribute_type(
        &self,
        class: ClassId,
        name: &str,
        known: &KnownApi,
    ) -> Value {
        let steps = Cell::new(MAX_STEPS);
        self.instance_attribute(
            class,
            name,
            known,
            Budget {
                depth: 0,
                steps: &steps,
            },
        )
    }

    /// Every module-level name with what it refers to.
    pub(crate) fn module_bindings(&self, known: &KnownApi) -> Vec<(&'t str, Value)> {
        let mut names: Vec<&'t str> = self.scopes[0].bindings.keys().copied().collect();
        names.sort_unstable();
        names
            .into_iter()
            .map(|name| (name, self.infer_name_from(name, 0, known)))
            .collect()
    }

    /// Whether every module-level binding of `name` is an import.
    pub(crate) fn is_import(&self, name: &str) -> bool {
        self.scopes[0].bindings.get(name).is_some_and(|bindings| {
            bindings
                .iter()
                .all(|b| matches!(b.kind, BindingKind::Import(_)))
        })
    }

    /// A function's name within its module (`fetch`, `Client.fetch`, `main.<locals>.helper`);
    /// `None` inside lambdas and comprehensions.
    pub(crate) fn qualname(&self, function: FunctionId) -> Option<String> {
        let info = &self.functions[function];
        let mut parts = vec![info.name.to_string()];
        let mut scope = info.parent_scope;
        loop {
            match self.scopes[scope].kind {
                ScopeKind::Module => break,
                ScopeKind::Class(class) => {
                    parts.push(self.classes[class].name.to_string());
                    scope = self.classes[class].parent_scope;
                }
                ScopeKind::Function(outer) => {
                    parts.push("<locals>".to_string());
                    parts.push(self.functions[outer].name.to_string());
                    scope = self.functions[outer].parent_scope;
                }
                ScopeKind::Lambda | ScopeKind::Comprehension { .. } => return None,
            }
        }
        parts.reverse();
        Some(parts.join("."))
    }

    /// The absolute name of a module-level class of this file (`pkg.mod.Client`).
    pub(crate) fn class_qualname(&self, class: ClassId) -> Option<String> {
        let info = &self.classes[class];
        (info.parent_scope == 0 && !self.module.is_empty())
            .then(|| format!("{}.{}", self.module, info.name))
    }
}
