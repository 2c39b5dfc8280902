//! `coord digest DIR [--operator NAME] [--since T] [--json]` (SPEC 18, "since
//! you looked"): what changed since a time — by default since the operator
//! last looked (the console journals a `mark_seen` action on quit and on `m`):
//! alerts opened, escalated to a human, past their response deadline,
//! resolved; tasks moved; agents that died and came back; the phase's progress.
//! Read from the journal's records in that span; the state then and now as
//! `coord status --at` builds them.

use super::as_of::{load, At};
use crate::engine::alerts::Alert;
use crate::engine::{Engine, Time};
use crate::sanitize::sanitize;
use anyhow::Result;
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// An alert's change in the span.
#[derive(Clone, Debug, Serialize)]
pub struct AlertChange {
    pub alert: String,
    pub at: Time,
    pub trigger: String,
    pub level: String,
    pub subject: String,
    /// The alert's own message.
    pub message: Option<String>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Move {
    pub at: Time,
    pub task: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
    pub automatic: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgentChange {
    pub at: Time,
    pub agent: String,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Agents {
    /// Timed out in the span.
    pub died: Vec<AgentChange>,
    /// Back from timed out in the span.
    pub recovered: Vec<AgentChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    pub phase: String,
    /// The current phase's completion then (null: before the journal) and now.
    pub from: Option<f64>,
    pub to: f64,
    /// Phases completed in the span.
    pub completed: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Digest {
    pub since: Time,
    pub until: Time,
    /// Why `since` is what it is: `--since`, the operator's last look, or the
    /// journal's start.
    pub since_is: String,
    pub opened: Vec<AlertChange>,
    pub escalated: Vec<AlertChange>,
    pub breached: Vec<AlertChange>,
    pub resolved: Vec<AlertChange>,
    pub reassigned: Vec<Move>,
    pub agents: Agents,
    pub progress: Progress,
}

/// Prints the digest; exit 0, 2 on error.
pub fn run(
    dir: &Path,
    operator: &str,
    since: Option<Time>,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let d = digest(dir, operator, since, chrono::Utc::now())?;
    super::emit(&d, json, out, write_text)
}

pub fn digest(dir: &Path, operator: &str, since: Option<Time>, now: Time) -> Result<Digest> {
    let loaded = load(dir, At::Now, false, now)?;
    digest_of(dir, &loaded.engine, operator, since, loaded.as_of)
}

/// The digest up to `until`, with `engine` the state then (a console's own).
pub fn digest_of(
    dir: &Path,
    engine: &Engine,
    operator: &str,
    since: Option<Time>,
    until: Time,
) -> Result<Digest> {
    let journal = dir.join("journal");
    let now = until;
    let (since, since_is) = match since {
        Some(t) => (t, "--since".to_string()),
        None => match last_seen(&journal, operator)? {
            Some(t) => (t, format!("{operator} last looked")),
            None => {
                // Just before the first record: all of it.
                let first = crate::journal::reader::span(&journal)?
                    .map(|(f, _)| f - chrono::TimeDelta::milliseconds(1));
                (
                    first.unwrap_or(now),
                    format!("the journal's start ({operator} has not looked yet)"),
                )
            }
        },
    };
    let mut d = Digest {
        since,
        until,
        since_is,
        opened: Vec::new(),
        escalated: Vec::new(),
        breached: Vec::new(),
        resolved: Vec::new(),
        reassigned: Vec::new(),
        agents: Agents::default(),
        progress: progress(dir, engine, since)?,
    };
    effects_after(&journal, since, |rec_kind, rec_at, fx| {
        let s = |k: &str| fx.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        // A transition's own time; an action's, the record's.
        let at = fx
            .get("at")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .or(Some(rec_at));
        match rec_kind {
            "transition" => {
                let Some(id) = fx.get("alert").and_then(Value::as_u64) else {
                    return;
                };
                let change = alert_change(engine, id, at, s("reason"), &s("level"));
                match s("what").as_str() {
                    "opened" => d.opened.push(change),
                    "escalated" if s("escalation") == "human" => d.escalated.push(change),
                    "sla_breached" => d.breached.push(change),
                    "resolved" | "false_alarm" | "superseded" => d.resolved.push(change),
                    _ => {}
                }
            }
            "auto" => match s("action").as_str() {
                "task_reassigned" => d.reassigned.push(Move {
                    at: rec_at,
                    task: s("task"),
                    from: fx.get("from").and_then(Value::as_str).map(str::to_string),
                    to: s("to"),
                    reason: s("reason"),
                    automatic: fx
                        .get("automatic")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                }),
                "liveness_changed" => {
                    let change = AgentChange {
                        at: rec_at,
                        agent: s("agent"),
                        from: s("from"),
                        to: s("to"),
                    };
                    if change.to == "timed_out" {
                        d.agents.died.push(change);
                    } else if change.from == "timed_out" {
                        d.agents.recovered.push(change);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    })?;
    Ok(d)
}

/// The operator's last `mark_seen` in the journal.
fn last_seen(journal: &Path, operator: &str) -> Result<Option<Time>> {
    let mut last = None;
    super::audit::scan(journal, |_, rec| {
        if rec.kind == "action" {
            if let Some(op) = rec.op.as_ref() {
                if op.operator == operator && op.action == crate::engine::Action::MarkSeen {
                    last = Some(rec.at);
                }
            }
        }
    })?;
    Ok(last)
}

/// The effects recorded after `since`, with their record's kind and time.
fn effects_after(journal: &Path, since: Time, mut f: impl FnMut(&str, Time, &Value)) -> Result<()> {
    super::audit::scan(journal, |_, rec| {
        if rec.at <= since {
            return;
        }
        if let Some(fx) = rec
            .effect
            .and_then(|e| serde_json::from_str::<Value>(e.get()).ok())
        {
            f(&rec.kind, rec.at, &fx);
        }
    })
}

fn alert_change(
    engine: &Engine,
    id: u64,
    at: Option<Time>,
    why: String,
    level: &str,
) -> AlertChange {
    let a = engine.alerts.get(id);
    let subject = a.map(Alert::subject).unwrap_or_default();
    AlertChange {
        alert: format!("A-{id}"),
        at: at.or(a.map(|a| a.first_seen)).unwrap_or_default(),
        trigger: a.map(|a| a.trigger.to_string()).unwrap_or_default(),
        level: level.to_string(),
        subject,
        message: a.and_then(|a| a.message.clone()),
        why,
    }
}

/// The current phase's completion then and now, and the phases completed.
fn progress(dir: &Path, engine: &Engine, since: Time) -> Result<Progress> {
    let phase = engine.current_phase().expect("there is always a phase");
    // The journal's records up to then (no event file read, no timer fired);
    // before its first record, nothing was recorded then.
    let first = crate::journal::reader::span(&dir.join("journal"))?.map(|(f, _)| f);
    let then = match first {
        Some(first) if since >= first => crate::runtime::open_until(dir, since)?
            .engine
            .phases
            .iter()
            .find(|p| p.id == phase.id)
            .map(|p| p.completion()),
        _ => None,
    };
    let completed = engine
        .phases
        .iter()
        .filter(|p| p.completed_at.is_some_and(|t| t > since))
        .map(|p| p.id.clone())
        .collect();
    Ok(Progress {
        phase: phase.id.clone(),
        from: then.map(round1),
        to: round1(phase.completion()),
        completed,
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Digest {
    /// Whether anything changed in the span.
    pub fn is_quiet(&self) -> bool {
        self.opened.is_empty()
            && self.escalated.is_empty()
            && self.breached.is_empty()
            && self.resolved.is_empty()
            && self.reassigned.is_empty()
            && self.agents.died.is_empty()
            && self.agents.recovered.is_empty()
            && self.progress.completed.is_empty()
    }

    /// The text, a line each (the console's page).
    pub fn lines(&self) -> Vec<String> {
        let mut buf = Vec::new();
        let _ = write_text(self, &mut buf);
        String::from_utf8_lossy(&buf)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn write_text(d: &Digest, out: &mut dyn Write) -> std::io::Result<()> {
    let time = crate::text::fmt_time;
    writeln!(
        out,
        "Since {} ({}), until {}",
        time(d.since),
        sanitize(&d.since_is),
        time(d.until)
    )?;
    let p = &d.progress;
    let from = p.from.map_or("-".into(), |f| format!("{f:.1} %"));
    writeln!(
        out,
        "Progress: {} {from} → {:.1} %",
        sanitize(&p.phase),
        p.to
    )?;
    if !p.completed.is_empty() {
        writeln!(
            out,
            "Phases completed: {}",
            sanitize(&p.completed.join(", "))
        )?;
    }
    let alerts = |out: &mut dyn Write, title: &str, list: &[AlertChange]| -> std::io::Result<()> {
        writeln!(out, "\n{title}: {}", list.len())?;
        for c in list {
            let message = c
                .message
                .as_deref()
                .map(|m| format!("  \"{}\"", sanitize(m)))
                .unwrap_or_default();
            writeln!(
                out,
                "{}{message}  ({})",
                super::alert_row(c.at, &c.alert, &c.level, &c.trigger, &c.subject),
                sanitize(&c.why)
            )?;
        }
        Ok(())
    };
    alerts(out, "Opened", &d.opened)?;
    alerts(out, "Escalated to a human", &d.escalated)?;
    alerts(out, "Past their response deadline", &d.breached)?;
    alerts(out, "Resolved", &d.resolved)?;
    writeln!(out, "\nTasks moved: {}", d.reassigned.len())?;
    for m in &d.reassigned {
        writeln!(
            out,
            "  {}  {} {} → {} ({}{})",
            time(m.at),
            sanitize(&m.task),
            sanitize(m.from.as_deref().unwrap_or("-")),
            sanitize(&m.to),
            sanitize(&m.reason),
            if m.automatic { ", automatic" } else { "" }
        )?;
    }
    writeln!(
        out,
        "\nAgents: {} died, {} came back",
        d.agents.died.len(),
        d.agents.recovered.len()
    )?;
    for c in d.agents.died.iter().chain(&d.agents.recovered) {
        writeln!(
            out,
            "  {}  {} {} → {}",
            time(c.at),
            sanitize(&c.agent),
            c.from,
            c.to
        )?;
    }
    Ok(())
}
