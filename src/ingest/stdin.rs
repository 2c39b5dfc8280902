//! `coord watch -`: JSON Lines on standard input (`ssh box tail -F … | coord watch -`).
//! A stream has no offset to resume from: each run is its own stream, and events
//! sent again after a restart are counted once by their ids.

use super::lines::LineSplitter;
use super::parse_one;
use super::tailer::{Item, Pos};
use crate::model::event::ParseOptions;
use chrono::{DateTime, Utc};
use std::io::{self, BufRead};
use std::sync::Arc;

/// Reads stdin to its end, delivering batches; a batch is handed over as soon
/// as no more input is waiting, so a slow writer's lines are not held back.
pub fn run(
    max_line_bytes: usize,
    clock: impl Fn() -> DateTime<Utc>,
    mut deliver: impl FnMut(Vec<Item>, bool) -> bool,
) -> io::Result<()> {
    // Each run is its own stream: its name stands in for the ids events lack, so
    // a line without an id is not taken for one of an earlier run.
    let file: Arc<str> = format!("stdin:{}", clock().timestamp_millis()).into();
    let src = file.clone();
    let opts = ParseOptions::default();
    let mut splitter = LineSplitter::new(max_line_bytes, 0);
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line_no = 0u64;
    let mut eof = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            // At the end of the stream the writer has finished: a last line
            // without its newline is complete (a newline is fed to end it).
            if eof {
                deliver(Vec::new(), true);
                return Ok(());
            }
            eof = true;
        }
        let chunk: &[u8] = if eof { b"\n" } else { chunk };
        let n = chunk.len();
        let now = clock();
        let mut batch = Vec::new();
        splitter.feed(chunk, &mut |line| {
            line_no += 1;
            let (off, end, raw) = match &line {
                super::lines::Line::Text { bytes, offset, end } => (*offset, *end, bytes.to_vec()),
                super::lines::Line::TooLong { offset, len, head } => {
                    (*offset, offset + len + 1, head.to_vec())
                }
            };
            if let Some(parsed) = parse_one(line, &src, line_no, max_line_bytes, now, &opts) {
                let pos = Pos {
                    src: src.clone(),
                    file: file.clone(),
                    off,
                    end,
                    line: line_no,
                    entry: None,
                };
                batch.push(Item::Line { pos, raw, parsed });
            }
        });
        if !eof {
            input.consume(n);
        }
        if !batch.is_empty() && !deliver(batch, false) {
            return Ok(());
        }
    }
}
