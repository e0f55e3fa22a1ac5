//! Running the analyzer on an open document or a file on disk, and converting the result.
//!
//! Everything here is synchronous and CPU-bound: callers run it on tokio's blocking pool, which
//! also turns a panic inside the analyzer into a `JoinError` instead of a dead server.

use std::path::Path;

use analyzer::{
    Diagnostic, ParsedModule, Settings, SourceFile, SourceKind, check_file, check_parsed,
};
use ropey::Rope;
use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::convert::{PositionEncoding, to_proto};
use crate::document::Snapshot;

/// The findings of one version of an open document.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub version: i32,
    pub epoch: u64,
    pub diagnostics: Vec<Diagnostic>,
    /// `diagnostics` for the client, in the session's encoding.
    pub published: Vec<lsp::Diagnostic>,
    /// The syntax tree the analysis used, for the document to reparse from next time.
    pub parsed: Option<ParsedModule>,
}

impl Analysis {
    /// Whether this analysis is of the document's current text.
    pub(crate) fn is_of(&self, snapshot: &Snapshot) -> bool {
        self.version == snapshot.version && self.epoch == snapshot.epoch
    }
}

pub(crate) fn analyze(
    snapshot: &Snapshot,
    settings: &Settings,
    encoding: PositionEncoding,
) -> Analysis {
    let file = snapshot.source_file();
    let parsed = snapshot.parse();
    let diagnostics = match &parsed {
        Some(parsed) => check_parsed(&file, parsed, settings),
        None => check_file(&file, settings),
    };
    let published = diagnostics
        .iter()
        .map(|d| {
            to_proto::diagnostic(
                &snapshot.rope,
                encoding,
                &snapshot.uri,
                Some(snapshot.version),
                d,
                &resolve_on_disk,
            )
        })
        .collect();
    Analysis {
        version: snapshot.version,
        epoch: snapshot.epoch,
        diagnostics,
        published,
        parsed,
    }
}

/// Checks a file that is not open, reading it from disk. Unreadable files get the analyzer's
/// I/O diagnostic rather than silence.
pub(crate) fn analyze_path(
    path: &Path,
    settings: &Settings,
    encoding: PositionEncoding,
) -> Option<(Uri, Vec<lsp::Diagnostic>)> {
    let uri = Uri::from_file_path(path)?;
    let text = match std::fs::read(path).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(error)) => {
            let offset = error.utf8_error().valid_up_to();
            let message = format!("file is not valid UTF-8 (invalid byte at offset {offset})");
            return Some((
                uri.clone(),
                one(&uri, &analyzer::io_error(message), encoding),
            ));
        }
        Err(error) => {
            let diagnostic = analyzer::io_error(format!("cannot read file: {error}"));
            return Some((uri.clone(), one(&uri, &diagnostic, encoding)));
        }
    };
    let mut file = SourceFile::new(path.to_string_lossy().into_owned(), text);
    if path.extension().is_some_and(|e| e == "pyi") {
        file.kind = SourceKind::Stub;
    }
    let rope = Rope::from_str(&file.text);
    let diagnostics = check_file(&file, settings)
        .iter()
        .map(|d| to_proto::diagnostic(&rope, encoding, &uri, None, d, &resolve_on_disk))
        .collect();
    Some((uri, diagnostics))
}

fn one(uri: &Uri, diagnostic: &Diagnostic, encoding: PositionEncoding) -> Vec<lsp::Diagnostic> {
    let rope = Rope::new();
    vec![to_proto::diagnostic(
        &rope,
        encoding,
        uri,
        None,
        diagnostic,
        &resolve_on_disk,
    )]
}

/// Finds a file that a related location points into. The analyzer reports paths as it was
/// given them, which for the server are absolute file paths.
fn resolve_on_disk(path: &str) -> Option<(Uri, Rope)> {
    let text = std::fs::read_to_string(path).ok()?;
    Some((Uri::from_file_path(path)?, Rope::from_str(&text)))
}
