//! Claude Code's command hooks (and Codex's `hooks.json`, which has the same
//! shape): the JSON on the hook's stdin, turned into one coord heartbeat.
//!
//! | hook | status | message |
//! |---|---|---|
//! | SessionStart | starting | session started (source) |
//! | UserPromptSubmit | working | prompt: first words |
//! | PreToolUse, PostToolUse, PostToolUseFailure | working | the tool and what it works on |
//! | SubagentStart, SubagentStop, PreCompact, others | working | what happened |
//! | PermissionRequest | waiting | permission asked: the tool |
//! | Notification asking for permission or input | waiting | its message |
//! | Notification that the agent is idle | idle | its message |
//! | Stop, StopFailure | idle | turn finished: first words of the answer |
//! | SessionEnd | offline | session ended (reason) |
//!
//! Only the fields read here are decoded: a `tool_response`, however large, is
//! skipped, not built.

use super::{agent_id, first_words, heartbeat, status};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields of a hook payload that coord reads. All optional, and a field
/// of an unexpected type reads as absent: a payload from another version
/// still gives a heartbeat.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Payload {
    #[serde(deserialize_with = "text")]
    pub session_id: Option<String>,
    #[serde(deserialize_with = "text")]
    pub cwd: Option<String>,
    #[serde(deserialize_with = "text")]
    pub hook_event_name: Option<String>,
    #[serde(deserialize_with = "text")]
    pub permission_mode: Option<String>,
    #[serde(deserialize_with = "text")]
    pub source: Option<String>,
    #[serde(deserialize_with = "text")]
    pub prompt: Option<String>,
    #[serde(deserialize_with = "text")]
    pub tool_name: Option<String>,
    pub tool_input: Option<Value>,
    #[serde(deserialize_with = "text")]
    pub error: Option<String>,
    #[serde(deserialize_with = "text")]
    pub notification_type: Option<String>,
    #[serde(deserialize_with = "text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "text")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "text")]
    pub trigger: Option<String>,
    #[serde(deserialize_with = "text")]
    pub agent_type: Option<String>,
    #[serde(deserialize_with = "text")]
    pub last_assistant_message: Option<String>,
}

/// A string, or nothing for any other JSON value.
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// Reads a payload; an error names what is wrong with the JSON.
pub fn parse(bytes: &[u8]) -> Result<Payload, String> {
    // serde would read a list as the struct's fields in order.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("the hook's JSON on stdin is not an object".into());
    }
    serde_json::from_slice(bytes).map_err(|e| format!("the hook's JSON on stdin: {e}"))
}

/// A tool and what it works on: `Bash: cargo test`, `Edit: auth.rs`.
fn tool(p: &Payload) -> String {
    let name = p.tool_name.as_deref().unwrap_or("a tool");
    let input = |k: &str| {
        p.tool_input
            .as_ref()
            .and_then(|i| i.get(k))
            .and_then(Value::as_str)
    };
    let file = |f: &str| f.rsplit('/').next().unwrap_or(f).to_string();
    let what = input("command")
        .map(|c| first_words(c, 6))
        .or_else(|| input("file_path").map(file))
        .or_else(|| input("notebook_path").map(file))
        .or_else(|| input("pattern").map(|p| first_words(p, 6)))
        .or_else(|| input("url").map(str::to_string))
        .or_else(|| input("description").map(|d| first_words(d, 6)));
    match what {
        Some(w) if !w.is_empty() => format!("{name}: {w}"),
        _ => name.to_string(),
    }
}

/// Whether a notification asks a person for something (permission or input).
fn asks(p: &Payload) -> Option<bool> {
    match p.notification_type.as_deref() {
        Some(
            "permission_prompt"
            | "elicitation_dialog"
            | "elicitation_url_dialog"
            | "agent_needs_input",
        ) => Some(true),
        Some("idle_prompt" | "agent_completed") => Some(false),
        Some(_) => None,
        // Older versions send no type: the words say it.
        None => {
            let m = p.message.as_deref().unwrap_or("").to_lowercase();
            (m.contains("permission") || m.contains("input")).then_some(true)
        }
    }
}

/// The status word and the message for a payload.
fn activity(p: &Payload) -> (&'static str, String) {
    let hook = p.hook_event_name.as_deref().unwrap_or("");
    let paren = |what: &str, v: &Option<String>| match v.as_deref() {
        Some(v) if !v.is_empty() => format!("{what} ({v})"),
        _ => what.to_string(),
    };
    match hook {
        "SessionStart" => (status::STARTING, paren("session started", &p.source)),
        "UserPromptSubmit" => (
            status::WORKING,
            format!(
                "prompt: {}",
                first_words(p.prompt.as_deref().unwrap_or(""), 8)
            ),
        ),
        "PreToolUse" => (status::WORKING, tool(p)),
        "PostToolUse" => (status::WORKING, format!("{} (done)", tool(p))),
        "PostToolUseFailure" => {
            let why = p.error.as_deref().map(|e| first_words(e, 8));
            let why = why.map_or(String::new(), |w| format!(": {w}"));
            (status::WORKING, format!("{} (failed{why})", tool(p)))
        }
        "PermissionRequest" => (status::WAITING, format!("permission asked: {}", tool(p))),
        "Notification" => {
            let message = p.message.clone().unwrap_or_else(|| "notification".into());
            match asks(p) {
                Some(true) => (status::WAITING, message),
                Some(false) => (status::IDLE, message),
                None => (status::WORKING, message),
            }
        }
        "Stop" | "StopFailure" => {
            let done = if hook == "Stop" {
                "turn finished"
            } else {
                "turn failed"
            };
            match p
                .last_assistant_message
                .as_deref()
                .map(|m| first_words(m, 8))
            {
                Some(m) if !m.is_empty() => (status::IDLE, format!("{done}: {m}")),
                _ => (status::IDLE, done.to_string()),
            }
        }
        "SubagentStart" => (status::WORKING, paren("subagent started", &p.agent_type)),
        "SubagentStop" => (status::WORKING, paren("subagent finished", &p.agent_type)),
        "PreCompact" => (status::WORKING, paren("compacting the context", &p.trigger)),
        "SessionEnd" => (status::OFFLINE, paren("session ended", &p.reason)),
        "" => (status::WORKING, "hook".to_string()),
        other => (status::WORKING, other.to_string()),
    }
}

/// The coord event for a payload. `agent` and `env` are `--agent` and
/// `$COORD_AGENT`.
pub fn event(p: &Payload, agent: Option<&str>, env: Option<&str>) -> Value {
    let id = agent_id(
        agent,
        env,
        p.cwd.as_deref(),
        p.session_id.as_deref(),
        "claude",
    );
    let (status, message) = activity(p);
    let mut data = Map::new();
    data.insert("via".into(), "claude-code".into());
    let fields = [
        ("hook", &p.hook_event_name),
        ("session_id", &p.session_id),
        ("cwd", &p.cwd),
        ("permission_mode", &p.permission_mode),
        ("tool", &p.tool_name),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            data.insert(k.into(), v.as_str().into());
        }
    }
    heartbeat(&id, status, &message, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(payload: Value) -> Value {
        event(&parse(payload.to_string().as_bytes()).unwrap(), None, None)
    }

    fn common(hook: &str) -> Value {
        json!({
            "session_id": "00893aaf-19fa-41d2-8238-13269b9b3ca0",
            "transcript_path": "/home/ann/.claude/projects/x/00893aaf.jsonl",
            "cwd": "/home/ann/src/api",
            "permission_mode": "default",
            "hook_event_name": hook,
        })
    }

    fn with(hook: &str, extra: Value) -> Value {
        let mut v = common(hook);
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn each_hook_says_its_status_and_activity() {
        let cases = [
            (
                with("SessionStart", json!({"source": "startup", "model": "m"})),
                "starting",
                "session started (startup)",
            ),
            (
                with(
                    "UserPromptSubmit",
                    json!({"prompt": "Write a function to calculate the factorial of a number"}),
                ),
                "working",
                "prompt: Write a function to calculate the factorial of …",
            ),
            (
                with(
                    "PreToolUse",
                    json!({"tool_name": "Bash", "tool_input": {"command": "npm test", "timeout": 120000}, "tool_use_id": "toolu_01"}),
                ),
                "working",
                "Bash: npm test",
            ),
            (
                with(
                    "PostToolUse",
                    json!({"tool_name": "Write", "tool_input": {"file_path": "/path/to/file.txt", "content": "x"}, "tool_response": {"success": true}}),
                ),
                "working",
                "Write: file.txt (done)",
            ),
            (
                with(
                    "PostToolUseFailure",
                    json!({"tool_name": "Bash", "tool_input": {"command": "npm test"}, "error": "Command exited with non-zero status code 1", "is_interrupt": false}),
                ),
                "working",
                "Bash: npm test (failed: Command exited with non-zero status code 1)",
            ),
            (
                with(
                    "Notification",
                    json!({"message": "Claude needs your permission to use Bash", "notification_type": "permission_prompt"}),
                ),
                "waiting",
                "Claude needs your permission to use Bash",
            ),
            (
                with(
                    "Notification",
                    json!({"message": "Claude is waiting for your input", "notification_type": "idle_prompt"}),
                ),
                "idle",
                "Claude is waiting for your input",
            ),
            (
                with(
                    "Notification",
                    json!({"message": "Claude needs your permission to use Edit"}),
                ),
                "waiting",
                "Claude needs your permission to use Edit",
            ),
            (
                with(
                    "Notification",
                    json!({"message": "Signed in", "notification_type": "auth_success"}),
                ),
                "working",
                "Signed in",
            ),
            (
                with(
                    "PermissionRequest",
                    json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf build"}}),
                ),
                "waiting",
                "permission asked: Bash: rm -rf build",
            ),
            (
                with(
                    "Stop",
                    json!({"stop_hook_active": false, "last_assistant_message": "I've completed the refactoring."}),
                ),
                "idle",
                "turn finished: I've completed the refactoring.",
            ),
            (
                with(
                    "SubagentStop",
                    json!({"agent_type": "Explore", "agent_id": "def456"}),
                ),
                "working",
                "subagent finished (Explore)",
            ),
            (
                with(
                    "PreCompact",
                    json!({"trigger": "auto", "custom_instructions": ""}),
                ),
                "working",
                "compacting the context (auto)",
            ),
            (
                with("SessionEnd", json!({"reason": "prompt_input_exit"})),
                "offline",
                "session ended (prompt_input_exit)",
            ),
            (with("SomethingNew", json!({})), "working", "SomethingNew"),
        ];
        for (payload, status, message) in cases {
            let e = run(payload.clone());
            assert_eq!(e["type"], "agent_heartbeat");
            assert_eq!(e["agent"], "api-00893aaf", "{payload}");
            assert_eq!(
                (
                    e["status"].as_str().unwrap(),
                    e["message"].as_str().unwrap()
                ),
                (status, message),
                "{payload}"
            );
            assert_eq!(e["data"]["via"], "claude-code");
            assert_eq!(
                e["data"]["session_id"],
                "00893aaf-19fa-41d2-8238-13269b9b3ca0"
            );
        }
    }

    #[test]
    fn the_flag_and_the_environment_name_the_agent() {
        let p = parse(common("Stop").to_string().as_bytes()).unwrap();
        assert_eq!(event(&p, Some("be-1"), Some("env"))["agent"], "be-1");
        assert_eq!(event(&p, None, Some("env"))["agent"], "env");
    }

    #[test]
    fn a_payload_of_another_shape_still_reads_and_garbage_is_named() {
        let e = run(json!({"hook_event_name": "Stop", "tool_input": "not an object?"}));
        assert_eq!(e["agent"], "claude");
        assert!(parse(b"not json").unwrap_err().contains("stdin"));
        assert!(parse(b"[1,2]").is_err());
    }
}
