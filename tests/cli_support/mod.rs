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

/// Appends `events` to `DIR/events/FILE` as JSON Lines, in one write of whole
/// lines (a console tailing the file never sees half a line).
pub fn append_events(dir: &std::path::Path, file: &str, events: &[serde_json::Value]) {
    use std::io::Write;
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let events_dir = dir.join("events");
    std::fs::create_dir_all(&events_dir).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(events_dir.join(file))
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}
