//! Following another console's journal (`coord watch --read-only`): new whole
//! records are applied as they are committed, through the same `apply`.

use super::recent::{entry, Recent};
use super::record::Record;
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
}

impl Follower {
    /// Follows from `offset` of `segment` (where replay stopped).
    pub fn after(dir: &Path, segment: u64, offset: u64) -> Follower {
        Follower {
            dir: dir.to_path_buf(),
            segment,
            offset,
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
                    if let Ok(rec) = serde_json::from_slice::<Record>(bytes) {
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
                continue;
            }
            return Ok(applied);
        }
    }
}
