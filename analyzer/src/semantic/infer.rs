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
}

impl Value {
    pub(crate) fn external(&self) -> Option<&str> {
        match self {
            Value::External(name) => Some(name),
            _ => None,
        }
    }
}

/// What calling (and, if `awaited`, awaiting) a project function gives: its annotated return
/// class.
fn project_result(function: &crate::index::ProjectFunction<'_>, awaited: bool) -> Value {
    if function.is_async != awaited || function.is_generator || !function.plain {
        return Value::Unknown;
    }
    function.returns.map_or(Value::Unknown, |class| {
        Value::Instance(ClassRef::External(class.to_string()))
    })
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

/// The arguments of a subscript annotation (`X[a, b]`): the `subscript` fields of a
/// `subscript`, the types of a `generic_type`'s parameter list.
fn subscript_arguments(expr: Node<'_>) -> Vec<Node<'_>> {
    if expr.node_kind() == "generic_type" {
        return expr
            .named_child(1)
            .filter(|list| list.node_kind() == "type_parameter")
            .map_or_else(Vec::new, |list| list.named_children_vec());
    }
    let mut cursor = expr.walk();
    expr.children_by_field_name("subscript", &mut cursor)
        .collect()
}

/// The one member of a union that is not `None` (`X` of `X | None`, `Union[None, X]`).
fn without_none<'t>(members: impl IntoIterator<Item = Node<'t>>) -> Option<Node<'t>> {
    let is_none = |node: Node<'_>| {
        let node = node.unparenthesized();
        node.node_kind() == "none"
            || (node.node_kind() == "type"
                && node.named_child(0).is_some_and(|n| n.node_kind() == "none"))
    };
    let mut rest = members.into_iter().filter(|m| !is_none(*m));
    let only = rest.next()?;
    rest.next().is_none().then_some(only)
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
                let callee = self.infer_at(function, scope, known, depth);
                self.call_result(&callee, known, depth, false)
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

    /// The instance type an annotation describes: `Optional[X]`, `Union[X, None]` and
    /// `X | None` are `X` (`Optional` and `Union` from `typing` or `typing_extensions`, however
    /// imported).
    fn annotated(
        &self,
        annotation: Node<'t>,
        scope: ScopeId,
        known: &KnownApi,
        depth: Budget<'_>,
    ) -> Value {
        let mut expr = annotation;
        loop {
            expr = expr.unparenthesized();
            match expr.node_kind() {
                // `type` wraps every annotation and every argument of a `generic_type`.
                "type" => {
                    let Some(inner) = expr.named_child(0) else {
                        return Value::Unknown;
                    };
                    expr = inner;
                }
                "binary_operator" | "union_type" => {
                    let (Some(left), Some(right)) = (
                        expr.field("left").or_else(|| expr.named_child(0)),
                        expr.field("right").or_else(|| expr.named_child(1)),
                    ) else {
                        return Value::Unknown;
                    };
                    if expr.node_kind() == "binary_operator"
                        && expr.field("operator").map(|o| o.node_kind()) != Some("|")
                    {
                        return Value::Unknown;
                    }
                    let Some(only) = without_none([left, right]) else {
                        return Value::Unknown;
                    };
                    expr = only;
                }
                "subscript" | "generic_type" => {
                    let head = expr.field("value").or_else(|| expr.named_child(0));
                    let Some(head) = head else {
                        return Value::Unknown;
                    };
                    let arguments = subscript_arguments(expr);
                    let only = match self.infer_at(head, scope, known, depth).external() {
                        Some("typing.Optional" | "typing_extensions.Optional") => {
                            match arguments.as_slice() {
                                [argument] => Some(*argument),
                                _ => None,
                            }
                        }
                        Some("typing.Union" | "typing_extensions.Union") => without_none(arguments),
                        _ => None,
                    };
                    let Some(only) = only else {
                        return Value::Unknown;
                    };
                    expr = only;
                }
                _ => break,
            }
        }
        match self.infer_at(expr, scope, known, depth) {
            Value::Class(id) => Value::Instance(ClassRef::Local(id)),
            Value::External(name)
                if !name.starts_with("builtins.")
                    && !name.starts_with("typing.")
                    && !name.starts_with("typing_extensions.") =>
            {
                Value::Instance(ClassRef::External(name))
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
                    return Value::Instance(ClassRef::External(kind.to_string()));
                }
                Value::ExternalMethod {
                    class: class.clone(),
                    method: name.to_string(),
                }
            }
            _ => Value::Unknown,
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
    /// `@abstractmethod`, `@functools.wraps`-free caching...). Properties are attributes.
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
            )
        })
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
        agreed(
            bindings
                .iter()
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
        let from_returns = |returns: Option<Returns>| match returns {
            Some(Returns::Class(class)) => Value::Instance(ClassRef::External(class)),
            Some(Returns::Tuple(classes)) => Value::Tuple(
                classes
                    .into_iter()
                    .map(|c| Value::Instance(ClassRef::External(c)))
                    .collect(),
            ),
            None => Value::Unknown,
        };
        match callee {
            Value::Class(class) if !awaited => Value::Instance(ClassRef::Local(*class)),
            Value::External(name) => {
                if let Some(spec) = known.function(name) {
                    return if spec.coroutine == awaited {
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
        let Some(body) = info.node.field("body") else {
            return false;
        };
        let mut found = false;
        let mut stack = vec![body];
        while let Some(node) = stack.pop() {
            match node.node_kind() {
                "function_definition" | "class_definition" | "lambda" => {}
                "return_statement" => {
                    let value = node.named_child(0).map(|v| v.text(self.source));
                    if value != Some("self") {
                        return false;
                    }
                    found = true;
                }
                _ => stack.extend(node.named_children_vec()),
            }
        }
        found
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
