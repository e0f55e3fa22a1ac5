//! `--output-format sarif`: the findings as a SARIF 2.1.0 log, with every rule's documentation
//! as its help text and fixes as artifact changes.

use analyzer::{Diagnostic, Rule, RuleMeta, Severity, SourceFile, TextRange};
use serde_json::{Value, json};
use std::fmt::Write as _;

use super::{FileReport, json_range};

/// The home page named in the log's tool description.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// A SARIF log with one run holding `findings` (sorted by the caller).
pub(super) fn log(findings: &[(&FileReport, &Diagnostic)]) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| rule_descriptor(rule.meta()))
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|(report, diagnostic)| result(&report.file, diagnostic))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "aiolint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A `reportingDescriptor`: the rule's code, name, descriptions and help from its documentation.
fn rule_descriptor(meta: &RuleMeta) -> Value {
    let documentation = meta.documentation();
    let what = section(&documentation, "What it does");
    let full = if what.is_empty() {
        meta.name.to_string()
    } else {
        what
    };
    json!({
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": first_sentence(&full)},
        "fullDescription": {"text": full},
        "help": {"text": documentation.trim(), "markdown": documentation.trim()},
        "defaultConfiguration": {
            "level": level(meta.severity),
            "enabled": meta.default_enabled,
        },
        "properties": {"tags": ["asyncio"]},
    })
}

/// The text of the Markdown section `## {title}`, its lines joined into one paragraph.
fn section(documentation: &str, title: &str) -> String {
    let heading = format!("## {title}");
    documentation
        .lines()
        .skip_while(|line| line.trim() != heading)
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to the first full stop followed by a space (or all of `text`).
fn first_sentence(text: &str) -> String {
    match text.find(". ") {
        Some(end) => text[..=end].to_string(),
        None => text.to_string(),
    }
}

/// A `result`: the finding, where it is, related locations and its fix.
fn result(file: &SourceFile, diagnostic: &Diagnostic) -> Value {
    let uri = path_uri(&file.path);
    let rule_index = Rule::ALL.iter().position(|r| *r == diagnostic.rule);
    let mut result = json!({
        "ruleId": diagnostic.code(),
        "level": level(diagnostic.severity()),
        "message": {"text": diagnostic.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": region(file, diagnostic.range),
            }
        }],
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if !diagnostic.related.is_empty() {
        let related: Vec<Value> = diagnostic
            .related
            .iter()
            .enumerate()
            .map(|(id, related)| {
                // The text of another file is not at hand here, so its location is the file.
                let physical = match &related.path {
                    Some(path) => json!({"artifactLocation": {"uri": path_uri(path)}}),
                    None => json!({
                        "artifactLocation": {"uri": uri},
                        "region": region(file, related.range),
                    }),
                };
                json!({
                    "id": id,
                    "physicalLocation": physical,
                    "message": {"text": related.message},
                })
            })
            .collect();
        result["relatedLocations"] = json!(related);
    }
    if let Some(fix) = &diagnostic.fix {
        let replacements: Vec<Value> = fix
            .edits
            .iter()
            .map(|edit| {
                json!({
                    "deletedRegion": region(file, edit.range),
                    "insertedContent": {"text": edit.content},
                })
            })
            .collect();
        result["fixes"] = json!([{
            "description": {"text": format!("{} ({})", fix.title, fix.applicability.as_str())},
            "artifactChanges": [{
                "artifactLocation": {"uri": uri},
                "replacements": replacements,
            }],
        }]);
    }
    result
}

/// A `region` with 1-based lines and code-point columns; the end column is exclusive.
fn region(file: &SourceFile, range: TextRange) -> Value {
    let (start, end) = json_range(file, range);
    json!({
        "startLine": start.line,
        "startColumn": start.column,
        "endLine": end.line,
        "endColumn": end.column,
    })
}

/// A path as a URI reference: relative paths stay relative, absolute ones become `file://`
/// URIs; everything but unreserved characters and `/` is percent-encoded.
fn path_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut uri = String::with_capacity(path.len() + 8);
    if path.starts_with('/') {
        uri.push_str("file://");
    }
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            let _ = write!(uri, "%{byte:02X}");
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_uri("app/service.py"), "app/service.py");
        assert_eq!(
            path_uri("/srv/my app/é.py"),
            "file:///srv/my%20app/%C3%A9.py"
        );
        assert_eq!(path_uri("a\\b.py"), "a/b.py");
    }

    #[test]
    fn descriptions_come_from_the_docs() {
        let docs = "## What it does\nChecks for X. And more\nlines.\n\n## Why is this bad?\nBad.";
        assert_eq!(
            section(docs, "What it does"),
            "Checks for X. And more lines."
        );
        assert_eq!(
            first_sentence("Checks for X. And more lines."),
            "Checks for X."
        );
    }
}
