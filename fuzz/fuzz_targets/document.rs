//! Random `didChange` sequences on the language server's document: the rope, the incrementally
//! edited tree and a parse from scratch agree, and the function-level re-check gives a whole
//! check's findings wherever it is taken (see `lsp::fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aiolint_fuzz::document_session(data));
