//! `coord digest` on a scripted journal with known answers: what changed in a
//! span — alerts opened, escalated, past their deadline, resolved; tasks moved;
//! agents that died and came back; the phase's progress.

mod cli_support;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use cli_support::*;
use serde_json::{json, Value};
use std::path::Path;

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn once(dir: &Path) {
    let out = coord(&["watch", dir.to_str().unwrap(), "--headless", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

fn digest(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["digest", dir.to_str().unwrap(), "--json"];
    all.extend(args);
    let out = coord(&all);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["alert"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn what_changed_in_a_span() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("events")).unwrap();
    std::fs::write(
        dir.join("plan.json"),
        json!({"phases": [{"id": "p1", "components": [{"id": "api"}, {"id": "web"}]}]}).to_string(),
    )
    .unwrap();
    let now = Utc::now();
    // First run: ann went silent 10 minutes ago holding T-1; bob is fine.
    append_events(
        dir,
        "a.jsonl",
        &[
            json!({"type": "task_assigned", "id": "1", "ts": rfc(now - TimeDelta::minutes(12)), "agent": "ann", "task": "T-1", "component": "api"}),
            json!({"type": "progress_update", "id": "2", "ts": rfc(now - TimeDelta::minutes(11)), "agent": "ann", "task": "T-1", "component": "api", "progress": 20}),
            json!({"type": "agent_heartbeat", "id": "3", "ts": rfc(now), "agent": "bob"}),
        ],
    );
    once(dir);
    let mid = Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(50));
    // Second run: ann is back, a blocker opens, bob moves api on.
    append_events(
        dir,
        "a.jsonl",
        &[
            json!({"type": "agent_heartbeat", "id": "4", "ts": rfc(Utc::now()), "agent": "ann"}),
            json!({"type": "blocker_detected", "id": "5", "ts": rfc(Utc::now()), "agent": "bob", "component": "web", "message": "no schema"}),
            json!({"type": "progress_update", "id": "6", "ts": rfc(Utc::now()), "agent": "bob", "task": "T-1", "component": "api", "progress": 60}),
        ],
    );
    once(dir);

    // Everything since the start.
    let all = digest(dir, &["--since", &rfc(now - TimeDelta::hours(1))]);
    assert_eq!(ids(&all["opened"]), ["A-1", "A-2"]);
    assert_eq!(all["opened"][0]["trigger"], "agent_timeout");
    assert_eq!(ids(&all["resolved"]), ["A-1"]);
    let moved = all["reassigned"].as_array().unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        (
            moved[0]["task"].as_str(),
            moved[0]["from"].as_str(),
            moved[0]["to"].as_str()
        ),
        (Some("T-1"), Some("ann"), Some("bob"))
    );
    assert_eq!(all["agents"]["died"][0]["agent"], "ann");
    assert_eq!(all["agents"]["recovered"][0]["agent"], "ann");
    assert_eq!(all["progress"]["from"], Value::Null, "before the journal");
    assert_eq!(all["progress"]["to"], 30.0);

    // Since the first run: only what the second did.
    let later = digest(dir, &["--since", &rfc(mid)]);
    assert_eq!(ids(&later["opened"]), ["A-2"]);
    assert_eq!(later["opened"][0]["subject"], "bob web");
    assert_eq!(ids(&later["resolved"]), ["A-1"]);
    assert!(later["reassigned"].as_array().unwrap().is_empty());
    assert!(later["agents"]["died"].as_array().unwrap().is_empty());
    assert_eq!(later["agents"]["recovered"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            later["progress"]["from"].as_f64(),
            later["progress"]["to"].as_f64()
        ),
        (Some(10.0), Some(30.0))
    );

    // With no mark from the operator: from the journal's start, said so.
    let nobody = digest(dir, &["--operator", "zed"]);
    assert!(nobody["since_is"]
        .as_str()
        .unwrap()
        .contains("zed has not looked yet"));
    assert_eq!(ids(&nobody["opened"]), ["A-1", "A-2"]);
    // The text says the same.
    let out = coord(&["digest", dir.to_str().unwrap(), "--since", &rfc(mid)]);
    let text = text(&out.stdout);
    for part in [
        "Opened: 1",
        "A-2",
        "Resolved: 1",
        "Tasks moved: 0",
        "Agents: 0 died, 1 came back",
        "p1 10.0 % → 30.0 %",
    ] {
        assert!(text.contains(part), "{part:?} in\n{text}");
    }
}
