//! Small conveniences on tree-sitter nodes. Every accessor returns an `Option`: code is always
//! allowed to be broken.

use std::num::NonZeroU16;
use std::sync::LazyLock;

use rustc_hash::FxHashMap;
use tree_sitter::{Language, Node};

/// Node kind names by kind id, read from the grammar once: `Node::kind` converts a C string
/// (length and UTF-8 check) on every call, which shows in profiles.
static KIND_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let language: Language = tree_sitter_python::LANGUAGE.into();
    (0..language.node_kind_count())
        .map(|id| {
            u16::try_from(id)
                .ok()
                .and_then(|id| language.node_kind_for_id(id))
                .unwrap_or("")
        })
        .collect()
});

/// Field names by field id, and field ids by name, read from the grammar once.
static FIELDS: LazyLock<(Vec<&'static str>, FxHashMap<&'static str, NonZeroU16>)> =
    LazyLock::new(|| {
        let language: Language = tree_sitter_python::LANGUAGE.into();
        let mut names = vec![""];
        let mut ids = FxHashMap::default();
        for id in 1..=language.field_count() {
            let Ok(id) = u16::try_from(id) else { break };
            let name = language.field_name_for_id(id).unwrap_or("");
            names.push(name);
            if let Some(id) = NonZeroU16::new(id) {
                ids.insert(name, id);
            }
        }
        (names, ids)
    });

/// The name of field `id` (as a cursor reports it).
pub(crate) fn field_name(id: Option<NonZeroU16>) -> Option<&'static str> {
    id.and_then(|id| FIELDS.0.get(usize::from(id.get())).copied())
}

pub(crate) trait NodeExt<'t> {
    /// The node's kind (`call`, `identifier`...), without `Node::kind`'s per-call conversion.
    fn node_kind(&self) -> &'static str;
    /// The node's source text (empty if the range is not valid for `source`).
    fn text<'s>(&self, source: &'s str) -> &'s str;
    fn field(&self, name: &str) -> Option<Node<'t>>;
    /// Named children, skipping comments.
    fn named_children_vec(&self) -> Vec<Node<'t>>;
    /// Whether this is a `function_definition` written `async def`.
    fn is_async_def(&self) -> bool;
    /// Unwraps any number of enclosing parentheses.
    fn unparenthesized(self) -> Node<'t>;
    /// For an `except` clause, the exceptions it names, with tuples and parentheses unpacked
    /// and `as` targets left out (`except (A, B) as e:` gives `B` and `A`, in no particular
    /// order); none for a bare `except:`.
    fn caught_exceptions(&self) -> Vec<Node<'t>>;
    /// For a function's body, whether every `return` in it (not in nested functions, classes
    /// or lambdas) passes `accept`, given the returned value (`None` for a bare `return`), and
    /// there is at least one.
    fn every_return(&self, accept: &mut dyn FnMut(Option<Node<'t>>) -> bool) -> bool;
}

impl<'t> NodeExt<'t> for Node<'t> {
    fn node_kind(&self) -> &'static str {
        KIND_NAMES
            .get(usize::from(self.kind_id()))
            .copied()
            .unwrap_or("")
    }

    fn text<'s>(&self, source: &'s str) -> &'s str {
        source.get(self.byte_range()).unwrap_or("")
    }

    fn field(&self, name: &str) -> Option<Node<'t>> {
        FIELDS
            .1
            .get(name)
            .and_then(|&id| self.child_by_field_id(id.get()))
    }

    fn caught_exceptions(&self) -> Vec<Node<'t>> {
        let mut cursor = self.walk();
        let mut stack: Vec<Node<'t>> = self
            .children_by_field_name("value", &mut cursor)
            .filter(|c| c.is_named() && c.node_kind() != "comment")
            .collect();
        let mut caught = Vec::new();
        while let Some(node) = stack.pop() {
            match node.node_kind() {
                "tuple" | "parenthesized_expression" | "expression_list" => {
                    stack.extend(node.named_children_vec());
                }
                "as_pattern" => stack.extend(node.named_child(0)),
                _ => caught.push(node),
            }
        }
        caught
    }

    fn every_return(&self, accept: &mut dyn FnMut(Option<Node<'t>>) -> bool) -> bool {
        let mut found = false;
        let mut stack = vec![*self];
        while let Some(node) = stack.pop() {
            match node.node_kind() {
                "function_definition" | "class_definition" | "lambda" => {}
                "return_statement" => {
                    if !accept(node.named_child(0)) {
                        return false;
                    }
                    found = true;
                }
                _ => stack.extend(node.named_children_vec()),
            }
        }
        found
    }

    fn named_children_vec(&self) -> Vec<Node<'t>> {
        let mut cursor = self.walk();
        self.named_children(&mut cursor)
            .filter(|child| child.node_kind() != "comment")
            .collect()
    }

    fn is_async_def(&self) -> bool {
        matches!(self.node_kind(), "function_definition")
            && self
                .child(0)
                .is_some_and(|first| first.node_kind() == "async")
    }

    fn unparenthesized(self) -> Node<'t> {
        let mut node = self;
        while node.node_kind() == "parenthesized_expression" {
            let inner = node.named_children_vec();
            match inner.as_slice() {
                [only] => node = *only,
                _ => break,
            }
        }
        node
    }
}
