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

fn append(dir: &Path, file: &str, events: &[Value]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("events").join(file))
        .unwrap();
    for e in events {
        writeln!(f, "{e}").unwrap();
    }
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
    append(
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

    // Before the journal's last record: refused (the past is time travel).
    let out = coord(&["status", dir.to_str().unwrap(), "--at", "1h"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("before the journal's last record"),
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
