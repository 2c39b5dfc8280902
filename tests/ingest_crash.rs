//! Exactly-once ingestion across `kill -9` (SPEC 9, QUALITY "Reliability"):
//! `coord watch DIR --headless` runs while four writers append events, some of
//! their lines in two parts with a pause between, one writer rotating its file
//! by rename half-way; the console is killed with SIGKILL at random moments and
//! restarted each time. At the end every event is counted once and journaled
//! once: none lost, none twice; and the alerts the fleet raised (blockers raised
//! and resolved, a failed gate) are in the same states as after a run that never
//! crashed.
//!
//! The run is randomised; the seed is printed (`COORD_TEST_SEED=…` replays it).
//! `COORD_CRASH_WRITERS`, `COORD_CRASH_EVENTS` (per writer) and `COORD_CRASH_KILLS`
//! scale it up (QUALITY's bar is 20 writers, 200k events, 30 kills);
//! `COORD_CRASH_GAP_MS` is the longest pause between two kills.

mod ingest_support;

use ingest_support::*;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Progress, and now and then a crisis: every 250th event a blocker on a
/// component of the writer's, resolved 100 events later; about a third of the way
/// in, a quality gate failure. The alerts they open are compared with an uncrashed run.
fn fleet_line(id: &str, agent: &str, n: u64, per_writer: u64) -> String {
    let (k, r) = (n / 250, n % 250);
    let crisis = |kind: &str, component: String, gate: &str| {
        format!(
            "{{\"type\":\"{kind}\",\"id\":\"{id}\",\"agent\":\"{agent}\",\"component\":\"{component}\"{gate}}}\n"
        )
    };
    if r == 0 {
        crisis("blocker_detected", format!("c-{agent}-{k}"), "")
    } else if r == 100 {
        crisis("blocker_resolved", format!("c-{agent}-{k}"), "")
    } else if n == per_writer / 3 + 7 {
        crisis(
            "quality_gate_failure",
            format!("c-{agent}"),
            ",\"gate\":\"unit\"",
        )
    } else {
        event_line(id, agent, n)
    }
}

/// The alerts of `coord status --json`, by what they are about, with the state a
/// crash must not change (times depend on when lines were read, so they are left out).
fn alert_states(dir: &std::path::Path) -> Vec<String> {
    let out = coord(&["status", dir.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json");
    let mut states: Vec<String> = v["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {} {} count={} {} {}",
                a["trigger"],
                a["agent"],
                a["component"],
                a["gate"],
                a["status"],
                a["count"],
                a["level"],
                a["resolution"]
            )
        })
        .collect();
    states.sort();
    states
}

/// One writer: `per_writer` events to `events/<agent>.jsonl`, about one line in
/// forty written in two parts 10–50 ms apart (same handle, no newline in the
/// first part); with `rotate`, the file is renamed to `<agent>.jsonl.1` half-way
/// and a new one begun.
fn writer(
    dir: &std::path::Path,
    agent: &str,
    per_writer: u64,
    seed: u64,
    rotate: bool,
    done: &AtomicUsize,
) {
    let mut rng = Rng(seed | 1);
    let path = dir.join("events").join(format!("{agent}.jsonl"));
    let open = || {
        std::fs::File::options()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap()
    };
    let mut file = open();
    for n in 1..=per_writer {
        if rotate && n == per_writer / 2 {
            std::fs::rename(&path, dir.join("events").join(format!("{agent}.jsonl.1"))).unwrap();
            file = open();
        }
        let line = fleet_line(&format!("{agent}-{n:06}"), agent, n, per_writer);
        if rng.range(0, 40) == 0 {
            let cut = rng.range(1, line.len() as u64 - 1) as usize;
            file.write_all(&line.as_bytes()[..cut]).unwrap();
            std::thread::sleep(Duration::from_millis(rng.range(10, 51)));
            file.write_all(&line.as_bytes()[cut..]).unwrap();
        } else {
            file.write_all(line.as_bytes()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    done.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn kill_9_at_random_moments_loses_nothing_and_counts_nothing_twice() {
    let started = Instant::now();
    let tmp = coord_dir();
    let dir = tmp.path().to_path_buf();
    let log = dir.join("watch.log");
    let mut rng = Rng::new("ingest_crash");
    let writers_n = knob("COORD_CRASH_WRITERS", 4) as usize;
    let per_writer = knob("COORD_CRASH_EVENTS", 3_000);

    let mut child = spawn_watch(&dir, &log);
    let done = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..writers_n)
        .map(|i| {
            let (dir, done) = (dir.clone(), done.clone());
            let seed = rng.next();
            std::thread::spawn(move || {
                let agent = format!("w{}", i + 1);
                writer(&dir, &agent, per_writer, seed, i == writers_n - 1, &done)
            })
        })
        .collect();

    // Kill -9 at random moments while the writers run, restarting each time.
    let kills = knob("COORD_CRASH_KILLS", rng.range(5, 9));
    for k in 0..kills {
        let gap = knob("COORD_CRASH_GAP_MS", 900);
        std::thread::sleep(Duration::from_millis(rng.range(gap / 6, gap)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        eprintln!(
            "kill {} at {:?}, {} event records journaled",
            k + 1,
            started.elapsed(),
            journal_event_count(&dir)
        );
        child = spawn_watch(&dir, &log);
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), writers_n);
    let total = writers_n as u64 * per_writer;

    // The last console catches up, and is stopped cleanly.
    let deadline = Instant::now() + Duration::from_secs(20);
    while journal_event_count(&dir) < total as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(terminate(child), Some(0), "SIGTERM: a clean exit");
    // A last pass finds nothing left to read.
    let summary = once(&dir);

    let want: Vec<String> = (1..=writers_n)
        .flat_map(|w| (1..=per_writer).map(move |n| format!("w{w}-{n:06}")))
        .collect();
    assert_ids_once(&dir, &want);
    let c = counts(&dir);
    assert_eq!(
        c,
        Counts {
            events: total,
            parse_errors: 0,
            duplicates: 0
        },
        "status after {kills} kills"
    );
    assert!(
        summary.contains(&format!(
            "coord: {total} events, 0 parse errors, 0 duplicates"
        )),
        "{summary}"
    );

    // The alerts are those of a run that never crashed, on the same lines.
    // (A rotated file's lines are put back in front of its successor's: a cold
    // run reads `*.jsonl` only.)
    let calm = coord_dir();
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort(); // `w4.jsonl` before `w4.jsonl.1`
    for path in names.iter().rev() {
        let name = path.file_name().unwrap().to_str().unwrap();
        let into = calm.path().join("events").join(name.trim_end_matches(".1"));
        let mut lines = std::fs::read(path).unwrap();
        if let Ok(after) = std::fs::read(&into) {
            lines.extend(after);
        }
        std::fs::write(&into, lines).unwrap();
    }
    once(calm.path());
    let (crashed, uncrashed) = (alert_states(&dir), alert_states(calm.path()));
    assert!(
        uncrashed.len() > writers_n,
        "the fleet raised alerts: {uncrashed:?}"
    );
    assert_eq!(crashed, uncrashed, "alert states after {kills} kills");

    // `coord audit --json` tells the same story, when this build has it.
    let audit = coord(&["audit", dir.to_str().unwrap(), "--json"]);
    if audit.status.success() {
        let mut ids = std::collections::HashMap::new();
        for line in text(&audit.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("audit --json lines");
            if v["kind"] == "event" {
                let id = v["raw"]["id"].as_str().expect("raw.id").to_string();
                *ids.entry(id).or_insert(0u32) += 1;
            }
        }
        assert_eq!(ids.len(), want.len(), "coord audit: distinct event ids");
        assert!(ids.values().all(|&n| n == 1), "coord audit: an id twice");
    } else {
        eprintln!("coord audit not available: {}", text(&audit.stderr).trim());
    }
    let mut sources = std::collections::BTreeMap::new();
    for r in records(&dir) {
        if r["kind"] == "source" {
            let k = match r["what"].as_str() {
                Some("opened") => "opened".to_string(),
                _ => format!("{} {}", r["what"], r["src"]),
            };
            *sources.entry(k).or_insert(0) += 1;
        }
    }
    eprintln!(
        "{kills} kills, {total} events, {:?}; source records: {sources:?}",
        started.elapsed()
    );
}
