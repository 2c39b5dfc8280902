//! Timeline scenarios for every row of the crisis matrix (SPEC 5.1), including
//! each of its human-escalation conditions, on a virtual clock.

mod support;

use coord::engine::agents::Liveness;
use coord::engine::alerts::{Resolution, Status};
use coord::engine::{AutoAction, Effect, NotifyClass};
use coord::model::{Escalation, Level};
use serde_json::json;
use support::Sim;

fn fleet_plan(backup: bool) -> serde_json::Value {
    json!({
        "epic": "Foundation Epic",
        "phases": [
            {"id": "phase-1", "components": [
                {"id": "auth-api", "weight": 2, "gates": ["unit_tests"], "capabilities": ["rust"]},
                {"id": "web-ui", "weight": 1, "capabilities": ["ts"]}]},
            {"id": "phase-2", "components": [{"id": "billing", "capabilities": ["rust"]}]}],
        "agents": [
            {"id": "be-1", "capabilities": ["rust"]},
            {"id": "be-2", "capabilities": ["rust"]},
            {"id": "be-3", "capabilities": ["rust"]},
            {"id": "fe-1", "capabilities": ["ts"]},
            {"id": "spare-1", "capabilities": ["rust", "ts"], "backup": backup}]
    })
}

fn reassigned(fx: &[Effect]) -> Vec<(String, String, bool)> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Action(AutoAction::TaskReassigned {
                task,
                to,
                automatic,
                ..
            }) => Some((task.clone(), to.clone(), *automatic)),
            _ => None,
        })
        .collect()
}

// ---- agent_timeout ------------------------------------------------------------

#[test]
fn agent_timeout_reassigns_to_the_backup_first() {
    let mut sim = Sim::with_plan(fleet_plan(true));
    sim.at(0).beat(&["be-1", "be-2", "be-3", "fe-1"]);
    sim.push(
        json!({"type": "task_assigned", "agent": "be-1", "task": "T-1", "component": "auth-api"}),
    );
    assert_eq!(sim.engine.liveness_of("spare-1"), Some(Liveness::Standby));
    sim.at(100).beat(&["be-2", "be-3", "fe-1"]).tick();
    assert_eq!(sim.engine.liveness_of("be-1"), Some(Liveness::Late));
    sim.at(299).beat(&["be-2", "be-3", "fe-1"]).tick();
    assert!(sim.open_alerts().is_empty(), "not before 5 minutes");
    sim.at(301).tick();
    // The console derives the agent_timeout, dated when the agent timed out.
    let derived = sim.fx.iter().find_map(|f| match f {
        Effect::Derived { event, .. } => Some(event.clone()),
        _ => None,
    });
    let derived = derived.expect("derived agent_timeout");
    assert_eq!(derived.kind.as_str(), "agent_timeout");
    assert_eq!(sim.secs(derived.ts), 300);
    let a = sim.open_of("agent_timeout");
    assert_eq!(
        (a.level, a.escalation, a.status),
        (Level::High, Escalation::Pm, Status::Triggered)
    );
    assert_eq!(sim.secs(a.first_seen), 300);
    assert!(
        a.responded_at.is_some(),
        "the automated action is the response"
    );
    assert_eq!(sim.engine.liveness_of("be-1"), Some(Liveness::TimedOut));
    assert_eq!(sim.engine.liveness_of("spare-1"), Some(Liveness::Healthy));
    assert_eq!(
        reassigned(&sim.fx),
        [("T-1".into(), "spare-1".into(), true)]
    );
    assert_eq!(sim.engine.tasks["T-1"].auto_reassignments, 1);
    let notes = sim.notified();
    assert!(
        notes.contains(&(NotifyClass::PmHigh, "alert_opened".into())),
        "{notes:?}"
    );
    assert!(notes.contains(&(NotifyClass::Agents, "backup_activated".into())));
    assert!(notes.contains(&(NotifyClass::Agents, "task_reassigned".into())));
    // The response window is met, so no SLA breach at 120 s.
    sim.at(500)
        .beat(&["be-2", "be-3", "fe-1", "spare-1"])
        .tick();
    assert!(!sim.open_of("agent_timeout").sla_breached);
    // A heartbeat from the dead agent resolves it automatically.
    sim.at(520).beat(&["be-1"]);
    assert_eq!(sim.alert(1).resolution, Some(Resolution::Auto));
    assert_eq!(sim.engine.liveness_of("be-1"), Some(Liveness::Healthy));
}

#[test]
fn agent_timeout_without_backup_picks_least_loaded_healthy_capable_agent_ties_by_name() {
    let mut sim = Sim::with_plan(fleet_plan(false));
    sim.at(0).beat(&["be-1", "be-2", "be-3", "fe-1", "spare-1"]);
    for (agent, task, comp) in [
        ("be-1", "T-1", "auth-api"),
        ("be-2", "T-2", "auth-api"),
        ("be-2", "T-3", "auth-api"),
        ("be-3", "T-4", "auth-api"),
        ("spare-1", "T-5", "web-ui"),
        ("fe-1", "T-6", "web-ui"),
    ] {
        sim.push(json!({"type": "task_assigned", "agent": agent, "task": task, "component": comp}));
    }
    // (Seen at 250: still healthy, not late, when be-1 times out at 300.)
    sim.at(250).beat(&["be-2", "be-3", "fe-1", "spare-1"]);
    sim.at(301).tick();
    // be-3 (1 task) and spare-1 (1 task) tie; be-3 wins by name; fe-1 lacks rust.
    assert_eq!(reassigned(&sim.fx), [("T-1".into(), "be-3".into(), true)]);
    assert_eq!(sim.engine.agents["be-3"].open_tasks.len(), 2);
}

#[test]
fn agent_timeout_escalates_to_human_when_a_task_would_pass_the_reassignment_limit() {
    let mut sim = Sim::with_plan(fleet_plan(false));
    sim.at(0).beat(&["be-1", "be-2", "be-3", "fe-1", "spare-1"]);
    sim.push(
        json!({"type": "task_assigned", "agent": "be-1", "task": "T-1", "component": "auth-api"}),
    );
    // be-1 dies: T-1 → be-2 (1st automatic move). Each death below comes
    // while the others are healthy (seen less than 90 s before it).
    sim.at(250).beat(&["be-2", "be-3", "fe-1", "spare-1"]);
    sim.at(301).tick();
    assert_eq!(sim.task_agent("T-1").as_deref(), Some("be-2"));
    // be-2 dies (due at 550): T-1 → be-3 (2nd); load ties broken by name among healthy
    sim.at(480).beat(&["be-3", "fe-1", "spare-1"]).tick();
    sim.at(551).beat(&["be-3", "fe-1", "spare-1"]).tick();
    assert_eq!(sim.task_agent("T-1").as_deref(), Some("be-3"));
    assert_eq!(sim.engine.tasks["T-1"].auto_reassignments, 2);
    let second = sim
        .open_alerts()
        .iter()
        .find(|a| a.agent.as_deref() == Some("be-2"))
        .unwrap()
        .id;
    assert_eq!(sim.alert(second).escalation, Escalation::Pm);
    // be-3 dies (due at 851): a third move would pass max_automated_reassignments (2) → human
    sim.at(800).beat(&["fe-1", "spare-1"]);
    sim.at(852).tick();
    let third = sim
        .open_alerts()
        .iter()
        .find(|a| a.agent.as_deref() == Some("be-3"))
        .unwrap()
        .id;
    assert_eq!(sim.alert(third).escalation, Escalation::Human);
    assert!(sim.alert(third).reached_human);
    assert_eq!(
        sim.task_agent("T-1").as_deref(),
        Some("be-3"),
        "not moved again"
    );
    assert!(sim
        .notified()
        .contains(&(NotifyClass::PmCritical, "human_escalation".into())));
}

#[test]
fn agent_timeout_escalates_to_human_when_no_healthy_agent_can_take_the_task() {
    let mut sim = Sim::with_plan(fleet_plan(false));
    sim.at(0).beat(&["be-1", "be-2", "be-3", "fe-1", "spare-1"]);
    sim.push(
        json!({"type": "task_assigned", "agent": "fe-1", "task": "UI-1", "component": "web-ui"}),
    );
    sim.push(json!({"type": "agent_heartbeat", "agent": "spare-1", "status": "offline"}));
    assert_eq!(sim.engine.liveness_of("spare-1"), Some(Liveness::Offline));
    sim.at(200).beat(&["be-1", "be-2", "be-3"]);
    sim.at(301).tick();
    let a = sim.open_of("agent_timeout");
    assert_eq!(a.agent.as_deref(), Some("fe-1"));
    assert_eq!(a.escalation, Escalation::Human);
    assert!(
        a.actions.iter().any(|s| s.contains("no healthy agent")),
        "{:?}",
        a.actions
    );
    assert_eq!(sim.task_agent("UI-1").as_deref(), Some("fe-1"));
    // An offline agent raises no alert of its own.
    assert!(sim
        .open_alerts()
        .iter()
        .all(|a| a.agent.as_deref() != Some("spare-1")));
}

// ---- quality_gate_failure -----------------------------------------------------

#[test]
fn quality_gate_failure_blocks_and_escalates_on_the_second_failure_in_a_row() {
    let mut sim = Sim::with_plan(fleet_plan(false));
    sim.at(0).push(json!({"type": "quality_gate_failure", "component": "auth-api", "gate": "unit_tests", "agent": "be-1"}));
    let a = sim.open_of("quality_gate_failure");
    assert_eq!(
        (a.level, a.escalation, a.count),
        (Level::High, Escalation::Pm, 1)
    );
    assert_eq!(
        a.response_due, None,
        "blocking the component is the response"
    );
    assert!(a.blocking);
    assert_eq!(sim.secs(a.escalate_at.unwrap()), 15 * 60);
    assert!(sim.engine.components["auth-api"].blocked());
    assert!(sim
        .fx
        .iter()
        .any(|f| matches!(f, Effect::Action(AutoAction::ComponentBlocked { .. }))));
    assert!(sim
        .fx
        .iter()
        .any(|f| matches!(f, Effect::Action(AutoAction::QualityReviewOpened { .. }))));
    sim.at(30).push(json!({"type": "quality_gate_failure", "component": "auth-api", "gate": "unit_tests", "agent": "be-1"}));
    let a = sim.open_of("quality_gate_failure");
    assert_eq!((a.count, a.escalation), (2, Escalation::Human));
    assert_eq!(sim.open_alerts().len(), 1, "one alert, counted twice");
    sim.at(90).push(
        json!({"type": "quality_gate_passed", "component": "auth-api", "gate": "unit_tests"}),
    );
    assert_eq!(sim.alert(1).resolution, Some(Resolution::Auto));
    assert!(!sim.engine.components["auth-api"].blocked());
}

#[test]
fn quality_gate_not_passing_after_the_recovery_timeout_goes_to_human() {
    let mut sim = Sim::with_config(
        json!({"crisis_response_config": {"escalation_timeout_minutes": 600}}),
        Some(fleet_plan(false)),
    );
    sim.at(0).push(
        json!({"type": "quality_gate_failure", "component": "auth-api", "gate": "unit_tests"}),
    );
    sim.at(29 * 60).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Pm);
    sim.at(30 * 60).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Human);
    assert_eq!(sim.transitions(1), ["escalated"]);
}

#[test]
fn quality_gate_that_is_the_last_thing_holding_the_phase_back_goes_to_human() {
    let mut sim = Sim::with_config(
        json!({"crisis_response_config": {"escalation_timeout_minutes": 600}}),
        Some(fleet_plan(false)),
    );
    sim.at(0).push(
        json!({"type": "quality_gate_failure", "component": "auth-api", "gate": "unit_tests"}),
    );
    sim.at(10)
        .push(json!({"type": "progress_update", "component": "auth-api", "progress": 100}));
    sim.at(11).tick();
    assert_eq!(
        sim.alert(1).escalation,
        Escalation::Pm,
        "web-ui is still at 0 %"
    );
    sim.at(20)
        .push(json!({"type": "progress_update", "component": "web-ui", "progress": 100}));
    sim.at(21).tick();
    let a = sim.alert(1);
    assert_eq!(a.escalation, Escalation::Human);
    assert!(!sim.engine.phases[0].complete, "a failing gate holds it");
}

// ---- blocker_detected ---------------------------------------------------------

#[test]
fn blocker_is_medium_off_the_current_phase_high_on_it_and_human_after_six_hours() {
    let mut sim = Sim::with_config(
        json!({"crisis_response_config": {"escalation_timeout_minutes": 1000}}),
        Some(fleet_plan(false)),
    );
    sim.at(0).beat(&["be-1"]).push(json!({"type": "blocker_detected", "component": "billing", "agent": "be-1", "message": "waiting on API keys"}));
    let a = sim.open_of("blocker_detected");
    assert_eq!((a.level, a.escalation), (Level::Medium, Escalation::Pm));
    assert!(
        a.actions[0].starts_with("alternative paths"),
        "{:?}",
        a.actions
    );
    assert!(sim.fx.iter().any(|f| matches!(f, Effect::Action(AutoAction::AlternativePaths { idle_agents, .. }) if idle_agents == &["be-1".to_string()])));
    sim.at(1)
        .push(json!({"type": "blocker_detected", "component": "auth-api", "agent": "be-2"}));
    assert_eq!(
        sim.alert(2).level,
        Level::High,
        "impact: current phase component"
    );
    sim.at(6 * 3600 - 1).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Pm);
    sim.at(6 * 3600).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Human);
    sim.at(6 * 3600 + 5)
        .push(json!({"type": "blocker_resolved", "component": "billing", "agent": "be-9"}));
    assert_eq!(sim.alert(1).resolution, Some(Resolution::Auto));
    assert!(sim.alert(2).is_open(), "only the named component");
}

// ---- system_failure -----------------------------------------------------------

#[test]
fn system_failure_is_critical_goes_to_human_immediately_and_degrades_the_system() {
    let mut sim = Sim::new();
    sim.at(0)
        .push(json!({"type": "system_failure", "component": "event-bus", "message": "disk full"}));
    let a = sim.open_of("system_failure");
    assert_eq!(
        (a.level, a.escalation),
        (Level::Critical, Escalation::Human)
    );
    assert!(a.reached_human);
    assert_eq!(a.escalate_at, None, "nowhere higher to go");
    assert!(sim.engine.degraded);
    let notes = sim.notified();
    assert!(notes.contains(&(NotifyClass::PmCritical, "alert_opened".into())));
    assert!(notes.contains(&(NotifyClass::System, "system_degraded".into())));
    sim.at(45)
        .push(json!({"type": "system_recovered", "component": "event-bus"}));
    assert_eq!(sim.alert(1).resolution, Some(Resolution::Auto));
    assert!(!sim.engine.degraded);
}

// ---- communication_failure ----------------------------------------------------

#[test]
fn communication_failure_switches_channels_asks_for_resync_and_goes_to_human_after_ten_minutes() {
    let mut sim = Sim::new();
    sim.at(0)
        .push(json!({"type": "communication_failure", "agent": "be-1"}));
    let a = sim.open_of("communication_failure");
    assert_eq!((a.level, a.escalation), (Level::High, Escalation::Pm));
    assert!(sim
        .notified()
        .contains(&(NotifyClass::Agents, "resync_requested".into())));
    assert!(sim
        .fx
        .iter()
        .any(|f| matches!(f, Effect::Action(AutoAction::BackupChannels { .. }))));
    // The agent is alive on another path: its heartbeats still arrive.
    for t in [200, 400] {
        sim.at(t).beat(&["be-1"]).tick();
    }
    sim.at(599).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Pm);
    sim.at(600).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Human);
    sim.at(660)
        .push(json!({"type": "communication_restored", "agent": "be-1"}));
    assert_eq!(sim.alert(1).resolution, Some(Resolution::Auto));
}

#[test]
fn crisis_matrix_rows_can_be_overridden_in_config() {
    let mut sim = Sim::with_config(
        json!({"crisis_matrix": {"communication_failure": {"level": "critical", "respond_within_seconds": 10, "human_after_minutes": 2}}}),
        None,
    );
    sim.at(0)
        .push(json!({"type": "communication_failure", "agent": "x"}));
    assert_eq!(sim.alert(1).level, Level::Critical);
    sim.at(120).tick();
    assert_eq!(sim.alert(1).escalation, Escalation::Human);
}
