//! Following another console's journal (`coord watch --read-only`): new whole
//! records are applied as they are committed, through the same `apply`.

use super::recent::{entry, Recent};
use super::record::{EventContext, Record};
use super::replay::{record_input, Checkpoints};
use super::writer::segment_name;
use crate::engine::{Effect, Engine, Input, Time};
use crate::ingest::lines::{Line, LineSplitter};
use crate::model::event::ParseOptions;
use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
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
    checkpoints: Checkpoints,
    /// What the next short event record takes.
    context: EventContext,
}

impl Follower {
    /// Follows from `offset` of `segment` (where replay stopped, in `context`).
    pub fn after(dir: &Path, segment: u64, offset: u64, context: EventContext) -> Follower {
        Follower {
            dir: dir.to_path_buf(),
            segment,
            offset,
            checkpoints: Checkpoints::new(),
            context,
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
        loop {
            let path = self.dir.join(segment_name(self.segment));
            let Ok(mut file) = File::open(&path) else {
                return Ok(applied);
            };
            file.seek(SeekFrom::Start(self.offset))?;
            let mut splitter = LineSplitter::new(usize::MAX, self.offset);
            let mut reader = BufReader::new(file);
            splitter.read_from(&mut reader, |line| {
                if let Line::Text { bytes, .. } = line {
                    let text = std::str::from_utf8(bytes).ok();
                    if let Some(rec) = text.and_then(|t| Record::read(t, &mut self.context)) {
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
            })?;
            self.offset = splitter.committed();
            // A partial record waits; a finished segment hands over to the next.
            if splitter.pending() == 0 && self.dir.join(segment_name(self.segment + 1)).exists() {
                self.segment += 1;
                self.offset = 0;
                self.context = EventContext::default();
                continue;
            }
            return Ok(applied);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::journal::record::{fmt_at, EventRecords, Position};
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
        let mut enc = EventRecords::default();
        let mut b = Vec::new();
        enc.event(&mut b, 1, &at, &pos(1), raw(1).as_bytes());
        std::fs::write(&path, &b).unwrap();
        let mut engine = Engine::new(Config::default(), None);
        let r = super::super::replay(dir.path(), &mut engine, 1 << 20, false).unwrap();
        let mut follower = Follower::after(dir.path(), r.segment, r.tail_offset, r.context);

        b.clear();
        for line in 2..=3 {
            enc.event(&mut b, line, &at, &pos(line), raw(line).as_bytes());
        }
        assert!(!String::from_utf8_lossy(&b).contains("\"src\""), "short");
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
