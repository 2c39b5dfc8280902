//! Notifications through the real binary (SPEC 8): the outbox files of a run,
//! their modes, their order against the journal, a hook, the console's start and
//! stop, and what a crash kept from the outbox delivered on the next start.

use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COORD: &str = env!("CARGO_BIN_EXE_coord");

fn ago(secs: i64) -> String {
    (Utc::now() - TimeDelta::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `dead-1` went silent 7 min ago holding `T-1`; `alive-1` is healthy; a system
/// failure is open; one line is not JSON.
fn fleet(dir: &Path) {
    let events = dir.join("events");
    std::fs::create_dir_all(&events).unwrap();
    let lines = [
        json!({"type": "agent_heartbeat", "agent": "dead-1", "ts": ago(420)}),
        json!({"type": "task_assigned", "agent": "dead-1", "task": "T-1", "ts": ago(419)}),
        json!({"type": "agent_heartbeat", "agent": "alive-1", "ts": ago(5)}),
        json!({"type": "system_failure", "component": "db", "message": "down", "ts": ago(30)}),
    ];
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    text.push_str("{not json\n");
    std::fs::write(events.join("fleet.jsonl"), text).unwrap();
}

fn once(dir: &Path) {
    let out = Command::new(COORD)
        .args(["watch", dir.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Every outbox line by channel.
fn outbox(dir: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("outbox")).unwrap() {
        let path = entry.unwrap().path();
        let channel = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path:?}: {e}: {l}")))
            .collect();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "{path:?}");
        all.insert(channel, lines);
    }
    all
}

fn kinds(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|l| l["kind"].as_str().unwrap()).collect()
}

/// The journal's records by seq.
fn journal(dir: &Path) -> BTreeMap<u64, Value> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("journal")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for l in std::fs::read_to_string(path).unwrap().lines() {
                let v: Value = serde_json::from_str(l).unwrap();
                out.insert(v["seq"].as_u64().unwrap(), v);
            }
        }
    }
    out
}

#[test]
fn each_notification_goes_to_its_channels_after_its_journal_record() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    once(tmp.path());
    let out = outbox(tmp.path());
    // Critical: direct_alert and coordination_dashboard (the seed's defaults).
    for ch in ["direct_alert", "coordination_dashboard"] {
        assert!(
            kinds(&out[ch]).contains(&"alert_opened"),
            "{ch}: {:?}",
            out[ch]
        );
    }
    // The dead agent's task, reassigned: to the agent channels.
    for ch in ["heartbeat", "task_update"] {
        let r = out[ch]
            .iter()
            .find(|l| l["kind"] == "task_reassigned")
            .unwrap_or_else(|| panic!("{ch}: {:?}", out[ch]));
        assert_eq!(r["body"]["task"], "T-1");
        assert_eq!(r["body"]["from"], "dead-1");
        assert_eq!(r["body"]["to"], "alive-1");
        assert_eq!(r["channel"], ch);
    }
    // The line that did not parse: told to the system channels.
    let errors: Vec<&Value> = out["log"]
        .iter()
        .filter(|l| l["kind"] == "ingest_errors")
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["body"]["total"], 1);
    // A one-shot run is not a console starting.
    assert!(!kinds(&out["log"]).contains(&"console_started"));
    // Every line stands for a notify record of the journal with its seq.
    let records = journal(tmp.path());
    for (ch, lines) in &out {
        for l in lines {
            let rec = &records[&l["seq"].as_u64().unwrap()];
            assert_eq!(rec["kind"], "notify", "{ch}: {l}");
            assert_eq!(rec["effect"]["kind"], l["kind"]);
        }
    }
}

#[test]
fn a_hook_gets_each_notification_of_its_channel_on_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    let got = tmp.path().join("hook.out");
    let config = json!({"hooks": {"direct_alert":
        ["sh", "-c", format!("cat >> '{}'", got.display())]}});
    std::fs::write(tmp.path().join("coord.json"), config.to_string()).unwrap();
    once(tmp.path());
    let text = std::fs::read_to_string(&got).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["channel"], "direct_alert");
    assert_eq!(first["kind"], "alert_opened");
    assert_eq!(first["body"]["trigger"], "system_failure");
}

/// A hook still running when coord is stopped goes with it, with everything it
/// started, even when it traps SIGTERM: three SIGTERM'd runs leave no process.
#[test]
fn hooks_that_trap_sigterm_do_not_outlive_coord() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    let pids = tmp.path().join("pids");
    let script = format!(
        "trap '' TERM; sleep 120 & echo $$ $! >> '{}'; wait",
        pids.display()
    );
    let config = json!({
        "hooks": {"direct_alert": ["sh", "-c", script]},
        "notification_config": {"hook_timeout_seconds": 600},
    });
    std::fs::write(tmp.path().join("coord.json"), config.to_string()).unwrap();
    let mut seen = Vec::new();
    for round in 0..3 {
        if round > 0 {
            // A new Critical for this run's hook.
            let line = json!({"type": "system_failure", "component": format!("db-{round}"),
                              "message": "down", "ts": ago(0)});
            let path = tmp.path().join("events").join("fleet.jsonl");
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str(&format!("{line}\n"));
            std::fs::write(&path, text).unwrap();
        }
        let mut coord = Command::new(COORD)
            .args(["watch", tmp.path().to_str().unwrap(), "--headless"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let running = loop {
            let text = std::fs::read_to_string(&pids).unwrap_or_default();
            let all: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            if all.len() > seen.len() {
                break all[seen.len()..].to_vec();
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the hook never ran"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        seen.extend(running);
        let kill = Command::new("kill")
            .args(["-TERM", &coord.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let stopped = Instant::now();
        let status = coord.wait().unwrap();
        assert_eq!(status.code(), Some(0), "round {round}");
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "round {round}: exit took {:?}",
            stopped.elapsed()
        );
    }
    // Every hook and every child it started is gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in &seen {
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        }) {
            assert!(Instant::now() < deadline, "process {pid} outlived coord");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(seen.len(), 6, "two processes a run: {seen:?}");
}

#[test]
fn a_console_tells_the_system_channels_it_started_and_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    let mut child = Command::new(COORD)
        .args(["watch", tmp.path().to_str().unwrap(), "--headless"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let log = tmp.path().join("outbox/log.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("console_started")) {
        assert!(Instant::now() < deadline, "no console_started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(child.wait().unwrap().success());
    let out = outbox(tmp.path());
    let log = kinds(&out["log"]);
    assert_eq!(log.first(), Some(&"console_started"));
    assert_eq!(log.last(), Some(&"console_stopped"));
}

#[test]
fn what_a_crash_kept_from_the_outbox_goes_out_on_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    once(tmp.path());
    let before = outbox(tmp.path());
    let mut seqs: Vec<u64> = before
        .values()
        .flatten()
        .map(|l| l["seq"].as_u64().unwrap())
        .collect();
    seqs.sort();
    seqs.dedup();
    assert!(seqs.len() >= 3, "{seqs:?}");
    // A crash while the second notification was going out: it reached one of its
    // channels, and nothing after it was written.
    let (first, second) = (seqs[0], seqs[1]);
    let mut second_written = false;
    for entry in std::fs::read_dir(tmp.path().join("outbox")).unwrap() {
        let path = entry.unwrap().path();
        let kept: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| {
                let seq = serde_json::from_str::<Value>(l).unwrap()["seq"].as_u64();
                seq == Some(first)
                    || (seq == Some(second) && !std::mem::replace(&mut second_written, true))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, kept).unwrap();
    }
    assert!(second_written);
    once(tmp.path());
    let after = outbox(tmp.path());
    for (ch, lines) in &before {
        assert_eq!(&after[ch], lines, "{ch}: each line once, in order");
    }
}
