//! The aiolint language server.
//!
//! This crate will hold the `tower-lsp-server` based server behind `aiolint server`: documents
//! kept as ropes with incremental tree-sitter reparsing, debounced diagnostics, quick-fix code
//! actions and hover (see `SPEC.md` section 4). It is empty until that work lands.
