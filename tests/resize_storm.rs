//! A resize storm (QUALITY.md Reliability; issue 6, part 5): the real console in
//! a pseudo-terminal is resized 200 times without a pause, from 300×100 down
//! to 1×1 and back up, through odd shapes (1×100, 300×1), while events keep
//! arriving. It stays alive, the screen settles sane at the final size (pane
//! titles and the status bar), keys still work, and `q` exits 0.

mod cli_support;
mod pty_support;

use cli_support::append_events;
use pty_support::Pty;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The sizes of the storm: 100 steps from 300×100 down to 1×1, odd shapes,
/// 98 steps back up to 300×100.
fn storm() -> Vec<(u16, u16)> {
    let mut sizes = Vec::new();
    let step = |i: u16, n: u16| (300 - 299 * i / n, 100 - 99 * i / n);
    for i in 0..100 {
        sizes.push(step(i, 99));
    }
    sizes.push((1, 100));
    sizes.push((300, 1));
    for i in (0..98).rev() {
        sizes.push(step(i, 97));
    }
    sizes
}

/// Pane titles and the status bar (the clock) on the last line.
fn sane(s: &vt100::Screen, rows: u16) -> bool {
    let text = s.contents();
    let last = text.lines().last().unwrap_or_default();
    ["1 Events", "2 Agents", "3 Alerts", "4 Progress"]
        .iter()
        .all(|t| text.contains(t))
        && text.lines().count() == rows as usize
        && last
            .split_whitespace()
            .last()
            .is_some_and(|clock| chrono::NaiveTime::parse_from_str(clock, "%H:%M:%S").is_ok())
}

#[test]
fn a_resize_storm_leaves_the_console_alive_and_sane() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("events")).unwrap();
    append_events(
        dir,
        "ops.jsonl",
        &[
            json!({"type": "agent_heartbeat", "id": "hb-0", "ts": now(), "agent": "alpha"}),
            json!({"type": "system_failure", "id": "sys-1", "ts": now(),
                   "message": "database cluster down"}),
            json!({"type": "quality_gate_failure", "id": "gate-1", "ts": now(),
                   "component": "auth-api", "gate": "unit_tests"}),
        ],
    );
    let mut c = Pty::start(&["watch", dir.to_str().unwrap()], dir, 120, 40);
    c.wait_for("the console up", |s| sane(s, 40));

    // Events keep arriving during the storm.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                append_events(
                    &dir,
                    "storm.jsonl",
                    &[
                        json!({"type": "progress_update", "id": format!("storm-{n}"),
                             "ts": now(), "agent": format!("agent-{}", n % 17),
                             "component": "auth-api", "progress": n % 100}),
                    ],
                );
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            n
        })
    };
    let sizes = storm();
    assert_eq!(sizes.len(), 200);
    for (cols, rows) in sizes {
        c.resize(cols, rows);
    }
    assert!(c.alive(), "coord died in the storm:\n{}", c.screen_text());

    // Settle small (the one-pane layout with its tab bar), then at the final size.
    c.resize(20, 5);
    c.wait_for("a pane at 20×5", |s| {
        let text = s.contents();
        text.lines().count() == 5 && text.contains("Alerts")
    });
    c.resize(1, 1);
    c.resize(100, 30);
    let written = writer_stop(&stop, writer);
    assert!(written > 0);
    c.wait_for("a sane screen at 100×30", |s| sane(s, 30));
    // Keys still work: the help opens and closes.
    c.keys("?");
    c.wait_for("the help", |s| s.contents().contains("Esc close"));
    c.keys("\x1b");
    c.wait_for("the help closed", |s| sane(s, 30));
    // Every event written during the storm is counted, once.
    let want = 3 + written;
    let start = std::time::Instant::now();
    loop {
        let out = std::process::Command::new(pty_support::COORD)
            .args(["status", dir.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if v["counts"]["events"].as_u64() == Some(want) {
            break;
        }
        assert!(
            start.elapsed() < pty_support::DEADLINE,
            "{want} events wanted: {}",
            v["counts"]
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(c.alive());
    c.keys("q");
    assert_eq!(c.wait_exit().exit_code(), 0);
}

fn writer_stop(stop: &AtomicBool, writer: std::thread::JoinHandle<u64>) -> u64 {
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap()
}
