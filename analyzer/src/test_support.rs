//! Fixture checking for rule tests: runs one rule over a fixture, verifies the `# CODE` markers,
//! applies every fix until nothing changes, and renders the result for a snapshot.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::{
    Diagnostic, Edit, Fix, MAX_FIX_ROUNDS, ModuleName, ParsedModule, ProjectFile, ProjectIndex,
    Rule, RuleSelection, Settings, SourceFile, TextRange, Workspace, apply_fixes, check_file,
    check_in_project, check_project, module_names, parses_cleanly, summarize,
};

/// Runs `rule` over `resources/test/fixtures/<path>` and renders its findings and fixes.
///
/// Panics when a line marked `# CODE` has no finding of the rule, when an unmarked line has
/// one, when a fix produces code that does not parse, or when fixing does not converge.
#[track_caller]
pub(crate) fn check_fixture(rule: Rule, path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("resources/test/fixtures")
        .join(path);
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()));
    let settings = only(rule);
    let file = SourceFile::new(path, text.as_str());
    let diagnostics: Vec<_> = check_file(&file, &settings)
        .into_iter()
        .filter(|d| d.rule == rule)
        .collect();

    assert_markers(rule, &file, &diagnostics);

    let mut out = String::new();
    for d in &diagnostics {
        let start = file.line_index.line_column(d.range.start, &text);
        let _ = writeln!(
            out,
            "{}:{}: {} {}",
            start.line,
            start.column,
            d.code(),
            d.message
        );
        let _ = writeln!(
            out,
            "    | {}",
            file.line_index.line_text(start.line - 1, &text).trim_end()
        );
        if let Some(fix) = &d.fix {
            let _ = writeln!(
                out,
                "    = fix ({}): {}",
                fix.applicability.as_str(),
                fix.title
            );
        }
    }
    let fixed = fix_until_stable(rule, &text, &settings, path);
    if fixed != text {
        let _ = writeln!(out, "\n--- after applying all fixes ---\n{fixed}");
    }
    out
}

/// Applies the rule's fixes (safe and unsafe) round after round; panics on a syntax error, on
/// a fix that leaves its own finding behind, or when fixing does not converge.
#[track_caller]
fn fix_until_stable(rule: Rule, text: &str, settings: &Settings, path: &str) -> String {
    let mut current = text.to_string();
    for _ in 0..MAX_FIX_ROUNDS {
        let file = SourceFile::new(path, current.as_str());
        let diagnostics = check_file(&file, settings);
        let fixable: Vec<&Diagnostic> = diagnostics
            .iter()
            .filter(|d| d.rule == rule && d.fix.is_some())
            .collect();
        if fixable.is_empty() {
            return current;
        }
        for diagnostic in &fixable {
            check_fix_alone(diagnostic, &current, settings, path);
        }
        let (next, applied) = apply_fixes(&current, fixable.iter().filter_map(|d| d.fix.as_ref()));
        assert!(applied > 0, "{path}: fixes exist but none could be applied");
        assert!(
            parses_cleanly(&next) || !parses_cleanly(&current),
            "{path}: a fix introduced a syntax error:\n{next}"
        );
        current = next;
    }
    panic!("{path}: fixes did not converge after {MAX_FIX_ROUNDS} rounds");
}

/// Applies the fix of `diagnostic` on its own and panics when the result does not parse or
/// still has a finding of the same rule where the fix was made.
#[track_caller]
fn check_fix_alone(diagnostic: &Diagnostic, text: &str, settings: &Settings, path: &str) {
    let Some(fix) = &diagnostic.fix else {
        return;
    };
    let (fixed, applied) = apply_fixes(text, [fix]);
    assert_eq!(
        applied, 1,
        "{path}: the fix `{}` cannot be applied",
        fix.title
    );
    let file = SourceFile::new(path, fixed.as_str());
    let at = file
        .line_index
        .line_of(diagnostic.range.start.min(fixed.len()));
    assert!(
        parses_cleanly(&fixed),
        "{path}:{}: the fix `{}` introduced a syntax error:\n{fixed}",
        at + 1,
        fix.title
    );
    let after = check_file(&file, settings);
    if let Some(left) = leftover_finding(diagnostic, fix, &after) {
        let line = file.line_index.line_of(left.range.start) + 1;
        panic!(
            "{path}:{line}: the fix `{}` left its own finding behind: {}\n{fixed}",
            fix.title, left.message
        );
    }
}

/// A finding in `after` (the diagnostics of the text with `fix` applied) of the same rule as
/// `diagnostic` whose range overlaps where `diagnostic` was, mapped through the fix's edits (an
/// insertion at the finding's start or end counts as part of it).
fn leftover_finding<'d>(
    diagnostic: &Diagnostic,
    fix: &Fix,
    after: &'d [Diagnostic],
) -> Option<&'d Diagnostic> {
    let start = map_offset(diagnostic.range.start, &fix.edits, false);
    let end = map_offset(diagnostic.range.end, &fix.edits, true);
    let fixed_range = TextRange::new(start, end.max(start));
    after.iter().find(|d| {
        d.rule == diagnostic.rule
            && (d.range.overlaps(fixed_range)
                || (d.range.start >= fixed_range.start && d.range.end <= fixed_range.end))
    })
}

/// Where `offset` lands after `edits` (sorted, non-overlapping) are applied. An insertion at
/// `offset` goes before it when `after_insertions`, after it otherwise; an offset inside a
/// replaced range maps to the replacement's start (or end, when `after_insertions`).
fn map_offset(offset: usize, edits: &[Edit], after_insertions: bool) -> usize {
    let mut delta: isize = 0;
    for edit in edits {
        let range = edit.range;
        let grown = edit.content.len().cast_signed() - range.len().cast_signed();
        let before =
            range.end < offset || (range.end == offset && (!range.is_empty() || after_insertions));
        if before {
            delta += grown;
        } else if range.start < offset && offset < range.end {
            let start = range.start.saturating_add_signed(delta);
            return if after_insertions {
                start + edit.content.len()
            } else {
                start
            };
        } else {
            break;
        }
    }
    offset.saturating_add_signed(delta)
}

/// Runs `rule` over every `.py` file under the fixture directory `resources/test/fixtures/<dir>`
/// analysed as one project (module names from the directory layout, a shared index), checks the
/// `# CODE` markers of every file, and renders the findings with their related locations.
#[track_caller]
pub(crate) fn check_project_fixture(rule: Rule, dir: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("resources/test/fixtures")
        .join(dir);
    let mut paths = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(directory) = pending.pop() {
        let entries = std::fs::read_dir(&directory)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", directory.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let settings = only(rule);
    let files: Vec<(SourceFile, ModuleName, ParsedModule)> = paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let relative = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string();
            let module = module_names(path, Some(&root), &|p: &Path| p.exists());
            let parsed = ParsedModule::parse(&text).expect("fixture parses");
            (SourceFile::new(relative, text), module, parsed)
        })
        .collect();
    let summaries = files
        .iter()
        .map(|(file, module, parsed)| {
            std::sync::Arc::new(summarize(file, parsed, module, &settings))
        })
        .collect();
    let index = ProjectIndex::new(summaries);
    let whole: Vec<Vec<Diagnostic>> = files
        .iter()
        .map(|(file, module, parsed)| check_in_project(file, parsed, module, &index, &settings))
        .collect();
    let sources: Vec<(SourceFile, ModuleName)> = files
        .iter()
        .map(|(file, module, _)| (file.clone(), module.clone()))
        .collect();
    assert_one_pass_agrees(&sources, &settings, &whole);
    let mut out = String::new();
    for ((file, _, _), diagnostics) in files.iter().zip(whole) {
        let diagnostics: Vec<_> = diagnostics.into_iter().filter(|d| d.rule == rule).collect();
        assert_markers(rule, file, &diagnostics);
        for d in &diagnostics {
            let start = file.line_index.line_column(d.range.start, &file.text);
            let _ = writeln!(
                out,
                "{}:{}:{}: {} {}",
                file.path,
                start.line,
                start.column,
                d.code(),
                d.message
            );
            for related in &d.related {
                let path = related.path.as_deref().unwrap_or(&file.path);
                let line = related.start.line;
                let _ = writeln!(out, "    related: {path}:{line}: {}", related.message);
            }
            if let Some(fix) = &d.fix {
                let _ = writeln!(
                    out,
                    "    = fix ({}): {}",
                    fix.applicability.as_str(),
                    fix.title
                );
            }
        }
    }
    out
}

/// Files held in memory, for project runs in tests.
pub(crate) struct Memory(pub Vec<SourceFile>);

impl Workspace for Memory {
    fn read(&self, position: usize) -> Result<SourceFile, Box<Diagnostic>> {
        self.0
            .get(position)
            .cloned()
            .ok_or_else(|| Box::new(crate::io_error("no such file")))
    }
}

/// A cache held in memory: what one run stores, the next one reads.
#[derive(Default)]
pub(crate) struct MemoryCache {
    pub(crate) old: std::collections::HashMap<u128, Vec<u8>>,
    next: std::sync::Mutex<std::collections::HashMap<u128, Vec<u8>>>,
    last: Option<Vec<u8>>,
    record: std::sync::Mutex<Option<Vec<u8>>>,
}

impl MemoryCache {
    /// What a run would see in this cache: its entries and the last run's record.
    pub(crate) fn copy(&self) -> Self {
        Self {
            old: self.old.clone(),
            last: self.last.clone(),
            ..Self::default()
        }
    }

    /// The cache the next run sees. As the command line's pack does (with one shard), the
    /// entries are rewritten only when the run made a new one: then those it did not keep go;
    /// the last run's record stays until a run makes a new one.
    pub(crate) fn next_run(self) -> Self {
        let mut old = self.old;
        let next = self.next.into_inner().unwrap_or_default();
        if next.values().any(|entry| !entry.is_empty()) {
            old.retain(|key, _| next.contains_key(key));
        }
        for (key, entry) in next {
            if !entry.is_empty() {
                old.insert(key, entry);
            }
        }
        Self {
            old,
            last: self.record.into_inner().unwrap_or_default().or(self.last),
            ..Self::default()
        }
    }
}

impl crate::Cache for MemoryCache {
    fn salt(&self) -> u64 {
        0
    }
    fn get(&self, key: u128) -> Option<&[u8]> {
        self.old.get(&key).map(Vec::as_slice)
    }
    fn put(&self, key: u128, entry: Vec<u8>) {
        if let Ok(mut next) = self.next.lock() {
            next.insert(key, entry);
        }
    }
    fn keep(&self, key: u128) {
        if let Ok(mut next) = self.next.lock() {
            // An empty entry marks one kept from the last run.
            next.insert(key, Vec::new());
        }
    }
    fn last_run(&self) -> Option<&[u8]> {
        self.last.as_deref()
    }
    fn set_last_run(&self, record: Vec<u8>) {
        if let Ok(mut slot) = self.record.lock() {
            *slot = Some(record);
        }
    }
}

/// Runs `files` as one project in one pass ([`crate::check_project`]: lazy index, each file
/// parsed once, pending findings answered at the end), without and then with a cache, and
/// asserts every file gets exactly `expected` (the findings of checking each file against the
/// complete index), and that the second cached run takes every file from the cache.
#[track_caller]
pub(crate) fn assert_one_pass_agrees(
    files: &[(SourceFile, ModuleName)],
    settings: &Settings,
    expected: &[Vec<Diagnostic>],
) {
    let project_files: Vec<ProjectFile> = files
        .iter()
        .map(|(file, module)| ProjectFile {
            path: file.path.clone(),
            module: module.clone(),
        })
        .collect();
    let workspace = Arc::new(Memory(files.iter().map(|(f, _)| f.clone()).collect()));
    let run = |cache: Option<Arc<dyn crate::Cache>>| {
        check_project(
            project_files.clone(),
            settings.clone(),
            workspace.clone(),
            cache,
        )
    };
    let found = |outcome: &crate::ProjectOutcome| -> Vec<Vec<Diagnostic>> {
        outcome
            .files
            .iter()
            .map(|f| f.diagnostics.clone())
            .collect()
    };
    assert_eq!(found(&run(None)), expected, "one pass without a cache");
    let cold = Arc::new(MemoryCache::default());
    assert_eq!(
        found(&run(Some(cold.clone()))),
        expected,
        "one pass filling a cache"
    );
    let cold = Arc::try_unwrap(cold).unwrap_or_else(|_| panic!("the run keeps no cache"));
    let warm = cold.next_run();
    let entries_only = MemoryCache {
        old: warm.old.clone(),
        ..MemoryCache::default()
    };
    let outcome = run(Some(Arc::new(warm)));
    assert_eq!(found(&outcome), expected, "the last run replayed");
    assert!(
        outcome.statistics.replayed,
        "nothing changed, so the last run is replayed: {:?}",
        outcome.statistics
    );
    let outcome = run(Some(Arc::new(entries_only)));
    assert_eq!(found(&outcome), expected, "every file from its cache entry");
    assert_eq!(
        (outcome.statistics.cached, outcome.statistics.analysed),
        (files.len(), 0),
        "every file comes from the cache: {:?}",
        outcome.statistics
    );
}

/// Settings that enable only `rule`.
fn only(rule: Rule) -> Settings {
    Settings {
        rules: RuleSelection::from_selectors(Some(&[rule.code().to_string()]), &[])
            .expect("rule selects itself"),
        ..Settings::default()
    }
}

/// Asserts that the lines with a finding of `rule` are exactly the lines marked `# CODE`.
#[track_caller]
fn assert_markers(rule: Rule, file: &SourceFile, diagnostics: &[Diagnostic]) {
    let marked: Vec<usize> = file
        .text
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            line.split('#')
                .skip(1)
                .any(|c| c.trim_start().starts_with(rule.code()))
        })
        .map(|(i, _)| i)
        .collect();
    let found: Vec<usize> = diagnostics
        .iter()
        .map(|d| file.line_index.line_of(d.range.start))
        .collect();
    for line in &marked {
        assert!(
            found.contains(line),
            "{}:{}: marked `# {}` but not reported",
            file.path,
            line + 1,
            rule.code()
        );
    }
    for line in &found {
        assert!(
            marked.contains(line),
            "{}:{}: reported but not marked `# {}`",
            file.path,
            line + 1,
            rule.code()
        );
    }
}

pub(crate) use crate::fuzzing::point_at;

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: Rule, start: usize, end: usize) -> Diagnostic {
        Diagnostic::new(rule, TextRange::new(start, end), "m")
    }

    #[test]
    fn offsets_move_with_the_edits_before_them() {
        let edits = [
            Edit::insert(4, "await "),
            Edit::replace(TextRange::new(10, 12), "x"),
        ];
        assert_eq!(map_offset(4, &edits, false), 4);
        assert_eq!(map_offset(4, &edits, true), 10);
        assert_eq!(map_offset(8, &edits, true), 14);
        assert_eq!(map_offset(11, &edits, false), 16);
        assert_eq!(map_offset(11, &edits, true), 17);
        assert_eq!(map_offset(20, &edits, false), 25);
    }

    #[test]
    fn a_finding_left_where_the_fix_was_made_is_caught() {
        // `fetch()` at 4..11 gets `await ` inserted; the call is then at 10..17.
        let diagnostic = finding(Rule::MissingAwait, 4, 11);
        let fix = Fix::safe("Add `await`", vec![Edit::insert(4, "await ")]);
        let left = [finding(Rule::MissingAwait, 10, 17)];
        assert!(leftover_finding(&diagnostic, &fix, &left).is_some());
        // Another rule's finding there, or the same rule's elsewhere, is not a leftover.
        let elsewhere = [
            finding(Rule::BlockingSleep, 10, 17),
            finding(Rule::MissingAwait, 30, 37),
        ];
        assert!(leftover_finding(&diagnostic, &fix, &elsewhere).is_none());
    }
}
