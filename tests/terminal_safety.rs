//! Terminal safety (SPEC 3.4, QUALITY.md "Security and bad input"): nothing an
//! agent writes reaches a terminal raw.
//!
//! A coordination directory is filled with hostile text — OSC 52 (clipboard),
//! OSC 0/2 (window title), OSC 8 (hyperlink), DCS, APC, PM, SOS, the C1 CSI and
//! OSC (U+009B, U+009D), raw `ESC [` CSI (clear screen, colour), BEL, backspace,
//! CR, LF, DEL and the bidi controls (U+202E, U+2066–U+2069) — in every field
//! that is displayed: type, id, agent, component, task, gate, phase, status,
//! message, `data`, the name of an event file, the raw excerpt and the reason of
//! bad lines, the plan's epic, phase, component, gate and criterion names, and a
//! `ui.keys` entry of `coord.json`. Each payload carries its own marker (`PWxx`).
//!
//! The console runs on it in a pseudo-terminal; the test opens every view that
//! shows that text (the Events pane and the detail of every entry, every alert's
//! detail, the agents grid and its filter, Progress, the log, the help with the
//! configuration errors) and then scans every byte written to the terminal: no
//! injected sequence may appear, while the visible escapes (`\x1b]52;…`) must be
//! on screen, so the text was drawn. The same scan covers the headless lines of
//! `coord watch --headless` and `--once`, `coord status`, `coord audit` and
//! `coord report --format md` on stdout.

mod pty_support;

use pty_support::{escaped, find, Pty};
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Each hostile payload: a name, the raw text, and what must be on screen
/// instead (its visible escape, as `sanitize` writes it).
fn payloads() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "OSC 52 clipboard",
            "\x1b]52;c;UFdFRA==\x07PW52",
            "\\x1b]52;c;UFdFRA==\\x07PW52",
        ),
        ("OSC 0 title", "\x1b]0;PWT0\x07", "\\x1b]0;PWT0\\x07"),
        ("OSC 2 title", "\x1b]2;PWT2\x1b\\", "\\x1b]2;PWT2\\x1b\\"),
        (
            "OSC 8 hyperlink",
            "\x1b]8;;http://x.invalid/PW8\x1b\\ln\x1b]8;;\x1b\\",
            "\\x1b]8;;http://x.invalid/PW8",
        ),
        ("DCS", "\x1bP1$qPWDC\x1b\\", "\\x1bP1$qPWDC"),
        ("APC", "\x1b_PWAP\x1b\\", "\\x1b_PWAP"),
        ("PM", "\x1b^PWPM\x1b\\", "\\x1b^PWPM"),
        ("SOS", "\x1bXPWSO\x1b\\", "\\x1bXPWSO"),
        ("C1 CSI", "\u{9b}2JPWC1", "\\x9b2JPWC1"),
        ("C1 OSC", "\u{9d}0;PWC2\u{9c}", "\\x9d0;PWC2\\x9c"),
        ("CSI clear", "\x1b[2JPWCL", "\\x1b[2JPWCL"),
        ("CSI colour", "\x1b[31mPWRD", "\\x1b[31mPWRD"),
        ("BEL", "\x07PWBL", "\\x07PWBL"),
        ("backspace", "\x08\x08PWBS", "\\x08\\x08PWBS"),
        ("CR", "\rPWCR", "\\x0dPWCR"),
        ("LF", "\nPWLF", "\\x0aPWLF"),
        ("DEL", "\x7fPWDL", "\\x7fPWDL"),
        ("RLO", "\u{202e}PWRL", "\\u{202e}PWRL"),
        ("LRI", "\u{2066}PWI6", "\\u{2066}PWI6"),
        ("RLI", "\u{2067}PWI7", "\\u{2067}PWI7"),
        ("FSI", "\u{2068}PWI8", "\\u{2068}PWI8"),
        ("PDI", "\u{2069}PWI9", "\\u{2069}PWI9"),
    ]
}

/// Every payload, one after another.
fn all() -> String {
    payloads().iter().map(|(_, raw, _)| *raw).collect()
}

/// Byte strings that must never reach a terminal: each payload as injected,
/// and the introducers that neither ratatui nor a line of text ever needs.
fn forbidden() -> Vec<(String, Vec<u8>)> {
    let mut list: Vec<(String, Vec<u8>)> = payloads()
        .iter()
        .map(|(name, raw, _)| (name.to_string(), raw.as_bytes().to_vec()))
        .collect();
    for (name, bytes) in [
        ("ESC ] (OSC)", &b"\x1b]"[..]),
        ("ESC P (DCS)", b"\x1bP"),
        ("ESC _ (APC)", b"\x1b_"),
        ("ESC ^ (PM)", b"\x1b^"),
        ("ESC X (SOS)", b"\x1bX"),
        ("ESC [2J", b"\x1b[2JPW"),
        ("ESC [31m", b"\x1b[31mPW"),
        ("U+009B", "\u{9b}".as_bytes()),
        ("U+009D", "\u{9d}".as_bytes()),
        ("U+009C", "\u{9c}".as_bytes()),
        ("BEL", b"\x07"),
        ("BS", b"\x08"),
        ("DEL", b"\x7f"),
        ("CR before a marker", b"\rPW"),
        ("LF before a marker", b"\nPW"),
        ("U+202E", "\u{202e}".as_bytes()),
        ("U+2066", "\u{2066}".as_bytes()),
        ("U+2067", "\u{2067}".as_bytes()),
        ("U+2068", "\u{2068}".as_bytes()),
        ("U+2069", "\u{2069}".as_bytes()),
    ] {
        list.push((name.to_string(), bytes.to_vec()));
    }
    list
}

/// Fails with the first forbidden sequence found in `bytes`, and its context.
fn assert_clean(what: &str, bytes: &[u8]) {
    for (name, needle) in forbidden() {
        if let Some(at) = find(bytes, &needle) {
            let from = at.saturating_sub(120);
            let to = (at + needle.len() + 120).min(bytes.len());
            panic!(
                "{what}: {name} ({}) reached the terminal at byte {at}:\n…{}…",
                escaped(&needle),
                escaped(&bytes[from..to])
            );
        }
    }
}

/// The hostile file name: an OSC title, a bidi override and a CSI in a name
/// that is still a `.jsonl` file.
const EVIL_FILE: &str = "evil\x1b]0;PWFN\x07\u{202e}\x1b[2J.jsonl";
const EVIL_FILE_SHOWN: &str = "evil\\x1b]0;PWFN\\x07\\u{202e}\\x1b[2J.jsonl";

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The coordination directory, every displayed field hostile.
fn hostile_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let all = all();
    let comp = format!("cmp{all}");
    let gate = format!("gate{all}");
    std::fs::write(
        dir.join("coord.json"),
        // The bell off: any BEL on the terminal is then one that was injected.
        json!({"ui": {"bell": "off", "keys": {format!("k\x1b]0;PWKY\x07\u{202e}"): "f9"}}})
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("plan.json"),
        json!({
            "epic": format!("epic{all}"),
            "phases": [{
                "id": format!("ph{all}"), "name": format!("phase{all}"),
                "components": [{"id": comp, "weight": 1, "gates": [gate]}],
                "criteria": {format!("kind{all}"): [format!("crit{all}")]}
            }, {"id": "next", "name": format!("next{all}"), "components": []}]
        })
        .to_string(),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("events")).unwrap();
    let field = |name: &str| format!("{name}{all}");
    let events = [
        // A hostile type is not a name: a parse error whose reason quotes it.
        json!({"type": field("x"), "id": "type-evil", "agent": "a"}),
        // Every other field at once, on an unknown type.
        json!({"type": "custom_evt", "id": field("id"), "ts": now(), "agent": field("ag"),
               "component": comp, "task": field("task"), "gate": gate, "phase": field("ph"),
               "status": field("st"), "message": field("msg"), "progress": 40,
               field("key"): field("val")}),
        // Crises: alerts with hostile subjects and messages.
        json!({"type": "quality_gate_failure", "id": "gate-evil", "ts": now(),
               "agent": field("ag"), "component": comp, "gate": gate, "task": field("task"),
               "message": field("msg")}),
        json!({"type": "system_failure", "id": "sys-evil", "ts": now(),
               "agent": field("ag2"), "component": field("cmp2"), "message": field("down")}),
        json!({"type": "blocker_detected", "id": "blk-evil", "ts": now(),
               "component": field("cmp3"), "task": field("task3"), "message": field("blk")}),
        json!({"type": "coordination_alert", "id": "coord-evil", "ts": now(),
               "agent": field("ag3"), "message": field("ca"), "severity": "high"}),
        // The agents grid: names and current tasks.
        json!({"type": "task_assigned", "id": "assign-evil", "ts": now(),
               "agent": field("ag"), "task": field("task")}),
        json!({"type": "agent_heartbeat", "id": "hb-evil", "ts": now(), "agent": field("ag")}),
        json!({"type": "progress_update", "id": "prog-evil", "ts": now(), "agent": field("ag"),
               "component": comp, "progress": 60}),
    ];
    let mut text = String::new();
    for e in &events {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    std::fs::write(dir.join("events/ops.jsonl"), text).unwrap();

    // Bad lines (raw bytes, not JSON-escaped) in a file with a hostile name: one
    // per payload, so each lands in a 200-byte excerpt; a validation error whose
    // reason quotes the hostile value; then a good event.
    let mut bad = Vec::new();
    for (_, raw, _) in payloads() {
        bad.extend_from_slice(format!("not json {raw} tail\n").as_bytes());
    }
    bad.extend_from_slice(
        format!("{}\n", json!({"type": "x", "ts": format!("ts{all}")})).as_bytes(),
    );
    bad.extend_from_slice(
        format!(
            "{}\n",
            json!({"type": "x", "severity": format!("sev{all}")})
        )
        .as_bytes(),
    );
    bad.extend_from_slice(
        format!(
            "{}\n",
            json!({"type": "agent_heartbeat", "id": "hb-file", "agent": "file-agent"})
        )
        .as_bytes(),
    );
    std::fs::write(dir.join("events").join(EVIL_FILE), bad).unwrap();
    tmp
}

/// How many entries the Events pane gets from the directory: the 9 lines of
/// `ops.jsonl`, a bad line per payload (the LF one is two lines), two that fail
/// validation and a good one.
fn entry_count() -> usize {
    9 + payloads().len() + 1 + 3
}

/// Polls until the detail page shows (`Esc back` in its frame), records the
/// screen, closes it and waits until it is gone.
fn open_detail(c: &mut Pty, screens: &mut String) {
    c.keys("\r");
    c.wait_for("a detail page", |s| s.contents().contains("Esc back"));
    screens.push_str(&c.screen_text());
    c.keys("\x1b");
    c.wait_for("the page closed", |s| !s.contents().contains("Esc back"));
}

#[test]
fn no_injected_sequence_reaches_the_console() {
    let tmp = hostile_dir();
    let dir = tmp.path();
    let mut c = Pty::start(
        &["watch", dir.to_str().unwrap(), "--operator", "op"],
        dir,
        240,
        80,
    );
    let mut screens = String::new();
    c.wait_for("every line ingested", |s| {
        let t = s.contents();
        t.contains("file-agent") && t.contains("Alerts")
    });
    screens.push_str(&c.screen_text());

    // The Events pane, zoomed: every entry, then the detail of each.
    c.keys("1");
    c.keys("z");
    c.wait_for("the Events pane zoomed with the bad lines", |s| {
        let t = s.contents();
        t.contains("parse_error") && t.contains(EVIL_FILE_SHOWN)
    });
    screens.push_str(&c.screen_text());
    c.keys("g");
    for _ in 0..entry_count() {
        open_detail(&mut c, &mut screens);
        c.keys("j");
    }

    // Every alert's detail.
    c.keys("3");
    c.wait_for("Alerts focused", |s| s.contents().contains("OWNER"));
    screens.push_str(&c.screen_text());
    c.keys("R"); // resolved ones too
    c.keys("g");
    for _ in 0..6 {
        open_detail(&mut c, &mut screens);
        c.keys("j");
    }

    // The agents grid, Enter on an agent: its page; Enter there: the stream
    // filtered by its name.
    c.keys("2");
    c.wait_for("the agents grid", |s| s.contents().contains("file-agent"));
    screens.push_str(&c.screen_text());
    c.keys("g\r");
    c.wait_for("the agent page", |s| {
        s.contents().contains("Liveness history")
    });
    screens.push_str(&c.screen_text());
    c.keys("\r");
    c.wait_for("the stream filtered by the agent", |s| {
        let t = s.contents();
        t.contains("1 Events") && t.contains("PW52") && !t.contains("parse_error")
    });
    screens.push_str(&c.screen_text());
    // (Wait after Esc: an ESC followed at once by a key reads as Alt-key.)
    // Esc unzooms first, then clears the filter.
    c.keys("\x1b");
    c.wait_for("unzoomed", |s| !s.contents().contains("[zoom]"));
    c.keys("\x1b");
    c.wait_for("the filter cleared", |s| {
        s.contents().contains("parse_error")
    });

    // Progress, the log, the help with the configuration's errors.
    c.keys("4");
    c.wait_for("the Progress pane", |s| s.contents().contains("criteria"));
    screens.push_str(&c.screen_text());
    c.keys("5");
    c.wait_for("the Log pane", |s| s.contents().contains("5 Log"));
    screens.push_str(&c.screen_text());
    c.keys("?");
    c.wait_for("the help", |s| s.contents().contains("Esc close"));
    screens.push_str(&c.screen_text());
    c.keys("\x1b");
    c.wait_for("the help closed", |s| !s.contents().contains("Esc close"));
    // A small terminal: the tab bar and the one-pane layout.
    c.resize(60, 15);
    c.keys("1");
    c.wait_for("one pane at 60×15", |s| s.contents().contains("1 Events"));
    screens.push_str(&c.screen_text());

    assert!(c.alive(), "the console is still running");
    c.keys("q");
    assert_eq!(c.wait_exit().exit_code(), 0);
    assert_clean("the console", &c.raw());

    // What was drawn: the visible escapes of every payload, in the fields.
    for (name, _, shown) in payloads() {
        assert!(
            screens.contains(shown),
            "the {name} payload was never drawn as {shown:?}"
        );
    }
    for shown in [
        "\\x1b]0;PWKY\\x07",
        EVIL_FILE_SHOWN,
        "not json \\x1b]52;c;UFdFRA==\\x07PW52 tail",
    ] {
        assert!(screens.contains(shown), "{shown:?} was never drawn");
    }
}

/// Kills the child at `.0` if the test fails before it was stopped, so a failed
/// run leaves no console behind.
struct KillOnPanic(u32);

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(pid) = rustix::process::Pid::from_raw(self.0 as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// Runs `coord ARGS`, returns stdout after checking the exit code.
fn stdout_of(args: &[&str], want: &[i32]) -> Vec<u8> {
    let out = Command::new(pty_support::COORD)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("run coord");
    assert!(
        out.status.code().is_some_and(|c| want.contains(&c)),
        "coord {args:?}: exit {:?}, want one of {want:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        escaped(&out.stdout),
        escaped(&out.stderr)
    );
    assert_clean(&format!("stderr of coord {args:?}"), &out.stderr);
    assert!(!out.stdout.is_empty(), "coord {args:?} wrote nothing");
    out.stdout
}

#[test]
fn no_injected_sequence_reaches_stdout() {
    let tmp = hostile_dir();
    let dir = tmp.path();
    let d = dir.to_str().unwrap();

    // Headless, live: one line per event and transition, until SIGTERM.
    let mut child = Command::new(pty_support::COORD)
        .args(["watch", d, "--headless", "--operator", "op"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _guard = KillOnPanic(pid);
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let feed = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buf) {
            feed.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    // Every line ingested: one stdout line per event and per bad line.
    let start = Instant::now();
    loop {
        let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
        let lines = text
            .lines()
            .filter(|l| l.contains(" event ") || l.contains(" parse_error "))
            .count();
        if lines == entry_count() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the headless run printed {lines} of {} lines:\n{}",
            entry_count(),
            escaped(text.as_bytes())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let headless = seen.lock().unwrap().clone();
    assert_eq!(status.code(), Some(0));
    let text = String::from_utf8_lossy(&headless);
    assert!(text.contains("parse_error"), "{text}");
    assert!(
        text.contains("event custom_evt") && text.contains("PW52"),
        "{text}"
    );
    assert_clean("coord watch --headless", &headless);

    // `--once` on the same directory (after the run: its lines are all journaled),
    // then on a fresh copy, where it prints the parse errors itself.
    let once = stdout_of(&["watch", d, "--once"], &[0]);
    assert_clean("coord watch --once", &once);
    let fresh = hostile_dir();
    let once = stdout_of(&["watch", fresh.path().to_str().unwrap(), "--once"], &[0]);
    assert!(String::from_utf8_lossy(&once).contains("parse_error"));
    assert_clean("coord watch --once (fresh)", &once);

    let status = stdout_of(&["status", d], &[0, 1]);
    let text = String::from_utf8_lossy(&status);
    assert!(text.contains("PW52"), "the hostile text is shown: {text}");
    assert_clean("coord status", &status);

    let audit = stdout_of(&["audit", d], &[0]);
    let text = String::from_utf8_lossy(&audit);
    assert!(text.contains("PW52") && text.contains("PWFN"), "{text}");
    assert_clean("coord audit", &audit);

    for args in [["--type", "quality_gate_failure"], ["--alert", "A-1"]] {
        let out = stdout_of(&[&["audit", d][..], &args[..]].concat(), &[0]);
        assert_clean(&format!("coord audit {args:?}"), &out);
    }

    let report = stdout_of(&["report", d, "--format", "md"], &[0]);
    let text = String::from_utf8_lossy(&report);
    assert!(text.contains("PW52"), "{text}");
    assert_clean("coord report --format md", &report);
}
