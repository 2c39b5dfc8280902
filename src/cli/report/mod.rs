//! `coord report [DIR] [--format md|json]`: the seed's "Stakeholder Communication"
//! as one document — epic and phase progress with ETA and target, components and
//! gates, open crises by level, SLA compliance, the metrics of SPEC 12 against the
//! seed's targets, and the timeline of alerts.
//!
//! It reads the directory exactly as `coord status` does (the same loader, the same
//! summary), so the two never disagree; this file only arranges what they give.

mod charts;
mod history;
mod html;
mod markdown;

use crate::cli::as_of::At;
use crate::engine::alerts::{Resolution, Status};
use crate::engine::metrics::{DurationStats, Metrics};
use crate::engine::phases::Outlook;
use crate::engine::summary::round_usd;
use crate::engine::summary::{AlertSummary, ComponentSummary, Summary};
use crate::engine::{Engine, Time};
use crate::model::{Escalation, Level};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Html,
}

/// The whole report; `--format json` prints it as it stands.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The evaluation time.
    pub at: Time,
    /// The same, by the name `status` gives it (SPEC 12).
    pub as_of: Time,
    /// The time of the journal's last record (none before a console ran).
    pub journal_last: Option<Time>,
    /// A `coord watch` holds the directory.
    pub console_running: bool,
    /// How many alerts, agents and tasks only timers past the journal's last
    /// record opened or changed (each alert is marked in `crises` and `timeline`).
    pub projected: Projected,
    pub epic: EpicReport,
    pub phases: Vec<PhaseReport>,
    pub components: Vec<ComponentSummary>,
    pub crises: Crises,
    pub sla: Sla,
    pub fleet: Fleet,
    /// Each agent that spent anything, most first.
    pub spend: Vec<AgentSpend>,
    /// The same object as `coord status --json`'s `metrics`.
    pub metrics: Metrics,
    /// Each SPEC 12 metric against the seed's target.
    pub scorecard: Vec<Score>,
    /// Every alert, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Projected {
    pub alerts: usize,
    pub agents: usize,
    pub tasks: usize,
}

impl Projected {
    pub fn any(&self) -> bool {
        self.alerts + self.agents + self.tasks > 0
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct EpicReport {
    pub name: Option<String>,
    /// Σ weight·progress / Σ weight over every component of every phase, 0–100.
    pub completion: f64,
    pub phases_total: usize,
    pub phases_complete: usize,
    pub current_phase: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhaseReport {
    pub id: String,
    pub name: String,
    pub current: bool,
    pub complete: bool,
    pub completed_at: Option<Time>,
    pub completion: f64,
    /// When the completion trend reaches the threshold (the completion time once
    /// complete); null without a trend.
    pub eta: Option<Time>,
    pub target: Option<Time>,
    pub outlook: Outlook,
    pub criteria_met: usize,
    pub criteria_total: usize,
    pub components: Vec<String>,
    /// Spend recorded against the phase, and its budget if the plan sets one.
    pub cost_usd: f64,
    pub tokens: u64,
    pub budget_usd: Option<f64>,
}

/// One agent's spend, for the report's spend table.
#[derive(Clone, Debug, Serialize)]
pub struct AgentSpend {
    pub agent: String,
    pub cost_usd: f64,
    pub tokens: u64,
    pub budget_usd: Option<f64>,
}

/// Counts per level, in the seed's order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PerLevel<T> {
    pub critical: T,
    pub high: T,
    pub medium: T,
    pub low: T,
}

impl<T> PerLevel<T> {
    pub fn get_mut(&mut self, level: Level) -> &mut T {
        match level {
            Level::Critical => &mut self.critical,
            Level::High => &mut self.high,
            Level::Medium => &mut self.medium,
            Level::Low => &mut self.low,
        }
    }

    pub fn get(&self, level: Level) -> &T {
        match level {
            Level::Critical => &self.critical,
            Level::High => &self.high,
            Level::Medium => &self.medium,
            Level::Low => &self.low,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Crises {
    pub open: usize,
    pub by_level: PerLevel<usize>,
    /// Open alerts past their response deadline without a response.
    pub sla_breached: usize,
    /// Open alerts that reached a human.
    pub escalated_to_human: usize,
    /// A system failure is open.
    pub degraded: bool,
    /// The open alerts, worst level first, then oldest.
    pub alerts: Vec<AlertSummary>,
}

/// Response deadlines kept: an alert met its SLA when it was answered (ack or
/// automated action) or resolved before its deadline; it is pending while open
/// with the deadline ahead.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SlaCounts {
    pub alerts: usize,
    pub met: usize,
    pub breached: usize,
    pub pending: usize,
    /// met / (met + breached); null when nothing is decided yet.
    pub compliance: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Sla {
    #[serde(flatten)]
    pub all: SlaCounts,
    pub by_level: PerLevel<SlaCounts>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Fleet {
    pub agents: usize,
    pub healthy: usize,
    pub late: usize,
    pub timed_out: usize,
    pub offline: usize,
    pub standby: usize,
    pub waiting: usize,
    pub idle: usize,
    /// The whole fleet's spend (every spend lands in a phase).
    pub cost_usd: f64,
    pub tokens: u64,
    pub tasks_total: usize,
    pub tasks_open: usize,
    pub auto_reassignments: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreStatus {
    Met,
    Missed,
    NoData,
}

/// One metric against the seed's "Performance Metrics and Monitoring" target.
#[derive(Clone, Debug, Serialize)]
pub struct Score {
    /// The key in `metrics`.
    pub metric: &'static str,
    /// The seed's name.
    pub name: &'static str,
    /// The figure compared: `p99_s`, `mean_s`, `rate` or `parse_errors`.
    pub statistic: &'static str,
    pub value: Option<f64>,
    /// The seed's target, as words.
    pub target: &'static str,
    pub status: ScoreStatus,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimelineEntry {
    pub alert: String,
    pub opened: Time,
    pub level: Level,
    pub trigger: String,
    pub agent: Option<String>,
    pub component: Option<String>,
    pub task: Option<String>,
    pub gate: Option<String>,
    pub message: Option<String>,
    pub count: u32,
    pub status: Status,
    pub escalation: Escalation,
    pub reached_human: bool,
    pub responded_at: Option<Time>,
    /// First response − opened, in seconds.
    pub response_s: Option<f64>,
    pub resolved_at: Option<Time>,
    /// Resolved − opened, in seconds.
    pub resolution_s: Option<f64>,
    pub resolution: Option<Resolution>,
    pub sla_breached: bool,
    pub reopened_of: Option<String>,
    /// Opened or changed only by timers past the journal's last record.
    pub projected: bool,
}

/// Runs the command: reads `dir` as `coord status` does, as of `at`, and prints.
pub fn run(dir: &Path, format: Format, legacy: bool, at: At, out: &mut dyn Write) -> Result<()> {
    let loaded = crate::cli::as_of::load(dir, at, legacy, chrono::Utc::now())?;
    let report = build(&loaded.engine, loaded.summary());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        Format::Markdown => {
            let h = history::of(dir, &loaded.engine, loaded.as_of)?;
            markdown::write(&report, &h, out)?
        }
        Format::Html => {
            let h = history::of(dir, &loaded.engine, loaded.as_of)?;
            html::write(&report, &h, out)?
        }
    }
    Ok(())
}

fn secs(from: Time, to: Time) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The report of an engine's state, from its summary (as of `summary.at`).
pub fn build(engine: &Engine, summary: Summary) -> Report {
    let at = summary.as_of;
    let threshold = engine.timing.completion_threshold;
    let phases: Vec<PhaseReport> = engine
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| PhaseReport {
            id: p.id.clone(),
            name: p.name.clone(),
            current: i == engine.current,
            complete: p.complete,
            completed_at: p.completed_at,
            completion: round2(p.completion()),
            eta: if p.complete {
                p.completed_at
            } else {
                p.eta(threshold, at)
            },
            target: p.target,
            outlook: engine.outlook(p, at),
            criteria_met: p.criteria.iter().filter(|c| c.met).count(),
            criteria_total: p.criteria.len(),
            components: p.components.clone(),
            cost_usd: round_usd(p.spend.cost_usd),
            tokens: p.spend.tokens,
            budget_usd: p.spend.budget_usd,
        })
        .collect();
    let mut spend: Vec<AgentSpend> = summary
        .agents
        .iter()
        .filter(|a| a.cost_usd > 0.0 || a.tokens > 0)
        .map(|a| AgentSpend {
            agent: a.id.clone(),
            cost_usd: a.cost_usd,
            tokens: a.tokens,
            budget_usd: a.budget_usd,
        })
        .collect();
    // Most spent first.
    spend.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(a.agent.cmp(&b.agent))
    });
    let (weighted, weights) = summary.components.iter().fold((0.0, 0.0), |(s, w), c| {
        (s + c.weight * c.progress, w + c.weight)
    });
    let epic = EpicReport {
        name: summary.epic.clone(),
        completion: if weights > 0.0 {
            round2(weighted / weights)
        } else {
            0.0
        },
        phases_total: phases.len(),
        phases_complete: phases.iter().filter(|p| p.complete).count(),
        current_phase: summary.phase.id.clone(),
    };
    let fleet = fleet(&summary, &phases);
    Report {
        at,
        as_of: at,
        journal_last: summary.journal_last,
        console_running: summary.console_running,
        projected: Projected {
            alerts: summary.alerts.iter().filter(|a| a.projected).count(),
            agents: summary.agents.iter().filter(|a| a.projected).count(),
            tasks: summary.tasks.iter().filter(|t| t.projected).count(),
        },
        epic,
        phases,
        crises: crises(&summary),
        sla: sla(&summary),
        fleet,
        spend,
        scorecard: scorecard(&summary.metrics),
        timeline: timeline(engine, &summary),
        metrics: summary.metrics.clone(),
        components: summary.components,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn crises(s: &Summary) -> Crises {
    let mut open: Vec<AlertSummary> = s
        .alerts
        .iter()
        .filter(|a| a.status != Status::Resolved)
        .cloned()
        .collect();
    // Worst first; within a level the oldest first.
    open.sort_by(|a, b| b.level.cmp(&a.level).then(a.opened.cmp(&b.opened)));
    let mut by_level = PerLevel::default();
    for a in &open {
        *by_level.get_mut(a.level) += 1;
    }
    Crises {
        open: open.len(),
        by_level,
        sla_breached: open.iter().filter(|a| a.sla_breached).count(),
        escalated_to_human: open
            .iter()
            .filter(|a| a.escalation == Escalation::Human)
            .count(),
        degraded: s.degraded,
        alerts: open,
    }
}

fn sla(s: &Summary) -> Sla {
    let mut all = SlaCounts::default();
    let mut by_level: PerLevel<SlaCounts> = PerLevel::default();
    for a in &s.alerts {
        let open = a.status != Status::Resolved;
        for c in [&mut all, by_level.get_mut(a.level)] {
            c.alerts += 1;
            if a.sla_breached {
                c.breached += 1;
            } else if open && a.response_due.is_some() {
                c.pending += 1;
            } else {
                c.met += 1;
            }
        }
    }
    for c in [
        &mut all,
        &mut by_level.critical,
        &mut by_level.high,
        &mut by_level.medium,
        &mut by_level.low,
    ] {
        c.compliance = ratio(c.met, c.met + c.breached);
    }
    Sla { all, by_level }
}

fn fleet(s: &Summary, phases: &[PhaseReport]) -> Fleet {
    use crate::engine::agents::Liveness;
    let live = |l: Liveness| s.agents.iter().filter(|a| a.liveness == l).count();
    Fleet {
        agents: s.agents.len(),
        healthy: live(Liveness::Healthy),
        late: live(Liveness::Late),
        timed_out: live(Liveness::TimedOut),
        offline: live(Liveness::Offline),
        standby: live(Liveness::Standby),
        waiting: live(Liveness::Waiting),
        idle: live(Liveness::Idle),
        cost_usd: round_usd(phases.iter().map(|p| p.cost_usd).sum()),
        tokens: phases.iter().map(|p| p.tokens).sum(),
        tasks_total: s.tasks.len(),
        tasks_open: s.tasks.iter().filter(|t| t.open).count(),
        auto_reassignments: s.tasks.iter().map(|t| t.auto_reassignments as u64).sum(),
    }
}

/// The seed's targets ("Performance Metrics and Monitoring"), each judged on the
/// figure named in `statistic`.
fn scorecard(m: &Metrics) -> Vec<Score> {
    type Judge = fn(f64) -> bool;
    let below = |v: Option<f64>, judge: Judge| match v {
        None => ScoreStatus::NoData,
        Some(v) if judge(v) => ScoreStatus::Met,
        Some(_) => ScoreStatus::Missed,
    };
    let score = |metric, name, statistic, value: Option<f64>, target, judge: Judge| Score {
        metric,
        name,
        statistic,
        value,
        target,
        status: below(value, judge),
    };
    let p99 = |d: &DurationStats| d.p99_s;
    let mean = |d: &DurationStats| d.mean_s;
    let integrity = &m.data_integrity;
    vec![
        score(
            "detection_time",
            "Event Detection Time",
            "p99_s",
            p99(&m.detection_time),
            "< 1 s",
            |v| v < 1.0,
        ),
        score(
            "response_initiation_time",
            "Response Initiation Time",
            "p99_s",
            p99(&m.response_initiation_time),
            "< 30 s",
            |v| v < 30.0,
        ),
        score(
            "resolution_time",
            "Resolution Time",
            "mean_s",
            mean(&m.resolution_time.all),
            "< 30 min",
            |v| v < 1800.0,
        ),
        score(
            "automated_resolution_rate",
            "Automated Resolution Rate",
            "rate",
            m.automated_resolution_rate,
            "> 80 %",
            |v| v > 0.8,
        ),
        score(
            "escalation_accuracy",
            "Escalation Accuracy",
            "rate",
            m.escalation_accuracy,
            "> 95 %",
            |v| v > 0.95,
        ),
        score(
            "false_alert_rate",
            "False Alert Rate",
            "rate",
            m.false_alert_rate,
            "< 5 %",
            |v| v < 0.05,
        ),
        score(
            "coordination_restoration",
            "Coordination Restoration",
            "mean_s",
            mean(&m.coordination_restoration),
            "< 5 min",
            |v| v < 300.0,
        ),
        score(
            "data_integrity",
            "Data Integrity",
            "parse_errors",
            (integrity.events + integrity.parse_errors > 0)
                .then_some(integrity.parse_errors as f64),
            "100 % event data preserved (0 parse errors)",
            |v| v == 0.0,
        ),
    ]
}

fn timeline(engine: &Engine, s: &Summary) -> Vec<TimelineEntry> {
    // The summary lists the engine's alerts in the engine's order; the response
    // time and the human flag are read beside it.
    let by_label: BTreeMap<String, (Option<Time>, bool)> = engine
        .alerts
        .all()
        .iter()
        .map(|a| (a.label(), (a.responded_at, a.reached_human)))
        .collect();
    let mut out: Vec<TimelineEntry> = s
        .alerts
        .iter()
        .map(|a| {
            let (responded_at, reached_human) = by_label.get(&a.id).copied().unwrap_or_default();
            TimelineEntry {
                alert: a.id.clone(),
                opened: a.opened,
                level: a.level,
                trigger: a.trigger.as_str().to_string(),
                agent: a.agent.clone(),
                component: a.component.clone(),
                task: a.task.clone(),
                gate: a.gate.clone(),
                message: a.message.clone(),
                count: a.count,
                status: a.status,
                escalation: a.escalation,
                reached_human,
                responded_at,
                response_s: responded_at.map(|t| secs(a.opened, t)),
                resolved_at: a.resolved_at,
                resolution_s: a.resolved_at.map(|t| secs(a.opened, t)),
                resolution: a.resolution,
                sla_breached: a.sla_breached,
                reopened_of: a.reopened_of.clone(),
                projected: a.projected,
            }
        })
        .collect();
    out.sort_by_key(|a| a.opened);
    out
}
