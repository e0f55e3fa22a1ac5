//! The data of the semantic model and name lookup.

use std::cell::RefCell;

use crate::syntax::NodeExt;
use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use super::Value;
use super::builtins::is_builtin;
use super::outline::Outline;
use crate::index::Lookups;

pub(crate) type ScopeId = usize;
pub(crate) type FunctionId = usize;
pub(crate) type ClassId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Module,
    Class(ClassId),
    Function(FunctionId),
    Lambda,
    /// A list/set/dict comprehension or generator expression.
    Comprehension {
        generator: bool,
    },
}

#[derive(Debug)]
pub(crate) struct Scope<'t> {
    pub kind: ScopeKind,
    pub parent: Option<ScopeId>,
    pub bindings: FxHashMap<&'t str, Vec<Binding<'t>>>,
    pub globals: FxHashSet<&'t str>,
    pub nonlocals: FxHashSet<&'t str>,
    /// `from m import *` in this scope: unknown names may come from anywhere.
    pub star_import: bool,
}

/// One place where a name is bound.
#[derive(Clone, Debug)]
pub(crate) struct Binding<'t> {
    pub kind: BindingKind<'t>,
    /// Inside an `if`/`try`/loop/`with`/`match` of its scope: may or may not have run.
    pub conditional: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum BindingKind<'t> {
    /// `import a.b as c` binds `c` to `a.b`; `from a import b` binds `b` to `a.b`. Relative
    /// imports keep their leading dots.
    Import(String),
    Function(FunctionId),
    Class(ClassId),
    /// `x = value`, `x: T = value`, `x: T`, `(x := value)`.
    Assignment {
        value: Option<Node<'t>>,
        annotation: Option<Node<'t>>,
    },
    /// `a, b = value`: element `index` of `value`.
    Unpacked {
        value: Node<'t>,
        index: usize,
    },
    Parameter {
        function: Option<FunctionId>,
        index: usize,
        annotation: Option<Node<'t>>,
    },
    /// `for x in value` (`index: None`) or `for a, b in value` (`index: Some(..)`): an element
    /// of `value`, or element `index` of that element.
    Iterated {
        value: Node<'t>,
        index: Option<usize>,
    },
    /// `with value as x` / `async with value as x`.
    WithItem {
        value: Node<'t>,
        is_async: bool,
    },
    /// `async for` targets, `except ... as e`, augmented assignment, match captures, ...
    Other,
}

#[derive(Debug)]
pub(crate) struct FunctionInfo<'t> {
    pub node: Node<'t>,
    pub name: &'t str,
    pub is_async: bool,
    /// Contains `yield` (an `async def` with `yield` is an async generator, not a coroutine).
    pub is_generator: bool,
    pub decorators: Vec<Node<'t>>,
    /// The class whose body defines this function directly.
    pub class: Option<ClassId>,
    /// The scope the `def` statement is in.
    pub parent_scope: ScopeId,
}

/// An attribute assigned on instances (`self.x = value` in a method) or in the class body.
#[derive(Clone, Debug)]
pub(crate) struct AttributeBinding<'t> {
    pub value: Option<Node<'t>>,
    pub annotation: Option<Node<'t>>,
    /// The scope `value` and `annotation` are evaluated in.
    pub scope: ScopeId,
}

#[derive(Debug)]
pub(crate) struct ClassInfo<'t> {
    pub name: &'t str,
    pub bases: Vec<Node<'t>>,
    pub parent_scope: ScopeId,
    pub methods: FxHashMap<&'t str, Vec<FunctionId>>,
    pub attributes: FxHashMap<&'t str, Vec<AttributeBinding<'t>>>,
}

/// The result of looking a name up from a scope.
pub(crate) enum Lookup<'m, 't> {
    Bound(ScopeId, &'m [Binding<'t>]),
    Builtin,
    Unknown,
}

#[derive(Debug)]
pub(crate) struct SemanticModel<'t> {
    pub source: &'t str,
    /// The module's dotted name (empty when unknown).
    pub module: String,
    pub is_package: bool,
    /// The rest of the project, for names imported from other modules.
    pub index: Lookups<'t>,
    pub scopes: Vec<Scope<'t>>,
    pub functions: Vec<FunctionInfo<'t>>,
    pub classes: Vec<ClassInfo<'t>>,
    /// Scope-opening node (by `Node::id`) to the scope it opens.
    pub(super) scope_nodes: FxHashMap<usize, ScopeId>,
    /// Every identifier read, by name, with the scope it is read in.
    pub(super) references: FxHashMap<&'t str, Vec<(ScopeId, Node<'t>)>>,
    /// What [`SemanticModel::infer`] found for an expression (by node id) in a scope: rules
    /// ask about the same callee and receivers many times. Cleared when the view of the
    /// project changes.
    pub(super) inferred: RefCell<FxHashMap<(usize, ScopeId), Value>>,
    /// How many decorator judgements are in progress (a decorator that decorates its own
    /// wrapper would otherwise be judged forever).
    pub(super) judging_decorators: std::cell::Cell<u32>,
    /// The nodes with children, for the rules and the summary (empty in a focused model).
    pub(crate) outline: Outline<'t>,
}

pub(crate) const MODULE_SCOPE: ScopeId = 0;

impl<'t> SemanticModel<'t> {
    /// Looks other modules up through `index` from now on.
    pub(crate) fn set_index(&mut self, index: Lookups<'t>) {
        self.index = index;
        self.inferred.get_mut().clear();
    }

    /// The scope opened by a `def`, `lambda`, `class` or comprehension node.
    pub(crate) fn scope_opened_by(&self, node: Node<'t>) -> Option<ScopeId> {
        self.scope_nodes.get(&node.id()).copied()
    }

    /// The scope that `child` (hanging under `field` of `parent`, which is in `parent_scope`)
    /// belongs to. Decorators, parameter defaults and annotations stay in the enclosing scope
    /// (the parameters' names are bound in the function's scope all the same), and so does the
    /// iterable of a comprehension's first `for`, which Python evaluates before entering it.
    pub(crate) fn child_scope(
        &self,
        parent: Node<'t>,
        parent_scope: ScopeId,
        field: Option<&str>,
    ) -> ScopeId {
        if parent.node_kind() == "for_in_clause"
            && field == Some("right")
            && matches!(
                self.scopes.get(parent_scope).map(|s| s.kind),
                Some(ScopeKind::Comprehension { .. })
            )
            && is_first_clause(parent)
        {
            return self.scopes[parent_scope].parent.unwrap_or(parent_scope);
        }
        let opens = match parent.node_kind() {
            "function_definition" | "lambda" | "class_definition" => field == Some("body"),
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => true,
            _ => false,
        };
        if opens {
            self.scope_opened_by(parent).unwrap_or(parent_scope)
        } else {
            parent_scope
        }
    }

    /// Looks `name` up from `scope` following Python's rules.
    pub(crate) fn lookup(&self, scope: ScopeId, name: &str) -> Lookup<'_, 't> {
        let mut current = scope;
        let mut first = true;
        loop {
            let Some(data) = self.scopes.get(current) else {
                return Lookup::Unknown;
            };
            if data.globals.contains(name) && current != MODULE_SCOPE {
                return self.lookup(MODULE_SCOPE, name);
            }
            let visible = first || !matches!(data.kind, ScopeKind::Class(_));
            if visible && !data.nonlocals.contains(name) {
                if let Some(bindings) = data.bindings.get(name) {
                    return Lookup::Bound(current, bindings);
                }
                if data.star_import {
                    return Lookup::Unknown;
                }
            }
            match data.parent {
                Some(parent) => current = parent,
                None => break,
            }
            first = false;
        }
        if is_builtin(name) {
            Lookup::Builtin
        } else {
            Lookup::Unknown
        }
    }

    /// Reads of `name` that resolve to its binding in `binding_scope`, wherever they occur
    /// (nested functions included).
    pub(crate) fn references_to<'m>(
        &'m self,
        name: &'m str,
        binding_scope: ScopeId,
    ) -> impl Iterator<Item = (ScopeId, Node<'t>)> + 'm {
        self.references.get(name).into_iter().flatten().copied().filter(move |&(scope, _)| {
            matches!(self.lookup(scope, name), Lookup::Bound(found, _) if found == binding_scope)
        })
    }

    /// The innermost `def` (sync or async) whose body contains `scope`, looking through
    /// comprehensions but not through lambdas or classes.
    pub(crate) fn enclosing_function(&self, scope: ScopeId) -> Option<FunctionId> {
        let mut current = scope;
        loop {
            match self.scopes.get(current)?.kind {
                ScopeKind::Function(id) => return Some(id),
                ScopeKind::Comprehension { .. } => current = self.scopes[current].parent?,
                _ => return None,
            }
        }
    }

    /// The `async def` whose body runs the code in `scope`, if that code runs as part of a
    /// coroutine: nested plain `def`s and lambdas are not the coroutine.
    pub(crate) fn enclosing_coroutine(&self, scope: ScopeId) -> Option<FunctionId> {
        self.enclosing_function(scope)
            .filter(|&id| self.functions[id].is_async)
    }

    /// Whether `scope` is inside a generator expression before reaching its function.
    pub(crate) fn in_generator_expression(&self, scope: ScopeId) -> bool {
        let mut current = Some(scope);
        while let Some(id) = current {
            match self.scopes[id].kind {
                ScopeKind::Comprehension { generator: true } => return true,
                ScopeKind::Comprehension { generator: false } => current = self.scopes[id].parent,
                _ => return false,
            }
        }
        false
    }

    /// Whether `scope` declares `name` `global` or `nonlocal`.
    pub(crate) fn declared_outer(&self, scope: ScopeId, name: &str) -> bool {
        self.scopes
            .get(scope)
            .is_some_and(|s| s.globals.contains(name) || s.nonlocals.contains(name))
    }

    /// The number of bindings of `name` in `scope` itself.
    pub(crate) fn binding_count(&self, scope: ScopeId, name: &str) -> usize {
        self.scopes
            .get(scope)
            .and_then(|s| s.bindings.get(name))
            .map_or(0, Vec::len)
    }
}

/// Whether `clause` is the first `for ... in` of its comprehension.
fn is_first_clause(clause: Node<'_>) -> bool {
    let mut sibling = clause.prev_named_sibling();
    while let Some(earlier) = sibling {
        if earlier.node_kind() == "for_in_clause" {
            return false;
        }
        sibling = earlier.prev_named_sibling();
    }
    true
}
