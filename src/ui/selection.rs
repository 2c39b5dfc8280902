//! What each pane has selected, held by identity: the orders the panes draw
//! (refreshed from the engine by `App::sync`) and the cursor in each, which
//! follows its item (an agent, an alert, a component) wherever a re-sort puts
//! it. The Events cursor is counted from the newest entry shown.

use super::filter::Filter;
use crate::engine::agents::Liveness;
use crate::engine::alerts::{Alert, Status};
use crate::engine::Engine;

/// One alert of the matrix's current order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertRow {
    pub id: u64,
    pub open: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// The selected stream entry, counted from the newest shown (0 = newest).
    pub events: usize,
    /// Agents worst first, filtered.
    pub agent_order: Vec<String>,
    pub agents: usize,
    /// Alerts worst first, filtered.
    pub alert_order: Vec<AlertRow>,
    pub alerts: usize,
    /// The selected alert left the list (resolved, filtered out): nothing is
    /// selected until the operator moves, so a key meant for it never lands
    /// on the alert that took its row.
    pub gone: Option<u64>,
    /// The current phase's components, in the plan's order.
    pub component_order: Vec<String>,
    pub component: usize,
}

/// The position of `want` in `order`, if it is there.
fn find<T: PartialEq>(order: &[T], want: Option<T>) -> Option<usize> {
    let want = want?;
    order.iter().position(|x| *x == want)
}

impl Selection {
    /// The selected alert, if any.
    pub fn alert(&self) -> Option<AlertRow> {
        if self.gone.is_some() {
            return None;
        }
        self.alert_order.get(self.alerts).copied()
    }

    /// Puts the cursor on row `i` (clamped): the operator chose it.
    pub fn pick_alert(&mut self, i: usize) {
        self.gone = None;
        self.alerts = i.min(self.alert_order.len().saturating_sub(1));
    }

    /// Agents by liveness, worst first (timed out, late, offline, healthy,
    /// standby), then by name: an order that heartbeats do not shuffle. The
    /// keys are sorted side by side (10k agents: no pointer chasing), and the
    /// names are copied only where the order changed.
    pub fn sync_agents(&mut self, engine: &Engine, filter: &Filter) {
        let keep = self.agent_order.get(self.agents).cloned();
        let filter = filter.for_agents();
        let mut agents: Vec<(Liveness, &str)> = engine
            .agents
            .values()
            .filter(|a| filter.matches_agent(a))
            .map(|a| (a.liveness, a.id.as_str()))
            .collect();
        agents.sort_unstable();
        self.agent_order.truncate(agents.len());
        for (i, (_, id)) in agents.iter().enumerate() {
            match self.agent_order.get_mut(i) {
                Some(have) if have == id => {}
                Some(have) => (*id).clone_into(have),
                None => self.agent_order.push(id.to_string()),
            }
        }
        if let Some(i) = find(&self.agent_order, keep) {
            self.agents = i;
        }
        self.agents = self.agents.min(self.agent_order.len().saturating_sub(1));
    }

    /// Alerts: open first; level, unacknowledged, SLA breached, oldest first
    /// (resolved ones newest first).
    pub fn sync_alerts(&mut self, engine: &Engine, filter: &Filter, resolved_too: bool) {
        let keep = self.alert().map(|r| r.id);
        let mut alerts: Vec<&Alert> = if resolved_too {
            engine.alerts.all().iter().collect()
        } else {
            engine.alerts.open().collect()
        };
        alerts.retain(|a| filter.matches_alert(a));
        alerts.sort_unstable_by(|a, b| {
            b.is_open()
                .cmp(&a.is_open())
                .then_with(|| b.level.cmp(&a.level))
                .then_with(|| {
                    (a.status == Status::Acknowledged).cmp(&(b.status == Status::Acknowledged))
                })
                .then_with(|| b.sla_breached.cmp(&a.sla_breached))
                .then_with(|| {
                    if a.is_open() {
                        a.id.cmp(&b.id)
                    } else {
                        b.id.cmp(&a.id)
                    }
                })
        });
        self.alert_order.clear();
        self.alert_order.extend(alerts.iter().map(|a| AlertRow {
            id: a.id,
            open: a.is_open(),
        }));
        if let Some(id) = keep {
            match self.alert_order.iter().position(|r| r.id == id) {
                Some(i) => self.alerts = i,
                None => self.gone = Some(id),
            }
        }
        self.alerts = self.alerts.min(self.alert_order.len().saturating_sub(1));
    }

    /// The current phase's components.
    pub fn sync_components(&mut self, engine: &Engine) {
        let keep = self.component_order.get(self.component).cloned();
        self.component_order.clear();
        if let Some(p) = engine.current_phase() {
            self.component_order.extend(p.components.iter().cloned());
        }
        if let Some(i) = find(&self.component_order, keep) {
            self.component = i;
        }
        self.component = self
            .component
            .min(self.component_order.len().saturating_sub(1));
    }
}
