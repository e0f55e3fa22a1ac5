//! Helpers over tree-sitter nodes.

pub(crate) mod ext;
pub(crate) mod walk;

pub(crate) use ext::NodeExt;
