//! Journal records (SPEC 9): one JSON object per line, written by hand on the hot
//! path (an ingested event's raw line is embedded verbatim, no re-encoding) and
//! read back with a borrowing decoder.
//!
//! Kinds: `event` (an ingested line, raw kept, with its source checkpoint),
//! `error` (a line that did not parse, with its checkpoint), `tick`, `action` (an
//! operator's), and the effects — `derived`, `transition`, `auto`, `notify`,
//! `rejected` — plus `source` (a file truncated, rewritten, rotated or let go).
//! Replay applies `event`, `error`, `tick` and `action` through the engine's
//! `apply`; the effect records are the audit trail and are recomputed.
//!
//! An `event` record is written short — without `at`, `src` and `file` — when
//! they are those of the `event` record before it in its segment: a backlog's
//! records share the time of their batch and nearly all their file, and
//! repeating them made the journal half as large again. A segment's first event
//! record is written whole, and one in every `WHOLE_EVERY` after it (so that a
//! reader can start decoding anywhere past one). Readers carry the last whole
//! record's fields in an `EventContext`.

use crate::engine::{Effect, OperatorAction, Time};
use crate::model::ParseError;
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

fn head(buf: &mut Vec<u8>, seq: u64, at: &str, kind: &str) {
    open(buf, seq);
    at_kind(buf, at, kind);
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

/// An ingested event, whole; `raw` is its line, a JSON object, embedded as it was
/// read. (The runtime writes all its event records with one `EventRecords`,
/// which must see every one: a short record takes from the one before it.)
pub fn event(buf: &mut Vec<u8>, seq: u64, at: &str, p: &Position, raw: &[u8]) {
    EventRecords::default().event(buf, seq, at, p, raw);
}

/// Event records written whole at least this often: where a reader that starts
/// mid-segment (one of replay's two decoding threads) can take up the context.
pub const WHOLE_EVERY: u32 = 256;

/// Writes `event` records: whole when the time, the source or the file changed
/// since the last one (or the last was `WHOLE_EVERY` records ago, or the
/// segment is new: `reset`), else short. A record is then a few copies.
#[derive(Default)]
pub struct EventRecords {
    at: String,
    src: String,
    file: String,
    /// Short records since the last whole one.
    short: u32,
    /// `,"at":…,"kind":"event","src":…,"file":…` for `at`, `src` and `file`.
    whole: Vec<u8>,
}

impl EventRecords {
    pub fn event(&mut self, buf: &mut Vec<u8>, seq: u64, at: &str, p: &Position, raw: &[u8]) {
        let same =
            !self.whole.is_empty() && self.at == at && self.src == p.src && self.file == p.file;
        if !same {
            for (kept, new) in [
                (&mut self.at, at),
                (&mut self.src, p.src),
                (&mut self.file, p.file),
            ] {
                kept.clear();
                kept.push_str(new);
            }
            self.whole.clear();
            at_kind(&mut self.whole, at, "event");
            names(&mut self.whole, p);
        }
        buf.reserve(self.whole.len() + raw.len() + 96);
        open(buf, seq);
        if same && self.short < WHOLE_EVERY {
            self.short += 1;
            buf.extend_from_slice(b",\"kind\":\"event\"");
        } else {
            self.short = 0;
            buf.extend_from_slice(&self.whole);
        }
        numbers(buf, p);
        buf.extend_from_slice(b",\"raw\":");
        buf.extend_from_slice(raw);
        buf.extend_from_slice(b"}\n");
    }

    /// The next record begins a segment: it is written whole.
    pub fn reset(&mut self) {
        self.whole.clear();
    }
}

/// What a short `event` record takes from the whole one before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventContext {
    pub at: Option<Time>,
    pub src: String,
    pub file: String,
}

impl EventContext {
    /// Remembers a whole event record's fields.
    pub fn set(&mut self, at: Time, src: &str, file: &str) {
        self.at = Some(at);
        if self.src != src {
            self.src = src.to_string();
        }
        if self.file != file {
            self.file = file.to_string();
        }
    }
}

/// A line that did not parse: the reason and the first 200 bytes.
pub fn error(buf: &mut Vec<u8>, seq: u64, at: &str, p: &Position, e: &ParseError) {
    head(buf, seq, at, "error");
    position(buf, p);
    buf.extend_from_slice(b",\"reason\":");
    push_str_lit(buf, &e.reason);
    buf.extend_from_slice(b",\"excerpt\":");
    push_str_lit(buf, &e.excerpt);
    buf.extend_from_slice(b"}\n");
}

pub fn tick(buf: &mut Vec<u8>, seq: u64, at: &str) {
    head(buf, seq, at, "tick");
    buf.extend_from_slice(b"}\n");
}

/// An operator's action; one read from a stream carries its entry's position.
pub fn action(buf: &mut Vec<u8>, seq: u64, at: &str, op: &OperatorAction, p: Option<&Position>) {
    head(buf, seq, at, "action");
    if let Some(p) = p {
        position(buf, p);
    }
    buf.extend_from_slice(b",\"op\":");
    serde_json::to_writer(&mut *buf, op).expect("an action serialises");
    buf.extend_from_slice(b"}\n");
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
    head(buf, seq, at, effect_kind(e));
    buf.extend_from_slice(b",\"effect\":");
    serde_json::to_writer(&mut *buf, e).expect("an effect serialises");
    buf.extend_from_slice(b"}\n");
}

/// A change of a source: `opened`, `truncated`, `rewritten`, `rotated`, `deleted`,
/// `unreadable` (an event file that could not be opened; tried again).
/// Its `end` is where reading of that file goes on (0 after a truncation).
pub fn source(buf: &mut Vec<u8>, seq: u64, at: &str, p: &Position, what: &str) {
    head(buf, seq, at, "source");
    position(buf, p);
    buf.extend_from_slice(b",\"what\":");
    push_str_lit(buf, what);
    buf.extend_from_slice(b"}\n");
}

/// A record as read back. Only what replay and audit need is decoded; the
/// embedded event stays raw.
#[derive(Debug, Deserialize)]
pub struct Record<'a> {
    pub seq: u64,
    /// `UNSET` until `Record::read` has taken it from the context.
    #[serde(default = "unset")]
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
    /// A short event record: `at`, `src` and `file` came from the context.
    #[serde(skip)]
    pub short: bool,
}

/// The time of a record read without one.
const UNSET: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;

fn unset() -> DateTime<Utc> {
    UNSET
}

impl<'a> Record<'a> {
    /// Reads a record, a short event record with what `ctx` holds, and keeps a
    /// whole event record's fields in `ctx`. `None`: not a record (or a short
    /// one with no whole one before it).
    pub fn read(text: &'a str, ctx: &mut EventContext) -> Option<Record<'a>> {
        let mut rec = serde_json::from_str::<Record>(text).ok()?;
        rec.resolve(ctx).then_some(rec)
    }

    /// Takes a short record's time and names from `ctx`, or keeps a whole
    /// event record's there; false for a record without a time that cannot.
    fn resolve(&mut self, ctx: &mut EventContext) -> bool {
        if self.at != UNSET {
            if let (true, Some(src), Some(file)) = (self.kind == "event", &self.src, &self.file) {
                ctx.set(self.at, src, file);
            }
            return true;
        }
        let (true, None, None, Some(at)) = (self.kind == "event", &self.src, &self.file, ctx.at)
        else {
            return false;
        };
        self.at = at;
        self.src = Some(Cow::Owned(ctx.src.clone()));
        self.file = Some(Cow::Owned(ctx.file.clone()));
        self.short = true;
        true
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
    fn short_event_records_take_what_the_whole_one_before_had() {
        let at = |s: &str| fmt_at(s.parse().unwrap());
        let (t1, t2) = (
            at("2026-11-24T12:00:00.001Z"),
            at("2026-11-24T12:00:00.002Z"),
        );
        let p = |src: &'static str, i: u64| Position {
            src,
            file: "1:2:ff",
            off: i * 10,
            end: i * 10 + 9,
            line: i + 1,
            entry: None,
        };
        let mut enc = EventRecords::default();
        let mut buf = Vec::new();
        let raw = br#"{"type":"heartbeat"}"#;
        let written = [
            (&t1, p("events/a.jsonl", 0)),
            (&t1, p("events/a.jsonl", 1)),
            (&t2, p("events/a.jsonl", 2)),
            (&t2, p("events/b.jsonl", 3)),
            (&t2, p("events/b.jsonl", 4)),
        ];
        for (seq, (at, p)) in written.iter().enumerate() {
            enc.event(&mut buf, seq as u64, at, p, raw);
        }
        enc.reset();
        enc.event(&mut buf, 5, &t2, &p("events/b.jsonl", 5), raw);
        for i in 6..6 + u64::from(WHOLE_EVERY) + 2 {
            enc.event(&mut buf, i, &t2, &p("events/b.jsonl", i), raw);
        }
        let text = String::from_utf8(buf).unwrap();
        let whole: Vec<u64> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("\"at\""))
            .map(|(i, _)| i as u64)
            .collect();
        // New time, new source, a new segment, and one in WHOLE_EVERY + 1.
        assert_eq!(whole, [0, 2, 3, 5, 5 + u64::from(WHOLE_EVERY) + 1]);

        let mut ctx = EventContext::default();
        for (i, line) in text.lines().enumerate() {
            let r = Record::read(line, &mut ctx).unwrap();
            assert_eq!(r.short, !whole.contains(&(i as u64)));
            let (at, p) = written
                .get(i)
                .cloned()
                .unwrap_or((&t2, p("events/b.jsonl", i as u64)));
            assert_eq!(r.at, parse_at(at).unwrap());
            assert_eq!(r.position(), Some(p));
            assert_eq!(r.raw.unwrap().get().as_bytes(), raw);
        }
        // With nothing before it, a short record is not one; nor is any other
        // record without a time.
        let short = text.lines().nth(1).unwrap();
        assert!(Record::read(short, &mut EventContext::default()).is_none());
        assert!(Record::read(r#"{"seq":1,"kind":"tick"}"#, &mut ctx).is_none());
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
