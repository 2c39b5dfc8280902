//! Past snapshots (SPEC 18, `journal::snapshot`): a run writes one every
//! `PAST_RECORDS` records, without the event ids, and a view of the past
//! starts from the newest at or before its time, never a run. The state they
//! give is the state a full replay gives; a damaged one is passed over, named
//! by `coord journal verify` and set aside by `repair`.

mod cli_support;

use chrono::{TimeDelta, Utc};
use cli_support::*;
use coord::journal::snapshot::PAST_RECORDS;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// 40 agents working through tasks: `n` events, a millisecond apart, in the
/// last ten minutes.
fn write_events(dir: &Path, n: u64) {
    std::fs::create_dir_all(dir.join("events")).unwrap();
    let f = std::fs::File::create(dir.join("events/work.jsonl")).unwrap();
    let mut f = std::io::BufWriter::new(f);
    let start = Utc::now() - TimeDelta::minutes(10);
    for i in 0..n {
        let ts = (start + TimeDelta::milliseconds(i as i64)).to_rfc3339();
        let agent = format!("agent-{:02}", i % 40);
        let task = format!("T-{}", i / 160);
        let e = match i % 4 {
            0 => json!({"type": "agent_heartbeat", "id": i.to_string(), "ts": ts, "agent": agent}),
            1 => json!({"type": "task_assigned", "id": i.to_string(), "ts": ts, "agent": agent,
                        "task": task, "component": format!("svc-{}", i % 7)}),
            2 => json!({"type": "progress_update", "id": i.to_string(), "ts": ts, "agent": agent,
                        "task": task, "component": format!("svc-{}", i % 7), "progress": i % 100}),
            _ => json!({"type": "task_completed", "id": i.to_string(), "ts": ts, "agent": agent,
                        "task": task, "component": format!("svc-{}", i % 7)}),
        };
        writeln!(f, "{e}").unwrap();
    }
}

fn d(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// The times of the journal's records `seqs` (the first segment's first line
/// is record 1).
fn at_of(dir: &Path, seqs: &[u64]) -> Vec<String> {
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    segments.sort();
    let journal: String = segments
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let lines: Vec<&str> = journal.lines().collect();
    seqs.iter()
        .map(|&seq| {
            let rec: Value = serde_json::from_str(lines[seq as usize - 1]).unwrap();
            assert_eq!(rec["seq"], seq);
            rec["at"].as_str().unwrap().to_string()
        })
        .collect()
}

/// `status --at` without what says when it was asked.
fn state_at(dir: &Path, at: &str) -> Value {
    let out = coord(&["status", d(dir), "--json", "--at", at]);
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    let mut s: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in ["at", "as_of", "journal_last", "console_running"] {
        s.as_object_mut().unwrap().remove(k);
    }
    s
}

fn past_snapshots(dir: &Path) -> Vec<u64> {
    let mut seqs: Vec<u64> = std::fs::read_dir(dir.join("journal/snapshots/past"))
        .map(|r| {
            r.filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".snap")?.parse().ok()
            })
            .collect()
        })
        .unwrap_or_default();
    seqs.sort();
    seqs
}

/// Which snapshot a view of the past at `at` starts from (0: none).
fn started_from(dir: &Path, at: &str) -> u64 {
    let t = chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc();
    coord::runtime::open_until(dir, t).unwrap().snapshot_seq
}

#[test]
fn a_view_of_the_past_starts_from_a_past_snapshot_and_sees_what_a_full_replay_sees() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_events(dir, 2 * PAST_RECORDS + PAST_RECORDS / 2);
    let out = coord(&["watch", d(dir), "--headless", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // One at each multiple of PAST_RECORDS the run passed (as of the last
    // record of the batch that passed it).
    let past = past_snapshots(dir);
    assert_eq!(past.len(), 2, "{past:?}");
    assert!(past[0] >= PAST_RECORDS && past[0] < PAST_RECORDS + PAST_RECORDS / 2);
    assert!(past[1] >= 2 * PAST_RECORDS && past[1] < 2 * PAST_RECORDS + PAST_RECORDS / 2);

    // A start never takes one: it has no event ids.
    let out = coord(&["watch", d(dir), "--headless", "--once"]);
    assert!(
        stdout(&out).contains("0 duplicates") && code(&out) == 0,
        "{}",
        stdout(&out)
    );

    let times = at_of(dir, &[past[0] + 10_000, past[1] + 10_000]);
    let mut with_past = Vec::new();
    for (t, snap) in times.iter().zip(&past) {
        let from = started_from(dir, t);
        // Records of the same millisecond may straddle a snapshot.
        assert!(
            from <= *snap + 10_000 && from + 5_000 > *snap,
            "{t}: from {from}, {past:?}"
        );
        with_past.push(state_at(dir, t));
    }
    assert!(with_past[0] != with_past[1], "two different moments");

    // The same views, every snapshot gone: replayed from the first record.
    std::fs::rename(dir.join("journal/snapshots"), dir.join("snapshots-aside")).unwrap();
    for (t, seen) in times.iter().zip(&with_past) {
        assert_eq!(&state_at(dir, t), seen, "at {t}");
    }
    std::fs::rename(dir.join("snapshots-aside"), dir.join("journal/snapshots")).unwrap();

    // A damaged past snapshot is passed over for the one before it, named
    // by verify, set aside by repair.
    let damaged = dir.join(format!("journal/snapshots/past/{:020}.snap", past[1]));
    let mut bytes = std::fs::read(&damaged).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&damaged, bytes).unwrap();
    assert_eq!(started_from(dir, &times[1]), past[0]);
    assert_eq!(state_at(dir, &times[1]), with_past[1]);
    let out = coord(&["journal", "verify", d(dir)]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("past/{:020}.snap: fails its checksum", past[1])),
        "{}",
        stdout(&out)
    );
    let out = coord(&["journal", "repair", d(dir)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("past-{:020}.snap", past[1])),
        "{}",
        stdout(&out)
    );
    assert_eq!(code(&coord(&["journal", "verify", d(dir)])), 0);
    assert_eq!(state_at(dir, &times[1]), with_past[1]);
}
