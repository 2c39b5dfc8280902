//! `coord whatif` on a scripted run with known answers: a live console under a
//! 3 s agent timeout, replayed under 6 s. ann's 4.5 s silence timed her out and
//! would not have; bob, dead for good, would have been found 3 s later.

mod cli_support;

use chrono::{SecondsFormat, Utc};
use cli_support::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn beat(dir: &Path, agent: &str) {
    let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("events/a.jsonl"))
        .unwrap();
    writeln!(
        f,
        "{}",
        json!({"type": "agent_heartbeat", "ts": ts, "agent": agent})
    )
    .unwrap();
}

fn config(timeout_s: f64) -> String {
    json!({"heartbeat_config": {"late_after_seconds": 1, "agent_timeout_minutes": timeout_s / 60.0}})
        .to_string()
}

#[test]
fn a_longer_timeout_replayed_over_a_real_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("events")).unwrap();
    std::fs::write(dir.join("coord.json"), config(3.0)).unwrap();
    let other = dir.join("other.json");
    std::fs::write(&other, config(6.0)).unwrap();
    let mut console = std::process::Command::new(COORD)
        .args(["watch", dir.to_str().unwrap(), "--headless"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let at = |s: f64| start + Duration::from_secs_f64(s);
    let sleep_until = |t: Instant| std::thread::sleep(t.saturating_duration_since(Instant::now()));
    beat(dir, "ann");
    beat(dir, "bob");
    // ann: silent until 4.5 s, then every half second; bob: never again.
    let mut t = 4.5;
    while t < 9.0 {
        sleep_until(at(t));
        beat(dir, "ann");
        t += 0.5;
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &console.id().to_string()])
        .status();
    console.wait().unwrap();

    let out = coord(&[
        "whatif",
        dir.to_str().unwrap(),
        "--config",
        other.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let w: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        w["actual"]["by_trigger"]["agent_timeout"]["high"], 2,
        "{w:#}"
    );
    assert_eq!(
        w["whatif"]["by_trigger"]["agent_timeout"]["high"], 1,
        "{w:#}"
    );
    let only = w["only_actual"].as_array().unwrap();
    assert_eq!(only.len(), 1, "{w:#}");
    assert_eq!(only[0]["subject"], "ann");
    assert!(w["only_whatif"].as_array().unwrap().is_empty());
    let moved = w["detection"].as_array().unwrap();
    assert_eq!(moved.len(), 1, "{w:#}");
    assert_eq!(moved[0]["subject"], "bob");
    let by = moved[0]["by_s"].as_f64().unwrap();
    assert!((2.0..=4.0).contains(&by), "bob found {by} s later");
    let summary = w["summary"].to_string();
    assert!(
        summary.contains("1 of 2 agent_timeout alerts would not have fired"),
        "{summary}"
    );
    assert!(
        summary.contains("1 agent_timeout alert would have opened later"),
        "{summary}"
    );
    // The same configuration: no difference.
    let out = coord(&[
        "whatif",
        dir.to_str().unwrap(),
        "--config",
        dir.join("coord.json").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0);
    assert!(
        text(&out.stdout).contains("no difference"),
        "{}",
        text(&out.stdout)
    );
    // A bad configuration is refused, naming it.
    std::fs::write(&other, r#"{"heartbeat_config": {"bogus": 1}}"#).unwrap();
    let out = coord(&[
        "whatif",
        dir.to_str().unwrap(),
        "--config",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bogus"), "{}", stderr(&out));
}
