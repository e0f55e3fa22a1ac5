//! Adding an import, or another module-level statement, to a module as part of a fix.

use tree_sitter::Node;

use crate::fix::Edit;
use crate::line_index::{newline_of, next_line_start};
use crate::syntax::NodeExt;

/// An edit that adds `import {module}` on its own line: after the leading block of top-level
/// imports if there is one, else after the module docstring and `from __future__` imports.
pub(crate) fn add_import(root: Node<'_>, source: &str, module: &str) -> Edit {
    insert_after_imports(root, source, &format!("import {module}"))
}

/// An edit that adds `new_statement`, one module-level line,, where [`add_import`] would put an
/// import: below the leading imports, so that everything after them can use it.
pub(crate) fn insert_after_imports(root: Node<'_>, source: &str, new_statement: &str) -> Edit {
    let statements = root.named_children_vec();
    let mut insert_after: Option<Node<'_>> = None;
    let mut seen_import = false;
    for (index, statement) in statements.iter().enumerate() {
        let is_docstring = index == 0
            && statement.node_kind() == "expression_statement"
            && statement
                .named_child(0)
                .is_some_and(|s| s.node_kind() == "string");
        match statement.node_kind() {
            "future_import_statement" => insert_after = Some(*statement),
            "import_statement" | "import_from_statement" => {
                insert_after = Some(*statement);
                seen_import = true;
            }
            "comment" => {}
            _ if is_docstring => insert_after = Some(*statement),
            _ => break,
        }
        if seen_import
            && !matches!(
                statement.node_kind(),
                "import_statement" | "import_from_statement" | "comment"
            )
        {
            break;
        }
    }
    let newline = newline_of(source);
    if let Some(statement) = insert_after {
        // After the end of the statement's line (keeping any trailing comment on it).
        match next_line_start(source, statement.end_byte()) {
            Some(next) => Edit::insert(next, format!("{new_statement}{newline}")),
            None => Edit::insert(source.len(), format!("{newline}{new_statement}")),
        }
    } else {
        // At the top, below a shebang or encoding comment.
        let mut offset = 0;
        while offset < source.len() {
            let trimmed = source[offset..].trim_start_matches([' ', '\t', '\x0c']);
            let Some(next) = next_line_start(source, offset) else {
                break;
            };
            if trimmed.starts_with("#!")
                || (trimmed.starts_with('#') && source[offset..next].contains("coding"))
            {
                offset = next;
            } else {
                break;
            }
        }
        Edit::insert(offset, format!("{new_statement}{newline}"))
    }
}
