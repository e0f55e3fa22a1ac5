//! How an [`Analysis`] is stored in a cache: postcard over the analyzer's own types. The
//! format is private and has no compatibility promise: entries are keyed by the analyzer's
//! version and build ([`crate::Cache::salt`]), so an entry is only ever read by the build that
//! wrote it, and one that does not decode is treated as absent.
//!
//! An entry is two parts: the analysis (summary and findings), and what its check looked up in
//! other modules, which only a check of the entry's validity needs to decode.

use crate::Analysis;
use crate::index::Dependencies;

pub(crate) fn encode(analysis: &Analysis) -> Vec<u8> {
    let parts = postcard::to_allocvec(analysis)
        .and_then(|findings| Ok((findings, postcard::to_allocvec(analysis.dependencies())?)));
    match parts {
        Ok((findings, dependencies)) => {
            postcard::to_allocvec(&(findings.as_slice(), dependencies.as_slice()))
                .unwrap_or_default()
        }
        Err(_) => Vec::new(),
    }
}

/// The analysis of an entry, without its dependencies.
pub(crate) fn decode(entry: &[u8]) -> Option<Analysis> {
    let (findings, _): (&[u8], &[u8]) = postcard::from_bytes(entry).ok()?;
    postcard::from_bytes(findings).ok()
}

/// The dependencies of an entry.
pub(crate) fn decode_dependencies(entry: &[u8]) -> Option<Dependencies> {
    let (_, dependencies): (&[u8], &[u8]) = postcard::from_bytes(entry).ok()?;
    postcard::from_bytes(dependencies).ok()
}
