//! The fast path of event parsing, for the lines nearly every agent writes: a
//! flat object of canonical keys (no seed alias, no `data`, no other key), with
//! no backslash and no control character anywhere (so no escape). The event is
//! built straight from the line, with no per-field intermediate values;
//! anything else — and any line that would not validate — is `None`, left to
//! the general reader, whose result this must equal (tested against it on
//! random lines, below).

use super::event::{event_type, parse_ts, skip_ws, Field, Name, Origin, ParseOptions, FIELDS};
use super::quotes::Quotes;
use super::{Event, Level};
use chrono::{DateTime, Utc};

/// The first eight bytes of a name (fewer: zeros above), little-endian.
const fn word(name: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < name.len() && i < 8 {
        w |= (name[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// The names of the fields this path takes.
const NAMES: [(&[u8], Field); 12] = [
    (b"type", Field::Type),
    (b"ts", Field::Ts),
    (b"id", Field::Id),
    (b"agent", Field::Agent),
    (b"task", Field::Task),
    (b"component", Field::Component),
    (b"phase", Field::Phase),
    (b"gate", Field::Gate),
    (b"progress", Field::Progress),
    (b"severity", Field::Severity),
    (b"status", Field::Status),
    (b"message", Field::Message),
];

/// A multiplier that sends the words of `NAMES` to sixteen different slots
/// (found by trying; `KEYS` does not compile if two collide).
const KEY_HASH: u64 = 0x9b81_0e76_6ec9_d287;

const fn slot(word: u64) -> usize {
    (word.wrapping_mul(KEY_HASH) >> 60) as usize
}

/// Each name at its word's slot: its word, the name, and its field.
const KEYS: [(u64, &[u8], Option<Field>); 16] = {
    let mut keys: [(u64, &[u8], Option<Field>); 16] = [(0, b"", None); 16];
    let mut n = 0;
    while n < NAMES.len() {
        let (name, field) = NAMES[n];
        let w = word(name);
        assert!(keys[slot(w)].2.is_none(), "two names in one slot");
        keys[slot(w)] = (w, name, Some(field));
        n += 1;
    }
    keys
};

/// The field named by the key `b[start..end]`; any other key is `None`. The
/// key is read as one word, and compared with the one name at that word's
/// slot: no name holds a zero byte, so only a key of the name's length and
/// bytes matches (bytes past the eighth, `component`'s `t`, compared apart).
fn field_at(b: &[u8], start: usize, end: usize) -> Option<Field> {
    let len = end - start;
    let w = match b.get(start..start + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().expect("eight bytes")),
        None => word(&b[start..end]),
    };
    let w = if len < 8 {
        w & ((1 << (8 * len)) - 1)
    } else {
        w
    };
    let (name_word, name, field) = KEYS[slot(w)];
    if name_word != w || name.len() != len || (len > 8 && b[start + 8..end] != name[8..]) {
        return None;
    }
    field
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

/// Reads a whole line as the general reader would: an object and nothing but
/// whitespace after it. `None` when it is not a line this path takes — or not
/// UTF-8, which the general reader tells.
pub fn scan_line(
    line: &[u8],
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Option<Box<Event>> {
    let quotes = Quotes::of(line);
    let text = if quotes.non_ascii {
        std::str::from_utf8(line).ok()?
    } else {
        // SAFETY: every byte is below 0x80 (`Quotes` looked at each): ASCII is UTF-8.
        unsafe { std::str::from_utf8_unchecked(line) }
    };
    let (event, end) = scan_into(text, &quotes, origin, ingest_now, opts, Box::new)?;
    (skip_ws(line, end) == line.len()).then_some(event)
}

/// Reads the object at the start of `text` (after any whitespace), whose
/// quotes are `quotes`, into `make`, and where it ends. Only a text without
/// backslashes or control characters is taken: then each string ends at the
/// next quote. The event is built where `make` puts it (an event is large, and
/// moved it would be copied).
#[inline(always)]
fn scan_into<T>(
    text: &str,
    quotes: &Quotes,
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
    make: impl FnOnce(Event) -> T,
) -> Option<(T, usize)> {
    if quotes.special {
        return None;
    }
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
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
        let key_end = quotes.next(i + 1)?;
        let k = field_at(b, i + 1, key_end)?;
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
                let end = quotes.next(i + 1)?;
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
        None => origin.fallback_id(),
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
        data: None,
    });
    Some((event, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::parse_general;

    fn at() -> DateTime<Utc> {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    /// The fast path (`fast_event`) gives what the general reader gives, on
    /// random lines near the common form: canonical keys, seed aliases, unknown
    /// keys and `data`, duplicates, escapes, empty strings, numbers of every
    /// form, `null`, booleans, whitespace. And it takes the common form itself.
    #[test]
    fn the_fast_path_reads_what_the_general_reader_reads() {
        let origin = Origin {
            source: "events/a.jsonl",
            line: 3,
            offset: 77,
            ident: "",
        };
        let opts = ParseOptions::default();
        let general = |line: &str| parse_general(line, &origin, at(), &opts).map(|e| *e);
        let fast = |line: &str| scan_line(line.as_bytes(), &origin, at(), &opts).map(|e| *e);
        let common = r#"{"type":"progress_update","ts":"2026-11-24T13:00:00.003783Z","id":"ev-1","agent":"agent-086","component":"c","task":"T-1","progress":5.0,"message":"updating documentation"}"#;
        assert_eq!(fast(common), Some(general(common).unwrap()));

        let keys = [
            "type",
            "ts",
            "id",
            "agent",
            "task",
            "component",
            "phase",
            "gate",
            "progress",
            "severity",
            "status",
            "message",
            "event_type",
            "agent_id",
            "timestamp",
            "data",
            "cpu",
            "progress_percentage",
        ];
        let values = [
            r#""progress_update""#,
            r#""Task_Assigned""#,
            r#""a b""#,
            r#""""#,
            r#""x\"y""#,
            r#""é""#,
            r#""2026-11-24T13:00:00Z""#,
            r#""2026-11-24T13:00:00.5Z""#,
            r#""2026-11-24T13:00:00.1234567891Z""#,
            r#""2026-11-24T13:00:60Z""#,
            r#""2026-02-30T13:00:00Z""#,
            r#""2026-11-24T14:00:00+01:00""#,
            r#""2026-11-24 13:00:00""#,
            r#""high""#,
            r#""warning""#,
            r#""3""#,
            "0",
            "5",
            "5.0",
            "100",
            "100.5",
            "99.99",
            "007",
            "1e2",
            "-0",
            "0.123456789012345678",
            "1.23456789012345",
            "12.3456789012345",
            "99.9999999999999999",
            "0.5",
            "00",
            "1.5e1",
            "1E2",
            "null",
            "true",
            "{}",
            r#"{"k":1}"#,
            "[1]",
        ];
        let mut seed = 0x5eed_u64;
        let mut pick = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let mut taken = 0;
        for _ in 0..20_000 {
            let mut fields = vec![r#""type":"task_assigned""#.to_string()];
            for _ in 0..pick(8) {
                // Mostly the common keys and values, so that many lines are taken.
                let key = keys[if pick(3) == 0 {
                    pick(keys.len())
                } else {
                    pick(12)
                }];
                let value = values[if pick(3) == 0 {
                    pick(values.len())
                } else {
                    pick(8)
                }];
                let colon = [":", " : ", ":\t"][pick(3)];
                fields.push(format!(r#""{key}"{colon}{value}"#));
            }
            let at = pick(fields.len());
            fields.swap(0, at);
            let line = format!(
                "{{{}}}{}",
                fields.join([",", ", "][pick(2)]),
                ["", " "][pick(2)]
            );
            if let Some(e) = fast(&line) {
                taken += 1;
                assert_eq!(Ok(e), general(&line), "{line}");
            }
        }
        assert!(taken > 2_000, "the fast path took only {taken} lines");
    }

    /// Each name is its field, read from anywhere in a line (at its end too,
    /// where eight bytes cannot be read at once); a longer, shorter or other
    /// key is none.
    #[test]
    fn keys_are_compared_whole() {
        for (name, field) in NAMES {
            let name = std::str::from_utf8(name).unwrap();
            for text in [
                format!("\"{name}\":\"x\",\"more\":1}}"),
                format!("{name}\""),
            ] {
                let start = usize::from(text.starts_with('"'));
                let f = field_at(text.as_bytes(), start, start + name.len());
                assert_eq!(f.map(|f| f as usize), Some(field as usize), "{text}");
            }
            let mut near = vec![format!("{name}s"), name[1..].to_string()];
            near.push(name[..name.len() - 1].to_string());
            near.push(format!("{}X", &name[..name.len() - 1]));
            for other in near {
                let text = format!("{other}\":1,\"padding\":2}}");
                assert!(
                    field_at(text.as_bytes(), 0, other.len()).is_none(),
                    "{other}"
                );
            }
        }
        for other in [
            "",
            "event_type",
            "progress_percentage",
            "componentt",
            "Type",
        ] {
            let text = format!("{other}\":1}}");
            assert!(
                field_at(text.as_bytes(), 0, other.len()).is_none(),
                "{other}"
            );
        }
    }
}
