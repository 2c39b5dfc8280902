//! The headless view: a `key=value` line for each event, transition, action and
//! source change (`coord watch --headless`), or only the problems and a
//! summary (`--once`).

use super::observer::Observer;
use crate::engine::Input;
use crate::engine::{Effect, Engine, Time};
use crate::ingest::tailer::Pos;
use crate::journal::follow::Applied;
use crate::journal::record;
use crate::model::{Event, Level, ParseError};
use crate::text::kv;
use std::io::Write;

pub struct Printer<W: Write> {
    out: W,
    /// Every event and transition (`--headless`), not only problems (`--once`).
    all: bool,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, all: bool) -> Printer<W> {
        Printer { out, all }
    }
}

impl<W: Write> Observer for Printer<W> {
    fn event(&mut self, at: &str, event: &Event, _: Option<Level>, _: &Pos) {
        if self.all {
            print_event(&mut self.out, at, event);
        }
    }

    fn parse_error(&mut self, at: &str, _: Time, e: &ParseError) {
        print_parse_error(&mut self.out, at, e);
    }

    fn effects(&mut self, engine: &Engine, at: &str, fx: &[Effect]) {
        if self.all {
            for e in fx {
                print_effect(&mut self.out, at, e, engine);
            }
        }
    }

    fn source(&mut self, at: &str, pos: &Pos, what: &str) {
        // A file first seen is journaled (its checkpoint), not worth a line.
        if what != "opened" {
            let _ = writeln!(self.out, "{at} source {what} src={}", kv(&pos.src));
        }
    }

    fn journal(&mut self, at: &str, error: Option<&str>) {
        let _ = match error {
            Some(e) => writeln!(
                self.out,
                "{at} journal error={} (ingestion paused until it can write)",
                kv(e)
            ),
            None => writeln!(self.out, "{at} journal recovered"),
        };
    }

    fn followed(&mut self, engine: &Engine, at: Time, applied: Applied<'_>) {
        if self.all {
            print_applied(&mut self.out, engine, at, applied);
        }
    }

    fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
    }

    fn flush(&mut self) -> bool {
        match self.out.flush() {
            Err(e) => e.kind() != std::io::ErrorKind::BrokenPipe,
            Ok(()) => true,
        }
    }
}

fn print_event(out: &mut impl Write, at: &str, e: &Event) {
    let mut line = format!("{at} event {} id={}", kv(e.kind.as_str()), kv(&e.id));
    for (k, v) in [
        ("agent", &e.agent),
        ("component", &e.component),
        ("task", &e.task),
        ("gate", &e.gate),
    ] {
        if let Some(v) = v {
            line.push_str(&format!(" {k}={}", kv(v)));
        }
    }
    if let Some(p) = e.progress {
        line.push_str(&format!(" progress={p}"));
    }
    if let Some(s) = e.severity {
        line.push_str(&format!(" severity={s}"));
    }
    let _ = writeln!(out, "{line}");
}

fn print_parse_error(out: &mut impl Write, at: &str, e: &ParseError) {
    let _ = writeln!(
        out,
        "{at} parse_error src={} line={} offset={} reason={}",
        kv(&e.source),
        e.line,
        e.offset,
        kv(&e.reason)
    );
}

/// A headless follower's lines for what it applied: those the console that
/// journaled it printed.
fn print_applied(out: &mut impl Write, engine: &Engine, at: Time, applied: Applied<'_>) {
    let at = record::fmt_at(at);
    match applied {
        Applied::Input(Input::Event(e)) => print_event(out, &at, e),
        Applied::Input(Input::ParseError(e)) => print_parse_error(out, &at, e),
        Applied::Input(Input::Tick | Input::Operator(_)) => {}
        Applied::Effects(fx) => {
            for e in fx {
                print_effect(out, &at, e, engine);
            }
        }
    }
}

fn print_effect(out: &mut impl Write, at: &str, e: &Effect, engine: &Engine) {
    match e {
        Effect::Transition(t) => {
            let a = engine.alerts.get(t.alert);
            let mut line = format!(
                "{at} alert A-{} {} level={} escalation={} status={:?}",
                t.alert, t.what, t.level, t.escalation, t.status
            )
            .replace("status=Triggered", "status=triggered")
            .replace("status=Acknowledged", "status=acknowledged")
            .replace("status=Resolved", "status=resolved");
            if let Some(a) = a {
                line.push_str(&format!(" trigger={}", kv(a.trigger.as_str())));
                for (k, v) in [
                    ("agent", &a.agent),
                    ("component", &a.component),
                    ("gate", &a.gate),
                    ("task", &a.task),
                ] {
                    if let Some(v) = v {
                        line.push_str(&format!(" {k}={}", kv(v)));
                    }
                }
            }
            line.push_str(&format!(" reason={}", kv(&t.reason)));
            let _ = writeln!(out, "{line}");
        }
        Effect::Derived { event, .. } => {
            let _ = writeln!(
                out,
                "{at} derived {} agent={} phase={}",
                kv(event.kind.as_str()),
                kv(event.agent.as_deref().unwrap_or("-")),
                kv(event.phase.as_deref().unwrap_or("-"))
            );
        }
        Effect::Action(a) => {
            let v = serde_json::to_value(a).unwrap_or_default();
            let mut line = format!("{at} action");
            if let Some(obj) = v.as_object() {
                for (k, v) in obj {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => continue,
                        other => other.to_string(),
                    };
                    line.push_str(&format!(" {k}={}", kv(&text)));
                }
            }
            let _ = writeln!(out, "{line}");
        }
        Effect::Rejected { reason } => {
            let _ = writeln!(out, "{at} rejected reason={}", kv(reason));
        }
        Effect::Notify(_) => {}
    }
}

/// One line for `--once` and for the end of a run.
pub fn summary_line(engine: &Engine) -> String {
    let c = &engine.counters;
    let per = |l: Level| engine.open_alert_count(l);
    use crate::text::plural;
    format!(
        "coord: {}, {}, {}; {} open ({} critical, {} high, {} medium, {} low)",
        plural(c.events as usize, "event", "events"),
        plural(c.parse_errors as usize, "parse error", "parse errors"),
        plural(c.duplicates as usize, "duplicate", "duplicates"),
        plural(engine.alerts.open_count(), "alert", "alerts"),
        per(Level::Critical),
        per(Level::High),
        per(Level::Medium),
        per(Level::Low),
    )
}
