//! `coord status`, `coord check` and the top-level CLI, through the real binary.
//!
//! Each test writes a coordination directory into a tempdir, runs `coord` on it
//! with `std::process::Command` and checks the exit code and the output: the
//! `--json` form is parsed and checked field by field against the documented
//! contract.

mod cli_support;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use cli_support::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The fixed evaluation time passed with `--at`.
const AT: &str = "2026-11-24T12:00:00Z";

fn at() -> DateTime<Utc> {
    AT.parse().unwrap()
}

// ---------------------------------------------------------------------------
// Writing a coordination directory

/// Event files of a coordination directory, line by line, written on `write`.
struct Fleet {
    now: DateTime<Utc>,
    files: BTreeMap<String, Vec<String>>,
    /// Lines that are events (valid and first of their id): `counts.events`.
    valid: u64,
}

impl Fleet {
    fn new(now: DateTime<Utc>) -> Fleet {
        Fleet {
            now,
            files: BTreeMap::new(),
            valid: 0,
        }
    }

    /// `secs` seconds before the evaluation time, as RFC 3339 UTC.
    fn ts(&self, secs: i64) -> String {
        (self.now - TimeDelta::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// `secs` seconds before the evaluation time, naive (no zone), as the seed wrote.
    fn naive(&self, secs: i64) -> String {
        (self.now - TimeDelta::seconds(secs))
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S%.3f")
            .to_string()
    }

    fn time(&self, secs: i64) -> DateTime<Utc> {
        self.now - TimeDelta::seconds(secs)
    }

    /// A valid, new event.
    fn event(&mut self, file: &str, event: Value) {
        self.valid += 1;
        self.raw(file, &event.to_string());
    }

    /// Any line, as is (a newline is added).
    fn raw(&mut self, file: &str, line: &str) {
        self.files
            .entry(file.to_string())
            .or_default()
            .push(line.to_string());
    }

    fn heartbeat(&mut self, agent: &str, secs: i64) {
        let (id, ts) = (format!("hb-{agent}-{secs}"), self.ts(secs));
        self.event(
            &format!("{agent}.jsonl"),
            json!({"type": "agent_heartbeat", "id": id, "ts": ts, "agent": agent}),
        );
    }

    fn assign(&mut self, agent: &str, task: &str, component: Option<&str>, secs: i64) {
        let ts = self.ts(secs);
        self.event(
            &format!("{agent}.jsonl"),
            json!({"type": "task_assigned", "id": format!("assign-{task}"), "ts": ts,
                   "agent": agent, "task": task, "component": component}),
        );
    }

    fn write(&self, dir: &Path) {
        let events = dir.join("events");
        std::fs::create_dir_all(&events).unwrap();
        for (name, lines) in &self.files {
            let mut text = lines.join("\n");
            text.push('\n'); // a line without its newline would wait for it
            std::fs::write(events.join(name), text).unwrap();
        }
    }
}

/// The scenario of the issue, evaluated at `AT`:
///
/// - healthy agents `alpha` (3 open tasks), `bravo` (2), `seed-1` (2, written with
///   the seed's field names) and `charlie` (1), all heard from in the last minute;
/// - `dead-1`, last heartbeat 7 min ago, holding `T-D1`: timed out (default 5 min),
///   so `T-D1` goes to `charlie`, the least-loaded healthy agent;
/// - gate `unit_tests` of `auth-api` failed twice (10 and 4 min ago);
/// - a `system_failure` 5 min ago;
/// - a `blocker_detected` on `db-schema`, 7 h old, unresolved;
/// - a `communication_failure` of `bravo` (who keeps heartbeating), 11 min old;
/// - one malformed line, two blank lines, one repeated `event_id`.
fn crisis_fleet(now: DateTime<Utc>) -> Fleet {
    let mut f = Fleet::new(now);

    for t in ["T-A1", "T-A2", "T-A3"] {
        f.assign("alpha", t, None, 1200);
    }
    for t in ["T-B1", "T-B2"] {
        f.assign("bravo", t, None, 1200);
    }
    f.assign("charlie", "T-C1", None, 1200);
    f.assign("dead-1", "T-D1", Some("auth-api"), 1200);

    f.heartbeat("alpha", 10);
    f.heartbeat("bravo", 20);
    f.heartbeat("charlie", 15);
    f.heartbeat("dead-1", 480);
    f.heartbeat("dead-1", 420);

    // The seed's own field names (SPEC 3.3), with a naive timestamp read as UTC.
    let seed_progress = json!({
        "event_type": "progress_update", "event_id": "seed-0001",
        "timestamp": f.naive(60), "agent_id": "seed-1",
        "progress_percentage": 40, "current_task": "T-S1", "component": "ui-shell"});
    f.event("seed-1.jsonl", seed_progress.clone());
    let seed_assign = json!({
        "event_type": "task_assigned", "event_id": "seed-0002",
        "timestamp": f.naive(50), "agent_id": "seed-1", "current_task": "T-S2"});
    f.event("seed-1.jsonl", seed_assign);
    // The same event_id again, in another file: counted once.
    f.raw("zz-replay.jsonl", &seed_progress.to_string());

    let ts = f.ts(900);
    f.event(
        "alpha.jsonl",
        json!({"type": "progress_update", "id": "p-auth", "ts": ts, "agent": "alpha",
               "component": "auth-api", "progress": 70}),
    );
    for (n, secs) in [(1, 600), (2, 240)] {
        let ts = f.ts(secs);
        f.event(
            "ci.jsonl",
            json!({"type": "quality_gate_failure", "id": format!("gate-{n}"), "ts": ts,
                   "component": "auth-api", "gate": "unit_tests",
                   "message": format!("unit tests failed (run {n})")}),
        );
    }
    let ts = f.ts(300);
    f.event(
        "ops.jsonl",
        json!({"type": "system_failure", "id": "sys-1", "ts": ts,
               "message": "database cluster down"}),
    );
    let ts = f.ts(7 * 3600);
    f.event(
        "ops.jsonl",
        json!({"type": "blocker_detected", "id": "blk-1", "ts": ts,
               "component": "db-schema", "message": "waiting on DBA approval"}),
    );
    let ts = f.ts(11 * 60);
    f.event(
        "bravo.jsonl",
        json!({"type": "communication_failure", "id": "comm-1", "ts": ts,
               "agent": "bravo", "message": "message bus unreachable"}),
    );

    // Bad input: one malformed line; blank lines are skipped, not errors.
    f.raw("alpha.jsonl", "");
    f.raw(
        "alpha.jsonl",
        r#"{"type":"progress_update","agent":"alpha""#,
    );
    f.raw("alpha.jsonl", "   ");
    f
}

// ---------------------------------------------------------------------------
// Reading the JSON

fn status_json(dir: &Path, at: Option<&str>) -> (i32, Value) {
    let d = dir.to_str().unwrap();
    let mut args = vec!["status", d, "--json"];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    let out = coord(&args);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json is not JSON ({e}); exit {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            stdout(&out),
            stderr(&out)
        )
    });
    (code(&out), json)
}

fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("missing key {key:?} in {v:#}"))
}

fn find<'a>(list: &'a Value, key: &str, want: &str) -> &'a Value {
    list.as_array()
        .expect("an array")
        .iter()
        .find(|x| x.get(key).and_then(Value::as_str) == Some(want))
        .unwrap_or_else(|| panic!("no element with {key} = {want:?} in {list:#}"))
}

fn agent<'a>(s: &'a Value, id: &str) -> &'a Value {
    find(get(s, "agents"), "id", id)
}

fn task<'a>(s: &'a Value, id: &str) -> &'a Value {
    find(get(s, "tasks"), "id", id)
}

fn component<'a>(s: &'a Value, id: &str) -> &'a Value {
    find(get(s, "components"), "id", id)
}

/// The only alert of a trigger.
fn alert<'a>(s: &'a Value, trigger: &str) -> &'a Value {
    let all: Vec<&Value> = get(s, "alerts")
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["trigger"] == trigger)
        .collect();
    assert_eq!(all.len(), 1, "alerts of {trigger}: {all:#?}");
    all[0]
}

fn time(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

// Shapes of the contract.

#[derive(Clone, Copy, Debug)]
enum Shape {
    Str,
    OptStr,
    Time,
    OptTime,
    Num,
    UInt,
    Bool,
    StrArray,
    Object,
    Array,
}

fn check_shape(v: &Value, key: &str, shape: Shape) {
    let x = get(v, key);
    let ok = match shape {
        Shape::Str => x.is_string(),
        Shape::OptStr => x.is_string() || x.is_null(),
        Shape::Time => x
            .as_str()
            .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok()),
        Shape::OptTime => {
            x.is_null()
                || x.as_str()
                    .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok())
        }
        Shape::Num => x.is_number(),
        Shape::UInt => x.is_u64(),
        Shape::Bool => x.is_boolean(),
        Shape::StrArray => x.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        Shape::Object => x.is_object(),
        Shape::Array => x.is_array(),
    };
    assert!(ok, "{key} should be {shape:?}, is {x}");
}

fn check_shapes(v: &Value, fields: &[(&str, Shape)]) {
    for &(key, shape) in fields {
        check_shape(v, key, shape);
    }
}

/// Every field of the README's `coord status --json` contract, with its type.
fn check_contract(s: &Value) {
    use Shape::*;
    assert!(s.is_object(), "top level is an object");
    check_shapes(
        s,
        &[
            ("epic", OptStr),
            ("phase", Object),
            ("phases_complete", StrArray),
            ("agents", Array),
            ("tasks", Array),
            ("components", Array),
            ("alerts", Array),
            ("counts", Object),
            ("metrics", Object),
        ],
    );
    check_shapes(
        &s["phase"],
        &[
            ("id", Str),
            ("name", Str),
            ("completion", Num),
            ("complete", Bool),
            ("eta", OptTime),
            ("target", OptTime),
        ],
    );
    let completion = s["phase"]["completion"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&completion), "{completion}");
    for a in s["agents"].as_array().unwrap() {
        check_shapes(
            a,
            &[
                ("id", Str),
                ("liveness", Str),
                ("last_seen", OptTime),
                ("open_tasks", StrArray),
            ],
        );
        let liveness = a["liveness"].as_str().unwrap();
        assert!(
            ["healthy", "late", "timed_out", "offline", "standby"].contains(&liveness),
            "{liveness}"
        );
    }
    for t in s["tasks"].as_array().unwrap() {
        check_shapes(
            t,
            &[
                ("id", Str),
                ("agent", OptStr),
                ("component", OptStr),
                ("auto_reassignments", UInt),
            ],
        );
    }
    for c in s["components"].as_array().unwrap() {
        check_shapes(
            c,
            &[
                ("id", Str),
                ("phase", OptStr),
                ("progress", Num),
                ("blocked", Bool),
                ("gates", Object),
            ],
        );
        for (gate, status) in c["gates"].as_object().unwrap() {
            let status = status.as_str().unwrap_or_else(|| panic!("gate {gate}"));
            assert!(
                ["pending", "passed", "failed"].contains(&status),
                "{status}"
            );
        }
    }
    for a in s["alerts"].as_array().unwrap() {
        check_shapes(
            a,
            &[
                ("id", Str),
                ("trigger", Str),
                ("level", Str),
                ("status", Str),
                ("escalation", Str),
                ("agent", OptStr),
                ("component", OptStr),
                ("task", OptStr),
                ("gate", OptStr),
                ("count", UInt),
                ("opened", Time),
                ("sla_breached", Bool),
                ("resolution", OptStr),
                ("history", Array),
            ],
        );
        // Who did what: every step says when, by whom (an operator's name or
        // `coord`), what and why; the alert's opening comes first.
        let history = a["history"].as_array().unwrap();
        assert_eq!(history[0]["what"], "opened", "{a:#}");
        for step in history {
            check_shapes(
                step,
                &[("at", Time), ("by", Str), ("what", Str), ("why", Str)],
            );
        }
        let (level, status, escalation) = (
            a["level"].as_str().unwrap(),
            a["status"].as_str().unwrap(),
            a["escalation"].as_str().unwrap(),
        );
        assert!(["critical", "high", "medium", "low"].contains(&level));
        assert!(["triggered", "acknowledged", "resolved"].contains(&status));
        assert!(["automated", "pm", "human"].contains(&escalation));
    }
    check_shapes(
        &s["counts"],
        &[
            ("events", UInt),
            ("parse_errors", UInt),
            ("alerts_open", UInt),
        ],
    );
}

// ---------------------------------------------------------------------------
// coord status --json

#[test]
fn status_json_shows_the_crisis_fleet() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = crisis_fleet(at());
    fleet.write(tmp.path());

    let (exit, s) = status_json(tmp.path(), Some(AT));
    check_contract(&s);
    assert_eq!(time(&s["at"]), at(), "evaluated as of --at");

    // A Critical alert is open: exit 1.
    assert_eq!(exit, 1, "{s:#}");

    // The dead agent timed out; its task went to the least-loaded healthy agent.
    assert_eq!(agent(&s, "dead-1")["liveness"], "timed_out");
    assert_eq!(time(&agent(&s, "dead-1")["last_seen"]), fleet.time(420));
    assert_eq!(agent(&s, "dead-1")["open_tasks"], json!([]));
    for healthy in ["alpha", "bravo", "charlie", "seed-1"] {
        assert_eq!(agent(&s, healthy)["liveness"], "healthy", "{healthy}");
    }
    assert_eq!(task(&s, "T-D1")["agent"], "charlie");
    assert_eq!(task(&s, "T-D1")["auto_reassignments"], 1);
    assert_eq!(task(&s, "T-D1")["component"], "auth-api");
    assert_eq!(
        agent(&s, "charlie")["open_tasks"],
        json!(["T-C1", "T-D1"]),
        "charlie had 1 task; alpha 3, bravo 2, seed-1 2"
    );
    for other in ["T-A1", "T-B1", "T-C1", "T-S1"] {
        assert_eq!(task(&s, other)["auto_reassignments"], 0, "{other}");
    }
    let timeout = alert(&s, "agent_timeout");
    assert_eq!(timeout["agent"], "dead-1");
    assert_eq!(timeout["level"], "high");
    assert_eq!(timeout["escalation"], "pm");
    assert_eq!(timeout["status"], "triggered");
    assert_eq!(
        time(&timeout["opened"]),
        fleet.time(420) + TimeDelta::minutes(5),
        "dated when the agent timed out"
    );

    // The gate that failed twice: one alert, count 2, human; component blocked.
    let gate = alert(&s, "quality_gate_failure");
    assert_eq!(gate["component"], "auth-api");
    assert_eq!(gate["gate"], "unit_tests");
    assert_eq!(gate["count"], 2);
    assert_eq!(gate["escalation"], "human");
    assert_eq!(gate["level"], "high");
    let auth = component(&s, "auth-api");
    assert_eq!(auth["blocked"], true);
    assert_eq!(auth["gates"], json!({"unit_tests": "failed"}));
    assert_eq!(
        auth["progress"], 70.0,
        "a blocked component keeps its progress"
    );
    assert_eq!(auth["phase"], "phase-1");

    // The system failure: Critical, straight to human.
    let sys = alert(&s, "system_failure");
    assert_eq!(sys["level"], "critical");
    assert_eq!(sys["escalation"], "human");
    assert_eq!(sys["message"], "database cluster down");
    assert_eq!(s["degraded"], true);

    // The 7-hour-old blocker, unresolved: human.
    let blocker = alert(&s, "blocker_detected");
    assert_eq!(blocker["component"], "db-schema");
    assert_eq!(blocker["status"], "triggered");
    assert_eq!(blocker["escalation"], "human");
    assert_eq!(time(&blocker["opened"]), fleet.time(7 * 3600));

    // The 11-minute-old communication failure: human; bravo still healthy.
    let comm = alert(&s, "communication_failure");
    assert_eq!(comm["agent"], "bravo");
    assert_eq!(comm["escalation"], "human");
    assert_eq!(comm["status"], "triggered");

    // Every alert took its automatic response in time: no SLA breach.
    for a in s["alerts"].as_array().unwrap() {
        assert_eq!(a["sla_breached"], false, "{a:#}");
        assert_eq!(a["resolution"], Value::Null, "{a:#}");
    }

    // The seed's aliases: the agent, its tasks, the component's progress, the
    // naive timestamp read as UTC, event_id as the dedup key.
    let seed = agent(&s, "seed-1");
    assert_eq!(seed["open_tasks"], json!(["T-S1", "T-S2"]));
    assert_eq!(time(&seed["last_seen"]), fleet.time(50));
    assert_eq!(task(&s, "T-S1")["agent"], "seed-1");
    assert_eq!(task(&s, "T-S1")["component"], "ui-shell");
    assert_eq!(task(&s, "T-S2")["agent"], "seed-1");
    assert_eq!(component(&s, "ui-shell")["progress"], 40.0);

    // Components discovered from events, in the single phase `phase-1`.
    assert_eq!(s["phase"]["id"], "phase-1");
    assert_eq!(s["phase"]["complete"], false);
    let completion = s["phase"]["completion"].as_f64().unwrap();
    assert!(
        (completion - 36.67).abs() < 0.01,
        "(70 + 40 + 0) / 3, got {completion}"
    );
    assert_eq!(s["epic"], Value::Null, "no plan, no epic");

    // Counts.
    let counts = &s["counts"];
    assert_eq!(
        counts["parse_errors"], 1,
        "one malformed line; blanks skipped"
    );
    assert_eq!(counts["events"], fleet.valid);
    assert_eq!(counts["duplicates"], 1, "the replayed event_id");
    assert_eq!(counts["alerts_open"], 5);
    assert_eq!(s["alerts"].as_array().unwrap().len(), 5);
}

#[test]
fn status_json_defaults_to_now() {
    let tmp = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let mut f = Fleet::new(now);
    f.assign("worker-1", "T-1", None, 600);
    f.assign("worker-2", "T-2", None, 600);
    f.assign("worker-2", "T-3", None, 600);
    f.assign("gone", "T-9", None, 600);
    f.heartbeat("worker-1", 5);
    f.heartbeat("worker-2", 5);
    f.heartbeat("gone", 7 * 60);
    f.write(tmp.path());

    let (exit, s) = status_json(tmp.path(), None);
    check_contract(&s);
    let evaluated = time(&s["at"]);
    assert!(
        evaluated >= now && evaluated - now < TimeDelta::seconds(60),
        "evaluated at {evaluated}, test started {now}"
    );
    assert_eq!(agent(&s, "gone")["liveness"], "timed_out");
    assert_eq!(agent(&s, "worker-1")["liveness"], "healthy");
    assert_eq!(task(&s, "T-9")["agent"], "worker-1");
    assert_eq!(task(&s, "T-9")["auto_reassignments"], 1);
    assert_eq!(alert(&s, "agent_timeout")["agent"], "gone");
    assert_eq!(
        exit, 0,
        "a High alert answered in time is not unhealthy: {s:#}"
    );
}

#[test]
fn status_healthy_directory_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let mut f = Fleet::new(at());
    f.assign("worker-1", "T-1", Some("api"), 600);
    f.heartbeat("worker-1", 10);
    let (a, b, c) = (f.ts(500), f.ts(400), f.ts(300));
    f.event(
        "worker-1.jsonl",
        json!({"type": "progress_update", "id": "p1", "ts": a, "agent": "worker-1",
               "task": "T-1", "component": "api", "progress": 55.5}),
    );
    // A Critical alert that was resolved does not make the directory unhealthy.
    f.event(
        "ops.jsonl",
        json!({"type": "system_failure", "id": "s1", "ts": b, "message": "disk full"}),
    );
    f.event(
        "ops.jsonl",
        json!({"type": "system_recovered", "id": "s2", "ts": c}),
    );
    f.write(tmp.path());

    let (exit, s) = status_json(tmp.path(), Some(AT));
    check_contract(&s);
    assert_eq!(exit, 0, "{s:#}");
    let sys = alert(&s, "system_failure");
    assert_eq!(sys["status"], "resolved");
    assert_eq!(sys["resolution"], "auto");
    assert_eq!(s["counts"]["alerts_open"], 0);
    assert_eq!(s["counts"]["parse_errors"], 0);
    assert_eq!(s["degraded"], false);
    assert_eq!(component(&s, "api")["progress"], 55.5);
    assert_eq!(agent(&s, "worker-1")["liveness"], "healthy");

    // The text form agrees.
    let out = coord(&["status", tmp.path().to_str().unwrap(), "--at", AT]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("HEALTHY"), "{}", stdout(&out));
}

#[test]
fn status_of_a_missing_directory_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-dir");
    let d = missing.to_str().unwrap();
    for args in [vec!["status", d, "--json"], vec!["status", d]] {
        let out = coord(&args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("no-such-dir"), "stderr names the path: {err}");
    }
}

#[test]
fn status_text_lists_the_alerts() {
    let tmp = tempfile::tempdir().unwrap();
    crisis_fleet(at()).write(tmp.path());
    let d = tmp.path().to_str().unwrap();

    let (_, s) = status_json(tmp.path(), Some(AT));
    let out = coord(&["status", d, "--at", AT]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("Alerts:"), "{text}");
    let ids: Vec<&str> = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5);
    for id in ids {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "alert {id} in:\n{text}"
        );
    }
    assert!(text.contains("1 critical"), "{text}");
    assert!(
        text.contains("dead-1"),
        "the timed-out agent is listed: {text}"
    );
    assert!(text.contains("UNHEALTHY"), "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "without --json the output is text"
    );
}

// ---------------------------------------------------------------------------
// coord check

#[test]
fn check_accepts_valid_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let out = coord(&["check", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "empty dir: {}", stdout(&out));

    // The shipped examples are valid.
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    std::fs::copy(
        assets.join("coord.example.json"),
        tmp.path().join("coord.json"),
    )
    .unwrap();
    std::fs::copy(
        assets.join("plan.example.json"),
        tmp.path().join("plan.json"),
    )
    .unwrap();
    let out = coord(&["check", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&out), 0, "examples: {}{}", stdout(&out), stderr(&out));
}

#[test]
fn check_refuses_an_unknown_key_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("coord.json"),
        r#"{"crisis_response_config":{"bogus_key":1}}"#,
    )
    .unwrap();
    let out = coord(&["check", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let all = stdout(&out) + &stderr(&out);
    assert!(all.contains("crisis_response_config.bogus_key"), "{all}");
}

// ---------------------------------------------------------------------------
// The command line itself

#[test]
fn help_lists_every_command() {
    let out = coord(&["--help"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for cmd in [
        "watch", "demo", "publish", "status", "report", "audit", "check",
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(cmd)),
            "{cmd} in:\n{text}"
        );
    }
}

#[test]
fn version_is_printed() {
    let out = coord(&["--version"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out).trim(), "coord 0.1.0");
}

/// `coord demo` itself runs until stopped: tests/demo_cli.rs runs it with --duration.
#[test]
fn demo_help_lists_its_flags() {
    let out = coord(&["demo", "--help"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for flag in [
        "--dir",
        "--agents",
        "--seed",
        "--speed",
        "--headless",
        "--duration",
    ] {
        assert!(text.contains(flag), "{flag} in:\n{text}");
    }
}
