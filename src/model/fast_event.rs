//! The fast path of event parsing, for the lines nearly every agent writes: a
//! flat object of canonical keys (no seed alias, no `data`, no other key) whose
//! strings have no escapes. The event is built straight from the line, with no
//! per-field intermediate values; anything else — and any line that would not
//! validate — is `None`, left to the general reader, whose result this must
//! equal (tested against it on random lines, in `event`'s tests).

use super::event::{
    event_type, parse_ts, scan_plain_str, skip_ws, Field, Name, Origin, ParseOptions, FIELDS,
};
use super::{Event, Level};
use chrono::{DateTime, Utc};

/// The key whose name starts at byte `i` (just after its opening quote), and
/// its closing quote, compared in place: a key is not scanned first. Any other
/// key, or one written with an escape, is `None`.
fn key_at(b: &[u8], i: usize) -> Option<(Field, usize)> {
    use Field::*;
    let rest = b.get(i..)?;
    // Each name with its closing quote, so that `type` is not read from `types`;
    // of a constant length, so that the comparison is a load or two, not a call.
    fn is<const N: usize>(rest: &[u8], name: &[u8; N]) -> Option<usize> {
        (rest.get(..N) == Some(name.as_slice())).then_some(N - 1)
    }
    let (k, len) = match rest.first()? {
        b't' => is(rest, b"type\"")
            .map(|n| (Type, n))
            .or_else(|| is(rest, b"ts\"").map(|n| (Ts, n)))
            .or_else(|| is(rest, b"task\"").map(|n| (Task, n)))?,
        b'i' => (Id, is(rest, b"id\"")?),
        b'a' => (Agent, is(rest, b"agent\"")?),
        b'c' => (Component, is(rest, b"component\"")?),
        b'p' => is(rest, b"progress\"")
            .map(|n| (Progress, n))
            .or_else(|| is(rest, b"phase\"").map(|n| (Phase, n)))?,
        b'g' => (Gate, is(rest, b"gate\"")?),
        b's' => is(rest, b"status\"")
            .map(|n| (Status, n))
            .or_else(|| is(rest, b"severity\"").map(|n| (Severity, n)))?,
        b'm' => (Message, is(rest, b"message\"")?),
        _ => return None,
    };
    Some((k, i + len))
}

/// What serde_json reads a plain number as (`f64_from_parts`: the significand
/// divided by a power of ten), for the forms `0`, `57`, `5.25`: at most 15
/// digits, no sign, no exponent. `None` for any other form, and where the
/// token ends.
fn progress(b: &[u8], i: usize) -> Option<(f64, usize)> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    // One pass: the digits go into the significand as they are counted (more
    // than 15 are refused below, so wrapping never matters).
    let mut significand = 0u64;
    let digits = |mut j: usize, n: &mut u64| {
        while let Some(&c @ b'0'..=b'9') = b.get(j) {
            *n = n.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            j += 1;
        }
        j
    };
    let int_end = digits(i, &mut significand);
    let int = int_end - i;
    if int == 0 || (int > 1 && b[i] == b'0') {
        return None;
    }
    let (mut end, mut frac) = (int_end, 0);
    if b.get(end) == Some(&b'.') {
        end = digits(end + 1, &mut significand);
        frac = end - int_end - 1;
        if frac == 0 {
            return None;
        }
    }
    if int + frac > 15 || matches!(b.get(end), Some(b'e' | b'E')) {
        return None;
    }
    Some((significand as f64 / POW10[frac], end))
}

/// Reads the object that begins at byte `at` of `text` (after any whitespace) as
/// the general reader would, and where it ends; `None` when it is not a line
/// this path takes. The event comes in a box, built there: an event is large,
/// and moved it would be copied.
pub fn scan(
    text: &str,
    at: usize,
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Option<(Box<Event>, usize)> {
    scan_into(text, at, origin, ingest_now, opts, Box::new)
}

/// `scan`, the event by value (replay hands it to the engine so).
pub fn scan_value(
    text: &str,
    at: usize,
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Option<(Event, usize)> {
    scan_into(text, at, origin, ingest_now, opts, |e| e)
}

#[inline(always)]
fn scan_into<T>(
    text: &str,
    at: usize,
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
    make: impl FnOnce(Event) -> T,
) -> Option<(T, usize)> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, at);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    // A key seen twice sends the line to the general reader, which knows which
    // one wins.
    let mut seen = 0u16;
    let mut strs: [Option<&str>; FIELDS] = [None; FIELDS];
    let mut progress_value = None;
    if b.get(i) == Some(&b'}') {
        return None; // no type: an error, told by the general reader
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (k, key_end) = key_at(b, i + 1)?;
        let bit = 1u16 << k as u16;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        i = skip_ws(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        i = match (*b.get(i)?, k) {
            (b'"', Field::Progress) => return None,
            (b'"', _) => {
                let end = scan_plain_str(b, i + 1)?;
                // Quotes are ASCII: these slices are on character boundaries.
                strs[k as usize] = Some(&text[i + 1..end]);
                end + 1
            }
            // `null` is absent.
            (b'n', _) if b.get(i..i + 4) == Some(b"null") => i + 4,
            (b'0'..=b'9', Field::Progress) => {
                let (p, end) = progress(b, i)?;
                progress_value = Some(p);
                end
            }
            _ => return None,
        };
        i = skip_ws(b, i);
        match *b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => break,
            _ => return None,
        }
    }
    let str_of = |k: Field| strs[k as usize];
    // An empty name names nothing.
    let name = |k: Field| str_of(k).filter(|s| !s.is_empty()).map(Name::from);
    let kind = event_type(str_of(Field::Type)?).ok()?;
    let (ts, ts_assumed) = match str_of(Field::Ts) {
        Some(s) => (parse_ts(s, opts).ok()?, false),
        None => (ingest_now, true),
    };
    let id = match str_of(Field::Id) {
        Some("") => return None,
        Some(s) => Name::from(s),
        None => compact_str::format_compact!("{}:{}", origin.source, origin.offset),
    };
    if progress_value.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
        return None;
    }
    let severity = match str_of(Field::Severity) {
        Some(s) => Some(Level::parse(s)?),
        None => None,
    };
    let event = make(Event {
        kind,
        ts,
        ts_assumed,
        id,
        agent: name(Field::Agent),
        task: name(Field::Task),
        component: name(Field::Component),
        phase: name(Field::Phase),
        gate: name(Field::Gate),
        progress: progress_value,
        severity,
        status: name(Field::Status),
        message: name(Field::Message),
        data: Default::default(),
    });
    Some((event, i + 1))
}
