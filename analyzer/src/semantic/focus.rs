//! A model focused on the edited functions: which function bodies a focused build walks.
//!
//! Re-checking an edited function needs the module's names, the classes, every function's
//! signature, and the whole of the edited function, but not what other functions do inside.
//! Their bodies are skipped, and so is the walk of their signatures (the signature is read
//! off the function's node when a call is inferred; the parameters' bindings are seen only
//! from the body), except where something inside can be seen from outside:
//!
//! - a `yield` makes its function a generator (callers see an async generator, not a
//!   coroutine);
//! - a `global` statement binds module-level names, and so does a `nonlocal` one that has no
//!   enclosing function to bind in (a syntax error Python reports, but the model binds the
//!   name in the scope above: found by the `document` fuzz target);
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

/// One edited function of a focused model: its new text parsed alone, in place of its node in
/// the module's tree.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spliced<'t> {
    /// The edited function, parsed on its own: an outermost `function_definition` (not inside
    /// another function).
    pub function: Node<'t>,
    /// The node `function` stands in for in the module's tree (the function before the edit).
    pub replaced: Node<'t>,
}

/// The functions a focused model is built for.
#[derive(Debug)]
pub(crate) struct Focus<'t> {
    /// The edited functions, in the order of the text.
    pub spliced: Vec<Spliced<'t>>,
    /// The classes whose bodies hold an edited function directly: all their methods are walked.
    classes: Vec<TextRange>,
    /// The names of the edited functions that are plain `def`s: bodies that mention one are
    /// walked.
    sync_names: Vec<&'t str>,
}

impl<'t> Focus<'t> {
    /// The focus on the functions `spliced` (each standing for an outermost
    /// `function_definition` of the module's tree; all trees of `source`).
    pub(crate) fn new(spliced: Vec<Spliced<'t>>, source: &'t str) -> Self {
        let classes = spliced
            .iter()
            .filter_map(|s| enclosing_class(s.replaced))
            .map(|class| class.byte_range().into())
            .collect();
        let sync_names = spliced
            .iter()
            .filter(|s| !s.function.is_async_def())
            .filter_map(|s| s.function.field("name").map(|name| name.text(source)))
            .collect();
        Self {
            spliced,
            classes,
            sync_names,
        }
    }

    /// Each edited function's node in the module's tree, and its new text's node (for
    /// [`crate::syntax::walk::walk_spliced`]).
    pub(crate) fn splices(&self) -> Vec<(Node<'t>, Node<'t>)> {
        self.spliced
            .iter()
            .map(|s| (s.replaced, s.function))
            .collect()
    }

    /// The ranges of the edited functions, in the new text.
    pub(crate) fn ranges(&self) -> Vec<TextRange> {
        self.spliced
            .iter()
            .map(|s| s.function.byte_range().into())
            .collect()
    }

    /// Whether a focused build walks the body of `function` (any `function_definition`, under
    /// `ancestors`, root first).
    pub(crate) fn walks_body(
        &self,
        function: Node<'t>,
        ancestors: &[Node<'t>],
        source: &str,
    ) -> bool {
        let range: TextRange = function.byte_range().into();
        if self
            .spliced
            .iter()
            .any(|s| range.overlaps(s.function.byte_range().into()))
        {
            return true;
        }
        if self
            .classes
            .iter()
            .any(|class| class.start <= range.start && range.end <= class.end)
        {
            return true;
        }
        let Some(body) = function.field("body") else {
            return true;
        };
        let text = body.text(source);
        text.contains("yield")
            || text.contains("global")
            || text.contains("nonlocal")
            || text.contains("def ")
            || self.sync_names.iter().any(|name| text.contains(name))
            || self.may_call(function, ancestors, source)
    }

    /// Whether an edited function may call `function`, an undecorated function that is not a
    /// method (what such a function does with a coroutine passed to it decides whether that
    /// coroutine is lost): its name is a word of an edited function's text.
    fn may_call(&self, function: Node<'t>, ancestors: &[Node<'t>], source: &str) -> bool {
        // (From the walk's ancestors: `Node::parent` searches down from the root.)
        let mut above = ancestors.iter().rev();
        let in_class_or_decorated = above.next().is_some_and(|parent| {
            parent.node_kind() == "decorated_definition"
                || above
                    .next()
                    .is_some_and(|grandparent| grandparent.node_kind() == "class_definition")
        });
        if in_class_or_decorated {
            return false;
        }
        let Some(name) = function.field("name").map(|name| name.text(source)) else {
            return false;
        };
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        self.spliced.iter().any(|s| {
            let edited = s.function.text(source);
            edited.match_indices(name).any(|(at, _)| {
                !word(edited[..at].chars().next_back())
                    && !word(edited[at + name.len()..].chars().next())
            })
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
