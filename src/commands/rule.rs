//! `aiolint rule CODE`: print a rule's documentation.

use std::process::ExitCode;

use analyzer::Rule;
use anyhow::bail;

use crate::args::RuleArgs;
use crate::printer;

pub(crate) fn run(args: &RuleArgs) -> anyhow::Result<ExitCode> {
    let rules: Vec<Rule> = if args.all {
        Rule::ALL.to_vec()
    } else {
        let wanted = args.rule.as_deref().unwrap_or_default();
        match Rule::find(wanted) {
            Some(rule) => vec![rule],
            None => bail!("unknown rule `{wanted}`; `aiolint rule --all` lists every rule"),
        }
    };
    printer::rule_docs(&rules)?;
    Ok(ExitCode::SUCCESS)
}
