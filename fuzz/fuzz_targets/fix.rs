//! Fixing arbitrary text, unsafe fixes included: the result parses whenever the input did.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aiolint_fuzz::fix_bytes(data));
