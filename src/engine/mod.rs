//! The pure core: events, ticks and operator actions in; state changes and effects
//! out. `Engine::apply(input, now)` is the only door.
//!
//! This module never does I/O, never reads a clock, never spawns: time is the `now`
//! parameter and every timer is a deadline stored in the state, re-checked on
//! `Input::Tick`. Timers fire only on ticks, after the events available have been
//! applied, so catching up on old events never raises an alert that a newer event
//! already answered. Replaying the same inputs with the same `now`s gives the same
//! state and the same effects: that is how the journal rebuilds the console.

pub mod agents;
pub mod alerts;
pub mod classify;
pub mod closed;
pub mod flapping;
mod ids;
pub mod matrix;
pub mod metrics;
pub mod phases;
pub mod spend;
pub mod summary;

use crate::config::Config;
use crate::model::{Event, EventType, Level, ParseError, Plan};
use agents::{Agent, Liveness, Task};
use alerts::{AlertBook, Resolution};
use chrono::{DateTime, TimeDelta, Utc};
use classify::classify;
pub use closed::{ClosedLayout, ClosedTasks};
pub use ids::{IdSet, Layout as IdLayout};
use matrix::{Matrix, Trigger};
use metrics::Counters;
use phases::{Component, Phase};
/// Hash maps keyed by names: FxHash (fast on short strings, deterministic, so
/// replay iterates in the same order) and hashbrown's `entry_ref`, which looks a
/// name up once and allocates its key only when inserting.
pub type Map<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;
pub type Set<K> = hashbrown::HashSet<K, rustc_hash::FxBuildHasher>;
use serde::{Deserialize, Serialize};

pub type Time = DateTime<Utc>;

/// What a snapshot keeps of the engine (`Engine::save`): the state as JSON
/// (without the configuration and plan), and beside it, read in place, the
/// event ids and the closed tasks.
pub struct Saved {
    pub state: Vec<u8>,
    pub ids: IdSet,
    pub closed: ClosedTasks,
}

/// What the engine is fed. Events are by far the most frequent input, so they
/// are carried inline, not boxed.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Input {
    /// A validated event from a source.
    Event(Event),
    /// A line that did not parse: counted, and shown.
    ParseError(ParseError),
    /// Fire the timers that are due at `now`.
    Tick,
    /// Something the operator did at the console.
    Operator(OperatorAction),
}

/// An operator's action on an alert, with the operator's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorAction {
    pub operator: String,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Acknowledge {
        alert: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Acknowledge every listed alert (an alert storm); resolved ones are skipped.
    AcknowledgeAll {
        alerts: Vec<u64>,
    },
    Escalate {
        alert: u64,
    },
    Reassign {
        alert: u64,
        to: String,
    },
    Snooze {
        alert: u64,
        /// JSON has no NaN or infinity: serde writes them as `null`, read back
        /// as NaN, so that the journal replays the action (and its rejection).
        #[serde(deserialize_with = "f64_or_null")]
        minutes: f64,
    },
    Resolve {
        alert: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    FalseAlarm {
        alert: u64,
        reason: String,
    },
    Note {
        alert: u64,
        text: String,
    },
    /// The operator has seen everything up to now (on quit, or the `m` key):
    /// journaled for `coord digest`; changes nothing.
    MarkSeen,
}

/// An action in an operator's words, for the log (`acknowledge A-14`); free
/// text (notes, reasons) is left out.
impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Acknowledge { alert, note } => {
                write!(f, "acknowledge A-{alert}")?;
                if note.is_some() {
                    f.write_str(" with a note")?;
                }
                Ok(())
            }
            Action::AcknowledgeAll { alerts } => write!(
                f,
                "acknowledge {}",
                crate::text::plural(alerts.len(), "alert", "alerts")
            ),
            Action::Escalate { alert } => write!(f, "escalate A-{alert} to a human"),
            Action::Reassign { alert, to } => {
                write!(f, "reassign A-{alert} to {}", crate::sanitize::sanitize(to))
            }
            Action::Snooze { alert, minutes } if minutes.is_finite() && *minutes >= 0.0 => {
                let span = TimeDelta::seconds((minutes * 60.0).min(1e12) as i64);
                write!(f, "snooze A-{alert} for {}", crate::text::fmt_span(span))
            }
            Action::Snooze { alert, .. } => write!(f, "snooze A-{alert} (no valid duration)"),
            Action::Resolve { alert, .. } => write!(f, "resolve A-{alert}"),
            Action::FalseAlarm { alert, .. } => write!(f, "mark A-{alert} a false alarm"),
            Action::Note { alert, .. } => write!(f, "add a note to A-{alert}"),
            Action::MarkSeen => f.write_str("mark everything seen"),
        }
    }
}

fn f64_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl Action {
    /// Whether every console of a fleet applies it (through a stream): all
    /// but a mark of what one operator saw, which is their console's own.
    pub fn is_shared(&self) -> bool {
        *self != Action::MarkSeen
    }

    /// The alerts the action names, in order.
    pub fn alerts(&self) -> Vec<u64> {
        self.clone()
            .alerts_mut()
            .into_iter()
            .map(|id| *id)
            .collect()
    }

    /// The alerts the action names, in order, to point them elsewhere.
    pub fn alerts_mut(&mut self) -> Vec<&mut u64> {
        match self {
            Action::AcknowledgeAll { alerts } => alerts.iter_mut().collect(),
            Action::Acknowledge { alert, .. }
            | Action::Escalate { alert }
            | Action::Reassign { alert, .. }
            | Action::Snooze { alert, .. }
            | Action::Resolve { alert, .. }
            | Action::FalseAlarm { alert, .. }
            | Action::Note { alert, .. } => vec![alert],
            Action::MarkSeen => Vec::new(),
        }
    }
}

/// Who or what caused a transition.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Actor {
    /// An event, by id.
    Event(String),
    /// The engine's own timers and rules.
    Engine,
    Operator(String),
}

/// What `apply` reports. Every state change of an alert, every automated action,
/// every derived event and every notification to send is one effect, in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// An event the console derived itself (`agent_timeout`, `phase_completion`).
    Derived {
        event: Box<Event>,
        /// Its level in the stream, as classified when it was applied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        level: Option<Level>,
    },
    Transition(alerts::Transition),
    Action(AutoAction),
    Notify(Notification),
    /// An operator action that could not be taken, and why.
    Rejected {
        reason: String,
    },
}

/// The automatic actions of the matrix and the engine's other state changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AutoAction {
    TaskReassigned {
        task: String,
        from: Option<String>,
        to: String,
        reason: String,
        automatic: bool,
        alert: Option<u64>,
    },
    BackupActivated {
        agent: String,
        replacing: String,
    },
    ComponentBlocked {
        component: String,
        gate: Option<String>,
    },
    ComponentUnblocked {
        component: String,
    },
    QualityReviewOpened {
        component: String,
        gate: Option<String>,
    },
    AlternativePaths {
        alert: u64,
        unblocked_components: Vec<String>,
        open_tasks: usize,
        idle_agents: Vec<String>,
    },
    SystemDegraded {
        degraded: bool,
    },
    BackupChannels {
        agent: Option<String>,
    },
    ResyncRequested,
    LivenessChanged {
        agent: String,
        from: Liveness,
        to: Liveness,
    },
    PhaseCompleted {
        phase: String,
        next: Option<String>,
    },
}

/// Which notification channels a notification goes to (SPEC 8); the outbox maps a
/// class to the channel names of `notification_config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyClass {
    /// `pm_agent_critical_channels`: Critical alerts and human escalations.
    PmCritical,
    /// `pm_agent_high_channels`: High and Medium alerts for the PM agent.
    PmHigh,
    /// `agent_notification_channels`: reassignments, backup activation, resync.
    Agents,
    /// `system_notification_channels`: console and ingest state, phase completion.
    System,
}

impl NotifyClass {
    /// Its name as journaled.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyClass::PmCritical => "pm_critical",
            NotifyClass::PmHigh => "pm_high",
            NotifyClass::Agents => "agents",
            NotifyClass::System => "system",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub class: NotifyClass,
    /// e.g. `alert_opened`, `human_escalation`, `task_reassigned`.
    pub kind: &'static str,
    pub at: Time,
    pub body: Body,
}

/// What a notification says: an alert's state, or a small JSON object.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    Alert(Box<alerts::AlertNotice>),
    Json(serde_json::Value),
}

/// Time values of the configuration, read once.
#[derive(Clone, Debug)]
pub struct Timing {
    /// How far ahead of the read time an event's `ts` may be (SPEC 5.3).
    pub max_skew_ms: i64,
    pub late_after_ms: i64,
    pub agent_timeout_ms: i64,
    pub eta_window_ms: i64,
    pub escalation_timeout: TimeDelta,
    pub ack_timeout: TimeDelta,
    pub late_after: TimeDelta,
    pub agent_timeout: TimeDelta,
    pub waiting_alert: TimeDelta,
    pub eta_window: TimeDelta,
    pub max_auto_reassignments: u32,
    pub completion_threshold: f64,
    pub gate_failure_threshold: u32,
    pub gates_required: bool,
}

impl Timing {
    fn default_config() -> Timing {
        Timing::from_config(&Config::default())
    }

    fn from_config(cfg: &Config) -> Timing {
        Timing {
            max_skew_ms: (cfg.ingest.max_clock_skew_seconds * 1000.0) as i64,
            late_after_ms: cfg.late_after().num_milliseconds(),
            agent_timeout_ms: cfg.agent_timeout().num_milliseconds(),
            eta_window_ms: cfg.eta_window().num_milliseconds(),
            escalation_timeout: cfg.escalation_timeout(),
            ack_timeout: cfg.ack_timeout(),
            late_after: cfg.late_after(),
            waiting_alert: cfg.waiting_alert(),
            agent_timeout: cfg.agent_timeout(),
            eta_window: cfg.eta_window(),
            max_auto_reassignments: cfg.crisis_response_config.max_automated_reassignments,
            completion_threshold: cfg.crisis_response_config.phase1_completion_threshold,
            gate_failure_threshold: cfg.quality_config.quality_gate_failure_threshold,
            gates_required: cfg.quality_config.quality_validation_required,
        }
    }
}

/// The whole state of the console's world. Views read it; only `apply` writes it.
/// A snapshot (`save`, `restore`) keeps all of it but what the configuration and
/// the plan give, which are read again at start, and the event ids, which it
/// keeps apart, as bytes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Engine {
    #[serde(skip)]
    pub config: Config,
    #[serde(skip)]
    pub matrix: Matrix,
    #[serde(skip, default = "Timing::default_config")]
    pub timing: Timing,
    pub epic: Option<String>,
    /// True when a plan was given (components are not discovered then).
    #[serde(skip)]
    pub planned: bool,
    pub agents: Map<String, Agent>,
    /// The open tasks.
    #[serde(with = "agents::task_list")]
    pub tasks: Map<String, Task>,
    /// The closed ones: kept in a snapshot beside the state, read in place.
    #[serde(skip)]
    pub closed: ClosedTasks,
    /// Something that can complete a phase changed since the last check.
    phase_dirty: bool,
    pub components: Map<String, Component>,
    pub phases: Vec<Phase>,
    /// Index into `phases` of the current phase.
    pub current: usize,
    pub alerts: AlertBook,
    pub counters: Counters,
    /// A system failure is open (the emergency protocol's "degraded" mark).
    pub degraded: bool,
    /// The `now` of the input being applied (or the last one), and the same
    /// in epoch milliseconds: the hot paths do integer time. A cache, set by
    /// every input before use: a snapshot leaves it out (a tick that changed
    /// nothing moves it, and is not journaled).
    #[serde(skip)]
    pub last_now: Option<Time>,
    #[serde(skip)]
    now_ms: i64,
    /// The `ts` of the event being applied, in epoch milliseconds.
    ts_ms: i64,
    #[serde(skip)]
    seen_ids: IdSet,
    derived_seq: u64,
    /// While a tick times agents out: the agents alive at its start, the only
    /// ones that can take a task or be brought in (a storm of timeouts looks at
    /// them, not at every agent for every task).
    #[serde(skip)]
    takers: Option<Vec<String>>,
    /// Moves with every input applied: views rebuild their caches when it does.
    /// Not state: a snapshot leaves it out.
    #[serde(skip)]
    pub revision: u64,
}

impl Engine {
    pub fn new(config: Config, plan: Option<&Plan>) -> Engine {
        let matrix = Matrix::from_config(&config);
        let timing = Timing::from_config(&config);
        let mut engine = Engine {
            matrix,
            timing,
            epic: None,
            planned: plan.is_some(),
            agents: Map::default(),
            tasks: Map::default(),
            closed: ClosedTasks::default(),
            phase_dirty: false,
            components: Map::default(),
            phases: Vec::new(),
            current: 0,
            alerts: AlertBook::default(),
            counters: Counters::default(),
            degraded: false,
            last_now: None,
            now_ms: 0,
            ts_ms: 0,
            seen_ids: IdSet::with_capacity(1 << 16),
            derived_seq: 0,
            takers: None,
            revision: 0,
            config,
        };
        engine.load_plan(plan);
        engine
    }

    /// The state for a snapshot, with a copy of its event ids.
    pub fn save(&self) -> Saved {
        Saved {
            ids: self.seen_ids.clone(),
            ..self.save_past()
        }
    }

    /// The state without the ids: what a view of the past starts from.
    pub fn save_past(&self) -> Saved {
        Saved {
            state: self.state_json(),
            ids: IdSet::default(),
            closed: self.closed.clone(),
        }
    }

    /// `save` for the last time: the ids and closed tasks are moved out, not
    /// copied (a million ids are 13 MB, and their table 16 MB), and the engine
    /// knows none after.
    pub fn save_last(&mut self) -> Saved {
        Saved {
            state: self.state_json(),
            ids: std::mem::take(&mut self.seen_ids),
            closed: std::mem::take(&mut self.closed),
        }
    }

    /// The engine's JSON, without the configuration and plan (and without
    /// what is kept beside it: the ids and the closed tasks).
    fn state_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the engine's state serialises")
    }

    /// Takes the state `save` gave; the configuration and plan stay this
    /// engine's. On error the engine is as it was.
    pub fn restore(&mut self, json: &[u8], ids: IdSet, closed: ClosedTasks) -> Result<(), String> {
        let mut saved: Engine = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        saved.seen_ids = ids;
        saved.closed = closed;
        saved.config = self.config.clone();
        saved.matrix = self.matrix.clone();
        saved.timing = self.timing.clone();
        saved.planned = self.planned;
        // Not the revision any view of this engine has seen.
        saved.revision = self.revision + 1;
        *self = saved;
        Ok(())
    }

    /// Applies one input at time `now` and returns what happened, in order.
    pub fn apply(&mut self, input: Input, now: Time) -> Vec<Effect> {
        let mut fx = Vec::new();
        self.apply_into(input, now, &mut fx);
        fx
    }

    /// `apply`, appending the effects to `fx`: a caller applying many inputs
    /// reuses one buffer.
    pub fn apply_into(&mut self, input: Input, now: Time, fx: &mut Vec<Effect>) {
        self.begin(now);
        match input {
            // By reference: an event is large, and moving it out costs a copy.
            Input::Event(ref event) => {
                self.on_event(event, fx);
            }
            Input::ParseError(_) => self.counters.parse_errors += 1,
            Input::Tick => self.tick(now, fx),
            Input::Operator(op) => self.on_operator(op, now, fx),
        }
    }

    /// `apply_into(Input::Event(event.clone()), ..)` without the clone: the
    /// runtime applies events it still owns, and lets them go on another thread
    /// (the source's, which allocated them, frees them at its own cost).
    /// Returns the event's level in the stream (`Class::shown`); none for a
    /// duplicate, which changes nothing.
    pub fn apply_event_into(
        &mut self,
        event: &Event,
        now: Time,
        fx: &mut Vec<Effect>,
    ) -> Option<Level> {
        self.begin(now);
        self.on_event(event, fx)
    }

    /// What every input does first: a new revision, and the clock.
    fn begin(&mut self, now: Time) {
        self.revision += 1;
        if self.last_now != Some(now) {
            self.last_now = Some(now);
            self.now_ms = now.timestamp_millis();
        }
    }

    /// A hint that `event` is about to be applied: the engine starts fetching
    /// what it will look up first. Changes nothing.
    pub fn prefetch(&self, event: &Event) {
        self.seen_ids.prefetch(IdSet::hash(&event.id));
    }

    fn on_event(&mut self, event: &Event, fx: &mut Vec<Effect>) -> Option<Level> {
        let hash = IdSet::hash(&event.id);
        if self.seen_ids.contains(hash, &event.id) {
            self.counters.duplicates += 1;
            return None;
        }
        self.counters.events += 1;
        self.ts_ms = event.ts.timestamp_millis();
        if self.ts_ms > self.now_ms + self.timing.max_skew_ms {
            return self.skewed(event, hash, fx);
        }
        self.counters.detection.record(self.now_ms - self.ts_ms);
        if matches!(event.kind, EventType::Other(_)) {
            self.counters.unknown_types += 1;
        }
        let level = self.handle(event, fx);
        self.seen_ids.insert(hash, &event.id);
        level
    }

    /// The effect of one event on the state; shared by ingested and derived events.
    /// SPEC 5.3: an event stamped ahead of the time coord read it counts as
    /// read then, for liveness, deadlines, ETA and metrics; its agent is
    /// marked and counted. (Rare: the copy costs the hot path nothing.)
    #[cold]
    fn skewed(&mut self, event: &Event, hash: u64, fx: &mut Vec<Effect>) -> Option<Level> {
        self.counters.skewed += 1;
        let mut e = event.clone();
        e.ts = DateTime::from_timestamp_millis(self.now_ms).unwrap_or(e.ts);
        self.ts_ms = self.now_ms;
        self.counters.detection.record(0);
        if let Some(agent) = &e.agent {
            self.agent_mut(agent).skewed += 1;
        }
        if matches!(e.kind, EventType::Other(_)) {
            self.counters.unknown_types += 1;
        }
        let level = self.handle(&e, fx);
        self.seen_ids.insert(hash, &e.id);
        level
    }

    /// Returns the event's level in the stream.
    fn handle(&mut self, e: &Event, fx: &mut Vec<Effect>) -> Option<Level> {
        let at = e.ts;
        let ever_timed_out = match &e.agent {
            Some(agent) => self.touch_agent(agent, e, fx),
            None => false,
        };
        // The component, looked up once for the whole event, with its progress.
        let progress = match e.kind {
            EventType::ProgressUpdate => e.progress,
            EventType::ComponentCompletion => Some(100.0),
            _ => None,
        };
        let (component_phase, completed) = match &e.component {
            Some(c) => self.touch_component(c, progress),
            None => (None, false),
        };
        match &e.kind {
            EventType::ProgressUpdate => {
                if let Some(task) = &e.task {
                    let (agent, component) = (e.agent.as_deref(), e.component.as_deref());
                    self.open_task(task, agent, component, false, at, fx);
                }
            }
            EventType::TaskAssigned => {
                if let Some(task) = &e.task {
                    let (agent, component) = (e.agent.as_deref(), e.component.as_deref());
                    self.open_task(task, agent, component, true, at, fx);
                }
            }
            EventType::TaskCompleted => {
                if let Some(task) = &e.task {
                    self.close_task(task);
                }
            }
            EventType::QualityGateFailure => {
                if let Some(c) = &e.component {
                    self.gate_failed(c, e.gate.as_deref(), at, fx);
                }
            }
            EventType::QualityGatePassed => {
                if let Some(c) = &e.component {
                    self.gate_passed(c, e.gate.as_deref(), at, fx);
                }
            }
            EventType::CriterionMet => self.criterion_met(e, at, fx),
            _ => {}
        }
        // After the event's own task is opened, so completion closes it too.
        if let (true, Some(c)) = (completed, &e.component) {
            self.component_completed(c, at, fx);
        }
        let in_current = component_phase == Some(self.current);
        let class = classify(e, &self.matrix, in_current);
        if class.alerts {
            self.trigger(e, class.level, in_current, fx);
        } else if let Some(trigger) = Trigger::answered_by(&e.kind) {
            // The hot path: a heartbeat from an agent that never timed out answers nothing.
            if trigger != Trigger::AgentTimeout || ever_timed_out {
                self.recover(e, trigger, fx);
            }
        }
        if e.kind == EventType::QualityGateFailure {
            if let Some(c) = &e.component {
                self.check_gate_threshold(c, e.gate.as_deref(), at, fx);
            }
        }
        self.add_spend(e, component_phase, fx);
        // Only progress, a passed gate or a met criterion can complete a phase.
        if std::mem::take(&mut self.phase_dirty) {
            self.check_phase(at, fx);
        }
        class.shown
    }

    /// Fires every timer due at `now`: liveness, then alert deadlines, then phases.
    fn tick(&mut self, now: Time, fx: &mut Vec<Effect>) {
        self.tick_agents(now, fx);
        self.tick_alerts(now, fx);
        self.check_phase(now, fx);
        self.check_holding_back(now, fx);
    }

    fn next_derived_id(&mut self, what: &str) -> String {
        self.derived_seq += 1;
        format!("derived:{what}:{}", self.derived_seq)
    }

    /// Applies an event the console derived; it is journaled as derived.
    fn derive(&mut self, event: Event, fx: &mut Vec<Effect>) {
        self.counters.derived += 1;
        self.ts_ms = event.ts.timestamp_millis();
        let first = fx.len();
        let level = self.handle(&event, fx);
        // The derived event comes before the effects it caused.
        fx.insert(
            first,
            Effect::Derived {
                event: Box::new(event),
                level,
            },
        );
    }

    fn notify(
        &self,
        fx: &mut Vec<Effect>,
        class: NotifyClass,
        kind: &'static str,
        at: Time,
        body: serde_json::Value,
    ) {
        fx.push(Effect::Notify(Notification {
            class,
            kind,
            at,
            body: Body::Json(body),
        }));
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// The time the input being applied was read (`at` if the clock is unset).
    pub(crate) fn read_time(&self, at: Time) -> Time {
        match self.last_now {
            Some(_) => DateTime::from_timestamp_millis(self.now_ms).unwrap_or(at),
            None => at,
        }
    }

    /// The agents who could take work now: healthy and not standby.
    fn healthy(&self, agent: &Agent) -> bool {
        agent.liveness == Liveness::Healthy
    }

    pub fn liveness_of(&self, agent: &str) -> Option<Liveness> {
        self.agents.get(agent).map(|a| a.liveness)
    }

    pub fn open_alert_count(&self, level: Level) -> usize {
        self.alerts.open().filter(|a| a.level == level).count()
    }

    pub fn resolution_of(&self, alert: u64) -> Option<Resolution> {
        self.alerts.get(alert).and_then(|a| a.resolution)
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn actions_read_in_an_operators_words() {
        let cases = [
            (
                Action::Acknowledge {
                    alert: 14,
                    note: None,
                },
                "acknowledge A-14",
            ),
            (
                Action::AcknowledgeAll { alerts: vec![1, 2] },
                "acknowledge 2 alerts",
            ),
            (
                Action::Snooze {
                    alert: 3,
                    minutes: 90.0,
                },
                "snooze A-3 for 1 h 30 min",
            ),
            (
                Action::Snooze {
                    alert: 3,
                    minutes: f64::NAN,
                },
                "snooze A-3 (no valid duration)",
            ),
            (
                Action::Reassign {
                    alert: 5,
                    to: "evil\x1b[2J".into(),
                },
                "reassign A-5 to evil\\x1b[2J",
            ),
            (
                Action::FalseAlarm {
                    alert: 7,
                    reason: "flaky".into(),
                },
                "mark A-7 a false alarm",
            ),
        ];
        for (action, text) in cases {
            assert_eq!(action.to_string(), text);
        }
    }
}
