//! Rendering results. This is the only module that writes to stdout.

use std::fmt::Write as _;
use std::io::{self, Write};

use analyzer::{Applicability, Diagnostic, LineColumn, Rule, Severity, SourceFile, TextRange};
use serde_json::{Value, json};

use crate::args::OutputFormat;

mod sarif;

/// One checked file and its findings.
pub(crate) struct FileReport {
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    pub(crate) fn unreadable(path: String, diagnostic: Diagnostic) -> Self {
        Self {
            file: SourceFile::new(path, ""),
            diagnostics: vec![diagnostic],
        }
    }
}

/// Writes `text` to stdout; a closed pipe (`aiolint check | head`) is not an error.
fn emit(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// All findings, sorted by path, line and column, in `format`.
pub(crate) fn findings(reports: &[FileReport], format: OutputFormat) -> io::Result<()> {
    let mut sorted: Vec<(&FileReport, &Diagnostic)> = reports
        .iter()
        .flat_map(|r| r.diagnostics.iter().map(move |d| (r, d)))
        .collect();
    sorted.sort_by(|(ra, a), (rb, b)| {
        (&ra.file.path, a.range.start, a.code()).cmp(&(&rb.file.path, b.range.start, b.code()))
    });
    let text = match format {
        OutputFormat::Json => {
            let array: Vec<Value> = sorted
                .iter()
                .map(|(r, d)| json_finding(&r.file, d))
                .collect();
            let mut text = serde_json::to_string_pretty(&array).map_err(io::Error::other)?;
            text.push('\n');
            text
        }
        OutputFormat::Concise => {
            let mut text = String::new();
            for (report, diagnostic) in &sorted {
                let (cell, start) = shown(&report.file, diagnostic.range.start);
                let _ = writeln!(
                    text,
                    "{}:{}:{}: {} {}",
                    located(&report.file.path, cell),
                    start.line,
                    start.column,
                    diagnostic.code(),
                    diagnostic.message
                );
            }
            text.push_str(&summary(sorted.len()));
            text.push_str(&fixable_hint(fixable_candidates(&sorted)));
            text
        }
        OutputFormat::Text => {
            let mut text = String::new();
            for (report, diagnostic) in &sorted {
                text_finding(&mut text, &report.file, diagnostic);
            }
            text.push_str(&summary(sorted.len()));
            text.push_str(&fixable_hint(fixable_candidates(&sorted)));
            text
        }
        OutputFormat::Sarif => {
            let mut text =
                serde_json::to_string_pretty(&sarif::log(&sorted)).map_err(io::Error::other)?;
            text.push('\n');
            text
        }
        OutputFormat::Github => {
            let mut text = String::new();
            for (report, diagnostic) in &sorted {
                github_annotation(&mut text, &report.file, diagnostic);
            }
            text
        }
    };
    emit(&text)
}

/// `N fixable with --fix.` under the text summary, when some findings have a safe fix.
fn fixable_hint<'d>(diagnostics: impl Iterator<Item = &'d Diagnostic>) -> String {
    let (safe, unsafe_) = fixable_counts(diagnostics);
    match (safe, unsafe_) {
        (0, 0) => String::new(),
        (safe, 0) => format!("{safe} fixable with `--fix`.\n"),
        (0, unsafe_) => format!("{unsafe_} fixable with `--fix --unsafe-fixes`.\n"),
        (safe, unsafe_) => {
            format!("{safe} fixable with `--fix`, {unsafe_} more with `--fix --unsafe-fixes`.\n")
        }
    }
}

/// How many of `diagnostics` have a safe fix, and how many an unsafe one.
fn fixable_counts<'d>(diagnostics: impl Iterator<Item = &'d Diagnostic>) -> (usize, usize) {
    let mut counts = (0, 0);
    for fix in diagnostics.filter_map(|d| d.fix.as_ref()) {
        match fix.applicability {
            Applicability::Safe => counts.0 += 1,
            Applicability::Unsafe => counts.1 += 1,
        }
    }
    counts
}

/// One GitHub Actions workflow command: `::warning file=...,line=...::message`.
fn github_annotation(out: &mut String, file: &SourceFile, diagnostic: &Diagnostic) {
    let (start, end) = json_range(file, diagnostic.range);
    let command = match diagnostic.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let _ = writeln!(
        out,
        "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        github_property(&file.path),
        start.line,
        start.column,
        end.line,
        end.column,
        github_property(&format!("aiolint ({})", diagnostic.code())),
        github_data(&diagnostic.message)
    );
}

/// Escapes a workflow command's message the way the Actions runner unescapes it.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (`,` and `:` delimit properties).
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `--diff`: a unified diff per changed file, as `(path, before, after)`.
pub(crate) fn diffs(files: &[(&str, &str, &str)]) -> io::Result<()> {
    let mut text = String::new();
    for (path, before, after) in files {
        let diff = similar::TextDiff::from_lines(*before, *after);
        let _ = write!(
            text,
            "{}",
            diff.unified_diff().context_radius(3).header(path, path)
        );
    }
    emit(&text)
}

/// The findings `--fix` could fix: not those in notebooks, which are never rewritten.
fn fixable_candidates<'a>(
    sorted: &'a [(&'a FileReport, &'a Diagnostic)],
) -> impl Iterator<Item = &'a Diagnostic> {
    sorted
        .iter()
        .filter(|(report, _)| report.file.notebook.is_none())
        .map(|(_, diagnostic)| *diagnostic)
}

fn summary(count: usize) -> String {
    match count {
        0 => "All checks passed!\n".to_string(),
        1 => "Found 1 finding.\n".to_string(),
        n => format!("Found {n} findings.\n"),
    }
}

fn position(file: &SourceFile, offset: usize) -> LineColumn {
    file.line_index.line_column(offset, &file.text)
}

/// Where an offset is shown to the user: in a notebook, the 1-based cell and the line within
/// that cell; elsewhere, the line of the file.
fn shown(file: &SourceFile, offset: usize) -> (Option<usize>, LineColumn) {
    let at = position(file, offset);
    match file
        .notebook
        .as_ref()
        .and_then(|notebook| notebook.cell_line(at.line - 1))
    {
        Some(cell) => (
            Some(cell.cell),
            LineColumn {
                line: cell.line,
                column: at.column,
            },
        ),
        None => (None, at),
    }
}

/// `path`, or `path:cell N` for a notebook cell.
fn located(path: &str, cell: Option<usize>) -> String {
    match cell {
        Some(cell) => format!("{path}:cell {cell}"),
        None => path.to_string(),
    }
}

/// `path:line:col: CODE message`, the source line with the range underlined, and the fix.
fn text_finding(out: &mut String, file: &SourceFile, diagnostic: &Diagnostic) {
    let start = position(file, diagnostic.range.start);
    let end = position(file, diagnostic.range.end);
    let (cell, shown_start) = shown(file, diagnostic.range.start);
    let _ = writeln!(
        out,
        "{}:{}:{}: {} {}",
        located(&file.path, cell),
        shown_start.line,
        start.column,
        diagnostic.code(),
        diagnostic.message
    );
    if file.text.is_empty() {
        out.push('\n');
        return;
    }
    let line_text = file.line_index.line_text(start.line - 1, &file.text);
    let number = shown_start.line.to_string();
    let gutter = " ".repeat(number.len());
    let shown: String = line_text
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let line_length = shown.chars().count();
    let underline_end = if end.line == start.line {
        end.column
    } else {
        line_length + 1
    };
    let width = underline_end.saturating_sub(start.column).max(1);
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{number} | {shown}");
    let _ = writeln!(
        out,
        "{gutter} | {}{} {}",
        " ".repeat(start.column - 1),
        "^".repeat(width),
        diagnostic.code()
    );
    if let Some(fix) = &diagnostic.fix {
        let _ = writeln!(
            out,
            "{gutter} = fix ({}): {}",
            fix.applicability.as_str(),
            fix.title
        );
    }
    for related in &diagnostic.related {
        let path = related.path.as_deref().unwrap_or(&file.path);
        let line = related.start.line;
        let _ = writeln!(out, "{gutter} = note: {path}:{line}: {}", related.message);
    }
    out.push('\n');
}

fn json_range(file: &SourceFile, range: TextRange) -> (LineColumn, LineColumn) {
    (shown(file, range.start).1, shown(file, range.end).1)
}

/// One finding as the JSON contract of SPEC.md describes it.
fn json_finding(file: &SourceFile, diagnostic: &Diagnostic) -> Value {
    let (start, end) = json_range(file, diagnostic.range);
    let fix = diagnostic.fix.as_ref().map_or(Value::Null, |fix| {
        let edits: Vec<Value> = fix
            .edits
            .iter()
            .map(|edit| {
                let (start, end) = json_range(file, edit.range);
                json!({"line": start.line, "column": start.column, "end_line": end.line,
                       "end_column": end.column, "content": edit.content})
            })
            .collect();
        json!({"applicability": fix.applicability.as_str(), "message": fix.title, "edits": edits})
    });
    let related: Vec<Value> = diagnostic
        .related
        .iter()
        .map(|related| {
            let at = related.start;
            json!({"path": related.path.as_deref().unwrap_or(&file.path), "line": at.line,
                   "column": at.column, "message": related.message})
        })
        .collect();
    let mut finding = json!({
        "path": file.path,
        "line": start.line,
        "column": start.column,
        "end_line": end.line,
        "end_column": end.column,
        "code": diagnostic.code(),
        "rule": diagnostic.rule.name(),
        "severity": diagnostic.severity().as_str(),
        "message": diagnostic.message,
        "fix": fix,
        "related": related,
    });
    // In a notebook, lines count within the cell named by `cell` (1-based, all cells counted).
    if let (Some(cell), Some(object)) = (
        shown(file, diagnostic.range.start).0,
        finding.as_object_mut(),
    ) {
        object.insert("cell".to_string(), json!(cell));
    }
    finding
}

/// `--statistics`: a count per rule, most frequent first.
pub(crate) fn statistics(reports: &[FileReport]) -> io::Result<()> {
    let mut counts: Vec<(Rule, usize)> = Vec::new();
    for diagnostic in reports.iter().flat_map(|r| &r.diagnostics) {
        match counts.iter_mut().find(|(rule, _)| *rule == diagnostic.rule) {
            Some((_, count)) => *count += 1,
            None => counts.push((diagnostic.rule, 1)),
        }
    }
    let fixable_of = |rule: Rule| {
        fixable_counts(
            reports
                .iter()
                .flat_map(|r| &r.diagnostics)
                .filter(|d| d.rule == rule),
        )
    };
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let width = counts
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(1);
    let mut text = String::new();
    for (rule, count) in &counts {
        let fixable = match fixable_of(*rule) {
            (0, 0) => String::new(),
            (safe, 0) => format!(" ({safe} fixable)"),
            (0, unsafe_) => format!(" ({unsafe_} fixable with --unsafe-fixes)"),
            (safe, unsafe_) => format!(" ({safe} fixable, {unsafe_} with --unsafe-fixes)"),
        };
        let _ = writeln!(
            text,
            "{count:>width$}  {:<7} {}{fixable}",
            rule.code(),
            rule.name()
        );
    }
    text.push_str(&summary(counts.iter().map(|(_, n)| n).sum()));
    text.push_str(&fixable_hint(
        reports
            .iter()
            .filter(|r| r.file.notebook.is_none())
            .flat_map(|r| &r.diagnostics),
    ));
    emit(&text)
}

/// `aiolint rule`: each rule's heading and documentation.
pub(crate) fn rule_docs(rules: &[Rule]) -> io::Result<()> {
    let mut text = String::new();
    for (index, rule) in rules.iter().enumerate() {
        if index > 0 {
            text.push_str("\n\n");
        }
        let meta = rule.meta();
        let opt_in = if meta.default_enabled { "" } else { ", opt-in" };
        let _ = writeln!(
            text,
            "# {} ({})\n\nSeverity: {}{opt_in}\n",
            meta.name,
            meta.code,
            meta.severity.as_str()
        );
        text.push_str(meta.documentation().trim_end());
        text.push('\n');
    }
    emit(&text)
}

/// `aiolint confirm`: every finding with its verdict, in file order (each report's findings
/// are sorted and paired with their confirmations).
pub(crate) fn confirmations(
    reports: &[(&FileReport, Vec<runtime_check::Confirmation>)],
    format: crate::args::ConfirmFormat,
) -> io::Result<()> {
    use runtime_check::Verdict;
    let pairs = reports.iter().flat_map(|(report, confirmations)| {
        report
            .diagnostics
            .iter()
            .zip(confirmations)
            .map(move |(d, c)| (&report.file, d, c))
    });
    let text = match format {
        crate::args::ConfirmFormat::Json => {
            let array: Vec<Value> = pairs
                .map(|(file, diagnostic, confirmation)| {
                    let mut object = json_finding(file, diagnostic);
                    object["confirmation"] = json!({
                        "verdict": confirmation.verdict.as_str(),
                        "detail": confirmation.detail,
                        "stall_ms": confirmation.stall_ms,
                    });
                    object
                })
                .collect();
            let mut text = serde_json::to_string_pretty(&array).map_err(io::Error::other)?;
            text.push('\n');
            text
        }
        crate::args::ConfirmFormat::Text => {
            let mut text = String::new();
            let mut counts = [0_usize; 3];
            for (file, diagnostic, confirmation) in pairs {
                let start = position(file, diagnostic.range.start);
                let _ = writeln!(
                    text,
                    "{}:{}:{}: {} {}\n  {}: {}",
                    file.path,
                    start.line,
                    start.column,
                    diagnostic.code(),
                    diagnostic.message,
                    confirmation.verdict.as_str().replace('-', " "),
                    confirmation.detail
                );
                counts[match confirmation.verdict {
                    Verdict::Confirmed => 0,
                    Verdict::NotConfirmed => 1,
                    Verdict::Skipped => 2,
                }] += 1;
            }
            let total: usize = counts.iter().sum();
            if total == 0 {
                text.push_str("All checks passed!\n");
            } else {
                let _ = writeln!(
                    text,
                    "{}: {} confirmed, {} not confirmed, {} skipped.",
                    summary(total).trim_end().trim_end_matches('.'),
                    counts[0],
                    counts[1],
                    counts[2]
                );
            }
            text
        }
    };
    emit(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_values_are_escaped_like_the_actions_toolkit_does() {
        assert_eq!(
            github_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(
            github_property("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext%3A a%2Cb"
        );
    }
}
