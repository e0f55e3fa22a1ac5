use crate::diagnostic::Diagnostic;
use crate::parse::SyntaxError;
use crate::rules::{Rule, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports code that does not parse, at the first place the parser could not make sense of.
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
            let first_line = text.lines().next().unwrap_or("").trim();
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
