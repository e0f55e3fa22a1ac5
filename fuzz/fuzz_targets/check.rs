//! Parse and analyse arbitrary bytes as `aiolint check` does one file: decoded as UTF-8 (what
//! is not is an `E902` there), checked as a module and, when it is a notebook's JSON, as a
//! notebook; every finding's position converted as the printers do.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aiolint_fuzz::check_bytes(data));
