//! The per-file semantic model: scopes, bindings, references, functions and classes, and the
//! light inference that resolves an expression to what it refers to.
//!
//! Names are resolved the way Python does: a function's locals, then enclosing function scopes
//! (class bodies are skipped), then the module, then builtins; `global`/`nonlocal` are honoured;
//! a `from m import *` makes unknown names unknown rather than builtins. Flow is ignored, so a
//! name bound more than once in one scope resolves only when every binding agrees.

mod builder;
mod builtins;
mod infer;
mod model;

pub(crate) use infer::{ClassRef, Value};
pub(crate) use model::{FunctionId, ScopeId, ScopeKind, SemanticModel};
