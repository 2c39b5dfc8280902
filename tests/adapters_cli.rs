//! Real agents through the real binary (SPEC 17): Claude Code's hook payloads
//! and Codex's notify payload fed to `coord hook`, any command run by `coord
//! wrap`, each checked in `coord status --json` while a console runs.

mod ingest_support;

use ingest_support::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SESSION: &str = "00893aaf-19fa-41d2-8238-13269b9b3ca0";
const AGENT: &str = "api-00893aaf";

/// `coord hook claude-code DIR` with `payload` on stdin; how long it took.
fn hook(dir: &Path, payload: &[u8], extra: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = Command::new(COORD)
        .args(["hook", "claude-code", dir.to_str().unwrap()])
        .args(extra)
        .env_remove("COORD_AGENT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload).unwrap();
    let out = child.wait_with_output().unwrap();
    (out, start.elapsed())
}

/// A recorded-shape payload of one Claude Code hook event.
fn payload(hook: &str, fields: Value) -> Vec<u8> {
    let mut v = json!({
        "session_id": SESSION,
        "transcript_path": format!("/home/ann/.claude/projects/-home-ann-src-api/{SESSION}.jsonl"),
        "cwd": "/home/ann/src/api",
        "permission_mode": "default",
        "hook_event_name": hook,
    });
    for (k, x) in fields.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string().into_bytes()
}

/// Feeds a hook event and checks it ended well: exit 0, nothing on stdout.
fn feed(dir: &Path, hook_name: &str, fields: Value) {
    let (out, took) = hook(dir, &payload(hook_name, fields), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{hook_name}: {}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{hook_name} wrote to stdout");
    assert!(out.stderr.is_empty(), "{hook_name}: {}", text(&out.stderr));
    assert!(
        took < Duration::from_millis(500),
        "{hook_name} took {took:?}"
    );
}

fn agent(s: &Value, id: &str) -> Value {
    s["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no agent {id} in {s:#}"))
        .clone()
}

fn alerts_of(s: &Value, trigger: &str) -> Vec<Value> {
    s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["trigger"] == trigger)
        .cloned()
        .collect()
}

/// Polls `coord status --json` until `ok` holds.
fn status_until(dir: &Path, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        last = status(dir);
        if ok(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}: {last:#}");
}

fn liveness(dir: &Path, want: &'static str) -> Value {
    status_until(dir, want, |s| {
        s["agents"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["id"] == AGENT && a["liveness"] == want))
    })
}

#[test]
fn a_claude_code_session_from_start_to_end() {
    let tmp = coord_dir();
    let dir = tmp.path();
    // A short wait limit, so the test need not wait two minutes.
    std::fs::write(
        dir.join("coord.json"),
        r#"{"heartbeat_config": {"waiting_alert_minutes": 0.02}}"#,
    )
    .unwrap();
    let console = spawn_watch(dir, &dir.join("watch.log"));

    feed(
        dir,
        "SessionStart",
        json!({"source": "startup", "model": "claude-sonnet-4-6"}),
    );
    let s = liveness(dir, "healthy");
    assert_eq!(agent(&s, AGENT)["open_tasks"], json!([]));
    feed(
        dir,
        "UserPromptSubmit",
        json!({"prompt": "Fix the flaky token refresh test please"}),
    );
    feed(
        dir,
        "PreToolUse",
        json!({"tool_name": "Bash",
        "tool_input": {"command": "cargo test token", "description": "Run tests"}, "tool_use_id": "toolu_01"}),
    );
    feed(
        dir,
        "PostToolUse",
        json!({"tool_name": "Bash", "tool_input": {"command": "cargo test token"},
        "tool_response": {"stdout": "x".repeat(200_000), "stderr": "", "interrupted": false}, "tool_use_id": "toolu_01"}),
    );
    feed(
        dir,
        "PostToolUseFailure",
        json!({"tool_name": "Bash", "tool_input": {"command": "cargo build"},
        "tool_use_id": "toolu_02", "error": "Command exited with non-zero status code 101", "is_interrupt": false}),
    );
    feed(
        dir,
        "SubagentStop",
        json!({"stop_hook_active": false, "agent_id": "def456", "agent_type": "Explore",
        "agent_transcript_path": "/tmp/agent-def456.jsonl", "last_assistant_message": "Found 3 issues"}),
    );
    feed(
        dir,
        "PreCompact",
        json!({"trigger": "auto", "custom_instructions": ""}),
    );
    liveness(dir, "healthy");

    // Asking for permission: waiting, then the agent_waiting alert past the limit.
    feed(
        dir,
        "Notification",
        json!({"message": "Claude needs your permission to use Bash",
        "title": "Permission needed", "notification_type": "permission_prompt"}),
    );
    let s = liveness(dir, "waiting");
    let a = agent(&s, AGENT);
    assert!(a["waiting_since"].is_string(), "{a:#}");
    assert_eq!(a["waiting_for"], "Claude needs your permission to use Bash");
    // Opened by the console (not only projected by `status`).
    let s = status_until(dir, "the agent_waiting alert", |s| {
        alerts_of(s, "agent_waiting")
            .iter()
            .any(|a| a["projected"] == false)
    });
    let w = &alerts_of(&s, "agent_waiting")[0];
    assert_eq!(
        (w["level"].as_str(), w["status"].as_str()),
        (Some("medium"), Some("triggered"))
    );
    assert_eq!(w["agent"], AGENT);
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("permission to use Bash"),
        "{w:#}"
    );

    // The person answers: it works again and the alert resolves by itself.
    feed(
        dir,
        "PostToolUse",
        json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf build"},
        "tool_response": {}}),
    );
    let s = status_until(dir, "the alert resolved", |s| {
        let w = alerts_of(s, "agent_waiting");
        !w.is_empty() && w.iter().all(|a| a["status"] == "resolved")
    });
    assert_eq!(agent(&s, AGENT)["liveness"], "healthy");
    assert_eq!(alerts_of(&s, "agent_waiting")[0]["resolution"], "auto");

    feed(
        dir,
        "Stop",
        json!({"stop_hook_active": false, "last_assistant_message": "All tests pass."}),
    );
    liveness(dir, "idle");
    feed(dir, "SessionEnd", json!({"reason": "prompt_input_exit"}));
    let s = liveness(dir, "offline");
    assert_eq!(terminate(console), Some(0));
    // No other alert: an idle or ended session is not a dead agent.
    let others: Vec<_> = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["trigger"] != "agent_waiting")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    // Every hook event is one heartbeat in the agent's file, with its activity.
    let file = std::fs::read_to_string(dir.join(format!("events/{AGENT}.jsonl"))).unwrap();
    let messages: Vec<String> = file
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(messages.len(), 11, "{messages:#?}");
    assert_eq!(messages[2], "Bash: cargo test token");
    assert!(
        messages[4].starts_with("Bash: cargo build (failed: Command exited"),
        "{}",
        messages[4]
    );
    assert_eq!(messages[9], "turn finished: All tests pass.");
}

#[test]
fn the_agent_id_comes_from_the_flag_the_environment_or_the_session() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let p = payload("Stop", json!({}));
    assert_eq!(hook(dir, &p, &["--agent", "be-1"]).0.status.code(), Some(0));
    let out = Command::new(COORD)
        .args(["hook", "claude-code", dir.to_str().unwrap()])
        .env("COORD_AGENT", "env-7")
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&p)?;
            c.wait()
        })
        .unwrap();
    assert_eq!(out.code(), Some(0));
    hook(dir, &p, &[]);
    let s = status(dir);
    for id in ["be-1", "env-7", AGENT] {
        assert_eq!(agent(&s, id)["liveness"], "idle", "{id}");
    }
}

#[test]
fn garbage_and_a_missing_directory_exit_0_quickly_and_say_why() {
    let tmp = coord_dir();
    let dir = tmp.path();
    for bad in [
        &b"not json"[..],
        b"",
        b"[1,2,3]",
        b"{\"hook_event_name\": ",
        &[0xff, 0xfe, 0x00],
    ] {
        let (out, took) = hook(dir, bad, &[]);
        assert_eq!(out.status.code(), Some(0), "{bad:?}");
        assert!(out.stdout.is_empty());
        assert!(
            text(&out.stderr).contains("coord hook claude-code:"),
            "{bad:?}"
        );
        assert!(took < Duration::from_millis(500), "{took:?}");
    }
    // Each said in the directory's coord.log too; nothing was published.
    let log = std::fs::read_to_string(dir.join("coord.log")).unwrap();
    assert_eq!(log.lines().count(), 5, "{log}");
    assert_eq!(std::fs::read_dir(dir.join("events")).unwrap().count(), 0);
    let missing = dir.join("no/such/dir");
    let (out, took) = hook(&missing, &payload("Stop", json!({})), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("not a directory"),
        "{}",
        text(&out.stderr)
    );
    assert!(took < Duration::from_millis(500));
    // Codex with no payload (its one argument is then the payload, and the
    // directory the working one), and with garbage: said in DIR/coord.log.
    for args in [vec![], vec!["{oops"]] {
        let mut all = vec!["hook", "codex", dir.to_str().unwrap()];
        all.extend(args.iter().copied());
        let out = Command::new(COORD)
            .args(&all)
            .current_dir(dir)
            .output()
            .expect("run coord");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let log = std::fs::read_to_string(dir.join("coord.log")).unwrap_or_default();
    assert_eq!(
        log.matches("coord hook codex: the notify JSON argument")
            .count(),
        2,
        "{log}"
    );
    // A hook misconfigured in settings.json: said, and still exit 0 (Claude
    // Code reads exit 2 from PreToolUse as "block the tool").
    for args in [
        vec!["hook", "claude-code", "--bogus"],
        vec!["hook", "nobody"],
        vec!["hook"],
    ] {
        let out = coord(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(text(&out.stderr).contains("coord hook"), "{args:?}");
    }
    // A stream that does not answer: given up within the deadline.
    let start = Instant::now();
    let (out, _) = hook(
        dir,
        &payload("Stop", json!({})),
        &["--to", "redis://10.255.255.1:6379/s"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn codex_notify_is_a_heartbeat_and_idle() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let notify = json!({"type": "agent-turn-complete",
        "thread-id": "b5f6c1c2-1111-2222-3333-444455556666", "turn-id": "12345",
        "cwd": "/Users/example/project", "client": "codex-tui",
        "input-messages": ["Rename `foo` to `bar` and update the callsites."],
        "last-assistant-message": "Rename complete and verified `cargo build` succeeds."})
    .to_string();
    // Codex appends the payload to the configured argv: DIR first.
    let out = coord(&["hook", "codex", dir.to_str().unwrap(), &notify]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let s = status(dir);
    let a = agent(&s, "project-b5f6c1c2");
    assert_eq!(a["liveness"], "idle");
}

/// `coord wrap DIR --agent w ARGS -- COMMAND`.
fn wrap(dir: &Path, args: &[&str], command: &[&str]) -> Output {
    Command::new(COORD)
        .args(["wrap", dir.to_str().unwrap(), "--agent", "w-1"])
        .args(args)
        .arg("--")
        .args(command)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn task(s: &Value, id: &str) -> Value {
    s["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn wrap_completes_the_task_on_success_and_passes_output_through() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let out = wrap(
        dir,
        &["--task", "T-1", "--component", "api", "--every", "0.2"],
        &["sh", "-c", "echo to-stdout; echo to-stderr >&2; sleep 0.7"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "to-stdout\n");
    assert_eq!(text(&out.stderr), "to-stderr\n");
    let s = status(dir);
    assert_eq!(task(&s, "T-1")["open"], false, "{s:#}");
    assert_eq!(agent(&s, "w-1")["liveness"], "offline");
    assert!(s["alerts"].as_array().unwrap().is_empty());
    // Heartbeats while it ran.
    let file = std::fs::read_to_string(dir.join("events/w-1.jsonl")).unwrap();
    let kinds: Vec<String> = file
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let beats = kinds.iter().filter(|k| *k == "agent_heartbeat").count();
    assert!(beats >= 4, "start, ≥2 while running, offline: {kinds:?}");
    assert_eq!(kinds[1], "task_assigned");
    assert!(kinds.contains(&"task_completed".to_string()));
    // stdin is the command's.
    let mut child = Command::new(COORD)
        .args(["wrap", dir.to_str().unwrap(), "--agent", "w-2", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"through\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "through\n")
    );
}

#[test]
fn wrap_fails_the_task_with_the_status_and_the_last_stderr_line() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let out = wrap(
        dir,
        &["--task", "T-9"],
        &[
            "sh",
            "-c",
            "echo compiling >&2; echo 'error: 3 tests failed' >&2; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let s = status(dir);
    let failed = alerts_of(&s, "task_failed");
    assert_eq!(failed.len(), 1, "{s:#}");
    assert_eq!(failed[0]["level"], "medium");
    assert_eq!(failed[0]["task"], "T-9");
    assert_eq!(failed[0]["message"], "exit status 3: error: 3 tests failed");
    assert_eq!(task(&s, "T-9")["open"], true);
    // Not found: 127, and said as a failure.
    let out = wrap(dir, &["--task", "T-10"], &["/no/such/command"]);
    assert_eq!(out.status.code(), Some(127));
    let s = status(dir);
    assert!(alerts_of(&s, "task_failed")
        .iter()
        .any(|a| a["task"] == "T-10"));
    // Nowhere to publish: wrap's own failure, the command never runs.
    let out = wrap(
        &dir.join("missing"),
        &[],
        &["touch", dir.join("ran").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(!dir.join("ran").exists());
}

#[test]
fn wrap_passes_a_signal_on_and_reports_how_the_command_ended() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let mut child = Command::new(COORD)
        .args([
            "wrap",
            dir.to_str().unwrap(),
            "--agent",
            "w-3",
            "--task",
            "T-3",
            "--",
        ])
        .args([
            "sh",
            "-c",
            "trap 'echo got-term >&2; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the command to be running (its trap set).
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    wait_sigterm_handler(child.id());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(42), "{}", text(&out.stderr));
    let s = status(dir);
    let failed = alerts_of(&s, "task_failed");
    assert_eq!(failed[0]["message"], "exit status 42: got-term");
    // Killed outright: 128 + the signal, said with its name.
    let out = wrap(dir, &["--task", "T-4"], &["sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.status.code(), Some(137));
    let s = status(dir);
    let f = alerts_of(&s, "task_failed")
        .into_iter()
        .find(|a| a["task"] == "T-4")
        .unwrap();
    assert_eq!(f["message"], "killed by signal 9 (SIGKILL)");
}

#[test]
fn spend_adds_up_in_status_and_report_and_a_budget_opens_its_alert() {
    let tmp = coord_dir();
    let dir = tmp.path();
    std::fs::write(
        dir.join("plan.json"),
        json!({"phases": [{"id": "p1", "budget_usd": 2.0, "components": [{"id": "api"}, {"id": "web"}]}],
               "agents": [{"id": "cc-1", "budget_usd": 1.0}, {"id": "cc-2"}]})
        .to_string(),
    )
    .unwrap();
    let lines = [
        json!({"type": "progress_update", "agent": "cc-1", "component": "api", "progress": 10, "cost_usd": 0.6, "tokens": 1000}),
        json!({"type": "agent_heartbeat", "agent": "cc-1", "data": {"cost_usd": 0.5, "tokens": 500}}),
        json!({"type": "progress_update", "agent": "cc-2", "component": "web", "progress": 5, "cost_usd": 0.25, "tokens": 300}),
        // Refused, named, and not counted.
        json!({"type": "progress_update", "agent": "cc-2", "component": "web", "cost_usd": -4}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("events/spend.jsonl"), body).unwrap();
    let s = status(dir);
    let cc1 = agent(&s, "cc-1");
    assert_eq!(
        (
            cc1["cost_usd"].as_f64(),
            cc1["tokens"].as_u64(),
            cc1["budget_usd"].as_f64()
        ),
        (Some(1.1), Some(1500), Some(1.0))
    );
    let api = s["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "api")
        .unwrap();
    assert_eq!(api["cost_usd"].as_f64(), Some(0.6));
    assert_eq!(
        (
            s["phase"]["cost_usd"].as_f64(),
            s["phase"]["tokens"].as_u64()
        ),
        (Some(1.35), Some(1800))
    );
    assert_eq!(s["counts"]["parse_errors"], 1);
    let over = alerts_of(&s, "budget_exceeded");
    assert_eq!(over.len(), 1, "{s:#}");
    assert_eq!(
        (over[0]["level"].as_str(), over[0]["agent"].as_str()),
        (Some("high"), Some("cc-1"))
    );
    // The report says the same.
    let out = coord(&["report", dir.to_str().unwrap(), "--format", "json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["fleet"]["cost_usd"].as_f64(), Some(1.35));
    assert_eq!(r["spend"][0]["agent"], "cc-1");
    assert_eq!(r["phases"][0]["budget_usd"].as_f64(), Some(2.0));
    let md = text(&coord(&["report", dir.to_str().unwrap()]).stdout);
    assert!(md.contains("## Spend"), "{md}");
    assert!(
        md.contains("| cc-1 | $1.10 | 1500 | $1.00 | 110 % **over** |"),
        "{md}"
    );
    assert!(md.contains("| p1 | $1.35 | 1800 | $2.00 | 68 % |"), "{md}");
}
