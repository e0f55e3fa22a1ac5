use crate::diagnostic::Diagnostic;
use crate::parse::SyntaxError;
use crate::rules::{Rule, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports code that does not parse, at the first place the parser could not make sense of.
    ///
    /// The parser is tree-sitter-python 0.25, which accepts the syntax of Python 3.11 to 3.14
    /// (`except*`, PEP 695 generics and `type` statements, PEP 701 f-strings, t-strings,
    /// `except A, B:`) with one gap, where valid code is reported: some starred subscript
    /// items whose operand is not a name (PEP 646, Python 3.11): the first item
    /// (`tuple[*(int, str)]`, `x[*(1, 2)]`), one followed by another item of a generic type
    /// (`Annotated[str, *(1, 2), int]`), `*await x`. The other starred items
    /// (`Annotated[str, *(1, 2, 3)]`, `x[1, *(2, 3), 4]`) are recognised and parse. So are
    /// type-parameter defaults (PEP 696, Python 3.13: `class C[T: Base = Impl]:`), which the
    /// grammar does not know: a type-parameter list of the form `[*|**]NAME[: BOUND][= DEFAULT]`
    /// is accepted (a default followed by a parameter without one is still reported), without
    /// checking the bounds' and defaults' expressions themselves.
    ///
    /// ## Why is this bad?
    /// Python refuses to run the file. aiolint still checks the parts it could parse, and the
    /// other files of the run.
    ///
    /// ## Example
    /// ```python
    /// async def fetch(:
    ///     ...
    /// ```
    pub(crate) struct SyntaxErrorRule {
        code: "E999",
        name: "syntax-error",
        severity: Error,
        always_on: true,
    }
}

/// The diagnostic for the first syntax error of a file.
pub(crate) fn syntax_error(error: &SyntaxError, source: &str) -> Diagnostic {
    let message = match &error.missing {
        Some(token) if !token.is_empty() => format!("SyntaxError: expected `{token}`"),
        _ => {
            let text = source.get(error.range.start..error.range.end).unwrap_or("");
            let first_line = text.split(['\n', '\r']).next().unwrap_or("").trim();
            let shown: String = first_line.chars().take(40).collect();
            if shown.is_empty() {
                "SyntaxError: invalid syntax".to_string()
            } else {
                format!("SyntaxError: unexpected `{shown}`")
            }
        }
    };
    Diagnostic::new(Rule::SyntaxError, error.range, message)
}
