//! The aiolint reference executor.
//!
//! This crate will hold the `mio` supervisor that runs probe snippets in CPython and measures how
//! long the asyncio loop was blocked (see `SPEC.md` section 5).
