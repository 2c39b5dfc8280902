//! Whoever shows what the core applied: the headless printer, or the console.
//! The core calls these in the order it applies and journals; a view keeps
//! no state the engine does not already hold, beyond what it shows.

use crate::engine::{Effect, Engine, Time};
use crate::ingest::tailer::Pos;
use crate::journal::follow::Applied;
use crate::model::{Event, Level, ParseError};
use crate::ui::{App, JournalState, StreamState};

pub trait Observer {
    /// An event just applied, with its level as the engine classified it
    /// (`Class::shown`); its effects follow.
    fn event(&mut self, at: &str, event: &Event, level: Option<Level>, pos: &Pos);
    /// A line that did not parse, read at `now`.
    fn parse_error(&mut self, at: &str, now: Time, e: &ParseError);
    /// The effects of one input, applied.
    fn effects(&mut self, engine: &Engine, at: &str, fx: &[Effect]);
    /// A source's news: `opened`, `rotated`, `unreadable`, `disconnected`, …
    fn source(&mut self, at: &str, pos: &Pos, what: &str);
    /// The journal cannot write (`Some`), or can again.
    fn journal(&mut self, at: &str, error: Option<&str>);
    /// A record of another console's journal, applied (`--read-only`).
    fn followed(&mut self, engine: &Engine, at: Time, applied: Applied<'_>);
    /// A line for the operator: a torn tail dropped, a snapshot passed over,
    /// the summary of a run.
    fn say(&mut self, line: &str);
    /// Sends what was shown on its way; false once its reader has gone
    /// (`coord watch --headless | head`).
    fn flush(&mut self) -> bool {
        true
    }
    /// The console, when this view is one.
    fn console(&mut self) -> Option<&mut App> {
        None
    }
}

impl Observer for App {
    fn event(&mut self, _: &str, event: &Event, level: Option<Level>, pos: &Pos) {
        self.push_event(event, level, pos.src.clone(), pos.line, pos.off);
    }

    fn parse_error(&mut self, _: &str, now: Time, e: &ParseError) {
        self.push_parse_error(e, now);
    }

    fn effects(&mut self, _: &Engine, _: &str, fx: &[Effect]) {
        self.push_effects(fx);
    }

    fn source(&mut self, _: &str, _: &Pos, what: &str) {
        match what {
            "connected" => self.stream = Some(StreamState::Connected),
            "disconnected" => self.stream = Some(StreamState::Disconnected),
            _ => {}
        }
    }

    fn journal(&mut self, _: &str, error: Option<&str>) {
        self.journal = match error {
            Some(e) => JournalState::Error(e.to_string()),
            None => JournalState::Ok,
        };
    }

    /// The follower's loop refills the Events pane from what it read.
    fn followed(&mut self, _: &Engine, _: Time, _: Applied<'_>) {}

    fn say(&mut self, line: &str) {
        self.push_log(line);
    }

    fn console(&mut self) -> Option<&mut App> {
        Some(self)
    }
}
