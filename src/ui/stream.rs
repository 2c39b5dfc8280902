//! The Events pane's stream: the newest entries, retained in a ring of a fixed
//! size, and the index of those the pane shows (under a filter, or with
//! heartbeats folded), kept as entries come and go so that a frame never scans
//! the ring.

use super::retained::RetainedEvent;
use crate::engine::Time;
use crate::model::{EventType, Level, ParseError};
use std::collections::VecDeque;
use std::sync::Arc;

/// What a retained stream entry holds.
#[derive(Clone, Debug, PartialEq)]
pub enum EntryBody {
    Event(Box<RetainedEvent>),
    ParseError(Box<ParseError>),
}

/// One entry of the stream as the Events pane shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEntry {
    /// Position in the stream since start (never reused).
    pub seq: u64,
    /// The event's `ts`, or the ingest time of a parse error.
    pub at: Time,
    /// The event's level as the engine classified it when it applied it
    /// (crisis types and explicit severities); `None` for progress chatter and
    /// parse errors.
    pub level: Option<Level>,
    pub source: Arc<str>,
    pub line: u64,
    pub offset: u64,
    pub body: EntryBody,
}

impl StreamEntry {
    pub fn type_name(&self) -> &str {
        match &self.body {
            EntryBody::Event(e) => e.kind.as_str(),
            EntryBody::ParseError(_) => "parse_error",
        }
    }

    pub fn is_heartbeat(&self) -> bool {
        matches!(&self.body, EntryBody::Event(ev) if ev.kind == EventType::AgentHeartbeat)
    }
}

/// The ring and the index of what is shown.
pub struct Stream {
    entries: VecDeque<StreamEntry>,
    capacity: usize,
    next_seq: u64,
    /// The `seq`s of the entries shown, oldest first; `None`: every one is.
    shown: Option<VecDeque<u64>>,
    /// Heartbeats among the entries.
    heartbeats: usize,
}

impl Stream {
    /// An empty stream keeping `capacity` entries; `all_shown`: no index.
    pub fn new(capacity: usize, all_shown: bool) -> Stream {
        Stream {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            next_seq: 0,
            shown: (!all_shown).then(VecDeque::new),
            heartbeats: 0,
        }
    }

    /// Adds an entry (the oldest goes when full); returns whether it is shown.
    pub fn push(
        &mut self,
        at: Time,
        level: Option<Level>,
        source: Arc<str>,
        pos: (u64, u64),
        body: EntryBody,
        shows: impl Fn(&StreamEntry) -> bool,
    ) -> bool {
        if self.entries.len() == self.capacity {
            if let Some(gone) = self.entries.pop_front() {
                self.heartbeats -= usize::from(gone.is_heartbeat());
                if let Some(list) = &mut self.shown {
                    if list.front() == Some(&gone.seq) {
                        list.pop_front();
                    }
                }
            }
        }
        let entry = StreamEntry {
            seq: self.next_seq,
            at,
            level,
            source,
            line: pos.0,
            offset: pos.1,
            body,
        };
        self.next_seq += 1;
        self.heartbeats += usize::from(entry.is_heartbeat());
        let shown = shows(&entry);
        if let (true, Some(list)) = (shown, &mut self.shown) {
            list.push_back(entry.seq);
        }
        self.entries.push_back(entry);
        shown
    }

    /// Indexes what is shown again (one pass); `None`: every entry is.
    pub fn reindex(&mut self, shows: Option<impl Fn(&StreamEntry) -> bool>) {
        self.shown = shows.map(|f| {
            self.entries
                .iter()
                .filter(|e| f(e))
                .map(|e| e.seq)
                .collect()
        });
    }

    pub fn entry(&self, seq: u64) -> Option<&StreamEntry> {
        let first = self.entries.front()?.seq;
        self.entries.get(seq.checked_sub(first)? as usize)
    }

    /// Every retained entry, newest first, shown or not.
    pub fn newest(&self) -> impl Iterator<Item = &StreamEntry> {
        self.entries.iter().rev()
    }

    pub fn retained(&self) -> usize {
        self.entries.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn heartbeats(&self) -> usize {
        self.heartbeats
    }

    /// Entries shown.
    pub fn count(&self) -> usize {
        match &self.shown {
            None => self.entries.len(),
            Some(list) => list.len(),
        }
    }

    /// Shown entries from the newest back: `skip` skipped, then up to `take`.
    /// Scans only as far back as it needs.
    pub fn window(&self, skip: usize, take: usize) -> Vec<&StreamEntry> {
        let mut out = Vec::with_capacity(take);
        match &self.shown {
            None => {
                let end = self.entries.len().saturating_sub(skip);
                let start = end.saturating_sub(take);
                out.extend(self.entries.range(start..end).rev());
            }
            Some(list) => {
                let end = list.len().saturating_sub(skip);
                let start = end.saturating_sub(take);
                out.extend(list.range(start..end).rev().filter_map(|s| self.entry(*s)));
            }
        }
        out
    }
}
