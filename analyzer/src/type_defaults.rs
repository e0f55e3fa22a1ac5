//! Type-parameter defaults (PEP 696, Python 3.13: `class Box[T = int]`, `def f[T: Base = Impl]`,
//! `type Pair[*Ts = *tuple[int]] = ...`), which tree-sitter-python 0.25 does not know: it
//! recovers with `ERROR` nodes placed differently for each shape (around `NAME =`, around
//! `= DEFAULT`, inside a bound's attribute). Rather than match those shapes, the type-parameter
//! list an error is in is checked as text: when every item is `[*|**]NAME[: BOUND][= DEFAULT]`,
//! bounds only on plain names, and no item without a default follows one with a default (a
//! `SyntaxError` in Python), the errors inside it are not syntax errors. The bounds and defaults
//! themselves are not checked (a broken expression there goes unreported: silent when unsure).

use tree_sitter::Node;

use crate::syntax::NodeExt;

/// The type-parameter list of a `def`, `class` or `type` statement that `node` is inside, if
/// any (the outermost, when lists nest).
pub(crate) fn enclosing_type_parameters(node: Node<'_>) -> Option<Node<'_>> {
    let mut found = None;
    let mut current = node.parent();
    while let Some(ancestor) = current {
        if ancestor.node_kind() == "type_parameter" && defines_parameters(ancestor) {
            found = Some(ancestor);
        }
        current = ancestor.parent();
    }
    found
}

/// Whether `list` (a `type_parameter` node) defines type parameters: those of a `def` or
/// `class`, or the left side of a `type` statement (`type Alias[T] = ...`), not the arguments
/// of a generic type in an annotation.
fn defines_parameters(list: Node<'_>) -> bool {
    let Some(parent) = list.parent() else {
        return false;
    };
    match parent.node_kind() {
        "function_definition" | "class_definition" => true,
        "generic_type" => parent
            .parent()
            .filter(|wrapper| wrapper.node_kind() == "type")
            .is_some_and(|wrapper| {
                wrapper.parent().is_some_and(|statement| {
                    statement.node_kind() == "type_alias_statement"
                        && statement
                            .field("left")
                            .is_some_and(|left| left.id() == wrapper.id())
                })
            }),
        _ => false,
    }
}

/// Whether `text` (a type-parameter list with its brackets) is well formed with defaults.
pub(crate) fn is_valid_list(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return false;
    };
    let inner = without_comments(inner);
    let items = split_top_level(&inner, ',');
    let count = items.len();
    let mut seen_default = false;
    for (position, item) in items.into_iter().enumerate() {
        let item = item.trim();
        if item.is_empty() {
            // Only a trailing comma may leave an empty item.
            if position + 1 == count && position > 0 {
                continue;
            }
            return false;
        }
        let Some(has_default) = item_has_default(item) else {
            return false;
        };
        if seen_default && !has_default {
            return false;
        }
        seen_default |= has_default;
    }
    true
}

/// Whether a well-formed item (`[*|**]NAME[: BOUND][= DEFAULT]`) has a default; `None` when
/// it is not well formed.
fn item_has_default(item: &str) -> Option<bool> {
    let (stars, rest) = match item.strip_prefix("**") {
        Some(rest) => (2, rest),
        None => item.strip_prefix('*').map_or((0, item), |rest| (1, rest)),
    };
    let (head, default) = match split_top_level(rest, '=').as_slice() {
        [head] => (*head, None),
        [head, default] => (*head, Some(default.trim())),
        _ => return None,
    };
    if default.is_some_and(|d| d.is_empty() || d.starts_with('=')) {
        return None;
    }
    let (name, bound) = match split_top_level(head, ':').as_slice() {
        [name] => (name.trim(), None),
        [name, bound] if stars == 0 => (name.trim(), Some(bound.trim())),
        _ => return None,
    };
    let name_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    (name_ok && bound.is_none_or(|b| !b.is_empty())).then_some(default.is_some())
}

/// `text` without its comments (strings kept as they are).
fn without_comments(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    for c in text.chars() {
        if comment {
            comment = c != '\n';
            if comment {
                continue;
            }
        } else if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
        } else if c == '#' {
            comment = true;
            continue;
        } else if c == '"' || c == '\'' {
            quote = Some(c);
        }
        kept.push(c);
    }
    kept
}

/// `text` (without comments) split at each `separator` outside brackets and strings.
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (offset, c) in text.char_indices() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if c == separator && depth == 0 => {
                parts.push(&text[start..offset]);
                start = offset + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::is_valid_list;

    #[test]
    fn well_formed_lists_with_defaults() {
        for list in [
            "[T = int]",
            "[T: Base = Base]",
            "[_T: blk.Device = blk.Device]",
            "[C, I = int]",
            "[*Ts = *tuple[int, str]]",
            "[**P = [int, str]]",
            "[T: (int, str) = int, U = T]",
            "[\n    _D: D[Any] = D[\n        Any\n    ],\n]",
            "[T: Mapping[str, Any] = Mapping[str, Any]]",
            "[T: \"Fwd, Ref\" = \"Fwd\"]",
            "[T = int,  # the usual\n U = str]",
        ] {
            assert!(is_valid_list(list), "{list}");
        }
    }

    #[test]
    fn malformed_lists_are_not_accepted() {
        for list in [
            "[T = int, U]",
            "[T = ]",
            "[T ==  int]",
            "[*Ts: int = int]",
            "[T: = int]",
            "[1 = int]",
            "[T = int = str]",
            "[, T = int]",
            "[T = int,,]",
            "T = int",
        ] {
            assert!(!is_valid_list(list), "{list}");
        }
    }
}
