//! Parsing with tree-sitter-python. Parsing never fails: syntax errors are collected alongside
//! the tree.

use crate::syntax::NodeExt;
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

/// A row and byte column, as tree-sitter counts them (rows split on `\n` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Point {
    pub row: usize,
    pub column: usize,
}

/// One text change, described the way incremental reparsing needs it: byte offsets and points
/// of the replaced range before the change and of its end after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEdit {
    pub start_byte: usize,
    pub old_end_byte: usize,
    pub new_end_byte: usize,
    pub start_point: Point,
    pub old_end_point: Point,
    pub new_end_point: Point,
}

/// A parsed module: the syntax tree (opaque outside the analyzer) and its syntax errors.
/// Cloning is cheap.
#[derive(Clone, Debug)]
pub struct ParsedModule {
    tree: Tree,
    pub(crate) syntax_errors: Vec<SyntaxError>,
}

impl ParsedModule {
    /// Parses `text`. `None` only if tree-sitter itself gives up, which it does not do without
    /// a timeout.
    pub fn parse(text: &str) -> Option<Self> {
        Self::parse_from(None, &mut |offset| {
            text.as_bytes().get(offset..).unwrap_or_default()
        })
    }

    /// Parses the new text incrementally, reusing this tree; every change made to the text
    /// since this tree was parsed must have been passed to [`ParsedModule::edit`] first.
    /// `read(offset)` returns the text from `offset` on (any non-empty prefix of it, such as
    /// one chunk of a rope; empty at the end).
    pub fn reparse<'a>(&self, read: &mut dyn FnMut(usize) -> &'a [u8]) -> Option<Self> {
        Self::parse_from(Some(&self.tree), read)
    }

    /// Records one change to the text in the tree, ahead of [`ParsedModule::reparse`].
    pub fn edit(&mut self, edit: &InputEdit) {
        let point = |p: Point| tree_sitter::Point {
            row: p.row,
            column: p.column,
        };
        self.tree.edit(&tree_sitter::InputEdit {
            start_byte: edit.start_byte,
            old_end_byte: edit.old_end_byte,
            new_end_byte: edit.new_end_byte,
            start_position: point(edit.start_point),
            old_end_position: point(edit.old_end_point),
            new_end_position: point(edit.new_end_point),
        });
    }

    /// Whether the module has no syntax errors.
    pub fn is_valid(&self) -> bool {
        self.syntax_errors.is_empty()
    }

    pub(crate) fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// Parses only the bytes `range` of `text` (`start` and `end` are the points of its ends),
    /// as if they were a module of their own, but with nodes at their places in `text`. The
    /// re-check of an edited function parses just the function this way.
    pub(crate) fn parse_range(
        text: &str,
        range: TextRange,
        start: Point,
        end: Point,
    ) -> Option<Self> {
        let point = |p: Point| tree_sitter::Point {
            row: p.row,
            column: p.column,
        };
        let included = [tree_sitter::Range {
            start_byte: range.start,
            end_byte: range.end,
            start_point: point(start),
            end_point: point(end),
        }];
        let tree = with_parser(|parser| {
            parser.set_included_ranges(&included).ok()?;
            let tree = parser.parse_with_options(
                &mut |offset, _| text.as_bytes().get(offset..).unwrap_or_default(),
                None,
                None,
            );
            // The parser is shared: back to whole texts.
            parser.set_included_ranges(&[]).ok()?;
            tree
        })?;
        let syntax_errors = collect_syntax_errors(&tree);
        Some(Self {
            tree,
            syntax_errors,
        })
    }

    fn parse_from<'a>(old: Option<&Tree>, read: &mut dyn FnMut(usize) -> &'a [u8]) -> Option<Self> {
        let tree = with_parser(|parser| {
            parser.parse_with_options(&mut |offset, _| read(offset), old, None)
        })?;
        let syntax_errors = collect_syntax_errors(&tree);
        Some(Self {
            tree,
            syntax_errors,
        })
    }
}

/// Runs `parse` with this thread's parser for Python.
fn with_parser<T>(parse: impl FnOnce(&mut Parser) -> Option<T>) -> Option<T> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser
                .set_language(&tree_sitter_python::LANGUAGE.into())
                .ok()?;
            *slot = Some(parser);
        }
        parse(slot.as_mut()?)
    })
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
                missing: Some(node.node_kind().to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::point_at;

    #[test]
    fn incremental_reparse_matches_a_fresh_parse() {
        let old_text = "import time\n\nasync def f():\n    time.sleep(1)\n";
        let mut parsed = ParsedModule::parse(old_text).expect("parses");
        let start = old_text.find("time.sleep").unwrap_or_default();
        let old_end = start + "time.sleep(1)".len();
        let replacement = "await asyncio.sleep(1)";
        let new_text = format!(
            "{}{replacement}{}",
            &old_text[..start],
            &old_text[old_end..]
        );
        let new_end = start + replacement.len();
        parsed.edit(&InputEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start_point: point_at(old_text, start),
            old_end_point: point_at(old_text, old_end),
            new_end_point: point_at(&new_text, new_end),
        });
        let bytes = new_text.as_bytes();
        let reparsed = parsed
            .reparse(&mut |offset| bytes.get(offset..).unwrap_or_default())
            .expect("reparses");
        let fresh = ParsedModule::parse(&new_text).expect("parses");
        assert_eq!(reparsed.root().to_sexp(), fresh.root().to_sexp());
        assert!(reparsed.is_valid());
    }

    #[test]
    fn a_method_parsed_alone_has_the_syntax_it_has_in_its_module() {
        let text = "class A:\n    @property\n    async def f(self, x):\n        if x:\n            await g(\n                x)\n        return [y async for y in x]\n\n    def h(self):\n        pass\n";
        let whole = ParsedModule::parse(text).expect("parses");
        let start = text.find("async def").expect("a method");
        let end = text.find("\n\n    def h").expect("another method");
        let method = whole
            .root()
            .descendant_for_byte_range(start, end)
            .expect("a node");
        assert_eq!(method.node_kind(), "function_definition");
        let alone = ParsedModule::parse_range(
            text,
            TextRange::new(start, end),
            point_at(text, start),
            point_at(text, end),
        )
        .expect("parses");
        let root = alone.root();
        assert!(alone.is_valid());
        assert_eq!(root.named_child_count(), 1);
        let function = root.named_child(0).expect("the method");
        assert_eq!(function.byte_range(), method.byte_range());
        assert_eq!(function.to_sexp(), method.to_sexp());
        // The shared parser parses whole texts again afterwards.
        assert_eq!(
            ParsedModule::parse(text).expect("parses").root().to_sexp(),
            whole.root().to_sexp()
        );
    }

    #[test]
    fn syntax_errors_are_collected() {
        let parsed = ParsedModule::parse("def f(:\n    pass\n").expect("parses");
        assert!(!parsed.is_valid());
        assert_eq!(parsed.syntax_errors[0].range.start, 6);
    }
}
