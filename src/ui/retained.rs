//! An event as the Events pane keeps it. A console keeps up to a million of them
//! (`ingest.retention_events`), so each is kept small: its names end to end in one
//! allocation, where an `Event` holds eight strings of 24 bytes each inline
//! (QUALITY.md: 1M retained events within 350 MB).

use crate::model::{Event, EventType, Level};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The names, in the order `text` holds them.
const ID: usize = 0;
const AGENT: usize = 1;
const TASK: usize = 2;
const COMPONENT: usize = 3;
const PHASE: usize = 4;
const GATE: usize = 5;
const STATUS: usize = 6;
const MESSAGE: usize = 7;
const NAMES: usize = 8;

#[derive(Clone, Debug, PartialEq)]
pub struct RetainedEvent {
    pub kind: EventType,
    pub ts: DateTime<Utc>,
    pub ts_assumed: bool,
    pub progress: Option<f64>,
    pub severity: Option<Level>,
    /// Bit `i` set: name `i` is there (an absent name and an empty one differ).
    present: u8,
    /// Where name `i` ends in `text` (it begins where the one before ends). A
    /// line is at most 1 GiB (`ingest.max_line_bytes`), so this fits.
    ends: [u32; NAMES],
    text: Box<str>,
    /// The event's `data`, when it has any.
    pub data: Option<Box<Map<String, Value>>>,
}

impl From<&Event> for RetainedEvent {
    fn from(e: &Event) -> RetainedEvent {
        let names = [
            Some(&e.id),
            e.agent.as_ref(),
            e.task.as_ref(),
            e.component.as_ref(),
            e.phase.as_ref(),
            e.gate.as_ref(),
            e.status.as_ref(),
            e.message.as_ref(),
        ];
        let mut text = String::with_capacity(names.iter().flatten().map(|n| n.len()).sum());
        let (mut present, mut ends) = (0u8, [0u32; NAMES]);
        for (i, name) in names.into_iter().enumerate() {
            if let Some(name) = name {
                present |= 1 << i;
                text.push_str(name);
            }
            ends[i] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        RetainedEvent {
            kind: e.kind.clone(),
            ts: e.ts,
            ts_assumed: e.ts_assumed,
            progress: e.progress,
            severity: e.severity,
            present,
            ends,
            text: text.into_boxed_str(),
            data: e.data.clone(),
        }
    }
}

impl RetainedEvent {
    fn name(&self, i: usize) -> Option<&str> {
        if self.present & 1 << i == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start as usize..self.ends[i] as usize)
    }

    pub fn id(&self) -> &str {
        self.name(ID).unwrap_or_default()
    }
    pub fn agent(&self) -> Option<&str> {
        self.name(AGENT)
    }
    pub fn task(&self) -> Option<&str> {
        self.name(TASK)
    }
    pub fn component(&self) -> Option<&str> {
        self.name(COMPONENT)
    }
    pub fn phase(&self) -> Option<&str> {
        self.name(PHASE)
    }
    pub fn gate(&self) -> Option<&str> {
        self.name(GATE)
    }
    pub fn status(&self) -> Option<&str> {
        self.name(STATUS)
    }
    pub fn message(&self) -> Option<&str> {
        self.name(MESSAGE)
    }
    pub fn category(&self) -> crate::model::Category {
        self.kind.category()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Origin, ParseOptions};
    use crate::model::parse::parse_line;

    fn event(line: &str) -> Event {
        let origin = Origin {
            source: "s",
            line: 1,
            offset: 0,
            ident: "",
        };
        let at = "2026-11-24T12:00:00Z".parse().unwrap();
        parse_line(line.as_bytes(), &origin, at, &ParseOptions::default()).unwrap()
    }

    #[test]
    fn keeps_every_field_of_the_event() {
        let full = event(
            r#"{"type":"quality_gate_failure","id":"ev-1","agent":"a-1","task":"T-1","component":"auth-api","phase":"p1","gate":"tests","status":"busy","message":"three failures, the first in the login flow ✗","severity":"high","progress":12.5,"ts":"2026-11-24T11:00:00.25Z","data":{"n":3}}"#,
        );
        let r = RetainedEvent::from(&full);
        assert_eq!(r.kind, full.kind);
        assert_eq!((r.ts, r.ts_assumed), (full.ts, false));
        assert_eq!((r.progress, r.severity), (Some(12.5), Some(Level::High)));
        assert_eq!(r.id(), "ev-1");
        assert_eq!(r.agent(), Some("a-1"));
        assert_eq!(r.task(), Some("T-1"));
        assert_eq!(r.component(), Some("auth-api"));
        assert_eq!(r.phase(), Some("p1"));
        assert_eq!(r.gate(), Some("tests"));
        assert_eq!(r.status(), Some("busy"));
        assert_eq!(
            r.message(),
            Some("three failures, the first in the login flow ✗")
        );
        assert!(r.data.is_some() && r.data == full.data);
        assert_eq!(r.category(), full.category());

        // Absent names stay absent around present ones; no data, no map.
        let sparse = event(r#"{"type":"agent_heartbeat","id":"h","component":"c","message":""}"#);
        let r = RetainedEvent::from(&sparse);
        assert_eq!(r.id(), "h");
        assert_eq!(
            [r.agent(), r.task(), r.phase(), r.gate(), r.status()],
            [None; 5]
        );
        assert_eq!(r.component(), Some("c"));
        assert_eq!(r.message(), sparse.message.as_deref());
        assert!(r.ts_assumed && r.data.is_none());
    }

    #[test]
    fn is_a_third_of_an_event() {
        assert!(std::mem::size_of::<RetainedEvent>() * 2 < std::mem::size_of::<Event>());
    }
}
