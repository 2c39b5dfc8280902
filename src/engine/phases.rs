//! Components, quality gates, phases, completion and ETA (SPEC 7).
//!
//! Phase completion % is Σ weight·progress / Σ weight, kept incrementally so a
//! progress event costs O(1). A phase completes when it reaches the threshold,
//! every gate has passed, every criterion is met and no Critical alert is open;
//! the console then derives `phase_completion` and makes the next phase current.

use super::spend::Spend;
use super::{AutoAction, Effect, Engine, NotifyClass, Time};
use crate::model::{Event, EventType, Level, Plan};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, VecDeque};

/// At most this many completion samples per phase are kept for the ETA.
const MAX_SAMPLES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateStatus {
    Pending,
    Passed,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub status: GateStatus,
    pub consecutive_failures: u32,
    pub failed_since: Option<Time>,
}

impl Gate {
    fn pending() -> Gate {
        Gate {
            status: GateStatus::Pending,
            consecutive_failures: 0,
            failed_since: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    /// Index of its phase; `None` for a component a plan does not name.
    pub phase: Option<usize>,
    pub weight: f64,
    pub progress: f64,
    pub owner: Option<String>,
    pub capabilities: Vec<String>,
    pub depends_on: Vec<String>,
    /// Gates by name; a gate event without a name is the gate "".
    pub gates: BTreeMap<String, Gate>,
    #[serde(default, skip_serializing_if = "Spend::is_empty")]
    pub spend: Spend,
}

impl Component {
    /// A failing gate blocks the component (SPEC 7).
    pub fn blocked(&self) -> bool {
        self.gates.values().any(|g| g.status == GateStatus::Failed)
    }

    pub fn complete(&self) -> bool {
        self.progress >= 100.0 && !self.blocked()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    pub kind: String,
    pub name: String,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub id: String,
    pub name: String,
    pub target: Option<Time>,
    pub components: Vec<String>,
    pub criteria: Vec<Criterion>,
    weight_sum: f64,
    weighted_progress: f64,
    pub complete: bool,
    pub completed_at: Option<Time>,
    /// (epoch ms, completion %) samples, oldest first, for the ETA.
    pub samples: VecDeque<(i64, f64)>,
    /// The newest sample time, so trimming the window is O(1) per sample.
    newest: Option<i64>,
    #[serde(default, skip_serializing_if = "Spend::is_empty")]
    pub spend: Spend,
}

impl Phase {
    fn new(id: &str, name: &str, target: Option<Time>) -> Phase {
        Phase {
            id: id.to_string(),
            name: name.to_string(),
            target,
            components: Vec::new(),
            criteria: Vec::new(),
            weight_sum: 0.0,
            weighted_progress: 0.0,
            complete: false,
            completed_at: None,
            samples: VecDeque::new(),
            newest: None,
            spend: Spend::default(),
        }
    }

    /// Completion in percent, 0–100.
    pub fn completion(&self) -> f64 {
        if self.weight_sum <= 0.0 {
            return 0.0;
        }
        (self.weighted_progress / self.weight_sum).clamp(0.0, 100.0)
    }

    /// When the least-squares line through the window's samples reaches `goal` %.
    /// The present counts as a sample at the last completion: progress that
    /// stalled pushes the ETA out instead of leaving it in the past.
    pub fn eta(&self, goal: f64, now: Time) -> Option<Time> {
        let (t0, _) = *self.samples.front()?;
        let &(last_t, last_y) = self.samples.back()?;
        let now_ms = now.timestamp_millis();
        let stalled = (now_ms > last_t).then_some((now_ms, last_y));
        let points = || self.samples.iter().copied().chain(stalled);
        let n = points().count() as f64;
        let xs = || points().map(|(t, _)| (t - t0) as f64 / 1000.0);
        let mean_x = xs().sum::<f64>() / n;
        let mean_y = points().map(|(_, y)| y).sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (x, (_, y)) in xs().zip(points()) {
            sxy += (x - mean_x) * (y - mean_y);
            sxx += (x - mean_x) * (x - mean_x);
        }
        if sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx; // % per second
        if slope <= 0.0 {
            return None;
        }
        let x = mean_x + (goal - mean_y) / slope;
        let ms = (x * 1000.0).clamp(-1e15, 1e15) as i64;
        DateTime::from_timestamp_millis(t0.checked_add(ms)?)
    }
}

/// On track or at risk against the phase target (SPEC 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outlook {
    OnTrack,
    AtRisk,
    /// No target to judge against.
    NoTarget,
    /// No ETA yet (too little progress to draw a line through), and the
    /// target has not passed: nothing says it is at risk.
    Unknown,
}

impl Engine {
    pub(super) fn load_plan(&mut self, plan: Option<&Plan>) {
        let Some(plan) = plan else {
            self.phases.push(Phase::new("phase-1", "Phase 1", None));
            return;
        };
        self.epic = plan.epic.clone();
        for (i, p) in plan.phases.iter().enumerate() {
            let mut phase = Phase::new(&p.id, p.name.as_deref().unwrap_or(&p.id), p.target);
            phase.spend.budget_usd = p.budget_usd;
            for c in &p.components {
                phase.components.push(c.id.clone());
                phase.weight_sum += c.weight;
                let gates = c
                    .gates
                    .iter()
                    .map(|g| (g.clone(), Gate::pending()))
                    .collect();
                self.components.insert(
                    c.id.clone(),
                    Component {
                        id: c.id.clone(),
                        phase: Some(i),
                        weight: c.weight,
                        progress: 0.0,
                        owner: c.owner.clone(),
                        capabilities: c.capabilities.clone(),
                        depends_on: c.depends_on.clone(),
                        gates,
                        spend: Spend::default(),
                    },
                );
            }
            for (kind, names) in &p.criteria {
                for name in names {
                    phase.criteria.push(Criterion {
                        kind: kind.clone(),
                        name: name.clone(),
                        met: false,
                    });
                }
            }
            self.phases.push(phase);
        }
        for a in &plan.agents {
            let agent = self
                .agents
                .entry(a.id.clone())
                .or_insert_with(|| super::agents::Agent::new(&a.id));
            agent.capabilities = a.capabilities.clone();
            agent.backup = a.backup;
            agent.spend.budget_usd = a.budget_usd;
            // Until it reports in, a planned agent is not running: offline (no
            // alert), or standby for a backup.
            agent.liveness = if a.backup {
                super::agents::Liveness::Standby
            } else {
                super::agents::Liveness::Offline
            };
        }
    }

    /// The component an event names, created if new (without a plan it joins the
    /// single phase), with the event's progress applied if it carries one. One
    /// lookup for the whole event, the hot path. Returns the component's phase and
    /// whether this progress made it complete.
    pub(super) fn touch_component(
        &mut self,
        id: &str,
        progress: Option<f64>,
    ) -> (Option<usize>, bool) {
        let planned = self.planned;
        let mut created = false;
        let c = self.components.entry_ref(id).or_insert_with(|| {
            created = true;
            Component {
                id: id.to_string(),
                // A component a plan does not name is tracked but in no phase.
                phase: (!planned).then_some(0),
                weight: 1.0,
                progress: 0.0,
                owner: None,
                capabilities: Vec::new(),
                depends_on: Vec::new(),
                gates: BTreeMap::new(),
                spend: Spend::default(),
            }
        });
        let phase = c.phase;
        if created {
            if let Some(p) = phase {
                self.phases[p].components.push(id.to_string());
                self.phases[p].weight_sum += 1.0;
            }
        }
        let Some(progress) = progress else {
            return (phase, false);
        };
        let delta = progress - c.progress;
        if delta == 0.0 {
            return (phase, false);
        }
        c.progress = progress;
        let completed = c.complete();
        self.phase_dirty = true;
        if let Some(p) = phase {
            let (window, at_ms) = (self.timing.eta_window_ms, self.ts_ms);
            let phase = &mut self.phases[p];
            phase.weighted_progress += c.weight * delta;
            let sample = (at_ms, phase.completion());
            if phase.samples.len() == MAX_SAMPLES {
                phase.samples.pop_front();
            }
            phase.samples.push_back(sample);
            let newest = phase.newest.map_or(at_ms, |n| n.max(at_ms));
            phase.newest = Some(newest);
            while phase.samples.front().is_some_and(|s| newest - s.0 > window) {
                phase.samples.pop_front();
            }
        }
        (phase, completed)
    }

    /// A component just completed: its tasks close and blockers on it are moot.
    pub(super) fn component_completed(&mut self, id: &str, at: Time, fx: &mut Vec<Effect>) {
        self.close_tasks_if_complete(id);
        let pick = |a: &super::alerts::Alert| {
            a.trigger == EventType::BlockerDetected && a.component.as_deref() == Some(id)
        };
        self.supersede(pick, at, &format!("{id} completed"), fx);
    }

    pub fn in_current_phase(&self, component: &str) -> bool {
        self.components.get(component).and_then(|c| c.phase) == Some(self.current)
    }

    /// A component's completion closes its open tasks (SPEC 6).
    fn close_tasks_if_complete(&mut self, id: &str) {
        if !self.components.get(id).is_some_and(Component::complete) {
            return;
        }
        let mut done: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.component.as_deref() == Some(id))
            .map(|(task, _)| task.clone())
            .collect();
        done.sort();
        for t in done {
            self.close_task(&t);
        }
    }

    pub(super) fn gate_failed(
        &mut self,
        id: &str,
        gate: Option<&str>,
        at: Time,
        fx: &mut Vec<Effect>,
    ) {
        let Some(c) = self.components.get_mut(id) else {
            return;
        };
        let was_blocked = c.blocked();
        let g = c
            .gates
            .entry(gate.unwrap_or("").to_string())
            .or_insert_with(Gate::pending);
        g.status = GateStatus::Failed;
        g.consecutive_failures += 1;
        g.failed_since.get_or_insert(at);
        if !was_blocked {
            fx.push(Effect::Action(AutoAction::ComponentBlocked {
                component: id.to_string(),
                gate: gate.map(str::to_string),
            }));
        }
    }

    pub(super) fn gate_passed(
        &mut self,
        id: &str,
        gate: Option<&str>,
        _at: Time,
        fx: &mut Vec<Effect>,
    ) {
        let Some(c) = self.components.get_mut(id) else {
            return;
        };
        let was_blocked = c.blocked();
        let g = c
            .gates
            .entry(gate.unwrap_or("").to_string())
            .or_insert_with(Gate::pending);
        g.status = GateStatus::Passed;
        self.phase_dirty = true;
        g.consecutive_failures = 0;
        g.failed_since = None;
        if was_blocked && !c.blocked() {
            fx.push(Effect::Action(AutoAction::ComponentUnblocked {
                component: id.to_string(),
            }));
            self.close_tasks_if_complete(id);
        }
    }

    /// A gate failure closed as a false alarm: the gate did not fail, so it
    /// goes back to pending and stops blocking its component.
    pub(super) fn clear_false_gate(&mut self, alert: u64, fx: &mut Vec<Effect>) {
        let Some(a) = self.alerts.get(alert) else {
            return;
        };
        let (EventType::QualityGateFailure, Some(id)) = (&a.trigger, a.component.clone()) else {
            return;
        };
        let gate = a.gate.clone().unwrap_or_default();
        let Some(c) = self.components.get_mut(&id) else {
            return;
        };
        let was_blocked = c.blocked();
        if let Some(g) = c.gates.get_mut(&gate) {
            if g.status == GateStatus::Failed {
                g.status = GateStatus::Pending;
                g.consecutive_failures = 0;
                g.failed_since = None;
            }
        }
        if was_blocked && !c.blocked() {
            fx.push(Effect::Action(AutoAction::ComponentUnblocked {
                component: id,
            }));
        }
    }

    /// `criterion_met`: the criterion named by `data.criterion` (or `message`),
    /// as `name` or `kind:name`, in the event's phase or the current one.
    pub(super) fn criterion_met(&mut self, e: &Event, _at: Time, _fx: &mut Vec<Effect>) {
        let Some(text) = e.data_str("criterion").or(e.message.as_deref()) else {
            return;
        };
        let phase = match &e.phase {
            Some(id) => self.phases.iter().position(|p| p.id == *id),
            None => Some(self.current),
        };
        let Some(phase) = phase.and_then(|i| self.phases.get_mut(i)) else {
            return;
        };
        let (kind, name) = match text.split_once(':') {
            Some((k, n))
                if phase
                    .criteria
                    .iter()
                    .any(|c| c.kind.eq_ignore_ascii_case(k.trim())) =>
            {
                (Some(k.trim()), n.trim())
            }
            _ => (None, text.trim()),
        };
        for c in &mut phase.criteria {
            if c.name.eq_ignore_ascii_case(name)
                && kind.is_none_or(|k| c.kind.eq_ignore_ascii_case(k))
            {
                c.met = true;
                self.phase_dirty = true;
            }
        }
    }

    /// The gates of a phase that have not passed, as (component, gate).
    fn unpassed_gates(&self, phase: usize) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.phases[phase]
            .components
            .iter()
            .filter_map(|c| self.components.get(c))
            .flat_map(|c| {
                c.gates
                    .iter()
                    .filter(|(_, g)| g.status != GateStatus::Passed)
                    .map(move |(name, _)| (c.id.as_str(), name.as_str()))
            })
    }

    /// Everything but the gates: threshold, criteria, no Critical alert open.
    fn phase_ready_but_gates(&self, p: usize) -> bool {
        let phase = &self.phases[p];
        !phase.components.is_empty()
            && phase.completion() >= self.timing.completion_threshold
            && phase.criteria.iter().all(|c| c.met)
            && !self.alerts.open().any(|a| a.level == Level::Critical)
    }

    /// Would the current phase complete if only this gate passed?
    pub(super) fn only_gate_holding_phase(&self, component: &str, gate: &str) -> bool {
        if !self.in_current_phase(component)
            || !self.timing.gates_required
            || !self.phase_ready_but_gates(self.current)
        {
            return false;
        }
        let mut rest = self.unpassed_gates(self.current);
        rest.next() == Some((component, gate)) && rest.next().is_none()
    }

    /// The completion rule and the cascade to the next phase.
    pub(super) fn check_phase(&mut self, at: Time, fx: &mut Vec<Effect>) {
        while let Some(phase) = self.phases.get(self.current) {
            if phase.complete || phase.completion() < self.timing.completion_threshold {
                return;
            }
            let gates_ok =
                !self.timing.gates_required || self.unpassed_gates(self.current).next().is_none();
            if !gates_ok || !self.phase_ready_but_gates(self.current) {
                return;
            }
            let done = self.current;
            let next = self.phases.get(done + 1).map(|p| p.id.clone());
            let phase = &mut self.phases[done];
            phase.complete = true;
            phase.completed_at = Some(at);
            let (id, name, completion) = (phase.id.clone(), phase.name.clone(), phase.completion());
            let mut e = Event::new(
                EventType::PhaseCompletion,
                at,
                self.next_derived_id("phase_completion"),
            );
            e.phase = Some(id.as_str().into());
            e.progress = Some(completion);
            e.message = Some(format!("{name} complete").into());
            self.counters.derived += 1;
            fx.push(Effect::Derived {
                event: Box::new(e),
                level: None,
            });
            fx.push(Effect::Action(AutoAction::PhaseCompleted {
                phase: id.clone(),
                next: next.clone(),
            }));
            self.notify(
                fx,
                NotifyClass::System,
                "phase_completion",
                at,
                json!({"phase": id, "name": name, "completion": completion, "next": next}),
            );
            if next.is_none() {
                return;
            }
            self.current = done + 1;
        }
    }

    pub fn current_phase(&self) -> Option<&Phase> {
        self.phases.get(self.current)
    }

    pub fn outlook(&self, phase: &Phase, now: Time) -> Outlook {
        let Some(target) = phase.target else {
            return Outlook::NoTarget;
        };
        if phase.complete {
            return if phase.completed_at.is_some_and(|t| t <= target) {
                Outlook::OnTrack
            } else {
                Outlook::AtRisk
            };
        }
        // At risk only when the ETA is later than the target, or the target
        // passed with the phase still open.
        match phase.eta(self.timing.completion_threshold, now) {
            Some(eta) if eta <= target => Outlook::OnTrack,
            Some(_) => Outlook::AtRisk,
            None if now > target => Outlook::AtRisk,
            None => Outlook::Unknown,
        }
    }
}
