//! A storm on the virtual clock: most of a fleet goes quiet at once, and one
//! tick times them all out. Their tasks go only to agents that live on, each
//! task moved once. (Its cost: `cargo bench --bench engine -- storm` and
//! `bench/storm.sh`.)

mod support;

use coord::engine::agents::Liveness;
use coord::engine::{AutoAction, Effect};
use serde_json::json;
use std::collections::BTreeMap;
use support::Sim;

fn storm(quiet: usize, live: usize) -> Sim {
    let mut sim = Sim::new();
    sim.at(0);
    for i in 0..quiet {
        let agent = format!("quiet-{i:05}");
        sim.beat(&[&agent]);
        sim.push(json!({"type": "task_assigned", "agent": agent, "task": format!("T{i:05}")}));
    }
    let live: Vec<String> = (0..live).map(|i| format!("live-{i:03}")).collect();
    let names: Vec<&str> = live.iter().map(String::as_str).collect();
    sim.at(290).beat(&names);
    sim.at(301).tick();
    sim
}

#[test]
fn one_tick_times_out_the_quiet_and_gives_their_tasks_to_the_living() {
    let sim = storm(500, 10);
    let mut moves: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &sim.fx {
        if let Effect::Action(AutoAction::TaskReassigned { task, to, .. }) = f {
            moves.entry(task.clone()).or_default().push(to.clone());
        }
    }
    assert_eq!(moves.len(), 500, "every task moved");
    for (task, to) in &moves {
        assert_eq!(to.len(), 1, "{task} moved more than once: {to:?}");
        assert!(to[0].starts_with("live-"), "{task} went to {to:?}");
    }
    // Spread evenly: the least loaded takes the next.
    for i in 0..10 {
        let name = format!("live-{i:03}");
        assert_eq!(sim.engine.agents[name.as_str()].open_tasks.len(), 50);
        assert_eq!(sim.engine.liveness_of(&name), Some(Liveness::Healthy));
    }
    assert_eq!(sim.engine.alerts.open_count(), 500);
}

/// Nobody lives on: every task stays where it was and goes to a human, rather
/// than to an agent found dead in the same tick.
#[test]
fn with_no_one_left_the_storm_goes_to_a_human() {
    let sim = storm(200, 0);
    let moved = sim
        .fx
        .iter()
        .filter(|f| matches!(f, Effect::Action(AutoAction::TaskReassigned { .. })))
        .count();
    assert_eq!(moved, 0);
    let human = sim
        .engine
        .alerts
        .open()
        .filter(|a| a.escalation == coord::model::Escalation::Human)
        .count();
    assert_eq!(human, 200);
}

/// A timeout that is not a whole number of minutes reads as people write it.
#[test]
fn a_short_timeout_says_its_length_in_words() {
    let mut sim = Sim::with_config(
        json!({"heartbeat_config": {"late_after_seconds": 5, "agent_timeout_minutes": 0.1666666666666666}}),
        None,
    );
    sim.at(0).beat(&["a"]);
    sim.at(20).tick();
    let a = sim.open_of("agent_timeout");
    assert_eq!(a.message.as_deref(), Some("no heartbeat for 10 s"));
}
