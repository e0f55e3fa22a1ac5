//! Builds the [`SemanticModel`] in one cursor walk over the tree.

use std::cell::RefCell;

use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use super::focus::Focus;
use super::model::{
    AttributeBinding, Binding, BindingKind, ClassId, ClassInfo, FunctionId, FunctionInfo,
    MODULE_SCOPE, Scope, ScopeId, ScopeKind, SemanticModel,
};
use super::outline::Outline;
use crate::index::{Lookups, ModuleName, ProjectIndex};
use crate::syntax::NodeExt;
use crate::syntax::walk::{Descend, Visit, Visitor, walk, walk_spliced};

/// Statements whose bodies may or may not run.
const BRANCHES: &[&str] = &[
    "if_statement",
    "for_statement",
    "while_statement",
    "try_statement",
    "with_statement",
    "match_statement",
    "conditional_expression",
];

impl<'t> SemanticModel<'t> {
    /// The model of a file analysed on its own (no module name, no project index).
    pub(crate) fn build(root: Node<'t>, source: &'t str) -> Self {
        Self::build_in(root, source, &ModuleName::default(), ProjectIndex::empty())
    }

    /// The model of module `module` of a project described by `index`.
    pub(crate) fn build_in(
        root: Node<'t>,
        source: &'t str,
        module: &ModuleName,
        index: &'t ProjectIndex,
    ) -> Self {
        Self::build_with(root, source, module, index, None)
    }

    /// The model of module `module` for re-checking the functions `focus` is on: the bodies
    /// of most other functions are not walked (see [`Focus`]).
    pub(crate) fn build_focused(
        root: Node<'t>,
        source: &'t str,
        module: &ModuleName,
        index: &'t ProjectIndex,
        focus: &Focus<'t>,
    ) -> Self {
        Self::build_with(root, source, module, index, Some(focus))
    }

    fn build_with(
        root: Node<'t>,
        source: &'t str,
        module: &ModuleName,
        index: &'t ProjectIndex,
        focus: Option<&Focus<'t>>,
    ) -> Self {
        let mut builder = Builder {
            model: SemanticModel {
                source,
                module: module.primary().to_string(),
                is_package: module.is_package,
                index: Lookups::new(index),
                scopes: vec![new_scope(ScopeKind::Module, None)],
                functions: Vec::new(),
                classes: Vec::new(),
                scope_nodes: FxHashMap::default(),
                references: FxHashMap::default(),
                inferred: RefCell::default(),
                judging_decorators: std::cell::Cell::new(0),
                outline: Outline::default(),
            },
            scope_stack: Vec::new(),
            branch_depth: vec![0],
            stores: FxHashSet::default(),
            focus,
        };
        match focus {
            Some(focus) => walk_spliced(root, &focus.splices(), &mut builder),
            None => walk(root, &mut builder),
        }
        builder.model
    }
}

fn new_scope<'t>(kind: ScopeKind, parent: Option<ScopeId>) -> Scope<'t> {
    Scope {
        kind,
        parent,
        bindings: FxHashMap::default(),
        globals: FxHashSet::default(),
        nonlocals: FxHashSet::default(),
        star_import: false,
    }
}

struct Builder<'a, 't> {
    model: SemanticModel<'t>,
    /// The scope of every node on the current path from the root.
    scope_stack: Vec<ScopeId>,
    /// How many branch statements enclose the current node, per scope.
    branch_depth: Vec<u32>,
    /// Identifiers in binding position: not references.
    stores: FxHashSet<usize>,
    /// The functions a focused build is for: the bodies it does not need are skipped.
    focus: Option<&'a Focus<'t>>,
}

impl<'t> Visitor<'t> for Builder<'_, 't> {
    fn enter(&mut self, visit: &Visit<'_, 't>) -> Descend {
        let node = visit.node;
        let scope = match (visit.ancestors.last(), self.scope_stack.last()) {
            (Some(&parent), Some(&parent_scope)) => {
                self.model.child_scope(parent, parent_scope, visit.field)
            }
            _ => MODULE_SCOPE,
        };
        self.scope_stack.push(scope);
        if self.focus.is_none() {
            self.model.outline.enter(node, scope);
        }
        if BRANCHES.contains(&node.node_kind()) {
            self.branch_depth[scope] += 1;
        }
        self.visit(node, scope, visit.ancestors)
    }

    fn leave(&mut self, node: Node<'t>) {
        self.model.outline.leave(node);
        if let Some(scope) = self.scope_stack.pop()
            && BRANCHES.contains(&node.node_kind())
        {
            self.branch_depth[scope] = self.branch_depth[scope].saturating_sub(1);
        }
    }
}

impl<'t> Builder<'_, 't> {
    fn visit(&mut self, node: Node<'t>, scope: ScopeId, ancestors: &[Node<'t>]) -> Descend {
        match node.node_kind() {
            "function_definition" => {
                // A function whose body a focused build skips is only a name with a
                // signature to the rest of the module: its parameters are bound in a scope
                // that nothing walked can look into.
                let walked = self
                    .focus
                    .is_none_or(|focus| focus.walks_body(node, ancestors, self.model.source));
                self.function(node, scope, ancestors, walked);
                if !walked {
                    return Descend::No;
                }
            }
            "class_definition" => self.class(node, scope, ancestors),
            "lambda" => {
                let id = self.open_scope(node, ScopeKind::Lambda, scope);
                if let Some(parameters) = node.field("parameters") {
                    self.parameters(parameters, id, None);
                }
            }
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" => {
                self.open_scope(node, ScopeKind::Comprehension { generator: false }, scope);
            }
            "generator_expression" => {
                self.open_scope(node, ScopeKind::Comprehension { generator: true }, scope);
            }
            "import_statement" => {
                self.import(node, scope);
                return Descend::No;
            }
            "import_from_statement" => {
                self.import_from(node, scope);
                return Descend::No;
            }
            "future_import_statement" => return Descend::No,
            "global_statement" | "nonlocal_statement" => {
                let global = node.node_kind() == "global_statement";
                for name in node.named_children_vec() {
                    let text = name.text(self.model.source);
                    let data = &mut self.model.scopes[scope];
                    if global {
                        data.globals.insert(text)
                    } else {
                        data.nonlocals.insert(text)
                    };
                }
                return Descend::No;
            }
            "assignment" => self.assignment(node, scope),
            "augmented_assignment" => {
                if let Some(left) = node.field("left").filter(|l| l.node_kind() == "identifier") {
                    self.bind(scope, left, BindingKind::Other);
                }
            }
            "named_expression" => {
                if let Some(name) = node.field("name") {
                    let value = node.field("value");
                    self.store(
                        scope,
                        name,
                        BindingKind::Assignment {
                            value,
                            annotation: None,
                        },
                    );
                }
            }
            "for_statement" | "for_in_clause" => {
                let is_async = node.child(0).is_some_and(|c| c.node_kind() == "async");
                match (node.field("left"), node.field("right")) {
                    (Some(left), Some(value)) if !is_async && left.node_kind() == "identifier" => {
                        self.store(scope, left, BindingKind::Iterated { value, index: None });
                    }
                    (Some(left), Some(value)) if !is_async => {
                        self.targets(left, scope, &|index| BindingKind::Iterated {
                            value,
                            index: Some(index),
                        });
                    }
                    (Some(left), _) => self.targets(left, scope, &|_| BindingKind::Other),
                    (None, _) => {}
                }
            }
            "as_pattern" => self.as_pattern(node, scope, ancestors),
            "except_clause" => {
                if let Some(alias) = node
                    .field("alias")
                    .filter(|a| a.node_kind() == "identifier")
                {
                    self.store(scope, alias, BindingKind::Other);
                }
            }
            "case_pattern" => self.case_captures(node, scope),
            "yield" => {
                if let Some(id) = self.model.enclosing_function(scope) {
                    self.model.functions[id].is_generator = true;
                }
            }
            "identifier" => self.reference(node, scope, ancestors),
            _ => {}
        }
        Descend::Yes
    }

    fn open_scope(&mut self, node: Node<'t>, kind: ScopeKind, parent: ScopeId) -> ScopeId {
        let id = self.model.scopes.len();
        self.model.scopes.push(new_scope(kind, Some(parent)));
        self.branch_depth.push(0);
        self.model.scope_nodes.insert(node.id(), id);
        id
    }

    fn bind(&mut self, scope: ScopeId, node: Node<'t>, kind: BindingKind<'t>) {
        let name = node.text(self.model.source);
        let conditional = self.branch_depth[scope] > 0;
        let data = &self.model.scopes[scope];
        let target = if data.globals.contains(name) {
            MODULE_SCOPE
        } else if data.nonlocals.contains(name) {
            // Rebinding an enclosing function's variable: its value is no longer known there.
            let Some(parent) = data.parent else { return };
            return self.bind(parent, node, BindingKind::Other);
        } else {
            scope
        };
        let conditional = conditional || target != scope;
        let kind = if target == scope {
            kind
        } else {
            BindingKind::Other
        };
        self.model.scopes[target]
            .bindings
            .entry(name)
            .or_default()
            .push(Binding { kind, conditional });
    }

    /// Binds an identifier in binding position and remembers it is not a read.
    fn store(&mut self, scope: ScopeId, identifier: Node<'t>, kind: BindingKind<'t>) {
        if identifier.node_kind() == "identifier" {
            self.stores.insert(identifier.id());
            self.bind(scope, identifier, kind);
        }
    }

    /// Records the function `node` and binds its name; its parameters too when its body is
    /// `walked`.
    fn function(&mut self, node: Node<'t>, scope: ScopeId, ancestors: &[Node<'t>], walked: bool) {
        let id: FunctionId = self.model.functions.len();
        let own_scope = self.open_scope(node, ScopeKind::Function(id), scope);
        let class = match self.model.scopes[scope].kind {
            ScopeKind::Class(class) => Some(class),
            _ => None,
        };
        let name_node = node.field("name");
        let name = name_node.map_or("", |n| n.text(self.model.source));
        self.model.functions.push(FunctionInfo {
            node,
            name,
            is_async: node.is_async_def(),
            is_generator: false,
            decorators: decorators(node, ancestors),
            class,
            parent_scope: scope,
        });
        if let Some(class) = class {
            self.model.classes[class]
                .methods
                .entry(name)
                .or_default()
                .push(id);
        }
        if let Some(name_node) = name_node {
            self.store(scope, name_node, BindingKind::Function(id));
        }
        if walked && let Some(parameters) = node.field("parameters") {
            self.parameters(parameters, own_scope, Some(id));
        }
    }

    fn class(&mut self, node: Node<'t>, scope: ScopeId, _ancestors: &[Node<'t>]) {
        let id: ClassId = self.model.classes.len();
        self.open_scope(node, ScopeKind::Class(id), scope);
        let bases = node.field("superclasses").map_or_else(Vec::new, |list| {
            list.named_children_vec()
                .into_iter()
                .filter(|b| b.node_kind() != "keyword_argument")
                .collect()
        });
        let name_node = node.field("name");
        self.model.classes.push(ClassInfo {
            name: name_node.map_or("", |n| n.text(self.model.source)),
            bases,
            parent_scope: scope,
            methods: FxHashMap::default(),
            attributes: FxHashMap::default(),
        });
        if let Some(name_node) = name_node {
            self.store(scope, name_node, BindingKind::Class(id));
        }
    }

    fn parameters(&mut self, parameters: Node<'t>, scope: ScopeId, function: Option<FunctionId>) {
        let mut cursor = parameters.walk();
        for (index, parameter) in parameters.named_children(&mut cursor).enumerate() {
            let (name, annotation) = match parameter.node_kind() {
                "identifier" => (Some(parameter), None),
                "typed_parameter" => {
                    let name = parameter.named_child(0).map(|n| {
                        if n.node_kind() == "identifier" {
                            n
                        } else {
                            n.named_child(0).unwrap_or(n)
                        }
                    });
                    (name, parameter.field("type"))
                }
                "default_parameter" | "typed_default_parameter" => {
                    (parameter.field("name"), parameter.field("type"))
                }
                "list_splat_pattern" | "dictionary_splat_pattern" => {
                    (parameter.named_child(0), None)
                }
                _ => (None, None),
            };
            if let Some(name) = name {
                let annotation =
                    annotation.filter(|_| parameter.node_kind() != "list_splat_pattern");
                let kind = BindingKind::Parameter {
                    function,
                    index,
                    annotation,
                };
                self.store(scope, name, kind);
            }
        }
    }

    fn import(&mut self, node: Node<'t>, scope: ScopeId) {
        let source = self.model.source;
        for name in node.named_children_vec() {
            match name.node_kind() {
                "dotted_name" => {
                    // `import a.b.c` binds `a` to the package `a`.
                    if let Some(first) = name.named_child(0) {
                        let module = first.text(source).to_string();
                        self.bind(scope, first, BindingKind::Import(module));
                    }
                }
                "aliased_import" => {
                    if let (Some(dotted), Some(alias)) = (name.field("name"), name.field("alias")) {
                        let module = dotted_text(dotted, source);
                        self.bind(scope, alias, BindingKind::Import(module));
                    }
                }
                _ => {}
            }
        }
    }

    fn import_from(&mut self, node: Node<'t>, scope: ScopeId) {
        let source = self.model.source;
        let Some(module) = node.field("module_name") else {
            return;
        };
        let module_text = dotted_text(module, source);
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if child.node_kind() == "wildcard_import" {
                self.model.scopes[scope].star_import = true;
            }
        }
        let mut cursor = node.walk();
        let names: Vec<Node<'t>> = node.children_by_field_name("name", &mut cursor).collect();
        for name in names {
            let (imported, bound) = match name.node_kind() {
                "dotted_name" => (name, name),
                "aliased_import" => match (name.field("name"), name.field("alias")) {
                    (Some(imported), Some(alias)) => (imported, alias),
                    _ => continue,
                },
                _ => continue,
            };
            let imported = dotted_text(imported, source);
            let module_text = self.absolute_module(&module_text);
            let qualified = if module_text.ends_with('.') {
                format!("{module_text}{imported}")
            } else {
                format!("{module_text}.{imported}")
            };
            self.bind(scope, bound, BindingKind::Import(qualified));
        }
    }

    /// `..sibling` seen from module `pkg.sub.mod` is `pkg.sibling`; absolute names are kept,
    /// and relative ones that climb above the top package keep their dots (unresolvable).
    fn absolute_module(&self, module_text: &str) -> String {
        let level = module_text.chars().take_while(|c| *c == '.').count();
        if level == 0 || self.model.module.is_empty() {
            return module_text.to_string();
        }
        let mut base: Vec<&str> = self.model.module.split('.').collect();
        if !self.model.is_package {
            base.pop();
        }
        for _ in 1..level {
            if base.pop().is_none() {
                return module_text.to_string();
            }
        }
        if base.is_empty() {
            return module_text.to_string();
        }
        let rest = &module_text[level..];
        if rest.is_empty() {
            format!("{}.", base.join("."))
        } else {
            format!("{}.{rest}", base.join("."))
        }
    }

    fn assignment(&mut self, node: Node<'t>, scope: ScopeId) {
        let Some(left) = node.field("left") else {
            return;
        };
        let annotation = node.field("type");
        // `a = b = value`: every target gets the innermost value.
        let mut value = node.field("right");
        while let Some(inner) = value.filter(|v| v.node_kind() == "assignment") {
            value = inner.field("right");
        }
        match left.node_kind() {
            "identifier" => self.store(scope, left, BindingKind::Assignment { value, annotation }),
            "attribute" => self.attribute_assignment(left, value, annotation, scope),
            _ => match value {
                Some(value) => {
                    self.targets(left, scope, &|index| BindingKind::Unpacked { value, index });
                }
                None => self.targets(left, scope, &|_| BindingKind::Other),
            },
        }
        if left.node_kind() == "identifier"
            && let ScopeKind::Class(class) = self.model.scopes[scope].kind
        {
            self.record_attribute(
                class,
                left.text(self.model.source),
                value,
                annotation,
                scope,
            );
        }
    }

    /// Records an attribute of `class`: assigned in its body or on `self` in a method.
    fn record_attribute(
        &mut self,
        class: ClassId,
        name: &'t str,
        value: Option<Node<'t>>,
        annotation: Option<Node<'t>>,
        scope: ScopeId,
    ) {
        let attribute = AttributeBinding {
            value,
            annotation,
            scope,
        };
        self.model.classes[class]
            .attributes
            .entry(name)
            .or_default()
            .push(attribute);
    }

    /// `self.name = value` inside a method records an instance attribute of the class.
    fn attribute_assignment(
        &mut self,
        target: Node<'t>,
        value: Option<Node<'t>>,
        annotation: Option<Node<'t>>,
        scope: ScopeId,
    ) {
        let (Some(object), Some(name)) = (target.field("object"), target.field("attribute")) else {
            return;
        };
        let Some(function) = self.model.enclosing_function(scope) else {
            return;
        };
        let info = &self.model.functions[function];
        let Some(class) = info.class else { return };
        let first_parameter = info
            .node
            .field("parameters")
            .and_then(|p| p.named_children_vec().into_iter().next())
            .filter(|p| p.node_kind() == "identifier");
        let source = self.model.source;
        if first_parameter.map(|p| p.text(source)) != Some(object.text(source))
            || object.node_kind() != "identifier"
        {
            return;
        }
        self.record_attribute(class, name.text(source), value, annotation, scope);
    }

    /// Binds every identifier of an assignment target pattern; `kind` is told the element index
    /// for identifiers directly in a flat tuple/list pattern.
    fn targets(
        &mut self,
        target: Node<'t>,
        scope: ScopeId,
        kind: &dyn Fn(usize) -> BindingKind<'t>,
    ) {
        match target.node_kind() {
            "identifier" => self.store(scope, target, kind(0)),
            "pattern_list" | "tuple_pattern" | "list_pattern" => {
                let elements = target.named_children_vec();
                let has_splat = elements
                    .iter()
                    .any(|e| e.node_kind() == "list_splat_pattern");
                let mut stack: Vec<(Node<'t>, Option<usize>)> = elements
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| (e, (!has_splat).then_some(i)))
                    .collect();
                while let Some((element, index)) = stack.pop() {
                    match (element.node_kind(), index) {
                        ("identifier", Some(index)) => self.store(scope, element, kind(index)),
                        ("identifier", None) => self.store(scope, element, BindingKind::Other),
                        (
                            "pattern_list"
                            | "tuple_pattern"
                            | "list_pattern"
                            | "list_splat_pattern"
                            | "parenthesized_expression",
                            _,
                        ) => {
                            stack.extend(
                                element.named_children_vec().into_iter().map(|e| (e, None)),
                            );
                        }
                        _ => {}
                    }
                }
            }
            "parenthesized_expression" => {
                if let Some(inner) = target.named_child(0) {
                    self.targets(inner, scope, kind);
                }
            }
            "list_splat_pattern" => {
                if let Some(inner) = target.named_child(0) {
                    self.targets(inner, scope, &|_| BindingKind::Other);
                }
            }
            _ => {}
        }
    }

    fn as_pattern(&mut self, node: Node<'t>, scope: ScopeId, ancestors: &[Node<'t>]) {
        let Some(alias) = node.field("alias") else {
            return;
        };
        let target = if alias.node_kind() == "as_pattern_target" {
            alias.named_child(0)
        } else {
            Some(alias)
        };
        let Some(target) = target else { return };
        let in_with = ancestors
            .last()
            .is_some_and(|p| p.node_kind() == "with_item");
        let value = node.named_child(0).filter(|v| v.id() != alias.id());
        match (in_with, value) {
            (true, Some(value)) => {
                let is_async = ancestors
                    .iter()
                    .rev()
                    .find(|a| a.node_kind() == "with_statement")
                    .is_some_and(|w| w.child(0).is_some_and(|c| c.node_kind() == "async"));
                self.targets(target, scope, &|_| BindingKind::WithItem {
                    value,
                    is_async,
                });
            }
            _ => self.targets(target, scope, &|_| BindingKind::Other),
        }
    }

    /// Bare names in `case` patterns capture the subject.
    fn case_captures(&mut self, node: Node<'t>, scope: ScopeId) {
        for child in node.named_children_vec() {
            if child.node_kind() == "dotted_name"
                && child.named_child_count() == 1
                && let Some(identifier) = child.named_child(0)
            {
                self.store(scope, identifier, BindingKind::Other);
            }
        }
    }

    fn reference(&mut self, node: Node<'t>, scope: ScopeId, ancestors: &[Node<'t>]) {
        if self.stores.contains(&node.id()) {
            return;
        }
        if let Some(parent) = ancestors.last() {
            let is_field = |field: &str| parent.field(field).is_some_and(|f| f.id() == node.id());
            let not_a_read = match parent.node_kind() {
                "attribute" => is_field("attribute"),
                "keyword_argument" | "function_definition" | "class_definition" => is_field("name"),
                "dotted_name" => parent.named_child(0).is_some_and(|f| f.id() != node.id()),
                "keyword_pattern" => true,
                _ => false,
            };
            if not_a_read {
                return;
            }
        }
        let name = node.text(self.model.source);
        self.model
            .references
            .entry(name)
            .or_default()
            .push((scope, node));
    }
}

/// The decorator expressions of a function or class (`@x` on `decorated_definition`).
fn decorators<'t>(definition: Node<'t>, ancestors: &[Node<'t>]) -> Vec<Node<'t>> {
    let Some(parent) = ancestors
        .last()
        .filter(|p| p.node_kind() == "decorated_definition")
    else {
        return Vec::new();
    };
    parent
        .named_children_vec()
        .into_iter()
        .filter(|d| d.node_kind() == "decorator" && d.id() != definition.id())
        .filter_map(|d| d.named_child(0))
        .collect()
}

/// A dotted name or relative import without whitespace or comments inside it.
fn dotted_text(node: Node<'_>, source: &str) -> String {
    node.text(source)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\\')
        .collect()
}
