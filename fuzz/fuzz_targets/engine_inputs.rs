//! A sequence of events, ticks, clock advances, operator actions and parse
//! errors applied to an engine, with and without a plan. See
//! `tests/fuzz_support/mod.rs` for the steps and the invariants checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_support/mod.rs"]
mod fuzz_support;

fuzz_target!(|case: fuzz_support::EngineCase| fuzz_support::run_engine_case(&case));
