//! The crisis response matrix (SPEC 5.1): for each trigger its level, response
//! window, opening escalation and time-based human escalation, with the rows of
//! `coord.json`'s `crisis_matrix` laid over the defaults.

use crate::config::{Config, RowOverride};
use crate::model::{Escalation, EventType, Level};
use chrono::TimeDelta;

/// The triggers of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    AgentTimeout,
    QualityGateFailure,
    BlockerDetected,
    SystemFailure,
    CommunicationFailure,
    TaskFailed,
    AgentWaiting,
    BudgetExceeded,
}

impl Trigger {
    pub const ALL: [Trigger; 8] = [
        Trigger::AgentTimeout,
        Trigger::QualityGateFailure,
        Trigger::BlockerDetected,
        Trigger::SystemFailure,
        Trigger::CommunicationFailure,
        Trigger::TaskFailed,
        Trigger::AgentWaiting,
        Trigger::BudgetExceeded,
    ];

    pub fn of(kind: &EventType) -> Option<Trigger> {
        Some(match kind {
            EventType::AgentTimeout => Trigger::AgentTimeout,
            EventType::QualityGateFailure => Trigger::QualityGateFailure,
            EventType::BlockerDetected => Trigger::BlockerDetected,
            EventType::SystemFailure => Trigger::SystemFailure,
            EventType::CommunicationFailure => Trigger::CommunicationFailure,
            EventType::TaskFailed => Trigger::TaskFailed,
            EventType::AgentWaiting => Trigger::AgentWaiting,
            EventType::BudgetExceeded => Trigger::BudgetExceeded,
            _ => return None,
        })
    }

    /// The trigger a recovery event answers (SPEC 5.2 rule 10). A heartbeat answers
    /// an agent timeout; a completed task the failure of its command. (An agent
    /// that works again answers its `agent_waiting` in `touch_agent`.)
    pub fn answered_by(kind: &EventType) -> Option<Trigger> {
        Some(match kind {
            EventType::AgentHeartbeat => Trigger::AgentTimeout,
            EventType::QualityGatePassed => Trigger::QualityGateFailure,
            EventType::BlockerResolved => Trigger::BlockerDetected,
            EventType::SystemRecovered => Trigger::SystemFailure,
            EventType::CommunicationRestored => Trigger::CommunicationFailure,
            EventType::TaskCompleted => Trigger::TaskFailed,
            _ => return None,
        })
    }

    pub fn event_type(self) -> EventType {
        match self {
            Trigger::AgentTimeout => EventType::AgentTimeout,
            Trigger::QualityGateFailure => EventType::QualityGateFailure,
            Trigger::BlockerDetected => EventType::BlockerDetected,
            Trigger::SystemFailure => EventType::SystemFailure,
            Trigger::CommunicationFailure => EventType::CommunicationFailure,
            Trigger::TaskFailed => EventType::TaskFailed,
            Trigger::AgentWaiting => EventType::AgentWaiting,
            Trigger::BudgetExceeded => EventType::BudgetExceeded,
        }
    }
}

/// One row of the matrix, resolved against the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub trigger: Trigger,
    pub level: Level,
    pub respond_within: TimeDelta,
    /// The PM-alert column as an escalation tier: `Human` for "immediately".
    pub open_at: Escalation,
    /// Time-based human escalation ("unresolved after 6 h"), if the row has one.
    pub human_after: Option<TimeDelta>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: [Row; 8],
}

impl Default for Matrix {
    fn default() -> Matrix {
        Matrix::from_config(&Config::default())
    }
}

fn secs(s: f64) -> TimeDelta {
    TimeDelta::milliseconds((s * 1000.0).round() as i64)
}

impl Matrix {
    pub fn from_config(cfg: &Config) -> Matrix {
        let rows = Trigger::ALL.map(|trigger| {
            let (level, respond, open_at, human_after) = match trigger {
                Trigger::AgentTimeout => (Level::High, 120.0, Escalation::Pm, None),
                Trigger::QualityGateFailure => (
                    Level::High,
                    60.0,
                    Escalation::Pm,
                    Some(cfg.quality_recovery_timeout()),
                ),
                Trigger::BlockerDetected => (
                    Level::Medium,
                    180.0,
                    Escalation::Pm,
                    Some(cfg.blocker_escalation()),
                ),
                Trigger::SystemFailure => (Level::Critical, 30.0, Escalation::Human, None),
                Trigger::CommunicationFailure => (
                    Level::High,
                    60.0,
                    Escalation::Pm,
                    Some(cfg.communication_timeout()),
                ),
                Trigger::TaskFailed => (Level::Medium, 180.0, Escalation::Pm, None),
                Trigger::AgentWaiting => (Level::Medium, 120.0, Escalation::Pm, None),
                Trigger::BudgetExceeded => (Level::High, 300.0, Escalation::Pm, None),
            };
            let mut row = Row {
                trigger,
                level,
                respond_within: secs(respond),
                open_at,
                human_after,
            };
            if let Some(o) = override_for(cfg, trigger) {
                row.level = o.level.unwrap_or(row.level);
                row.respond_within = o.respond_within_seconds.map_or(row.respond_within, secs);
                row.open_at = o.open_at.unwrap_or(row.open_at);
                if let Some(minutes) = o.human_after_minutes {
                    row.human_after = Some(secs(minutes * 60.0));
                }
            }
            row
        });
        Matrix { rows }
    }

    pub fn row(&self, trigger: Trigger) -> &Row {
        &self.rows[trigger as usize]
    }

    pub fn rows(&self) -> &[Row; 8] {
        &self.rows
    }
}

fn override_for(cfg: &Config, trigger: Trigger) -> Option<&RowOverride> {
    let m = &cfg.crisis_matrix;
    match trigger {
        Trigger::AgentTimeout => m.agent_timeout.as_ref(),
        Trigger::QualityGateFailure => m.quality_gate_failure.as_ref(),
        Trigger::BlockerDetected => m.blocker_detected.as_ref(),
        Trigger::SystemFailure => m.system_failure.as_ref(),
        Trigger::CommunicationFailure => m.communication_failure.as_ref(),
        Trigger::TaskFailed => m.task_failed.as_ref(),
        Trigger::AgentWaiting => m.agent_waiting.as_ref(),
        Trigger::BudgetExceeded => m.budget_exceeded.as_ref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rows_are_the_spec_table() {
        let m = Matrix::from_config(&Config::default());
        let table = [
            (
                Trigger::AgentTimeout,
                Level::High,
                120,
                Escalation::Pm,
                None,
            ),
            (
                Trigger::QualityGateFailure,
                Level::High,
                60,
                Escalation::Pm,
                Some(30 * 60),
            ),
            (
                Trigger::BlockerDetected,
                Level::Medium,
                180,
                Escalation::Pm,
                Some(6 * 3600),
            ),
            (
                Trigger::SystemFailure,
                Level::Critical,
                30,
                Escalation::Human,
                None,
            ),
            (
                Trigger::CommunicationFailure,
                Level::High,
                60,
                Escalation::Pm,
                Some(10 * 60),
            ),
            (
                Trigger::TaskFailed,
                Level::Medium,
                180,
                Escalation::Pm,
                None,
            ),
            (
                Trigger::AgentWaiting,
                Level::Medium,
                120,
                Escalation::Pm,
                None,
            ),
            (
                Trigger::BudgetExceeded,
                Level::High,
                300,
                Escalation::Pm,
                None,
            ),
        ];
        for (t, level, respond, open_at, human) in table {
            let row = m.row(t);
            assert_eq!(row.level, level, "{t:?}");
            assert_eq!(row.respond_within.num_seconds(), respond, "{t:?}");
            assert_eq!(row.open_at, open_at, "{t:?}");
            assert_eq!(row.human_after.map(|d| d.num_seconds()), human, "{t:?}");
        }
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let mut cfg = Config::default();
        cfg.crisis_matrix.blocker_detected = Some(RowOverride {
            level: Some(Level::High),
            respond_within_seconds: None,
            open_at: None,
            human_after_minutes: Some(90.0),
        });
        let m = Matrix::from_config(&cfg);
        let row = m.row(Trigger::BlockerDetected);
        assert_eq!(row.level, Level::High);
        assert_eq!(row.respond_within.num_seconds(), 180);
        assert_eq!(row.human_after.unwrap().num_minutes(), 90);
    }
}
