//! `coord status [DIR] [--json] [--at last|TIME]`: a one-shot summary for
//! people, scripts and CI gates. Reads the directory into an engine in memory as
//! of a time (`as_of`), and prints. Exit 0 healthy, 1 when a Critical alert is
//! open or an open alert breached its SLA, 2 on error.

use super::as_of::{load, At};
use crate::engine::agents::Liveness;
use crate::engine::alerts::Status;
use crate::engine::summary::Summary;
use crate::engine::Time;
use crate::model::Level;
use crate::sanitize::sanitize;
use anyhow::Result;
use std::io::Write;
use std::path::Path;

/// Runs the command; returns the exit code.
pub fn run(dir: &Path, json: bool, legacy: bool, at: At, out: &mut dyn Write) -> Result<i32> {
    let summary = load(dir, at, legacy, chrono::Utc::now())?.summary();
    super::emit(&summary, json, out, |s, out| write_human(s, out))?;
    Ok(if summary.healthy() { 0 } else { 1 })
}

fn ago(now: Time, t: Option<Time>) -> String {
    let Some(t) = t else { return "never".into() };
    if t > now {
        return "in the future".into();
    }
    format!("{} ago", crate::text::fmt_age(now - t))
}

fn bar(pct: f64, width: usize) -> String {
    let full = ((pct / 100.0) * width as f64).round() as usize;
    format!(
        "{}{}",
        "#".repeat(full.min(width)),
        "-".repeat(width - full.min(width))
    )
}

/// The human form: what an operator reads at a glance. Every string that came
/// from an event is sanitised.
pub fn write_human(s: &Summary, out: &mut dyn Write) -> std::io::Result<()> {
    let t = |x: &Option<String>| sanitize(x.as_deref().unwrap_or("-")).into_owned();
    let when =
        |x: Option<Time>| x.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    writeln!(out, "coord status — {}", t(&s.epic))?;
    let projected = s.alerts.iter().any(|a| a.projected) || s.agents.iter().any(|a| a.projected);
    for line in super::as_of::describe(s.as_of, s.journal_last, s.console_running, projected) {
        writeln!(out, "{line}")?;
    }
    let p = &s.phase;
    writeln!(
        out,
        "Phase {} ({}): {:.1} % {}  ETA {}  target {}  {}",
        sanitize(&p.name),
        sanitize(&p.id),
        p.completion,
        if p.complete { "COMPLETE" } else { "" },
        when(p.eta),
        when(p.target),
        serde_json::to_value(p.outlook)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
            .replace('_', " "),
    )?;
    if p.cost_usd > 0.0 || p.tokens > 0 {
        use crate::engine::spend::dollars;
        let budget = match p.budget_usd {
            Some(b) if b > 0.0 => format!(
                " of the {} budget ({:.0} %)",
                dollars(b),
                p.cost_usd / b * 100.0
            ),
            _ => String::new(),
        };
        writeln!(
            out,
            "Spend: {}{budget}, {} tokens",
            dollars(p.cost_usd),
            p.tokens
        )?;
    }
    if !s.phases_complete.is_empty() {
        writeln!(
            out,
            "Phases complete: {}",
            sanitize(&s.phases_complete.join(", "))
        )?;
    }
    let open: Vec<_> = s
        .alerts
        .iter()
        .filter(|a| a.status != Status::Resolved)
        .collect();
    let per = |l: Level| open.iter().filter(|a| a.level == l).count();
    writeln!(
        out,
        "\nAlerts: {} open — {} critical, {} high, {} medium, {} low; {} SLA breached{}",
        open.len(),
        per(Level::Critical),
        per(Level::High),
        per(Level::Medium),
        per(Level::Low),
        open.iter().filter(|a| a.sla_breached).count(),
        if s.degraded { "; SYSTEM DEGRADED" } else { "" },
    )?;
    for a in &open {
        let subject = [
            ("agent", &a.agent),
            ("component", &a.component),
            ("gate", &a.gate),
            ("task", &a.task),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", sanitize(v))))
        .collect::<Vec<_>>()
        .join(" ");
        writeln!(
            out,
            "  {:<6} {:<8} {:<22} {:<9} {:<12} x{:<3} opened {}  {}{}{}{}",
            a.id,
            a.level.as_str().to_uppercase(),
            sanitize(a.trigger.as_str()),
            a.escalation.as_str(),
            format!("{:?}", a.status).to_lowercase(),
            a.count,
            ago(s.at, Some(a.opened)),
            subject,
            if a.sla_breached { "  SLA-BREACHED" } else { "" },
            if a.flapping { "  FLAPPING" } else { "" },
            if a.projected { "  (projected)" } else { "" },
        )?;
        // What it says, who has it, whether it sleeps, and the last word on it.
        let mut facts = Vec::new();
        if let Some(m) = &a.message {
            facts.push(format!(
                "\"{}\"",
                sanitize(&crate::text::clip_words(m, 100))
            ));
        }
        match (&a.acknowledged_by, &a.assignee) {
            (Some(who), _) => facts.push(format!("owner {}", sanitize(who))),
            (None, Some(to)) => facts.push(format!("assigned to {}", sanitize(to))),
            _ => {}
        }
        if let Some(t) = a.snoozed_until.filter(|t| *t > s.at) {
            facts.push(format!("snoozed until {}", t.format("%Y-%m-%d %H:%M:%S")));
        }
        if let Some(n) = a.notes.last() {
            facts.push(format!(
                "last note by {}: {}",
                sanitize(&n.author),
                sanitize(&n.text)
            ));
        }
        if !facts.is_empty() {
            writeln!(out, "         {}", facts.join(" · "))?;
        }
    }
    let live = |l: Liveness| s.agents.iter().filter(|a| a.liveness == l).count();
    writeln!(
        out,
        "\nAgents: {} — {} healthy, {} waiting on a person, {} idle, {} late, {} timed out, {} offline, {} standby",
        s.agents.len(),
        live(Liveness::Healthy),
        live(Liveness::Waiting),
        live(Liveness::Idle),
        live(Liveness::Late),
        live(Liveness::TimedOut),
        live(Liveness::Offline),
        live(Liveness::Standby),
    )?;
    for a in s.agents.iter().filter(|a| {
        matches!(
            a.liveness,
            Liveness::TimedOut | Liveness::Late | Liveness::Waiting
        )
    }) {
        let what = match (a.waiting_since, &a.waiting_for) {
            (Some(since), Some(w)) => format!("since {}: {}", ago(s.at, Some(since)), sanitize(w)),
            (Some(since), None) => format!("since {}", ago(s.at, Some(since))),
            _ => format!(
                "last seen {:<10} tasks: {}",
                ago(s.at, a.last_seen),
                sanitize(&a.open_tasks.join(", "))
            ),
        };
        writeln!(
            out,
            "  {:<20} {:<9} {what}{}",
            sanitize(&a.id),
            a.liveness.as_str(),
            if a.projected { "  (projected)" } else { "" },
        )?;
    }
    if !s.components.is_empty() {
        writeln!(out, "\nComponents:")?;
    }
    for c in &s.components {
        let gates = c
            .gates
            .iter()
            .map(|(g, st)| {
                format!(
                    "{} {}",
                    sanitize(if g.is_empty() { "(gate)" } else { g }),
                    serde_json::to_value(st)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            out,
            "  {:<20} [{}] {:>5.1} %  {}{}",
            sanitize(&c.id),
            bar(c.progress, 20),
            c.progress,
            if c.blocked { "BLOCKED  " } else { "" },
            gates,
        )?;
    }
    writeln!(
        out,
        "\nEvents: {} read, {}, {}, {} derived",
        s.counts.events,
        crate::text::plural(
            s.counts.parse_errors as usize,
            "parse error",
            "parse errors"
        ),
        crate::text::plural(s.counts.duplicates as usize, "duplicate", "duplicates"),
        s.counts.derived
    )?;
    writeln!(
        out,
        "Status: {}",
        if s.healthy() {
            "HEALTHY"
        } else {
            "UNHEALTHY (a Critical alert is open or an SLA is breached)"
        }
    )?;
    Ok(())
}
