//! What real agents bring (SPEC 6 and 17), on a virtual clock: an agent that
//! waits on a person, an idle one, a failed task, spend against budgets.

mod support;

use coord::engine::agents::Liveness;
use coord::engine::alerts::Resolution;
use coord::engine::NotifyClass;
use coord::model::{EventType, Level};
use serde_json::json;
use support::Sim;

fn beat(agent: &str, status: &str, message: &str) -> serde_json::Value {
    json!({"type": "agent_heartbeat", "agent": agent, "status": status, "message": message})
}

fn liveness(sim: &Sim, agent: &str) -> Liveness {
    sim.engine.liveness_of(agent).expect("known agent")
}

#[test]
fn a_waiting_agent_opens_agent_waiting_after_the_limit_and_it_resolves_when_it_works_again() {
    let mut sim = Sim::new();
    sim.at(0).push(beat("cc-1", "starting", "session started"));
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Healthy);
    sim.at(10).push(beat(
        "cc-1",
        "waiting",
        "Claude needs your permission to use Bash",
    ));
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Waiting);
    // Two minutes is the default limit: not yet.
    sim.at(130).tick();
    assert!(sim.open_alerts().is_empty());
    sim.at(131).tick();
    let a = sim.open_of("agent_waiting");
    assert_eq!(a.level, Level::Medium);
    assert_eq!(a.agent.as_deref(), Some("cc-1"));
    assert_eq!(sim.secs(a.first_seen), 130, "dated when the limit passed");
    let msg = a.message.clone().unwrap();
    assert!(
        msg.contains("2 min") && msg.contains("permission to use Bash"),
        "{msg}"
    );
    let id = a.id;
    // Once a wait: later ticks open nothing more.
    sim.at(400).tick();
    assert_eq!(sim.open_alerts().len(), 1);
    // Long past agent_timeout (5 min): a waiting agent does not time out.
    sim.at(3600).tick();
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Waiting);
    assert_eq!(sim.open_alerts().len(), 1, "{:#?}", sim.open_alerts());
    // It works again: the alert resolves by itself.
    sim.at(3601)
        .push(beat("cc-1", "working", "PostToolUse Bash"));
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Healthy);
    assert_eq!(sim.engine.resolution_of(id), Some(Resolution::Auto));
    assert!(sim.open_alerts().is_empty());
    // A new wait is a new episode with its own alert.
    sim.at(3700).push(beat("cc-1", "waiting", "needs input"));
    sim.at(3821).tick();
    assert_eq!(sim.open_of("agent_waiting").id, id + 1);
    // Going offline closes it as superseded, not as answered.
    sim.at(3830).push(beat("cc-1", "offline", "session ended"));
    assert_eq!(
        sim.engine.resolution_of(id + 1),
        Some(Resolution::Superseded)
    );
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Offline);
}

#[test]
fn the_waiting_limit_and_row_come_from_the_config() {
    let mut sim = Sim::with_config(
        json!({
            "heartbeat_config": {"waiting_alert_minutes": 0.5},
            "crisis_matrix": {"agent_waiting": {"level": "high"}}
        }),
        None,
    );
    sim.at(0).push(beat("cc-1", "waiting", "approve?"));
    sim.at(30).tick();
    assert!(sim.open_alerts().is_empty());
    sim.at(31).tick();
    assert_eq!(sim.open_of("agent_waiting").level, Level::High);
}

#[test]
fn an_idle_agent_does_not_age_and_an_older_event_does_not_wake_it() {
    let mut sim = Sim::new();
    sim.at(0).push(beat("cc-1", "working", "Bash"));
    sim.at(5).push(beat("cc-1", "idle", "turn finished"));
    sim.at(7200).tick();
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Idle);
    assert!(
        sim.open_alerts().is_empty(),
        "an idle agent never times out"
    );
    // A late line stamped before the idle one says nothing about now.
    sim.at(7201).push(
        json!({"type": "agent_heartbeat", "agent": "cc-1", "ts": support::t0().to_rfc3339()}),
    );
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Idle);
    // Its next prompt makes it work again, and then it ages as before.
    sim.at(7300)
        .push(beat("cc-1", "working", "prompt: fix the tests"));
    assert_eq!(liveness(&sim, "cc-1"), Liveness::Healthy);
    sim.at(7300 + 301).tick();
    assert_eq!(liveness(&sim, "cc-1"), Liveness::TimedOut);
}

#[test]
fn task_failed_is_medium_high_on_the_current_phase_and_a_completed_retry_resolves_it() {
    let plan = json!({"phases": [
        {"id": "p1", "components": [{"id": "api"}]},
        {"id": "p2", "components": [{"id": "docs"}]}
    ]});
    let mut sim = Sim::with_plan(plan);
    sim.at(0).push(
        json!({"type": "task_failed", "agent": "ci-1", "task": "T-1",
        "component": "docs", "message": "exit status 1: error: 3 tests failed"}),
    );
    let a = sim.open_of("task_failed");
    assert_eq!(a.level, Level::Medium);
    assert!(a.actions.is_empty(), "no automatic action");
    assert_eq!(a.trigger, EventType::TaskFailed);
    sim.at(1).push(
        json!({"type": "task_failed", "agent": "ci-1", "task": "T-2",
        "component": "api", "message": "killed by signal 9"}),
    );
    let high: Vec<_> = sim
        .open_alerts()
        .into_iter()
        .filter(|a| a.level == Level::High)
        .collect();
    assert_eq!(high.len(), 1, "the impact rule: a current-phase component");
    assert_eq!(high[0].task.as_deref(), Some("T-2"));
    // The retry of T-1 succeeds: its failure resolves; T-2's stays.
    sim.at(60)
        .push(json!({"type": "task_completed", "agent": "ci-1", "task": "T-1"}));
    assert_eq!(sim.engine.resolution_of(1), Some(Resolution::Auto));
    assert_eq!(sim.open_alerts().len(), 1);
}

#[test]
fn spend_adds_up_per_agent_component_and_phase_and_budgets_warn_then_alert_once() {
    let plan = json!({
        "phases": [{"id": "p1", "budget_usd": 10.0, "components": [{"id": "api"}]}],
        "agents": [{"id": "be-1", "budget_usd": 5.0}, {"id": "be-2"}]
    });
    let mut sim = Sim::with_plan(plan);
    let spend = |agent: &str, cost: f64, tokens: u64| {
        json!({"type": "progress_update", "agent": agent, "component": "api",
               "progress": 10, "cost_usd": cost, "tokens": tokens})
    };
    sim.at(0).push(spend("be-1", 3.0, 1000));
    assert!(sim.notified().is_empty());
    // be-1 passes 80 % of its 5 dollars: the PM channel is told, once.
    sim.at(1).push(spend("be-1", 1.5, 500));
    assert_eq!(
        sim.notified(),
        [(NotifyClass::PmHigh, "budget_warning".to_string())]
    );
    sim.at(2).push(spend("be-1", 0.1, 0));
    assert!(sim.notified().is_empty(), "told once");
    // In `data` too; be-1 passes its budget: budget_exceeded, High.
    sim.at(3)
        .push(json!({"type": "agent_heartbeat", "agent": "be-1",
        "data": {"cost_usd": 1.0, "tokens": 10}}));
    let a = sim.open_of("budget_exceeded");
    assert_eq!((a.level, a.agent.as_deref()), (Level::High, Some("be-1")));
    assert!(
        a.message.as_deref().unwrap().contains("$5.60 of its $5.00"),
        "{:?}",
        a.message
    );
    // The phase (10 dollars) passes 80 % then 100 % with be-2's work.
    sim.at(4).push(spend("be-2", 2.5, 100));
    assert!(sim
        .notified()
        .contains(&(NotifyClass::PmHigh, "budget_warning".to_string())));
    sim.at(5).push(spend("be-2", 2.0, 100));
    let phase_alert = sim
        .open_alerts()
        .into_iter()
        .find(|a| a.trigger == EventType::BudgetExceeded && a.agent.is_none())
        .expect("the phase's budget alert");
    assert!(phase_alert.message.as_deref().unwrap().contains("phase p1"));
    sim.at(6).push(spend("be-2", 2.0, 100));
    assert_eq!(
        sim.open_alerts()
            .iter()
            .filter(|a| a.trigger == EventType::BudgetExceeded)
            .count(),
        2,
        "each budget alerts once"
    );
    let s = sim.engine.summary(sim.now);
    let be1 = s.agents.iter().find(|a| a.id == "be-1").unwrap();
    assert_eq!(
        (be1.cost_usd, be1.tokens, be1.budget_usd),
        (5.6, 1510, Some(5.0))
    );
    let api = s.components.iter().find(|c| c.id == "api").unwrap();
    assert_eq!((api.cost_usd, api.tokens), (11.1, 1800));
    assert_eq!(
        (s.phase.cost_usd, s.phase.tokens, s.phase.budget_usd),
        (12.1, 1810, Some(10.0))
    );
}

/// A planned agent (offline until it reports) whose first word is already
/// older than the timeout is timed out by the next tick, as an unplanned one is.
#[test]
fn a_planned_agent_heard_of_only_long_ago_times_out() {
    let plan = json!({"phases": [{"id": "p1", "components": [{"id": "api"}]}],
                      "agents": [{"id": "ann"}, {"id": "bob"}, {"id": "cid"}]});
    let mut sim = Sim::with_plan(plan);
    sim.at(1200);
    let long_ago = (support::t0()).to_rfc3339();
    sim.push(json!({"type": "task_assigned", "agent": "ann", "task": "T-1", "ts": long_ago}));
    sim.push(json!({"type": "agent_heartbeat", "agent": "bob"}));
    assert_eq!(liveness(&sim, "ann"), Liveness::Late);
    sim.at(1201).tick();
    assert_eq!(liveness(&sim, "ann"), Liveness::TimedOut);
    assert_eq!(sim.open_of("agent_timeout").agent.as_deref(), Some("ann"));
    assert_eq!(
        sim.task_agent("T-1").as_deref(),
        Some("bob"),
        "its task moved"
    );
    // One that never spoke stays offline: nothing says it ran.
    assert_eq!(liveness(&sim, "cid"), Liveness::Offline);
}
