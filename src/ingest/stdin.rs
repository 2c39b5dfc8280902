//! `coord watch -`: JSON Lines on standard input (`ssh box tail -F … | coord watch -`).
//! A stream has no offset to resume from: each run is its own stream, and events
//! sent again after a restart are counted once by their ids.

use super::lines::{Line, LineSplitter};
use super::parse_one;
use super::source::{Pass, Source};
use super::tailer::{Item, Pos};
use crate::model::event::ParseOptions;
use chrono::{DateTime, Utc};
use std::io::{self, BufRead};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Stdin read to its end. A read takes what is waiting and hands it over, so a
/// slow writer's lines are not held back.
pub struct Stdin {
    input: io::StdinLock<'static>,
    /// Each run's own name, standing in for the ids events lack, so that a line
    /// without an id is not taken for one of an earlier run.
    src: Arc<str>,
    splitter: LineSplitter,
    line_no: u64,
    eof: bool,
    max_line_bytes: usize,
    opts: ParseOptions,
    clock: fn() -> DateTime<Utc>,
}

impl Stdin {
    pub fn new(max_line_bytes: usize, clock: fn() -> DateTime<Utc>) -> Stdin {
        Stdin {
            input: io::stdin().lock(),
            src: format!("stdin:{}", clock().timestamp_millis()).into(),
            splitter: LineSplitter::new(max_line_bytes, 0),
            line_no: 0,
            eof: false,
            max_line_bytes,
            opts: ParseOptions::default(),
            clock,
        }
    }
}

impl Source for Stdin {
    fn read(&mut self, out: &mut dyn FnMut(Item)) -> io::Result<Pass> {
        let chunk = self.input.fill_buf()?;
        // At the end of the stream the writer has finished: a last line
        // without its newline is complete (a newline is fed to end it).
        self.eof = chunk.is_empty();
        let chunk: &[u8] = if self.eof { b"\n" } else { chunk };
        let n = chunk.len();
        let now = (self.clock)();
        let Stdin {
            src,
            splitter,
            line_no,
            max_line_bytes,
            opts,
            ..
        } = self;
        splitter.feed(chunk, &mut |line| {
            *line_no += 1;
            let (off, end, raw) = match &line {
                Line::Text { bytes, offset, end } => (*offset, *end, bytes.to_vec()),
                Line::TooLong { offset, len, head } => (*offset, offset + len + 1, head.to_vec()),
            };
            if let Some(parsed) = parse_one(line, src, "", *line_no, *max_line_bytes, now, opts) {
                let pos = Pos {
                    src: src.clone(),
                    file: src.clone(),
                    off,
                    end,
                    line: *line_no,
                    entry: None,
                };
                out(Item::Line { pos, raw, parsed });
            }
        });
        if self.eof {
            return Ok(Pass::Done);
        }
        self.input.consume(n);
        Ok(Pass::More)
    }

    /// Never called: a read waits for input itself.
    fn wait(&mut self, _stop: &AtomicBool) {}
}
