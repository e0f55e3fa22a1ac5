//! Pre-order traversal with a cursor and an explicit ancestor stack: never recursion on the Rust
//! stack, so arbitrarily deep trees are fine.

use tree_sitter::{Node, TreeCursor};

use super::ext::field_name;

/// What a [`walk`] visitor sees of each node.
pub(crate) struct Visit<'a, 't> {
    pub node: Node<'t>,
    /// The field name under which `node` hangs in its parent, if any.
    pub field: Option<&'static str>,
    /// All ancestors of `node`, root first.
    pub ancestors: &'a [Node<'t>],
}

/// Whether the walk should enter the children of the node just visited.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Descend {
    Yes,
    No,
}

/// Something that walks a tree.
pub(crate) trait Visitor<'t> {
    /// Called before the node's children.
    fn enter(&mut self, visit: &Visit<'_, 't>) -> Descend;
    /// Called after the node's children (also when they were skipped).
    fn leave(&mut self, _node: Node<'t>) {}
}

/// Visits every node under `root` in pre-order.
pub(crate) fn walk<'t>(root: Node<'t>, visitor: &mut impl Visitor<'t>) {
    let mut cursor: TreeCursor<'t> = root.walk();
    let mut ancestors: Vec<Node<'t>> = Vec::new();
    loop {
        let node = cursor.node();
        let descend = visitor.enter(&Visit {
            node,
            field: field_name(cursor.field_id()),
            ancestors: &ancestors,
        });
        if descend == Descend::Yes && cursor.goto_first_child() {
            ancestors.push(node);
            continue;
        }
        visitor.leave(node);
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            let Some(parent) = ancestors.pop() else {
                return;
            };
            visitor.leave(parent);
        }
    }
}
