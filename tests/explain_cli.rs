//! `coord explain` on scripted journals with known answers: the rule and the
//! level's reason, the input events with their sources, the timers, the
//! history.

mod cli_support;

use chrono::{SecondsFormat, TimeDelta, Utc};
use cli_support::*;
use serde_json::{json, Value};
use std::path::Path;

fn setup(events: &[Value], plan: Option<Value>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("events")).unwrap();
    if let Some(p) = plan {
        std::fs::write(dir.join("plan.json"), p.to_string()).unwrap();
    }
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(dir.join("events/a.jsonl"), text).unwrap();
    let out = coord(&["watch", dir.to_str().unwrap(), "--headless", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    tmp
}

fn explain(dir: &Path, alert: &str) -> Value {
    let out = coord(&["explain", dir.to_str().unwrap(), alert, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ago(minutes: i64) -> String {
    (Utc::now() - TimeDelta::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[test]
fn a_timeout_is_explained_by_the_agents_last_word_and_the_rule() {
    let tmp = setup(
        &[
            json!({"type": "task_assigned", "id": "t-1", "ts": ago(20), "agent": "ann", "task": "T-1"}),
            json!({"type": "agent_heartbeat", "id": "hb-1", "ts": ago(12), "agent": "ann", "message": "still here"}),
        ],
        None,
    );
    let e = explain(tmp.path(), "A-1");
    assert_eq!(
        (e["trigger"].as_str(), e["level"].as_str()),
        (Some("agent_timeout"), Some("high"))
    );
    assert_eq!(e["subject"], "agent=ann");
    let rule = e["rule"].to_string();
    assert!(
        rule.contains("agent_timeout row") && rule.contains("agent_timeout_minutes (5 min)"),
        "{rule}"
    );
    // Its inputs: ann's last word (with its source), then the derived timeout.
    let inputs = e["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2, "{inputs:#?}");
    assert_eq!(
        (inputs[0]["id"].as_str(), inputs[0]["source"].as_str()),
        (Some("hb-1"), Some("events/a.jsonl:2"))
    );
    assert_eq!(inputs[1]["type"], "agent_timeout");
    assert_eq!(inputs[1]["source"], "coord (derived)");
    // Timers and history: opened, and the automatic move made the response.
    let timers = e["timers"].as_array().unwrap();
    assert_eq!(timers[0]["name"], "response (SLA)");
    assert!(
        timers[0]["said"].as_str().unwrap().starts_with("met"),
        "{timers:#?}"
    );
    assert_eq!(e["history"][0]["what"], "opened");
    assert_eq!(e["history"][0]["event"], inputs[1]["id"]);
    // The text says the same.
    let out = coord(&["explain", tmp.path().to_str().unwrap(), "1"]);
    let text = text(&out.stdout);
    for part in [
        "A-1 · HIGH · agent_timeout · agent=ann",
        "Why it opened",
        "hb-1  from events/a.jsonl:2",
        "Timers",
        "What happened",
    ] {
        assert!(text.contains(part), "{part:?} in\n{text}");
    }
}

#[test]
fn the_level_says_why_it_is_not_the_matrixs() {
    let plan = json!({"phases": [{"id": "p1", "components": [{"id": "api"}]}]});
    let tmp = setup(
        &[
            json!({"type": "blocker_detected", "id": "b-1", "ts": ago(1), "agent": "bob", "component": "api", "message": "waiting on the schema"}),
            json!({"type": "quality_gate_failure", "id": "g-1", "ts": ago(1), "agent": "qa", "component": "web", "gate": "lint", "severity": "critical"}),
        ],
        Some(plan),
    );
    let blocker = explain(tmp.path(), "A-1");
    assert_eq!(blocker["level"], "high");
    let rule = blocker["rule"].to_string();
    assert!(
        rule.contains("not medium") && rule.contains("current phase (api)"),
        "{rule}"
    );
    assert_eq!(blocker["inputs"][0]["message"], "waiting on the schema");
    let gate = explain(tmp.path(), "A-2");
    assert_eq!(gate["level"], "critical");
    let rule = gate["rule"].to_string();
    assert!(
        rule.contains("own severity (critical)") && !rule.contains("current phase"),
        "{rule}"
    );
    // An alert that is not there: exit 2, said.
    let out = coord(&["explain", tmp.path().to_str().unwrap(), "A-9"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("A-9: no such alert"),
        "{}",
        stderr(&out)
    );
}
