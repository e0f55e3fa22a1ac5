//! Reports about the input itself rather than the code's behaviour.

pub(crate) mod io_error;
pub(crate) use syntax_error::syntax_error;
pub(crate) mod syntax_error;

#[cfg(test)]
mod tests {
    use crate::rules::Rule;
    use crate::test_support::check_fixture;

    /// Starred subscript items (PEP 646) that tree-sitter-python marks as errors are not
    /// reported (the fixture marks no line).
    #[test]
    fn starred_subscript_items_are_not_syntax_errors() {
        assert_eq!(
            check_fixture(Rule::SyntaxError, "errors/E999_starred_subscripts.py"),
            ""
        );
    }
}
