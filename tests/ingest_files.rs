//! Ingestion of `events/` through the real binary (SPEC 2, 3.4, 9; QUALITY
//! "Reliability" and "Security and bad input"): truncation, rewrites, rotation,
//! deletion, a torn journal tail, over-long lines, bad bytes, many files, the
//! directory lock, stdin and whole-file drops. Each test runs `coord watch`
//! (`--once` between changes, or a live `--headless` console) and reads the
//! journal and `coord status --json` back.

mod ingest_support;
mod pty_support;

use ingest_support::*;
use serde_json::Value;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Appends `n` events `<prefix>-000001…` to `file`; returns their ids.
fn append(file: &Path, prefix: &str, range: std::ops::RangeInclusive<u64>) -> Vec<String> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap();
    let mut ids = Vec::new();
    let mut text = String::new();
    for n in range {
        let id = format!("{prefix}-{n:06}");
        text.push_str(&event_line(&id, prefix, n));
        ids.push(id);
    }
    f.write_all(text.as_bytes()).unwrap();
    ids
}

fn source_records(dir: &Path, what: &str) -> Vec<Value> {
    records(dir)
        .into_iter()
        .filter(|r| r["kind"] == "source" && r["what"] == what)
        .collect()
}

/// As `source_records`, on a journal a console is writing (a partial last
/// record is skipped).
fn source_records_now(dir: &Path, what: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for seg in segments(dir) {
        for line in fs::read(&seg).unwrap_or_default().split(|&b| b == b'\n') {
            if let Ok(r) = serde_json::from_slice::<Value>(line) {
                if r["kind"] == "source" && r["what"] == what {
                    out.push(r);
                }
            }
        }
    }
    out
}

fn counts_of(events: u64, parse_errors: u64) -> Counts {
    Counts {
        events,
        parse_errors,
        duplicates: 0,
    }
}

#[test]
fn truncation_reads_the_new_lines_and_is_journaled() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let mut want = append(&file, "a", 1..=8);
    once(dir);
    assert_eq!(counts(dir), counts_of(8, 0));

    // Truncated in place (same inode) and written again, shorter than before.
    File::create(&file).unwrap();
    want.extend(append(&file, "b", 1..=3));
    once(dir);
    assert_eq!(counts(dir), counts_of(11, 0));
    assert_ids_once(dir, &want);
    let t = source_records(dir, "truncated");
    assert_eq!(t.len(), 1, "one truncated record: {t:?}");
    assert_eq!(t[0]["src"], "events/a.jsonl");
    assert_eq!(t[0]["end"], 0);

    // A third run reads nothing again.
    once(dir);
    assert_eq!(counts(dir), counts_of(11, 0));
    assert_ids_once(dir, &want);
}

/// copytruncate with lines that carry no `id`: the new lines sit at offsets
/// read before, but in a file of other content, so they are new events (an
/// event without an id is known by its place and its file's content hash).
#[test]
fn lines_without_ids_after_a_copytruncate_are_new_events() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let beat = |agent: &str| format!("{{\"type\":\"agent_heartbeat\",\"agent\":\"{agent}\"}}\n");
    fs::write(&file, beat("alpha")).unwrap();
    once(dir);
    assert_eq!(counts(dir), counts_of(1, 0));
    // logrotate's copytruncate: copied away (not to an event name), truncated, written on.
    fs::copy(&file, dir.join("events/a.jsonl.bak")).unwrap();
    File::create(&file).unwrap();
    fs::write(&file, beat("bravo")).unwrap();
    once(dir);
    assert_eq!(counts(dir), counts_of(2, 0));
    let s = status(dir);
    let agents: Vec<&str> = s["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["alpha", "bravo"]);
    // Replayed on the next start, the same two, once each.
    once(dir);
    assert_eq!(counts(dir), counts_of(2, 0));
}

/// A directory copied with `cp -a` (new inodes, the same content, its journal
/// too): a console on the copy knows its files by name and first line and
/// reads on where the original's left off; nothing is read or journaled twice,
/// lines without an `id` included.
#[test]
fn a_copied_directory_is_not_read_again() {
    let tmp = coord_dir();
    let dir = tmp.path();
    append(&dir.join("events/a.jsonl"), "a", 1..=10);
    append(&dir.join("events/b.jsonl"), "b", 1..=5);
    fs::write(
        dir.join("events/c.jsonl"),
        "{\"type\":\"agent_heartbeat\",\"agent\":\"c\"}\n{\"type\":\"agent_heartbeat\",\"agent\":\"c2\"}\n",
    )
    .unwrap();
    once(dir);
    assert_eq!(counts(dir), counts_of(17, 0));
    let journaled = journal_event_count(dir);

    let copy = tempfile::tempdir().unwrap();
    let cp = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", dir.display()))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(cp.success());
    let ino = |d: &Path| {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(d.join("events/a.jsonl")).unwrap().ino()
    };
    assert_ne!(ino(dir), ino(copy.path()), "new inodes");
    once(copy.path());
    assert_eq!(counts(copy.path()), counts_of(17, 0));
    assert_eq!(
        journal_event_count(copy.path()),
        journaled,
        "nothing journaled again"
    );
    assert_eq!(source_records(copy.path(), "copied").len(), 3);
    // And it goes on from there.
    append(&copy.path().join("events/a.jsonl"), "a", 11..=12);
    once(copy.path());
    assert_eq!(counts(copy.path()), counts_of(19, 0));
    assert_eq!(journal_event_count(copy.path()), journaled + 2);
}

#[test]
fn truncation_while_live_restarts_from_zero() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let child = spawn_watch(dir, &dir.join("watch.log"));
    let mut want = append(&file, "a", 1..=8);
    wait_events(dir, 8, Duration::from_secs(10));
    File::create(&file).unwrap();
    want.extend(append(&file, "b", 1..=3));
    wait_events(dir, 11, Duration::from_secs(10));
    assert_eq!(terminate(child), Some(0));
    assert_eq!(counts(dir), counts_of(11, 0));
    assert_ids_once(dir, &want);
    assert_eq!(source_records(dir, "truncated").len(), 1);
}

#[test]
fn a_same_size_rewrite_is_read_from_zero() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let mut want = append(&file, "a", 1..=5);
    let before = fs::metadata(&file).unwrap().len();
    once(dir);
    assert_eq!(counts(dir), counts_of(5, 0));

    // Rewritten in place with other events of exactly the same length.
    File::create(&file).unwrap();
    want.extend(append(&file, "b", 1..=5));
    assert_eq!(fs::metadata(&file).unwrap().len(), before, "same size");
    once(dir);
    assert_eq!(counts(dir), counts_of(10, 0));
    assert_ids_once(dir, &want);
    let r = source_records(dir, "rewritten");
    assert_eq!(r.len(), 1, "one rewritten record: {r:?}");
    assert_eq!(r[0]["src"], "events/a.jsonl");
}

/// Rewritten in place to the same size with the same first line: found by the
/// bytes of the last line read, not only the first, and read again from 0 —
/// between two runs and while a console runs.
#[test]
fn a_same_size_rewrite_keeping_the_first_line_is_read_from_zero() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let rewrite = |prefix: &str| {
        let mut text = event_line("a-000001", "a", 1);
        let mut ids = Vec::new();
        for n in 2..=10 {
            let id = format!("{prefix}-{n:06}");
            text.push_str(&event_line(&id, prefix, n));
            ids.push(id);
        }
        // Over the old bytes from byte 0, not truncated first: the file is
        // never shorter, so only the new bytes can tell.
        let before = fs::metadata(&file).map(|m| m.len()).ok();
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&file)
            .unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, text.as_bytes(), 0).unwrap();
        if let Some(before) = before {
            assert_eq!(fs::metadata(&file).unwrap().len(), before, "same size");
        }
        ids
    };
    let mut want = vec!["a-000001".to_string()];
    want.extend(rewrite("a"));
    once(dir);
    assert_eq!(counts(dir), counts_of(10, 0));
    // Between two runs.
    want.extend(rewrite("b"));
    once(dir);
    let c = counts(dir);
    assert_eq!(
        (c.events, c.duplicates),
        (19, 1),
        "the 9 new lines read, the first again"
    );
    assert_eq!(source_records(dir, "rewritten").len(), 1);
    // While a console runs.
    let child = spawn_watch(dir, &dir.join("watch.log"));
    std::thread::sleep(Duration::from_millis(1500));
    want.extend(rewrite("c"));
    wait_events(dir, 28, Duration::from_secs(10));
    assert_eq!(terminate(child), Some(0));
    assert_eq!(counts(dir).events, 28);
    // Every line of every version, once; the first line, kept, read again
    // with each rewrite (journaled, counted a duplicate).
    let ids = journal_ids(dir);
    let mut once_each: Vec<&String> = ids.keys().filter(|id| *id != "a-000001").collect();
    once_each.sort();
    let mut rest: Vec<&String> = want.iter().filter(|id| *id != "a-000001").collect();
    rest.sort();
    assert_eq!(once_each, rest);
    assert!(
        ids.iter().all(|(id, n)| *n == 1 || id == "a-000001"),
        "{ids:?}"
    );
    assert_eq!(ids["a-000001"], 3);
    assert_eq!(source_records(dir, "rewritten").len(), 2);
}

#[test]
fn rotation_by_rename_while_live_loses_nothing() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let child = spawn_watch(dir, &dir.join("watch.log"));
    let mut want = append(&file, "a", 1..=20);
    wait_events(dir, 20, Duration::from_secs(10));
    // Appended, then at once renamed away and a new file begun.
    want.extend(append(&file, "a", 21..=40));
    fs::rename(&file, dir.join("events/a.jsonl.1")).unwrap();
    want.extend(append(&file, "a", 41..=60));
    wait_events(dir, 60, Duration::from_secs(10));
    wait_for(Duration::from_secs(10), "the rename journaled", || {
        !source_records_now(dir, "renamed").is_empty()
    });
    assert_eq!(terminate(child), Some(0));
    assert_eq!(counts(dir), counts_of(60, 0));
    assert_ids_once(dir, &want);
    // The old file is followed under its rotated name.
    let r = source_records(dir, "renamed");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["src"], "events/a.jsonl.1");
}

/// logrotate at any speed: 100 times, a file is created, written and renamed
/// to a rotated name with no pause between, while a console runs. Every one of
/// the 2,000 events is read once, whether the console saw the file under its
/// first name or only under its rotated one.
#[test]
fn rotation_at_any_speed_loses_nothing() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/x.jsonl");
    let child = spawn_watch(dir, &dir.join("watch.log"));
    wait_for(Duration::from_secs(10), "the console up", || {
        lock_pid(dir).is_some()
    });
    let mut want = Vec::new();
    for cycle in 1..=100u64 {
        want.extend(append(&file, "x", cycle * 100..=cycle * 100 + 19));
        fs::rename(&file, dir.join(format!("events/x.jsonl.{cycle}"))).unwrap();
    }
    wait_events(dir, 2000, Duration::from_secs(30));
    assert_eq!(terminate(child), Some(0));
    assert_eq!(counts(dir), counts_of(2000, 0));
    assert_ids_once(dir, &want);
}

#[test]
fn rotation_while_no_console_runs_is_read_at_start() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let mut want = append(&file, "a", 1..=20);
    once(dir);
    // With no console running: appended, rotated to `a.jsonl.1`, and a new
    // file begun. The rotated file is the same file: read on from its checkpoint.
    want.extend(append(&file, "a", 21..=40));
    fs::rename(&file, dir.join("events/a.jsonl.1")).unwrap();
    want.extend(append(&file, "a", 41..=60));
    once(dir);
    assert_eq!(counts(dir), counts_of(60, 0));
    assert_ids_once(dir, &want);
    // A writer finishing on the old descriptor: followed under the new name.
    want.extend(append(&dir.join("events/a.jsonl.1"), "a", 61..=65));
    once(dir);
    assert_eq!(counts(dir), counts_of(65, 0));
    assert_ids_once(dir, &want);
    // Nothing is read twice on the next start.
    once(dir);
    assert_eq!(counts(dir), counts_of(65, 0));
}

/// A rotated name that is not JSON Lines any more (`a.jsonl.old`) while no
/// console runs: read to its end at start and let go.
#[test]
fn a_file_rotated_to_another_name_while_no_console_runs_is_read_at_start() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/a.jsonl");
    let mut want = append(&file, "a", 1..=20);
    once(dir);
    want.extend(append(&file, "a", 21..=40));
    fs::rename(&file, dir.join("events/a.jsonl.old")).unwrap();
    want.extend(append(&file, "a", 41..=60));
    once(dir);
    assert_eq!(counts(dir), counts_of(60, 0));
    assert_ids_once(dir, &want);
    let r = source_records(dir, "rotated");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["src"], "events/a.jsonl.old");
    once(dir);
    assert_eq!(counts(dir), counts_of(60, 0));
    assert_eq!(source_records(dir, "rotated").len(), 1);
}

#[test]
fn a_file_deleted_while_live_is_read_to_its_end() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/d.jsonl");
    let child = spawn_watch(dir, &dir.join("watch.log"));
    let mut want = append(&file, "d", 1..=10);
    // Once the console has read the first lines it holds the file open: lines
    // appended and deleted at once are still read from the open file.
    wait_events(dir, 10, Duration::from_secs(10));
    want.extend(append(&file, "d", 11..=20));
    fs::remove_file(&file).unwrap();
    wait_events(dir, 20, Duration::from_secs(10));
    wait_for(Duration::from_secs(10), "the file let go", || {
        !source_records_now(dir, "deleted").is_empty()
    });
    assert_eq!(terminate(child), Some(0));
    assert_eq!(counts(dir), counts_of(20, 0));
    assert_ids_once(dir, &want);
    assert_eq!(source_records(dir, "deleted").len(), 1, "the file let go");
}

#[test]
fn a_line_finished_after_a_pause_is_parsed_once_whole() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/p.jsonl");
    let child = spawn_watch(dir, &dir.join("watch.log"));
    let want = append(&file, "p", 1..=2);
    wait_events(dir, 2, Duration::from_secs(10));
    let line = event_line("p-000003", "p", 3);
    let (a, b) = line.split_at(line.len() / 2);
    let mut f = OpenOptions::new().append(true).open(&file).unwrap();
    f.write_all(a.as_bytes()).unwrap();
    // Longer than a rescan period: the partial line is seen and must wait.
    std::thread::sleep(Duration::from_millis(1300));
    f.write_all(b.as_bytes()).unwrap();
    wait_events(dir, 3, Duration::from_secs(10));
    assert_eq!(terminate(child), Some(0));
    assert_eq!(counts(dir), counts_of(3, 0));
    let mut want = want;
    want.push("p-000003".into());
    assert_ids_once(dir, &want);
}

#[test]
fn a_torn_journal_tail_is_cut_and_its_events_read_again() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let want = append(&dir.join("events/a.jsonl"), "a", 1..=5);
    once(dir);
    assert_eq!(counts(dir), counts_of(5, 0));
    let seg = segments(dir).pop().expect("a journal segment");

    // Half a record, no newline: a crash mid-write.
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(br#"{"seq":99,"at":"#).unwrap();
    drop(f);
    let out = once(dir);
    assert!(out.contains("torn tail dropped"), "{out}");
    let bytes = fs::read(&seg).unwrap();
    assert_eq!(
        bytes.last(),
        Some(&b'\n'),
        "the journal ends with a whole record"
    );
    assert!(!String::from_utf8_lossy(&bytes).contains(r#""seq":99"#));
    assert_eq!(counts(dir), counts_of(5, 0));
    assert_ids_once(dir, &want);

    // The last complete event record cut in half: its event is read again.
    let bytes = fs::read(&seg).unwrap();
    let mut start = 0;
    let mut last_event = None;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if serde_json::from_slice::<Value>(line).unwrap()["kind"] == "event" {
            last_event = Some((start, line.len()));
        }
        start += line.len();
    }
    let (at, len) = last_event.expect("an event record");
    let cut: Value = serde_json::from_slice(&bytes[at..at + len]).unwrap();
    let cut_id = cut["raw"]["id"].as_str().unwrap().to_string();
    fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len((at + len / 2) as u64)
        .unwrap();
    assert_ne!(fs::read(&seg).unwrap().last(), Some(&b'\n'));
    let out = once(dir);
    assert!(out.contains("torn tail dropped"), "{out}");
    assert_eq!(fs::read(&seg).unwrap().last(), Some(&b'\n'));
    assert_eq!(counts(dir), counts_of(5, 0));
    assert_ids_once(dir, &want);
    let again = records(dir);
    let last = records_of(&again, "event").pop().unwrap().clone();
    assert_eq!(
        last["raw"]["id"],
        cut_id.as_str(),
        "read again from its source"
    );
    let seqs: Vec<u64> = records(dir)
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq increases: {seqs:?}"
    );
}

#[test]
fn a_line_over_max_line_bytes_is_skipped_with_bounded_memory() {
    let tmp = coord_dir();
    let dir = tmp.path();
    fs::write(
        dir.join("coord.json"),
        r#"{"ingest":{"max_line_bytes":4096}}"#,
    )
    .unwrap();
    let file = dir.join("events/big.jsonl");
    let mut want = append(&file, "g", 1..=1);
    {
        let mut f = OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(br#"{"type":"progress_update","id":"huge","message":""#)
            .unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..50 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\"}\n").unwrap();
    }
    want.extend(append(&file, "g", 2..=2));

    let time = Path::new("/usr/bin/time");
    let out = if time.exists() {
        Command::new(time)
            .args(["-v", COORD, "watch", dir.to_str().unwrap(), "--once"])
            .output()
            .unwrap()
    } else {
        coord(&["watch", dir.to_str().unwrap(), "--once"])
    };
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(counts(dir), counts_of(2, 1));
    assert_ids_once(dir, &want);
    let errors = records_of(&records(dir), "error")
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(errors.len(), 1);
    let reason = errors[0]["reason"].as_str().unwrap();
    assert!(reason.contains("over max_line_bytes"), "{reason}");
    assert!(errors[0]["excerpt"].as_str().unwrap().len() <= 200);

    if time.exists() {
        let stderr = text(&out.stderr);
        let kb: u64 = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no peak RSS in: {stderr}"));
        eprintln!("peak RSS reading a 50 MB line: {} MB", kb / 1024);
        assert!(kb < 100 * 1024, "peak RSS {kb} kB");
    } else {
        eprintln!("/usr/bin/time not found: peak RSS not checked");
    }
}

#[test]
fn invalid_utf8_and_nul_bytes_are_parse_errors() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let file = dir.join("events/bad.jsonl");
    let mut want = append(&file, "u", 1..=1);
    {
        let mut f = OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(b"{\"type\":\"progress_update\",\"id\":\"\xff\xfe\"}\n")
            .unwrap();
        f.write_all(b"{\"type\":\"progress_update\",\"id\":\"n\x00ul\"}\n")
            .unwrap();
        f.write_all(b"\x00\x00\x00\n").unwrap();
        f.write_all(b"\xc3\x28\n").unwrap();
    }
    want.extend(append(&file, "u", 2..=3));
    let out = once(dir);
    assert!(out.contains("3 events, 4 parse errors"), "{out}");
    assert_eq!(counts(dir), counts_of(3, 4));
    assert_ids_once(dir, &want);
    let recs = records(dir); // every record, errors included, is valid JSON
    let errors = records_of(&recs, "error");
    assert_eq!(errors.len(), 4);
    let reasons: Vec<&str> = errors
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.starts_with("invalid UTF-8"))
            .count(),
        2,
        "{reasons:?}"
    );
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 4, 5]);
}

#[test]
fn a_symlink_in_events_is_not_followed_out_of_the_directory() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let outside = tempfile::tempdir().unwrap();
    append(&outside.path().join("secret.jsonl"), "secret", 1..=3);
    std::os::unix::fs::symlink(
        outside.path().join("secret.jsonl"),
        dir.join("events/linked.jsonl"),
    )
    .unwrap();
    let want = append(&dir.join("events/real.jsonl"), "real", 1..=2);
    let out = once(dir);
    assert!(out.contains("2 events, 0 parse errors"), "{out}");
    assert_ids_once(dir, &want);
}

/// A link out of `events/`, a FIFO and a directory with event files' names:
/// not read, and each named once in coord.log, however many rescans see it.
#[test]
fn entries_not_read_are_logged_once_each() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let outside = tempfile::tempdir().unwrap();
    append(&outside.path().join("secret.jsonl"), "secret", 1..=3);
    std::os::unix::fs::symlink(
        outside.path().join("secret.jsonl"),
        dir.join("events/linked.jsonl"),
    )
    .unwrap();
    let fifo = Command::new("mkfifo")
        .arg(dir.join("events/pipe.jsonl"))
        .status()
        .unwrap();
    assert!(fifo.success());
    fs::create_dir(dir.join("events/folder.jsonl")).unwrap();
    let want = append(&dir.join("events/real.jsonl"), "real", 1..=2);
    let child = spawn_watch(dir, &dir.join("watch.log"));
    wait_events(dir, 2, Duration::from_secs(10));
    // Three more rescans (one a second).
    std::thread::sleep(Duration::from_millis(3200));
    assert_eq!(terminate(child), Some(0));
    assert_ids_once(dir, &want);
    let log = fs::read_to_string(dir.join("coord.log")).unwrap();
    for (src, why) in [
        ("events/linked.jsonl", "a link that leads out of events/"),
        ("events/pipe.jsonl", "a FIFO"),
        ("events/folder.jsonl", "a directory"),
    ] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&format!("not read: {why}")) && l.contains(src))
            .collect();
        assert_eq!(lines.len(), 1, "{src}: {lines:?}\n{log}");
    }
}

#[test]
fn a_thousand_files_are_all_read() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let mut want = Vec::new();
    for f in 0..1000 {
        let prefix = format!("f{f:04}");
        want.extend(append(
            &dir.join(format!("events/{prefix}.jsonl")),
            &prefix,
            1..=5,
        ));
    }
    let out = once(dir);
    assert!(out.contains("5000 events, 0 parse errors"), "{out}");
    assert_eq!(counts(dir), counts_of(5000, 0));
    assert_ids_once(dir, &want);
}

/// 1,000 files with `ulimit -n 256` (soft and hard): files are held open
/// within the limit, the idle ones closed and opened again when they grow;
/// every event is read, once or live, and nothing is called unreadable.
#[test]
fn a_thousand_files_under_ulimit_256_are_all_read() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let mut want = Vec::new();
    let file = |f: usize| dir.join(format!("events/f{f:04}.jsonl"));
    for f in 0..1000 {
        want.extend(append(&file(f), &format!("f{f:04}"), 1..=5));
    }
    let limited = |args: &str| {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n 256 && exec \"$0\" {args}"))
            .arg(env!("CARGO_BIN_EXE_coord"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };
    let d = dir.to_str().unwrap();
    let out = limited(&format!("watch '{d}' --once")).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(counts(dir), counts_of(5000, 0));
    // Live: every file grows once more while the console runs.
    let child = limited(&format!("watch '{d}' --headless"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        "the console to take the lock",
        || lock_pid(dir) == Some(child.id()),
    );
    for f in (0..1000).rev() {
        want.extend(append(&file(f), &format!("f{f:04}"), 6..=6));
    }
    wait_events(dir, 6000, Duration::from_secs(60));
    assert_eq!(terminate(child), Some(0));
    assert_eq!(counts(dir), counts_of(6000, 0));
    assert_ids_once(dir, &want);
    assert!(source_records(dir, "unreadable").is_empty());
}

#[test]
fn a_second_console_is_refused_and_read_only_runs() {
    let tmp = coord_dir();
    let dir = tmp.path();
    append(&dir.join("events/a.jsonl"), "a", 1..=3);
    let first = spawn_watch(dir, &dir.join("watch.log"));
    let _guard = KillOnPanic(first.id());
    wait_events(dir, 3, Duration::from_secs(10));

    // Refused: exit 1, the holder named, the way out given; nothing on stdout.
    let second = coord(&["watch", dir.to_str().unwrap(), "--headless"]);
    assert_eq!(
        second.status.code(),
        Some(1),
        "a second console must be refused"
    );
    let err = text(&second.stderr);
    assert_eq!(
        err.trim_end(),
        format!(
            "coord watch: another coord is already watching this directory (pid {}); \
             start this one with --read-only to follow it",
            first.id()
        ),
        "the refusal"
    );
    assert_eq!(text(&second.stdout), "");
    assert_eq!(
        lock_pid(dir),
        Some(first.id()),
        "the lock stays with the first"
    );

    // Read-only, in a terminal: it follows the first console's journal and shows
    // an event appended after it started.
    let mut ro = pty_support::Pty::start(
        &["watch", dir.to_str().unwrap(), "--read-only"],
        dir,
        120,
        30,
    );
    ro.wait_for_text("a T-a 3% line 3");
    append(&dir.join("events/a.jsonl"), "late", 4..=4);
    ro.wait_for_text("late T-late 4% line 4");
    assert_eq!(lock_pid(dir), Some(first.id()), "read-only takes no lock");
    ro.keys("q");
    assert_eq!(ro.wait_exit().exit_code(), 0);

    // Headless read-only runs beside it without an error and journals nothing;
    // it prints what the first console applies after it started, line for
    // line as the first console printed it.
    let starts = || {
        fs::read_to_string(dir.join("coord.log"))
            .unwrap_or_default()
            .matches("read_only=true")
            .count()
    };
    let started_before = starts();
    let mut ro = Command::new(COORD)
        .args(["watch", dir.to_str().unwrap(), "--read-only", "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = {
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = BufReader::new(ro.stdout.take().unwrap());
        std::thread::spawn(move || {
            stdout
                .lines()
                .map_while(Result::ok)
                .try_for_each(|l| tx.send(l))
        });
        rx
    };
    wait_sigterm_handler(ro.id());
    // It logs its start once it has replayed the journal: what is journaled
    // after that, it follows.
    let started = std::time::Instant::now();
    while starts() == started_before {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the follower never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        ro.try_wait().unwrap().is_none(),
        "the read-only console keeps running"
    );
    append(&dir.join("events/a.jsonl"), "later", 5..=5);
    let bad_offset = fs::metadata(dir.join("events/a.jsonl")).unwrap().len();
    OpenOptions::new()
        .append(true)
        .open(dir.join("events/a.jsonl"))
        .unwrap()
        .write_all(b"{not json\n")
        .unwrap();
    let mut followed = Vec::new();
    while !followed
        .iter()
        .any(|l: &String| l.contains(" parse_error "))
    {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => followed.push(line),
            Err(e) => panic!("the follower printed {followed:?}, then {e}"),
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &ro.id().to_string()])
        .status();
    let status = ro.wait().unwrap();
    followed.extend(lines.iter());
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    ro.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr, "", "no error from the read-only console");
    let summary = followed.pop().unwrap_or_default();
    assert_eq!(
        summary,
        "coord: 5 events, 1 parse error, 0 duplicates; 0 alerts open (0 critical, 0 high, 0 medium, 0 low)",
        "its exit summary"
    );
    // `--once` beside it: reads the journal to its end, says so, and exits.
    let once = coord(&[
        "watch",
        dir.to_str().unwrap(),
        "--read-only",
        "--headless",
        "--once",
    ]);
    assert_eq!(once.status.code(), Some(0), "{}", text(&once.stderr));
    assert!(text(&once.stdout).ends_with("0 alerts open (0 critical, 0 high, 0 medium, 0 low)\n"));
    assert_eq!(terminate(first), Some(0));
    let log = fs::read_to_string(dir.join("watch.log")).unwrap();
    let printed: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("id=later-000005"))
        .take(2)
        .collect();
    assert_eq!(
        followed, printed,
        "the follower's lines are the first console's"
    );
    assert!(printed[0]
        .ends_with(" event progress_update id=later-000005 agent=later task=T-later progress=5"));
    assert!(printed[1].contains(&format!(
        " parse_error src=events/a.jsonl line=6 offset={bad_offset} reason="
    )));
    assert_eq!(counts(dir), counts_of(5, 1));
    assert_ids_once(
        dir,
        &(1..=3)
            .map(|n| format!("a-{n:06}"))
            .chain(["late-000004".to_string(), "later-000005".to_string()])
            .collect::<Vec<_>>(),
    );
}

#[test]
fn stdin_lines_are_ingested_and_journaled() {
    let state = tempfile::tempdir().unwrap();
    let mut child = Command::new(COORD)
        .args(["watch", "-", "--state", state.path().to_str().unwrap()])
        .arg("--headless")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut text_in = String::new();
    for n in 1..=3 {
        text_in.push_str(&event_line(&format!("s-{n:06}"), "s", n));
    }
    text_in.push_str("this is not json\n");
    // The last line has no newline: at the end of the stream it is complete.
    text_in.push_str(event_line("s-000004", "s", 4).trim_end());
    input.write_all(text_in.as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let events = stdout.lines().filter(|l| l.contains(" event ")).count();
    let errors = stdout
        .lines()
        .filter(|l| l.contains(" parse_error "))
        .count();
    assert_eq!((events, errors), (4, 1), "{stdout}");
    assert!(stdout.contains("id=s-000004"), "{stdout}");

    let recs = records(state.path());
    assert_eq!(records_of(&recs, "event").len(), 4);
    assert_eq!(records_of(&recs, "error").len(), 1);
    let ids: Vec<String> = (1..=4).map(|n| format!("s-{n:06}")).collect();
    assert_ids_once(state.path(), &ids);
}

#[test]
fn a_json_drop_renamed_in_is_read_whole() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let events = dir.join("events");
    let drop_of = |ids: &[&str]| {
        Value::Array(
            ids.iter()
                .map(
                    |id| serde_json::json!({"type":"task_completed","id":id,"agent":"d","task":id}),
                )
                .collect(),
        )
    };
    // Compact, without a trailing newline, written to a temp name and renamed in.
    let tmpname = events.join(".drop-1.tmp");
    fs::write(
        &tmpname,
        serde_json::to_string(&drop_of(&["j-1", "j-2", "j-3"])).unwrap(),
    )
    .unwrap();
    fs::rename(&tmpname, events.join("drop-1.json")).unwrap();
    let out = once(dir);
    assert!(out.contains("coord: 3 events, 0 parse errors"), "{out}");
    assert_eq!(counts(dir), counts_of(3, 0));

    // Pretty-printed, with a newline, while a console runs.
    let child = spawn_watch(dir, &dir.join("watch.log"));
    let tmpname = events.join(".drop-2.tmp");
    let mut text2 = serde_json::to_string_pretty(&drop_of(&["j-4", "j-5", "j-6"])).unwrap();
    text2.push('\n');
    fs::write(&tmpname, text2).unwrap();
    fs::rename(&tmpname, events.join("drop-2.json")).unwrap();
    wait_events(dir, 6, Duration::from_secs(10));
    assert_eq!(terminate(child), Some(0));
    once(dir);
    assert_eq!(counts(dir), counts_of(6, 0));
    let ids: Vec<String> = (1..=6).map(|n| format!("j-{n}")).collect();
    assert_ids_once(dir, &ids);
}

#[test]
fn too_few_descriptors_for_every_file_reads_them_all_in_turn() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let mut want = Vec::new();
    for f in 0..100 {
        let prefix = format!("o{f:03}");
        want.extend(append(
            &dir.join(format!("events/{prefix}.jsonl")),
            &prefix,
            1..=2,
        ));
    }
    // 48 descriptors for 100 files and the rest of coord: the files are read
    // in turn (the idle ones closed), none is called unreadable, and the
    // console keeps running.
    let limited = |args: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(r#"ulimit -n 48 && exec "$0" watch "$1" {args}"#))
            .arg(COORD)
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut live = limited("--headless");
    wait_events(dir, 200, Duration::from_secs(20));
    assert!(
        live.try_wait().unwrap().is_none(),
        "the console keeps running"
    );
    let stdout = live.stdout.take().unwrap();
    assert_eq!(terminate(live), Some(0));
    let stdout = std::io::read_to_string(stdout).unwrap();
    assert!(!stdout.contains("source unreadable"), "{stdout}");
    assert_eq!(counts(dir), counts_of(200, 0));
    assert_ids_once(dir, &want);
    // A one-shot run under the same limit reads nothing twice.
    let out = limited("--once").wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(counts(dir), counts_of(200, 0));
}

#[test]
fn a_drop_element_over_max_line_bytes_is_an_error_live_and_in_replay() {
    let tmp = coord_dir();
    let dir = tmp.path();
    fs::write(
        dir.join("coord.json"),
        r#"{"ingest":{"max_line_bytes":4096}}"#,
    )
    .unwrap();
    let big = "x".repeat(100_000);
    let drop = serde_json::json!([
        {"type": "progress_update", "id": "big", "message": big},
        {"type": "progress_update", "id": "small"},
    ]);
    fs::write(dir.join("events/d.json"), drop.to_string()).unwrap();
    let live = once(dir);
    assert!(live.contains("coord: 1 event, 1 parse error"), "{live}");
    // The next start replays the journal: the same counts.
    let replayed = once(dir);
    assert!(
        replayed.contains("coord: 1 event, 1 parse error"),
        "{replayed}"
    );
    assert_eq!(counts(dir), counts_of(1, 1));
    let recs = records(dir);
    let reason = records_of(&recs, "error")[0]["reason"].as_str().unwrap();
    assert!(reason.contains("over max_line_bytes"), "{reason}");
}

#[test]
fn a_drop_that_does_not_parse_is_reported_by_once() {
    let tmp = coord_dir();
    let dir = tmp.path();
    fs::write(
        dir.join("events/bad.json"),
        r#"[{"type":"progress_update","id":"a"},"#,
    )
    .unwrap();
    let out = once(dir);
    assert!(out.contains("coord: 0 events, 1 parse error"), "{out}");
    assert!(out.contains("parse_error src=events/bad.json"), "{out}");
    once(dir);
    assert_eq!(counts(dir), counts_of(0, 1));
}
