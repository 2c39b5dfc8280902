//! Journal v2 (SPEC 16, QUALITY "Reliability"): damage anywhere in the journal
//! is found and named, never absorbed into a silently wrong state, and
//! `coord journal repair` gives back exactly-once counting.
//!
//! Each case runs `coord watch DIR --once` over 3,000 events in three files,
//! with segments of 200 kB (`COORD_SEGMENT_BYTES`) so that the journal has
//! several, then damages it as an operator or a failing disk might:
//! - every command that reads the journal (`watch`, `status`, `report`,
//!   `audit`) refuses with exit 2, naming the segment and pointing to repair;
//! - `coord journal verify` exits 1 and names it;
//! - `coord journal repair` sets the damaged part aside (never deletes), and
//!   the next `watch --once` counts every event in the sources exactly once:
//!   each id is in exactly one event record of `coord audit --json`.
//!
//! A damaged newest snapshot is passed over (said so), the state comes from
//! the records, the run's stop writes a sound one in its place, and repair
//! moves a damaged one aside.

mod cli_support;

use cli_support::{code, stderr, stdout, text, COORD};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PER_FILE: usize = 1000;
const FILES: [&str; 3] = ["a", "b", "c"];

fn coord(args: &[&str]) -> Output {
    Command::new(COORD)
        .args(args)
        .env("NO_COLOR", "1")
        .env("COORD_SEGMENT_BYTES", "200000")
        .env_remove("RUST_LOG")
        .output()
        .expect("run coord")
}

/// A directory whose three event files have been read once (`--once`).
fn ingested() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("events")).unwrap();
    for f in FILES {
        let mut text = String::new();
        for i in 0..PER_FILE {
            text.push_str(&format!(
                "{{\"type\":\"progress_update\",\"id\":\"{f}-{i:05}\",\"agent\":\"agent-{f}\",\"component\":\"c-{f}\",\"progress\":{},\"message\":\"step {i} of the work, written out at some length\"}}\n",
                i % 100
            ));
        }
        std::fs::write(tmp.path().join(format!("events/{f}.jsonl")), text).unwrap();
    }
    once_counts(tmp.path());
    assert!(segments(tmp.path()).len() >= 5, "several segments");
    // The damage comes after the last write, as it would.
    std::thread::sleep(std::time::Duration::from_millis(20));
    tmp
}

fn d(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// `watch --once` must succeed and count every event once.
fn once_counts(dir: &Path) -> String {
    let out = coord(&["watch", d(dir), "--once"]);
    assert_eq!(code(&out), 0, "watch --once: {}", stderr(&out));
    let last = stdout(&out).lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with(&format!(
            "coord: {} events, 0 parse errors, 0 duplicates",
            3 * PER_FILE
        )),
        "{last}"
    );
    stdout(&out)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    segs.sort();
    segs
}

/// How many event records of `coord audit --json` carry each event id.
fn audited_ids(dir: &Path) -> BTreeMap<String, u32> {
    let out = coord(&["audit", d(dir), "--json"]);
    assert_eq!(code(&out), 0, "audit: {}", stderr(&out));
    let mut ids = BTreeMap::new();
    for line in text(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "event" {
            *ids.entry(v["raw"]["id"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    ids
}

/// Every command refuses, naming `file`; verify names it; repair sets it
/// aside; then every event is counted, and journaled, exactly once.
fn refused_then_repaired(dir: &Path, file: &str) {
    for args in [
        vec!["watch", d(dir), "--once"],
        vec!["status", d(dir)],
        vec!["report", d(dir)],
        vec!["audit", d(dir)],
    ] {
        let out = coord(&args);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?} must refuse: {err}");
        assert!(err.contains(file), "{args:?} names {file}: {err}");
        assert!(err.contains("coord journal repair"), "{args:?}: {err}");
        assert!(
            err.contains("the last good record is seq"),
            "{args:?}: {err}"
        );
    }
    let out = coord(&["journal", "verify", d(dir)]);
    assert_eq!(code(&out), 1, "verify: {}", stdout(&out));
    assert!(
        stdout(&out).contains(file),
        "verify names {file}: {}",
        stdout(&out)
    );

    let out = coord(&["journal", "repair", d(dir)]);
    assert_eq!(code(&out), 0, "repair: {} {}", stdout(&out), stderr(&out));
    let quarantine: Vec<PathBuf> = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("quarantine-")
        })
        .collect();
    assert_eq!(quarantine.len(), 1, "{}", stdout(&out));
    assert!(
        std::fs::read_dir(&quarantine[0]).unwrap().count() > 0,
        "set aside, not deleted"
    );

    once_counts(dir);
    let ids = audited_ids(dir);
    assert_eq!(ids.len(), 3 * PER_FILE, "every event journaled");
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n != 1).take(5).collect();
    assert!(twice.is_empty(), "journaled more than once: {twice:?}");
    let out = coord(&["journal", "verify", d(dir)]);
    assert_eq!(code(&out), 0, "verify after repair: {}", stdout(&out));
    // Restarted again: nothing read twice.
    once_counts(dir);
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn overwritten_bytes_in_a_middle_segment() {
    let tmp = ingested();
    let seg = segments(tmp.path())[1].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 8].copy_from_slice(b"\0\0\0\0\0\0\0\0");
    std::fs::write(&seg, bytes).unwrap();
    refused_then_repaired(tmp.path(), &name(&seg));
}

#[test]
fn one_record_altered() {
    let tmp = ingested();
    let seg = segments(tmp.path())[2].clone();
    let text = std::fs::read_to_string(&seg).unwrap();
    // An event record made a tick: still JSON, same length, another meaning.
    let altered = text.replacen("\"kind\":\"event\"", "\"kind\":\"tick!\"", 1);
    assert_ne!(altered, text);
    std::fs::write(&seg, altered).unwrap();
    refused_then_repaired(tmp.path(), &name(&seg));
}

#[test]
fn a_middle_segment_deleted() {
    let tmp = ingested();
    let seg = segments(tmp.path())[1].clone();
    std::fs::remove_file(&seg).unwrap();
    refused_then_repaired(tmp.path(), &name(&seg));
}

#[test]
fn a_middle_segment_cut_in_half() {
    let tmp = ingested();
    let seg = segments(tmp.path())[2].clone();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    refused_then_repaired(tmp.path(), &name(&seg));
}

#[test]
fn a_middle_segment_cut_at_a_record_boundary() {
    let tmp = ingested();
    let seg = segments(tmp.path())[1].clone();
    let bytes = std::fs::read(&seg).unwrap();
    let cut = bytes[..bytes.len() / 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    std::fs::write(&seg, &bytes[..cut]).unwrap();
    // The records lost are found missing where the next segment begins.
    let next = segments(tmp.path())[2].clone();
    refused_then_repaired(tmp.path(), &name(&next));
}

#[test]
fn a_damaged_newest_snapshot_is_passed_over() {
    let tmp = ingested();
    let snaps: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("journal/snapshots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(snaps.len(), 1, "--once leaves one snapshot");
    let snap = &snaps[0];
    let damage = || {
        let mut bytes = std::fs::read(snap).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x55;
        std::fs::write(snap, bytes).unwrap();
    };
    damage();
    let out = coord(&["journal", "verify", d(tmp.path())]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains(&name(snap)), "{}", stdout(&out));

    // The state comes from the records instead, the run says so, and its
    // stop writes a sound snapshot in its place.
    let said = once_counts(tmp.path());
    assert!(
        said.contains(&format!("snapshot passed over: {}", snap.display())),
        "{said}"
    );
    assert!(said.contains("fails its checksum"), "{said}");
    let out = coord(&["journal", "verify", d(tmp.path())]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    // Damaged again, repair sets it aside.
    damage();
    let out = coord(&["journal", "repair", d(tmp.path())]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!snap.exists(), "moved aside");
    let out = coord(&["journal", "verify", d(tmp.path())]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(audited_ids(tmp.path()).len(), 3 * PER_FILE);
    once_counts(tmp.path());
}

#[test]
fn repair_is_refused_while_a_console_holds_the_directory() {
    let tmp = ingested();
    let mut child = Command::new(COORD)
        .args(["watch", d(tmp.path()), "--headless"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = tmp.path().join("journal/LOCK");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != format!("pid {}", child.id())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the console took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = coord(&["journal", "repair", d(tmp.path())]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("stop it before repairing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_journal_from_an_older_coord_is_refused_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("journal")).unwrap();
    std::fs::write(
        tmp.path().join("journal/00000001.jsonl"),
        "{\"seq\":1,\"at\":\"2026-11-24T12:00:00.000Z\",\"kind\":\"tick\"}\n{\"seq\":2,\"at\":\"2026-11-24T12:00:01.000Z\",\"kind\":\"tick\"}\n",
    )
    .unwrap();
    let out = coord(&["watch", d(tmp.path()), "--once"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("written by an older coord (journal v1"),
        "{err}"
    );
    assert!(err.contains("mv "), "{err}");
}
