//! What a rule sees: the file, the semantic model, and where in the tree it is.

use tree_sitter::Node;

use crate::guards::Versions;
use crate::index::ProjectFunction;
use crate::known::{FunctionSpec, KnownApi};
use crate::semantic::{
    BindingKind, ClassRef, FunctionId, MODULE_SCOPE, ScopeId, SemanticModel, Value,
};
use crate::settings::Settings;
use crate::source::SourceFile;
use crate::syntax::NodeExt;

pub(crate) struct RuleContext<'a, 't> {
    pub file: &'a SourceFile,
    pub source: &'t str,
    pub model: &'a SemanticModel<'t>,
    pub known: &'static KnownApi,
    #[allow(
        dead_code,
        reason = "read by the configurable rules of the next issues"
    )]
    pub settings: &'a Settings,
    /// The scope of the node being checked.
    pub scope: ScopeId,
    /// The ancestors of the node being checked, root first.
    pub ancestors: &'a [Node<'t>],
}

impl<'t> RuleContext<'_, 't> {
    pub(crate) fn infer(&self, expr: Node<'t>) -> Value {
        self.model.infer(expr, self.scope, self.known)
    }

    /// What the `function` part of a call refers to.
    pub(crate) fn callee(&self, call: Node<'t>) -> Value {
        call.field("function")
            .map_or(Value::Unknown, |f| self.infer(f))
    }

    /// The `async def` that runs the current node, if any.
    pub(crate) fn enclosing_coroutine(&self) -> Option<FunctionId> {
        self.model.enclosing_coroutine(self.scope)
    }

    pub(crate) fn text(&self, node: Node<'_>) -> &'t str {
        node.text(self.source)
    }

    /// A function's name for messages: `fetch`, or `Client.fetch` for a method.
    pub(crate) fn function_name(&self, id: FunctionId) -> String {
        let info = &self.model.functions[id];
        match info.class {
            Some(class) => format!("{}.{}", self.model.classes[class].name, info.name),
            None => info.name.to_string(),
        }
    }

    /// Whether calling `value` creates a coroutine object that does nothing until awaited.
    pub(crate) fn is_coroutine_function(&self, value: &Value) -> bool {
        match value {
            Value::Function(id) | Value::BoundMethod(id) => {
                let info = &self.model.functions[*id];
                info.is_async && !info.is_generator && self.model.is_plain_method(*id, self.known)
            }
            Value::External(name) => {
                if self
                    .known
                    .function(name)
                    .is_some_and(FunctionSpec::is_coroutine)
                    || self
                        .settings
                        .extra_coroutines
                        .iter()
                        .any(|extra| extra == name)
                {
                    return true;
                }
                if let Some(function) = self.model.index.function(name) {
                    return function.is_async && !function.is_generator && function.plain;
                }
                // `asyncio.Queue.get(queue)`: a method called through its class.
                name.rsplit_once('.').is_some_and(|(class, method)| {
                    self.known.class(class).is_some()
                        && self.known.is_coroutine_method(class, method)
                })
            }
            // An instance of a class whose `__call__` is an `async def`.
            Value::Instance(ClassRef::Local(class)) => self
                .model
                .class_method(*class, "__call__")
                .is_some_and(|id| self.is_coroutine_function(&Value::BoundMethod(id))),
            Value::Instance(ClassRef::External(class)) => self
                .model
                .index
                .method(class, "__call__")
                .is_some_and(|f| f.is_async && !f.is_generator && f.plain),
            Value::ExternalMethod { class, method } => {
                if let Some(function) = self.model.index.method(class, method) {
                    return function.is_async && !function.is_generator && function.plain;
                }
                self.known.is_coroutine_method(class, method)
                    || self
                        .settings
                        .extra_coroutines
                        .iter()
                        .any(|extra| *extra == format!("{class}.{method}"))
            }
            _ => false,
        }
    }

    /// How to name a callee in a message: `fetch`, `Client.fetch`, `asyncio.sleep`,
    /// `StreamWriter.drain`.
    pub(crate) fn describe(&self, value: &Value, call: Node<'t>) -> String {
        match value {
            Value::Function(id) | Value::BoundMethod(id) => self.function_name(*id),
            Value::External(name) => match self.model.index.function(name) {
                Some(function) => function.qualname.to_string(),
                None => name.strip_prefix("builtins.").unwrap_or(name).to_string(),
            },
            Value::ExternalMethod { class, method } => {
                format!("{}.{method}", class.rsplit('.').next().unwrap_or(class))
            }
            _ => call
                .field("function")
                .map_or_else(String::new, |f| self.text(f).to_string()),
        }
    }

    /// Whether an `await` may be written at the current node: inside a coroutine, and not in a
    /// generator expression (which `await` would turn into an async generator).
    pub(crate) fn can_insert_await(&self) -> bool {
        self.enclosing_coroutine().is_some() && !self.model.in_generator_expression(self.scope)
    }

    /// The name under which the `asyncio` module can be reached from the current scope
    /// (`asyncio`, or an alias such as `aio`), if any.
    pub(crate) fn asyncio_name(&self) -> Option<String> {
        let reaches_asyncio = |name: &str| {
            let probe = self.model.infer_name_from(name, self.scope, self.known);
            probe.external() == Some("asyncio")
        };
        if reaches_asyncio("asyncio") {
            return Some("asyncio".to_string());
        }
        self.model
            .module_imports_of("asyncio")
            .into_iter()
            .find(|alias| reaches_asyncio(alias))
            .map(str::to_string)
    }

    /// The Python versions `node` (the node being checked) runs on, as the version checks
    /// around it say (`if sys.version_info >= (3, 12):`, `@pytest.mark.skipif(...)`,
    /// `if TYPE_CHECKING:`).
    pub(crate) fn versions(&self, node: Node<'t>) -> Versions {
        crate::guards::versions(self.model, node, self.ancestors, self.scope, self.known)
    }

    /// Whether the module runs on Trio alone: it imports `trio` (any form) and not `asyncio`.
    /// Trio's cancellation is level-triggered and it has no event loop object to nest, so the
    /// rules about asyncio's semantics stay silent there. Code using `anyio` keeps them (it runs on
    /// asyncio too).
    pub(crate) fn runs_on_trio_only(&self) -> bool {
        self.imports("trio") && !self.imports("asyncio")
    }

    /// Whether the module imports `module` or one of its submodules or names, in any form.
    pub(crate) fn imports(&self, module: &str) -> bool {
        self.model.scopes[MODULE_SCOPE]
            .bindings
            .values()
            .flatten()
            .any(|binding| {
                matches!(&binding.kind, BindingKind::Import(target)
                    if target == module || target.strip_prefix(module).is_some_and(|rest| rest.starts_with('.')))
            })
    }

    /// Whether `import asyncio` can be added at the top of the module: the name `asyncio` is
    /// not bound to anything else where it would be used.
    pub(crate) fn can_import_asyncio(&self) -> bool {
        matches!(
            self.model
                .infer_name_from("asyncio", self.scope, self.known),
            Value::Unknown
        ) && self.model.binding_count(0, "asyncio") == 0
            && !self.model.scopes[0].star_import
    }

    /// `text` (which replaces `node`), parenthesized when `node` is the object of an attribute,
    /// subscript or call, where `await x` would otherwise bind to the wrong part.
    pub(crate) fn parenthesize_if_needed(&self, node: Node<'_>, text: String) -> String {
        if self.needs_parens(node) {
            format!("({text})")
        } else {
            text
        }
    }

    /// Whether `node` (the node being checked) is the object of an attribute, subscript or
    /// call, or the operand of an `await`, where a replacement starting with `await` needs
    /// parentheses (`await await x` is a syntax error, though tree-sitter accepts it).
    pub(crate) fn needs_parens(&self, node: Node<'_>) -> bool {
        self.ancestors.last().is_some_and(|parent| {
            matches!(
                parent.node_kind(),
                "attribute" | "subscript" | "call" | "await"
            ) && parent
                .named_child(0)
                .is_some_and(|first| first.id() == node.id())
        })
    }

    /// The qualified name of the project sync function (of this module or another, not a
    /// generator) that `call` calls, if it is one: the functions the call-graph facts are about.
    pub(crate) fn project_sync_function(&self, call: Node<'t>) -> Option<String> {
        let index = &self.model.index;
        let sync = |f: &ProjectFunction<'_>| !f.is_async && !f.is_generator;
        match self.callee(call) {
            Value::Function(id) | Value::BoundMethod(id) => {
                let info = &self.model.functions[id];
                if info.is_async || info.is_generator {
                    return None;
                }
                let qualname = self.model.qualname(id)?;
                (!self.model.module.is_empty()).then(|| format!("{}.{qualname}", self.model.module))
            }
            Value::External(name) => index.function(&name).filter(sync).map(|f| f.qualified()),
            Value::ExternalMethod { class, method } => index
                .method(&class, &method)
                .filter(sync)
                .map(|f| f.qualified()),
            _ => None,
        }
    }
}
