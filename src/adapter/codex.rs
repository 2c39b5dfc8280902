//! Codex's `notify` program: the payload comes as the last argument,
//! `{"type":"agent-turn-complete","thread-id":…,"turn-id":…,"cwd":…,
//! "input-messages":[…],"last-assistant-message":…}`. A finished turn is a
//! heartbeat that says the agent is idle. (Codex's `hooks.json` has Claude
//! Code's shape: `coord hook claude-code` serves it.)

use super::{agent_id, first_words, heartbeat, status};
use serde_json::{Map, Value};

/// The coord event for a notify payload; an error names what is wrong.
pub fn event(payload: &str, agent: Option<&str>, env: Option<&str>) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(payload).map_err(|e| format!("the notify JSON argument: {e}"))?;
    let Value::Object(map) = v else {
        return Err("the notify JSON argument is not an object".into());
    };
    let text = |k: &str| map.get(k).and_then(Value::as_str);
    let id = agent_id(agent, env, text("cwd"), text("thread-id"), "codex");
    let kind = text("type").unwrap_or("");
    let (status, message) = match kind {
        "agent-turn-complete" => match text("last-assistant-message").map(|m| first_words(m, 8)) {
            Some(m) if !m.is_empty() => (status::IDLE, format!("turn finished: {m}")),
            _ => (status::IDLE, "turn finished".to_string()),
        },
        "agent-turn-start" => (status::WORKING, "turn started".to_string()),
        "" => (status::WORKING, "notify".to_string()),
        other => (status::WORKING, other.to_string()),
    };
    let mut data = Map::new();
    data.insert("via".into(), "codex".into());
    for (k, name) in [
        ("type", "notify"),
        ("thread-id", "thread_id"),
        ("turn-id", "turn_id"),
        ("cwd", "cwd"),
    ] {
        if let Some(v) = text(k) {
            data.insert(name.into(), v.into());
        }
    }
    Ok(heartbeat(&id, status, &message, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_finished_turn_is_an_idle_heartbeat() {
        let payload = json!({"type": "agent-turn-complete",
            "thread-id": "b5f6c1c2-1111-2222-3333-444455556666", "turn-id": "12345",
            "cwd": "/Users/example/project", "client": "codex-tui",
            "input-messages": ["Rename `foo` to `bar` and update the callsites."],
            "last-assistant-message": "Rename complete and verified `cargo build` succeeds."});
        let e = event(&payload.to_string(), None, None).unwrap();
        assert_eq!(e["agent"], "project-b5f6c1c2");
        assert_eq!(e["status"], "idle");
        assert_eq!(
            e["message"],
            "turn finished: Rename complete and verified `cargo build` succeeds."
        );
        assert_eq!(
            e["data"]["thread_id"],
            "b5f6c1c2-1111-2222-3333-444455556666"
        );
        // The answer may be null.
        let mut p = payload.clone();
        p["last-assistant-message"] = Value::Null;
        assert_eq!(
            event(&p.to_string(), None, None).unwrap()["message"],
            "turn finished"
        );
        assert_eq!(
            event(&p.to_string(), Some("cx-1"), None).unwrap()["agent"],
            "cx-1"
        );
    }

    #[test]
    fn garbage_is_named() {
        assert!(event("{", None, None).unwrap_err().contains("notify JSON"));
        assert!(event("[1]", None, None)
            .unwrap_err()
            .contains("not an object"));
    }
}
