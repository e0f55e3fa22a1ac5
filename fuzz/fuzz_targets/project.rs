//! Random small projects with import cycles, re-exports and self-imports: the one-pass project
//! run finishes and gives the findings of checking each file against the complete index.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aiolint_fuzz::project(data));
