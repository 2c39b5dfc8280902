//! `coord report` through the real binary, on a scripted scenario whose metrics are
//! worked out by hand below.
//!
//! The scenario is written as the journal a console would have left: every event
//! with the time it was ingested (so detection times are exact), the operator's
//! actions (acknowledge, escalate, resolve, false alarm) and a tick. The report
//! replays it read-only, as `coord status` does, and is evaluated `--at` a fixed
//! time.

mod cli_support;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use cli_support::*;
use coord::engine::{Action, OperatorAction};
use coord::journal::record::{self, fmt_at, Position};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The scenario starts at T0; the report is evaluated 20 minutes later.
const T0: &str = "2026-11-24T10:00:00Z";
const AT: &str = "2026-11-24T10:20:00Z";

fn t(secs: i64) -> DateTime<Utc> {
    T0.parse::<DateTime<Utc>>().unwrap() + TimeDelta::seconds(secs)
}

fn report(dir: &Path, format: &str) -> String {
    let out = coord(&[
        "report",
        dir.to_str().unwrap(),
        "--format",
        format,
        "--at",
        AT,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn report_json(dir: &Path) -> Value {
    serde_json::from_str(&report(dir, "json")).expect("one JSON object")
}

enum Step {
    /// An event (its `ts` set), ingested at the step's time.
    Event(Value),
    Action(OperatorAction),
    Tick,
}

/// The journal of the scenario, in time order.
struct Script {
    steps: Vec<(DateTime<Utc>, Step)>,
    n: u64,
}

impl Script {
    fn event(&mut self, secs: i64, event: Value) {
        self.event_detected(secs, event, 256);
    }

    fn event_detected(&mut self, secs: i64, mut event: Value, detect_ms: i64) {
        self.n += 1;
        let ts = t(secs);
        event["ts"] = json!(ts.to_rfc3339_opts(SecondsFormat::Millis, true));
        if event.get("id").is_none() {
            event["id"] = json!(format!("e-{}", self.n));
        }
        let at = ts + TimeDelta::milliseconds(detect_ms);
        self.steps.push((at, Step::Event(event)));
    }

    /// The last event again, ingested `secs` later: the same id, counted once.
    fn repeat_last(&mut self, secs: i64) {
        let (at, Step::Event(e)) = &self.steps[self.steps.len() - 1] else {
            panic!("the last step is not an event");
        };
        let again = (*at + TimeDelta::seconds(secs), Step::Event(e.clone()));
        self.steps.push(again);
    }

    fn act(&mut self, secs: i64, action: Action) {
        let op = OperatorAction {
            operator: "alice".into(),
            action,
        };
        self.steps.push((t(secs), Step::Action(op)));
    }

    fn write(mut self, dir: &Path) {
        self.steps.sort_by_key(|(at, _)| *at);
        let mut buf = Vec::new();
        let mut offsets: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (seq, (at, step)) in self.steps.iter().enumerate() {
            let (seq, at) = (seq as u64 + 1, fmt_at(*at));
            match step {
                Step::Event(e) => {
                    let src = format!("events/{}.jsonl", e["agent"].as_str().unwrap_or("ops"));
                    let raw = e.to_string();
                    let (off, line) = offsets.entry(src.clone()).or_default();
                    let p = Position {
                        src: &src,
                        file: &format!("test:{src}"),
                        off: *off,
                        end: *off + raw.len() as u64 + 1,
                        line: *line + 1,
                        entry: None,
                    };
                    record::event(&mut buf, seq, &at, &p, raw.as_bytes());
                    *off = p.end;
                    *line += 1;
                }
                Step::Action(op) => record::action(&mut buf, seq, &at, op, None),
                Step::Tick => record::tick(&mut buf, seq, &at),
            }
        }
        std::fs::create_dir_all(dir.join("journal")).unwrap();
        std::fs::write(
            dir.join("journal")
                .join(coord::journal::writer::segment_name(1)),
            buf,
        )
        .unwrap();
    }
}

/// The plan: two phases; phase 1 holds auth-api (weight 2, gate unit_tests) and
/// docs (weight 1), with two criteria; phase 2 holds ui-shell.
fn plan() -> Value {
    json!({"epic": "Foundation Epic",
           "phases": [
             {"id": "phase-1", "name": "Phase 1", "target": "2026-11-25T10:00:00Z",
              "components": [
                {"id": "auth-api", "weight": 2, "gates": ["unit_tests"], "capabilities": ["rust"]},
                {"id": "docs", "weight": 1}],
              "criteria": {"technical": ["integration tests"], "process": ["code review"]}},
             {"id": "phase-2", "name": "Phase 2", "target": "2026-12-01T00:00:00Z",
              "components": [{"id": "ui-shell", "weight": 1}]}],
           "agents": [{"id": "alpha", "capabilities": ["rust"]},
                      {"id": "bravo", "capabilities": ["rust"]},
                      {"id": "spare-1", "capabilities": ["rust"], "backup": true}]})
}

/// The scenario (seconds after T0). Alerts open in this order:
///
/// | alert | trigger | level | opened | first response | resolved |
/// |---|---|---|---|---|---|
/// | A-1 | system_failure (opens at human) | critical | 0 | 0 (automated) | 120, auto |
/// | A-2 | quality_gate_failure auth-api | high | 60 | 0 (automated) | 360, auto |
/// | A-3 | communication_failure bravo | high | 100 | 0 (automated) | 280, auto |
/// | A-4 | coordination_alert medium | medium | 200 | 260 (ack) | 500, fixed by alice |
/// | A-5 | coordination_alert high | high | 400 | — (escalated to human at 410) | 430, false alarm |
/// | A-6 | blocker_detected | medium | 600 | 0 (automated) | open |
/// | A-7 | coordination_alert critical | critical | 1000 | — | open; SLA (30 s) breached at the tick at 1100, escalated to human |
///
/// The coordination alerts name distinct tasks, so each is its own alert (one
/// dedup key would have merged them). 21 events (one ingested 2048 ms after its ts, the rest 256 ms), one repeated id,
/// one malformed line in `events/bad.jsonl`.
fn scenario(dir: &Path) {
    std::fs::write(dir.join("plan.json"), plan().to_string()).unwrap();
    let mut s = Script {
        steps: Vec::new(),
        n: 0,
    };
    let hb =
        |s: &mut Script, secs| s.event(secs, json!({"type": "agent_heartbeat", "agent": "alpha"}));
    hb(&mut s, 0);
    s.event(
        0,
        json!({"type": "task_assigned", "agent": "alpha", "task": "T-1", "component": "auth-api"}),
    );
    s.event(
        0,
        json!({"type": "system_failure", "message": "database cluster down"}),
    );
    s.event(
        60,
        json!({"type": "quality_gate_failure", "component": "auth-api", "gate": "unit_tests"}),
    );
    s.event(
        100,
        json!({"type": "communication_failure", "agent": "bravo", "message": "bus unreachable"}),
    );
    s.event(120, json!({"type": "system_recovered"}));
    s.event(
        200,
        json!({"type": "coordination_alert", "severity": "medium", "task": "OPS-1",
               "message": "deploy window moved"}),
    );
    hb(&mut s, 240);
    s.act(
        260,
        Action::Acknowledge {
            alert: 4,
            note: Some("on it".into()),
        },
    );
    s.event(
        280,
        json!({"type": "communication_restored", "agent": "bravo"}),
    );
    s.event(
        290,
        json!({"type": "agent_heartbeat", "agent": "bravo", "status": "offline"}),
    );
    let progress = json!({"type": "progress_update", "id": "p-40", "agent": "alpha",
                          "task": "T-1", "component": "auth-api", "progress": 40});
    s.event(300, progress);
    s.repeat_last(1);
    s.event(
        360,
        json!({"type": "quality_gate_passed", "component": "auth-api", "gate": "unit_tests"}),
    );
    s.event(
        400,
        json!({"type": "coordination_alert", "severity": "high", "task": "OPS-2",
               "message": "suspicious traffic"}),
    );
    s.act(410, Action::Escalate { alert: 5 });
    s.act(
        430,
        Action::FalseAlarm {
            alert: 5,
            reason: "scheduled pen test".into(),
        },
    );
    hb(&mut s, 480);
    s.act(
        500,
        Action::Resolve {
            alert: 4,
            note: Some("window confirmed".into()),
        },
    );
    s.event(
        600,
        json!({"type": "blocker_detected", "message": "waiting on DBA approval"}),
    );
    s.event(
        700,
        json!({"type": "criterion_met", "criterion": "code review"}),
    );
    hb(&mut s, 720);
    s.event(
        900,
        json!({"type": "progress_update", "agent": "alpha", "task": "T-1",
               "component": "auth-api", "progress": 60}),
    );
    hb(&mut s, 960);
    s.event_detected(
        1000,
        json!({"type": "coordination_alert", "severity": "critical", "task": "OPS-3",
               "message": "budget approval needed"}),
        2048,
    );
    s.steps.push((t(1100), Step::Tick));
    hb(&mut s, 1140);
    assert_eq!(s.n, 21);
    s.write(dir);

    std::fs::create_dir_all(dir.join("events")).unwrap();
    std::fs::write(
        dir.join("events/bad.jsonl"),
        "{\"type\":\"progress_update\",\n",
    )
    .unwrap();
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(v: &Value, want: f64) {
    assert!((num(v) - want).abs() < 1e-6, "{v} != {want}");
}

/// Quantiles come from a histogram, interpolated within a bucket about 6 %
/// wide: within that of the truth.
fn quantile(v: &Value, want: f64) {
    let got = num(v);
    assert!((got - want).abs() <= want * 0.0625, "{got} vs {want}");
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn report_json_has_the_figures_worked_out_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    scenario(tmp.path());
    let r = report_json(tmp.path());
    assert_eq!(time(&r["at"]), t(1200));

    // Epic: (2·60 + 1·0 + 1·0) / 4; phase 1: (2·60 + 0) / 3.
    let epic = &r["epic"];
    assert_eq!(epic["name"], "Foundation Epic");
    close(&epic["completion"], 30.0);
    assert_eq!(
        (&epic["phases_total"], &epic["phases_complete"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(epic["current_phase"], "phase-1");
    let p1 = &r["phases"][0];
    assert_eq!(
        (p1["current"].as_bool(), p1["complete"].as_bool()),
        (Some(true), Some(false))
    );
    close(&p1["completion"], 40.0);
    // Samples (300 s, 26.67 %), (900 s, 40 %) and the present (1200 s, 40 %):
    // mean (800 s, 35.56 %), slope 6666.7 / 420000 = 0.015873 % a second, so
    // 95 % at 800 + 59.44 / 0.015873 = 4545 s.
    let eta = time(&p1["eta"]);
    assert!((eta - t(4545)).num_milliseconds().abs() <= 1000, "{eta}");
    assert_eq!(p1["target"], "2026-11-25T10:00:00Z");
    assert_eq!(p1["outlook"], "on_track");
    assert_eq!(
        (p1["criteria_met"].as_u64(), p1["criteria_total"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(p1["components"], json!(["auth-api", "docs"]));
    let p2 = &r["phases"][1];
    assert_eq!(p2["current"], false);
    assert_eq!(p2["eta"], Value::Null);
    // No ETA (no progress yet) and its target not passed: not "at risk".
    assert_eq!(p2["outlook"], "unknown");

    let auth = &r["components"][0];
    assert_eq!(auth["id"], "auth-api");
    close(&auth["progress"], 60.0);
    assert_eq!(auth["gates"], json!({"unit_tests": "passed"}));
    assert_eq!(r["components"].as_array().unwrap().len(), 3);

    // Open crises: A-6 (medium blocker) and A-7 (critical, breached, with a human).
    let c = &r["crises"];
    assert_eq!(c["open"], 2);
    assert_eq!(
        c["by_level"],
        json!({"critical": 1, "high": 0, "medium": 1, "low": 0})
    );
    assert_eq!(c["sla_breached"], 1);
    assert_eq!(c["escalated_to_human"], 1);
    assert_eq!(c["degraded"], false);
    let open: Vec<&str> = c["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["A-7", "A-6"], "worst level first");

    // SLA: only A-7 missed its window.
    let sla = &r["sla"];
    assert_eq!(
        (
            &sla["alerts"],
            &sla["met"],
            &sla["breached"],
            &sla["pending"]
        ),
        (&json!(7), &json!(6), &json!(1), &json!(0))
    );
    close(&sla["compliance"], 6.0 / 7.0);
    close(&sla["by_level"]["critical"]["compliance"], 0.5);
    close(&sla["by_level"]["high"]["compliance"], 1.0);
    assert_eq!(sla["by_level"]["medium"]["alerts"], 2);
    assert_eq!(sla["by_level"]["low"]["compliance"], Value::Null);

    let f = &r["fleet"];
    assert_eq!(
        [
            &f["agents"],
            &f["healthy"],
            &f["offline"],
            &f["standby"],
            &f["timed_out"]
        ],
        [&json!(3), &json!(1), &json!(1), &json!(1), &json!(0)]
    );
    assert_eq!(
        (&f["tasks_open"], &f["tasks_total"]),
        (&json!(1), &json!(1))
    );

    // SPEC 12.
    let m = &r["metrics"];
    // Detection: 20 events at 256 ms, one at 2048 ms.
    let d = &m["detection_time"];
    assert_eq!(d["count"], 21);
    close(&d["mean_s"], (20.0 * 0.256 + 2.048) / 21.0);
    quantile(&d["p50_s"], 0.256);
    close(&d["p99_s"], 2.048); // the largest sample, exactly
                               // Response: at once, A-4 after 60 s; never.
    let resp = &m["response_initiation_time"];
    assert_eq!(resp["count"], 5);
    close(&resp["mean_s"], 12.0);
    close(&resp["p50_s"], 0.0);
    quantile(&resp["p99_s"], 60.0);
    // Resolution: 120, 300, 180, 300, 30 s.
    let res = &m["resolution_time"];
    assert_eq!(res["all"]["count"], 5);
    close(&res["all"]["mean_s"], 186.0);
    close(&res["critical"]["mean_s"], 120.0);
    close(&res["high"]["mean_s"], (300.0 + 180.0 + 30.0) / 3.0);
    close(&res["medium"]["mean_s"], 300.0);
    assert_eq!(res["low"]["count"], 0);
    assert_eq!(res["low"]["mean_s"], Value::Null);
    // resolved on their own; by alice.
    close(&m["automated_resolution_rate"], 3.0 / 5.0);
    // Reached human: A-1, A-5 (a false alarm), A-7.
    close(&m["escalation_accuracy"], 2.0 / 3.0);
    close(&m["false_alert_rate"], 1.0 / 7.0);
    assert_eq!(m["coordination_restoration"]["count"], 1);
    close(&m["coordination_restoration"]["mean_s"], 180.0);
    assert_eq!(
        m["data_integrity"],
        json!({"events": 21, "duplicates": 1, "parse_errors": 1, "derived": 0})
    );

    let score: BTreeMap<&str, &str> = r["scorecard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["metric"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        score,
        BTreeMap::from([
            ("detection_time", "missed"),
            ("response_initiation_time", "missed"),
            ("resolution_time", "met"),
            ("automated_resolution_rate", "missed"),
            ("escalation_accuracy", "missed"),
            ("false_alert_rate", "missed"),
            ("coordination_restoration", "met"),
            ("data_integrity", "missed"),
        ])
    );

    // The timeline: every alert in opening order, with its response and resolution.
    let tl = r["timeline"].as_array().unwrap();
    let row = |a: &Value| {
        (
            a["alert"].as_str().unwrap().to_string(),
            a["trigger"].as_str().unwrap().to_string(),
            a["level"].as_str().unwrap().to_string(),
            a["response_s"].as_f64(),
            a["resolution_s"].as_f64(),
            a["resolution"].as_str().map(str::to_string),
            a["reached_human"].as_bool().unwrap(),
        )
    };
    let got: Vec<_> = tl.iter().map(row).collect();
    let s = |x: &str| x.to_string();
    let want = vec![
        (
            s("A-1"),
            s("system_failure"),
            s("critical"),
            Some(0.0),
            Some(120.0),
            Some(s("auto")),
            true,
        ),
        (
            s("A-2"),
            s("quality_gate_failure"),
            s("high"),
            Some(0.0),
            Some(300.0),
            Some(s("auto")),
            false,
        ),
        (
            s("A-3"),
            s("communication_failure"),
            s("high"),
            Some(0.0),
            Some(180.0),
            Some(s("auto")),
            false,
        ),
        (
            s("A-4"),
            s("coordination_alert"),
            s("medium"),
            Some(60.0),
            Some(300.0),
            Some(s("fixed")),
            false,
        ),
        (
            s("A-5"),
            s("coordination_alert"),
            s("high"),
            None,
            Some(30.0),
            Some(s("false_alarm")),
            true,
        ),
        (
            s("A-6"),
            s("blocker_detected"),
            s("medium"),
            Some(0.0),
            None,
            None,
            false,
        ),
        (
            s("A-7"),
            s("coordination_alert"),
            s("critical"),
            None,
            None,
            None,
            true,
        ),
    ];
    assert_eq!(got, want);
    assert_eq!(time(&tl[0]["opened"]), t(0));
    assert_eq!(time(&tl[6]["opened"]), t(1000));
    assert_eq!(tl[6]["sla_breached"], true);
    assert_eq!(tl[6]["escalation"], "human");
}

#[test]
fn report_markdown_tells_the_same_figures() {
    let tmp = tempfile::tempdir().unwrap();
    scenario(tmp.path());
    let md = report(tmp.path(), "md");
    for line in [
        "# Stakeholder report — Foundation Epic",
        "- **Epic**: 30.0 % complete; 0 of 2 phases complete; current phase Phase 1 at 40.0 %, on track",
        "- **Open crises**: 2 (1 critical, 0 high, 1 medium, 0 low); 1 past the response deadline; 1 with a human",
        "- **SLA compliance**: 85.7 % (6 of 7 decided alerts answered in time; 1 breached, 0 pending)",
        "- **Targets**: 2 of 8 measured metrics meet the seed's targets",
        "| Phase 1 (phase-1) | current | 40.0 % | ",
        "| auth-api | phase-1 | 2 | 60.0 % | unit_tests passed |",
        "| Critical | 2 | ",
        " | 1 | 1 | 0 | 50.0 % |",
        " | 6 | 1 | 0 | 85.7 % |",
        "| Resolution Time | mean 3 min 6 s · p50 ",
        "| Automated Resolution Rate | 60.0 % | > 80 % | **missed** |",
        "| Escalation Accuracy | 66.7 % | > 95 % | **missed** |",
        "| False Alert Rate | 14.3 % | < 5 % | **missed** |",
        "| Coordination Restoration | 3 min (n = 1) | < 5 min (mean) | met |",
        "| Data Integrity | 21 events, 1 duplicate (counted once), 1 parse error, 0 derived |",
        "| 2026-11-24 10:00:00 | A-1 | Critical | system_failure | - | immediately | after 2 min (auto) | human |",
        "| 2026-11-24 10:03:20 | A-4 | Medium | coordination_alert | task OPS-1 | after 1 min | after 5 min (fixed) | pm |",
        "| 2026-11-24 10:06:40 | A-5 | High | coordination_alert | task OPS-2 | - | after 30.0 s (false alarm) | human |",
        "| 2026-11-24 10:16:40 | A-7 | Critical | coordination_alert | task OPS-3 | -, **SLA breached** | open, triggered | human |",
    ] {
        assert!(md.contains(line), "{line:?} in:\n{md}");
    }
    // The open crises table, worst first.
    let a7 = md.find("| A-7 | Critical |").expect("A-7 listed open");
    let a6 = md.find("| A-6 | Medium |").expect("A-6 listed open");
    assert!(a7 < a6);
    // The version would churn the snapshot on every release.
    let md = md.replace(
        &format!("coord {}", env!("CARGO_PKG_VERSION")),
        "coord [version]",
    );
    insta::assert_snapshot!("report_scenario_md", md);
}

#[test]
fn an_empty_directory_gives_a_sensible_report() {
    let tmp = tempfile::tempdir().unwrap();
    let md = report(tmp.path(), "md");
    for line in [
        "# Stakeholder report\n",
        "current phase Phase 1 at 0.0 %",
        "- **Open crises**: 0 (0 critical, 0 high, 0 medium, 0 low)\n",
        "- **SLA compliance**: no alerts yet",
        "- **Targets**: nothing measured yet",
        "No components yet.",
        "## Open crises\n\nNone.",
        "No alerts.",
    ] {
        assert!(md.contains(line), "{line:?} in:\n{md}");
    }
    let r = report_json(tmp.path());
    assert_eq!(r["epic"]["completion"], 0.0);
    assert_eq!(r["crises"]["open"], 0);
    assert_eq!(r["sla"]["compliance"], Value::Null);
    assert_eq!(r["timeline"], json!([]));
    assert!(r["scorecard"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "no_data"));
    // Read-only: nothing was created.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn untrusted_text_cannot_break_the_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("events")).unwrap();
    let ts = t(0).to_rfc3339();
    let line = json!({"type": "quality_gate_failure", "id": "g", "ts": ts,
                      "component": "api|x\u{1b}[2J", "gate": "unit\ntests"});
    std::fs::write(tmp.path().join("events/ci.jsonl"), format!("{line}\n")).unwrap();
    let md = report(tmp.path(), "md");
    assert!(!md.contains('\u{1b}'), "no ESC reaches the terminal");
    assert!(md.contains("api\\|x\\x1b[2J"), "{md}");
    assert!(md.contains("unit\\x0atests"), "{md}");
    for l in md.lines().filter(|l| l.starts_with('|')) {
        // Every row of a table has as many unescaped pipes as its header.
        let cells = l.replace("\\|", "").matches('|').count();
        assert!(cells >= 3, "{l}");
    }
}

#[test]
fn report_errors_and_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let out = coord(&["report", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
    let out = coord(&["report", tmp.path().to_str().unwrap(), "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(2));
    // Markdown is the default.
    let out = coord(&["report", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# Stakeholder report"));
}

/// The HTML page says what the JSON and the Markdown say: the sentences under
/// its charts, on the scripted scenario.
#[test]
fn report_html_tells_the_same_figures() {
    let tmp = tempfile::tempdir().unwrap();
    scenario(tmp.path());
    let html = report(tmp.path(), "html");
    for sentence in [
        "Phase 1 (phase-1) is 40 % complete as of 2026-11-24 10:20 UTC; at its current pace it \
         is done 2026-11-24 11:15 UTC; target 2026-11-25 10:00 UTC (on track).",
        "7 alerts opened (2 critical, 3 high, 2 medium, 0 low)",
        "Deadlines kept: critical 1 of 2 (50 %); high 3 of 3 (100 %); medium 2 of 2 (100 %); \
         low none decided.",
        "<td>A-7</td><td>Critical</td>",
        "<span class=\"bad\">85.7 %</span>",
    ] {
        assert!(html.contains(sentence), "{sentence:?} in:\n{html}");
    }
}

/// `--format html --at T` in the past draws the past: the charts end at T.
#[test]
fn report_html_at_a_past_time_draws_the_past() {
    let tmp = tempfile::tempdir().unwrap();
    scenario(tmp.path());
    let out = coord(&[
        "report",
        tmp.path().to_str().unwrap(),
        "--format",
        "html",
        "--at",
        "2026-11-24T10:10:00Z",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let html = stdout(&out);
    for sentence in [
        "Phase 1 (phase-1) is 27 % complete as of 2026-11-24 10:10 UTC",
        "the past: as the console had it then",
    ] {
        assert!(html.contains(sentence), "{sentence:?} in:\n{html}");
    }
    let json = report_json(tmp.path());
    let opened_by_then = json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["opened"].as_str().unwrap() <= "2026-11-24T10:10:00")
        .count();
    assert!(
        html.contains(&format!("{opened_by_then} alerts opened")),
        "{opened_by_then} alerts by then in:\n{html}"
    );
}
