//! Running the real `coord` binary from the CLI tests: one way to call it (no
//! colour, no `RUST_LOG` from the caller) and to read what it said.
#![allow(dead_code)]

use std::process::{Command, Output};

pub const COORD: &str = env!("CARGO_BIN_EXE_coord");

pub fn coord(args: &[&str]) -> Output {
    Command::new(COORD)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("run coord")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed by a signal")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn stdout(out: &Output) -> String {
    text(&out.stdout)
}

pub fn stderr(out: &Output) -> String {
    text(&out.stderr)
}
