//! Timeline scenarios for the alert lifecycle, rules 1–12 of SPEC 5.2, on a
//! virtual clock. Each test is named after its rule.

mod support;

use coord::engine::agents::Liveness;
use coord::engine::alerts::{Resolution, Status};
use coord::engine::{Action, Actor, Effect, NotifyClass};
use coord::model::{Escalation, Level};
use serde_json::json;
use support::Sim;

fn coordination(severity: &str) -> serde_json::Value {
    // Names a component, not an agent: an agent named once and then silent would
    // time out and raise alerts of its own.
    json!({"type": "coordination_alert", "component": "queue", "severity": severity, "message": "check the queue"})
}

fn ack(id: u64) -> Action {
    Action::Acknowledge {
        alert: id,
        note: None,
    }
}

#[test]
fn rule_1_a_new_key_opens_a_triggered_alert_with_its_deadline_and_escalation_timer() {
    let mut sim = Sim::new();
    sim.at(10).push(coordination("medium"));
    let a = sim.alert(1);
    assert_eq!(
        (a.status, a.level, a.escalation, a.count),
        (Status::Triggered, Level::Medium, Escalation::Pm, 1)
    );
    assert_eq!(
        sim.secs(a.response_due.unwrap()),
        10 + 300,
        "Medium responds within 300 s"
    );
    assert_eq!(sim.secs(a.escalate_at.unwrap()), 10 + 15 * 60);
    assert_eq!(sim.transitions(1), ["opened"]);
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmHigh, "alert_opened".to_string())]
    );
    // A different key (another agent) is another alert.
    sim.at(11)
        .push(json!({"type": "coordination_alert", "component": "db", "severity": "medium"}));
    assert_eq!(sim.open_alerts().len(), 2);
}

#[test]
fn rule_2_the_same_key_counts_without_notifying_and_a_higher_level_raises_and_clears_the_ack() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("medium"));
    sim.at(5).op("ana", ack(1));
    sim.at(20).push(coordination("low"));
    let a = sim.alert(1);
    assert_eq!((a.count, sim.secs(a.last_seen)), (2, 20));
    assert_eq!(a.level, Level::Medium, "a lower level does not lower it");
    assert_eq!(a.status, Status::Acknowledged);
    assert!(sim.notified().is_empty(), "no new notification");
    assert_eq!(sim.transitions(1), ["repeated"]);
    sim.at(30).push(coordination("critical"));
    let a = sim.alert(1);
    assert_eq!(
        (a.count, a.level, a.status),
        (3, Level::Critical, Status::Triggered)
    );
    assert_eq!(a.ack_owner, None, "the acknowledgement is cleared");
    assert_eq!(sim.transitions(1), ["level_raised"]);
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmCritical, "alert_level_raised".to_string())]
    );
}

#[test]
fn rule_3_the_same_key_after_resolution_opens_a_new_linked_alert() {
    let mut sim = Sim::new();
    sim.at(0)
        .push(json!({"type": "blocker_detected", "component": "db", "agent": "be-1"}));
    sim.at(60)
        .push(json!({"type": "blocker_resolved", "component": "db"}));
    sim.at(120)
        .push(json!({"type": "blocker_detected", "component": "db", "agent": "be-1"}));
    let b = sim.alert(2);
    assert_eq!(b.reopened_of, Some(1));
    assert_eq!((b.status, b.count), (Status::Triggered, 1));
    assert_eq!(sim.alert(1).status, Status::Resolved);
}

#[test]
fn rule_4_acknowledge_records_the_owner_stops_escalation_and_the_ack_times_out() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("high"));
    sim.at(30).op(
        "ana",
        Action::Acknowledge {
            alert: 1,
            note: Some("looking".into()),
        },
    );
    let a = sim.alert(1);
    assert_eq!(
        (a.status, a.ack_owner.as_deref()),
        (Status::Acknowledged, Some("ana"))
    );
    assert_eq!(a.notes[0].text, "looking");
    assert_eq!(a.escalate_at, None, "the escalation timer stops");
    assert_eq!(sim.secs(a.ack_expires_at.unwrap()), 30 + 15 * 60);
    assert_eq!(sim.secs(a.responded_at.unwrap()), 30);
    assert!(matches!(&sim.fx[0], Effect::Transition(t) if t.by == Actor::Operator("ana".into())));
    // No escalation while acknowledged, past the first 15 minutes.
    sim.at(15 * 60 + 10).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Pm);
    sim.at(30 + 15 * 60).tick();
    let a = sim.alert(1);
    assert_eq!(a.status, Status::Triggered, "back to Triggered");
    assert_eq!(a.ack_owner, None, "nobody owns it any more");
    assert_eq!(sim.transitions(1), ["ack_expired"]);
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmHigh, "alert_retriggered".to_string())]
    );
    // …and the escalation timer runs again from then.
    sim.at(30 + 30 * 60).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Human);
}

#[test]
fn rule_5_a_missed_response_deadline_breaches_the_sla_and_escalates() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("medium"));
    sim.at(299).tick();
    assert!(!sim.alert(1).sla_breached);
    sim.at(300).tick();
    let a = sim.alert(1);
    assert!(a.sla_breached);
    assert_eq!(a.escalation, Escalation::Human);
    assert_eq!(sim.transitions(1), ["sla_breached", "escalated"]);
    // Responding in time prevents it.
    sim.at(1000)
        .push(json!({"type": "coordination_alert", "component": "other"}));
    sim.at(1100).op("ana", ack(2));
    sim.at(2000).tick();
    assert!(!sim.alert(2).sla_breached);
}

#[test]
fn rule_6_unacknowledged_for_the_escalation_timeout_escalates_one_level_at_a_time() {
    let mut sim = Sim::with_config(
        json!({"crisis_response_config": {"low_response_time_seconds": 100000}}),
        None,
    );
    sim.at(0).push(coordination("low"));
    assert_eq!(
        sim.alert(1).escalation,
        Escalation::Automated,
        "informational"
    );
    assert_eq!(
        sim.notified(),
        [(NotifyClass::System, "alert_opened".to_string())]
    );
    sim.at(15 * 60 - 1).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Automated);
    sim.at(15 * 60).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Pm);
    sim.at(30 * 60).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Human);
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmCritical, "human_escalation".to_string())]
    );
    assert_eq!(sim.alert(1).escalate_at, None);
    // Catching up: one late tick fires every deadline due, in order.
    let mut late = Sim::with_config(
        json!({"crisis_response_config": {"low_response_time_seconds": 100000}}),
        None,
    );
    late.at(0).push(coordination("low"));
    late.at(3600).tick();
    assert_eq!(late.transitions(1), ["escalated", "escalated"]);
}

#[test]
fn rule_7_operator_escalate_goes_one_level_up_and_back_to_triggered() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("high"));
    sim.at(10).op("ana", ack(1));
    sim.at(20).op("ana", Action::Escalate { alert: 1 });
    let a = sim.alert(1);
    assert_eq!(
        (a.escalation, a.status),
        (Escalation::Human, Status::Triggered)
    );
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmCritical, "human_escalation".to_string())]
    );
    sim.at(30).op("ana", Action::Escalate { alert: 1 });
    assert_eq!(
        sim.rejected().as_deref(),
        Some("A-1 is already escalated to human")
    );
}

#[test]
fn rule_8_operator_reassign_sets_the_assignee_returns_to_triggered_cancels_snooze_and_moves_work_uncounted(
) {
    let mut sim = Sim::new();
    sim.at(0).beat(&["be-1", "be-2"]);
    sim.push(json!({"type": "task_assigned", "agent": "be-1", "task": "T-1"}));
    sim.push(json!({"type": "blocker_detected", "agent": "be-1", "task": "T-1"}));
    let id = sim.open_of("blocker_detected").id;
    sim.at(5).op("ana", ack(id));
    sim.at(6).op(
        "ana",
        Action::Snooze {
            alert: id,
            minutes: 60.0,
        },
    );
    sim.at(7).op(
        "ana",
        Action::Reassign {
            alert: id,
            to: "be-2".into(),
        },
    );
    let a = sim.alert(id);
    assert_eq!(
        (a.status, a.assignee.as_deref(), a.snoozed_until),
        (Status::Triggered, Some("be-2"), None)
    );
    assert_eq!(sim.task_agent("T-1").as_deref(), Some("be-2"));
    assert_eq!(
        sim.engine.tasks["T-1"].auto_reassignments, 0,
        "manual moves are not counted"
    );
    assert!(sim
        .notified()
        .iter()
        .any(|(c, k)| *c == NotifyClass::Agents && k == "task_reassigned"));
    sim.at(8).op(
        "ana",
        Action::Reassign {
            alert: id,
            to: "nobody".into(),
        },
    );
    assert_eq!(sim.rejected().as_deref(), Some("no agent named \"nobody\""));
}

#[test]
fn rule_9_snooze_holds_notifications_and_retriggers_on_expiry() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("high"));
    sim.at(10).op(
        "ana",
        Action::Snooze {
            alert: 1,
            minutes: 15.0,
        },
    );
    let a = sim.alert(1);
    assert_eq!(sim.secs(a.snoozed_until.unwrap()), 10 + 900);
    assert!(a.suppressed && a.is_open());
    assert_eq!(
        sim.secs(a.responded_at.unwrap()),
        10,
        "a snooze is a response: no SLA breach"
    );
    sim.at(100).push(coordination("high"));
    assert!(sim.notified().is_empty(), "held while snoozed");
    sim.at(905).tick(); // past the 15-minute escalation: paused while snoozed…
    assert_eq!(sim.alert(1).escalation, Escalation::Pm);
    sim.at(10 + 900).tick(); // …and the snooze expires
    assert_eq!(sim.transitions(1), ["snooze_expired"]);
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmHigh, "alert_retriggered".to_string())]
    );
    assert!(!sim.alert(1).suppressed);
    for bad in [0.0, -5.0, f64::NAN, 1e9] {
        sim.op(
            "ana",
            Action::Snooze {
                alert: 1,
                minutes: bad,
            },
        );
        assert!(sim.rejected().is_some(), "{bad}");
    }
}

#[test]
fn rule_9_a_raise_ends_a_snooze_taken_at_the_lower_level() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("medium"));
    sim.at(10).op(
        "ana",
        Action::Snooze {
            alert: 1,
            minutes: 60.0,
        },
    );
    sim.at(100).push(coordination("critical"));
    let a = sim.alert(1);
    assert_eq!((a.level, a.status), (Level::Critical, Status::Triggered));
    assert_eq!(a.snoozed_until, None, "the snooze ends");
    assert!(!a.suppressed);
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmCritical, "alert_level_raised".to_string())]
    );
    // The escalation timer runs from the raise, not stuck at the snooze.
    assert_eq!(sim.secs(a.escalate_at.unwrap()), 100 + 15 * 60);
    sim.at(100 + 15 * 60).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Human);
}

#[test]
fn rule_10_a_gate_failure_closed_as_a_false_alarm_unblocks_its_component() {
    let mut sim = Sim::new();
    sim.at(0)
        .push(json!({"type": "quality_gate_failure", "component": "api", "gate": "lint"}));
    assert!(sim.engine.components["api"].blocked());
    let id = sim.open_of("quality_gate_failure").id;
    sim.at(5).op(
        "ana",
        Action::FalseAlarm {
            alert: id,
            reason: "flaky linter".into(),
        },
    );
    assert!(!sim.engine.components["api"].blocked(), "no longer blocked");
    assert!(sim.fx.iter().any(|e| matches!(e,
        Effect::Action(coord::engine::AutoAction::ComponentUnblocked { component }) if component == "api")));
    // A real failure of another gate still blocks.
    sim.at(6)
        .push(json!({"type": "quality_gate_failure", "component": "api", "gate": "test"}));
    assert!(sim.engine.components["api"].blocked());
}

#[test]
fn rule_10_resolve_with_note_false_alarm_needs_a_reason_and_recovery_events_resolve() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("high"));
    sim.at(1)
        .push(json!({"type": "coordination_alert", "agent": "b"}));
    sim.at(5).op(
        "ana",
        Action::Resolve {
            alert: 1,
            note: Some("restarted the queue".into()),
        },
    );
    let a = sim.alert(1);
    assert_eq!(
        (a.status, a.resolution),
        (Status::Resolved, Some(Resolution::Fixed))
    );
    assert_eq!(a.notes[0].author, "ana");
    sim.at(6).op(
        "ana",
        Action::FalseAlarm {
            alert: 2,
            reason: "  ".into(),
        },
    );
    assert_eq!(
        sim.rejected().as_deref(),
        Some("a false alarm needs a reason")
    );
    assert!(sim.alert(2).is_open());
    sim.at(7).op(
        "ana",
        Action::FalseAlarm {
            alert: 2,
            reason: "test traffic".into(),
        },
    );
    assert_eq!(sim.alert(2).resolution, Some(Resolution::FalseAlarm));

    // Each recovery event resolves its trigger's alert automatically.
    let pairs = [
        (
            json!({"type": "blocker_detected", "component": "c1"}),
            json!({"type": "blocker_resolved", "component": "c1"}),
        ),
        (
            json!({"type": "quality_gate_failure", "component": "c2", "gate": "g"}),
            json!({"type": "quality_gate_passed", "component": "c2", "gate": "g"}),
        ),
        (
            json!({"type": "system_failure", "component": "c3"}),
            json!({"type": "system_recovered"}),
        ),
        (
            json!({"type": "communication_failure", "agent": "x"}),
            json!({"type": "communication_restored", "agent": "x"}),
        ),
        (
            json!({"type": "agent_timeout", "agent": "y"}),
            json!({"type": "agent_heartbeat", "agent": "y"}),
        ),
    ];
    for (i, (open, close)) in pairs.into_iter().enumerate() {
        sim.at(100 + i as i64).push(open);
        let id = sim.engine.alerts.all().len() as u64;
        assert!(sim.alert(id).is_open());
        sim.push(close);
        let a = sim.alert(id);
        assert_eq!(
            (a.status, a.resolution),
            (Status::Resolved, Some(Resolution::Auto)),
            "{}",
            a.trigger
        );
        assert!(!a.operator_touched);
    }
    assert_eq!(sim.engine.liveness_of("y"), Some(Liveness::Healthy));
}

#[test]
fn rule_11_flapping_holds_repeat_notifications_and_carries_a_badge() {
    let mut sim = Sim::new();
    let mut t = 0;
    let mut opened_notices = 0;
    for _ in 0..4 {
        sim.at(t)
            .push(json!({"type": "quality_gate_failure", "component": "c", "gate": "g"}));
        opened_notices += sim
            .notified()
            .iter()
            .filter(|(_, k)| k == "alert_opened")
            .count();
        sim.at(t + 30)
            .push(json!({"type": "quality_gate_passed", "component": "c", "gate": "g"}));
        t += 60;
    }
    // 8 changes in the newest slots: well above 30 %.
    let last = sim.engine.alerts.all().last().unwrap();
    assert_eq!(last.reopened_of, Some(last.id - 1));
    sim.at(t)
        .push(json!({"type": "quality_gate_failure", "component": "c", "gate": "g"}));
    let a = sim.open_of("quality_gate_failure");
    assert!(a.flapping && a.suppressed, "badge and held notifications");
    let held = a
        .history
        .iter()
        .find(|s| s.what == "held")
        .expect("a held step");
    assert_eq!(held.why, "alert_opened held: flapping");
    assert!(
        sim.notified().iter().all(|(_, k)| k != "alert_opened"),
        "a repeat while flapping is held"
    );
    assert!(
        (2..4).contains(&opened_notices),
        "notified until flapping began: {opened_notices}"
    );
    assert!(sim
        .all
        .iter()
        .any(|f| matches!(f, Effect::Transition(t) if t.what == "flapping_started")));
    // Calm: the gate keeps passing; the history ages the flaps out.
    sim.at(t + 10)
        .push(json!({"type": "quality_gate_passed", "component": "c", "gate": "g"}));
    for i in 0..20 {
        sim.at(t + 20 + i)
            .push(json!({"type": "quality_gate_passed", "component": "c", "gate": "g"}));
    }
    let stopped = sim
        .all
        .iter()
        .filter(|f| matches!(f, Effect::Transition(t) if t.what == "flapping_stopped"))
        .count();
    assert_eq!(stopped, 1);
    assert!(sim.engine.alerts.keys.values().all(|k| !k.flap.flapping));
    assert!(!sim.engine.alerts.all().last().unwrap().flapping);
}

#[test]
fn rule_12_an_acknowledgement_racing_a_resolution_does_not_reopen() {
    let mut sim = Sim::new();
    sim.at(0).push(json!({"type": "system_failure"}));
    sim.at(10).push(json!({"type": "system_recovered"}));
    sim.at(10).op("ana", ack(1));
    assert_eq!(sim.rejected().as_deref(), Some("A-1 is already resolved"));
    let a = sim.alert(1);
    assert_eq!((a.status, a.ack_owner.clone()), (Status::Resolved, None));
    sim.op("ana", Action::AcknowledgeAll { alerts: vec![1] });
    assert_eq!(sim.alert(1).status, Status::Resolved);
    // A note is still allowed on a resolved alert (the post-mortem).
    sim.op(
        "ana",
        Action::Note {
            alert: 1,
            text: "root cause: disk".into(),
        },
    );
    assert!(sim.rejected().is_none());
    assert_eq!(sim.alert(1).notes.len(), 1);
}

#[test]
fn acknowledge_all_takes_every_open_alert_in_view() {
    let mut sim = Sim::new();
    for agent in ["a", "b", "c"] {
        sim.at(0)
            .push(json!({"type": "coordination_alert", "agent": agent}));
    }
    sim.at(5).push(json!({"type": "system_failure"}));
    sim.at(6).push(json!({"type": "system_recovered"}));
    sim.at(10).op(
        "ana",
        Action::AcknowledgeAll {
            alerts: vec![1, 2, 3, 4, 99],
        },
    );
    for id in 1..=3 {
        assert_eq!(sim.alert(id).status, Status::Acknowledged);
    }
    assert_eq!(sim.alert(4).status, Status::Resolved);
    assert_eq!(sim.transitions(2), ["acknowledged"]);
}

#[test]
fn timers_fire_only_on_ticks_so_catching_up_raises_nothing_already_answered() {
    let mut sim = Sim::new();
    // Hours-old history read at once: a blocker raised and resolved, an agent that
    // was silent for a while but heartbeats now.
    let old = |m: i64| (support::t0() + chrono::TimeDelta::minutes(m)).to_rfc3339();
    sim.at(600 * 60);
    sim.push(json!({"type": "blocker_detected", "component": "db", "ts": old(0)}));
    sim.push(json!({"type": "agent_heartbeat", "agent": "be-1", "ts": old(0)}));
    sim.push(json!({"type": "blocker_resolved", "component": "db", "ts": old(30)}));
    sim.push(json!({"type": "agent_heartbeat", "agent": "be-1", "ts": old(599)}));
    sim.tick();
    assert_eq!(
        sim.alert(1).escalation,
        Escalation::Pm,
        "resolved before any timer ran"
    );
    assert_eq!(sim.open_alerts().len(), 0);
    assert_eq!(sim.engine.liveness_of("be-1"), Some(Liveness::Healthy));
}

#[test]
fn every_transition_is_a_record_with_cause_time_and_generation() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("medium"));
    sim.at(10).op("ana", ack(1));
    sim.at(20).op(
        "ana",
        Action::Note {
            alert: 1,
            text: "n".into(),
        },
    );
    sim.at(30).op(
        "ana",
        Action::Resolve {
            alert: 1,
            note: None,
        },
    );
    let records: Vec<_> = sim
        .all
        .iter()
        .filter_map(|f| match f {
            Effect::Transition(t) => Some((t.what, t.generation, sim.secs(t.at))),
            _ => None,
        })
        .collect();
    assert_eq!(
        records,
        [
            ("opened", 1, 0),
            ("acknowledged", 2, 10),
            ("noted", 3, 20),
            ("resolved", 4, 30)
        ]
    );
    let json = serde_json::to_value(&sim.all).unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("effect").is_some()));
}

/// The incident page's history: every transition with who and why, each
/// notification sent or held and why, repeats folded into one step, and a cap.
#[test]
fn an_alert_keeps_its_history_for_the_incident_page() {
    let mut sim = Sim::new();
    sim.at(0).push(coordination("high"));
    sim.at(3).op(
        "ana",
        Action::Snooze {
            alert: 1,
            minutes: 15.0,
        },
    );
    sim.at(5).op("ana", ack(1));
    for s in 7..10 {
        sim.at(s).push(coordination("high"));
    }
    sim.at(3 + 900).tick();
    let steps: Vec<(i64, &str, &str, &str)> = sim
        .alert(1)
        .history
        .iter()
        .map(|s| {
            (
                sim.secs(s.at),
                s.what.as_str(),
                s.by.as_str(),
                s.why.as_str(),
            )
        })
        .collect();
    assert_eq!(steps[0].1, "opened");
    assert_eq!(steps[0].2, "coord", "{steps:?}");
    let opening = &sim.alert(1).history[0];
    assert!(opening.event.is_some(), "the event that opened it is named");
    assert_eq!(
        steps[1],
        (0, "notified", "coord", "alert_opened to pm_high")
    );
    assert_eq!(steps[2].1, "snoozed");
    assert_eq!(steps[3].1, "acknowledged");
    assert_eq!(steps[3].2, "ana");
    assert_eq!(
        (steps[4].0, steps[4].1, steps[4].3),
        (9, "repeated", "seen again (count 4)"),
        "three repeats, one step"
    );
    assert_eq!(steps[5].1, "snooze_expired");
    assert_eq!(
        steps[6],
        (903, "notified", "coord", "alert_retriggered to pm_high")
    );
    assert_eq!(steps.len(), 7);

    // Held while flapping or snoozed: said so, with why.
    sim.at(1000).op(
        "ana",
        Action::Snooze {
            alert: 1,
            minutes: 15.0,
        },
    );
    sim.at(1001).push(coordination("critical"));
    let last = sim.alert(1).history.last().unwrap();
    assert_eq!(last.what, "notified", "a raise ends the snooze and is sent");

    // A long life keeps the opening and the newest steps.
    for s in 0..200 {
        sim.at(2000 + s).op(
            "bob",
            Action::Note {
                alert: 1,
                text: format!("n{s}"),
            },
        );
    }
    let a = sim.alert(1);
    assert_eq!(a.history.len(), coord::engine::alerts::HISTORY_KEPT);
    assert_eq!(a.history[0].what, "opened");
    assert!(a.history_dropped > 0);
    assert_eq!(a.history.last().unwrap().why, "note by bob");
}

/// SPEC 5.3: an agent's clock can neither keep it alive nor move a deadline.
/// A `ts` ahead of the read time counts as the read time (the agent marked
/// and counted); the response deadline runs from when coord saw the alert.
#[test]
fn spec_5_3_an_agents_clock_cannot_keep_it_alive_or_move_a_deadline() {
    use coord::engine::agents::Liveness;
    let mut sim = Sim::new();
    let stamp = |t: &str| json!(t);
    // A heartbeat stamped an hour ahead: it counts as read at 0 s.
    let ahead = (sim.t0 + chrono::TimeDelta::hours(1)).to_rfc3339();
    sim.at(0)
        .push(json!({"type": "agent_heartbeat", "agent": "fast", "ts": stamp(&ahead)}));
    assert_eq!(sim.engine.agents["fast"].skewed, 1, "marked");
    assert_eq!(sim.engine.counters.skewed, 1, "counted");
    assert_eq!(sim.engine.agents["fast"].last_seen, Some(sim.t0));
    // …so silence times it out like any other agent (5 minutes).
    sim.at(5 * 60 + 1).tick();
    assert_eq!(sim.engine.liveness_of("fast"), Some(Liveness::TimedOut));

    // A Critical stamped 2099 breaches its 30 s SLA 30 s after coord saw it.
    let critical = |component: &str, ts: &str| {
        json!({"type": "coordination_alert", "severity": "critical",
               "component": component, "ts": ts})
    };
    let id_of = |sim: &Sim, component: &str| {
        sim.open_alerts()
            .iter()
            .find(|a| a.component.as_deref() == Some(component))
            .unwrap()
            .id
    };
    sim.at(1000).push(critical("db", "2099-01-01T00:00:00Z"));
    let id = id_of(&sim, "db");
    assert_eq!(sim.secs(sim.alert(id).first_seen), 1000);
    assert_eq!(sim.secs(sim.alert(id).response_due.unwrap()), 1030);
    sim.at(1029).tick();
    assert!(!sim.alert(id).sla_breached);
    sim.at(1030).tick();
    assert!(
        sim.alert(id).sla_breached,
        "breached 30 s after it was seen"
    );

    // A 1970 stamp: not breached at once — its deadline runs from now too.
    sim.at(2000).push(critical("old", "1970-01-01T00:00:00Z"));
    let old = id_of(&sim, "old");
    sim.at(2001).tick();
    let a = sim.alert(old);
    assert!(!a.sla_breached, "not breached at once: {:#?}", a.history);
    assert_eq!(
        a.response_due.map(|d| sim.secs(d)),
        Some(2030),
        "{:#?}",
        a.history
    );
    assert_eq!(sim.engine.counters.skewed, 2, "only stamps ahead are skew");
}
