//! Fixture checking for rule tests: runs one rule over a fixture, verifies the `# CODE` markers,
//! applies every fix until nothing changes, and renders the result for a snapshot.

use std::fmt::Write as _;
use std::path::Path;

use crate::{Rule, RuleSelection, Settings, SourceFile, apply_fixes, check_file, parses_cleanly};

const MAX_FIX_ROUNDS: usize = 10;

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
    let settings = Settings {
        rules: RuleSelection::from_selectors(Some(&[rule.code().to_string()]), &[])
            .expect("rule selects itself"),
        ..Settings::default()
    };
    let file = SourceFile::new(path, text.as_str());
    let diagnostics: Vec<_> = check_file(&file, &settings)
        .into_iter()
        .filter(|d| d.rule == rule)
        .collect();

    let marked: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            line.split('#')
                .skip(1)
                .any(|comment| comment.trim_start().starts_with(rule.code()))
        })
        .map(|(i, _)| i)
        .collect();
    let mut found: Vec<usize> = diagnostics
        .iter()
        .map(|d| file.line_index.line_of(d.range.start))
        .collect();
    found.dedup();
    for line in &marked {
        assert!(
            found.contains(line),
            "{path}:{}: marked `# {}` but not reported",
            line + 1,
            rule.code()
        );
    }
    for line in &found {
        assert!(
            marked.contains(line),
            "{path}:{}: reported but not marked `# {}`",
            line + 1,
            rule.code()
        );
    }

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

/// Applies the rule's fixes round after round; panics on a syntax error or no convergence.
#[track_caller]
fn fix_until_stable(rule: Rule, text: &str, settings: &Settings, path: &str) -> String {
    let mut current = text.to_string();
    for _ in 0..MAX_FIX_ROUNDS {
        let file = SourceFile::new(path, current.as_str());
        let diagnostics = check_file(&file, settings);
        let fixes: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.rule == rule)
            .filter_map(|d| d.fix.as_ref())
            .collect();
        if fixes.is_empty() {
            return current;
        }
        let (next, applied) = apply_fixes(&current, fixes);
        assert!(applied > 0, "{path}: fixes exist but none could be applied");
        assert!(
            parses_cleanly(&next) || !parses_cleanly(&current),
            "{path}: a fix introduced a syntax error:\n{next}"
        );
        current = next;
    }
    panic!("{path}: fixes did not converge after {MAX_FIX_ROUNDS} rounds");
}
