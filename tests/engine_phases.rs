//! Phases, completion and the cascade, ETA, liveness and metrics (SPEC 6, 7, 12).

mod support;

use coord::engine::agents::Liveness;
use coord::engine::phases::Outlook;
use coord::engine::{Action, AutoAction, Effect, NotifyClass};
use serde_json::json;
use support::Sim;

fn two_phase_plan(gates: &[&str]) -> serde_json::Value {
    json!({
        "epic": "Foundation Epic",
        "phases": [
            {"id": "phase-1", "name": "Phase 1", "target": "2026-11-25T12:00:00Z",
             "components": [
                {"id": "auth-api", "weight": 3, "gates": gates},
                {"id": "docs", "weight": 1}]},
            {"id": "phase-2", "name": "Phase 2",
             "components": [{"id": "billing", "weight": 1, "gates": ["unit_tests"]}]}],
        "agents": [{"id": "be-1"}, {"id": "spare", "backup": true}]
    })
}

fn progress(sim: &mut Sim, component: &str, p: f64) {
    sim.push(
        json!({"type": "progress_update", "component": component, "progress": p, "agent": "be-1"}),
    );
}

fn derived_types(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Derived { event, .. } => Some(event.kind.as_str().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_phase_at_95_percent_with_all_gates_passed_completes_and_cascades() {
    let mut sim = Sim::with_plan(two_phase_plan(&["unit_tests", "security_scan"]));
    sim.at(0);
    progress(&mut sim, "auth-api", 100.0);
    progress(&mut sim, "docs", 80.0); // (3·100 + 1·80) / 4 = 95 %
    assert_eq!(sim.engine.phases[0].completion(), 95.0);
    assert!(!sim.engine.phases[0].complete, "gates still pending");
    sim.push(json!({"type": "quality_gate_passed", "component": "auth-api", "gate": "unit_tests"}));
    assert!(!sim.engine.phases[0].complete, "one gate still pending");
    sim.at(60).push(
        json!({"type": "quality_gate_passed", "component": "auth-api", "gate": "security_scan"}),
    );
    assert!(sim.engine.phases[0].complete);
    assert_eq!(sim.secs(sim.engine.phases[0].completed_at.unwrap()), 60);
    assert_eq!(derived_types(&sim.fx), ["phase_completion"]);
    assert!(sim.fx.iter().any(|f| matches!(f, Effect::Action(AutoAction::PhaseCompleted { phase, next }) if phase == "phase-1" && next.as_deref() == Some("phase-2"))));
    assert!(sim
        .notified()
        .contains(&(NotifyClass::System, "phase_completion".into())));
    assert_eq!(sim.engine.current_phase().unwrap().id, "phase-2");
    // The new phase has a gate pending: no further cascade.
    sim.at(70)
        .push(json!({"type": "component_completion", "component": "billing"}));
    assert!(!sim.engine.phases[1].complete);
    let s = sim.engine.summary(sim.now);
    assert_eq!(s.phases_complete, ["phase-1"]);
    assert_eq!(s.phase.id, "phase-2");
}

#[test]
fn a_pending_gate_an_unmet_criterion_or_an_open_critical_alert_holds_the_phase() {
    let mut plan = two_phase_plan(&["unit_tests"]);
    plan["phases"][0]["criteria"] =
        json!({"technical": ["integration tests"], "process": ["code review"]});
    let mut sim = Sim::with_plan(plan);
    sim.at(0);
    progress(&mut sim, "auth-api", 100.0);
    progress(&mut sim, "docs", 100.0);
    sim.push(json!({"type": "system_failure"}));
    sim.push(json!({"type": "quality_gate_passed", "component": "auth-api", "gate": "unit_tests"}));
    sim.push(json!({"type": "criterion_met", "criterion": "integration tests"}));
    assert!(!sim.engine.phases[0].complete, "code review not met");
    sim.push(json!({"type": "criterion_met", "message": "process: Code Review"}));
    assert!(sim.engine.phases[0].criteria.iter().all(|c| c.met));
    assert!(!sim.engine.phases[0].complete, "a Critical alert is open");
    sim.at(30).push(json!({"type": "system_recovered"}));
    assert!(sim.engine.phases[0].complete);
}

#[test]
fn quality_validation_not_required_completes_without_gates() {
    let mut sim = Sim::with_config(
        json!({"quality_config": {"quality_validation_required": false}}),
        Some(two_phase_plan(&["unit_tests"])),
    );
    sim.at(0);
    progress(&mut sim, "auth-api", 100.0);
    progress(&mut sim, "docs", 100.0);
    assert!(sim.engine.phases[0].complete);
}

#[test]
fn a_blocked_component_shows_its_progress_but_is_not_complete() {
    let mut sim = Sim::with_plan(two_phase_plan(&["unit_tests"]));
    sim.at(0).push(
        json!({"type": "task_assigned", "agent": "be-1", "task": "T-1", "component": "auth-api"}),
    );
    sim.push(
        json!({"type": "quality_gate_failure", "component": "auth-api", "gate": "unit_tests"}),
    );
    sim.push(json!({"type": "component_completion", "component": "auth-api"}));
    let c = &sim.engine.components["auth-api"];
    assert_eq!(c.progress, 100.0);
    assert!(c.blocked() && !c.complete());
    assert!(
        sim.engine.tasks.contains_key("T-1") && !sim.engine.closed.contains("T-1"),
        "its tasks stay open while blocked"
    );
    sim.push(json!({"type": "quality_gate_passed", "component": "auth-api", "gate": "unit_tests"}));
    assert!(sim.engine.components["auth-api"].complete());
    assert!(
        !sim.engine.tasks.contains_key("T-1") && sim.engine.closed.contains("T-1"),
        "completion closes its tasks"
    );
}

#[test]
fn without_a_plan_components_are_discovered_into_phase_1() {
    let mut sim = Sim::new();
    sim.at(0);
    progress(&mut sim, "a", 50.0);
    progress(&mut sim, "b", 100.0);
    let p = &sim.engine.phases[0];
    assert_eq!(
        (p.id.as_str(), p.components.len(), p.completion()),
        ("phase-1", 2, 75.0)
    );
    progress(&mut sim, "a", 90.0); // 95 %, no gates, no criteria
    assert!(sim.engine.phases[0].complete);
    assert_eq!(sim.engine.current, 0, "no next phase to cascade to");
}

#[test]
fn eta_is_a_least_squares_line_over_the_window_judged_against_the_target() {
    let mut sim = Sim::with_plan(two_phase_plan(&[]));
    // docs gains 10 % of its own progress per hour: 2.5 % of the phase per hour.
    for h in 0..=8 {
        sim.at(h * 3600);
        progress(&mut sim, "docs", 10.0 * h as f64);
    }
    let phase = &sim.engine.phases[0];
    assert!((phase.completion() - 20.0).abs() < 1e-9);
    // Only the last hour (eta_window_minutes = 60) is in the window: two samples.
    assert_eq!(phase.samples.len(), 2);
    let eta = phase.eta(95.0, sim.now).unwrap();
    let hours = (eta - sim.t0).num_minutes() as f64 / 60.0;
    assert!((hours - 38.0).abs() < 0.01, "{hours}"); // 20 % at 8 h, +2.5 %/h → 95 % at 38 h
    assert_eq!(
        sim.engine.outlook(phase, sim.now),
        Outlook::AtRisk,
        "target is 24 h after t0"
    );
    progress(&mut sim, "auth-api", 100.0); // a jump: the line now reaches 95 % soon
    assert_eq!(
        sim.engine.outlook(&sim.engine.phases[0], sim.now),
        Outlook::OnTrack
    );
    assert_eq!(
        sim.engine.outlook(&sim.engine.phases[1], sim.now),
        Outlook::NoTarget
    );
}

#[test]
fn a_stalled_phase_pushes_its_eta_out_past_now() {
    let mut sim = Sim::with_plan(two_phase_plan(&[]));
    for m in 0..=3 {
        sim.at(m * 60);
        progress(&mut sim, "docs", 10.0 * m as f64);
    }
    let phase = &sim.engine.phases[0];
    let eta = phase.eta(95.0, sim.now).unwrap();
    assert!(eta > sim.now);
    // Nothing for an hour: the line through the present reaches 95 % later
    // than it did, and still after now.
    sim.at(3600);
    let later = sim.engine.phases[0].eta(95.0, sim.now).unwrap();
    assert!(later > sim.now, "{later} <= {}", sim.now);
    assert!(later > eta);
}

#[test]
fn liveness_healthy_late_timed_out_offline_standby() {
    let mut sim = Sim::with_plan(two_phase_plan(&[]));
    assert_eq!(
        sim.engine.liveness_of("be-1"),
        Some(Liveness::Offline),
        "planned but not yet seen"
    );
    assert_eq!(sim.engine.liveness_of("spare"), Some(Liveness::Standby));
    sim.at(0).beat(&["be-1", "spare", "x"]);
    assert_eq!(sim.engine.liveness_of("be-1"), Some(Liveness::Healthy));
    assert_eq!(
        sim.engine.liveness_of("spare"),
        Some(Liveness::Standby),
        "standby until activated"
    );
    sim.at(90).tick();
    assert_eq!(sim.engine.liveness_of("x"), Some(Liveness::Healthy));
    sim.at(91).tick();
    assert_eq!(sim.engine.liveness_of("x"), Some(Liveness::Late));
    sim.push(json!({"type": "progress_update", "agent": "x"}));
    assert_eq!(
        sim.engine.liveness_of("x"),
        Some(Liveness::Healthy),
        "any event is a sign of life"
    );
    sim.at(120)
        .push(json!({"type": "agent_heartbeat", "agent": "be-1", "status": "stopping"}));
    assert_eq!(sim.engine.liveness_of("be-1"), Some(Liveness::Offline));
    sim.at(392).tick();
    assert_eq!(sim.engine.liveness_of("x"), Some(Liveness::TimedOut));
    assert_eq!(
        sim.engine.liveness_of("be-1"),
        Some(Liveness::Offline),
        "offline: no alert"
    );
    assert_eq!(sim.open_alerts().len(), 1);
    // Only a heartbeat brings a timed-out agent back; other events are weaker.
    sim.at(400)
        .push(json!({"type": "progress_update", "agent": "x"}));
    assert_eq!(sim.engine.liveness_of("x"), Some(Liveness::TimedOut));
    sim.beat(&["x"]);
    assert_eq!(sim.engine.liveness_of("x"), Some(Liveness::Healthy));
    assert!(sim.open_alerts().is_empty());
}

#[test]
fn metrics_of_a_scripted_scenario() {
    let mut sim = Sim::with_config(
        json!({"crisis_response_config": {"escalation_timeout_minutes": 600}}),
        None,
    );
    // A: system failure at 0, recovered at 60 (automatic, opened at human).
    sim.at(0)
        .push(json!({"type": "system_failure", "ts": "2026-11-24T12:00:00Z"}));
    sim.at(60).push(json!({"type": "system_recovered"}));
    // B: communication failure at 100, restored at 400 (automatic, 300 s).
    sim.at(100)
        .push(json!({"type": "communication_failure", "component": "bus"}));
    sim.at(400)
        .push(json!({"type": "communication_restored", "component": "bus"}));
    // C: coordination alert at 500, acked at 530, escalated by the operator, false alarm at 600.
    sim.at(500)
        .push(json!({"type": "coordination_alert", "component": "q"}));
    sim.at(530).op(
        "ana",
        Action::Acknowledge {
            alert: 3,
            note: None,
        },
    );
    sim.at(540).op("ana", Action::Escalate { alert: 3 });
    sim.at(600).op(
        "ana",
        Action::FalseAlarm {
            alert: 3,
            reason: "drill".into(),
        },
    );
    // D: open blocker, never answered.
    sim.at(700)
        .push(json!({"type": "blocker_detected", "component": "db"}));
    sim.at(800).tick();
    let m = sim.engine.summary(sim.now).metrics;
    assert_eq!(m.data_integrity.events, 6);
    // Detection: events stamped with `now` have 0 ms; none were late.
    assert_eq!(m.detection_time.p99_s, Some(0.0));
    // Responses: A 0 s, B 0 s (automated actions), C 30 s, D 0 s.
    assert_eq!(m.response_initiation_time.count, 4);
    assert_eq!(m.response_initiation_time.max_s, Some(30.0));
    // Resolutions: A 60 s, B 300 s, C 100 s.
    assert_eq!(m.resolution_time.all.count, 3);
    assert!((m.resolution_time.all.mean_s.unwrap() - 460.0 / 3.0).abs() < 1e-9);
    assert_eq!(m.resolution_time.critical.mean_s, Some(60.0));
    assert_eq!(m.automated_resolution_rate, Some(2.0 / 3.0));
    // Reached human: A (at open) and C (operator) — C was a false alarm.
    assert_eq!(m.escalation_accuracy, Some(0.5));
    assert_eq!(m.false_alert_rate, Some(0.25));
    assert_eq!(m.coordination_restoration.mean_s, Some(300.0));
}

/// At risk only when the ETA is later than the target, or the target passed
/// with the phase open; with no ETA before the target the outlook is unknown.
#[test]
fn the_outlook_is_at_risk_only_when_the_target_is_in_danger() {
    use coord::engine::phases::Outlook;
    let plan = json!({"epic": "E", "phases": [
        {"id": "p1", "name": "P1", "target": "2026-11-24T13:00:00Z",
         "components": [{"id": "api"}]}]});
    let mut sim = Sim::with_plan(plan);
    sim.at(10).tick();
    let outlook = |sim: &Sim| {
        let p = &sim.engine.phases[0];
        sim.engine.outlook(p, sim.now)
    };
    assert_eq!(outlook(&sim), Outlook::Unknown, "no ETA, target ahead");
    sim.at(7200).tick(); // an hour past the target, nothing done
    assert_eq!(outlook(&sim), Outlook::AtRisk);
}
