//! Small conveniences on tree-sitter nodes. Every accessor returns an `Option`: code is always
//! allowed to be broken.

use tree_sitter::Node;

pub(crate) trait NodeExt<'t> {
    /// The node's source text (empty if the range is not valid for `source`).
    fn text<'s>(&self, source: &'s str) -> &'s str;
    fn field(&self, name: &str) -> Option<Node<'t>>;
    /// Named children, skipping comments.
    fn named_children_vec(&self) -> Vec<Node<'t>>;
    /// Whether this is a `function_definition` written `async def`.
    fn is_async_def(&self) -> bool;
    /// Unwraps any number of enclosing parentheses.
    fn unparenthesized(self) -> Node<'t>;
}

impl<'t> NodeExt<'t> for Node<'t> {
    fn text<'s>(&self, source: &'s str) -> &'s str {
        source.get(self.byte_range()).unwrap_or("")
    }

    fn field(&self, name: &str) -> Option<Node<'t>> {
        self.child_by_field_name(name)
    }

    fn named_children_vec(&self) -> Vec<Node<'t>> {
        let mut cursor = self.walk();
        self.named_children(&mut cursor)
            .filter(|child| child.kind() != "comment")
            .collect()
    }

    fn is_async_def(&self) -> bool {
        matches!(self.kind(), "function_definition")
            && self.child(0).is_some_and(|first| first.kind() == "async")
    }

    fn unparenthesized(self) -> Node<'t> {
        let mut node = self;
        while node.kind() == "parenthesized_expression" {
            let inner = node.named_children_vec();
            match inner.as_slice() {
                [only] => node = *only,
                _ => break,
            }
        }
        node
    }
}
