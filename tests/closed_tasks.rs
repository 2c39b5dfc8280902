//! Closed tasks kept beside the state in a snapshot (snapshots v3): a start
//! reads them in place, a late report on one does not reopen it, and the
//! state is the one a full replay gives; a snapshot of the version before is
//! passed over, said, and replayed past.

mod ingest_support;

use ingest_support::*;
use serde_json::{json, Value};
use std::path::Path;

fn ev(id: &str, kind: &str, agent: &str, task: &str) -> Value {
    json!({"type": kind, "id": id, "agent": agent, "task": task, "component": "api"})
}

/// The tasks and agents of `coord status --json`, which every view reads.
fn tasks_and_agents(dir: &Path) -> (Value, Value) {
    let s = status(dir);
    let agents: Vec<Value> = s["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| json!([a["id"], a["open_tasks"], a["current_task"]]))
        .collect();
    (s["tasks"].clone(), Value::Array(agents))
}

/// The snapshots a run may start from, newest first.
fn snapshots(dir: &Path) -> Vec<std::path::PathBuf> {
    let listed = coord::journal::snapshot::list(&dir.join("journal")).unwrap();
    listed.into_iter().map(|(_, path)| path).collect()
}

#[test]
fn closed_tasks_come_back_from_a_snapshot_and_stay_closed() {
    let tmp = coord_dir();
    let dir = tmp.path();
    append_events(
        dir,
        "fleet.jsonl",
        &[
            ev("e1", "task_assigned", "ann", "T-1"),
            ev("e2", "task_assigned", "bob", "T-2"),
            ev("e3", "task_completed", "ann", "T-1"),
        ],
    );
    once(dir);
    assert_eq!(snapshots(dir).len(), 1, "a run's stop takes a snapshot");
    // From the snapshot: T-1 closed, and a late report on it (ann says she
    // is on it again) does not reopen it or make it her current task.
    append_events(
        dir,
        "fleet.jsonl",
        &[
            ev("e4", "progress_update", "ann", "T-1"),
            ev("e5", "task_completed", "bob", "T-2"),
            ev("e6", "task_assigned", "bob", "T-3"),
        ],
    );
    once(dir);
    let (tasks, agents) = tasks_and_agents(dir);
    let open: Vec<(&str, bool)> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["open"].as_bool().unwrap()))
        .collect();
    assert_eq!(open, [("T-1", false), ("T-2", false), ("T-3", true)]);
    assert_eq!(
        agents,
        json!([["ann", [], null], ["bob", ["T-3"], "T-3"]]),
        "{agents}"
    );
    assert_eq!(counts(dir).events, 6);

    // The same as the whole journal replayed, with no snapshot at all.
    let away = tempfile::tempdir().unwrap();
    for s in snapshots(dir) {
        std::fs::rename(&s, away.path().join(s.file_name().unwrap())).unwrap();
    }
    assert_eq!(tasks_and_agents(dir), (tasks, agents));
}

#[test]
fn a_snapshot_of_the_version_before_is_passed_over_and_replayed_past() {
    let tmp = coord_dir();
    let dir = tmp.path();
    append_events(
        dir,
        "fleet.jsonl",
        &[
            ev("e1", "task_assigned", "ann", "T-1"),
            ev("e2", "task_completed", "ann", "T-1"),
        ],
    );
    once(dir);
    let want = tasks_and_agents(dir);
    // What an older coord wrote: version 2 in the header.
    let snap = snapshots(dir).remove(0);
    let mut bytes = std::fs::read(&snap).unwrap();
    let head = b"{\"coord_snapshot\":3,";
    assert!(bytes.starts_with(head), "{:?}", &bytes[..40]);
    bytes[head.len() - 2] = b'2';
    std::fs::write(&snap, &bytes).unwrap();

    let out = once(dir);
    assert!(
        out.contains("snapshot passed over") && out.contains("version 2 (this coord reads 3)"),
        "{out}"
    );
    assert_eq!(tasks_and_agents(dir), want);
    assert_eq!(counts(dir).events, 2, "no event counted twice");
}
