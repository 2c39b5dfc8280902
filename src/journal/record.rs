//! Journal records (SPEC 9, 16): one JSON object per line, written by hand on
//! the hot path (an ingested event's raw line is embedded verbatim, no
//! re-encoding) and read back with a borrowing decoder.
//!
//! Every record is whole — it takes nothing from the records before it — and
//! proves itself: its last field, `"crc"`, is the CRC-32 (IEEE) of the record's
//! bytes before that field, as eight hex digits. So any line can be checked and
//! read alone (`journal::reader` checks every one), and the journal stays JSON
//! Lines that an operator can `grep`.
//!
//! Kinds: `event` (an ingested line, raw kept, with its source checkpoint),
//! `error` (a line that did not parse, with its checkpoint), `tick`, `action` (an
//! operator's), and the effects — `derived`, `transition`, `auto`, `notify`,
//! `rejected` — plus `source` (a file truncated, rewritten, rotated or let go)
//! and `repaired` (`coord journal repair` set damaged records aside).
//! Replay applies `event`, `error`, `tick` and `action` through the engine's
//! `apply`; the effect records are the audit trail and are recomputed.

use crate::engine::{Effect, OperatorAction, Time};
use crate::model::{Level, ParseError};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Where a line came from, in the form a checkpoint needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position<'a> {
    /// The source name, e.g. `events/be-1.jsonl` or `stdin`.
    pub src: &'a str,
    /// The file's identity (device, inode, first-line hash), or a stream id.
    pub file: &'a str,
    /// Offset of the line's first byte (for a `*.json` drop: the element index).
    pub off: u64,
    /// Offset just past the line: where reading resumes.
    pub end: u64,
    /// 1-based line number.
    pub line: u64,
    /// A stream entry's id: where a stream source resumes.
    pub entry: Option<&'a str>,
}

/// The time of a record: milliseconds, UTC. The runtime applies inputs at times
/// already rounded to the millisecond, so replay sees exactly what was applied.
pub fn fmt_at(at: Time) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a record's time: the form `fmt_at` writes by `parse_utc`, much faster
/// than chrono's general RFC 3339 parser; any other form by that parser, as a
/// `Record`'s `at` is read.
pub fn parse_at(s: &str) -> Option<Time> {
    crate::model::event::parse_utc(s).or_else(|| {
        // What chrono's `Deserialize` for `DateTime<Utc>` does.
        s.parse::<DateTime<chrono::FixedOffset>>()
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// Appends a JSON string literal.
fn push_str_lit(buf: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *buf, s).expect("writing to a Vec cannot fail");
}

/// Starts a record; returns where it begins, for `close`.
fn head(buf: &mut Vec<u8>, seq: u64, at: &str, kind: &str) -> usize {
    let start = buf.len();
    open(buf, seq);
    at_kind(buf, at, kind);
    start
}

/// `,"crc":"…"}`: the length of what ends every record (before its newline).
const CRC_TAIL: usize = CRC_KEY.len() + 8 + 2;
const CRC_KEY: &[u8] = b",\"crc\":\"";

/// Ends the record that began at `start` with the checksum of its bytes.
fn close(buf: &mut Vec<u8>, start: usize) {
    let crc = crc32fast::hash(&buf[start..]);
    buf.extend_from_slice(CRC_KEY);
    let mut hex = [0u8; 8];
    for (i, d) in hex.iter_mut().enumerate() {
        *d = b"0123456789abcdef"[(crc >> (28 - 4 * i) & 0xf) as usize];
    }
    buf.extend_from_slice(&hex);
    buf.extend_from_slice(b"\"}\n");
}

/// Why a line is not a sound record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsound {
    /// No checksum at all: a journal written before records carried one.
    Unversioned,
    /// Its bytes are not the ones its checksum was made of.
    Checksum,
}

/// Checks a record's line (without its newline) against its checksum and
/// returns its `seq`. Reads nothing else: replay, audit and verify decode what
/// they need after this.
pub fn check(line: &[u8]) -> Result<u64, Unsound> {
    let split = line.len().checked_sub(CRC_TAIL);
    let (body, end) = match split {
        Some(at) if line[at..].starts_with(CRC_KEY) && line.ends_with(b"\"}") => line.split_at(at),
        _ if line.starts_with(b"{\"seq\":") && !contains(line, CRC_KEY) => {
            return Err(Unsound::Unversioned)
        }
        _ => return Err(Unsound::Checksum),
    };
    let hex = &end[CRC_KEY.len()..CRC_KEY.len() + 8];
    let want = std::str::from_utf8(hex)
        .ok()
        .filter(|h| h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or(Unsound::Checksum)?;
    if crc32fast::hash(body) != want {
        return Err(Unsound::Checksum);
    }
    seq_of(body).ok_or(Unsound::Checksum)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// The `seq` a record begins with: `{"seq":123,`.
fn seq_of(body: &[u8]) -> Option<u64> {
    let digits = body.strip_prefix(b"{\"seq\":")?;
    let len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 || len > 19 || digits.get(len) != Some(&b',') {
        return None;
    }
    std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
}

/// `{"seq":…`
fn open(buf: &mut Vec<u8>, seq: u64) {
    buf.extend_from_slice(b"{\"seq\":");
    buf.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
}

/// `,"at":…,"kind":…`
fn at_kind(buf: &mut Vec<u8>, at: &str, kind: &str) {
    buf.extend_from_slice(b",\"at\":\"");
    buf.extend_from_slice(at.as_bytes());
    buf.extend_from_slice(b"\",\"kind\":\"");
    buf.extend_from_slice(kind.as_bytes());
    buf.push(b'"');
}

fn position(buf: &mut Vec<u8>, p: &Position) {
    names(buf, p);
    numbers(buf, p);
}

/// `,"src":…,"file":…`
fn names(buf: &mut Vec<u8>, p: &Position) {
    buf.extend_from_slice(b",\"src\":");
    push_str_lit(buf, p.src);
    buf.extend_from_slice(b",\"file\":");
    push_str_lit(buf, p.file);
}

/// `,"off":…,"end":…,"line":…`
fn numbers(buf: &mut Vec<u8>, p: &Position) {
    let mut n = itoa::Buffer::new();
    for (key, v) in [
        (&b",\"off\":"[..], p.off),
        (b",\"end\":", p.end),
        (b",\"line\":", p.line),
    ] {
        buf.extend_from_slice(key);
        buf.extend_from_slice(n.format(v).as_bytes());
    }
    if let Some(entry) = p.entry {
        buf.extend_from_slice(b",\"entry\":");
        push_str_lit(buf, entry);
    }
}

/// An ingested event; `raw` is its line, a JSON object, embedded as it was read.
/// (With no level: the console's own records carry the engine's, `EventWriter`.)
pub fn event(buf: &mut Vec<u8>, seq: u64, at: &str, p: &Position, raw: &[u8]) {
    EventWriter::default().event(buf, seq, at, p, None, raw);
}

/// Writes `event` records (each whole), keeping the JSON of the last source's
/// names: nearly every record of a batch has the same, and escaping them for
/// each was the journal thread's largest cost after the checksum.
#[derive(Default)]
pub struct EventWriter {
    src: String,
    file: String,
    /// `,"src":…,"file":…` for `src` and `file`.
    names: Vec<u8>,
}

impl EventWriter {
    /// `level`: the event's level in the stream as the engine classified it
    /// (`"lvl"`, absent for chatter), so a restarted console shows the row as
    /// it was shown live.
    pub fn event(
        &mut self,
        buf: &mut Vec<u8>,
        seq: u64,
        at: &str,
        p: &Position,
        level: Option<Level>,
        raw: &[u8],
    ) {
        if self.names.is_empty() || self.src != p.src || self.file != p.file {
            self.names.clear();
            names(&mut self.names, p);
            p.src.clone_into(&mut self.src);
            p.file.clone_into(&mut self.file);
        }
        buf.reserve(raw.len() + self.names.len() + 128);
        let start = head(buf, seq, at, "event");
        buf.extend_from_slice(&self.names);
        numbers(buf, p);
        if let Some(level) = level {
            buf.extend_from_slice(b",\"lvl\":\"");
            buf.extend_from_slice(level.as_str().as_bytes());
            buf.push(b'"');
        }
        buf.extend_from_slice(b",\"raw\":");
        buf.extend_from_slice(raw);
        close(buf, start);
    }
}

/// A line that did not parse: the reason and the first 200 bytes.
pub fn error(buf: &mut Vec<u8>, seq: u64, at: &str, p: &Position, e: &ParseError) {
    let start = head(buf, seq, at, "error");
    position(buf, p);
    buf.extend_from_slice(b",\"reason\":");
    push_str_lit(buf, &e.reason);
    buf.extend_from_slice(b",\"excerpt\":");
    push_str_lit(buf, &e.excerpt);
    close(buf, start);
}

pub fn tick(buf: &mut Vec<u8>, seq: u64, at: &str) {
    let start = head(buf, seq, at, "tick");
    close(buf, start);
}

/// An operator's action; one read from a stream carries its entry's position.
pub fn action(buf: &mut Vec<u8>, seq: u64, at: &str, op: &OperatorAction, p: Option<&Position>) {
    let start = head(buf, seq, at, "action");
    if let Some(p) = p {
        position(buf, p);
    }
    buf.extend_from_slice(b",\"op\":");
    serde_json::to_writer(&mut *buf, op).expect("an action serialises");
    close(buf, start);
}

/// The kind an effect is journaled as.
pub fn effect_kind(e: &Effect) -> &'static str {
    match e {
        Effect::Derived { .. } => "derived",
        Effect::Transition(_) => "transition",
        Effect::Action(_) => "auto",
        Effect::Notify(_) => "notify",
        Effect::Rejected { .. } => "rejected",
    }
}

pub fn effect(buf: &mut Vec<u8>, seq: u64, at: &str, e: &Effect) {
    let start = head(buf, seq, at, effect_kind(e));
    buf.extend_from_slice(b",\"effect\":");
    serde_json::to_writer(&mut *buf, e).expect("an effect serialises");
    close(buf, start);
}

/// A change of a source: `opened`, `truncated`, `rewritten`, `rotated`, `deleted`,
/// `unreadable` (an event file that could not be opened; tried again).
/// Its `end` is where reading of that file goes on (0 after a truncation).
pub fn source(buf: &mut Vec<u8>, seq: u64, at: &str, p: &Position, what: &str) {
    let start = head(buf, seq, at, "source");
    position(buf, p);
    buf.extend_from_slice(b",\"what\":");
    push_str_lit(buf, what);
    close(buf, start);
}

/// `coord journal repair` kept the records up to `after` and set the rest
/// aside in `quarantine` (a directory under `journal/`), for `why`. Its own
/// `seq` is past every one ever written (those set aside, and the outbox's
/// lines, keep theirs): the one jump in `seq` the reader accepts.
pub fn repaired(buf: &mut Vec<u8>, seq: u64, at: &str, after: u64, quarantine: &str, why: &str) {
    let start = head(buf, seq, at, "repaired");
    buf.extend_from_slice(b",\"after\":");
    buf.extend_from_slice(itoa::Buffer::new().format(after).as_bytes());
    buf.extend_from_slice(b",\"quarantine\":");
    push_str_lit(buf, quarantine);
    buf.extend_from_slice(b",\"what\":");
    push_str_lit(buf, why);
    close(buf, start);
}

/// A record as read back. Only what replay and audit need is decoded; the
/// embedded event stays raw.
#[derive(Debug, Deserialize)]
pub struct Record<'a> {
    pub seq: u64,
    pub at: DateTime<Utc>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub src: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub file: Option<Cow<'a, str>>,
    #[serde(default)]
    pub off: Option<u64>,
    #[serde(default)]
    pub end: Option<u64>,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default, borrow)]
    pub entry: Option<Cow<'a, str>>,
    /// An `event` record: its level in the stream, when it had one.
    #[serde(default)]
    pub lvl: Option<Level>,
    #[serde(default, borrow)]
    pub raw: Option<&'a RawValue>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub excerpt: Option<String>,
    #[serde(default)]
    pub op: Option<OperatorAction>,
    #[serde(default, borrow)]
    pub effect: Option<&'a RawValue>,
    #[serde(default)]
    pub what: Option<String>,
    #[serde(default)]
    pub quarantine: Option<String>,
    /// A `repaired` record: the last record kept.
    #[serde(default)]
    pub after: Option<u64>,
}

impl<'a> Record<'a> {
    /// Reads a record's fields from a line `check` passed; `None`: not a record.
    pub fn read(text: &'a str) -> Option<Record<'a>> {
        serde_json::from_str(text).ok()
    }

    pub fn position(&self) -> Option<Position<'_>> {
        Some(Position {
            src: self.src.as_deref()?,
            file: self.file.as_deref()?,
            off: self.off?,
            end: self.end?,
            line: self.line.unwrap_or(0),
            entry: self.entry.as_deref(),
        })
    }

    /// The parse error an `error` record stands for.
    pub fn parse_error(&self) -> Option<ParseError> {
        let p = self.position()?;
        Some(ParseError {
            source: p.src.to_string(),
            line: p.line,
            offset: p.off,
            reason: self.reason.clone()?,
            excerpt: self.excerpt.clone().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_at_reads_what_chrono_reads() {
        for s in [
            "2026-11-24T12:00:00.123Z",
            "2026-02-28T23:59:59.999Z",
            "2026-11-24T12:00:00Z",
            "2026-11-24T13:00:00.5+01:00",
            "2026-11-24 12:00:00.123Z",
            "2016-12-31T23:59:60.123Z",
            "2026-02-30T12:00:00.123Z",
            "2026-11-24T12:00:00.12xZ",
            "+026-11-24T12:00:00.123Z",
            "yesterday",
        ] {
            let chrono = serde_json::from_value::<Time>(serde_json::json!(s)).ok();
            assert_eq!(parse_at(s), chrono, "{s}");
        }
        let now = fmt_at(Utc::now());
        assert_eq!(fmt_at(parse_at(&now).unwrap()), now);
    }

    #[test]
    fn every_record_proves_itself() {
        let at = fmt_at("2026-11-24T12:00:00.123Z".parse().unwrap());
        let p = Position {
            src: "events/a.jsonl",
            file: "1:2:ff",
            off: 0,
            end: 21,
            line: 1,
            entry: None,
        };
        let mut buf = Vec::new();
        event(&mut buf, 41, &at, &p, br#"{"type":"heartbeat"}"#);
        tick(&mut buf, 42, &at);
        repaired(&mut buf, 43, &at, 42, "journal/quarantine-x", "seq 7 fails");
        let lines: Vec<&[u8]> = buf
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        for (line, seq) in lines.iter().zip(41..) {
            assert_eq!(check(line), Ok(seq));
            let text = std::str::from_utf8(line).unwrap();
            // Whole: each line reads alone.
            let r = Record::read(text).unwrap();
            assert_eq!((r.seq, r.at), (seq, parse_at(&at).unwrap()));
            // Any byte changed is found (here: each one in turn, flipped).
            for i in 0..line.len() {
                let mut bad = line.to_vec();
                bad[i] ^= 0x20;
                assert!(check(&bad).is_err(), "byte {i} of {text}");
            }
            assert_eq!(check(&line[..line.len() - 1]), Err(Unsound::Checksum));
        }
        assert_eq!(
            Record::read(std::str::from_utf8(lines[0]).unwrap())
                .unwrap()
                .position(),
            Some(p)
        );
        // A record of journal v1 (no checksum) is named as such.
        assert_eq!(
            check(br#"{"seq":1,"at":"2026-11-24T12:00:00.123Z","kind":"tick"}"#),
            Err(Unsound::Unversioned)
        );
        assert_eq!(check(b"not a record"), Err(Unsound::Checksum));
        assert_eq!(check(b""), Err(Unsound::Checksum));
    }

    #[test]
    fn records_round_trip() {
        let at = fmt_at("2026-11-24T12:00:00.123456Z".parse().unwrap());
        assert_eq!(at, "2026-11-24T12:00:00.123Z");
        let p = Position {
            src: "events/a \"b\".jsonl",
            file: "1:2:ff",
            off: 10,
            end: 50,
            line: 2,
            entry: None,
        };
        let mut buf = Vec::new();
        let raw = br#"{"type":"x","msg":"a\"b\u0000"}"#;
        event(&mut buf, 7, &at, &p, raw);
        let line = std::str::from_utf8(&buf).unwrap();
        assert!(line.ends_with('\n'));
        let r: Record = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!((r.seq, r.kind.as_ref()), (7, "event"));
        assert_eq!(r.raw.unwrap().get().as_bytes(), raw);
        assert_eq!(r.position(), Some(p.clone()));

        buf.clear();
        let e = ParseError {
            source: p.src.into(),
            line: 2,
            offset: 10,
            reason: "not valid JSON".into(),
            excerpt: "\u{1b}]52;\u{7}".into(),
        };
        error(&mut buf, 8, &at, &p, &e);
        let r: Record = serde_json::from_slice(&buf).unwrap();
        assert_eq!(r.parse_error(), Some(e));
    }
}
