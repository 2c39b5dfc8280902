//! Helpers for the ingestion tests that drive the real binary: running `coord`,
//! starting and stopping `coord watch --headless`, and reading the journal and
//! `coord status --json` back.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../cli_support/mod.rs"]
mod cli_support;
#[allow(unused_imports)] // each test binary uses some of them
pub use cli_support::{append_events, coord, text, COORD};

/// A fresh coordination directory with `events/`.
pub fn coord_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("events")).unwrap();
    dir
}

/// One event line (with its newline).
pub fn event_line(id: &str, agent: &str, n: u64) -> String {
    format!(
        "{{\"type\":\"progress_update\",\"id\":\"{id}\",\"agent\":\"{agent}\",\"task\":\"T-{agent}\",\"progress\":{},\"message\":\"line {n}\"}}\n",
        n % 100
    )
}

/// `coord watch DIR --once`, which must exit 0; returns its stdout.
pub fn once(dir: &Path) -> String {
    let out = coord(&["watch", dir.to_str().unwrap(), "--once"]);
    assert!(
        out.status.success(),
        "coord watch --once failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `counts` of `coord status DIR --json`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Counts {
    pub events: u64,
    pub parse_errors: u64,
    pub duplicates: u64,
}

pub fn status(dir: &Path) -> Value {
    let out = coord(&["status", dir.to_str().unwrap(), "--json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "coord status failed: {:?}\n{}",
        out.status,
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

pub fn counts(dir: &Path) -> Counts {
    let v = status(dir);
    let c = &v["counts"];
    let n = |k: &str| c[k].as_u64().unwrap_or_else(|| panic!("counts.{k} in {c}"));
    Counts {
        events: n("events"),
        parse_errors: n("parse_errors"),
        duplicates: n("duplicates"),
    }
}

/// The journal's segments, in order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir.join("journal"))
        .map(|rd| {
            rd.map(|e| e.unwrap().path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.strip_suffix(".jsonl"))
                        .is_some_and(|n| n.parse::<u64>().is_ok())
                })
                .collect()
        })
        .unwrap_or_default();
    segs.sort();
    segs
}

/// Every journal record, in order; each line must be a JSON object.
pub fn records(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for seg in segments(dir) {
        let bytes = std::fs::read(&seg).unwrap();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                panic!(
                    "{}:{}: not a JSON record ({e}): {}",
                    seg.display(),
                    i + 1,
                    text(&line[..line.len().min(200)])
                )
            });
            assert!(v.is_object(), "record is not an object: {v}");
            out.push(v);
        }
    }
    out
}

pub fn records_of<'a>(recs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["kind"] == kind).collect()
}

/// How many `kind:"event"` records carry each `raw.id`.
pub fn journal_ids(dir: &Path) -> BTreeMap<String, u64> {
    let mut ids = BTreeMap::new();
    for r in records(dir) {
        if r["kind"] == "event" {
            let id = r["raw"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("event record without raw.id: {r}"))
                .to_string();
            *ids.entry(id).or_insert(0) += 1;
        }
    }
    ids
}

/// Asserts that each of `want` appears exactly once among the journal's event
/// records, and nothing else does.
pub fn assert_ids_once(dir: &Path, want: &[String]) {
    let ids = journal_ids(dir);
    let twice: Vec<_> = ids.iter().filter(|(_, &n)| n > 1).take(10).collect();
    assert!(twice.is_empty(), "ids journaled more than once: {twice:?}");
    let missing: Vec<_> = want.iter().filter(|id| !ids.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} ids never journaled, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(ids.len(), want.len(), "unexpected ids in the journal");
}

/// The pid written in `journal/LOCK`, if any.
pub fn lock_pid(dir: &Path) -> Option<u32> {
    let s = std::fs::read_to_string(dir.join("journal/LOCK")).ok()?;
    s.trim().strip_prefix("pid ")?.parse().ok()
}

/// Starts `coord watch DIR --headless` (output to `log`) and waits until it holds
/// the directory's lock.
pub fn spawn_watch(dir: &Path, log: &Path) -> Child {
    spawn_coord(&["watch", dir.to_str().unwrap(), "--headless"], dir, log)
}

/// Starts `coord ARGS` (output to `log`) and waits until it holds the lock of the
/// state directory `dir`.
pub fn spawn_coord(args: &[&str], dir: &Path, log: &Path) -> Child {
    let out = File::options().create(true).append(true).open(log).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(COORD)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn coord watch");
    wait_for(
        Duration::from_secs(20),
        "the console to take the lock",
        || lock_pid(dir) == Some(child.id()),
    );
    child
}

/// Polls `ok` every 10 ms until it holds, or panics after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until process `pid` has a handler for SIGTERM (`SigCgt` in
/// `/proc/PID/status`): before that, SIGTERM would kill it outright.
pub fn wait_sigterm_handler(pid: u32) {
    wait_for(Duration::from_secs(20), "a SIGTERM handler", || {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return false;
        };
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
    });
}

/// SIGTERM, then waits (SIGKILL after 20 s); returns the exit code.
pub fn terminate(mut child: Child) -> Option<i32> {
    wait_sigterm_handler(child.id());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("coord watch did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the journal holds `n` event records (or panics after `limit`).
pub fn wait_events(dir: &Path, n: usize, limit: Duration) {
    wait_for(limit, &format!("{n} event records"), || {
        journal_event_count(dir) >= n
    });
}

/// Event records in the journal, counted cheaply (tolerates a partial tail).
pub fn journal_event_count(dir: &Path) -> usize {
    let mut n = 0;
    for seg in segments(dir) {
        let Ok(bytes) = std::fs::read(&seg) else {
            continue;
        };
        for line in bytes.split(|&b| b == b'\n') {
            let needle = b"\"kind\":\"event\"";
            if line.windows(needle.len()).any(|w| w == needle) {
                n += 1;
            }
        }
    }
    n
}

/// A small deterministic PRNG (xorshift64*), seeded from the clock unless
/// `COORD_TEST_SEED` is set; the seed is printed so a failure can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(name: &str) -> Rng {
        let seed = std::env::var("COORD_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{name}: COORD_TEST_SEED={seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// Kills the child at `.0` if the test fails before it was stopped, so a failed
/// run leaves no console behind.
pub struct KillOnPanic(pub u32);

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(pid) = rustix::process::Pid::from_raw(self.0 as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}
