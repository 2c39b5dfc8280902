//! The engine's state as one serialisable value: `coord status --json` (a public
//! contract, documented in the README) and the stakeholder report read it, so
//! every view tells the same story.

use super::agents::{Liveness, Task};
use super::alerts::{Note, Resolution, Status, Step};
use super::metrics::{self, Metrics};
use super::phases::{Criterion, GateStatus, Outlook};
use super::{Engine, Time};
use crate::model::{Escalation, EventType, Level};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub at: Time,
    /// The time this is true at: `at` (SPEC 12).
    pub as_of: Time,
    /// The time of the journal's last record: what came after it (from the
    /// event files, or timers) no console has recorded yet.
    pub journal_last: Option<Time>,
    /// A `coord watch` holds the directory: it records events and fires timers.
    pub console_running: bool,
    pub epic: Option<String>,
    pub phase: PhaseSummary,
    pub phases_complete: Vec<String>,
    pub degraded: bool,
    pub agents: Vec<AgentSummary>,
    pub tasks: Vec<TaskSummary>,
    pub components: Vec<ComponentSummary>,
    pub alerts: Vec<AlertSummary>,
    pub counts: Counts,
    pub metrics: Metrics,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhaseSummary {
    pub id: String,
    pub name: String,
    pub completion: f64,
    pub complete: bool,
    pub eta: Option<Time>,
    pub target: Option<Time>,
    pub outlook: Outlook,
    pub criteria: Vec<Criterion>,
    pub next: Option<String>,
    /// Spend recorded against the phase (SPEC 6), in dollars and tokens.
    pub cost_usd: f64,
    pub tokens: u64,
    pub budget_usd: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgentSummary {
    pub id: String,
    pub liveness: Liveness,
    pub last_seen: Option<Time>,
    pub open_tasks: Vec<String>,
    pub current_task: Option<String>,
    pub backup: bool,
    /// Its events stamped ahead of the time coord read them (SPEC 5.3).
    pub skewed: u64,
    /// Its liveness changed only by timers past the journal's last record.
    pub projected: bool,
    /// While it waits on a person: since when, and what it said.
    pub waiting_since: Option<Time>,
    pub waiting_for: Option<String>,
    pub cost_usd: f64,
    pub tokens: u64,
    pub budget_usd: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskSummary {
    pub id: String,
    pub agent: Option<String>,
    pub component: Option<String>,
    pub open: bool,
    pub auto_reassignments: u32,
    /// Reassigned only by timers past the journal's last record.
    pub projected: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ComponentSummary {
    pub id: String,
    pub phase: Option<String>,
    pub weight: f64,
    pub progress: f64,
    pub blocked: bool,
    pub gates: BTreeMap<String, GateStatus>,
    pub cost_usd: f64,
    pub tokens: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertSummary {
    pub id: String,
    pub trigger: EventType,
    pub level: Level,
    pub status: Status,
    pub escalation: Escalation,
    pub agent: Option<String>,
    pub component: Option<String>,
    pub task: Option<String>,
    pub gate: Option<String>,
    pub message: Option<String>,
    pub count: u32,
    pub opened: Time,
    pub last_seen: Time,
    pub response_due: Option<Time>,
    pub escalate_at: Option<Time>,
    pub sla_breached: bool,
    pub acknowledged_by: Option<String>,
    pub assignee: Option<String>,
    pub snoozed_until: Option<Time>,
    pub flapping: bool,
    pub blocking: bool,
    pub resolution: Option<Resolution>,
    pub resolved_at: Option<Time>,
    pub reopened_of: Option<String>,
    pub actions: Vec<String>,
    pub notes: Vec<Note>,
    /// Who did what, oldest first: every transition (by an operator's name,
    /// or `coord`, with the `event` that caused it), each notification sent
    /// or held; `history_dropped` older steps were not kept.
    pub history: Vec<Step>,
    #[serde(skip_serializing_if = "is_zero")]
    pub history_dropped: u32,
    /// Opened or changed by timers past the journal's last record: no console
    /// has recorded it yet (one that runs gives it this id).
    pub projected: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Serialize)]
pub struct Counts {
    pub events: u64,
    pub parse_errors: u64,
    pub duplicates: u64,
    pub derived: u64,
    pub alerts_open: usize,
    pub alerts_total: usize,
    /// Events stamped ahead of the time coord read them, counted as read then.
    pub skewed: u64,
}

impl Summary {
    /// `coord status`'s exit rule: unhealthy when a Critical alert is open or an open
    /// alert has breached its SLA.
    pub fn healthy(&self) -> bool {
        !self
            .alerts
            .iter()
            .any(|a| a.status != Status::Resolved && (a.level == Level::Critical || a.sla_breached))
    }
}

impl Engine {
    pub fn summary(&self, at: Time) -> Summary {
        let threshold = self.timing.completion_threshold;
        let phase = self.current_phase().expect("there is always a phase");
        let phase_index =
            |i: Option<usize>| i.and_then(|i| self.phases.get(i)).map(|p| p.id.clone());
        let mut agents: Vec<AgentSummary> = self
            .agents
            .values()
            .map(|a| AgentSummary {
                id: a.id.clone(),
                liveness: a.liveness,
                last_seen: a.last_seen,
                open_tasks: a.open_tasks.iter().cloned().collect(),
                current_task: a.current_task.clone(),
                backup: a.backup,
                skewed: a.skewed,
                projected: false,
                waiting_since: a.waiting_since.filter(|_| a.liveness == Liveness::Waiting),
                waiting_for: a.waiting_for.clone(),
                cost_usd: round_usd(a.spend.cost_usd),
                tokens: a.spend.tokens,
                budget_usd: a.spend.budget_usd,
            })
            .collect();
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        let task = |id: String, t: Task, open: bool| TaskSummary {
            id,
            agent: t.agent,
            component: t.component,
            open,
            auto_reassignments: t.auto_reassignments,
            projected: false,
        };
        let open = self.tasks.iter().map(|(id, t)| (id.clone(), t.clone()));
        let mut tasks: Vec<TaskSummary> = open
            .map(|(id, t)| task(id, t, true))
            .chain(self.closed.iter().map(|(id, t)| task(id, t, false)))
            .collect();
        tasks.sort_by(|a, b| a.id.cmp(&b.id));
        // Components in plan order, then the unplanned ones by name.
        let mut order: Vec<&str> = self
            .phases
            .iter()
            .flat_map(|p| p.components.iter().map(String::as_str))
            .collect();
        let mut rest: Vec<&str> = self
            .components
            .values()
            .filter(|c| c.phase.is_none())
            .map(|c| c.id.as_str())
            .collect();
        rest.sort();
        order.extend(rest);
        let components = order
            .into_iter()
            .filter_map(|id| self.components.get(id))
            .map(|c| ComponentSummary {
                id: c.id.clone(),
                phase: phase_index(c.phase),
                weight: c.weight,
                progress: c.progress,
                blocked: c.blocked(),
                gates: c.gates.iter().map(|(k, g)| (k.clone(), g.status)).collect(),
                cost_usd: round_usd(c.spend.cost_usd),
                tokens: c.spend.tokens,
            })
            .collect();
        let alerts = self
            .alerts
            .all()
            .iter()
            .map(|a| AlertSummary {
                id: a.label(),
                trigger: a.trigger.clone(),
                level: a.level,
                status: a.status,
                escalation: a.escalation,
                agent: a.agent.clone(),
                component: a.component.clone(),
                task: a.task.clone(),
                gate: a.gate.clone(),
                message: a.message.clone(),
                count: a.count,
                opened: a.first_seen,
                last_seen: a.last_seen,
                response_due: a.response_due,
                escalate_at: a.escalate_at,
                sla_breached: a.sla_breached,
                acknowledged_by: a.ack_owner.clone(),
                assignee: a.assignee.clone(),
                snoozed_until: a.snoozed_until,
                flapping: a.flapping,
                blocking: a.blocking,
                resolution: a.resolution,
                resolved_at: a.resolved_at,
                reopened_of: a.reopened_of.map(|id| format!("A-{id}")),
                actions: a.actions.clone(),
                notes: a.notes.clone(),
                history: a.history.clone(),
                history_dropped: a.history_dropped,
                projected: false,
            })
            .collect();
        Summary {
            at,
            as_of: at,
            journal_last: None,
            console_running: false,
            epic: self.epic.clone(),
            phase: PhaseSummary {
                id: phase.id.clone(),
                name: phase.name.clone(),
                completion: round2(phase.completion()),
                complete: phase.complete,
                eta: if phase.complete {
                    phase.completed_at
                } else {
                    phase.eta(threshold, at)
                },
                target: phase.target,
                outlook: self.outlook(phase, at),
                criteria: phase.criteria.clone(),
                next: self.phases.get(self.current + 1).map(|p| p.id.clone()),
                cost_usd: round_usd(phase.spend.cost_usd),
                tokens: phase.spend.tokens,
                budget_usd: phase.spend.budget_usd,
            },
            phases_complete: self
                .phases
                .iter()
                .filter(|p| p.complete)
                .map(|p| p.id.clone())
                .collect(),
            degraded: self.degraded,
            agents,
            tasks,
            components,
            alerts,
            counts: Counts {
                events: self.counters.events,
                parse_errors: self.counters.parse_errors,
                duplicates: self.counters.duplicates,
                derived: self.counters.derived,
                alerts_open: self.alerts.open_count(),
                alerts_total: self.alerts.all().len(),
                skewed: self.counters.skewed,
            },
            metrics: metrics::compute(&self.counters, self.alerts.all()),
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Dollars as summed, without the float's tail (0.1 + 0.2 reads 0.3).
pub fn round_usd(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
