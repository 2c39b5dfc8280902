//! `coord publish` through the real binary, and `coord::publish` from Rust: parallel
//! publishers never tear or interleave lines, every refusal is the parser's, and
//! nothing is written when an event is refused.

mod cli_support;

use cli_support::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

fn status_json(dir: &Path) -> Value {
    let out = coord(&["status", dir.to_str().unwrap(), "--json"]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json: {e}\n{}", stderr(&out)))
}

/// Every line of every file in `events/`, parsed as JSON.
fn lines(dir: &Path) -> Vec<Value> {
    let mut all = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("events")) else {
        return all;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{path:?} ends mid-line"
        );
        for (n, line) in text.lines().enumerate() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{path:?} line {}: {e}: {line}", n + 1));
            all.push(v);
        }
    }
    all
}

fn nothing_written(dir: &Path) {
    assert!(lines(dir).is_empty(), "no event was written");
}

#[test]
fn eight_parallel_publishers_of_300_events_give_exactly_2400() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    // Four loops share one agent's file, four have their own; every line carries a
    // 3 KB field so a torn or interleaved write could not go unnoticed.
    let blob = "x".repeat(3000);
    let loops: Vec<_> = (0..8)
        .map(|w| {
            let agent = if w < 4 {
                "shared".to_string()
            } else {
                format!("w{w}")
            };
            let script = format!(
                r#"i=0; while [ $i -lt 300 ]; do
                     "$COORD" publish "$DIR" --type progress_update --agent {agent} \
                       --component c{w} --progress $((i % 101)) --field seq=$i \
                       --field writer={w} --field blob={blob} >/dev/null || exit 1
                     i=$((i + 1))
                   done"#
            );
            Command::new("sh")
                .args(["-c", &script])
                .env("COORD", COORD)
                .env("DIR", dir)
                .stdout(Stdio::null())
                .spawn()
                .expect("start a publisher loop")
        })
        .collect();
    for mut child in loops {
        assert!(child.wait().unwrap().success(), "a publisher failed");
    }

    let all = lines(tmp.path());
    assert_eq!(all.len(), 2400, "every line is whole and valid JSON");
    let ids: HashSet<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2400, "ids are unique across processes");
    for w in 0..8 {
        let seqs: HashSet<u64> = all
            .iter()
            .filter(|v| v["writer"] == w)
            .map(|v| v["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs.len(), 300, "writer {w}");
    }
    assert!(all
        .iter()
        .all(|v| v["blob"].as_str() == Some(blob.as_str())));

    let s = status_json(tmp.path());
    assert_eq!(s["counts"]["events"], 2400, "{:#}", s["counts"]);
    assert_eq!(s["counts"]["parse_errors"], 0);
    assert_eq!(s["counts"]["duplicates"], 0);
}

#[test]
fn out_of_range_progress_is_refused_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    for args in [
        vec![
            "publish",
            d,
            "--type",
            "progress_update",
            "--field",
            "progress=250",
        ],
        vec![
            "publish",
            d,
            "--type",
            "progress_update",
            "--progress",
            "250",
        ],
        vec![
            "publish",
            d,
            "--type",
            "progress_update",
            "--progress",
            "-1",
        ],
    ] {
        let out = coord(&args);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr(&out).contains("is out of range 0–100"),
            "{}",
            stderr(&out)
        );
    }
    let out = coord(&[
        "publish",
        d,
        "--type",
        "progress_update",
        "--progress",
        "half",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("progress must be a number, found a string"),
        "{}",
        stderr(&out)
    );
    nothing_written(tmp.path());
}

#[test]
fn json_events_follow_the_parsers_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    for (json, reason) in [
        (r#"{"type":"x""#, "not valid JSON"),
        ("not json", "not valid JSON"),
        ("[1,2]", "not a JSON object (found an array)"),
        ("42", "not a JSON object (found a number)"),
        (r#"{"agent":"a"}"#, "no \"type\" field"),
        (r#"{"type":"a b"}"#, "is not a name"),
        (
            r#"{"type":"x","ts":"yesterday"}"#,
            "is not an RFC 3339 time",
        ),
        (r#"{"type":"x","severity":"urgent"}"#, "severity \"urgent\""),
        (r#"{"type":"x","id":""}"#, "id is empty"),
    ] {
        let out = coord(&["publish", d, "--json", json]);
        assert_eq!(code(&out), 1, "{json}: {}", stderr(&out));
        assert!(stderr(&out).contains(reason), "{json}: {}", stderr(&out));
    }
    nothing_written(tmp.path());

    // An unknown type is an event (category other); a given id and ts are kept.
    let out = coord(&[
        "publish",
        d,
        "--json",
        r#"{"type":"deploy_started","id":"dep-1","ts":"2026-11-24T12:00:00Z","agent":"ci"}"#,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "dep-1");
    let text = std::fs::read_to_string(tmp.path().join("events/ci.jsonl")).unwrap();
    let v: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(
        v,
        json!({"type":"deploy_started","id":"dep-1","ts":"2026-11-24T12:00:00Z","agent":"ci"})
    );

    // `--json` excludes the field flags.
    let out = coord(&["publish", d, "--json", r#"{"type":"x"}"#, "--agent", "a"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn json_from_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(COORD)
        .args(["publish", tmp.path().to_str().unwrap(), "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"type\":\"agent_heartbeat\",\"agent\":\"be-1\"}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0);
    let all = lines(tmp.path());
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["id"].as_str(), Some(stdout(&out).trim()));
}

/// `coord publish DIR --json -` with `input` on stdin.
fn publish_stdin(dir: &Path, input: &[u8]) -> std::process::Output {
    let mut child = Command::new(COORD)
        .args(["publish", dir.to_str().unwrap(), "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn json_lines_from_stdin_are_all_published_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = b"{\"type\":\"agent_heartbeat\",\"agent\":\"a\"}\n{\"type\":\"progress_update\",\"progress\":250}\n";
    let out = publish_stdin(tmp.path(), bad);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("event 2"), "{}", stderr(&out));
    nothing_written(tmp.path());
    let good = b"{\"type\":\"agent_heartbeat\",\"agent\":\"a\"}\n{\"type\":\"task_assigned\",\"agent\":\"b\",\"task\":\"T\",\"id\":\"t1\"}\n{\n \"type\": \"agent_heartbeat\",\n \"agent\": \"a\"\n}\n";
    let out = publish_stdin(tmp.path(), good);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], "t1");
    let all = lines(tmp.path());
    assert_eq!(all.len(), 3);
    let mut written: Vec<String> = all
        .iter()
        .map(|v| v["id"].as_str().unwrap().into())
        .collect();
    written.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(written, want);
}

#[test]
fn fields_flags_and_filled_id_and_ts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let before = chrono::Utc::now();
    let out = coord(&[
        "publish",
        d,
        "--type",
        "quality_gate_failure",
        "--agent",
        "ci-1",
        "--component",
        "auth-api",
        "--gate",
        "unit_tests",
        "--message",
        "3 tests failed",
        "--field",
        "failed=3",
        "--field",
        "flaky=true",
        "--field",
        r#"detail={"suite":"auth"}"#,
        "--field",
        "note=tests | red",
        "--field",
        r#"build="1042""#,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    assert!(id.starts_with("ci-1-"), "{id}");
    let all = lines(tmp.path());
    assert_eq!(all.len(), 1);
    let v = &all[0];
    assert_eq!(v["id"], id.as_str());
    let ts = chrono::DateTime::parse_from_rfc3339(v["ts"].as_str().unwrap()).unwrap();
    assert!(ts >= before - chrono::TimeDelta::seconds(1) && ts <= chrono::Utc::now());
    assert_eq!(v["type"], "quality_gate_failure");
    assert_eq!(v["gate"], "unit_tests");
    assert_eq!(v["failed"], 3);
    assert_eq!(v["flaky"], true);
    assert_eq!(v["detail"], json!({"suite": "auth"}));
    assert_eq!(v["note"], "tests | red");
    assert_eq!(v["build"], "1042");
    assert!(tmp.path().join("events/ci-1.jsonl").is_file());

    // Ingestion reads it as the alert it is.
    let s = status_json(tmp.path());
    let alert = &s["alerts"][0];
    assert_eq!(alert["trigger"], "quality_gate_failure");
    assert_eq!(alert["component"], "auth-api");

    // Without an agent the file is publish.jsonl.
    let out = coord(&["publish", d, "--type", "system_recovered"]);
    assert_eq!(code(&out), 0);
    assert!(tmp.path().join("events/publish.jsonl").is_file());
}

#[test]
fn a_bad_agent_name_never_leaves_events() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("coord");
    std::fs::create_dir(&root).unwrap();
    let d = root.to_str().unwrap();
    for agent in ["../../escape", "..", ".hidden", "a/b", "evil\x1b[2J", ""] {
        let out = coord(&["publish", d, "--type", "agent_heartbeat", "--agent", agent]);
        assert_eq!(code(&out), 0, "{agent:?}: {}", stderr(&out));
    }
    // Only files directly in events/, none hidden, none with `..`.
    let names: Vec<String> = std::fs::read_dir(root.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for n in &names {
        assert!(
            n.ends_with(".jsonl") && !n.starts_with('.') && !n.contains(".."),
            "{n}"
        );
        assert!(n.chars().all(|c| c.is_ascii_graphic()), "{n:?}");
    }
    let mut outside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    outside.sort();
    assert_eq!(outside, ["coord"], "nothing written outside the directory");
    // The events keep the real names (an empty name names no agent).
    let s = status_json(&root);
    assert_eq!(s["counts"]["events"], 6);
    let agents: HashSet<&str> = s["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for agent in ["../../escape", "..", ".hidden", "a/b", "evil\x1b[2J"] {
        assert!(agents.contains(agent), "{agent:?} in {agents:?}");
    }
}

#[test]
fn a_symlinked_event_file_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("coord");
    std::fs::create_dir_all(root.join("events")).unwrap();
    let target = tmp.path().join("outside.jsonl");
    std::fs::write(&target, "").unwrap();
    std::os::unix::fs::symlink(&target, root.join("events/be-1.jsonl")).unwrap();
    let out = coord(&[
        "publish",
        root.to_str().unwrap(),
        "--type",
        "agent_heartbeat",
        "--agent",
        "be-1",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
}

#[test]
fn a_line_over_max_line_bytes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    std::fs::write(
        tmp.path().join("coord.json"),
        r#"{"ingest":{"max_line_bytes":1024}}"#,
    )
    .unwrap();
    let field = format!("blob={}", "y".repeat(1100));
    let out = coord(&["publish", d, "--type", "x", "--field", &field]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("is over max_line_bytes (1024)"),
        "{}",
        stderr(&out)
    );
    nothing_written(tmp.path());
    // Just under the limit is fine.
    let field = format!("blob={}", "y".repeat(800));
    let out = coord(&["publish", d, "--type", "x", "--field", &field]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // A broken coord.json is an error, not a refusal.
    std::fs::write(tmp.path().join("coord.json"), r#"{"bogus":1}"#).unwrap();
    let out = coord(&["publish", d, "--type", "x"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bogus"), "{}", stderr(&out));
}

#[test]
fn a_missing_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let out = coord(&["publish", missing.to_str().unwrap(), "--type", "x"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    assert!(!missing.exists());
    // --type (or --json) is required.
    let out = coord(&["publish", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
}

#[test]
fn the_library_call() {
    use coord::publish::{publish, publish_str, PublishError};
    let tmp = tempfile::tempdir().unwrap();
    let p = publish(
        tmp.path(),
        &json!({"type": "progress_update", "agent": "rust-agent", "component": "core",
                "progress": 12.5}),
    )
    .unwrap();
    assert_eq!(p.path, tmp.path().join("events/rust-agent.jsonl"));
    assert!(p.id.starts_with("rust-agent-"));
    let written = std::fs::read_to_string(&p.path).unwrap();
    assert_eq!(written, format!("{}\n", p.line));
    let v: Value = serde_json::from_str(&p.line).unwrap();
    assert_eq!(v["id"], p.id.as_str());
    assert_eq!(v["progress"], 12.5);

    // Many calls in one process: ids stay unique.
    let ids: HashSet<String> = (0..100)
        .map(|_| {
            publish(
                tmp.path(),
                &json!({"type": "agent_heartbeat", "agent": "rust-agent"}),
            )
            .unwrap()
            .id
        })
        .collect();
    assert_eq!(ids.len(), 100);

    let err = publish(
        tmp.path(),
        &json!({"type": "progress_update", "progress": 250}),
    )
    .unwrap_err();
    assert!(matches!(&err, PublishError::Invalid(r) if r.contains("out of range")));
    assert_eq!(err.exit_code(), 1);
    let err = publish_str(tmp.path(), "{\"type\":").unwrap_err();
    assert!(matches!(&err, PublishError::Invalid(r) if r.starts_with("not valid JSON")));
    let err = publish(&tmp.path().join("nope"), &json!({"type": "x"})).unwrap_err();
    assert!(matches!(err, PublishError::NoDirectory(_)));
    assert_eq!(err.exit_code(), 2);

    assert_eq!(lines(tmp.path()).len(), 101);
    let s = status_json(tmp.path());
    assert_eq!(s["counts"]["events"], 101);
    assert_eq!(s["counts"]["parse_errors"], 0);
}
