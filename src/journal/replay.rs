//! Replay (SPEC 9, 16): the journal's inputs — events, parse errors, ticks,
//! operator actions — applied again, in order, through the engine's own
//! `apply`, at the times they were first applied, from the newest sound
//! snapshot on (or from the first record). Rebuilds the state and the
//! per-source checkpoints. A torn last record (a crash mid-write) is dropped —
//! cut off the file when repairing — and its events are read again from their
//! sources; any other damage refuses (`Refused`), naming where it is.

use super::reader::{Damage, End, Fault, Reader};
use super::record::{Position, Record};
use super::snapshot;
use crate::engine::{Engine, Input, Time};
use crate::model::event::{Origin, ParseOptions};
use crate::model::parse::parse_line;
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// Where reading of one source resumes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub src: String,
    pub end: u64,
    pub line: u64,
    /// For a stream: the last entry read, where reading resumes.
    pub entry: Option<String>,
    /// The last line read, when it was an event: where it begins and a
    /// checksum of its bytes. A file whose bytes there differ was rewritten,
    /// even at the same size and with the same first line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<Tail>,
}

/// A line's place and checksum (`line_crc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tail {
    pub off: u64,
    pub crc: u32,
}

/// The checksum a `Tail` keeps: of the line's bytes, a trailing CR aside.
pub fn line_crc(line: &[u8]) -> u32 {
    crc32fast::hash(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Checkpoints by source identity (`dev:ino:hash`, or a stream id).
pub type Checkpoints = HashMap<String, Checkpoint>;

#[derive(Debug, Default)]
pub struct Replayed {
    pub checkpoints: Checkpoints,
    /// The last record's sequence number (0 for an empty journal).
    pub last_seq: u64,
    /// The last record's time (none for an empty journal).
    pub last_at: Option<Time>,
    /// The segment to append to, and the end of its last whole record.
    pub segment: u64,
    pub tail_offset: u64,
    /// Records applied (after the snapshot, when one was read).
    pub records: u64,
    /// A torn last record was found (and cut off when repairing).
    pub torn: bool,
    /// The snapshot replay started from (its `seq`).
    pub snapshot: Option<u64>,
    /// Newer snapshots passed over (damaged, or not fitting the journal), and why.
    pub passed_over: Vec<String>,
}

/// Why replay would not go on.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{}", refusal(.0))]
    Damaged(Damage),
}

/// What an operator reads when the journal is damaged: where, and what to run.
fn refusal(d: &Damage) -> String {
    let journal = d.file.parent().unwrap_or(Path::new("journal"));
    let dir = journal.parent().unwrap_or(Path::new("."));
    if d.fault == Fault::Unversioned {
        return format!(
            "{} was written by an older coord (journal v1: records without checksums), which \
             this coord does not read. Nothing was changed. To start a new journal, move the old \
             one aside (`mv {j} {j}.v1`): the event files are then read again from their start.",
            d.file.display(),
            j = journal.display()
        );
    }
    format!(
        "the journal is damaged: {d}. Nothing was changed. `coord journal verify {dir}` lists \
         the damage; `coord journal repair {dir}` keeps the records before it, sets the rest \
         aside and reads their events again from their sources.",
        dir = dir.display()
    )
}

/// Replays `journal_dir` into `engine`, from its newest sound snapshot. With
/// `repair`, a torn tail is truncated away (only the console holding the lock
/// may do that).
pub fn replay(journal_dir: &Path, engine: &mut Engine, repair: bool) -> Result<Replayed, Refused> {
    replay_to(journal_dir, engine, repair, None)
}

/// The state as the console had it at `until`: from the newest sound snapshot
/// at or before it, the records up to it (none after; no timer fired past the
/// last), read only. `last_at` is the last record applied.
pub fn replay_until(
    journal_dir: &Path,
    engine: &mut Engine,
    until: Time,
) -> Result<Replayed, Refused> {
    replay_to(journal_dir, engine, false, Some(until))
}

fn replay_to(
    journal_dir: &Path,
    engine: &mut Engine,
    repair: bool,
    until: Option<Time>,
) -> Result<Replayed, Refused> {
    let mut out = Replayed::default();
    let loaded = snapshot::load_before(journal_dir, engine, until);
    let mut reader = match loaded.unwrap_or_else(|passed_over| {
        out.passed_over = passed_over;
        None
    }) {
        Some(snap) => {
            check_marked(journal_dir, &snap)?;
            out.checkpoints = snap.checkpoints;
            out.snapshot = Some(snap.seq);
            out.passed_over = snap.passed_over;
            Reader::resume(journal_dir, snap.segment, snap.offset, snap.seq)?
        }
        None => Reader::open(journal_dir)?,
    };
    let opts = ParseOptions::default();
    let mut fx = Vec::new();
    for item in &mut reader {
        let entry = item.map_err(Refused::Damaged)?;
        let rec = entry.decode(journal_dir).map_err(Refused::Damaged)?;
        if until.is_some_and(|t| rec.at > t) {
            // A view of the past: what follows had not happened.
            return Ok(out);
        }
        if let Some(input) = record_input(&rec, &mut out.checkpoints, &opts) {
            if let Input::Event(e) = &input {
                engine.prefetch(e);
            }
            engine.apply_into(input, rec.at, &mut fx);
            fx.clear();
        }
        out.last_at = Some(rec.at);
        out.records += 1;
    }
    let End {
        segment,
        offset,
        last_seq,
        torn,
    } = reader.end().clone();
    (out.segment, out.tail_offset, out.last_seq) = (segment, offset, last_seq);
    out.torn = torn.is_some();
    if out.last_at.is_none() && last_seq > 0 {
        // Nothing after the snapshot: its record, read from the journal's end.
        out.last_at = super::reader::last_at(journal_dir, segment, offset)?;
    }
    if torn.is_some() && repair {
        let path = journal_dir.join(super::writer::segment_name(segment));
        OpenOptions::new().write(true).open(path)?.set_len(offset)?;
    }
    Ok(out)
}

/// Finds damage before a snapshot without reading the whole journal: every
/// segment the snapshot marked must be there; one whose length or time is not
/// the marked one has changed since and is checked in full, record by record
/// (the snapshot's own segment, up to its record, unless nothing was written
/// after it). (A segment changed
/// with its time put back is found by `coord journal verify`, which reads all.)
fn check_marked(journal_dir: &Path, snap: &snapshot::Loaded) -> Result<(), Refused> {
    for (i, mark) in snap.marks.iter().enumerate() {
        let path = journal_dir.join(super::writer::segment_name(mark.n));
        let before = mark.first_seq.saturating_sub(1);
        let damage = |offset, fault| Damage {
            file: path.clone(),
            offset,
            last_good: before,
            fault,
        };
        let meta =
            std::fs::metadata(&path).map_err(|_| Refused::Damaged(damage(0, Fault::Missing)))?;
        // The snapshot's own segment is marked as long as its record: it is
        // unchanged only if nothing was written after the snapshot (a stop).
        if mark.unchanged(&meta) {
            continue;
        }
        // Read on until the record the next mark (or the snapshot) begins with.
        let next = snap.marks.get(i + 1).map_or(snap.seq + 1, |m| m.first_seq);
        let mut reader = Reader::resume(journal_dir, mark.n, 0, before)?;
        for item in &mut reader {
            let entry = item.map_err(Refused::Damaged)?;
            if entry.seq + 1 == next {
                break;
            }
        }
        let end = reader.end();
        if end.last_seq + 1 != next {
            return Err(Refused::Damaged(Damage {
                file: journal_dir.join(super::writer::segment_name(end.segment)),
                offset: end.offset,
                last_good: end.last_seq,
                fault: Fault::Unfinished,
            }));
        }
    }
    Ok(())
}

/// Notes where reading of a source resumes; in place when the source is known.
pub(crate) fn note(checkpoints: &mut Checkpoints, p: &Position) {
    match checkpoints.get_mut(p.file) {
        Some(c) => {
            if c.src != p.src {
                c.src = p.src.to_string();
            }
            c.end = p.end;
            c.line = p.line;
            c.tail = None;
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
                    tail: None,
                },
            );
        }
    }
}

/// `note` for an event's line: its place and checksum are kept too.
pub(crate) fn note_line(checkpoints: &mut Checkpoints, p: &Position, line: &[u8]) {
    note(checkpoints, p);
    if let Some(c) = checkpoints.get_mut(p.file) {
        c.tail = Some(Tail {
            off: p.off,
            crc: line_crc(line),
        });
    }
}

/// Notes a record's checkpoint and returns its input, if it is one.
pub fn record_input(
    rec: &Record,
    checkpoints: &mut Checkpoints,
    opts: &ParseOptions,
) -> Option<Input> {
    if let Some(p) = rec.position() {
        match (rec.kind.as_ref(), rec.raw) {
            ("event", Some(raw)) => note_line(checkpoints, &p, raw.get().as_bytes()),
            ("event" | "error" | "source" | "action", _) => note(checkpoints, &p),
            _ => {}
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
                ident: p.file,
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
    use crate::journal::record::{self, fmt_at};
    use crate::journal::writer::segment_name;

    #[test]
    fn every_kind_of_record_is_read_back_as_it_was_applied() {
        let at = |s: &str| fmt_at(s.parse().unwrap());
        let p = Position {
            src: "events/a.jsonl",
            file: "1:2:ff",
            off: 0,
            end: 40,
            line: 1,
            entry: None,
        };
        let mut buf = Vec::new();
        let t0 = at("2026-11-24T12:00:00.001Z");
        record::source(&mut buf, 1, &t0, &p, "opened");
        record::event(&mut buf, 2, &t0, &p, br#"{"type":"task_assigned","id":"e1","agent":"a\"b","task":"T1","ts":"2026-11-24T11:00:00Z"}"#);
        // An event that does not validate any more is a parse error.
        let p2 = Position {
            off: 40,
            end: 80,
            line: 2,
            ..p.clone()
        };
        record::event(
            &mut buf,
            3,
            &t0,
            &p2,
            br#"{"type":"progress_update","progress":500}"#,
        );
        let e = crate::model::ParseError {
            source: p.src.into(),
            line: 3,
            offset: 80,
            reason: "not valid JSON".into(),
            excerpt: "{x".into(),
        };
        let p3 = Position {
            off: 80,
            end: 99,
            line: 3,
            ..p.clone()
        };
        record::error(&mut buf, 4, &t0, &p3, &e);
        record::tick(&mut buf, 5, &at("2026-11-24T12:10:00Z"));
        let op: crate::engine::OperatorAction =
            serde_json::from_str(r#"{"operator":"op","action":"acknowledge","alert":1}"#).unwrap();
        record::action(&mut buf, 6, &at("2026-11-24T12:10:01Z"), &op, None);
        let stream = Position {
            src: "redis://h:6379/s",
            file: "stream:s",
            off: 1,
            end: 2,
            line: 1,
            entry: Some("1764000000000-0"),
        };
        record::event(
            &mut buf,
            7,
            &t0,
            &stream,
            br#"{"type":"agent_heartbeat","id":"s1","agent":"y"}"#,
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_name(1)), &buf).unwrap();
        let mut engine = Engine::new(Config::default(), None);
        let r = replay(dir.path(), &mut engine, false).unwrap();
        assert_eq!((r.records, r.last_seq, r.torn), (7, 7, false));
        assert_eq!((r.segment, r.tail_offset), (1, buf.len() as u64));
        assert_eq!(engine.counters.events, 2);
        assert_eq!(engine.counters.parse_errors, 2);
        assert_eq!(r.checkpoints["1:2:ff"].end, 99);
        assert_eq!(
            r.checkpoints["stream:s"].entry.as_deref(),
            Some("1764000000000-0")
        );
    }

    #[test]
    fn a_torn_tail_is_cut_when_repairing_and_damage_refuses() {
        let at = fmt_at("2026-11-24T12:00:00Z".parse().unwrap());
        let mut buf = Vec::new();
        for seq in 1..=3 {
            record::tick(&mut buf, seq, &at);
        }
        let whole = buf.len();
        buf.extend_from_slice(b"{\"seq\":4,\"at");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_name(1));
        std::fs::write(&path, &buf).unwrap();
        let mut engine = Engine::new(Config::default(), None);
        let r = replay(dir.path(), &mut engine, true).unwrap();
        assert!(r.torn);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole as u64);

        // A record in the middle changed: refused, naming the file and offset.
        let mut bad = buf[..whole].to_vec();
        bad[whole / 3 + 5] = b'9';
        std::fs::write(&path, &bad).unwrap();
        let err = replay(dir.path(), &mut engine, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{} at byte {}", path.display(), whole / 3)),
            "{err}"
        );
        assert!(err.contains("last good record is seq 1"), "{err}");
        assert!(err.contains("coord journal repair"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), bad, "nothing was changed");
    }
}
