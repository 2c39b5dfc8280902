//! The journal read from its end: the newest stream entries — ingested events,
//! derived events and lines that did not parse — so a restarted console's Events
//! pane shows what came before it; and the notifications after a `seq`, so a
//! restart delivers what a crash kept from the outbox. Segments are read newest
//! first until enough are found; a torn or corrupt record is skipped (replay
//! reports it).

use super::reader::Reader;
use super::record::Record;
use super::writer::segments;
use crate::engine::Time;
use crate::model::event::{parse_value, Origin, ParseOptions};
use crate::model::parse::parse_line;
use crate::model::{Event, Level, ParseError};
use std::io;
use std::path::Path;

/// One entry as the journal recorded it.
#[derive(Debug)]
pub struct Recent {
    /// When it was ingested (or derived).
    pub at: Time,
    pub src: String,
    pub line: u64,
    pub off: u64,
    pub body: Result<Event, ParseError>,
    /// Its level in the stream as the engine classified it when it applied it.
    pub level: Option<Level>,
}

/// The last `n` stream entries of the journal in `journal_dir`, oldest first.
pub fn recent(journal_dir: &Path, n: usize) -> io::Result<Vec<Recent>> {
    let mut total = 0;
    let mut out = from_the_end(journal_dir, &["event", "error", "derived"], |_, records| {
        let entries: Vec<Recent> = records.iter().filter_map(entry).collect();
        total += entries.len();
        (entries, total >= n)
    })?;
    out.drain(..out.len().saturating_sub(n));
    Ok(out)
}

/// The `notify` records after `seq`, oldest first, as (seq, effect JSON): what was
/// durable but may not have reached the outbox before a crash. Segments are read
/// newest first until one starts at or before `seq`.
pub fn notifications_after(journal_dir: &Path, seq: u64) -> io::Result<Vec<(u64, String)>> {
    from_the_end(journal_dir, &["notify"], |first, records| {
        let notes = records
            .iter()
            .filter(|r| r.seq > seq && r.kind == "notify")
            .filter_map(|r| Some((r.seq, r.effect?.get().to_string())))
            .collect();
        (notes, first.is_some_and(|first| first <= seq))
    })
}

/// Reads the segments newest first, handing each one's records of `kinds` to
/// `take` with the `seq` the segment begins with; `take` keeps what it wants
/// and says when it has seen enough. The kept items come back oldest first.
fn from_the_end<T>(
    journal_dir: &Path,
    kinds: &[&str],
    mut take: impl FnMut(Option<u64>, Vec<Record<'_>>) -> (Vec<T>, bool),
) -> io::Result<Vec<T>> {
    let mut found: Vec<Vec<T>> = Vec::new();
    for (n, _) in segments(journal_dir)?.iter().rev() {
        let mut first = None;
        // Damage is replay's to refuse: here, what reads is shown. Only the
        // records of `kinds` are decoded.
        let entries: Vec<_> = Reader::segment(journal_dir, *n)
            .flatten()
            .inspect(|e| {
                first.get_or_insert(e.seq);
            })
            .filter(|e| e.kind().is_some_and(|k| kinds.contains(&k)))
            .collect();
        let records = entries.iter().filter_map(|e| e.record()).collect();
        let (kept, enough) = take(first, records);
        found.push(kept);
        if enough {
            break;
        }
    }
    Ok(found.into_iter().rev().flatten().collect())
}

/// A record as a stream entry, if it is one (an event, a line that did not parse,
/// a derived event).
pub(crate) fn entry(rec: &Record) -> Option<Recent> {
    let opts = ParseOptions::default();
    let mut level = rec.lvl;
    let (src, line, off, body) = match rec.kind.as_ref() {
        "event" => {
            let p = rec.position()?;
            let origin = Origin {
                source: p.src,
                line: p.line,
                offset: p.off,
                ident: p.file,
            };
            let body = parse_line(rec.raw?.get().as_bytes(), &origin, rec.at, &opts);
            (p.src.to_string(), p.line, p.off, body)
        }
        "error" => {
            let e = rec.parse_error()?;
            (e.source.clone(), e.line, e.offset, Err(e))
        }
        "derived" => {
            let fx: serde_json::Value = serde_json::from_str(rec.effect?.get()).ok()?;
            let origin = Origin {
                source: DERIVED,
                line: 0,
                offset: 0,
                ident: "",
            };
            let event = parse_value(fx.get("event")?.clone(), &origin, rec.at, &opts).ok()?;
            level = fx
                .get("level")
                .and_then(|l| serde_json::from_value(l.clone()).ok());
            (DERIVED.to_string(), 0, 0, Ok(event))
        }
        _ => return None,
    };
    Some(Recent {
        at: rec.at,
        src,
        line,
        off,
        body,
        level,
    })
}

/// The source name the Events pane gives events coord derived itself.
pub const DERIVED: &str = "coord (derived)";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Effect;
    use crate::journal::record::{self, Position};

    #[test]
    fn the_newest_entries_come_back_oldest_first_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let at = record::fmt_at("2026-11-24T12:00:00Z".parse().unwrap());
        let write = |seg: &str, from: u64, to: u64| {
            let mut buf = Vec::new();
            for i in from..to {
                let p = Position {
                    src: "events/a.jsonl",
                    file: "1:2:ff",
                    off: i * 100,
                    end: i * 100 + 99,
                    line: i + 1,
                    entry: None,
                };
                let raw = format!(r#"{{"type":"heartbeat","agent":"a","id":"e{i}"}}"#);
                record::event(&mut buf, i, &at, &p, raw.as_bytes());
                record::tick(&mut buf, i, &at);
            }
            std::fs::write(dir.path().join(seg), buf).unwrap();
        };
        write("00000001.jsonl", 0, 5);
        write("00000002.jsonl", 5, 8);
        // A torn last record is skipped.
        let mut f = std::fs::read(dir.path().join("00000002.jsonl")).unwrap();
        f.extend_from_slice(b"{\"seq\":99,\"at\":\"2026-");
        std::fs::write(dir.path().join("00000002.jsonl"), f).unwrap();

        let got = recent(dir.path(), 4).unwrap();
        let ids: Vec<String> = got
            .iter()
            .map(|r| r.body.as_ref().unwrap().id.to_string())
            .collect();
        assert_eq!(ids, ["e4", "e5", "e6", "e7"]);
        assert_eq!((got[0].line, got[0].off), (5, 400));
        assert_eq!(recent(dir.path(), 100).unwrap().len(), 8);
        assert!(recent(&dir.path().join("none"), 10).unwrap().is_empty());
    }

    #[test]
    fn notifications_after_a_seq_come_from_the_segments_that_hold_them() {
        use crate::engine::{Body, Notification, NotifyClass};
        let dir = tempfile::tempdir().unwrap();
        let now: Time = "2026-11-24T12:00:00Z".parse().unwrap();
        let at = record::fmt_at(now);
        let note = |kind| {
            Effect::Notify(Notification {
                class: NotifyClass::Agents,
                kind,
                at: now,
                body: Body::Json(serde_json::json!({"task": "T-1"})),
            })
        };
        let mut a = Vec::new();
        record::effect(&mut a, 1, &at, &note("first"));
        record::tick(&mut a, 2, &at);
        let mut b = Vec::new();
        record::effect(&mut b, 3, &at, &note("second"));
        record::effect(&mut b, 4, &at, &note("third"));
        std::fs::write(dir.path().join("00000001.jsonl"), a).unwrap();
        std::fs::write(dir.path().join("00000002.jsonl"), b).unwrap();
        let kinds = |after| -> Vec<(u64, String)> {
            notifications_after(dir.path(), after)
                .unwrap()
                .into_iter()
                .map(|(seq, fx)| {
                    let v: serde_json::Value = serde_json::from_str(&fx).unwrap();
                    (seq, v["kind"].as_str().unwrap().to_string())
                })
                .collect()
        };
        assert_eq!(kinds(3), [(4, "third".to_string())]);
        assert_eq!(
            kinds(0),
            [
                (1, "first".into()),
                (3, "second".into()),
                (4, "third".into())
            ]
        );
        assert!(kinds(4).is_empty());
    }

    #[test]
    fn derived_events_and_parse_errors_are_entries_too() {
        let dir = tempfile::tempdir().unwrap();
        let now: Time = "2026-11-24T12:00:00Z".parse().unwrap();
        let at = record::fmt_at(now);
        let p = Position {
            src: "events/a.jsonl",
            file: "1:2:ff",
            off: 0,
            end: 5,
            line: 1,
            entry: None,
        };
        let mut buf = Vec::new();
        let origin = Origin {
            source: "events/a.jsonl",
            line: 1,
            offset: 0,
            ident: "",
        };
        let e = parse_line(b"nope", &origin, now, &ParseOptions::default()).unwrap_err();
        record::error(&mut buf, 1, &at, &p, &e);
        let mut derived = Event::new(crate::model::EventType::AgentTimeout, now, "d-1");
        derived.agent = Some("ops-1".into());
        record::effect(
            &mut buf,
            2,
            &at,
            &Effect::Derived {
                event: Box::new(derived),
                level: None,
            },
        );
        std::fs::write(dir.path().join("00000001.jsonl"), buf).unwrap();
        let got = recent(dir.path(), 10).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].body.as_ref().unwrap_err(), &e);
        let ev = got[1].body.as_ref().unwrap();
        assert_eq!(
            (ev.id.as_str(), ev.agent.as_deref()),
            ("d-1", Some("ops-1"))
        );
        assert_eq!(got[1].src, DERIVED);
    }
}
