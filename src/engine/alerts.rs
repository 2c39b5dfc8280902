//! Alerts and their lifecycle (SPEC 5.2, rules 1–12).
//!
//! Status is one of Triggered → Acknowledged → Resolved; everything else is an
//! attribute. Each timer is a deadline field, rewritten on every transition, so a
//! stale timer cannot fire; `generation` counts the transitions of an alert and is
//! carried by every transition record.

use super::flapping::FlapHistory;
use super::matrix::Trigger;
use super::{Action, Actor, AutoAction, Effect, Engine, NotifyClass, OperatorAction, Time};
use crate::model::event::Name;
use crate::model::{Escalation, Event, EventType, Level};
use crate::text::{fmt_span, plural};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triggered,
    Acknowledged,
    Resolved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Fixed,
    Auto,
    FalseAlarm,
    Superseded,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub author: String,
    pub at: Time,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: u64,
    pub trigger: EventType,
    pub key: String,
    pub agent: Option<String>,
    pub component: Option<String>,
    pub gate: Option<String>,
    pub task: Option<String>,
    pub message: Option<String>,
    pub level: Level,
    pub status: Status,
    pub escalation: Escalation,
    pub assignee: Option<String>,
    pub ack_owner: Option<String>,
    pub count: u32,
    pub first_seen: Time,
    pub last_seen: Time,
    /// Awaiting a first response (ack or automated action) until then.
    pub response_due: Option<Time>,
    pub responded_at: Option<Time>,
    pub sla_breached: bool,
    /// Next escalation for want of an acknowledgement.
    pub escalate_at: Option<Time>,
    pub ack_expires_at: Option<Time>,
    /// The matrix's time-based human escalation ("unresolved after 6 h").
    pub human_at: Option<Time>,
    pub snoozed_until: Option<Time>,
    pub flapping: bool,
    /// Notifications are being held (snoozed or flapping).
    pub suppressed: bool,
    /// The alert holds the current phase back (a failed gate or a blocker on it).
    pub blocking: bool,
    pub resolution: Option<Resolution>,
    pub resolved_at: Option<Time>,
    pub reopened_of: Option<u64>,
    /// Automatic actions taken, in words, for the console.
    pub actions: Vec<String>,
    pub notes: Vec<Note>,
    pub reached_human: bool,
    /// An operator acted on it (for the automated resolution rate).
    pub operator_touched: bool,
    pub generation: u32,
    /// What happened to it, oldest first, for the incident page: every
    /// transition, and every notification sent or held. Repeats fold into one
    /// step; past `HISTORY_KEPT` the oldest after the opening go (counted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Step>,
    #[serde(default)]
    pub history_dropped: u32,
}

/// One step of an alert's history: when, who, what, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub at: Time,
    /// An operator's name, or `coord` for what coord did itself.
    pub by: String,
    /// A transition (`opened`, `acknowledged`, …), `notified` or `held`.
    pub what: String,
    pub why: String,
    /// The event that caused it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

/// Steps an alert keeps (a flapping alert's would grow without end).
pub const HISTORY_KEPT: usize = 64;

impl Alert {
    fn step(&mut self, at: Time, what: &str, by: &Actor, why: String) {
        let (by, event) = match by {
            Actor::Operator(name) => (name.clone(), None),
            Actor::Event(id) => ("coord".to_string(), Some(id.clone())),
            Actor::Engine => ("coord".to_string(), None),
        };
        // "seen again (count 7)" replaces "seen again (count 6)".
        if what == "repeated" {
            if let Some(last) = self.history.last_mut().filter(|s| s.what == what) {
                (last.at, last.by, last.why, last.event) = (at, by, why, event);
                return;
            }
        }
        if self.history.len() >= HISTORY_KEPT {
            self.history.remove(1);
            self.history_dropped += 1;
        }
        self.history.push(Step {
            at,
            by,
            what: what.to_string(),
            why,
            event,
        });
    }
}

impl Alert {
    pub fn is_open(&self) -> bool {
        self.status != Status::Resolved
    }

    pub fn label(&self) -> String {
        format!("A-{}", self.id)
    }

    /// What it is about, in words: `be-1 auth-api unit_tests T-3`.
    pub fn subject(&self) -> String {
        [&self.agent, &self.component, &self.gate, &self.task]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An alert as a notification tells it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertNotice {
    pub alert: String,
    pub trigger: EventType,
    pub level: Level,
    pub escalation: Escalation,
    pub status: Status,
    pub agent: Option<String>,
    pub component: Option<String>,
    pub gate: Option<String>,
    pub task: Option<String>,
    pub count: u32,
    pub message: Option<String>,
    pub assignee: Option<String>,
}

/// One alert transition: a journal record (SPEC 5.2, last paragraph).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub alert: u64,
    pub at: Time,
    pub what: &'static str,
    pub by: Actor,
    pub reason: String,
    pub status: Status,
    pub level: Level,
    pub escalation: Escalation,
    pub generation: u32,
}

/// Per dedup key: the open alert, the last one, and the flap history.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeyState {
    pub open: Option<u64>,
    pub last: Option<u64>,
    pub flap: FlapHistory,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AlertBook {
    /// Every alert, by id - 1.
    all: Vec<Alert>,
    open: BTreeSet<u64>,
    pub keys: super::Map<String, KeyState>,
}

impl AlertBook {
    pub fn get(&self, id: u64) -> Option<&Alert> {
        id.checked_sub(1).and_then(|i| self.all.get(i as usize))
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Alert> {
        id.checked_sub(1).and_then(|i| self.all.get_mut(i as usize))
    }

    pub fn all(&self) -> &[Alert] {
        &self.all
    }

    /// Open alerts, oldest id first.
    pub fn open(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.open.iter().filter_map(|id| self.get(*id))
    }

    pub fn open_ids(&self) -> Vec<u64> {
        self.open.iter().copied().collect()
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }
}

/// The dedup key of SPEC 5.2 rule 1: type + agent + component + gate + task.
pub fn dedup_key(e: &Event) -> String {
    key_of(e.kind.as_str(), e)
}

/// An event's name, as an alert keeps it.
fn own(s: &Option<Name>) -> Option<String> {
    s.as_deref().map(String::from)
}

/// The key `e`'s subject would have for an alert of type `kind`.
fn key_of(kind: &str, e: &Event) -> String {
    fn f(s: &Option<Name>) -> &str {
        s.as_deref().unwrap_or("")
    }
    let parts = [kind, f(&e.agent), f(&e.component), f(&e.gate), f(&e.task)];
    parts.join("\u{1f}")
}

impl Engine {
    /// Rules 1–3: a trigger event opens, repeats or reopens the alert of its key.
    pub(super) fn trigger(
        &mut self,
        e: &Event,
        level: Level,
        in_current: bool,
        fx: &mut Vec<Effect>,
    ) {
        let at = e.ts;
        // When coord read it: the operator's deadlines run from here.
        let read = self.read_time(at);
        let key = dedup_key(e);
        let by = Actor::Event(e.id.to_string());
        let ks = self.alerts.keys.entry(key.clone()).or_default();
        let flap_change = ks.flap.record(true);
        let flapping = ks.flap.flapping;
        if let Some(id) = ks.open {
            let a = self.alerts.get_mut(id).expect("open alert exists");
            a.count += 1;
            a.last_seen = a.last_seen.max(at);
            a.flapping = flapping;
            if level > a.level {
                // Rule 2: a higher level raises the alert and clears an acknowledgement.
                a.level = level;
                a.status = Status::Triggered;
                a.ack_owner = None;
                a.ack_expires_at = None;
                // A raise is news: a snooze taken at the lower level ends.
                a.snoozed_until = None;
                a.suppressed = a.flapping;
                if a.escalation < Escalation::Human {
                    a.escalate_at = Some(at + self.timing.escalation_timeout);
                }
                self.record(
                    id,
                    at,
                    "level_raised",
                    by,
                    format!("level raised to {level}"),
                    fx,
                );
                self.notify_alert(id, "alert_level_raised", at, fx);
            } else {
                self.record(
                    id,
                    at,
                    "repeated",
                    by,
                    format!(
                        "seen again (count {})",
                        self.alerts.get(id).map_or(0, |a| a.count)
                    ),
                    fx,
                );
            }
            self.flap_changed(id, flap_change, at, fx);
            return;
        }
        let trigger = Trigger::of(&e.kind);
        let (window, mut open_at, human_after) = match trigger {
            Some(t) => {
                let row = self.matrix.row(t);
                (row.respond_within, row.open_at, row.human_after)
            }
            None => (self.config.response_window(level), Escalation::Pm, None),
        };
        if level == Level::Low && open_at != Escalation::Human {
            open_at = Escalation::Automated; // informational
        }
        let id = self.alerts.all.len() as u64 + 1;
        let reopened_of = ks.last;
        ks.open = Some(id);
        let alert = Alert {
            id,
            trigger: e.kind.clone(),
            key,
            agent: own(&e.agent),
            component: own(&e.component),
            gate: own(&e.gate),
            task: own(&e.task),
            message: own(&e.message),
            level,
            status: Status::Triggered,
            escalation: open_at,
            assignee: None,
            ack_owner: None,
            count: 1,
            first_seen: at,
            last_seen: at,
            // SPEC 5.3: deadlines run from when coord saw it, never from a `ts`.
            response_due: Some(read + window),
            responded_at: None,
            sla_breached: false,
            // The escalation timer, like a condition's age, runs from the
            // event's (clamped) `ts`: a backlog's old alerts escalate at once.
            escalate_at: (open_at < Escalation::Human).then(|| at + self.timing.escalation_timeout),
            ack_expires_at: None,
            human_at: human_after.map(|d| at + d),
            snoozed_until: None,
            flapping,
            suppressed: flapping,
            blocking: in_current
                && matches!(
                    trigger,
                    Some(Trigger::QualityGateFailure | Trigger::BlockerDetected)
                ),
            resolution: None,
            resolved_at: None,
            reopened_of,
            actions: Vec::new(),
            notes: Vec::new(),
            reached_human: open_at == Escalation::Human,
            operator_touched: false,
            generation: 0,
            history: Vec::new(),
            history_dropped: 0,
        };
        self.alerts.all.push(alert);
        self.alerts.open.insert(id);
        if let (EventType::AgentTimeout, Some(agent)) = (&e.kind, &e.agent) {
            self.count_timeout(agent, true);
        }
        let reason = match reopened_of {
            Some(old) => format!("reopened (was A-{old})"),
            None => format!("{} opened at {level}, escalation {open_at}", e.kind),
        };
        self.record(id, at, "opened", by, reason, fx);
        self.notify_alert(id, "alert_opened", at, fx);
        if let Some(t) = trigger {
            self.automatic_actions(id, t, e, fx);
        }
        self.flap_changed(id, flap_change, at, fx);
    }

    /// The matrix's automatic actions for a newly opened alert.
    fn automatic_actions(&mut self, id: u64, trigger: Trigger, e: &Event, fx: &mut Vec<Effect>) {
        let at = e.ts;
        let mut actions: Vec<String> = Vec::new();
        match trigger {
            Trigger::AgentTimeout => {
                if let Some(agent) = &e.agent {
                    self.agent_timed_out(agent, id, at, &mut actions, fx);
                }
            }
            Trigger::QualityGateFailure => {
                if let Some(c) = &e.component {
                    actions.push(format!("blocked {c}"));
                    actions.push("quality review opened".into());
                    fx.push(Effect::Action(AutoAction::QualityReviewOpened {
                        component: c.to_string(),
                        gate: own(&e.gate),
                    }));
                }
            }
            Trigger::BlockerDetected => {
                let (components, open_tasks, idle) = self.alternative_paths(e.component.as_deref());
                actions.push(format!(
                    "alternative paths: {}, {}, {}",
                    plural(
                        components.len(),
                        "unblocked component",
                        "unblocked components"
                    ),
                    plural(open_tasks, "open task", "open tasks"),
                    plural(idle.len(), "idle agent", "idle agents")
                ));
                fx.push(Effect::Action(AutoAction::AlternativePaths {
                    alert: id,
                    unblocked_components: components,
                    open_tasks,
                    idle_agents: idle,
                }));
            }
            Trigger::SystemFailure => {
                if !self.degraded {
                    self.degraded = true;
                    fx.push(Effect::Action(AutoAction::SystemDegraded {
                        degraded: true,
                    }));
                }
                actions.push("emergency protocol: system degraded, backup channel notified".into());
                self.notify(
                    fx,
                    NotifyClass::System,
                    "system_degraded",
                    at,
                    json!({"alert": id, "component": e.component, "message": e.message}),
                );
            }
            Trigger::CommunicationFailure => {
                actions.push("backup channels; resync requested".into());
                fx.push(Effect::Action(AutoAction::BackupChannels {
                    agent: own(&e.agent),
                }));
                fx.push(Effect::Action(AutoAction::ResyncRequested));
                self.notify(
                    fx,
                    NotifyClass::Agents,
                    "resync_requested",
                    at,
                    json!({"alert": id, "agent": e.agent, "switch_to_backup_channels": true}),
                );
            }
            // Told to a person; nothing coord could do for them.
            Trigger::TaskFailed | Trigger::AgentWaiting | Trigger::BudgetExceeded => {}
        }
        if let Some(a) = self.alerts.get_mut(id) {
            if !actions.is_empty() && a.responded_at.is_none() {
                a.responded_at = Some(at);
                a.response_due = None;
            }
            a.actions.extend(actions);
        }
    }

    /// Rule 10: a recovery event resolves the open alerts of its trigger that it
    /// names. A field the recovery leaves out matches anything.
    pub(super) fn recover(&mut self, e: &Event, trigger: Trigger, fx: &mut Vec<Effect>) {
        let kind = trigger.event_type();
        let same = |want: &Option<Name>, have: &Option<String>| {
            want.is_none() || want.as_deref() == have.as_deref()
        };
        let matches: Vec<u64> = self
            .alerts
            .open()
            .filter(|a| a.trigger == kind)
            .filter(|a| match trigger {
                Trigger::AgentTimeout => e.agent.is_some() && same(&e.agent, &a.agent),
                Trigger::QualityGateFailure => {
                    e.component.is_some()
                        && same(&e.component, &a.component)
                        && same(&e.gate, &a.gate)
                }
                Trigger::BlockerDetected => {
                    if e.component.is_none() && e.task.is_none() {
                        e.agent.is_some() && same(&e.agent, &a.agent)
                    } else {
                        same(&e.component, &a.component) && same(&e.task, &a.task)
                    }
                }
                Trigger::SystemFailure => same(&e.component, &a.component),
                Trigger::CommunicationFailure => {
                    same(&e.agent, &a.agent) && same(&e.component, &a.component)
                }
                Trigger::TaskFailed => e.task.is_some() && same(&e.task, &a.task),
                Trigger::AgentWaiting => e.agent.is_some() && same(&e.agent, &a.agent),
                Trigger::BudgetExceeded => false,
            })
            .map(|a| a.id)
            .collect();
        if matches.is_empty() {
            // A recovery with nothing to resolve is a "closed" sample for a key that
            // has a history, so a subject that stays well ages its flaps out.
            if self.alerts.keys.is_empty() {
                return;
            }
            if let Some(ks) = self.alerts.keys.get_mut(&key_of(kind.as_str(), e)) {
                let change = ks.flap.record(false);
                if let Some(last) = ks.last {
                    self.flap_changed(last, change, e.ts, fx);
                }
            }
            return;
        }
        for id in matches {
            let by = Actor::Event(e.id.to_string());
            self.resolve(
                id,
                Resolution::Auto,
                e.ts,
                by,
                format!("recovered by {}", e.kind),
                fx,
            );
        }
        if trigger == Trigger::SystemFailure
            && self.degraded
            && !self
                .alerts
                .open()
                .any(|a| a.trigger == EventType::SystemFailure)
        {
            self.degraded = false;
            fx.push(Effect::Action(AutoAction::SystemDegraded {
                degraded: false,
            }));
        }
    }

    /// Closes an alert (rule 10) and records a "closed" flap sample for its key.
    pub(super) fn resolve(
        &mut self,
        id: u64,
        resolution: Resolution,
        at: super::Time,
        by: Actor,
        reason: String,
        fx: &mut Vec<Effect>,
    ) {
        let Some(a) = self.alerts.get_mut(id) else {
            return;
        };
        if !a.is_open() {
            return;
        }
        a.status = Status::Resolved;
        a.resolution = Some(resolution);
        a.resolved_at = Some(at);
        a.response_due = None;
        a.escalate_at = None;
        a.ack_expires_at = None;
        a.human_at = None;
        a.snoozed_until = None;
        a.blocking = false;
        if matches!(by, Actor::Operator(_)) {
            a.operator_touched = true;
        }
        let (key, level, escalation, flapping) = (a.key.clone(), a.level, a.escalation, a.flapping);
        if let (EventType::AgentTimeout, Some(agent)) = (&a.trigger, a.agent.clone()) {
            self.count_timeout(&agent, false);
        }
        self.alerts.open.remove(&id);
        let mut flap_change = None;
        if let Some(ks) = self.alerts.keys.get_mut(&key) {
            ks.open = None;
            ks.last = Some(id);
            flap_change = ks.flap.record(false);
        }
        let what = match resolution {
            Resolution::FalseAlarm => "false_alarm",
            Resolution::Superseded => "superseded",
            _ => "resolved",
        };
        self.record(id, at, what, by, reason, fx);
        if escalation >= Escalation::Pm && !flapping {
            self.notify_alert(id, "alert_resolved", at, fx);
        }
        self.flap_changed(id, flap_change, at, fx);
        if level == Level::Critical {
            self.check_phase(at, fx);
        }
    }

    /// One tier up, with the reason; a human escalation is sent to the critical
    /// channels. Does nothing at `human`.
    pub(super) fn escalate(
        &mut self,
        id: u64,
        at: Time,
        by: Actor,
        reason: String,
        fx: &mut Vec<Effect>,
    ) {
        let timeout = self.timing.escalation_timeout;
        let Some(a) = self.alerts.get_mut(id) else {
            return;
        };
        if !a.is_open() || a.escalation == Escalation::Human {
            return;
        }
        a.escalation = a.escalation.up();
        a.escalate_at = (a.escalation < Escalation::Human).then(|| at + timeout);
        let human = a.escalation == Escalation::Human;
        if human {
            a.reached_human = true;
            a.human_at = None;
        }
        self.record(id, at, "escalated", by, reason, fx);
        self.notify_alert(
            id,
            if human {
                "human_escalation"
            } else {
                "alert_escalated"
            },
            at,
            fx,
        );
    }

    /// Straight to `human` (the matrix's human-escalation conditions).
    pub(super) fn escalate_to_human(
        &mut self,
        id: u64,
        at: Time,
        reason: String,
        fx: &mut Vec<Effect>,
    ) {
        while self
            .alerts
            .get(id)
            .is_some_and(|a| a.is_open() && a.escalation < Escalation::Human)
        {
            self.escalate(id, at, Actor::Engine, reason.clone(), fx);
        }
    }

    /// Rules 4–6 and 9 and the time-based human escalation: fire every deadline
    /// due at `now`, oldest first, for each open alert.
    pub(super) fn tick_alerts(&mut self, now: Time, fx: &mut Vec<Effect>) {
        for id in self.alerts.open_ids() {
            // Each firing moves or clears its deadline, so this ends.
            while let Some((due, which)) = self.alerts.get(id).and_then(|a| next_due(a, now)) {
                self.fire(id, which, due, fx);
            }
        }
    }

    fn fire(&mut self, id: u64, which: Due, due: Time, fx: &mut Vec<Effect>) {
        let timeout = self.timing.escalation_timeout;
        let Some(a) = self.alerts.get_mut(id) else {
            return;
        };
        match which {
            Due::Response => {
                a.response_due = None;
                a.sla_breached = true;
                let window = due - a.first_seen;
                self.record(
                    id,
                    due,
                    "sla_breached",
                    Actor::Engine,
                    format!("no response within {}", fmt_span(window)),
                    fx,
                );
                self.escalate(id, due, Actor::Engine, "SLA breached".into(), fx);
            }
            Due::Escalation => {
                a.escalate_at = None;
                self.escalate(
                    id,
                    due,
                    Actor::Engine,
                    format!("unacknowledged for {}", fmt_span(timeout)),
                    fx,
                );
            }
            Due::AckExpiry => {
                a.ack_expires_at = None;
                a.ack_owner = None;
                a.status = Status::Triggered;
                a.escalate_at = (a.escalation < Escalation::Human).then(|| due + timeout);
                self.record(
                    id,
                    due,
                    "ack_expired",
                    Actor::Engine,
                    "acknowledgement timed out with the alert still open".into(),
                    fx,
                );
                self.notify_alert(id, "alert_retriggered", due, fx);
            }
            Due::Snooze => {
                a.snoozed_until = None;
                a.suppressed = a.flapping;
                a.status = Status::Triggered;
                a.ack_owner = None;
                a.ack_expires_at = None;
                a.escalate_at = (a.escalation < Escalation::Human).then(|| due + timeout);
                self.record(
                    id,
                    due,
                    "snooze_expired",
                    Actor::Engine,
                    "snooze over, still open".into(),
                    fx,
                );
                self.notify_alert(id, "alert_retriggered", due, fx);
            }
            Due::Human => {
                a.human_at = None;
                let span = due - a.first_seen;
                self.escalate_to_human(id, due, format!("unresolved after {}", fmt_span(span)), fx);
            }
        }
    }

    /// Operator actions (rules 4, 7, 8, 9, 10, 12). Every accepted action is a
    /// transition record naming the operator.
    pub(super) fn on_operator(&mut self, op: OperatorAction, now: Time, fx: &mut Vec<Effect>) {
        let who = op.operator.clone();
        let by = || Actor::Operator(op.operator.clone());
        let reject = |fx: &mut Vec<Effect>, reason: String| fx.push(Effect::Rejected { reason });
        if op.action == Action::MarkSeen {
            return; // a mark for the digest, in the journal only
        }
        if let Action::AcknowledgeAll { alerts } = &op.action {
            for &id in alerts {
                if self.alerts.get(id).is_some_and(Alert::is_open) {
                    self.acknowledge(id, &who, None, now, fx);
                }
            }
            return;
        }
        // Every other action names one alert.
        let &[alert_id] = op.action.alerts().as_slice() else {
            return reject(fx, "the action names no alert".into());
        };
        let Some(a) = self.alerts.get(alert_id) else {
            return reject(fx, format!("no alert A-{alert_id}"));
        };
        let open = a.is_open();
        if !open && !matches!(op.action, Action::Note { .. }) {
            // Rule 12: nothing reopens a resolved alert.
            return reject(fx, format!("A-{alert_id} is already resolved"));
        }
        match op.action {
            Action::Acknowledge { note, .. } => self.acknowledge(alert_id, &who, note, now, fx),
            Action::Escalate { .. } => {
                let a = self.alerts.get_mut(alert_id).expect("checked");
                a.operator_touched = true;
                if a.escalation == Escalation::Human {
                    return reject(fx, format!("A-{alert_id} is already escalated to human"));
                }
                a.status = Status::Triggered;
                a.ack_owner = None;
                a.ack_expires_at = None;
                self.escalate(alert_id, now, by(), format!("escalated by {who}"), fx);
            }
            Action::Reassign { to, .. } => {
                if !self.agents.contains_key(&to) {
                    return reject(fx, format!("no agent named {to:?}"));
                }
                let timeout = self.timing.escalation_timeout;
                let a = self.alerts.get_mut(alert_id).expect("checked");
                a.operator_touched = true;
                a.assignee = Some(to.clone());
                a.status = Status::Triggered;
                a.ack_owner = None;
                a.ack_expires_at = None;
                a.snoozed_until = None;
                a.suppressed = a.flapping;
                a.escalate_at = (a.escalation < Escalation::Human).then(|| now + timeout);
                let (task, trigger, agent) = (a.task.clone(), a.trigger.clone(), a.agent.clone());
                self.record(
                    alert_id,
                    now,
                    "reassigned",
                    by(),
                    format!("reassigned to {to} by {who}"),
                    fx,
                );
                // The alert's work moves with it; manual moves do not count against
                // max_automated_reassignments (SPEC 6).
                let tasks: Vec<String> = match (task, trigger, agent) {
                    (Some(t), _, _) => vec![t],
                    (None, EventType::AgentTimeout, Some(agent)) => self
                        .agents
                        .get(&agent)
                        .map(|a| a.open_tasks.iter().cloned().collect())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                for t in tasks {
                    if self
                        .tasks
                        .get(&t)
                        .is_some_and(|t| t.agent.as_deref() != Some(to.as_str()))
                    {
                        self.move_task(
                            &t,
                            &to,
                            false,
                            format!("reassigned by {who}"),
                            Some(alert_id),
                            now,
                            fx,
                        );
                    }
                }
                self.notify_alert(alert_id, "alert_reassigned", now, fx);
            }
            Action::Snooze { minutes, .. } => {
                if !(minutes.is_finite() && minutes > 0.0 && minutes <= 7.0 * 24.0 * 60.0) {
                    return reject(
                        fx,
                        format!("snooze of {minutes} minutes is not between 0 and 7 days"),
                    );
                }
                let until = now + TimeDelta::milliseconds((minutes * 60_000.0).round() as i64);
                let a = self.alerts.get_mut(alert_id).expect("checked");
                a.operator_touched = true;
                a.snoozed_until = Some(until);
                a.suppressed = true;
                // Snoozing is a human response: the SLA clock stops.
                a.response_due = None;
                a.responded_at.get_or_insert(now);
                a.escalate_at = None; // paused while snoozed; restarts on expiry
                self.record(
                    alert_id,
                    now,
                    "snoozed",
                    by(),
                    format!(
                        "snoozed until {} by {who}",
                        until.format("%Y-%m-%d %H:%M:%S")
                    ),
                    fx,
                );
            }
            Action::Resolve { note, .. } => {
                if let Some(text) = note.filter(|t| !t.trim().is_empty()) {
                    self.add_note(alert_id, &who, text, now);
                }
                self.resolve(
                    alert_id,
                    Resolution::Fixed,
                    now,
                    by(),
                    format!("resolved by {who}"),
                    fx,
                );
            }
            Action::FalseAlarm { reason, .. } => {
                if reason.trim().is_empty() {
                    return reject(fx, "a false alarm needs a reason".into());
                }
                self.add_note(alert_id, &who, reason.clone(), now);
                self.resolve(
                    alert_id,
                    Resolution::FalseAlarm,
                    now,
                    by(),
                    format!("false alarm: {reason}"),
                    fx,
                );
                self.clear_false_gate(alert_id, fx);
            }
            Action::Note { text, .. } => {
                if text.trim().is_empty() {
                    return reject(fx, "a note needs text".into());
                }
                self.add_note(alert_id, &who, text, now);
                self.record(alert_id, now, "noted", by(), format!("note by {who}"), fx);
            }
            Action::AcknowledgeAll { .. } | Action::MarkSeen => unreachable!("handled above"),
        }
    }

    /// Rule 4: owner and note recorded, escalation timer stopped, ack timer started.
    fn acknowledge(
        &mut self,
        id: u64,
        who: &str,
        note: Option<String>,
        now: Time,
        fx: &mut Vec<Effect>,
    ) {
        let ack_timeout = self.timing.ack_timeout;
        let a = self.alerts.get_mut(id).expect("caller checked");
        a.operator_touched = true;
        a.status = Status::Acknowledged;
        a.ack_owner = Some(who.to_string());
        a.assignee.get_or_insert_with(|| who.to_string());
        a.escalate_at = None;
        a.ack_expires_at = Some(now + ack_timeout);
        a.response_due = None;
        a.responded_at.get_or_insert(now);
        if let Some(text) = note.filter(|t| !t.trim().is_empty()) {
            self.add_note(id, who, text, now);
        }
        self.record(
            id,
            now,
            "acknowledged",
            Actor::Operator(who.to_string()),
            format!("acknowledged by {who}"),
            fx,
        );
    }

    fn add_note(&mut self, id: u64, who: &str, text: String, at: Time) {
        if let Some(a) = self.alerts.get_mut(id) {
            a.notes.push(Note {
                author: who.to_string(),
                at,
                text,
            });
        }
    }

    /// Resolves as superseded the open alerts that `pick` selects: their subject
    /// no longer needs a response (the agent said it is going offline, the
    /// blocked component was completed).
    pub(super) fn supersede(
        &mut self,
        pick: impl Fn(&Alert) -> bool,
        at: Time,
        reason: &str,
        fx: &mut Vec<Effect>,
    ) {
        let ids: Vec<u64> = self
            .alerts
            .open()
            .filter(|a| pick(a))
            .map(|a| a.id)
            .collect();
        for id in ids {
            self.resolve(
                id,
                Resolution::Superseded,
                at,
                Actor::Engine,
                format!("superseded: {reason}"),
                fx,
            );
        }
    }

    /// The gate failed `quality_gate_failure_threshold` times in a row: human.
    pub(super) fn check_gate_threshold(
        &mut self,
        component: &str,
        gate: Option<&str>,
        at: Time,
        fx: &mut Vec<Effect>,
    ) {
        let threshold = self.timing.gate_failure_threshold;
        let failures = self
            .components
            .get(component)
            .and_then(|c| c.gates.get(gate.unwrap_or("")))
            .map_or(0, |g| g.consecutive_failures);
        if failures < threshold {
            return;
        }
        let id = self
            .alerts
            .open()
            .find(|a| {
                a.trigger == EventType::QualityGateFailure
                    && a.component.as_deref() == Some(component)
                    && a.gate.as_deref() == gate
            })
            .map(|a| a.id);
        if let Some(id) = id {
            self.escalate_to_human(id, at, format!("gate failed {failures} times in a row"), fx);
        }
    }

    /// A failed gate that is the last thing holding the current phase back: human.
    pub(super) fn check_holding_back(&mut self, now: Time, fx: &mut Vec<Effect>) {
        let candidates: Vec<u64> = self
            .alerts
            .open()
            .filter(|a| {
                a.trigger == EventType::QualityGateFailure && a.escalation < Escalation::Human
            })
            .map(|a| a.id)
            .collect();
        for id in candidates {
            let a = self.alerts.get(id).expect("open");
            if let Some(c) = a.component.clone() {
                if self.only_gate_holding_phase(&c, a.gate.as_deref().unwrap_or("")) {
                    self.escalate_to_human(
                        id,
                        now,
                        "the last thing holding the phase back".into(),
                        fx,
                    );
                }
            }
        }
    }

    pub(super) fn record(
        &mut self,
        id: u64,
        at: Time,
        what: &'static str,
        by: Actor,
        reason: String,
        fx: &mut Vec<Effect>,
    ) {
        let a = self.alerts.get_mut(id).expect("recorded alert exists");
        a.generation += 1;
        a.step(at, what, &by, reason.clone());
        fx.push(Effect::Transition(Transition {
            alert: id,
            at,
            what,
            by,
            reason,
            status: a.status,
            level: a.level,
            escalation: a.escalation,
            generation: a.generation,
        }));
    }

    /// Sends an alert notification to the class its level and escalation call for,
    /// unless notifications are held (snoozed or flapping).
    fn notify_alert(&mut self, id: u64, kind: &'static str, at: Time, fx: &mut Vec<Effect>) {
        let a = self.alerts.get_mut(id).expect("alert exists");
        if a.suppressed {
            let why = match a.snoozed_until {
                Some(until) => format!("{kind} held: snoozed until {}", until.format("%H:%M:%S")),
                None => format!("{kind} held: flapping"),
            };
            a.step(at, "held", &Actor::Engine, why);
            return;
        }
        let class = if a.level == Level::Critical || a.escalation == Escalation::Human {
            NotifyClass::PmCritical
        } else if a.escalation == Escalation::Automated {
            NotifyClass::System
        } else {
            NotifyClass::PmHigh
        };
        let notice = AlertNotice {
            alert: a.label(),
            trigger: a.trigger.clone(),
            level: a.level,
            escalation: a.escalation,
            status: a.status,
            agent: a.agent.clone(),
            component: a.component.clone(),
            gate: a.gate.clone(),
            task: a.task.clone(),
            count: a.count,
            message: a.message.clone(),
            assignee: a.assignee.clone(),
        };
        let why = format!("{kind} to {}", class.as_str());
        self.alerts
            .get_mut(id)
            .expect("alert exists")
            .step(at, "notified", &Actor::Engine, why);
        fx.push(Effect::Notify(super::Notification {
            class,
            kind,
            at,
            body: super::Body::Alert(Box::new(notice)),
        }));
    }

    fn flap_changed(&mut self, id: u64, change: Option<bool>, at: Time, fx: &mut Vec<Effect>) {
        let Some(flapping) = change else { return };
        if let Some(a) = self.alerts.get_mut(id) {
            a.flapping = flapping;
            a.suppressed = flapping || a.snoozed_until.is_some();
        }
        let what = if flapping {
            "flapping_started"
        } else {
            "flapping_stopped"
        };
        self.record(
            id,
            at,
            what,
            Actor::Engine,
            "open/close history crossed the flapping threshold".into(),
            fx,
        );
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    Response,
    Escalation,
    AckExpiry,
    Snooze,
    Human,
}

/// The earliest deadline of an alert due at `now`. The escalation timer does not
/// run while the alert is acknowledged or snoozed.
fn next_due(a: &Alert, now: Time) -> Option<(Time, Due)> {
    let snoozed = a.snoozed_until.is_some();
    let candidates = [
        (a.response_due, Due::Response),
        (
            a.escalate_at
                .filter(|_| a.status == Status::Triggered && !snoozed),
            Due::Escalation,
        ),
        (
            a.ack_expires_at
                .filter(|_| a.status == Status::Acknowledged),
            Due::AckExpiry,
        ),
        (a.snoozed_until, Due::Snooze),
        (a.human_at, Due::Human),
    ];
    candidates
        .into_iter()
        .filter_map(|(t, d)| t.filter(|t| *t <= now).map(|t| (t, d)))
        .min_by_key(|(t, _)| *t)
}
