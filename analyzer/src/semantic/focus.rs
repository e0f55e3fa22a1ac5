//! A model focused on one function: which function bodies a focused build walks.
//!
//! Re-checking one edited function needs the module's names, the classes, every function's
//! signature, and the whole of the edited function, but not what other functions do inside.
//! Their bodies are skipped, except where something inside can be seen from outside:
//!
//! - a `yield` makes its function a generator (callers see an async generator, not a
//!   coroutine);
//! - a `global` statement binds module-level names;
//! - the methods of the edited function's own class assign the instance attributes it reads
//!   (`self.session = ...`);
//! - a reference to the edited function by name, when it is a plain function: a sync function
//!   passed as a loop callback is judged by where it is passed;
//! - a function the edited function names: what it does with a coroutine passed to it decides
//!   whether that coroutine is lost (`log(fetch())`);
//! - a function that defines functions: a decorator whose wrapper is an `async def` keeps the
//!   functions it decorates coroutine functions.
//!
//! What a focused model lacks is the other classes' instance attributes and the references
//! inside skipped bodies: expressions that depend on them infer to nothing, so the rules stay
//! silent where the whole model might report.

use tree_sitter::Node;

use crate::syntax::NodeExt;
use crate::text_range::TextRange;

/// The function a focused model is built for.
#[derive(Debug)]
pub(crate) struct Focus<'t> {
    /// The edited function, parsed on its own: an outermost `function_definition` (not inside
    /// another function).
    pub function: Node<'t>,
    /// The node `function` stands in for in the module's tree (the function before the edit).
    pub replaced: Node<'t>,
    /// The class whose body holds `function` directly, if any: all its methods are walked.
    class: Option<TextRange>,
    /// The function's name when it is a plain `def`: bodies that mention it are walked.
    sync_name: Option<&'t str>,
}

impl<'t> Focus<'t> {
    /// The focus on `function`, which stands in for `replaced` of the module's tree (both
    /// outermost `function_definition`s of trees of `source`).
    pub(crate) fn new(function: Node<'t>, replaced: Node<'t>, source: &'t str) -> Self {
        let class = enclosing_class(replaced).map(|class| class.byte_range().into());
        let sync_name = (!function.is_async_def())
            .then(|| function.field("name").map(|name| name.text(source)))
            .flatten();
        Self {
            function,
            replaced,
            class,
            sync_name,
        }
    }

    /// Whether a focused build walks the body of `function` (any `function_definition`).
    pub(crate) fn walks_body(&self, function: Node<'t>, source: &str) -> bool {
        let range: TextRange = function.byte_range().into();
        let focused: TextRange = self.function.byte_range().into();
        if range.overlaps(focused) {
            return true;
        }
        if self
            .class
            .is_some_and(|class| class.start <= range.start && range.end <= class.end)
        {
            return true;
        }
        let Some(body) = function.field("body") else {
            return true;
        };
        let text = body.text(source);
        text.contains("yield")
            || text.contains("global")
            || text.contains("def ")
            || self.sync_name.is_some_and(|name| text.contains(name))
            || self.may_call(function, source)
    }

    /// Whether the edited function may call `function`, an undecorated function that is not a
    /// method (what such a function does with a coroutine passed to it decides whether that
    /// coroutine is lost): its name is a word of the edited function's text.
    fn may_call(&self, function: Node<'t>, source: &str) -> bool {
        let in_class_or_decorated = function.parent().is_some_and(|parent| {
            parent.node_kind() == "decorated_definition"
                || parent
                    .parent()
                    .is_some_and(|grandparent| grandparent.node_kind() == "class_definition")
        });
        if in_class_or_decorated {
            return false;
        }
        let Some(name) = function.field("name").map(|name| name.text(source)) else {
            return false;
        };
        let edited = self.function.text(source);
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        edited.match_indices(name).any(|(at, _)| {
            !word(edited[..at].chars().next_back())
                && !word(edited[at + name.len()..].chars().next())
        })
    }
}

/// The class whose body holds `function` (through a decorated definition, if any).
fn enclosing_class(function: Node<'_>) -> Option<Node<'_>> {
    let mut node = function.parent()?;
    if node.node_kind() == "decorated_definition" {
        node = node.parent()?;
    }
    if node.node_kind() != "block" {
        return None;
    }
    node.parent()
        .filter(|n| n.node_kind() == "class_definition")
}
