//! A source file handed to the analyzer.

use std::sync::Arc;

use crate::line_index::LineIndex;

/// What kind of file a [`SourceFile`] holds, which changes what some rules consider legal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SourceKind {
    /// A regular `.py` module.
    #[default]
    Module,
    /// A `.pyi` stub: indexed, never linted.
    Stub,
    /// The code cells of a Jupyter notebook, joined: an event loop is already running.
    Notebook,
}

/// The text of one file with its path as given by the caller.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: Arc<str>,
    pub line_index: LineIndex,
    pub kind: SourceKind,
    /// For a notebook, the map from lines of `text` back to its cells.
    pub notebook: Option<Arc<crate::notebook::Notebook>>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let line_index = LineIndex::new(&text);
        Self {
            path: path.into(),
            text,
            line_index,
            kind: SourceKind::Module,
            notebook: None,
        }
    }
}
