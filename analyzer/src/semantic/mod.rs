//! The per-file semantic model: scopes, bindings, references, functions and classes, and the
//! light inference that resolves an expression to what it refers to.
//!
//! Names are resolved the way Python does: a function's locals, then enclosing function scopes
//! (class bodies are skipped), then the module, then builtins; `global`/`nonlocal` are honoured;
//! a `from m import *` makes unknown names unknown rather than builtins. Flow is ignored, so a
//! name bound more than once in one scope resolves only when every binding agrees.

mod builder;
mod builtins;
mod focus;
mod infer;
mod model;
mod outline;

pub(crate) use focus::{Focus, Spliced};
pub(crate) use infer::{ClassRef, Value, Wrapper};
pub(crate) use model::{
    BindingKind, ClassId, FunctionId, Lookup, MODULE_SCOPE, ScopeId, ScopeKind, SemanticModel,
};

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use crate::{Settings, SourceFile, check_file};

    /// A name rebound from itself many times used to make inference branch exponentially.
    #[test]
    fn self_rebinding_names_stay_cheap() {
        let mut source = String::from("import time\n\nasync def f(x):\n");
        for i in 0..60 {
            let _ = writeln!(source, "    x = x.step{i}()");
        }
        source.push_str("    x.sleep(1)\n    time.sleep(1)\n");
        let diagnostics = check_file(&SourceFile::new("t.py", source), &Settings::default());
        assert_eq!(diagnostics.len(), 1);
    }
}
