//! Adding an import, or another module-level statement, to a module as part of a fix.

use tree_sitter::Node;

use crate::fix::Edit;
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
    let newline = if source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    if let Some(statement) = insert_after {
        // After the end of the statement's line (keeping any trailing comment on it).
        let end = statement.end_byte();
        let line_end = source[end..]
            .find('\n')
            .map_or(source.len(), |i| end + i + 1);
        if line_end == source.len() && !source.ends_with('\n') {
            Edit::insert(line_end, format!("{newline}{new_statement}"))
        } else {
            Edit::insert(line_end, format!("{new_statement}{newline}"))
        }
    } else {
        // At the top, below a shebang or encoding comment.
        let mut offset = 0;
        for line in source.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if trimmed.starts_with("#!") || (trimmed.starts_with('#') && trimmed.contains("coding"))
            {
                offset += line.len();
            } else {
                break;
            }
        }
        Edit::insert(offset, format!("{new_statement}{newline}"))
    }
}
