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
    walk_from(root, None, &mut Vec::new(), &[], visitor);
}

/// Visits every node under `root` in pre-order, but for each `(replaced, replacement)` of
/// `splices`, `replacement` (the root of a subtree of another tree, for the same text) and its
/// descendants in place of `replaced` (a node under `root`) and its descendants.
pub(crate) fn walk_spliced<'t>(
    root: Node<'t>,
    splices: &[(Node<'t>, Node<'t>)],
    visitor: &mut impl Visitor<'t>,
) {
    walk_from(root, None, &mut Vec::new(), splices, visitor);
}

/// Walks the subtree of `root` (under `field` of the last of `ancestors`). The one recursion
/// is into a splice's replacement, which has no splice of its own.
fn walk_from<'t>(
    root: Node<'t>,
    root_field: Option<&'static str>,
    ancestors: &mut Vec<Node<'t>>,
    splices: &[(Node<'t>, Node<'t>)],
    visitor: &mut impl Visitor<'t>,
) {
    let base = ancestors.len();
    let mut cursor: TreeCursor<'t> = root.walk();
    loop {
        let node = cursor.node();
        let field = if ancestors.len() == base {
            root_field
        } else {
            field_name(cursor.field_id())
        };
        if let Some(&(_, replacement)) = splices.iter().find(|(replaced, _)| *replaced == node) {
            walk_from(replacement, field, ancestors, &[], visitor);
        } else {
            let descend = visitor.enter(&Visit {
                node,
                field,
                ancestors,
            });
            if descend == Descend::Yes && cursor.goto_first_child() {
                ancestors.push(node);
                continue;
            }
            visitor.leave(node);
        }
        loop {
            if ancestors.len() == base {
                return;
            }
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
