//! Typing benchmark (filled in below).

fn main() {}
