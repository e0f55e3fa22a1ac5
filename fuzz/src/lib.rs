//! What the fuzz targets run, one function per target, kept out of `fuzz_targets/` so that
//! each target is one line and a crash found can be replayed from a test.
//!
//! Each function panics when a property fails: libFuzzer reports that as a crash and keeps
//! the input in `fuzz/artifacts/<target>/`.

mod document;
mod project;
mod text;

pub use document::document_session;
pub use project::project;
pub use text::{check_bytes, fix_bytes};
