//! `coord status` and `coord report` say when they are true (SPEC 12): `as_of`,
//! the journal's last record, whether a console runs; what only timers past
//! the journal did is `projected`, and a console that runs later gives it the
//! id shown; `--at last` invents nothing and prints the same bytes each time.
//!
//! Real time, short timers (an agent times out after 6 s): a headless
//! `watch --once` stands for a console that ran and stopped.

mod cli_support;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use cli_support::*;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn run_once(dir: &Path) {
    let out = coord(&["watch", dir.to_str().unwrap(), "--headless", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

fn status(dir: &Path, at: &str) -> Value {
    let out = coord(&["status", dir.to_str().unwrap(), "--json", "--at", at]);
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn by_id<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list:#}"))
}

fn sleep_until(t: DateTime<Utc>) {
    if let Ok(wait) = (t - Utc::now()).to_std() {
        std::thread::sleep(wait);
    }
}

/// zulu falls silent a second before alpha. Status between their deadlines
/// projects zulu's timeout as A-1; a console that starts after both deadlines
/// opens zulu's as A-1 and alpha's as A-2 (the order they fell due, not their
/// names'), and `--at last` then shows them as recorded.
#[test]
fn a_timeout_past_the_journal_is_projected_and_keeps_its_id() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("events")).unwrap();
    std::fs::write(
        dir.join("coord.json"),
        json!({"heartbeat_config": {"late_after_seconds": 1, "agent_timeout_minutes": 0.1}})
            .to_string(),
    )
    .unwrap();
    let t0 = Utc::now();
    append_events(
        dir,
        "fleet.jsonl",
        &[
            json!({"type": "agent_heartbeat", "id": "hb-z", "ts": rfc(t0 - TimeDelta::seconds(1)), "agent": "zulu"}),
            json!({"type": "agent_heartbeat", "id": "hb-a", "ts": rfc(t0), "agent": "alpha"}),
        ],
    );
    // A console runs and stops before anyone times out.
    run_once(dir);
    let zulu_due = t0 + TimeDelta::seconds(5);
    assert!(Utc::now() < zulu_due, "the first run took too long");

    // Before the journal's first record: nothing was recorded then.
    let out = coord(&["status", dir.to_str().unwrap(), "--at", "1h"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("before the journal's first record"),
        "{}",
        stderr(&out)
    );

    // Between the two deadlines: zulu's timeout is projected, as A-1.
    let between = rfc(t0 + TimeDelta::milliseconds(5500));
    let s = status(dir, &between);
    assert_eq!(s["as_of"], s["at"]);
    assert_eq!(s["console_running"], false);
    let last: DateTime<Utc> = s["journal_last"].as_str().unwrap().parse().unwrap();
    assert!(last >= t0 && last < zulu_due, "journal_last {last}");
    assert_eq!(
        s["alerts"].as_array().unwrap().len(),
        1,
        "{:#}",
        s["alerts"]
    );
    let a1 = by_id(&s["alerts"], "A-1");
    assert_eq!(a1["trigger"], "agent_timeout");
    assert_eq!(a1["agent"], "zulu");
    assert_eq!(a1["projected"], true);
    assert_eq!(by_id(&s["agents"], "zulu")["projected"], true);
    assert_eq!(by_id(&s["agents"], "zulu")["liveness"], "timed_out");
    // alpha only went late: projected too, not timed out.
    assert_eq!(by_id(&s["agents"], "alpha")["liveness"], "late");
    assert_eq!(by_id(&s["agents"], "alpha")["projected"], true);

    // The text and the Markdown report say so.
    let words = stdout(&coord(&["status", dir.to_str().unwrap(), "--at", &between]));
    assert!(words.contains("no console running"), "{words}");
    assert!(
        words
            .lines()
            .any(|l| l.contains("A-1") && l.contains("(projected)")),
        "{words}"
    );
    let md = stdout(&coord(&["report", dir.to_str().unwrap(), "--at", &between]));
    assert!(md.contains("| A-1 *(projected)* |"), "{md}");
    assert!(
        md.contains(
            "(projected): done by timers past the journal's last record, not yet recorded by a console: 1 alert, 2 agents."
        ),
        "{md}"
    );
    let report: Value = serde_json::from_slice(
        &coord(&[
            "report",
            dir.to_str().unwrap(),
            "--format",
            "json",
            "--at",
            &between,
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(report["as_of"], s["as_of"]);
    assert_eq!(report["crises"]["alerts"][0]["projected"], true);
    assert_eq!(
        report["projected"],
        json!({"alerts": 1, "agents": 2, "tasks": 0})
    );
    assert_eq!(report["timeline"][0]["projected"], true);

    // The journal does not know it yet, and `audit` says why.
    let audit = coord(&["audit", dir.to_str().unwrap(), "--alert", "A-1"]);
    assert_eq!(code(&audit), 0);
    assert!(audit.stdout.is_empty(), "{}", stdout(&audit));
    assert!(
        stderr(&audit).contains("A-1 is not in the journal"),
        "{}",
        stderr(&audit)
    );

    // As of the journal's last record: nothing invented, and the same bytes twice.
    let d = dir.to_str().unwrap();
    let at_last = coord(&["status", d, "--json", "--at", "last"]);
    let s: Value = serde_json::from_slice(&at_last.stdout).unwrap();
    assert_eq!(s["as_of"], s["journal_last"]);
    assert_eq!(s["alerts"], json!([]));
    for args in [
        vec!["status", d, "--json", "--at", "last"],
        vec!["status", d, "--at", "last"],
        vec!["report", d, "--at", "last"],
        vec!["report", d, "--format", "json", "--at", "last"],
    ] {
        let (one, two) = (coord(&args).stdout, coord(&args).stdout);
        assert!(!one.is_empty(), "{args:?}");
        assert_eq!(text(&one), text(&two), "{args:?}");
    }

    // A console starts after both deadlines: the ids the projection showed.
    sleep_until(t0 + TimeDelta::milliseconds(6500));
    run_once(dir);
    let s = status(dir, "last");
    let (a1, a2) = (by_id(&s["alerts"], "A-1"), by_id(&s["alerts"], "A-2"));
    assert_eq!(
        (&a1["agent"], &a2["agent"]),
        (&json!("zulu"), &json!("alpha"))
    );
    assert_eq!(
        (&a1["projected"], &a2["projected"]),
        (&json!(false), &json!(false))
    );
    let audit = coord(&["audit", d, "--alert", "A-1"]);
    assert!(stdout(&audit).contains("A-1 opened"), "{}", stdout(&audit));
    assert!(stderr(&audit).is_empty(), "{}", stderr(&audit));
    assert_eq!(
        text(&coord(&["status", d, "--at", "last"]).stdout),
        text(&coord(&["status", d, "--at", "last"]).stdout)
    );
}

/// `console_running` while a `coord watch` holds the directory, and not after.
#[test]
fn status_says_whether_a_console_is_running() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("events")).unwrap();
    let d = dir.to_str().unwrap();
    assert_eq!(status(dir, "now")["console_running"], false);
    let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["watch", d, "--headless"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while status(dir, "now")["console_running"] != true {
        assert!(std::time::Instant::now() < deadline, "never running");
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = stdout(&coord(&["status", d]));
    assert!(text.contains("a console is running"), "{text}");
    watch.kill().unwrap();
    watch.wait().unwrap();
    assert_eq!(status(dir, "now")["console_running"], false);
}

/// What a state at T is compared on: all but the fields that say when it was
/// asked and whether a console runs.
fn state(mut s: Value) -> Value {
    for k in ["at", "as_of", "journal_last", "console_running"] {
        s.as_object_mut().unwrap().remove(k);
    }
    s
}

/// The live state, sampled at several moments of a run (`--at last` while a
/// console runs: what it had recorded), is what `status --at T` gives for each
/// moment afterwards, when the journal has gone on: alerts, liveness, tasks,
/// completion.
#[test]
fn the_state_at_a_past_time_is_the_state_the_console_had_then() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("events")).unwrap();
    std::fs::write(
        dir.join("coord.json"),
        json!({"heartbeat_config": {"late_after_seconds": 1, "agent_timeout_minutes": 0.05}})
            .to_string(),
    )
    .unwrap();
    let mut console = std::process::Command::new(COORD)
        .args(["watch", dir.to_str().unwrap(), "--headless"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut samples: Vec<Value> = Vec::new();
    let mut sample = |dir: &Path, want: &dyn Fn(&Value) -> bool| {
        let start = std::time::Instant::now();
        loop {
            // (Until the console's first record, there is no `last`.)
            let out = coord(&["status", dir.to_str().unwrap(), "--json", "--at", "last"]);
            let s: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if want(&s) {
                samples.push(s);
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{s:#} {}",
                stderr(&out)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let now = || rfc(Utc::now());
    append_events(
        dir,
        "a.jsonl",
        &[
            json!({"type": "task_assigned", "id": "1", "ts": now(), "agent": "ann", "task": "T-1", "component": "api"}),
            json!({"type": "progress_update", "id": "2", "ts": now(), "agent": "ann", "task": "T-1", "component": "api", "progress": 30}),
            json!({"type": "agent_heartbeat", "id": "3", "ts": now(), "agent": "bob"}),
        ],
    );
    sample(dir, &|s| s["counts"]["events"] == 3);
    // ann falls silent: timed out (3 s), T-1 moves to bob, who keeps beating.
    for i in 0..8 {
        append_events(
            dir,
            "b.jsonl",
            &[
                json!({"type": "agent_heartbeat", "id": format!("b{i}"), "ts": now(), "agent": "bob"}),
            ],
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    sample(dir, &|s| {
        s["alerts"].as_array().is_some_and(|a| !a.is_empty())
    });
    append_events(
        dir,
        "b.jsonl",
        &[
            json!({"type": "progress_update", "id": "p2", "ts": now(), "agent": "bob", "task": "T-1", "component": "api", "progress": 80}),
            json!({"type": "agent_heartbeat", "id": "a-back", "ts": now(), "agent": "ann"}),
        ],
    );
    sample(dir, &|s| s["counts"]["events"] == 13);
    std::thread::sleep(Duration::from_millis(1500));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &console.id().to_string()])
        .status();
    console.wait().unwrap();
    // Later, with more in the journal: each moment as it was.
    assert_eq!(samples.len(), 3);
    for s in &samples {
        let at = s["as_of"].as_str().unwrap();
        let past = status(dir, at);
        assert_eq!(past["as_of"], s["as_of"]);
        assert_ne!(
            past["journal_last"], s["journal_last"],
            "the journal went on"
        );
        assert_eq!(state(past), state(s.clone()), "at {at}");
    }
    // The moments differ: the timeout, the move, the completion.
    let alerts = |s: &Value| s["alerts"].as_array().unwrap().len();
    assert_eq!((alerts(&samples[0]), alerts(&samples[1])), (0, 1));
    assert_eq!(samples[1]["alerts"][0]["trigger"], "agent_timeout");
    assert_eq!(samples[2]["alerts"][0]["status"], "resolved");
    assert_eq!(by_id(&samples[1]["tasks"], "T-1")["agent"], "bob");
    assert_eq!(by_id(&samples[0]["agents"], "ann")["liveness"], "healthy");
    assert_eq!(by_id(&samples[1]["agents"], "ann")["liveness"], "timed_out");
    assert_eq!(by_id(&samples[2]["components"], "api")["progress"], 80.0);
    // The report's past is the same past.
    let out = coord(&[
        "report",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--at",
        samples[1]["as_of"].as_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["crises"]["open"], 1, "{r:#}");
}
