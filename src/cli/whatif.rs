//! `coord whatif DIR --config OTHER.json [--plan OTHER_PLAN.json] [--json]`
//! (SPEC 18): the journal's inputs — events, ticks, operator actions — replayed
//! from its start through two engines, one under the directory's own
//! configuration and plan and one under the others, and the difference told:
//! alerts per trigger and level, the alerts only one side opened, escalations
//! to a human, SLA breaches, notifications per channel, and how detection moved.
//! An operator action is replayed on the other side when the alert it names
//! has an open counterpart there (same subject); else it is counted as dropped.
//! The journal keeps only the ticks that did something: the what-if side also
//! ticks every second between records, as a console running throughout would
//! (so while no console ran, it fires timers none fired).

use crate::config::{load_config, parse_config, Config};
use crate::engine::alerts::Alert;
use crate::engine::{Effect, Engine, Input, Time};
use crate::journal::replay::{record_input, Checkpoints};
use crate::model::event::ParseOptions;
use crate::model::plan::{load_plan, parse_plan, Plan};
use crate::sanitize::sanitize;
use crate::text::{fmt_span, plural};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// One side's figures.
#[derive(Debug, Default, Serialize)]
pub struct Side {
    /// trigger → level → alerts opened.
    pub by_trigger: BTreeMap<String, BTreeMap<String, usize>>,
    pub alerts: usize,
    pub escalated_to_human: usize,
    pub sla_breached: usize,
    /// channel class (`pm_critical`, `pm_high`, `agents`, `system`) → notifications.
    pub notifications: BTreeMap<String, usize>,
}

/// An alert one side opened and the other did not.
#[derive(Debug, Serialize)]
pub struct Lone {
    pub alert: String,
    pub trigger: String,
    pub level: String,
    pub subject: String,
    pub at: Time,
}

/// An alert both sides opened, opened at another time on the what-if side.
#[derive(Debug, Serialize)]
pub struct Moved {
    pub trigger: String,
    pub subject: String,
    pub actual: Time,
    pub whatif: Time,
    /// whatif − actual, seconds (positive: later).
    pub by_s: f64,
}

#[derive(Debug, Serialize)]
pub struct WhatIf {
    pub actual: Side,
    pub whatif: Side,
    pub only_actual: Vec<Lone>,
    pub only_whatif: Vec<Lone>,
    /// Alerts on both sides whose opening moved.
    pub detection: Vec<Moved>,
    /// Operator actions replayed on the what-if side, and dropped (no counterpart).
    pub actions_replayed: usize,
    pub actions_dropped: usize,
    /// The difference in sentences.
    pub summary: Vec<String>,
}

/// Prints the comparison; exit 0, 2 on error.
pub fn run(
    dir: &Path,
    config: &Path,
    plan: Option<&Path>,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let read =
        |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let other_config = parse_config(&read(config)?, config)?;
    let other_plan = match plan {
        Some(p) => Some(parse_plan(&read(p)?, p)?),
        None => load_plan(dir)?,
    };
    let w = compare(dir, other_config, other_plan.as_ref())?;
    super::emit(&w, json, out, write_text)
}

/// Replays the journal under both configurations and compares.
pub fn compare(dir: &Path, config: Config, plan: Option<&Plan>) -> Result<WhatIf> {
    let mut actual = Engine::new(load_config(dir)?, load_plan(dir)?.as_ref());
    let mut whatif = Engine::new(config, plan);
    let (mut a_side, mut w_side) = (Side::default(), Side::default());
    let (mut replayed, mut dropped) = (0, 0);
    let journal = dir.join("journal");
    let (opts, mut checkpoints) = (ParseOptions::default(), Checkpoints::default());
    let mut fx = Vec::new();
    // The journal holds only the ticks that did something; a console under the
    // other configuration would have ticked every second in between.
    let mut next_tick: Option<Time> = None;
    super::audit::scan(&journal, |_, rec| {
        let mut t = *next_tick.get_or_insert(rec.at);
        while t < rec.at {
            whatif.apply_into(Input::Tick, t, &mut fx);
            count(&mut w_side, &fx);
            fx.clear();
            t += chrono::TimeDelta::seconds(1);
        }
        next_tick = Some(t);
        let Some(input) = record_input(rec, &mut checkpoints, &opts) else {
            return;
        };
        // An action names the actual side's alerts: the what-if side's with
        // the same subject, open now, stand in; without one it is dropped.
        let other = match &input {
            Input::Operator(op) => {
                let mut op = op.clone();
                let mut found = true;
                for id in op.action.alerts_mut() {
                    let key = actual.alerts.get(*id).map(|a| a.key.clone());
                    match key.and_then(|k| whatif.alerts.open().find(|w| w.key == k).map(|w| w.id))
                    {
                        Some(w) => *id = w,
                        None => found = false,
                    }
                }
                if found {
                    replayed += 1;
                    Some(Input::Operator(op))
                } else {
                    dropped += 1;
                    None
                }
            }
            other => Some(other.clone()),
        };
        actual.apply_into(input, rec.at, &mut fx);
        count(&mut a_side, &fx);
        fx.clear();
        if let Some(input) = other {
            whatif.apply_into(input, rec.at, &mut fx);
            count(&mut w_side, &fx);
            fx.clear();
        }
    })?;
    tally(&mut a_side, &actual);
    tally(&mut w_side, &whatif);
    let (only_actual, only_whatif, detection) = pair(actual.alerts.all(), whatif.alerts.all());
    let mut w = WhatIf {
        actual: a_side,
        whatif: w_side,
        only_actual,
        only_whatif,
        detection,
        actions_replayed: replayed,
        actions_dropped: dropped,
        summary: Vec::new(),
    };
    w.summary = summary(&w);
    Ok(w)
}

fn count(side: &mut Side, fx: &[Effect]) {
    for f in fx {
        if let Effect::Notify(n) = f {
            *side
                .notifications
                .entry(n.class.as_str().into())
                .or_default() += 1;
        }
    }
}

fn tally(side: &mut Side, engine: &Engine) {
    for a in engine.alerts.all() {
        *side
            .by_trigger
            .entry(a.trigger.to_string())
            .or_default()
            .entry(a.level.to_string())
            .or_default() += 1;
        side.alerts += 1;
        side.escalated_to_human += usize::from(a.reached_human);
        side.sla_breached += usize::from(a.sla_breached);
    }
}

fn lone(a: &Alert) -> Lone {
    Lone {
        alert: a.label(),
        trigger: a.trigger.to_string(),
        level: a.level.to_string(),
        subject: a.subject(),
        at: a.first_seen,
    }
}

/// Pairs each actual alert with the what-if alert of the same subject whose
/// open span overlaps its own (or, for one still open, that opened later).
fn pair(actual: &[Alert], whatif: &[Alert]) -> (Vec<Lone>, Vec<Lone>, Vec<Moved>) {
    let end = |a: &Alert| a.resolved_at.unwrap_or(Time::MAX_UTC);
    let mut taken = vec![false; whatif.len()];
    let (mut only_actual, mut moved) = (Vec::new(), Vec::new());
    for a in actual {
        let m = whatif.iter().enumerate().find(|(i, w)| {
            !taken[*i] && w.key == a.key && w.first_seen <= end(a) && a.first_seen <= end(w)
        });
        match m {
            Some((i, w)) => {
                taken[i] = true;
                if w.first_seen != a.first_seen {
                    moved.push(Moved {
                        trigger: a.trigger.to_string(),
                        subject: a.subject(),
                        actual: a.first_seen,
                        whatif: w.first_seen,
                        by_s: (w.first_seen - a.first_seen).num_milliseconds() as f64 / 1000.0,
                    });
                }
            }
            None => only_actual.push(lone(a)),
        }
    }
    let only_whatif = whatif
        .iter()
        .zip(taken)
        .filter(|(_, t)| !t)
        .map(|(w, _)| lone(w))
        .collect();
    (only_actual, only_whatif, moved)
}

/// The keys of either side, in order.
fn either<'a, V>(
    a: &'a BTreeMap<String, V>,
    b: &'a BTreeMap<String, V>,
) -> std::collections::BTreeSet<&'a String> {
    a.keys().chain(b.keys()).collect()
}

fn summary(w: &WhatIf) -> Vec<String> {
    let mut out = Vec::new();
    let triggers = either(&w.actual.by_trigger, &w.whatif.by_trigger);
    for t in triggers {
        let total = |s: &Side| s.by_trigger.get(t).map_or(0, |l| l.values().sum::<usize>());
        let gone = w.only_actual.iter().filter(|l| &l.trigger == t).count();
        let new = w.only_whatif.iter().filter(|l| &l.trigger == t).count();
        if gone > 0 {
            out.push(format!(
                "{gone} of {} {t} alerts would not have fired",
                total(&w.actual)
            ));
        }
        let alerts = |n: usize| plural(n, &format!("{t} alert"), &format!("{t} alerts"));
        if new > 0 {
            out.push(format!("{} would have fired that did not", alerts(new)));
        }
        let later: Vec<f64> = w
            .detection
            .iter()
            .filter(|m| &m.trigger == t && m.by_s > 0.0)
            .map(|m| m.by_s)
            .collect();
        let earlier: Vec<f64> = w
            .detection
            .iter()
            .filter(|m| &m.trigger == t && m.by_s < 0.0)
            .map(|m| -m.by_s)
            .collect();
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            fmt_span(chrono::TimeDelta::milliseconds(
                (v[v.len() / 2] * 1000.0) as i64,
            ))
        };
        if !later.is_empty() {
            out.push(format!(
                "{} would have opened later (median {})",
                alerts(later.len()),
                median(&later)
            ));
        }
        if !earlier.is_empty() {
            out.push(format!(
                "{} would have opened earlier (median {})",
                alerts(earlier.len()),
                median(&earlier)
            ));
        }
    }
    let diff = |what: &str, a: usize, b: usize| (a != b).then(|| format!("{what}: {a} → {b}"));
    out.extend(diff(
        "escalations to a human",
        w.actual.escalated_to_human,
        w.whatif.escalated_to_human,
    ));
    out.extend(diff(
        "SLA breaches",
        w.actual.sla_breached,
        w.whatif.sla_breached,
    ));
    let channels = either(&w.actual.notifications, &w.whatif.notifications);
    for c in channels {
        let n = |s: &Side| s.notifications.get(c).copied().unwrap_or(0);
        out.extend(diff(
            &format!("notifications to {c}"),
            n(&w.actual),
            n(&w.whatif),
        ));
    }
    if out.is_empty() {
        out.push("no difference".into());
    }
    out
}

fn write_text(w: &WhatIf, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "What would have been different")?;
    for s in &w.summary {
        writeln!(out, "  {s}")?;
    }
    writeln!(out, "\nAlerts per trigger and level (actual → what-if)")?;
    let triggers = either(&w.actual.by_trigger, &w.whatif.by_trigger);
    for t in triggers {
        let show = |s: &Side| {
            s.by_trigger.get(t).map_or("0".into(), |l| {
                l.iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        };
        writeln!(
            out,
            "  {:<22} {} → {}",
            sanitize(t),
            show(&w.actual),
            show(&w.whatif)
        )?;
    }
    for (title, list) in [
        ("Only actual", &w.only_actual),
        ("Only what-if", &w.only_whatif),
    ] {
        writeln!(out, "\n{title}: {}", list.len())?;
        for l in list {
            writeln!(
                out,
                "{}",
                super::alert_row(l.at, &l.alert, &l.level, &l.trigger, &l.subject)
            )?;
        }
    }
    writeln!(
        out,
        "\nOperator actions: {} replayed, {} dropped (their alert did not exist on the what-if side)",
        w.actions_replayed, w.actions_dropped
    )?;
    Ok(())
}
