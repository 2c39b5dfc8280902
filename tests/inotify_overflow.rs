//! inotify overflow (QUALITY.md, Reliability): with the kernel's event queue
//! shrunk to 16 (`fs.inotify.max_queued_events`, read when an inotify instance is
//! made), a burst of appends to many files overflows it; the watcher reports
//! `Rescan`, coord rescans the whole directory (its log says so) and every event
//! is journaled exactly once. Needs root to set the sysctl; says `SKIPPED`
//! otherwise. The previous value is put back whatever happens.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COORD: &str = env!("CARGO_BIN_EXE_coord");
const SYSCTL: &str = "/proc/sys/fs/inotify/max_queued_events";
const FILES: u64 = 40;
const PER_FILE: u64 = 100;

/// The sysctl set for the test, restored on drop.
struct QueueLimit(String);

impl QueueLimit {
    fn set(n: u32) -> Option<QueueLimit> {
        let old = std::fs::read_to_string(SYSCTL).ok()?;
        std::fs::write(SYSCTL, n.to_string()).ok()?;
        Some(QueueLimit(old))
    }
}

impl Drop for QueueLimit {
    fn drop(&mut self) {
        let _ = std::fs::write(SYSCTL, self.0.trim());
    }
}

fn journaled_ids(dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("journal")) else {
        return ids;
    };
    for path in entries.map(|e| e.unwrap().path()) {
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
                if let Ok(v) = serde_json::from_str::<Value>(line) {
                    if v["kind"] == "event" {
                        ids.push(v["raw"]["id"].as_str().unwrap_or("").to_string());
                    }
                }
            }
        }
    }
    ids
}

#[test]
fn a_watcher_queue_overflow_is_a_full_rescan_and_loses_nothing() {
    let Some(limit) = QueueLimit::set(16) else {
        eprintln!("SKIPPED: cannot set {SYSCTL} here (needs root); overflow test not run");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("events")).unwrap();
    let mut child = Command::new(COORD)
        .args(["watch", dir.to_str().unwrap(), "--headless"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the console to be up (its start is journaled as a notification).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir
        .join("journal")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some())
    {
        assert!(Instant::now() < deadline, "coord watch did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // The burst: one write a line, files round-robin, far more than 16 events.
    let mut files: Vec<std::fs::File> = (0..FILES)
        .map(|f| {
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(dir.join(format!("events/f{f:02}.jsonl")))
                .unwrap()
        })
        .collect();
    for n in 0..PER_FILE {
        for (f, file) in files.iter_mut().enumerate() {
            let line = format!(
                "{{\"type\":\"agent_heartbeat\",\"id\":\"f{f}-{n}\",\"agent\":\"a{f}\"}}\n"
            );
            file.write_all(line.as_bytes()).unwrap();
        }
    }
    let total = (FILES * PER_FILE) as usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    while journaled_ids(dir).len() < total {
        assert!(Instant::now() < deadline, "not every event was read");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(child.wait().unwrap().success());
    drop(limit);

    let mut ids = journaled_ids(dir);
    assert_eq!(ids.len(), total);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "an event was journaled twice");
    let log = std::fs::read_to_string(dir.join("coord.log")).unwrap();
    assert!(
        log.contains("kernel queue overflow"),
        "the overflow was not seen as one:\n{log}"
    );
}
