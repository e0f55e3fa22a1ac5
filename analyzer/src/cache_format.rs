//! How an [`Analysis`] is stored in a cache: postcard over the analyzer's own types. The
//! format is private and has no compatibility promise: entries are keyed by the analyzer's
//! version and build ([`crate::Cache::salt`]), so an entry is only ever read by the build that
//! wrote it, and one that does not decode is treated as absent.

use crate::Analysis;

pub(crate) fn encode(analysis: &Analysis) -> Vec<u8> {
    postcard::to_allocvec(analysis).unwrap_or_default()
}

pub(crate) fn decode(bytes: &[u8]) -> Option<Analysis> {
    postcard::from_bytes(bytes).ok()
}
