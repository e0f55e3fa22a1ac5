use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::fix::{Edit, Fix};
use crate::rules::{Rule, RuleContext, declare_rule};
use crate::semantic::{ClassId, ClassRef, FunctionId, ScopeKind, Value};
use crate::syntax::NodeExt;

declare_rule! {
    /// ## What it does
    /// Checks for broken implementations and uses of the async protocols:
    /// - `__aenter__`, `__aexit__` or `__anext__` defined with a plain `def` whose result is
    ///   certainly not awaitable (it returns nothing, `None`, a literal, or `self` when the
    ///   class and its bases certainly define no `__await__`);
    /// - `__aiter__` defined with `async def` (and no `yield`);
    /// - `raise StopIteration` in `__anext__` or in an async generator;
    /// - `with` on an object that only supports `async with`: `asyncio.Lock`, `Semaphore`,
    ///   `Condition`, `Barrier`, `timeout()`, `TaskGroup`, `Server`, `aiohttp.ClientSession`,
    ///   classes of the file that define `__aenter__` but no `__enter__`, and calls of
    ///   `@asynccontextmanager` functions of the file;
    /// - `async with` on an object that only supports `with`: `requests.Session`,
    ///   `httpx.Client`, `subprocess.Popen`, `socket.socket`, `sqlite3.Connection`,
    ///   `smtplib.SMTP`, `asyncio.Runner`, classes of the file that define `__enter__` but no
    ///   `__aenter__`, and calls of `@contextmanager` functions of the file.
    ///
    /// Neither inside `with pytest.raises(...)`, where a test expects the failure.
    ///
    /// ## Why is this bad?
    /// `async with` awaits what `__aenter__`/`__aexit__` return and `async for` awaits what
    /// `__anext__` returns, so a plain `def` makes them fail with `TypeError`. `__aiter__` must
    /// return the async iterator itself, synchronously: since Python 3.7 an `async def
    /// __aiter__` makes `async for` fail with `TypeError`. `StopIteration` raised in a
    /// coroutine becomes a `RuntimeError` instead of ending the iteration (use
    /// `StopAsyncIteration` in `__anext__`, and `return` in an async generator). A plain `with`
    /// on an async-only context manager fails at runtime with `TypeError` or `AttributeError`,
    /// and so does an `async with` on a sync-only one.
    ///
    /// ## Example
    /// ```python
    /// class Ticker:
    ///     def __aiter__(self):
    ///         return self
    ///
    ///     async def __anext__(self):
    ///         if self.done:
    ///             raise StopIteration
    ///         return await self.tick()
    ///
    /// async def update(lock):
    ///     with lock:
    ///         ...
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class Ticker:
    ///     def __aiter__(self):
    ///         return self
    ///
    ///     async def __anext__(self):
    ///         if self.done:
    ///             raise StopAsyncIteration
    ///         return await self.tick()
    ///
    /// async def update(lock):
    ///     async with lock:
    ///         ...
    /// ```
    ///
    /// ## Fix safety
    /// Safe: `def __aenter__` becomes `async def __aenter__`; `raise StopIteration` becomes
    /// `raise StopAsyncIteration` in `__anext__` and `return` in an async generator; `with`
    /// becomes `async with` in a coroutine, and `async with` on a sync-only context manager
    /// becomes `with` (both only for a statement of a single item). No fix for
    /// `async def __aiter__`, whose body may need rewriting.
    pub(crate) struct AsyncProtocol {
        code: "AIO502",
        name: "async-protocol",
        severity: Error,
    }
}

/// Context manager classes that support `async with` but not `with`, besides the classes the
/// bundled tables describe with an `aenter` and no `enter`.
const ASYNC_ONLY_CLASSES: &[&str] = &["aiohttp.ClientSession", "aiohttp.client.ClientSession"];

/// AIO502 on a `def`: async dunder methods defined with the wrong kind of `def`.
pub(crate) fn async_protocol_def<'t>(
    ctx: &RuleContext<'_, 't>,
    def: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(ScopeKind::Function(id)) = ctx
        .model
        .scope_opened_by(def)
        .map(|scope| ctx.model.scopes[scope].kind)
    else {
        return;
    };
    let info = &ctx.model.functions[id];
    let Some(class) = info.class else {
        return;
    };
    let Some(name_node) = def.field("name") else {
        return;
    };
    let class_name = ctx.model.classes[class].name;
    match info.name {
        "__aenter__" | "__aexit__" | "__anext__" if !info.is_async && !info.is_generator => {
            if !returns_only_non_awaitables(ctx, id, class) {
                return;
            }
            let message = format!(
                "`{class_name}.{}` is defined with plain `def`; the async protocol awaits its result, so it must be `async def`",
                info.name
            );
            let fix = Fix::safe(
                "Make it `async def`",
                vec![Edit::insert(name_keyword_start(def), "async ")],
            );
            out.push(
                Diagnostic::new(Rule::AsyncProtocol, name_node.byte_range().into(), message)
                    .with_fix(Some(fix)),
            );
        }
        "__aiter__" if info.is_async && !info.is_generator => {
            let message = format!(
                "`{class_name}.__aiter__` is `async def`; it must return the async iterator synchronously (`def __aiter__(self): return self`)"
            );
            out.push(Diagnostic::new(
                Rule::AsyncProtocol,
                name_node.byte_range().into(),
                message,
            ));
        }
        _ => {}
    }
}

/// Where the `def` keyword starts (after any `async`, which a plain `def` lacks).
fn name_keyword_start(def: Node<'_>) -> usize {
    def.child(0)
        .map_or(def.start_byte(), |first| first.start_byte())
}

/// Whether every `return` of the function (a method of `class`) gives a value that cannot be
/// awaitable (nothing, `None`, a literal, or `self` when the class and its bases certainly
/// lack `__await__`), and its body is more than a stub (`...`, `pass`, a docstring,
/// `raise NotImplementedError`).
fn returns_only_non_awaitables(
    ctx: &RuleContext<'_, '_>,
    function: FunctionId,
    class: ClassId,
) -> bool {
    let info = &ctx.model.functions[function];
    let Some(body) = info.node.field("body") else {
        return false;
    };
    let statements = body.named_children_vec();
    let stub = statements.iter().all(|s| {
        let first = s.named_child(0);
        match s.node_kind() {
            "pass_statement" | "raise_statement" => true,
            "expression_statement" => {
                first.is_some_and(|e| matches!(e.node_kind(), "ellipsis" | "string"))
            }
            _ => false,
        }
    });
    if stub || !info.decorators.is_empty() {
        return false;
    }
    let mut stack = statements;
    while let Some(node) = stack.pop() {
        match node.node_kind() {
            "function_definition" | "class_definition" | "lambda" => {}
            "return_statement" => {
                if let Some(value) = node.named_child(0) {
                    let plain = matches!(
                        value.node_kind(),
                        "none"
                            | "true"
                            | "false"
                            | "integer"
                            | "float"
                            | "string"
                            | "tuple"
                            | "list"
                            | "dictionary"
                    ) || (value.node_kind() == "identifier"
                        && ctx.text(value) == "self"
                        && lacks_method(ctx, class, "__await__"));
                    if !plain {
                        return false;
                    }
                }
            }
            _ => stack.extend(node.named_children_vec()),
        }
    }
    true
}

/// AIO502 on `raise StopIteration` in `__anext__` or an async generator.
pub(crate) fn async_protocol_raise<'t>(
    ctx: &RuleContext<'_, 't>,
    raise: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    let ScopeKind::Function(id) = ctx.model.scopes[ctx.scope].kind else {
        return;
    };
    let info = &ctx.model.functions[id];
    let in_anext = info.name == "__anext__" && info.class.is_some();
    let in_async_generator = info.is_async && info.is_generator;
    if !info.is_async || !(in_anext || in_async_generator) {
        return;
    }
    let Some(raised) = raise
        .named_child(0)
        .filter(|_| raise.field("cause").is_none())
    else {
        return;
    };
    let (exception, called) = match raised.node_kind() {
        "call" => (raised.field("function"), true),
        _ => (Some(raised), false),
    };
    let Some(exception) = exception else {
        return;
    };
    if ctx.infer(exception).external() != Some("builtins.StopIteration") {
        return;
    }
    let no_arguments = !called
        || raised
            .field("arguments")
            .is_some_and(|a| a.named_children_vec().is_empty());
    let (message, fix) = if in_async_generator {
        let fix = no_arguments.then(|| {
            Fix::safe(
                "Replace with `return`",
                vec![Edit::replace(raise.byte_range().into(), "return")],
            )
        });
        (
            format!(
                "`raise StopIteration` in async generator `{}` becomes a `RuntimeError`; use `return` to end it",
                ctx.function_name(id)
            ),
            fix,
        )
    } else {
        let builtin_visible = ctx
            .model
            .infer_name_from("StopAsyncIteration", ctx.scope, ctx.known)
            .external()
            == Some("builtins.StopAsyncIteration");
        let fix = builtin_visible.then(|| {
            Fix::safe(
                "Replace with `StopAsyncIteration`",
                vec![Edit::replace(
                    exception.byte_range().into(),
                    "StopAsyncIteration",
                )],
            )
        });
        (
            format!(
                "`raise StopIteration` in `{}` becomes a `RuntimeError`; `__anext__` must raise `StopAsyncIteration`",
                ctx.function_name(id)
            ),
            fix,
        )
    };
    out.push(
        Diagnostic::new(Rule::AsyncProtocol, raised.byte_range().into(), message).with_fix(fix),
    );
}

/// AIO502 on a `with` whose context manager only supports `async with`, and on an `async with`
/// whose context manager only supports `with`.
pub(crate) fn async_protocol_with<'t>(
    ctx: &RuleContext<'_, 't>,
    with: Node<'t>,
    out: &mut Vec<Diagnostic>,
) {
    if super::expects_failure(ctx) {
        return;
    }
    let is_async = with.child(0).is_some_and(|c| c.node_kind() == "async");
    let Some(clause) = with
        .named_children_vec()
        .into_iter()
        .find(|c| c.node_kind() == "with_clause")
    else {
        return;
    };
    let items = clause.named_children_vec();
    for item in &items {
        let Some(mut value) = item.field("value").map(NodeExt::unparenthesized) else {
            continue;
        };
        // `with X() as name`.
        if value.node_kind() == "as_pattern" {
            let Some(inner) = value.named_child(0) else {
                continue;
            };
            value = inner.unparenthesized();
        }
        let single = items.len() == 1;
        let (message, fix) = if is_async {
            let Some(manager) = sync_only_manager(ctx, value) else {
                continue;
            };
            let fix = with.child(0).zip(with.child(1)).filter(|_| single).map(
                |(keyword, with_keyword)| {
                    Fix::safe(
                        "Use `with`",
                        vec![Edit::replace(
                            (keyword.start_byte()..with_keyword.start_byte()).into(),
                            "",
                        )],
                    )
                },
            );
            (
                format!("{manager} only supports `with`; `async with` fails at runtime"),
                fix,
            )
        } else {
            let Some(manager) = async_only_manager(ctx, value) else {
                continue;
            };
            let fix = (single && ctx.can_insert_await()).then(|| {
                Fix::safe(
                    "Use `async with`",
                    vec![Edit::insert(with.start_byte(), "async ")],
                )
            });
            (
                format!("{manager} only supports `async with`; a plain `with` fails at runtime"),
                fix,
            )
        };
        out.push(
            Diagnostic::new(Rule::AsyncProtocol, value.byte_range().into(), message).with_fix(fix),
        );
    }
}

/// How to name the async-only context manager `value` is, if it is one: an instance of an
/// async-only class (`` `Lock` ``) or a call of an `@asynccontextmanager` function.
fn async_only_manager<'t>(ctx: &RuleContext<'_, 't>, value: Node<'t>) -> Option<String> {
    let is_async_only = |class: &str| {
        ASYNC_ONLY_CLASSES.contains(&class)
            || (ctx.known.enter(class, true).is_some() && ctx.known.enter(class, false).is_none())
    };
    match ctx.infer(value) {
        Value::Instance(ClassRef::External(class)) if is_async_only(&class) => {
            return Some(format!("`{}`", short(&class)));
        }
        Value::Instance(ClassRef::Local(class)) => {
            let info = &ctx.model.classes[class];
            return (ctx.model.class_method(class, "__aenter__").is_some()
                && lacks_method(ctx, class, "__enter__"))
            .then(|| format!("`{}`", info.name));
        }
        _ => {}
    }
    if let Some(function) = generator_manager(ctx, value, "contextlib.asynccontextmanager") {
        return Some(format!(
            "`{}()` (an `@asynccontextmanager` function)",
            ctx.function_name(function)
        ));
    }
    // A constructor the tables do not describe: `with aiohttp.ClientSession() as s`.
    if value.node_kind() == "call"
        && let Some(Value::External(class)) = value.field("function").map(|f| ctx.infer(f))
        && ASYNC_ONLY_CLASSES.contains(&class.as_str())
    {
        return Some(format!("`{}`", short(&class)));
    }
    None
}

/// How to name the sync-only context manager `value` is, if it is one: an instance of a class
/// with `__enter__` and certainly no `__aenter__`, or a call of a `@contextmanager` function.
fn sync_only_manager<'t>(ctx: &RuleContext<'_, 't>, value: Node<'t>) -> Option<String> {
    match ctx.infer(value) {
        Value::Instance(ClassRef::External(class))
            if ctx.known.enter(&class, false).is_some()
                && ctx.known.enter(&class, true).is_none()
                && !ASYNC_ONLY_CLASSES.contains(&class.as_str()) =>
        {
            return Some(format!("`{}`", short(&class)));
        }
        Value::Instance(ClassRef::Local(class)) => {
            let info = &ctx.model.classes[class];
            return (ctx.model.class_method(class, "__enter__").is_some()
                && lacks_method(ctx, class, "__aenter__"))
            .then(|| format!("`{}`", info.name));
        }
        _ => {}
    }
    generator_manager(ctx, value, "contextlib.contextmanager").map(|function| {
        format!(
            "`{}()` (a `@contextmanager` function)",
            ctx.function_name(function)
        )
    })
}

/// The last part of a dotted class name.
fn short(class: &str) -> String {
    class.rsplit('.').next().unwrap_or(class).to_string()
}

/// The function of this file that `value` calls when it is decorated with `decorator` (and
/// nothing else): `cm()`, or `self.cm()` on an instance of a class of this file.
fn generator_manager<'t>(
    ctx: &RuleContext<'_, 't>,
    value: Node<'t>,
    decorator: &str,
) -> Option<FunctionId> {
    if value.node_kind() != "call" {
        return None;
    }
    let callee = value.field("function")?;
    let function = match ctx.infer(callee) {
        Value::Function(id) => id,
        // A decorated method is not a plain bound method: look it up on the class.
        Value::Unknown if callee.node_kind() == "attribute" => {
            let Value::Instance(ClassRef::Local(class)) = ctx.infer(callee.field("object")?) else {
                return None;
            };
            ctx.model
                .class_method(class, ctx.text(callee.field("attribute")?))?
        }
        _ => return None,
    };
    let info = &ctx.model.functions[function];
    match info.decorators.as_slice() {
        [only]
            if ctx
                .model
                .infer(*only, info.parent_scope, ctx.known)
                .external()
                == Some(decorator) =>
        {
            Some(function)
        }
        _ => None,
    }
}

/// Whether the class of this file and all its bases (which must all be of this file, or
/// `object`) certainly lack `name`.
fn lacks_method(ctx: &RuleContext<'_, '_>, class: ClassId, name: &str) -> bool {
    let mut stack = vec![class];
    let mut visited = 0;
    while let Some(current) = stack.pop() {
        visited += 1;
        if visited > 32 {
            return false;
        }
        let info = &ctx.model.classes[current];
        if info.methods.contains_key(name) || info.attributes.contains_key(name) {
            return false;
        }
        for base in &info.bases {
            match ctx.model.infer(*base, info.parent_scope, ctx.known) {
                Value::Class(id) => stack.push(id),
                Value::External(name) if name == "builtins.object" => {}
                _ => return false,
            }
        }
    }
    true
}
