//! Parsing with tree-sitter-python. Parsing never fails: syntax errors are collected alongside
//! the tree.
//!
//! Python ends a line at `\n`, `\r\n` and a lone `\r` (universal newlines); tree-sitter-python
//! only at `\n`. So every lone `\r` (one not followed by `\n`) reaches tree-sitter as a `\n`:
//! the same length, so every node's byte range is valid in the original text, and tree-sitter's
//! rows are the lines of [`crate::LineIndex`] (and of the language server's ropes). Texts without
//! a lone `\r` (the common case, `\r\n` files included) are given to tree-sitter as they are,
//! without a copy.

use crate::syntax::NodeExt;
use std::borrow::Cow;
use std::cell::RefCell;

use tree_sitter::{Node, Parser, Tree};

use crate::text_range::TextRange;
use crate::type_defaults;

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

/// A row and byte column, as tree-sitter counts them: rows end at `\n`, `\r\n` and a lone `\r`
/// (which tree-sitter is given as `\n`), the rows of [`crate::LineIndex`]; columns are bytes.
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
        let bytes = normalized(text.as_bytes());
        let bytes: &[u8] = &bytes;
        Self::parse_from(None, &mut |offset| bytes.get(offset..).unwrap_or_default())
    }

    /// Parses the new text incrementally, reusing this tree; every change made to the text
    /// since this tree was parsed must have been passed to [`ParsedModule::edit`] first.
    /// `read(offset)` returns the text from `offset` on (any non-empty prefix of it, such as
    /// one chunk of a rope; empty at the end). The text is read as it is; the lone `\r`s of
    /// each piece are replaced here, as [`ParsedModule::parse`] does.
    pub fn reparse<'a>(&self, read: &mut dyn FnMut(usize) -> &'a [u8]) -> Option<Self> {
        Self::parse_from(Some(&self.tree), &mut |offset| {
            normalized_piece(read, offset)
        })
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

    /// Whether `new`, a parse of the text after the edits recorded in this tree
    /// ([`ParsedModule::edit`]), has the same nodes as this tree everywhere but inside
    /// `inside` (ranges of the new text): node for node, the same kinds, byte ranges and
    /// missing tokens, so that the parser restructured nothing else (tree-sitter's error
    /// recovery is not local: an edit in one function can change how it recovers from an
    /// error in another, with the same error ranges). A node that lies in one of `inside` is
    /// compared but not descended into.
    pub(crate) fn same_outside(&self, new: &ParsedModule, inside: &[TextRange]) -> bool {
        same_nodes(self.root(), new.root(), inside)
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
        let bytes = normalized(text.as_bytes());
        let bytes: &[u8] = &bytes;
        let tree = with_parser(|parser| {
            parser.set_included_ranges(&included).ok()?;
            let tree = parser.parse_with_options(
                &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
                None,
                None,
            );
            // The parser is shared: back to whole texts.
            parser.set_included_ranges(&[]).ok()?;
            tree
        })?;
        let syntax_errors =
            collect_syntax_errors(&tree, &mut |offset| bytes.get(offset..).unwrap_or_default());
        Some(Self {
            tree,
            syntax_errors,
        })
    }

    /// Parses the text `read` gives, lone `\r`s already replaced.
    fn parse_from<T: AsRef<[u8]>>(
        old: Option<&Tree>,
        read: &mut dyn FnMut(usize) -> T,
    ) -> Option<Self> {
        let tree = with_parser(|parser| {
            parser.parse_with_options(&mut |offset, _| read(offset), old, None)
        })?;
        let syntax_errors = collect_syntax_errors(&tree, read);
        Some(Self {
            tree,
            syntax_errors,
        })
    }
}

/// Whether the subtrees of `old` and `new` (of two trees, or of one) have the same nodes: node
/// for node, the same kinds, byte ranges and missing tokens. A node that lies in one of
/// `inside` is compared but not descended into. Subtrees the two share (reused by an
/// incremental reparse) are the same and not walked; the rest is walked with one cursor on
/// each, without recursion.
pub(crate) fn same_nodes(old: Node<'_>, new: Node<'_>, inside: &[TextRange]) -> bool {
    let (old_top, new_top) = (old, new);
    let mut old_cursor = old.walk();
    let mut new_cursor = new.walk();
    loop {
        let (old, new) = (old_cursor.node(), new_cursor.node());
        if old.kind_id() != new.kind_id()
            || old.byte_range() != new.byte_range()
            || old.is_missing() != new.is_missing()
        {
            return false;
        }
        // The id of a node is where its subtree is stored: the same id, the same subtree (at
        // the same place, its byte range being the same).
        let skip = old.id() == new.id()
            || inside
                .iter()
                .any(|range| range.start <= old.start_byte() && old.end_byte() <= range.end);
        if !skip {
            let (old_down, new_down) =
                (old_cursor.goto_first_child(), new_cursor.goto_first_child());
            if old_down != new_down {
                return false;
            }
            if old_down {
                continue;
            }
        }
        loop {
            if old_cursor.node() == old_top || new_cursor.node() == new_top {
                return old_cursor.node() == old_top && new_cursor.node() == new_top;
            }
            let (old_next, new_next) = (
                old_cursor.goto_next_sibling(),
                new_cursor.goto_next_sibling(),
            );
            if old_next != new_next {
                return false;
            }
            if old_next {
                break;
            }
            let (old_up, new_up) = (old_cursor.goto_parent(), new_cursor.goto_parent());
            if old_up != new_up || !old_up {
                return false;
            }
        }
    }
}

/// The most bytes of one piece of text handed to tree-sitter by [`ParsedModule::reparse`], so
/// that looking for `\r` in it costs little however much of the text the reader returns.
const MAX_PIECE: usize = 64 * 1024;

/// The first lone `\r` of `bytes`: one not followed by `\n`, where `next` is the byte that
/// follows `bytes` in the text (`None` at its end).
fn first_lone_cr(bytes: &[u8], next: Option<u8>) -> Option<usize> {
    memchr::memchr_iter(b'\r', bytes).find(|&i| bytes.get(i + 1).copied().or(next) != Some(b'\n'))
}

/// `bytes` with every lone `\r` replaced by `\n` (see the module documentation); borrowed
/// when it has none. `next` is the byte that follows `bytes` in the text.
fn normalize(bytes: &[u8], next: Option<u8>) -> Cow<'_, [u8]> {
    let Some(first) = first_lone_cr(bytes, next) else {
        return Cow::Borrowed(bytes);
    };
    let mut owned = bytes.to_vec();
    for i in memchr::memchr_iter(b'\r', &bytes[first..]).map(|i| first + i) {
        if bytes.get(i + 1).copied().or(next) != Some(b'\n') {
            owned[i] = b'\n';
        }
    }
    Cow::Owned(owned)
}

/// A whole text as tree-sitter is given it.
fn normalized(text: &[u8]) -> Cow<'_, [u8]> {
    normalize(text, None)
}

/// The piece of text `read` gives from `offset` (at most [`MAX_PIECE`] bytes of it), as
/// tree-sitter is given it. A `\r` that ends the piece is lone unless the text goes on with a
/// `\n`, which is read then.
fn normalized_piece<'a>(read: &mut dyn FnMut(usize) -> &'a [u8], offset: usize) -> Cow<'a, [u8]> {
    let whole = read(offset);
    let piece = &whole[..whole.len().min(MAX_PIECE)];
    if memchr::memchr(b'\r', piece).is_none() {
        return Cow::Borrowed(piece);
    }
    let next = if piece.last() == Some(&b'\r') {
        match whole.get(piece.len()) {
            Some(&byte) => Some(byte),
            None => read(offset + piece.len()).first().copied(),
        }
    } else {
        None
    };
    normalize(piece, next)
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
/// Valid Python that tree-sitter-python marks as an error (starred subscript items,
/// [`is_starred_item`]; type-parameter defaults, [`type_defaults`]) is not one. `read` gives
/// the parsed text as tree-sitter was given it.
fn collect_syntax_errors<T: AsRef<[u8]>>(
    tree: &Tree,
    read: &mut dyn FnMut(usize) -> T,
) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    if !tree.root_node().has_error() {
        return errors;
    }
    // Type-parameter lists already checked, by node id.
    let mut lists: Vec<(usize, bool)> = Vec::new();
    let mut is_type_default = |node: Node<'_>| {
        let Some(list) = type_defaults::enclosing_type_parameters(node) else {
            return false;
        };
        if let Some(&(_, valid)) = lists.iter().find(|(id, _)| *id == list.id()) {
            return valid;
        }
        let text = bytes_of(read, list.byte_range());
        let valid = std::str::from_utf8(&text).is_ok_and(type_defaults::is_valid_list);
        lists.push((list.id(), valid));
        valid
    };
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        let descend = if is_starred_item(node) || (node.is_error() && is_type_default(node)) {
            false
        } else if node.is_error() {
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

/// The bytes `range` of the text `read` gives.
fn bytes_of<T: AsRef<[u8]>>(
    read: &mut dyn FnMut(usize) -> T,
    range: std::ops::Range<usize>,
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(range.len());
    let mut offset = range.start;
    while offset < range.end {
        let chunk = read(offset);
        let chunk = chunk.as_ref();
        if chunk.is_empty() {
            break;
        }
        let take = chunk.len().min(range.end - offset);
        bytes.extend_from_slice(&chunk[..take]);
        offset += take;
    }
    bytes
}

/// What may follow the `*` of a starred subscript item (`'*' expression` in Python's grammar;
/// an unparenthesized `:=` or `yield` may not).
const STARRED_OPERANDS: &[&str] = &[
    "identifier",
    "attribute",
    "subscript",
    "call",
    "await",
    "parenthesized_expression",
    "tuple",
    "list",
    "set",
    "dictionary",
    "list_comprehension",
    "set_comprehension",
    "dictionary_comprehension",
    "generator_expression",
    "string",
    "concatenated_string",
    "integer",
    "float",
    "true",
    "false",
    "none",
    "ellipsis",
    "binary_operator",
    "unary_operator",
    "not_operator",
    "boolean_operator",
    "comparison_operator",
    "conditional_expression",
    "lambda",
];

/// A starred item among the arguments of a subscript (PEP 646, Python 3.11:
/// `Annotated[str, *(1, 2, 3)]`, `x[1, *(2, 3)]`), which tree-sitter-python 0.25 parses only
/// when a name follows the `*`. It recovers with an `ERROR` node in the subscript (or in the
/// arguments of a generic type) holding the `*` (after the item's `,` when it is not the
/// first) and then either the whole operand or nothing, the operand following as the next
/// item. Recognised only when the rest is exactly that: an operand that is a complete
/// expression, between the `[`/`,` before the item and the `,`/`]` after it. (Not in the type
/// parameters of a `def`, `class` or `type` statement, where a starred expression is a syntax
/// error.)
fn is_starred_item(node: Node<'_>) -> bool {
    if !node.is_error() || !in_subscript(node) {
        return false;
    }
    let children: Vec<Node<'_>> = (0..node.child_count())
        .filter_map(|i| node.child(i))
        .collect();
    let (comma_inside, rest) = match children.split_first() {
        Some((first, rest)) if first.node_kind() == "," => (true, rest),
        _ => (false, children.as_slice()),
    };
    let before = node.prev_sibling();
    let opens_item = if comma_inside {
        before.is_some_and(|b| b.is_named() && !b.is_error())
    } else {
        before.is_some_and(|b| matches!(b.node_kind(), "," | "["))
    };
    let (operand, after) = match rest {
        [star, operand] if star.node_kind() == "*" => (*operand, node.next_sibling()),
        [star] if star.node_kind() == "*" => {
            let Some(next) = node.next_sibling() else {
                return false;
            };
            // In a generic type, each item is wrapped in a `type`.
            let operand = if next.node_kind() == "type" && next.named_child_count() == 1 {
                match next.named_child(0) {
                    Some(inner) => inner,
                    None => return false,
                }
            } else {
                next
            };
            (operand, next.next_sibling())
        }
        _ => return false,
    };
    opens_item
        && operand.is_named()
        && !operand.has_error()
        && STARRED_OPERANDS.contains(&operand.node_kind())
        && after.is_some_and(|a| matches!(a.node_kind(), "," | "]"))
}

/// Whether `node` is an item of a subscript or of the arguments of a generic type (not of the
/// type parameters a `type X[...] = ...` statement defines).
fn in_subscript(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.node_kind() {
        "subscript" => true,
        "type_parameter" => parent
            .parent()
            .filter(|generic| generic.node_kind() == "generic_type")
            .and_then(|generic| generic.parent())
            .is_some_and(|wrapper| {
                !wrapper.parent().is_some_and(|statement| {
                    statement.node_kind() == "type_alias_statement"
                        && statement
                            .field("left")
                            .is_some_and(|left| left.id() == wrapper.id())
                })
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::tree_positions as positions;
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

    /// Syntax of Python 3.11 to 3.14 that must parse, each construct as a module of its own
    /// (checked against `CPython` 3.13's `ast.parse`, the 3.14 ones against PEP 750 and PEP 758).
    const MODERN_SYNTAX: &[(&str, &str)] = &[
        (
            "3.11 except* (PEP 654)",
            "try:\n    pass\nexcept* ValueError:\n    pass\nexcept* (TypeError, KeyError) as group:\n    raise\n",
        ),
        (
            "3.11 *args: *Ts (PEP 646)",
            "def f(*args: *Ts) -> tuple[*Ts]:\n    pass\n",
        ),
        (
            "3.11 starred names in generic types (PEP 646)",
            "x: tuple[int, *Ts]\ny: Array[*Shape]\nz: tuple[int, *tuple[str, ...]]\n",
        ),
        (
            "3.11 starred names in subscripts (PEP 646)",
            "a[*b]\na[1, *b]\na[*b, *c] = 1\n",
        ),
        (
            "3.11 a starred tuple last in a generic type (PEP 646)",
            "x: Annotated[str, *(1, 2, 3)]\n",
        ),
        (
            "3.11 starred literals in annotations (PEP 646)",
            "def f(x: Annotated[str, *[1, 2]]) -> typing.Annotated[int, *(3,)]:\n    pass\n",
        ),
        (
            "3.11 a starred tuple inside a subscript (PEP 646)",
            "a[1, *(2, 3), 4]\n",
        ),
        (
            "3.12 generic function (PEP 695)",
            "def f[T](x: T) -> T:\n    return x\n",
        ),
        (
            "3.12 generic coroutine with bounds, TypeVarTuple, ParamSpec (PEP 695)",
            "async def f[T: int, *Ts, **P](x: T) -> T:\n    return x\n",
        ),
        (
            "3.12 generic class with constraints (PEP 695)",
            "class C[T: (int, str), *Ts, **P](Base):\n    pass\n",
        ),
        (
            "3.12 type statements (PEP 695)",
            "type Alias = int\ntype Pair[T] = tuple[T, T]\ntype Call[**P, *Ts] = Callable[P, tuple[*Ts]]\n",
        ),
        (
            "3.12 f-strings nesting the same quotes (PEP 701)",
            "x = f\"{\"nested\"}\"\ny = f\"{f\"{f\"{1}\"}\"}\"\n",
        ),
        (
            "3.12 f-string with a backslash in an expression (PEP 701)",
            "x = f\"{'\\n'.join(lines)}\"\n",
        ),
        (
            "3.12 multi-line f-string expression with a comment (PEP 701)",
            "x = f\"\"\"{\n    value  # a comment\n}\"\"\"\n",
        ),
        (
            "3.12 f-string conversions, nested format specs, `=` (PEP 701)",
            "x = f\"{value!r:>{width}}\" f\"{value = }\" f\"{x:{\"a\"}}\"\n",
        ),
        (
            "3.13 type-parameter default of a function (PEP 696)",
            "def f[T = int]():\n    pass\n",
        ),
        (
            "3.13 type-parameter default of a class (PEP 696)",
            "class C[T = Any]:\n    pass\n",
        ),
        (
            "3.13 type-parameter bound and default (PEP 696)",
            "def f[T: Base = Default]():\n    pass\n",
        ),
        (
            "3.13 type-parameter default of a type statement (PEP 696)",
            "type A[T = int] = list[T]\n",
        ),
        (
            "3.13 TypeVarTuple default (PEP 696)",
            "class C[*Ts = *tuple[int]]:\n    pass\n",
        ),
        (
            "3.13 ParamSpec default (PEP 696)",
            "class C[**P = [int, str]]:\n    pass\n",
        ),
        (
            "3.13 type-parameter bounds and defaults that are attributes and generics (PEP 696)",
            "class D[_T: mod.Device = mod.Device, U: Mapping[str, Any] = Mapping[str, Any]](Base):\n    pass\n",
        ),
        (
            "3.13 a default after a plain parameter, defaults naming earlier ones (PEP 696)",
            "class E[C, I = int, J = I](Base):\n    pass\n",
        ),
        (
            "3.13 a multi-line type-parameter list with a comment (PEP 696)",
            "class U[\n    _D: D[Any] = D[\n        Any  # any data\n    ],\n]:\n    pass\n",
        ),
        (
            "3.14 template strings (PEP 750)",
            "x = t\"hello {name}\"\ny = t\"{value!r:>10}\" rt\"raw {x}\" tr\"raw {y}\"\n",
        ),
        (
            "3.14 except without parentheses (PEP 758)",
            "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
        ),
        (
            "3.14 except* without parentheses (PEP 758)",
            "try:\n    pass\nexcept* ValueError, TypeError:\n    pass\n",
        ),
        (
            "3.14 return in finally, a warning only (PEP 765)",
            "def f():\n    try:\n        pass\n    finally:\n        return 1\n",
        ),
    ];

    /// Valid syntax that tree-sitter-python 0.25.0 (the latest release) rejects: starred items
    /// it recovers from in shapes that cannot be told from broken code. (It rejects
    /// type-parameter defaults too, tree-sitter/tree-sitter-python#346, which are recognised,
    /// see `crate::type_defaults`.)
    const UNSUPPORTED_SYNTAX: &[(&str, &str)] = &[
        (
            "3.11 a starred tuple first in a generic type (PEP 646)",
            "x: tuple[*(int, str)]\n",
        ),
        (
            "3.11 a starred tuple first in a subscript (PEP 646)",
            "a[*(1, 2)]\n",
        ),
        (
            "3.11 a starred tuple before another item of a generic type (PEP 646)",
            "x: Annotated[str, *(1, 2), int]\n",
        ),
        (
            "3.11 a starred await (PEP 646)",
            "async def f():\n    x: Annotated[str, *await g()]\n",
        ),
    ];

    #[test]
    fn python_3_11_to_3_14_syntax_parses() {
        for (construct, code) in MODERN_SYNTAX {
            let parsed = ParsedModule::parse(code).expect("parses");
            assert!(
                parsed.is_valid(),
                "{construct}: {:?}\n{code}",
                parsed.syntax_errors
            );
        }
    }

    /// When this fails, a newer grammar parses the construct: move it to [`MODERN_SYNTAX`] and
    /// update the documentation of E999.
    #[test]
    fn valid_syntax_the_grammar_rejects_is_still_rejected() {
        for (construct, code) in UNSUPPORTED_SYNTAX {
            let parsed = ParsedModule::parse(code).expect("parses");
            assert!(!parsed.is_valid(), "{construct} parses now:\n{code}");
        }
    }

    /// Recognising valid starred subscript items hides no real syntax error next to them.
    #[test]
    fn broken_starred_items_stay_syntax_errors() {
        let broken = [
            "x: Annotated[str, *]\n",
            "x: Annotated[str, *(1, 2]\n",
            "x: Annotated[str, **(1, 2)]\n",
            "x: Annotated[str, *(1, 2) 3]\n",
            "x: Annotated[str, * *a]\n",
            "x: Annotated[str, *x := 1]\n",
            "x: Annotated[str, *yield]\n",
            "x: A[str, *(1, 2)\n",
            "x: A[str, *, int]\n",
            "a[1, , *(2, 3)]\n",
            "a[1, *]\n",
            "type X[T, *(1, 2)] = int\n",
            "def f[T, *(1, 2)]():\n    pass\n",
            "class C[T, *(1, 2)]:\n    pass\n",
            // Type-parameter defaults gone wrong.
            "class C[T = int, U]:\n    pass\n",
            "def f[T = ]():\n    pass\n",
            "class C[*Ts: int = int]:\n    pass\n",
            "type A[T = int = str] = int\n",
            "class C[T = int](:\n    pass\n",
        ];
        for code in broken {
            let parsed = ParsedModule::parse(code).expect("parses");
            assert!(!parsed.is_valid(), "no syntax error in:\n{code}");
        }
    }

    /// `(line, column, code)` of every finding with the default rules, 1-based.
    fn findings(text: &str) -> Vec<(usize, usize, &'static str)> {
        let file = crate::SourceFile::new("m.py", text);
        crate::check_file(&file, &crate::Settings::default())
            .iter()
            .map(|d| {
                let at = file.line_index.line_column(d.range.start, text);
                (at.line, at.column, d.code())
            })
            .collect()
    }

    const LONE_CR: &str = "import time\r\rasync def f():\r    x = 1\r    time.sleep(1)\r";

    #[test]
    fn a_lone_cr_is_a_line_break() {
        let parsed = ParsedModule::parse(LONE_CR).expect("parses");
        assert!(parsed.is_valid(), "{:?}", parsed.syntax_errors);
        // The tree of the same text with `\n` line endings, node for node and point for point.
        let with_newlines = ParsedModule::parse(&LONE_CR.replace('\r', "\n")).expect("parses");
        assert_eq!(positions(&parsed), positions(&with_newlines));
        assert_eq!(findings(LONE_CR), [(5, 5, "AIO200")]);
        // Mixed: `\r\n`, a lone `\r` and `\n`.
        let mixed = "import time\r\n\rasync def f():\n    x = 1\r\n    time.sleep(1)\r";
        assert!(ParsedModule::parse(mixed).is_some_and(|p| p.is_valid()));
        assert_eq!(findings(mixed), [(5, 5, "AIO200")]);
    }

    /// A `\r\n` file reaches tree-sitter as it is, uncopied, as does a file without `\r`.
    #[test]
    fn crlf_and_newline_texts_are_not_copied() {
        let crlf = "import time\r\n\r\nasync def f():\r\n    time.sleep(1)\r\n";
        assert!(matches!(normalized(crlf.as_bytes()), Cow::Borrowed(_)));
        assert!(matches!(normalized(b"a = 1\n"), Cow::Borrowed(_)));
        assert_eq!(&*normalized(b"a\rb\r\nc\r\r"), b"a\nb\r\nc\n\n");
        assert!(ParsedModule::parse(crlf).is_some_and(|p| p.is_valid()));
        assert_eq!(findings(crlf), [(4, 5, "AIO200")]);
        // A `\r` that ends a piece is lone unless the text goes on with `\n`.
        let text = b"a\r\nb\rc\r";
        let mut read = |offset: usize| -> &[u8] {
            let end = match offset {
                0..2 => 2,
                2..5 => 5,
                _ => text.len(),
            };
            text.get(offset..end).unwrap_or_default()
        };
        assert_eq!(&*normalized_piece(&mut read, 0), b"a\r");
        assert_eq!(&*normalized_piece(&mut read, 2), b"\nb\n");
        assert_eq!(&*normalized_piece(&mut read, 5), b"c\n");
    }

    /// Strings, comments and continuations across lone `\r`s. A triple-quoted string keeps its
    /// `\r`s in the text (Python reads them as `\n`); what follows it is on the right lines.
    #[test]
    fn multi_line_tokens_across_lone_crs() {
        let text = "import time\rDOC = \"\"\"one\rtwo\r\"\"\"\rx = (1 +\r     2) \\\r    + 3\rasync def f():\r    time.sleep(1)  # noqa: AIO200\r    time.sleep(2)  # a comment\r    time.sleep(3)\r";
        let parsed = ParsedModule::parse(text).expect("parses");
        assert!(parsed.is_valid(), "{:?}", parsed.syntax_errors);
        let with_newlines = ParsedModule::parse(&text.replace('\r', "\n")).expect("parses");
        assert_eq!(positions(&parsed), positions(&with_newlines));
        let start = text.find("\"\"\"one").unwrap_or_default();
        let end = text.find("\r\"\"\"").unwrap_or_default() + 4;
        let string = parsed
            .root()
            .descendant_for_byte_range(start, end)
            .expect("the string");
        assert_eq!(string.kind(), "string");
        assert_eq!(&text[string.byte_range()], "\"\"\"one\rtwo\r\"\"\"");
        // Each comment ends at its line's `\r`, so the `# noqa` silences its own line only.
        assert_eq!(findings(text), [(10, 5, "AIO200"), (11, 5, "AIO200")]);
    }

    /// An edit that makes a lone `\r` part of a `\r\n` (and back), reparsed from pieces of a few
    /// bytes, gives the tree of a fresh parse, points included.
    #[test]
    fn incremental_reparse_of_lone_crs_matches_a_fresh_parse() {
        let mut text = LONE_CR.to_string();
        let mut parsed = ParsedModule::parse(&text).expect("parses");
        // (offset, removed bytes, inserted text)
        let edits: &[(usize, usize, &str)] = &[
            (12, 0, "\n"),    // `\r\r` becomes `\r\r\n`
            (13, 1, ""),      // and back
            (11, 1, "\r\n"),  // the first `\r` becomes `\r\n`
            (12, 0, "# c\r"), // a comment line between the `\r` and `\n` of a `\r\n`
            (5, 0, "\r"),     // `imp\rort`: a syntax error
            (5, 1, ""),
        ];
        for &(start, removed, inserted) in edits {
            let old_end = start + removed;
            let new_text = format!("{}{inserted}{}", &text[..start], &text[old_end..]);
            let new_end = start + inserted.len();
            // The byte before a change may turn from a lone `\r` into one of `\r\n`: the edit
            // starts before it.
            let start = if text[..start].ends_with('\r') {
                start - 1
            } else {
                start
            };
            parsed.edit(&InputEdit {
                start_byte: start,
                old_end_byte: old_end,
                new_end_byte: new_end,
                start_point: point_at(&text, start),
                old_end_point: point_at(&text, old_end),
                new_end_point: point_at(&new_text, new_end),
            });
            let bytes = new_text.as_bytes();
            let reparsed = parsed
                .reparse(&mut |offset| {
                    let end = (offset + 3).min(bytes.len());
                    bytes.get(offset..end).unwrap_or_default()
                })
                .expect("reparses");
            let fresh = ParsedModule::parse(&new_text).expect("parses");
            assert_eq!(positions(&reparsed), positions(&fresh), "{new_text:?}");
            assert_eq!(reparsed.is_valid(), fresh.is_valid(), "{new_text:?}");
            text = new_text;
            parsed = reparsed;
        }
    }

    /// `text` with `insert` put at `at`: the old parse with the edit recorded, the incremental
    /// reparse, a parse from scratch, and the new text.
    fn edit_at(
        text: &str,
        at: usize,
        insert: &str,
    ) -> (ParsedModule, ParsedModule, ParsedModule, String) {
        let new_text = format!("{}{insert}{}", &text[..at], &text[at..]);
        let mut edited = ParsedModule::parse(text).expect("parses");
        edited.edit(&InputEdit {
            start_byte: at,
            old_end_byte: at,
            new_end_byte: at + insert.len(),
            start_point: point_at(text, at),
            old_end_point: point_at(text, at),
            new_end_point: point_at(&new_text, at + insert.len()),
        });
        let bytes = new_text.as_bytes();
        let incremental = edited
            .reparse(&mut |offset| bytes.get(offset..).unwrap_or_default())
            .expect("reparses");
        let fresh = ParsedModule::parse(&new_text).expect("parses");
        (edited, incremental, fresh, new_text)
    }

    /// What the re-check's agreement with a whole parse rests on: outside the edited function,
    /// the nodes of the edited tree are those of the new parse, incremental or from scratch;
    /// an unclosed bracket that swallows the next function is told, and so is a change inside
    /// the function when it is not left out.
    #[test]
    fn same_outside_compares_everything_but_the_edited_ranges() {
        let text = "def f():\n    x = 1\n\n\nclass C:\n    def g(self:\n        return [\n\n\ndef h():\n    pass\n";
        let at = text.find("1\n").expect("in the text");
        let function =
            |new_text: &str| TextRange::new(0, new_text.find("\n\n\nclass").expect("f ends"));
        let (edited, incremental, fresh, new_text) = edit_at(text, at, "2 + 3");
        let inside = [function(&new_text)];
        assert!(edited.same_outside(&incremental, &inside));
        assert!(edited.same_outside(&fresh, &inside));
        assert!(
            !edited.same_outside(&fresh, &[]),
            "the function changed inside"
        );
        // `x = (1`: the bracket swallows what follows.
        let (edited, incremental, fresh, new_text) = edit_at(text, at, "(");
        let f_end = new_text.find("1\n").expect("in the text") + 1;
        let inside = [TextRange::new(0, f_end)];
        assert!(!edited.same_outside(&incremental, &inside));
        assert!(!edited.same_outside(&fresh, &inside));
        // A tree agrees with itself, whatever is left out.
        let parsed = ParsedModule::parse(text).expect("parses");
        assert!(parsed.same_outside(&parsed.clone(), &[]));
    }

    #[test]
    fn syntax_errors_are_collected() {
        let parsed = ParsedModule::parse("def f(:\n    pass\n").expect("parses");
        assert!(!parsed.is_valid());
        assert_eq!(parsed.syntax_errors[0].range.start, 6);
    }
}
