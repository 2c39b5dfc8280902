//! Following another console's journal (`coord watch --read-only`): new whole
//! records are applied as they are committed, through the same `apply`.

use super::reader::Reader;
use super::recent::{entry, Recent};
use super::replay::{record_input, Checkpoints};
use crate::engine::{Effect, Engine, Input, Time};
use crate::model::event::ParseOptions;
use std::io;
use std::path::{Path, PathBuf};

/// What a follower applies, told as it goes (a headless follower prints the
/// lines the console that journaled it printed).
pub enum Applied<'a> {
    /// An input, about to be applied.
    Input(&'a Input),
    /// The effects of the input just applied.
    Effects(&'a [Effect]),
}

pub struct Follower {
    dir: PathBuf,
    segment: u64,
    offset: u64,
    last_seq: u64,
    checkpoints: Checkpoints,
}

impl Follower {
    /// Follows from `offset` of `segment`, where replay stopped after record
    /// `last_seq`.
    pub fn after(dir: &Path, segment: u64, offset: u64, last_seq: u64) -> Follower {
        Follower {
            dir: dir.to_path_buf(),
            segment,
            offset,
            last_seq,
            checkpoints: Checkpoints::new(),
        }
    }

    /// Applies every whole record committed since the last poll; the stream
    /// entries among them (events, lines that did not parse, derived events) go
    /// to `entries` for the console's Events pane, and each input and its effects
    /// to `show`, with the time they were applied at.
    pub fn poll(
        &mut self,
        engine: &mut Engine,
        entries: &mut Vec<Recent>,
        show: &mut dyn FnMut(&Engine, Time, Applied<'_>),
    ) -> io::Result<u64> {
        let opts = ParseOptions::default();
        let mut fx = Vec::new();
        let mut applied = 0;
        let mut reader = Reader::resume(&self.dir, self.segment, self.offset, self.last_seq)?;
        for item in &mut reader {
            let read = item.map_err(|d| io::Error::other(d.to_string()))?;
            if let Some(rec) = read.record() {
                if let Some(input) = record_input(&rec, &mut self.checkpoints, &opts) {
                    show(engine, rec.at, Applied::Input(&input));
                    engine.apply_into(input, rec.at, &mut fx);
                    show(engine, rec.at, Applied::Effects(&fx));
                    fx.clear();
                }
                entries.extend(entry(&rec));
                applied += 1;
            }
        }
        // A record still being written waits for the next poll.
        let end = reader.end();
        (self.segment, self.offset, self.last_seq) = (end.segment, end.offset, end.last_seq);
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::journal::record::{event, fmt_at, Position};
    use crate::journal::writer::segment_name;
    use std::io::Write;

    /// Short event records appended after the follower starts take the time
    /// and names of the whole one that replay read last.
    #[test]
    fn a_follower_reads_short_records_in_the_context_replay_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_name(1));
        let at = fmt_at("2026-11-24T12:00:00Z".parse().unwrap());
        let pos = |line: u64| Position {
            src: "events/a.jsonl",
            file: "1:2:ff",
            off: line * 100,
            end: line * 100 + 99,
            line,
            entry: None,
        };
        let raw = |line: u64| format!(r#"{{"type":"agent_heartbeat","id":"h{line}","agent":"a"}}"#);
        let mut b = Vec::new();
        event(&mut b, 1, &at, &pos(1), raw(1).as_bytes());
        std::fs::write(&path, &b).unwrap();
        let mut engine = Engine::new(Config::default(), None);
        let r = super::super::replay(dir.path(), &mut engine, false).unwrap();
        let mut follower = Follower::after(dir.path(), r.segment, r.tail_offset, r.last_seq);

        b.clear();
        for line in 2..=3 {
            event(&mut b, line, &at, &pos(line), raw(line).as_bytes());
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(&b).unwrap();
        let mut entries = Vec::new();
        let applied = follower
            .poll(&mut engine, &mut entries, &mut |_, _, _| {})
            .unwrap();
        assert_eq!(applied, 2);
        assert_eq!(engine.counters.events, 3);
        let seen: Vec<_> = entries.iter().map(|e| (e.src.as_str(), e.line)).collect();
        assert_eq!(seen, [("events/a.jsonl", 2), ("events/a.jsonl", 3)]);
        let cp = &follower.checkpoints["1:2:ff"];
        assert_eq!((cp.end, cp.line), (399, 3));
    }
}
