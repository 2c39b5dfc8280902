//! Classification (SPEC 4): every event gets a category and a level, in this exact
//! order — the matrix's level for its trigger; at least High for a crisis on a
//! component of the current phase; an explicit `severity` overrides both;
//! `coordination_alert` takes its severity, default Medium. Nothing here looks at
//! substrings of the type name (the seed's bug: "any type containing failure").

use super::matrix::{Matrix, Trigger};
use crate::model::{Category, Event, EventType, Level};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    pub category: Category,
    pub level: Level,
    /// True when the event opens (or repeats) an alert.
    pub alerts: bool,
    /// The level its row in the stream carries: an alerting event's, or an
    /// explicit severity; none for chatter. Every view takes it from here.
    pub shown: Option<Level>,
}

/// `in_current_phase`: the event names a component of the current phase.
pub fn classify(event: &Event, matrix: &Matrix, in_current_phase: bool) -> Class {
    let category = event.category();
    let (level, alerts) = if let Some(trigger) = Trigger::of(&event.kind) {
        let mut level = matrix.row(trigger).level;
        if category == Category::Crisis && in_current_phase {
            level = level.max(Level::High);
        }
        (event.severity.unwrap_or(level), true)
    } else if event.kind == EventType::CoordinationAlert {
        (event.severity.unwrap_or(Level::Medium), true)
    } else {
        (event.severity.unwrap_or(Level::Low), false)
    };
    Class {
        category,
        level,
        alerts,
        shown: (alerts || event.severity.is_some()).then_some(level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ev(kind: &str, severity: Option<Level>) -> Event {
        let mut e = Event::new(EventType::from_name(kind), Default::default(), "x");
        e.severity = severity;
        e
    }

    /// (type, severity, on a current-phase component) → (level, opens an alert).
    #[test]
    fn every_type_in_the_exact_order() {
        use Level::*;
        let m = Matrix::from_config(&Config::default());
        let table: &[(&str, Option<Level>, bool, Level, bool)] = &[
            ("agent_timeout", None, false, High, true),
            ("quality_gate_failure", None, false, High, true),
            ("blocker_detected", None, false, Medium, true),
            // rule 2: a crisis on a current-phase component is at least High
            ("blocker_detected", None, true, High, true),
            ("system_failure", None, true, Critical, true),
            ("communication_failure", None, false, High, true),
            // communication_failure is a coordination event, not a crisis
            ("communication_failure", None, true, High, true),
            // rule 3: explicit severity overrides both, up or down
            ("blocker_detected", Some(Low), true, Low, true),
            ("agent_timeout", Some(Critical), false, Critical, true),
            ("system_failure", Some(Medium), false, Medium, true),
            // rule 4: coordination_alert takes its severity, default Medium
            ("coordination_alert", None, false, Medium, true),
            ("coordination_alert", Some(Critical), false, Critical, true),
            ("coordination_alert", None, true, Medium, true),
            // the rest opens nothing; Low unless told otherwise
            ("progress_update", None, true, Low, false),
            ("component_completion", None, false, Low, false),
            ("task_assigned", None, false, Low, false),
            ("task_completed", None, false, Low, false),
            ("blocker_resolved", None, true, Low, false),
            ("quality_gate_passed", None, true, Low, false),
            ("system_recovered", None, false, Low, false),
            ("phase_completion", None, false, Low, false),
            ("epic_milestone", None, false, Low, false),
            ("criterion_met", None, false, Low, false),
            ("agent_heartbeat", None, false, Low, false),
            ("communication_restored", None, false, Low, false),
            // the seed's substring rule is not repeated
            ("deployment_failure", None, true, Low, false),
            ("build_failure", Some(High), false, High, false),
        ];
        for &(kind, sev, current, level, alerts) in table {
            let c = classify(&ev(kind, sev), &m, current);
            assert_eq!(
                (c.level, c.alerts),
                (level, alerts),
                "{kind} {sev:?} {current}"
            );
        }
    }
}
