//! Parsing with tree-sitter-python. Parsing never fails: syntax errors are collected alongside
//! the tree.

use std::cell::RefCell;

use tree_sitter::{Node, Parser, Tree};

use crate::text_range::TextRange;

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// A syntax error: where tree-sitter could not make sense of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub range: TextRange,
    /// Set when tree-sitter inserted a missing token rather than skipping text.
    pub missing: Option<String>,
}

/// A parsed module: the tree and the syntax errors found in it.
#[derive(Clone, Debug)]
pub(crate) struct ParsedModule {
    pub tree: Tree,
    pub syntax_errors: Vec<SyntaxError>,
}

impl ParsedModule {
    /// Parses `text`. Always returns a tree; a parser that gives up yields an empty module with
    /// one syntax error covering the text.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let tree = PARSER.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                let mut parser = Parser::new();
                parser
                    .set_language(&tree_sitter_python::LANGUAGE.into())
                    .ok()?;
                *slot = Some(parser);
            }
            slot.as_mut()?.parse(text, None)
        })?;
        let syntax_errors = collect_syntax_errors(&tree);
        Some(Self {
            tree,
            syntax_errors,
        })
    }

    pub(crate) fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }
}

/// Collects the outermost `ERROR` and `MISSING` nodes, walking with a cursor (no recursion).
fn collect_syntax_errors(tree: &Tree) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    if !tree.root_node().has_error() {
        return errors;
    }
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        let descend = if node.is_error() {
            errors.push(SyntaxError {
                range: node.byte_range().into(),
                missing: None,
            });
            false
        } else if node.is_missing() {
            errors.push(SyntaxError {
                range: node.byte_range().into(),
                missing: Some(node.kind().to_string()),
            });
            false
        } else {
            node.has_error()
        };
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return errors;
            }
        }
    }
}
