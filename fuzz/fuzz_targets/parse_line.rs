//! Arbitrary bytes through the line splitter (a small line limit, fed in
//! chunks) and the line parser with both zone options. See
//! `tests/fuzz_support/mod.rs` for the checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_support/mod.rs"]
mod fuzz_support;

fuzz_target!(|data: &[u8]| fuzz_support::parse_line_case(data));
