//! Replay (SPEC 9): the journal's inputs — events, parse errors, ticks, operator
//! actions — applied again, in order, through the engine's own `apply`, at the
//! times they were first applied. Rebuilds the state and the per-source
//! checkpoints. A torn last record (a crash mid-write) is dropped — cut off the
//! file when repairing — and its events are read again from their sources.

use super::record::{parse_at, EventContext, Position, Record};
use super::writer::segments;
use crate::engine::{Engine, Input, OperatorAction, Time};
use crate::ingest::lines::{Line, LineSplitter};
use crate::model::event::{parse_line, scan_plain_str, skip_ws, Origin, ParseOptions, Unvalidated};
use crate::model::fast_event;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Arc;

/// Where reading of one source resumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub src: String,
    pub end: u64,
    pub line: u64,
    /// For a stream: the last entry read, where reading resumes.
    pub entry: Option<String>,
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
    /// What a short event record after the last one read would take.
    pub context: EventContext,
}

/// The longest record replay accepts: a maximal raw line plus its envelope.
fn max_record(max_line_bytes: usize) -> usize {
    max_line_bytes.saturating_mul(2).saturating_add(64 * 1024)
}

/// Inputs handed from the reading thread to the engine, with their times.
type Batch = Vec<(Input, Time)>;
const BATCH: usize = 1024;

/// Replays `journal_dir` into `engine`. With `repair`, a torn tail is truncated
/// away (only the console holding the lock may do that).
///
/// Reading and decoding the records (most of the work) runs on a thread of its
/// own, ahead of the engine: the engine still applies every input in journal
/// order, through its `apply`, at the record's time.
pub fn replay(
    journal_dir: &Path,
    engine: &mut Engine,
    max_line_bytes: usize,
    repair: bool,
) -> io::Result<Replayed> {
    let segs = segments(journal_dir)?;
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Batch>(4);
        // Applied batches go back to be filled again.
        let (spare_tx, spare_rx) = channel::<Batch>();
        let reader = std::thread::Builder::new()
            .name("replay".into())
            .spawn_scoped(s, move || {
                read_journal(&segs, max_line_bytes, repair, |batch: &mut Batch| {
                    let next = spare_rx
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    let _ = tx.send(std::mem::replace(batch, next));
                })
            })?;
        let mut fx = Vec::new();
        for mut batch in rx {
            // The engine's first lookup misses the caches: it is told of the whole
            // batch (a thousand slots fit in the second-level cache) first.
            for (input, _) in &batch {
                if let Input::Event(e) = input {
                    engine.prefetch(e);
                }
            }
            for (input, at) in batch.drain(..) {
                engine.apply_into(input, at, &mut fx);
                fx.clear();
            }
            let _ = spare_tx.send(batch);
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Reads every segment in order, handing the inputs to `send` in batches, and
/// rebuilds the checkpoints.
fn read_journal(
    segs: &[(u64, PathBuf)],
    max_line_bytes: usize,
    repair: bool,
    mut send: impl FnMut(&mut Batch),
) -> io::Result<Replayed> {
    let mut out = Replayed {
        segment: 1,
        ..Replayed::default()
    };
    let opts = ParseOptions::default();
    let mut batch = Batch::with_capacity(BATCH);
    let mut chunk = Chunk::default();
    for (i, (n, path)) in segs.iter().enumerate() {
        out.segment = *n;
        // A segment's records take nothing from the one before.
        chunk.context = EventContext::default();
        let last_segment = i + 1 == segs.len();
        let mut splitter = LineSplitter::new(max_record(max_line_bytes), 0);
        let mut bad_tail_at: Option<u64> = None;
        let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
        let mut decode = |chunk: &mut Chunk, out: &mut Replayed, bad_tail_at: &mut Option<u64>| {
            chunk.decode(&opts, out, bad_tail_at, &mut batch);
            if batch.len() >= BATCH {
                send(&mut batch);
            }
        };
        splitter.read_from(&mut reader, |line| {
            chunk.push(line);
            if chunk.lines.len() >= CHUNK_LINES {
                decode(&mut chunk, &mut out, &mut bad_tail_at);
            }
        })?;
        decode(&mut chunk, &mut out, &mut bad_tail_at);
        out.context = chunk.context.clone();
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
    if !batch.is_empty() {
        send(&mut batch);
    }
    Ok(out)
}

/// Lines decoded together: enough to be worth a second thread.
const CHUNK_LINES: usize = 4096;
/// Below this many lines, a chunk is decoded on the reading thread alone.
const PARALLEL_LINES: usize = 256;

/// A line's bytes in a chunk (`None`: over the record limit) and its offset.
type ChunkLine = (Option<(usize, usize)>, u64);

/// Lines of a segment, copied out of the reader's buffer to be decoded together.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    /// Each line's bytes in `bytes` and its offset in the segment; `None` for a
    /// line over the record limit.
    lines: Vec<ChunkLine>,
    /// What was decoded, in order: the first half, the lines of the second
    /// half before its first whole event record, the rest of it. Kept to be
    /// filled again.
    parts: [Decoded; 3],
    /// What a short event record next takes (the records before it left).
    context: EventContext,
}

/// What one thread decoded of a chunk: its inputs in order, the checkpoints its
/// records noted (the last per source), each line's `seq` (`None`: not a
/// record), and the context after the last.
#[derive(Default)]
struct Decoded {
    inputs: Batch,
    checkpoints: Checkpoints,
    seqs: Vec<Option<u64>>,
    context: EventContext,
    /// Lines left at the start, for want of a context (see `decode_from_whole`).
    skipped: usize,
}

impl Decoded {
    fn decode(&mut self, bytes: &[u8], lines: &[ChunkLine], opts: &ParseOptions) {
        for (range, _) in lines {
            let seq = range.and_then(|(from, to)| {
                let (cps, inputs, ctx) =
                    (&mut self.checkpoints, &mut self.inputs, &mut self.context);
                read_record(&bytes[from..to], cps, opts, inputs, ctx)
            });
            self.seqs.push(seq);
        }
    }

    /// Decodes `lines` from the first whole event record on, not knowing the
    /// context they start in: the lines before it, which may need it, are left
    /// (counted in `skipped`) for a thread that knows it.
    fn decode_from_whole(&mut self, bytes: &[u8], lines: &[ChunkLine], opts: &ParseOptions) {
        self.context = EventContext::default();
        self.skipped = 0;
        for (range, _) in lines {
            if let Some((from, to)) = range {
                // Read on its own: kept only if it sets the context.
                let mut d = Decoded::default();
                let seq = read_record(
                    &bytes[*from..*to],
                    &mut d.checkpoints,
                    opts,
                    &mut d.inputs,
                    &mut d.context,
                );
                if d.context.at.is_some() {
                    self.checkpoints.extend(d.checkpoints);
                    self.inputs.append(&mut d.inputs);
                    self.seqs.push(seq);
                    self.context = d.context;
                    let rest = &lines[self.skipped + 1..];
                    return self.decode(bytes, rest, opts);
                }
            }
            self.skipped += 1;
        }
    }
}

impl Chunk {
    fn push(&mut self, line: Line<'_>) {
        match line {
            Line::Text { bytes, offset, .. } => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(bytes);
                self.lines.push((Some((start, self.bytes.len())), offset));
            }
            Line::TooLong { offset, .. } => self.lines.push((None, offset)),
        }
    }

    /// Decodes the chunk's lines and applies what they hold, in order, exactly as
    /// reading them one by one does; empties the chunk. A large chunk is decoded
    /// in two halves, the second on the helper thread: decoding is nearly all of
    /// replay's reading thread, which was the bottleneck of a restart. Each half
    /// notes checkpoints in a map of its own; a checkpoint is the last record's
    /// for its source, so the second half's override the first's.
    fn decode(
        &mut self,
        opts: &ParseOptions,
        out: &mut Replayed,
        bad_tail_at: &mut Option<u64>,
        batch: &mut Batch,
    ) {
        let [a, prefix, b] = &mut self.parts;
        a.context = std::mem::take(&mut self.context);
        if self.lines.len() < PARALLEL_LINES || !crate::helper::available() {
            a.decode(&self.bytes, &self.lines, opts);
            self.context = std::mem::take(&mut a.context);
        } else {
            // The helper reads the same bytes; they come back to be filled again.
            // It starts at the second half's first whole event record; the lines
            // before it are read here, after the first half, in its context.
            let bytes = Arc::new(std::mem::take(&mut self.bytes));
            let mid = self.lines.len() / 2;
            let second = self.lines[mid..].to_vec();
            let (bytes2, opts2, mut b2) = (bytes.clone(), *opts, std::mem::take(b));
            let job = move || {
                b2.decode_from_whole(&bytes2, &second, &opts2);
                b2
            };
            let here = || a.decode(&bytes, &self.lines[..mid], opts);
            (*b, ()) = crate::helper::join(job, here);
            prefix.context = std::mem::take(&mut a.context);
            prefix.decode(&bytes, &self.lines[mid..mid + b.skipped], opts);
            self.context = if mid + b.skipped < self.lines.len() {
                std::mem::take(&mut b.context)
            } else {
                std::mem::take(&mut prefix.context)
            };
            self.bytes = Arc::try_unwrap(bytes).unwrap_or_default();
        }
        let (lines, parts) = (&self.lines, &mut self.parts);
        let mut lines = lines.iter();
        for half in parts.iter_mut() {
            for (seq, (range, offset)) in half.seqs.drain(..).zip(&mut lines) {
                match (range, seq) {
                    (None, _) => out.corrupt += 1,
                    (Some(_), None) => {
                        // Only the last record may be torn; remember where it began.
                        bad_tail_at.get_or_insert(*offset);
                        out.corrupt += 1;
                    }
                    (Some(_), Some(seq)) => {
                        // A bad record followed by good ones is corruption (counted),
                        // not a tear.
                        *bad_tail_at = None;
                        out.records += 1;
                        out.last_seq = out.last_seq.max(seq);
                    }
                }
            }
            out.checkpoints.extend(half.checkpoints.drain());
            batch.append(&mut half.inputs);
        }
        self.bytes.clear();
        self.lines.clear();
    }
}

/// A record as replay reads it on its fast path: the fields of `Record`, with
/// the embedded event parsed in the same pass (not skipped, then parsed again)
/// and the time left as text for `parse_at`.
#[derive(Deserialize)]
struct FastRecord<'a> {
    seq: u64,
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    src: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    file: Option<Cow<'a, str>>,
    #[serde(default)]
    off: Option<u64>,
    #[serde(default)]
    end: Option<u64>,
    #[serde(default)]
    line: Option<u64>,
    #[serde(default, borrow)]
    entry: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    raw: Option<Unvalidated<'a>>,
    // The rest only so that this reads exactly the records `Record` reads.
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    excerpt: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    op: Option<OperatorAction>,
    #[serde(default, borrow)]
    #[allow(dead_code)]
    effect: Option<&'a RawValue>,
    #[serde(default)]
    #[allow(dead_code)]
    what: Option<String>,
}

/// Decodes one record, notes its checkpoint and adds its input (if it is one) to
/// `inputs`; its `seq`, or `None` when the line is not a record. A whole event
/// record sets `ctx`; a short one takes its time and names from it.
///
/// The fast path takes the records that are nearly all of a journal — events
/// that validate, ticks, sources, effects. Anything else (an `error` or an
/// `action`, an event that does not validate, a record the fast path cannot
/// read) goes the general way, `Record::read` and `record_input`, so every
/// record is read exactly as `record_input` reads it.
fn read_record(
    bytes: &[u8],
    checkpoints: &mut Checkpoints,
    opts: &ParseOptions,
    inputs: &mut Batch,
    ctx: &mut EventContext,
) -> Option<u64> {
    // The line checked as UTF-8 at once, then read as text: serde_json then
    // skips checking each string on its own.
    let text = std::str::from_utf8(bytes).ok()?;
    // Faster still, the form `record::event` writes, read without serde_json.
    if let Some((seq, given, numbers, raw_at)) = scan_event_record(text) {
        let names = match given {
            Some((at, src, file)) => parse_at(at).map(|at| (at, src, file)),
            None => ctx.at.map(|at| (at, ctx.src.as_str(), ctx.file.as_str())),
        };
        if let Some((at, src, file)) = names {
            let p = numbers.position(src, file);
            let origin = Origin {
                source: p.src,
                line: p.line,
                offset: p.off,
            };
            // The embedded event as `parse_line` read it: by its fast path when
            // it takes it, or else by the general reader.
            let b = text.as_bytes();
            let record_ends = |end: usize| {
                let i = skip_ws(b, end);
                b.get(i) == Some(&b'}') && skip_ws(b, i + 1) == b.len()
            };
            let event = match fast_event::scan_value(text, raw_at, &origin, at, opts) {
                Some((e, end)) if record_ends(end) => Some(e),
                _ => Unvalidated::scan(text, raw_at)
                    .filter(|(_, end)| record_ends(*end))
                    .and_then(|(raw, _)| raw.into_event(&origin, at, opts).ok()),
            };
            if let Some(e) = event {
                note(checkpoints, &p);
                inputs.push((Input::Event(e), at));
                if let Some((_, src, file)) = given {
                    ctx.set(at, src, file);
                }
                return Some(seq);
            }
        }
    }
    // A short record that the scan above did not take has no `at` of its own
    // and goes the general way.
    if let Ok(rec) = serde_json::from_str::<FastRecord>(text) {
        if let Some(at) = parse_at(&rec.at) {
            let p = match (&rec.src, &rec.file, rec.off, rec.end) {
                (Some(src), Some(file), Some(off), Some(end)) => Some(Position {
                    src,
                    file,
                    off,
                    end,
                    line: rec.line.unwrap_or(0),
                    entry: rec.entry.as_deref(),
                }),
                _ => None,
            };
            let input = match (rec.kind.as_ref(), p, rec.raw) {
                ("event", Some(p), Some(raw)) => {
                    let origin = Origin {
                        source: p.src,
                        line: p.line,
                        offset: p.off,
                    };
                    raw.into_event(&origin, at, opts).ok().map(|e| {
                        note(checkpoints, &p);
                        Some(Input::Event(e))
                    })
                }
                ("event" | "source", Some(p), _) => {
                    note(checkpoints, &p);
                    Some(None)
                }
                ("event", None, _) => Some(None),
                ("tick", _, _) => Some(Some(Input::Tick)),
                ("error" | "action", _, _) => None,
                _ => Some(None),
            };
            if let Some(input) = input {
                if let ("event", Some(src), Some(file)) = (rec.kind.as_ref(), &rec.src, &rec.file) {
                    ctx.set(at, src, file);
                }
                inputs.extend(input.map(|i| (i, at)));
                return Some(rec.seq);
            }
        }
    }
    let rec = Record::read(text, ctx)?;
    if let Some(input) = record_input(&rec, checkpoints, opts) {
        inputs.push((input, rec.at));
    }
    Some(rec.seq)
}

/// The numbers of an `event` record's position as `scan_event_record` read them.
struct Numbers<'a> {
    off: u64,
    end: u64,
    line: u64,
    entry: Option<&'a str>,
}

impl<'a> Numbers<'a> {
    fn position(&self, src: &'a str, file: &'a str) -> Position<'a> {
        Position {
            src,
            file,
            off: self.off,
            end: self.end,
            line: self.line,
            entry: self.entry,
        }
    }
}

/// An `event` record exactly as `record::event` writes it — its keys in that
/// order, no whitespace, names without escapes — read without serde_json: its
/// `seq`, its `at` (as text), `src` and `file` if it is whole, its numbers, and
/// where the embedded event begins (the caller reads it, up to the record's
/// closing brace). `None` for any other line, which `FastRecord` then reads;
/// what this takes, `FastRecord` reads to the same values.
#[allow(clippy::type_complexity)]
fn scan_event_record(text: &str) -> Option<(u64, Option<(&str, &str, &str)>, Numbers<'_>, usize)> {
    let b = text.as_bytes();
    let mut i = 0;
    let lit = |i: &mut usize, l: &[u8]| -> Option<()> {
        (b.get(*i..*i + l.len())? == l).then(|| *i += l.len())
    };
    // A u64 as JSON writes it: digits, no leading zero.
    let num = |i: &mut usize| -> Option<u64> {
        let len = b[*i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || (len > 1 && b[*i] == b'0') {
            return None;
        }
        let n = b[*i..*i + len].iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })?;
        *i += len;
        Some(n)
    };
    let string = |i: &mut usize| -> Option<&str> {
        lit(i, b"\"")?;
        let end = scan_plain_str(b, *i)?;
        let s = &text[*i..end];
        *i = end + 1;
        Some(s)
    };
    lit(&mut i, b"{\"seq\":")?;
    let seq = num(&mut i)?;
    let names = if lit(&mut i, b",\"kind\":\"event\"").is_some() {
        None
    } else {
        lit(&mut i, b",\"at\":")?;
        let at = string(&mut i)?;
        lit(&mut i, b",\"kind\":\"event\",\"src\":")?;
        let src = string(&mut i)?;
        lit(&mut i, b",\"file\":")?;
        let file = string(&mut i)?;
        Some((at, src, file))
    };
    lit(&mut i, b",\"off\":")?;
    let off = num(&mut i)?;
    lit(&mut i, b",\"end\":")?;
    let end = num(&mut i)?;
    lit(&mut i, b",\"line\":")?;
    let line = num(&mut i)?;
    // A stream's entry id, after the numbers as `record::event` writes it.
    let entry = match lit(&mut i, b",\"entry\":") {
        Some(()) => Some(string(&mut i)?),
        None => None,
    };
    lit(&mut i, b",\"raw\":")?;
    let numbers = Numbers {
        off,
        end,
        line,
        entry,
    };
    Some((seq, names, numbers, i))
}

/// Notes where reading of a source resumes; in place when the source is known.
fn note(checkpoints: &mut Checkpoints, p: &Position) {
    match checkpoints.get_mut(p.file) {
        Some(c) => {
            if c.src != p.src {
                c.src = p.src.to_string();
            }
            c.end = p.end;
            c.line = p.line;
            if let Some(entry) = p.entry {
                c.entry = Some(entry.to_string());
            }
        }
        None => {
            checkpoints.insert(
                p.file.to_string(),
                Checkpoint {
                    src: p.src.to_string(),
                    end: p.end,
                    line: p.line,
                    entry: p.entry.map(str::to_string),
                },
            );
        }
    }
}

/// Notes a record's checkpoint and returns its input, if it is one.
pub fn record_input(
    rec: &Record,
    checkpoints: &mut Checkpoints,
    opts: &ParseOptions,
) -> Option<Input> {
    if let Some(p) = rec.position() {
        if matches!(rec.kind.as_ref(), "event" | "error" | "source" | "action") {
            note(checkpoints, &p);
        }
    }
    let input = match rec.kind.as_ref() {
        "event" => {
            let (Some(p), Some(raw)) = (rec.position(), rec.raw) else {
                return None;
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
        "error" => Input::ParseError(rec.parse_error()?),
        "tick" => Input::Tick,
        "action" => Input::Operator(rec.op.clone()?),
        _ => return None,
    };
    Some(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::journal::record::EventContext;

    /// Replays the way `record_input` reads a journal (as a follower does):
    /// every line through `Record`, one by one, on one thread.
    fn reference(text: &str, engine: &mut Engine) -> (Checkpoints, u64, u64) {
        let (mut cps, mut records, mut corrupt) = (Checkpoints::new(), 0, 0);
        let opts = ParseOptions::default();
        let mut fx = Vec::new();
        let mut ctx = EventContext::default();
        for line in text.lines() {
            match Record::read(line, &mut ctx) {
                Some(rec) => {
                    records += 1;
                    if let Some(input) = record_input(&rec, &mut cps, &opts) {
                        engine.apply_into(input, rec.at, &mut fx);
                    }
                }
                None => corrupt += 1,
            }
        }
        (cps, records, corrupt)
    }

    /// A segment of whole and short event records and other records between,
    /// whole ones `every` records apart (sources alternating), decoded in
    /// chunks on two threads: the same as record by record.
    #[test]
    fn short_records_read_the_same_on_two_threads() {
        for every in [3, 300, 5000, 100_000] {
            let mut lines = Vec::new();
            let mut enc = crate::journal::record::EventRecords::default();
            for i in 0..12_000u64 {
                let src = ["events/a.jsonl", "events/b.jsonl"][(i / every % 2) as usize];
                let p = Position {
                    src,
                    file: src,
                    off: i,
                    end: i + 1,
                    line: i + 1,
                    entry: None,
                };
                let at = crate::journal::record::fmt_at(
                    "2026-11-24T12:00:00Z".parse::<Time>().unwrap()
                        + chrono::Duration::milliseconds((i / every) as i64),
                );
                let raw = format!(
                    r#"{{"type":"agent_heartbeat","id":"e{i}","agent":"a{}"}}"#,
                    i % 7
                );
                let mut buf = Vec::new();
                if i % every == 0 {
                    enc.reset();
                }
                enc.event(&mut buf, i, &at, &p, raw.as_bytes());
                lines.push(String::from_utf8(buf).unwrap());
                if i % 97 == 0 {
                    lines.push(format!(
                        "{{\"seq\":{i},\"at\":\"{at}\",\"kind\":\"tick\"}}\n"
                    ));
                }
                if i % 1001 == 0 {
                    lines.push("not a record\n".into());
                }
            }
            let text = lines.concat();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("00000001.jsonl"), &text).unwrap();
            let mut fast = Engine::new(Config::default(), None);
            let r = replay(dir.path(), &mut fast, 1 << 20, false).unwrap();
            let mut slow = Engine::new(Config::default(), None);
            let (cps, records, corrupt) = reference(&text, &mut slow);
            assert_eq!((r.records, r.corrupt), (records, corrupt), "every {every}");
            assert_eq!(r.checkpoints, cps);
            assert_eq!(fast.counters, slow.counters);
            assert_eq!(fast.counters.events, 12_000);
            assert_eq!(format!("{:?}", fast.agents), format!("{:?}", slow.agents));
            let last = ["events/a.jsonl", "events/b.jsonl"][(11_999 / every % 2) as usize];
            assert_eq!(r.context.src, last);
        }
    }

    #[test]
    fn the_fast_path_reads_every_record_as_record_does() {
        let head = r#""src":"events/a.jsonl","file":"1:2:ff""#;
        let odd = r#""src":"events/\"q\"\u00e9.jsonl","file":"1:3:aa""#;
        let stream = r#""src":"redis://h:6379/s","file":"stream:s""#;
        let lines = [
            format!(r#"{{"seq":1,"at":"2026-11-24T12:00:00.000Z","kind":"source",{head},"off":0,"end":0,"line":0,"what":"opened"}}"#),
            format!(r#"{{"seq":2,"at":"2026-11-24T12:00:00.001Z","kind":"event",{head},"off":0,"end":40,"line":1,"raw":{{"type":"task_assigned","id":"e1","agent":"a\"b","task":"T1","ts":"2026-11-24T11:00:00Z"}}}}"#),
            // No id: the stand-in names the source and offset.
            format!(r#"{{"seq":3,"at":"2026-11-24T12:00:00.002Z","kind":"event",{odd},"off":7,"end":90,"line":2,"raw":{{"event_type":"agent_heartbeat","agent_id":"x","data":{{"component":"c"}}}}}}"#),
            // An event that does not validate any more is a parse error.
            format!(r#"{{"seq":4,"at":"2026-11-24T12:00:00.003Z","kind":"event",{head},"off":40,"end":80,"line":2,"raw":{{"type":"progress_update","progress":500}}}}"#),
            format!(r#"{{"seq":5,"at":"2026-11-24T12:00:01.000Z","kind":"error",{head},"off":80,"end":99,"line":3,"reason":"not valid JSON","excerpt":"{{x"}}"#),
            r#"{"seq":6,"at":"2026-11-24T12:10:00.000Z","kind":"tick"}"#.to_string(),
            r#"{"seq":7,"at":"2026-11-24T12:10:00.000Z","kind":"derived","effect":{"effect":"derived"}}"#.to_string(),
            r#"{"seq":8,"at":"2026-11-24T12:10:01.000Z","kind":"action","op":{"operator":"op","action":"acknowledge","alert":1}}"#.to_string(),
            // Another form of time, a duplicate, an event without a position.
            format!(r#"{{"seq":9,"at":"2026-11-24T13:10:01.5+01:00","kind":"event",{head},"off":99,"end":140,"line":4,"raw":{{"type":"task_assigned","id":"e1"}}}}"#),
            r#"{"seq":10,"at":"2026-11-24T12:10:02.000Z","kind":"event","raw":{"type":"x","id":"e9"}}"#.to_string(),
            // Short records: after seq 9's, one that validates, one that does
            // not, one with a time of its own but no names (no position).
            r#"{"seq":10,"kind":"event","off":150,"end":160,"line":9,"raw":{"type":"agent_heartbeat","id":"sh1","agent":"a\"b"}}"#.to_string(),
            r#"{"seq":10,"kind":"event","off":160,"end":170,"line":10,"raw":{"type":"progress_update","progress":-1,"id":"sh2"}}"#.to_string(),
            r#"{"seq":10,"kind":"event","src":"events/a.jsonl","off":170,"end":180,"line":11,"raw":{"type":"x"}}"#.to_string(),
            "not a record".to_string(),
            format!(r#"{{"seq":11,"at":"2026-11-24T12:10:03.000Z","kind":"event",{head},"off":140,"end":170,"line":5,"raw":{{"type":"agent_heartbeat","id":"e2","agent":"x","status":"idle"}}}}"#),
            // A stream's records: the entry id is the checkpoint, an action's too.
            format!(r#"{{"seq":12,"at":"2026-11-24T12:10:04.000Z","kind":"event",{stream},"off":1,"end":2,"line":1,"entry":"1764000000000-0","raw":{{"type":"agent_heartbeat","id":"s1","agent":"y"}}}}"#),
            format!(r#"{{"seq":13,"at":"2026-11-24T12:10:05.000Z","kind":"action",{stream},"off":2,"end":3,"line":2,"entry":"1764000000001-0","op":{{"operator":"op","action":"acknowledge","alert":1}}}}"#),
            // After seq 12's whole stream record, a short one with its entry.
            r#"{"seq":13,"kind":"event","off":3,"end":4,"line":3,"entry":"1764000000002-0","raw":{"type":"agent_heartbeat","id":"s2","agent":"y"}}"#.to_string(),
        ];
        let text = lines.join("\n") + "\n";
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("00000001.jsonl"), &text).unwrap();

        let mut fast = Engine::new(Config::default(), None);
        let r = replay(dir.path(), &mut fast, 1 << 20, false).unwrap();
        let mut slow = Engine::new(Config::default(), None);
        let (cps, records, corrupt) = reference(&text, &mut slow);

        assert_eq!((r.records, r.corrupt, r.last_seq), (records, corrupt, 13));
        assert_eq!(
            r.checkpoints["stream:s"].entry.as_deref(),
            Some("1764000000002-0")
        );
        assert_eq!(r.checkpoints, cps);
        assert_eq!(fast.counters, slow.counters);
        assert_eq!(fast.counters.parse_errors, 3);
        assert_eq!(format!("{:?}", fast.agents), format!("{:?}", slow.agents));
        assert_eq!(format!("{:?}", fast.tasks), format!("{:?}", slow.tasks));
        assert_eq!(fast.last_now, slow.last_now);

        // The same, many times over: chunks decoded on two threads, a torn tail.
        let many = text.repeat(700) + "not a record\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000001.jsonl");
        std::fs::write(&path, &many).unwrap();
        let mut fast = Engine::new(Config::default(), None);
        let r = replay(dir.path(), &mut fast, 1 << 20, true).unwrap();
        let mut slow = Engine::new(Config::default(), None);
        let (cps, records, corrupt) = reference(&many, &mut slow);
        assert_eq!(
            (r.records, r.corrupt + 1, r.last_seq),
            (records, corrupt, 13)
        );
        assert!(r.torn);
        assert_eq!(r.tail_offset, (many.len() - "not a record\n".len()) as u64);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), r.tail_offset);
        assert_eq!(r.checkpoints, cps);
        assert_eq!(fast.counters, slow.counters);
        assert_eq!(format!("{:?}", fast.agents), format!("{:?}", slow.agents));
        assert_eq!(format!("{:?}", fast.tasks), format!("{:?}", slow.tasks));
    }
}
