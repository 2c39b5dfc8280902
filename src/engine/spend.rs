//! Spend (SPEC 6): what events say they cost (`cost_usd`, `tokens`), added up
//! per agent, per component and per phase, against the budgets a plan sets on
//! agents and phases. Crossing 80 % tells the PM channel once; crossing the
//! budget opens a `budget_exceeded` alert (derived, like a timeout).

use super::{Effect, Engine, NotifyClass, Time};
use crate::model::{Event, EventType};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The share of a budget at which the PM channel is told.
pub const WARN_AT: f64 = 0.8;

/// Spend of one agent, component or phase, and its budget if it has one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Spend {
    pub cost_usd: f64,
    pub tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// 80 % of the budget was passed (told once).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warned: bool,
    /// The budget was passed (an alert opened once).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exceeded: bool,
}

/// What one addition crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Crossed {
    Nothing,
    Warning,
    Budget,
}

impl Spend {
    pub fn is_empty(&self) -> bool {
        *self == Spend::default()
    }

    /// The budget's share spent, when there is a budget.
    pub fn used(&self) -> Option<f64> {
        self.budget_usd
            .filter(|b| *b > 0.0)
            .map(|b| self.cost_usd / b)
    }

    fn add(&mut self, cost: f64, tokens: u64) -> Crossed {
        self.cost_usd += cost;
        self.tokens = self.tokens.saturating_add(tokens);
        let Some(budget) = self.budget_usd else {
            return Crossed::Nothing;
        };
        if !self.exceeded && self.cost_usd > budget {
            // Passing the budget in one step says the warning too: it is not sent apart.
            self.exceeded = true;
            self.warned = true;
            return Crossed::Budget;
        }
        if !self.warned && self.cost_usd >= budget * WARN_AT {
            self.warned = true;
            return Crossed::Warning;
        }
        Crossed::Nothing
    }
}

/// "$12.40".
pub fn dollars(v: f64) -> String {
    format!("${v:.2}")
}

impl Engine {
    /// Adds what `e` says it spent to its agent, its component and its phase
    /// (the phase it names, else its component's, else the current one).
    pub(super) fn add_spend(
        &mut self,
        e: &Event,
        component_phase: Option<usize>,
        fx: &mut Vec<Effect>,
    ) {
        let (cost, tokens) = e.spend();
        if cost == 0.0 && tokens == 0 {
            return;
        }
        let at = e.ts;
        if let Some(c) = &e.component {
            if let Some(c) = self.components.get_mut(c.as_str()) {
                c.spend.add(cost, tokens);
            }
        }
        if let Some(agent) = &e.agent {
            let crossed = self.agent_mut(agent).spend.add(cost, tokens);
            let spend = self.agents[agent.as_str()].spend.clone();
            self.budget_crossed(crossed, ("agent", agent), &spend, at, fx);
        }
        let named = e
            .phase
            .as_deref()
            .and_then(|p| self.phases.iter().position(|x| x.id == p));
        let phase = named.or(component_phase).unwrap_or(self.current);
        if let Some(p) = self.phases.get_mut(phase) {
            let crossed = p.spend.add(cost, tokens);
            let (id, spend) = (p.id.clone(), p.spend.clone());
            self.budget_crossed(crossed, ("phase", &id), &spend, at, fx);
        }
    }

    /// The warning to the PM channel, or the derived `budget_exceeded` event.
    fn budget_crossed(
        &mut self,
        crossed: Crossed,
        (what, id): (&str, &str),
        spend: &Spend,
        at: Time,
        fx: &mut Vec<Effect>,
    ) {
        let budget = spend.budget_usd.unwrap_or(0.0);
        let said = format!(
            "{what} {id} spent {} of its {} budget",
            dollars(spend.cost_usd),
            dollars(budget)
        );
        match crossed {
            Crossed::Nothing => {}
            Crossed::Warning => self.notify(
                fx,
                NotifyClass::PmHigh,
                "budget_warning",
                at,
                json!({what: id, "cost_usd": spend.cost_usd, "budget_usd": budget, "message": said}),
            ),
            Crossed::Budget => {
                let mut e = Event::new(
                    EventType::BudgetExceeded,
                    at,
                    self.next_derived_id("budget_exceeded"),
                );
                match what {
                    "agent" => e.agent = Some(id.into()),
                    _ => e.phase = Some(id.into()),
                }
                e.message = Some(said.into());
                self.derive(e, fx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_warns_once_then_is_exceeded_once() {
        let mut s = Spend {
            budget_usd: Some(10.0),
            ..Spend::default()
        };
        assert_eq!(s.add(5.0, 100), Crossed::Nothing);
        assert_eq!(s.add(3.0, 100), Crossed::Warning);
        assert_eq!(s.add(1.0, 0), Crossed::Nothing);
        assert_eq!(s.add(2.0, 0), Crossed::Budget);
        assert_eq!(s.add(2.0, 0), Crossed::Nothing);
        assert_eq!((s.cost_usd, s.tokens), (13.0, 200));
        // Past the budget in one step: the alert, and no warning after it.
        let mut s = Spend {
            budget_usd: Some(1.0),
            ..Spend::default()
        };
        assert_eq!(s.add(5.0, 0), Crossed::Budget);
        assert_eq!(s.add(5.0, 0), Crossed::Nothing);
        // No budget: only sums.
        let mut s = Spend::default();
        assert_eq!(s.add(500.0, 1), Crossed::Nothing);
        assert_eq!(s.used(), None);
    }
}
