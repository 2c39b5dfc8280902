//! The fuzz targets' saved cases, replayed on stable without libFuzzer: every
//! file under `tests/fuzz_cases/<target>/` goes through the same function the
//! target in `fuzz/` runs (`tests/fuzz_support/mod.rs`). Crashes the fuzzer
//! found are kept there, and a small set of inputs from the minimised corpus
//! that reach distinct paths. README, Fuzzing, says how to run the fuzzers.

mod fuzz_support;

use std::path::Path;

fn replay(target: &str, case: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_cases")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    for file in files {
        let bytes = std::fs::read(&file).expect("a case");
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = std::panic::catch_unwind(|| case(&bytes));
        assert!(outcome.is_ok(), "{target}: case {name} fails");
    }
}

#[test]
fn parse_line_cases() {
    replay("parse_line", fuzz_support::parse_line_case);
}

#[test]
fn engine_inputs_cases() {
    replay("engine_inputs", |bytes| {
        fuzz_support::engine_case(bytes);
    });
}

/// The saved bytes still decode to sequences of steps: `arbitrary` is pinned to
/// the fuzz crate's version, and a change of the step types would show here.
#[test]
fn engine_inputs_cases_decode_to_long_sequences() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_cases/engine_inputs/corpus-7b05b9d8e0cb");
    let steps = fuzz_support::engine_case(&std::fs::read(case).expect("a case"));
    assert!(steps >= 20, "{steps} steps");
}

/// A few hand-made lines through the same checks, so that the replay is known
/// to reach the parser and the round trip whatever the saved cases are.
#[test]
fn parse_line_case_reaches_the_parser() {
    let mut input = vec![63u8, 0]; // a 512-byte limit, fed whole
    input.extend_from_slice(
        b"{\"type\":\"progress_update\",\"agent_id\":\"a\",\"progress\":50}\n\
          {\"event_type\":\"Agent_Heartbeat\",\"ts\":\"2026-11-24 13:00:00\",\"data\":{\"agent\":7}}\r\n\
          not json\n\
          {\"type\":\"x\",\"progress\":101}\n\
          \xff\xfe\n",
    );
    fuzz_support::parse_line_case(&input);
}
