//! Agents, their liveness, their tasks, and automated reassignment (SPEC 6).
//!
//! Liveness is judged from event time: an agent is healthy while its last event is
//! within `late_after`, late after that, and timed out after `agent_timeout` — the
//! engine then derives an `agent_timeout` event itself, on a tick.

use super::alerts::Alert;
use super::matrix::Trigger;
use super::spend::Spend;
use super::{AutoAction, Effect, Engine, NotifyClass, Time};
use crate::model::{Event, EventType};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeSet, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// Ordered worst first, for the heartbeat grid.
    TimedOut,
    Late,
    /// Blocked on a person (a permission or input prompt): it does not age.
    Waiting,
    Offline,
    Healthy,
    /// Finished its turn, waiting for its next instruction: it does not age.
    Idle,
    Standby,
}

impl Liveness {
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Healthy => "healthy",
            Liveness::Late => "late",
            Liveness::TimedOut => "timed_out",
            Liveness::Offline => "offline",
            Liveness::Standby => "standby",
            Liveness::Waiting => "waiting",
            Liveness::Idle => "idle",
        }
    }

    /// The agent's own word for a state that does not age: `waiting` (also
    /// `needs_input`), `idle`.
    fn said(status: &str) -> Option<Liveness> {
        if status.eq_ignore_ascii_case("waiting") || status.eq_ignore_ascii_case("needs_input") {
            Some(Liveness::Waiting)
        } else if status.eq_ignore_ascii_case("idle") {
            Some(Liveness::Idle)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub liveness: Liveness,
    pub last_seen: Option<Time>,
    pub last_heartbeat: Option<Time>,
    pub capabilities: Vec<String>,
    pub backup: bool,
    /// A backup agent brought in to replace a dead one.
    pub activated: bool,
    pub open_tasks: BTreeSet<String>,
    /// The task it last reported on, while open.
    pub current_task: Option<String>,
    pub events: u64,
    /// Open agent_timeout alerts naming it: a heartbeat looks for them only then.
    pub open_timeouts: u32,
    /// It has timed out at least once, so its heartbeats feed a flap history.
    pub ever_timed_out: bool,
    /// Its last liveness changes, oldest first (at most `LIVENESS_KEPT`), for
    /// the agent page.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub liveness_log: VecDeque<(Time, Liveness)>,
    /// Events it stamped ahead of the time coord read them (SPEC 5.3).
    #[serde(default)]
    pub skewed: u64,
    /// Since when it has been waiting on a person, while it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<Time>,
    /// Its wait has opened an `agent_waiting` alert (once a wait).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub waiting_alerted: bool,
    /// What it said it waits for (its message), while it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    #[serde(default, skip_serializing_if = "Spend::is_empty")]
    pub spend: Spend,
}

/// Liveness changes an agent keeps.
pub const LIVENESS_KEPT: usize = 16;

impl Agent {
    pub fn new(id: &str) -> Agent {
        Agent {
            id: id.to_string(),
            liveness: Liveness::Healthy,
            last_seen: None,
            last_heartbeat: None,
            capabilities: Vec::new(),
            backup: false,
            activated: false,
            open_tasks: BTreeSet::new(),
            current_task: None,
            events: 0,
            open_timeouts: 0,
            ever_timed_out: false,
            liveness_log: VecDeque::new(),
            skewed: 0,
            waiting_since: None,
            waiting_alerted: false,
            waiting_for: None,
            spend: Spend::default(),
        }
    }

    /// Notes a change of liveness, keeping the last `LIVENESS_KEPT`.
    fn log_liveness(&mut self, at: Time, to: Liveness) {
        if self.liveness_log.len() == LIVENESS_KEPT {
            self.liveness_log.pop_front();
        }
        self.liveness_log.push_back((at, to));
    }

    fn can_do(&self, needs: &[String]) -> bool {
        needs.iter().all(|n| self.capabilities.contains(n))
    }
}

#[derive(Clone, Debug, PartialEq)]
/// A task, under its id in `Engine::tasks` while it is open, then in
/// `Engine::closed`.
pub struct Task {
    pub agent: Option<String>,
    pub component: Option<String>,
    pub auto_reassignments: u32,
    pub opened: Time,
}

/// Open tasks in a snapshot's state: their count, then a row `[id, agent,
/// component, auto_reassignments, seconds, nanoseconds]` each (the count
/// first, so the map is made at its size), as closed ones are kept
/// (`closed`).
pub(super) mod task_list {
    use super::super::Map;
    use super::Task;
    use chrono::DateTime;
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserializer, Serializer};

    type Row = (String, Option<String>, Option<String>, u32, i64, u32);

    pub fn serialize<S: Serializer>(tasks: &Map<String, Task>, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(tasks.len() + 1))?;
        seq.serialize_element(&tasks.len())?;
        for (id, t) in tasks {
            seq.serialize_element(&(
                id,
                &t.agent,
                &t.component,
                t.auto_reassignments,
                t.opened.timestamp(),
                t.opened.timestamp_subsec_nanos(),
            ))?;
        }
        seq.end()
    }

    /// Row by row into the map (no list of rows in between).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Task>, D::Error> {
        struct Rows;
        impl<'de> Visitor<'de> for Rows {
            type Value = Map<String, Task>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of tasks")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let n: usize = seq.next_element()?.unwrap_or(0);
                // A count is not trusted further than the bytes that follow.
                let mut tasks = Map::with_capacity_and_hasher(n.min(1 << 20), Default::default());
                while let Some(row) = seq.next_element::<Row>()? {
                    let (id, agent, component, auto_reassignments, secs, nanos) = row;
                    let opened = DateTime::from_timestamp(secs, nanos)
                        .ok_or_else(|| A::Error::custom(format!("task {id}: time out of range")))?;
                    let task = Task {
                        agent,
                        component,
                        auto_reassignments,
                        opened,
                    };
                    tasks.insert(id, task);
                }
                Ok(tasks)
            }
        }
        d.deserialize_seq(Rows)
    }
}

impl Engine {
    pub(super) fn agent_mut(&mut self, id: &str) -> &mut Agent {
        self.agents.entry_ref(id).or_insert_with(|| Agent::new(id))
    }

    /// Open agent_timeout alerts per agent, kept as alerts open and close.
    pub(super) fn count_timeout(&mut self, agent: &str, open: bool) {
        let a = self.agent_mut(agent);
        if open {
            a.open_timeouts += 1;
            a.ever_timed_out = true;
        } else {
            a.open_timeouts = a.open_timeouts.saturating_sub(1);
        }
    }

    /// An event names an agent: it is known, and seen at the event's time.
    /// Returns whether the agent has ever timed out (so a heartbeat has an
    /// alert or a flap history to look at).
    pub(super) fn touch_agent(&mut self, id: &str, e: &Event, fx: &mut Vec<Effect>) -> bool {
        let (late_after, timeout) = (self.timing.late_after_ms, self.timing.agent_timeout_ms);
        let (now, ts_ms) = (self.now_ms(), self.ts_ms);
        let a = self.agent_mut(id);
        a.events += 1;
        let ever_timed_out = a.ever_timed_out;
        if matches!(
            e.kind,
            EventType::AgentTimeout | EventType::AgentWaiting | EventType::BudgetExceeded
        ) {
            return ever_timed_out; // a report about the agent, not a sign of life
        }
        let newest = a.last_seen.is_none_or(|t| e.ts >= t);
        let seen = a.last_seen.map_or(e.ts, |t| t.max(e.ts));
        a.last_seen = Some(seen);
        // The task it reports on is its current one (set here, where the agent is
        // at hand; `open_task` clears it if the task turns out to be finished).
        if let (Some(task), EventType::ProgressUpdate | EventType::TaskAssigned) =
            (&e.task, &e.kind)
        {
            if a.current_task.as_deref() != Some(task.as_str()) {
                a.current_task = Some(task.to_string());
            }
        }
        let from = a.liveness;
        let heartbeat = e.kind == EventType::AgentHeartbeat;
        if heartbeat {
            a.last_heartbeat = Some(a.last_heartbeat.map_or(e.ts, |t| t.max(e.ts)));
        }
        let going = e.status.as_deref().is_some_and(|s| {
            s.eq_ignore_ascii_case("offline") || s.eq_ignore_ascii_case("stopping")
        });
        let said = e.status.as_deref().and_then(Liveness::said);
        let seen_ms = if seen == e.ts {
            ts_ms
        } else {
            seen.timestamp_millis()
        };
        let age = now - seen_ms;
        // Past the timeout, age alone changes nothing: the tick derives the
        // timeout. An agent not yet heard from (a planned one, offline) that
        // speaks only of long ago is late, so that the tick finds it too.
        let by_age = if age <= late_after {
            Liveness::Healthy
        } else if age <= timeout || (from == Liveness::Offline && newest) {
            Liveness::Late
        } else {
            from
        };
        a.liveness = match from {
            _ if going => Liveness::Offline,
            // A standby backup stays in reserve until activated.
            Liveness::Standby => Liveness::Standby,
            // Only a heartbeat brings back a timed-out agent; other events are weaker.
            Liveness::TimedOut if !heartbeat => Liveness::TimedOut,
            // An event older than the newest seen says nothing about now.
            Liveness::Waiting | Liveness::Idle if !newest => from,
            // Its own word for a state that does not age.
            _ => match said {
                Some(word) if newest => word,
                _ => by_age,
            },
        };
        let to = a.liveness;
        if to == Liveness::Waiting {
            if from != Liveness::Waiting {
                a.waiting_since = Some(e.ts);
            }
            if let Some(m) = &e.message {
                a.waiting_for = Some(crate::text::clip_words(m, 120).to_string());
            }
        }
        let waited = from == Liveness::Waiting && to != Liveness::Waiting;
        if waited {
            a.waiting_since = None;
            a.waiting_alerted = false;
            a.waiting_for = None;
        }
        if from != to {
            a.log_liveness(e.ts, to);
            fx.push(Effect::Action(AutoAction::LivenessChanged {
                agent: id.to_string(),
                from,
                to,
            }));
            if to == Liveness::Offline {
                let pick = |a: &Alert| {
                    a.agent.as_deref() == Some(id)
                        && matches!(
                            a.trigger,
                            EventType::AgentTimeout
                                | EventType::CommunicationFailure
                                | EventType::AgentWaiting
                        )
                };
                self.supersede(pick, e.ts, &format!("{id} went offline"), fx);
            }
            if waited && to != Liveness::Offline {
                // It works again: the person answered.
                self.recover(e, Trigger::AgentWaiting, fx);
            }
        }
        ever_timed_out
    }

    /// Liveness by age at `now`; an agent past `agent_timeout` gets a derived
    /// `agent_timeout` event, dated when it timed out.
    pub(super) fn tick_agents(&mut self, now: Time, fx: &mut Vec<Effect>) {
        let (late_after, timeout) = (self.timing.late_after, self.timing.agent_timeout);
        let mut changes: Vec<(Time, String, Liveness, Liveness)> = Vec::new();
        let mut waited: Vec<(Time, String)> = Vec::new();
        for a in self.agents.values() {
            let Some(seen) = a.last_seen else { continue };
            if let (Liveness::Waiting, Some(since), false) =
                (a.liveness, a.waiting_since, a.waiting_alerted)
            {
                if now - since > self.timing.waiting_alert {
                    waited.push((since + self.timing.waiting_alert, a.id.clone()));
                }
            }
            // Standby and offline wait to be brought in; waiting and idle are
            // quiet by the agent's own word; a timed-out agent is already dead.
            if matches!(
                a.liveness,
                Liveness::Standby
                    | Liveness::Offline
                    | Liveness::TimedOut
                    | Liveness::Waiting
                    | Liveness::Idle
            ) {
                continue;
            }
            let age = now - seen;
            let to = if age > timeout {
                Liveness::TimedOut
            } else if age > late_after {
                Liveness::Late
            } else {
                Liveness::Healthy
            };
            if to != a.liveness {
                let due = match to {
                    Liveness::TimedOut => seen + timeout,
                    Liveness::Late => seen + late_after,
                    _ => seen,
                };
                changes.push((due, a.id.clone(), a.liveness, to));
            }
        }
        // In the order they fell due (then by name): a tick after a gap (a
        // console started late) sees each agent as it was when the next fell
        // due, and opens the timeouts in the order, so with the ids, that a
        // `coord status` projection in between showed.
        changes.sort();
        // Who lives on is known before the first timeout is handled: none of
        // this tick's dead is picked for another's task.
        let dying: std::collections::HashSet<&str> = changes
            .iter()
            .filter(|(.., to)| *to == Liveness::TimedOut)
            .map(|(_, id, ..)| id.as_str())
            .collect();
        if !dying.is_empty() {
            let alive = self.agents.values().filter(|a| {
                matches!(
                    a.liveness,
                    Liveness::Healthy | Liveness::Late | Liveness::Standby
                ) && !dying.contains(a.id.as_str())
            });
            self.takers = Some(alive.map(|a| a.id.clone()).collect());
        }
        for (_, id, from, to) in changes {
            if to == Liveness::TimedOut {
                let seen = self.agents[&id].last_seen.expect("checked");
                let mut e = Event::new(
                    EventType::AgentTimeout,
                    seen + timeout,
                    self.next_derived_id("agent_timeout"),
                );
                e.agent = Some(id.as_str().into());
                e.message = Some(compact_str::format_compact!(
                    "no heartbeat for {}",
                    crate::text::fmt_span(timeout)
                ));
                self.derive(e, fx);
            } else {
                let a = self.agent_mut(&id);
                a.liveness = to;
                a.log_liveness(now, to);
                fx.push(Effect::Action(AutoAction::LivenessChanged {
                    agent: id,
                    from,
                    to,
                }));
            }
        }
        self.takers = None;
        waited.sort();
        for (due, id) in waited {
            self.agent_waited(&id, due, fx);
        }
    }

    /// An agent waited on a person past `waiting_alert_minutes`: a derived
    /// `agent_waiting` event, dated when the limit passed, opens its alert.
    fn agent_waited(&mut self, id: &str, due: Time, fx: &mut Vec<Effect>) {
        let limit = crate::text::fmt_span(self.timing.waiting_alert);
        let a = self.agent_mut(id);
        a.waiting_alerted = true;
        // What it waits for, in its own last words.
        let what = a.waiting_for.clone();
        let mut e = Event::new(
            EventType::AgentWaiting,
            due,
            self.next_derived_id("agent_waiting"),
        );
        e.agent = Some(id.into());
        e.message = Some(match what {
            Some(w) => compact_str::format_compact!("waiting on a person for {limit}: {w}"),
            None => compact_str::format_compact!("waiting on a person for {limit}"),
        });
        self.derive(e, fx);
    }

    /// The agents that could take a task or be brought in: `takers` during a
    /// tick's timeouts, else all.
    fn candidates(&self) -> impl Iterator<Item = &Agent> {
        let listed = self
            .takers
            .as_deref()
            .map(|ids| ids.iter().filter_map(|id| self.agents.get(id.as_str())));
        let all = listed.is_none().then(|| self.agents.values());
        listed
            .into_iter()
            .flatten()
            .chain(all.into_iter().flatten())
    }

    /// The agent_timeout row's automatic actions: mark it timed out, activate a
    /// standby backup, reassign its open tasks (or escalate to human).
    pub(super) fn agent_timed_out(
        &mut self,
        id: &str,
        alert: u64,
        at: Time,
        actions: &mut Vec<String>,
        fx: &mut Vec<Effect>,
    ) {
        let a = self.agent_mut(id);
        let from = a.liveness;
        a.liveness = Liveness::TimedOut;
        a.current_task = None;
        if from != Liveness::TimedOut {
            a.log_liveness(at, Liveness::TimedOut);
            fx.push(Effect::Action(AutoAction::LivenessChanged {
                agent: id.to_string(),
                from,
                to: Liveness::TimedOut,
            }));
        }
        let tasks: Vec<String> = self.agents[id].open_tasks.iter().cloned().collect();
        let needs: Vec<String> = tasks.iter().flat_map(|t| self.needs(t)).collect();
        if let Some(backup) = self.activate_backup(id, &needs, at, fx) {
            actions.push(format!("backup {backup} activated"));
        }
        if tasks.is_empty() {
            actions.push("no open tasks to reassign".into());
        }
        let max = self.timing.max_auto_reassignments;
        for t in tasks {
            let moved = self.tasks[&t].auto_reassignments;
            if moved >= max {
                let reason = format!("task {t} would pass max_automated_reassignments ({max})");
                actions.push(format!("{t} not moved: reassigned {moved} times already"));
                self.escalate_to_human(alert, at, reason, fx);
                continue;
            }
            match self.pick_target(&t, id) {
                Some(to) => {
                    actions.push(format!("{t} → {to}"));
                    self.move_task(
                        &t,
                        &to,
                        true,
                        format!("agent {id} timed out"),
                        Some(alert),
                        at,
                        fx,
                    );
                }
                None => {
                    actions.push(format!("{t} not moved: no healthy agent can take it"));
                    self.escalate_to_human(
                        alert,
                        at,
                        format!("no healthy agent can take task {t}"),
                        fx,
                    );
                }
            }
        }
    }

    /// Capabilities a task needs: its component's, from the plan.
    fn needs(&self, task: &str) -> Vec<String> {
        self.tasks
            .get(task)
            .and_then(|t| t.component.as_ref())
            .and_then(|c| self.components.get(c))
            .map(|c| c.capabilities.clone())
            .unwrap_or_default()
    }

    /// An activated backup if one can take it, else the healthy agent with the
    /// fewest open tasks that has the capability; ties by name.
    fn pick_target(&self, task: &str, dead: &str) -> Option<String> {
        let needs = self.needs(task);
        let best = |backups: bool| {
            self.candidates()
                .filter(|a| {
                    a.activated == backups && self.healthy(a) && a.id != dead && a.can_do(&needs)
                })
                .min_by(|a, b| {
                    a.open_tasks
                        .len()
                        .cmp(&b.open_tasks.len())
                        .then_with(|| a.id.cmp(&b.id))
                })
                .map(|a| a.id.clone())
        };
        best(true).or_else(|| best(false))
    }

    /// Brings in the first standby backup (by name) that can do the dead agent's
    /// work, or any standby backup if none matches exactly.
    fn activate_backup(
        &mut self,
        replacing: &str,
        needs: &[String],
        at: Time,
        fx: &mut Vec<Effect>,
    ) -> Option<String> {
        let mut standby: Vec<&Agent> = self
            .candidates()
            .filter(|a| a.liveness == Liveness::Standby)
            .collect();
        standby.sort_by(|a, b| a.id.cmp(&b.id));
        let pick = standby
            .iter()
            .find(|a| a.can_do(needs))
            .or(standby.first())?
            .id
            .clone();
        let a = self.agent_mut(&pick);
        a.liveness = Liveness::Healthy;
        a.activated = true;
        // Activation counts as being seen, so the backup gets a full timeout to report in.
        a.last_seen = Some(a.last_seen.map_or(at, |t| t.max(at)));
        fx.push(Effect::Action(AutoAction::LivenessChanged {
            agent: pick.clone(),
            from: Liveness::Standby,
            to: Liveness::Healthy,
        }));
        fx.push(Effect::Action(AutoAction::BackupActivated {
            agent: pick.clone(),
            replacing: replacing.to_string(),
        }));
        self.notify(
            fx,
            NotifyClass::Agents,
            "backup_activated",
            at,
            json!({"agent": pick, "replacing": replacing}),
        );
        Some(pick)
    }

    /// Moves a task between agents. Automatic moves count against the limit.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn move_task(
        &mut self,
        task: &str,
        to: &str,
        automatic: bool,
        reason: String,
        alert: Option<u64>,
        at: Time,
        fx: &mut Vec<Effect>,
    ) {
        let t = self.tasks.get_mut(task).expect("task exists");
        let from = t.agent.replace(to.to_string());
        if automatic {
            t.auto_reassignments += 1;
        }
        if let Some(f) = &from {
            if let Some(a) = self.agents.get_mut(f) {
                a.open_tasks.remove(task);
                if a.current_task.as_deref() == Some(task) {
                    a.current_task = None;
                }
            }
        }
        self.agent_mut(to).open_tasks.insert(task.to_string());
        fx.push(Effect::Action(AutoAction::TaskReassigned {
            task: task.to_string(),
            from: from.clone(),
            to: to.to_string(),
            reason: reason.clone(),
            automatic,
            alert,
        }));
        self.notify(
            fx,
            NotifyClass::Agents,
            "task_reassigned",
            at,
            json!({"task": task, "from": from, "to": to, "reason": reason}),
        );
    }

    /// `task_assigned`, or a `progress_update` naming a task: the task is open and
    /// owned by the event's agent.
    pub(super) fn open_task(
        &mut self,
        task: &str,
        agent: Option<&str>,
        component: Option<&str>,
        assign: bool,
        at: Time,
        fx: &mut Vec<Effect>,
    ) {
        if !self.tasks.contains_key(task) && self.closed.contains(task) {
            // A late report about finished work: it is nobody's current task.
            if let Some(a) = agent.and_then(|a| self.agents.get_mut(a)) {
                if a.current_task.as_deref() == Some(task) {
                    a.current_task = None;
                }
            }
            return;
        }
        let t = self.tasks.entry_ref(task).or_insert_with(|| Task {
            agent: None,
            component: None,
            auto_reassignments: 0,
            opened: at,
        });
        if t.component.is_none() {
            t.component = component.map(str::to_string);
        }
        let Some(agent) = agent else { return };
        match t.agent.as_deref() {
            Some(owner) if owner == agent => {}
            Some(_) => {
                // Only an assignment moves a task; progress from another agent does not.
                if assign {
                    self.move_task(task, agent, false, "task_assigned".into(), None, at, fx);
                }
            }
            None => {
                t.agent = Some(agent.to_string());
                self.agent_mut(agent).open_tasks.insert(task.to_string());
            }
        }
    }

    pub(super) fn close_task(&mut self, task: &str) {
        let Some((id, t)) = self.tasks.remove_entry(task) else {
            return;
        };
        self.closed.insert(&id, &t);
        if let Some(owner) = &t.agent {
            if let Some(a) = self.agents.get_mut(owner) {
                a.open_tasks.remove(task);
                if a.current_task.as_deref() == Some(task) {
                    a.current_task = a.open_tasks.iter().next().cloned();
                }
            }
        }
    }

    /// The blocker row's "alternative path analysis": unblocked components of the
    /// current phase still to finish, open tasks, idle healthy agents.
    pub(super) fn alternative_paths(
        &self,
        blocked: Option<&str>,
    ) -> (Vec<String>, usize, Vec<String>) {
        let mut components: Vec<String> = self
            .phases
            .get(self.current)
            .map(|p| {
                p.components
                    .iter()
                    .filter(|c| Some(c.as_str()) != blocked)
                    .filter(|c| {
                        self.components
                            .get(*c)
                            .is_some_and(|c| !c.blocked() && c.progress < 100.0)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        components.sort();
        let open_tasks = self.tasks.len();
        let mut idle: Vec<String> = self
            .agents
            .values()
            .filter(|a| self.healthy(a) && a.open_tasks.is_empty())
            .map(|a| a.id.clone())
            .collect();
        idle.sort();
        (components, open_tasks, idle)
    }
}
