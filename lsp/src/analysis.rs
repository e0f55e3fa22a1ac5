//! Running the analyzer on an open document or a file on disk, against the project index, and
//! converting the result.
//!
//! Everything here is synchronous and CPU-bound: callers run it on tokio's blocking pool, which
//! also turns a panic inside the analyzer into a `JoinError` instead of a dead server.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use analyzer::{
    Checked, Diagnostic, ModuleCheck, ModuleName, ModuleSummary, ParsedModule, ProjectIndex,
    Rechecked, RecheckedSyntax, Settings, SourceFile, SourceKind, TextChange, check_file,
    check_in_project, recheck_functions, summarize,
};
use ropey::Rope;
use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::convert::{PositionEncoding, to_proto};
use crate::document::Snapshot;
use crate::project::{Origin, module_name, scratch_module_name};
use crate::state::State;

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
    /// The document's module summary (`None` when the parser gave up on it).
    pub summary: Option<Arc<ModuleSummary>>,
    /// The project generation whose index the analysis used.
    pub generation: u64,
    /// The text analysed.
    pub text: Arc<str>,
    /// Whether the whole module was checked. An analysis of a keystroke may re-check only the
    /// function typed in and keep the rest of the previous findings
    /// ([`analyzer::recheck_functions`]): the document is analysed whole again once typing
    /// pauses, and its summary reaches the project then.
    pub complete: bool,
    /// For a partial analysis: the syntax its re-check saw, for [`settle`].
    pub syntax: Option<RecheckedSyntax>,
}

impl Analysis {
    /// Whether this analysis is of the document's current text.
    pub(crate) fn is_of(&self, snapshot: &Snapshot) -> bool {
        self.version == snapshot.version && self.epoch == snapshot.epoch
    }
}

/// Whether an analysis records the document's summary in the project, and which index it may
/// use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// The document's diagnostics task after a change: the summary goes into the project, if
    /// the document is still at this version, and the index may lag behind it when building it
    /// is slow ([`crate::project::Project::index_while_typing`]).
    Keystroke,
    /// The document's diagnostics task, analysing the same text again because the project
    /// changed: the summary is recorded and the index is the current one.
    Refresh,
    /// Someone else (hover, a command): the project is left alone; the current index.
    Nothing,
}

/// The module names of an open document.
pub(crate) fn document_module(state: &State, snapshot: &Snapshot) -> ModuleName {
    match snapshot.uri.to_file_path() {
        Some(path) => module_name(&path, &state.session().folders),
        None => scratch_module_name(snapshot.uri.as_str()),
    }
}

/// Analyses a snapshot of an open document against the project. Unless with
/// [`Record::Nothing`], the document's summary is stored in the project first (so that the
/// index the check runs against has this very text, unless it lags), and the second value says
/// whether that changed the project.
/// `previous` is the document's last analysis: its summary is reused when the text is the same.
pub(crate) fn analyze(
    state: &State,
    snapshot: &Snapshot,
    previous: Option<&Arc<Analysis>>,
    record: Record,
) -> (Analysis, bool) {
    let settings = &state.settings_for(Path::new(&snapshot.path));
    let file = snapshot.source_file();
    let module = document_module(state, snapshot);
    // The changes since the base, inside one function or in several, however many keystrokes
    // they took, are re-checked at once.
    if record == Record::Keystroke
        && let Some((base, rechecked)) = recheck(state, snapshot, &file, &module)
    {
        tracing::debug!(
            uri = snapshot.uri.as_str(),
            version = snapshot.version,
            against = base.version,
            "re-checked the functions typed in"
        );
        let published = publishable(state, snapshot, &rechecked.diagnostics);
        let analysis = Analysis {
            version: snapshot.version,
            epoch: snapshot.epoch,
            diagnostics: rechecked.diagnostics,
            published,
            parsed: None,
            summary: None,
            generation: base.generation,
            text: Arc::clone(&file.text),
            complete: false,
            syntax: Some(rechecked.syntax),
        };
        return (analysis, false);
    }
    let parsed = snapshot.parse();
    let previous = previous.map(|previous| &**previous);
    // One model for the summary and the check.
    let mut module_check = parsed
        .as_ref()
        .map(|parsed| ModuleCheck::new(&file, parsed, &module, settings));
    let summary = match (&mut module_check, previous) {
        (Some(_), Some(previous)) if previous.is_of(snapshot) && previous.summary.is_some() => {
            previous.summary.clone()
        }
        (Some(module_check), _) => Some(module_check.summary()),
        (None, _) => None,
    };
    let changed = record != Record::Nothing
        && state
            .docs
            .with_epoch(&snapshot.uri, snapshot.epoch, |doc| {
                // Only the current text goes into the project (under the documents' lock, so a
                // `didClose` cannot slip in between).
                doc.version == snapshot.version
                    && state
                        .project
                        .set(&snapshot.path, Origin::Open, summary.clone())
            })
            .unwrap_or(false);
    let (generation, index) = if record == Record::Keystroke {
        state.project.index_while_typing()
    } else {
        state.project.index()
    };
    let diagnostics = match module_check {
        Some(module_check) => module_check
            .check(&index, false)
            .diagnostics(&index, &file.path),
        None => check_file(&file, settings),
    };
    let published = publishable(state, snapshot, &diagnostics);
    let analysis = Analysis {
        version: snapshot.version,
        epoch: snapshot.epoch,
        diagnostics,
        published,
        parsed,
        summary,
        generation,
        text: Arc::clone(&file.text),
        complete: true,
        syntax: None,
    };
    (analysis, changed)
}

/// A partial analysis (of `snapshot`) that also has the whole parse of its text, when that
/// parse agrees with what its re-check saw ([`RecheckedSyntax::agrees_with`]): the next
/// keystroke then re-checks against it, wherever it lands, rather than against the last whole
/// analysis, so typing that hops from function to function stays on the fast path. The parse
/// is incremental, and done after the partial analysis was published (off the keystroke's
/// path). `None` when the parse does not agree (an unclosed bracket restructured what follows
/// the function).
pub(crate) fn settle(snapshot: &Snapshot, analysis: &Analysis) -> Option<Analysis> {
    let syntax = analysis.syntax.as_ref()?;
    // The base's parse with the changes since recorded in it: what the re-check was taken
    // against, and what the new parse must match outside the functions re-checked.
    let edited = snapshot.edited_tree()?;
    let parsed = snapshot
        .parse_incrementally()
        .filter(|parsed| syntax.agrees_with(edited, parsed))?;
    Some(Analysis {
        version: analysis.version,
        epoch: analysis.epoch,
        diagnostics: analysis.diagnostics.clone(),
        published: analysis.published.clone(),
        parsed: Some(parsed),
        summary: None,
        generation: analysis.generation,
        text: Arc::clone(&analysis.text),
        complete: false,
        syntax: None,
    })
}

/// The findings of a keystroke from re-checking only the functions typed in since the base,
/// and the base: the last analysis whose parse the document keeps (a whole analysis, or a
/// partial one that parsed its text), so that the changes since are the edits recorded in that
/// tree (and logged, in order). `None` when the analyzer can only tell from a whole check.
fn recheck(
    state: &State,
    snapshot: &Snapshot,
    file: &SourceFile,
    module: &ModuleName,
) -> Option<(Arc<Analysis>, Rechecked)> {
    let base = Arc::clone(snapshot.base.as_ref()?);
    let (edited, old) = (snapshot.edited_tree()?, base.parsed.as_ref()?);
    if snapshot.tree_version != Some(base.version) || base.epoch != snapshot.epoch {
        return None;
    }
    let changes: Vec<TextChange> = snapshot.log.iter().map(|logged| logged.change).collect();
    let (_, index) = state.project.index_while_typing();
    let checked = Checked {
        text: &base.text,
        parsed: old,
        diagnostics: &base.diagnostics,
    };
    let settings = state.settings_for(Path::new(&snapshot.path));
    let rechecked = recheck_functions(checked, &changes, edited, file, module, &index, &settings)?;
    Some((base, rechecked))
}

/// Diagnostics for the client, in the session's encoding.
fn publishable(
    state: &State,
    snapshot: &Snapshot,
    diagnostics: &[Diagnostic],
) -> Vec<lsp::Diagnostic> {
    let resolve = resolver(state);
    diagnostics
        .iter()
        .map(|d| {
            to_proto::diagnostic(
                &snapshot.rope,
                state.encoding(),
                &snapshot.uri,
                Some(snapshot.version),
                d,
                &resolve,
            )
        })
        .collect()
}

/// A file of the workspace read from disk and summarized (the scan's first pass).
#[derive(Debug)]
pub(crate) struct DiskSummary {
    pub path: PathBuf,
    /// `None` when the file cannot be read or decoded, or the parser gave up.
    pub summary: Option<Arc<ModuleSummary>>,
    /// It parsed without syntax errors (so a check can be skipped when it has no trigger).
    pub clean: bool,
}

/// Reads and summarizes a file on disk.
pub(crate) fn summarize_path(path: &Path, folders: &[PathBuf], settings: &Settings) -> DiskSummary {
    let Ok(file) = read(path) else {
        return DiskSummary {
            path: path.to_path_buf(),
            summary: None,
            clean: false,
        };
    };
    let parsed = ParsedModule::parse(&file.text);
    let clean = parsed.as_ref().is_some_and(ParsedModule::is_valid) && !file.text.contains('\0');
    let summary = parsed.map(|parsed| {
        let module = module_name(path, folders);
        Arc::new(summarize(&file, &parsed, &module, settings))
    });
    DiskSummary {
        path: path.to_path_buf(),
        summary,
        clean,
    }
}

/// Checks a file that is not open, reading it from disk, against `index`. Unreadable files get
/// the analyzer's I/O diagnostic rather than silence. When the file is known to parse cleanly
/// (`clean`) and has none of the words any finding needs, it is not parsed at all.
pub(crate) fn analyze_path(
    state: &State,
    path: &Path,
    index: &ProjectIndex,
    clean: bool,
) -> Option<(Uri, Vec<lsp::Diagnostic>)> {
    let settings = &state.settings_for(path);
    let encoding = state.encoding();
    let uri = Uri::from_file_path(path)?;
    let file = match read(path) {
        Ok(file) => file,
        Err(diagnostic) => return Some((uri.clone(), one(&uri, &diagnostic, encoding))),
    };
    if clean && !index.may_have_findings(&file.text, settings) {
        return Some((uri, Vec::new()));
    }
    let diagnostics = match ParsedModule::parse(&file.text) {
        Some(parsed) => {
            let module = module_name(path, &state.session().folders);
            check_in_project(&file, &parsed, &module, index, settings)
        }
        None => check_file(&file, settings),
    };
    if diagnostics.is_empty() {
        return Some((uri, Vec::new()));
    }
    let rope = Rope::from_str(&file.text);
    let resolve = resolver(state);
    let published = diagnostics
        .iter()
        .map(|d| to_proto::diagnostic(&rope, encoding, &uri, None, d, &resolve))
        .collect();
    Some((uri, published))
}

/// Reads a source file, or the diagnostic that says why it cannot be.
fn read(path: &Path) -> Result<SourceFile, Box<Diagnostic>> {
    let text = match crate::files::read_regular_file(path).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(error)) => {
            let offset = error.utf8_error().valid_up_to();
            let message = format!("file is not valid UTF-8 (invalid byte at offset {offset})");
            return Err(Box::new(analyzer::io_error(message)));
        }
        Err(error) => {
            return Err(Box::new(analyzer::io_error(format!(
                "cannot read file: {error}"
            ))));
        }
    };
    let mut file = SourceFile::new(path.to_string_lossy().into_owned(), text);
    if path.extension().is_some_and(|e| e == "pyi") {
        file.kind = SourceKind::Stub;
    }
    Ok(file)
}

fn one(uri: &Uri, diagnostic: &Diagnostic, encoding: PositionEncoding) -> Vec<lsp::Diagnostic> {
    let rope = Rope::new();
    vec![to_proto::diagnostic(
        &rope,
        encoding,
        uri,
        None,
        diagnostic,
        &|_| None,
    )]
}

/// Finds the files that related locations point into: the analyzer reports the paths it was
/// given, which for the server are file paths (or the URI of a document that is not a file).
/// The text is the open document's, else the file's on disk; each file is looked up once.
fn resolver(state: &State) -> impl Fn(&str) -> Option<(Uri, Option<Rope>)> + '_ {
    type Found = Option<(Uri, Option<Rope>)>;
    let cache: RefCell<HashMap<String, Found>> = RefCell::default();
    move |path: &str| {
        if let Some(found) = cache.borrow().get(path) {
            return found.clone();
        }
        let uri = Uri::from_file_path(path).or_else(|| path.parse::<Uri>().ok());
        let found = uri.map(|uri| {
            let rope = state.docs.with(&uri, |doc| doc.rope.clone()).or_else(|| {
                crate::files::read_regular_file(Path::new(path))
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .map(|text| Rope::from_str(&text))
            });
            (uri, rope)
        });
        cache.borrow_mut().insert(path.to_string(), found.clone());
        found
    }
}
