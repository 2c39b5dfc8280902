//! Replay (SPEC 9): the journal's inputs — events, parse errors, ticks, operator
//! actions — applied again, in order, through the engine's own `apply`, at the
//! times they were first applied. Rebuilds the state and the per-source
//! checkpoints. A torn last record (a crash mid-write) is dropped — cut off the
//! file when repairing — and its events are read again from their sources.

use super::record::Record;
use super::writer::segments;
use crate::engine::{Engine, Input};
use crate::ingest::lines::{Line, LineSplitter};
use crate::model::event::{parse_line, Origin, ParseOptions};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader};
use std::path::Path;

/// Where reading of one source resumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub src: String,
    pub end: u64,
    pub line: u64,
}

/// Checkpoints by source identity (`dev:ino:hash`, or a stream id).
pub type Checkpoints = HashMap<String, Checkpoint>;

#[derive(Debug, Default)]
pub struct Replayed {
    pub checkpoints: Checkpoints,
    /// The last record's sequence number (0 for an empty journal).
    pub last_seq: u64,
    /// The segment to append to, and the end of its last whole record.
    pub segment: u64,
    pub tail_offset: u64,
    pub records: u64,
    /// A torn last record was found (and cut off when repairing).
    pub torn: bool,
    /// Records that could not be read (not at the tail), skipped.
    pub corrupt: u64,
}

/// The longest record replay accepts: a maximal raw line plus its envelope.
fn max_record(max_line_bytes: usize) -> usize {
    max_line_bytes.saturating_mul(2).saturating_add(64 * 1024)
}

/// Replays `journal_dir` into `engine`. With `repair`, a torn tail is truncated
/// away (only the console holding the lock may do that).
pub fn replay(
    journal_dir: &Path,
    engine: &mut Engine,
    max_line_bytes: usize,
    repair: bool,
) -> io::Result<Replayed> {
    let mut out = Replayed {
        segment: 1,
        ..Replayed::default()
    };
    let segs = segments(journal_dir)?;
    let opts = ParseOptions::default();
    let mut fx = Vec::new();
    for (i, (n, path)) in segs.iter().enumerate() {
        out.segment = *n;
        let last_segment = i + 1 == segs.len();
        let mut splitter = LineSplitter::new(max_record(max_line_bytes), 0);
        let mut bad_tail_at: Option<u64> = None;
        let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
        splitter.read_from(&mut reader, |line| {
            let Line::Text { bytes, offset, .. } = line else {
                out.corrupt += 1;
                return;
            };
            let Ok(rec) = serde_json::from_slice::<Record>(bytes) else {
                // Only the last record may be torn; remember where it began.
                bad_tail_at.get_or_insert(offset);
                out.corrupt += 1;
                return;
            };
            // A bad record followed by good ones is corruption (counted), not a tear.
            bad_tail_at = None;
            out.records += 1;
            out.last_seq = out.last_seq.max(rec.seq);
            apply_record(&rec, engine, &mut out.checkpoints, &opts, &mut fx);
            fx.clear();
        })?;
        let pending = splitter.pending() as u64;
        out.tail_offset = bad_tail_at.unwrap_or(splitter.committed());
        if last_segment && (pending > 0 || bad_tail_at.is_some()) {
            out.torn = true;
            if bad_tail_at.is_some() {
                out.corrupt -= 1;
            }
            let keep = bad_tail_at.unwrap_or(splitter.committed());
            if repair {
                OpenOptions::new().write(true).open(path)?.set_len(keep)?;
            }
        }
    }
    Ok(out)
}

/// Applies one record's input (if it is one) and notes its checkpoint.
pub fn apply_record(
    rec: &Record,
    engine: &mut Engine,
    checkpoints: &mut Checkpoints,
    opts: &ParseOptions,
    fx: &mut Vec<crate::engine::Effect>,
) {
    if let Some(p) = rec.position() {
        if matches!(rec.kind.as_ref(), "event" | "error" | "source") {
            checkpoints.insert(
                p.file.to_string(),
                Checkpoint {
                    src: p.src.to_string(),
                    end: p.end,
                    line: p.line,
                },
            );
        }
    }
    let input = match rec.kind.as_ref() {
        "event" => {
            let (Some(p), Some(raw)) = (rec.position(), rec.raw) else {
                return;
            };
            let origin = Origin {
                source: p.src,
                line: p.line,
                offset: p.off,
            };
            match parse_line(raw.get().as_bytes(), &origin, rec.at, opts) {
                Ok(e) => Input::Event(e),
                Err(e) => Input::ParseError(e),
            }
        }
        "error" => match rec.parse_error() {
            Some(e) => Input::ParseError(e),
            None => return,
        },
        "tick" => Input::Tick,
        "action" => match &rec.op {
            Some(op) => Input::Operator(op.clone()),
            None => return,
        },
        _ => return,
    };
    engine.apply_into(input, rec.at, fx);
}
