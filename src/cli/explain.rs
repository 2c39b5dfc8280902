//! `coord explain DIR A-N [--json]` (SPEC 18): why an alert is what it is, in
//! plain words — the rule that opened it and the level it gave, the events
//! that were its inputs (with their times and sources), every timer and what
//! it did, every transition with who or what and why. Built from the state
//! `coord status` shows and the journal's records of the alert's events.

use super::as_of::{load, At};
use crate::engine::alerts::{Alert, Resolution, Status};
use crate::engine::matrix::Trigger;
use crate::engine::{Engine, Time};
use crate::model::{Event, EventType};
use crate::sanitize::sanitize;
use crate::text::fmt_span;
use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// One input of the alert: an event, where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct Input {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub ts: Time,
    /// When coord read (or derived) it.
    pub read_at: Time,
    /// `events/a.jsonl:12`, or `coord (derived)`.
    pub source: String,
    pub agent: Option<String>,
    pub message: Option<String>,
    /// The level it gave itself, if it did.
    pub severity: Option<String>,
}

/// A timer of the alert and what it did or will do.
#[derive(Clone, Debug, Serialize)]
pub struct Timer {
    pub name: &'static str,
    pub at: Option<Time>,
    pub said: String,
}

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub alert: String,
    pub trigger: String,
    pub level: String,
    pub status: String,
    /// `agent=… component=… gate=… task=…`, what it is about.
    pub subject: String,
    pub message: Option<String>,
    /// The rule, and why the level is what it is.
    pub rule: Vec<String>,
    /// The events that opened, repeated or raised it (and, for a timeout or a
    /// wait, the agent's last word before), oldest first.
    pub inputs: Vec<Input>,
    pub timers: Vec<Timer>,
    pub history: Vec<crate::engine::alerts::Step>,
    pub actions: Vec<String>,
}

/// Prints the explanation; exit 0, 2 on error (an unknown alert too).
pub fn run(dir: &Path, alert: u64, json: bool, out: &mut dyn Write) -> Result<i32> {
    let now = chrono::Utc::now();
    let loaded = load(dir, At::Now, false, now)?;
    let e = explain(dir, &loaded.engine, alert, loaded.as_of)?;
    super::emit(&e, json, out, write_text)
}

pub fn explain(dir: &Path, engine: &Engine, id: u64, now: Time) -> Result<Explanation> {
    let Some(a) = engine.alerts.get(id) else {
        bail!("A-{id}: no such alert (coord status lists them)");
    };
    let wanted: HashSet<&str> = a
        .history
        .iter()
        .filter_map(|s| s.event.as_deref())
        .collect();
    let mut inputs = inputs(dir, a, &wanted)?;
    inputs.sort_by_key(|i| (i.read_at, i.ts));
    Ok(Explanation {
        alert: format!("A-{id}"),
        trigger: a.trigger.to_string(),
        level: a.level.to_string(),
        status: status_word(a),
        subject: [
            ("agent", &a.agent),
            ("component", &a.component),
            ("gate", &a.gate),
            ("task", &a.task),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" "),
        message: a.message.clone(),
        rule: rule(engine, a, &inputs),
        inputs,
        timers: timers(a, now),
        history: a.history.clone(),
        actions: a.actions.clone(),
    })
}

fn status_word(a: &Alert) -> String {
    match (a.status, a.resolution) {
        (Status::Resolved, Some(r)) => format!(
            "resolved ({})",
            match r {
                Resolution::Fixed => "fixed",
                Resolution::Auto => "by itself: its recovery came",
                Resolution::FalseAlarm => "a false alarm",
                Resolution::Superseded => "superseded",
            }
        ),
        (s, _) => format!("{s:?}").to_lowercase(),
    }
}

/// The rule that opened it, and why its level is what it is.
fn rule(engine: &Engine, a: &Alert, inputs: &[Input]) -> Vec<String> {
    let t = &engine.timing;
    let mut out = Vec::new();
    let Some(trigger) = Trigger::of(&a.trigger) else {
        out.push(format!(
            "A {} event opens an alert at its own severity (Medium when it gives none).",
            a.trigger
        ));
        return out;
    };
    let row = engine.matrix.row(trigger);
    out.push(format!(
        "The crisis matrix's {} row: level {}, respond within {}, opens at {}.",
        a.trigger,
        row.level,
        fmt_span(row.respond_within),
        row.open_at
    ));
    if a.level != row.level {
        // The event's own severity wins (SPEC 4), then the impact rule.
        let said = inputs
            .iter()
            .filter(|i| i.kind == a.trigger.as_str())
            .find_map(|i| i.severity.as_deref());
        out.push(match said {
            Some(s) => format!(
                "Level {} and not {}: the event's own severity ({s}) overrides the matrix.",
                a.level, row.level
            ),
            None => format!(
                "Level {} and not {}: a crisis on a component of the current phase ({}) is at least High.",
                a.level,
                row.level,
                a.component.as_deref().map(sanitize).unwrap_or_default()
            ),
        });
    }
    let who = a.agent.as_deref().map(sanitize).unwrap_or_default();
    match a.trigger {
        EventType::AgentTimeout => out.push(format!(
            "Derived by coord: nothing came from {who} for agent_timeout_minutes ({}); it is late after {}. Its last word before is below.",
            fmt_span(t.agent_timeout),
            fmt_span(t.late_after)
        )),
        EventType::AgentWaiting => out.push(format!(
            "Derived by coord: {who} said it was waiting on a person, and waited past waiting_alert_minutes ({}). It resolves when {who} works again.",
            fmt_span(t.waiting_alert)
        )),
        EventType::BudgetExceeded => out.push(
            "Derived by coord: the spend its events reported (cost_usd) passed the budget_usd plan.json sets."
                .into(),
        ),
        EventType::TaskFailed => out.push(
            "A task's command failed; a task_completed of the same task resolves it.".into(),
        ),
        _ => {}
    }
    out
}

/// The alert's events from the journal, and for a derived timeout or wait the
/// agent's last event before the alert opened.
fn inputs(dir: &Path, a: &Alert, wanted: &HashSet<&str>) -> Result<Vec<Input>> {
    let journal = dir.join("journal");
    let mut found = Vec::new();
    let mut last_word: Option<Input> = None;
    let quiet = matches!(a.trigger, EventType::AgentTimeout | EventType::AgentWaiting);
    super::audit::scan(&journal, |_, rec| {
        // An event or a derived one, read as the Events pane reads them.
        let Some(r) = crate::journal::recent::entry(rec) else {
            return;
        };
        let Ok(event) = r.body else { return };
        let source = match r.line {
            0 => r.src,
            line => format!("{}:{line}", r.src),
        };
        let input = |e: &Event| Input {
            id: e.id.to_string(),
            kind: e.kind.to_string(),
            ts: e.ts,
            read_at: rec.at,
            source: source.clone(),
            agent: e.agent.as_deref().map(str::to_string),
            message: e.message.as_deref().map(str::to_string),
            severity: e.severity.map(|l| l.to_string()),
        };
        if wanted.contains(event.id.as_str()) {
            found.push(input(&event));
        } else if quiet
            && event.agent.as_deref() == a.agent.as_deref()
            && event.ts <= a.first_seen
            && !matches!(
                event.kind,
                EventType::AgentTimeout | EventType::AgentWaiting
            )
        {
            last_word = Some(input(&event));
        }
    })?;
    found.extend(last_word);
    Ok(found)
}

/// Each timer of the alert: what it did, or when it will fire.
fn timers(a: &Alert, now: Time) -> Vec<Timer> {
    let when = |t: Time| {
        let d = t - now;
        if d >= chrono::TimeDelta::zero() {
            format!("in {}", fmt_span(d))
        } else {
            format!("{} ago", fmt_span(-d))
        }
    };
    let mut out = Vec::new();
    let sla = match (a.responded_at, a.response_due, a.sla_breached) {
        (_, _, true) => "breached: no acknowledgement, snooze or automatic action in time".into(),
        (Some(r), _, _) => format!(
            "met: first response {} after it opened",
            fmt_span(r - a.first_seen)
        ),
        (None, Some(due), _) if a.is_open() => format!("running: respond {}", when(due)),
        _ => "ended with the alert".into(),
    };
    out.push(Timer {
        name: "response (SLA)",
        at: a.response_due,
        said: sla,
    });
    let escalation = match a.escalate_at {
        Some(t) if a.is_open() => format!(
            "climbs from {} to the next tier {} unless acknowledged",
            a.escalation,
            when(t)
        ),
        _ if a.reached_human => "reached a human (the top tier)".into(),
        _ => "stopped".into(),
    };
    out.push(Timer {
        name: "escalation",
        at: a.escalate_at.filter(|_| a.is_open()),
        said: escalation,
    });
    if let Some(t) = a.ack_expires_at.filter(|_| a.is_open()) {
        out.push(Timer {
            name: "acknowledgement",
            at: Some(t),
            said: format!("expires {}: the alert is triggered again", when(t)),
        });
    }
    if let Some(t) = a.human_at.filter(|_| a.is_open()) {
        out.push(Timer {
            name: "time-based escalation",
            at: Some(t),
            said: format!("unresolved, it goes to a human {}", when(t)),
        });
    }
    if let Some(t) = a.snoozed_until.filter(|t| *t > now && a.is_open()) {
        out.push(Timer {
            name: "snooze",
            at: Some(t),
            said: format!("ends {}: triggered again", when(t)),
        });
    }
    out
}

fn write_text(e: &Explanation, out: &mut dyn Write) -> std::io::Result<()> {
    let time = crate::text::fmt_time;
    writeln!(
        out,
        "{} · {} · {} · {} · {}",
        e.alert,
        e.level.to_uppercase(),
        e.trigger,
        sanitize(&e.subject),
        e.status
    )?;
    if let Some(m) = &e.message {
        writeln!(out, "\"{}\"", sanitize(m))?;
    }
    writeln!(out, "\nWhy it opened")?;
    for line in &e.rule {
        writeln!(out, "  {line}")?;
    }
    writeln!(out, "\nIts inputs (the events, oldest first)")?;
    if e.inputs.is_empty() {
        writeln!(
            out,
            "  none in the journal (no console has recorded this alert yet)"
        )?;
    }
    for i in &e.inputs {
        writeln!(
            out,
            "  {}  {:<20} {}  from {}{}{}",
            time(i.ts),
            sanitize(&i.kind),
            sanitize(&i.id),
            sanitize(&i.source),
            i.agent
                .as_deref()
                .map(|a| format!("  agent={}", sanitize(a)))
                .unwrap_or_default(),
            i.message
                .as_deref()
                .map(|m| format!("  \"{}\"", sanitize(m)))
                .unwrap_or_default(),
        )?;
    }
    writeln!(out, "\nTimers")?;
    for t in &e.timers {
        writeln!(out, "  {:<22} {}", t.name, t.said)?;
    }
    writeln!(out, "\nWhat happened (who or what, and why)")?;
    for s in &e.history {
        let cause = s
            .event
            .as_deref()
            .map(|id| format!("  ← {}", sanitize(id)))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}  {:<14} {:<8} {}{cause}",
            time(s.at),
            s.what,
            sanitize(&s.by),
            sanitize(&s.why)
        )?;
    }
    if !e.actions.is_empty() {
        writeln!(out, "\nAutomatic actions")?;
        for a in &e.actions {
            writeln!(out, "  {}", sanitize(a))?;
        }
    }
    Ok(())
}
