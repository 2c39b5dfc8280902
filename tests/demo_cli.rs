//! `coord demo` through the real binary: the headless demo on a directory, then
//! `coord status --json` and the outbox read back.

mod cli_support;

use cli_support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn status_json(dir: &Path) -> Value {
    let out = coord(&["status", dir.to_str().unwrap(), "--json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

/// 100 scenario seconds (the story's first 90 and a little more) at speed 4.
#[test]
fn the_headless_demo_plays_the_whole_story() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let d = dir.to_str().unwrap();
    let out = coord(&[
        "demo",
        "--dir",
        d,
        "--headless",
        "--speed",
        "4",
        "--duration",
        "25",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains(" event agent_heartbeat "), "{printed}");

    let s = status_json(&dir);
    let alerts = s["alerts"].as_array().unwrap();
    let triggers: BTreeSet<&str> = alerts
        .iter()
        .map(|a| a["trigger"].as_str().unwrap())
        .collect();
    for t in [
        "agent_timeout",
        "quality_gate_failure",
        "blocker_detected",
        "system_failure",
        "communication_failure",
        "agent_waiting",
        "budget_exceeded",
    ] {
        assert!(triggers.contains(t), "no {t} alert: {triggers:?}");
    }
    // devops-2 waited on a person and was answered; the fleet's work cost money.
    let waited = alerts
        .iter()
        .find(|a| a["trigger"] == "agent_waiting")
        .unwrap();
    assert_eq!(
        (waited["agent"].as_str(), waited["resolution"].as_str()),
        (Some("devops-2"), Some("auto")),
        "{waited:#}"
    );
    let spent: f64 = s["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["cost_usd"].as_f64().unwrap())
        .sum();
    assert!(spent > 1.0, "the fleet spent {spent}");
    let tasks = s["tasks"].as_array().unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t["auto_reassignments"].as_u64().unwrap() >= 1),
        "{tasks:#?}"
    );
    // The task that bounced between the two data agents.
    let t3 = tasks.iter().find(|t| t["id"] == "T-3").expect("T-3");
    assert_eq!(t3["auto_reassignments"], 2, "{t3}");
    assert!(
        alerts.iter().any(|a| a["escalation"] == "human"),
        "{alerts:#?}"
    );
    assert!(
        s["phases_complete"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "phase-1"),
        "{}",
        s["phases_complete"]
    );
    assert_eq!(s["phase"]["id"], "phase-2");

    // The outbox: valid JSON lines, a task_reassigned among them.
    let mut kinds = BTreeSet::new();
    let outbox = dir.join("outbox");
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display()));
            if let Some(k) = v["kind"].as_str() {
                kinds.insert(k.to_string());
            }
        }
    }
    for kind in ["task_reassigned", "budget_warning"] {
        assert!(
            kinds.contains(kind),
            "no {kind} in {}: {kinds:?}",
            outbox.display()
        );
    }
}

#[test]
fn fleets_of_six_and_of_a_hundred_and_fifty() {
    for n in [6, 150] {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().to_str().unwrap();
        let agents = n.to_string();
        let out = coord(&[
            "demo",
            "--dir",
            d,
            "--headless",
            "--agents",
            &agents,
            "--speed",
            "5",
            "--duration",
            "4",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let s = status_json(tmp.path());
        assert_eq!(s["agents"].as_array().unwrap().len(), n);
        assert!(s["counts"]["events"].as_u64().unwrap() > n as u64);
        assert_eq!(s["counts"]["parse_errors"], 0);
    }
}

#[test]
fn a_directory_it_did_not_make_is_refused_and_its_own_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let out = coord(&["demo", "--dir", d, "--headless", "--duration", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    assert!(!tmp.path().join("coord.json").exists());

    let own = tmp.path().join("demo");
    let o = own.to_str().unwrap();
    for _ in 0..2 {
        let out = coord(&[
            "demo",
            "--dir",
            o,
            "--headless",
            "--speed",
            "5",
            "--duration",
            "1.5",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    // The second run started afresh: one run's worth of events.
    let s = status_json(&own);
    let first = s["alerts"].as_array().unwrap().len();
    assert!(first <= 2, "{first} alerts after 7.5 scenario seconds");
    assert_eq!(s["counts"]["duplicates"], 0);

    for bad in [
        vec!["--agents", "3"],
        vec!["--speed", "0"],
        vec!["--duration", "-1"],
    ] {
        let mut args = vec!["demo", "--dir", o, "--headless"];
        args.extend(bad.iter().copied());
        let out = coord(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
}
