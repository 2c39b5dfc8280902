//! A fleet that went quiet half an hour ago: the first tick after its backlog
//! times out 200 agents, reassigns their tasks and escalates hundreds of alerts
//! at once. coord must finish that tick, go on working, and stop on a signal
//! within a second even when what it writes to is never read.

mod pty_support;

use pty_support::Pty;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COORD: &str = env!("CARGO_BIN_EXE_coord");

/// The backlog of the issue that found the freeze: `n` events of ~190 bytes,
/// 200 agents, 6 components, timestamps 1.7 ms apart from 30 minutes ago; six
/// heartbeats in eleven events, three progress updates, a task assignment and a
/// low coordination alert.
fn quiet_fleet(dir: &Path, n: usize) {
    fleet(dir, n, 1700);
}

/// `quiet_fleet` with timestamps `step_us` microseconds apart from 30 minutes ago.
fn fleet(dir: &Path, n: usize, step_us: i64) {
    let events = dir.join("events");
    std::fs::create_dir_all(&events).unwrap();
    let comps = [
        "auth-api",
        "gateway",
        "scheduler",
        "billing",
        "search",
        "ui-shell",
    ];
    let t0 = chrono::Utc::now() - chrono::TimeDelta::minutes(30);
    let mut seed: u64 = 7;
    let mut next = |m: u64| {
        // xorshift64*: a fixed sequence, no crate needed.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % m
    };
    let mut out = String::with_capacity(n * 200);
    for i in 0..n {
        let ts = (t0 + chrono::TimeDelta::microseconds(i as i64 * step_us))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let pick = next(11);
        let ty = match pick {
            0..=5 => "agent_heartbeat",
            6..=8 => "progress_update",
            9 => "task_assigned",
            _ => "coordination_alert",
        };
        let agent = format!("agent-{:04}", next(200));
        let comp = comps[next(6) as usize];
        let mut ev = serde_json::json!({"type": ty, "id": format!("e{i}"), "ts": ts.to_string(),
            "agent": agent, "component": comp, "message": "alpha beta gamma delta"});
        match ty {
            "progress_update" => ev["progress"] = next(100).into(),
            "task_assigned" => ev["task"] = format!("T{i}").into(),
            "coordination_alert" => ev["severity"] = "low".into(),
            _ => {}
        }
        out.push_str(&ev.to_string());
        out.push('\n');
    }
    std::fs::write(events.join("fleet.jsonl"), out).unwrap();
}

/// `coord ARGS` with its stdout and stderr piped to this test.
fn coord(args: &[&str]) -> Child {
    Command::new(COORD)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_child(child);
    rustix::process::kill_process(pid, sig).unwrap();
}

/// Waits for `child` to exit, at most `limit`; kills it and fails if it does not.
fn exit_within(
    child: &mut Child,
    limit: Duration,
    what: &str,
) -> (std::process::ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn once(dir: &Path) -> String {
    let mut child = coord(&["watch", dir.to_str().unwrap(), "--headless", "--once"]);
    let (status, took) = exit_within(&mut child, Duration::from_secs(60), "--once");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        status.success(),
        "--once exited {status:?} after {took:?}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn once_finishes_the_storm_with_every_event_counted() {
    for n in [3_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        quiet_fleet(dir.path(), n);
        let start = Instant::now();
        let out = once(dir.path());
        let took = start.elapsed();
        assert!(
            out.contains(&format!("coord: {n} events, 0 parse errors, 0 duplicates")),
            "{out}"
        );
        assert!(took < Duration::from_secs(20), "{n} events took {took:?}");
        // The storm's notifications went out as digests: no agent is left to
        // take a task, so every alert goes to a human, in one line per channel.
        let outbox = dir.path().join("outbox");
        let text = std::fs::read_to_string(outbox.join("direct_alert.jsonl")).unwrap();
        let digests: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|v: &serde_json::Value| v["kind"] == "digest")
            .collect();
        assert!(
            digests
                .iter()
                .any(|d| d["of"] == "human_escalation" && d["count"].as_u64() >= Some(200)),
            "{text}"
        );
        let high = std::fs::read_to_string(outbox.join("status_report.jsonl")).unwrap();
        let opened: u64 = high
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["of"] == "alert_opened" || v["kind"] == "alert_opened")
            .map(|v| v["count"].as_u64().unwrap_or(1))
            .sum();
        assert_eq!(opened, 200, "an agent_timeout alert for each agent: {high}");
        // Run again: nothing new, nothing counted twice.
        assert!(
            once(dir.path()).contains(&format!("coord: {n} events, 0 parse errors, 0 duplicates"))
        );
    }
}

/// The journal v2 issue's backlog: 500,000 events in one file, 200 agents,
/// timestamps spread over the last 30 minutes. `--once` wrote its three
/// segments and then slept forever; it must exit, every event counted, and a
/// second run must count none twice.
#[test]
fn once_exits_on_half_a_million_events_spread_over_half_an_hour() {
    let n = 500_000;
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), n, 30 * 60 * 1_000_000 / n as i64);
    let summary = format!("coord: {n} events, 0 parse errors, 0 duplicates");
    let out = once(dir.path());
    assert!(out.contains(&summary), "{out}");
    let segments = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "jsonl")
        })
        .count();
    assert!(segments >= 3, "{segments} segments");
    assert!(once(dir.path()).contains(&summary));
}

#[test]
fn the_live_headless_run_goes_on_after_the_storm_and_stops_on_sigterm() {
    for n in [3_000, 100_000] {
        live_headless(n);
    }
}

fn live_headless(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    quiet_fleet(dir.path(), n);
    let mut child = coord(&["watch", dir.path().to_str().unwrap(), "--headless"]);
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let wait_for = |what: &str, limit: Duration| {
        let start = Instant::now();
        loop {
            let left = limit.saturating_sub(start.elapsed());
            match lines.recv_timeout(left) {
                Ok(l) if l.contains(what) => return,
                Ok(_) => {}
                Err(_) => panic!("no line with {what:?} within {limit:?}"),
            }
        }
    };
    // The storm's tick: the escalations of alerts unacknowledged for 15 min.
    wait_for(
        "reason=\"unacknowledged for 15 min\"",
        Duration::from_secs(30),
    );
    // Then a new event is still read and printed.
    std::thread::sleep(Duration::from_millis(1500));
    let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("events/fleet.jsonl"))
        .unwrap();
    writeln!(
        f,
        r#"{{"type":"agent_heartbeat","id":"after-the-storm","ts":"{ts}","agent":"agent-0042"}}"#
    )
    .unwrap();
    wait_for("id=after-the-storm", Duration::from_secs(10));
    signal(&child, rustix::process::Signal::TERM);
    let (status, took) = exit_within(&mut child, Duration::from_secs(5), "after SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(1), "SIGTERM took {took:?}");
}

/// Nobody reads coord's output: the loop blocks writing it. SIGTERM still ends
/// the run within a second, says so, and loses nothing: the next run counts
/// every event once.
#[test]
fn sigterm_stops_a_coord_whose_output_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    quiet_fleet(dir.path(), 100_000);
    // Its stdout is never read.
    let mut child = coord(&["watch", dir.path().to_str().unwrap(), "--headless"]);
    // Long enough for a pipe's worth of lines: the loop is now blocked.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "coord stopped by itself"
    );
    signal(&child, rustix::process::Signal::TERM);
    let (status, took) = exit_within(&mut child, Duration::from_secs(5), "wedged, after SIGTERM");
    assert!(took < Duration::from_secs(1), "SIGTERM took {took:?}");
    assert_eq!(
        status.code(),
        Some(coord::signals::FORCED_EXIT),
        "{status:?}"
    );
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    assert!(err.contains("journal"), "{err}");
    let out = once(dir.path());
    assert!(
        out.contains("coord: 100000 events, 0 parse errors, 0 duplicates"),
        "{out}"
    );
}

/// The console on the same backlog keeps drawing (its clock moves) and quits
/// on `q`.
#[test]
fn the_console_keeps_drawing_through_the_storm_and_quits_on_q() {
    for n in [3_000, 100_000] {
        console(n);
    }
}

fn console(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    quiet_fleet(dir.path(), n);
    let mut pty = Pty::start(
        &["watch", dir.path().to_str().unwrap()],
        dir.path(),
        120,
        40,
    );
    pty.wait_for("the storm's alerts on screen", |s| {
        s.contents().contains("agent-0")
    });
    let first = pty.screen_text();
    pty.wait_within(Duration::from_secs(5), "a redraw", |s| {
        s.contents() != first
    });
    pty.keys("q");
    let status = pty.wait_exit();
    assert!(status.success(), "{status:?}");
}

/// The console's terminal takes no more bytes (nobody reads the other side of
/// its pseudo-terminal): SIGTERM still ends it within a second.
#[test]
fn sigterm_stops_a_console_whose_terminal_is_never_read() {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    let dir = tempfile::tempdir().unwrap();
    quiet_fleet(dir.path(), 3_000);
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 50,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(COORD);
    cmd.args(["watch", dir.path().to_str().unwrap()]);
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    // The master is kept open and never read: the terminal's buffer fills up.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "coord stopped by itself"
    );
    let pid = rustix::process::Pid::from_raw(child.process_id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("the console did not stop within 5 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "SIGTERM took {took:?}");
    // Blocked drawing, it could not stop cleanly: the last resort ended it.
    assert_eq!(
        status.exit_code(),
        coord::signals::FORCED_EXIT as u32,
        "{status:?}"
    );
    drop(pair.master);
}

/// `coord watch --headless | head`: when the reader goes away, the run ends,
/// exit 0, with what it applied journaled; the next run reads the rest once.
#[test]
fn the_headless_run_ends_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    quiet_fleet(dir.path(), 3_000);
    let mut child = coord(&["watch", dir.path().to_str().unwrap(), "--headless"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().contains(" event "));
    drop(lines);
    let (status, _) = exit_within(&mut child, Duration::from_secs(10), "its reader gone");
    assert!(status.success(), "{status:?}");
    assert!(once(dir.path()).contains("coord: 3000 events, 0 parse errors, 0 duplicates"));
}

/// `coord status | head` and the like: a reader that goes away ends the command
/// quietly (exit 0, nothing on stderr). The storm's 455 alerts make every
/// output larger than a pipe holds, so each write after the close fails.
#[test]
fn status_report_and_audit_are_quiet_when_their_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    quiet_fleet(dir.path(), 3_000);
    once(dir.path());
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["status", d],
        vec!["status", d, "--json"],
        vec!["report", d],
        vec!["report", d, "--format", "json"],
        vec!["audit", d],
        vec!["audit", d, "--json"],
    ] {
        let mut child = coord(&args);
        let mut first = [0u8; 1];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        drop(child.stdout.take());
        let (status, _) = exit_within(&mut child, Duration::from_secs(20), &args.join(" "));
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(
            (status.code(), err.as_str()),
            (Some(0), ""),
            "{}",
            args.join(" ")
        );
    }
}
