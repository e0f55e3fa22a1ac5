//! The module's tree as the model's one walk saw it: every node that has children, in
//! pre-order, with its scope and its parent. The rules and the summary look at these nodes
//! (calls, awaits, attributes, `with`, `except`, definitions, ...: none of them is a leaf), so
//! they iterate this list instead of walking the tree again with a cursor.

use tree_sitter::Node;

use super::model::ScopeId;

/// No parent: the root.
const ROOT: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Entry<'t> {
    node: Node<'t>,
    /// The index of the parent's entry.
    parent: u32,
    scope: ScopeId,
}

/// The non-leaf nodes of a tree, in pre-order.
#[derive(Debug, Default)]
pub(crate) struct Outline<'t> {
    entries: Vec<Entry<'t>>,
    /// The entries of the nodes the walk is inside, while recording.
    open: Vec<u32>,
}

impl<'t> Outline<'t> {
    /// Records `node` (entered by the walk, in `scope`) if it has children.
    pub(super) fn enter(&mut self, node: Node<'t>, scope: ScopeId) {
        if node.child_count() == 0 {
            return;
        }
        let Ok(index) = u32::try_from(self.entries.len()) else {
            return;
        };
        self.entries.push(Entry {
            node,
            parent: self.open.last().copied().unwrap_or(ROOT),
            scope,
        });
        self.open.push(index);
    }

    /// The walk leaves `node`.
    pub(super) fn leave(&mut self, node: Node<'t>) {
        if let Some(&last) = self.open.last()
            && self
                .entries
                .get(last as usize)
                .is_some_and(|e| e.node == node)
        {
            self.open.pop();
        }
    }

    /// Calls `visit` with every recorded node outside `ERROR` subtrees, in pre-order, with its
    /// scope and its ancestors (root first), as a cursor walk that skips `ERROR` nodes would.
    pub(crate) fn visit(&self, mut visit: impl FnMut(Node<'t>, ScopeId, &[Node<'t>])) {
        let mut path: Vec<u32> = Vec::new();
        let mut ancestors: Vec<Node<'t>> = Vec::new();
        // How many ancestors an `ERROR` node being skipped has.
        let mut error_depth: Option<usize> = None;
        for (index, entry) in (0u32..).zip(&self.entries) {
            while path.last().is_some_and(|&open| open != entry.parent) {
                path.pop();
                ancestors.pop();
            }
            if error_depth.is_some_and(|depth| ancestors.len() <= depth) {
                error_depth = None;
            }
            if error_depth.is_none() {
                if entry.node.is_error() {
                    error_depth = Some(ancestors.len());
                } else {
                    visit(entry.node, entry.scope, &ancestors);
                }
            }
            path.push(index);
            ancestors.push(entry.node);
        }
    }
}
