//! Agents that do not speak coord's schema (SPEC 17): what their own hooks say,
//! turned into coord events. Pure functions from a payload to events; the
//! commands that read the payloads and publish live in `cli::hook` and `cli::wrap`.

pub mod claude_code;
pub mod codex;

use serde_json::{json, Map, Value};

/// The status words an adapter sets (SPEC 6: `waiting` and `idle` do not age).
pub mod status {
    pub const STARTING: &str = "starting";
    pub const WORKING: &str = "working";
    pub const WAITING: &str = "waiting";
    pub const IDLE: &str = "idle";
    pub const OFFLINE: &str = "offline";
}

/// Longest `message` an adapter writes, in characters.
const MESSAGE_CHARS: usize = 160;

/// The agent's id: `--agent`, else `$COORD_AGENT`, else `<basename of cwd>-<first
/// 8 characters of the session>`, the parts that are there; `fallback` if none.
pub fn agent_id(
    flag: Option<&str>,
    env: Option<&str>,
    cwd: Option<&str>,
    session: Option<&str>,
    fallback: &str,
) -> String {
    if let Some(a) = flag.or(env).map(str::trim).filter(|a| !a.is_empty()) {
        return a.to_string();
    }
    let base = cwd
        .map(|c| c.trim_end_matches('/'))
        .and_then(|c| c.rsplit('/').next())
        .filter(|b| !b.is_empty());
    let short: Option<String> = session
        .map(|s| s.chars().take(8).collect::<String>())
        .filter(|s| !s.is_empty());
    match (base, short) {
        (Some(b), Some(s)) => format!("{b}-{s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("{fallback}-{s}"),
        (None, None) => fallback.to_string(),
    }
}

/// The first `words` words of a text, on one line, with an ellipsis if cut.
pub fn first_words(text: &str, words: usize) -> String {
    let mut it = text.split_whitespace();
    let mut out: Vec<&str> = it.by_ref().take(words).collect();
    let more = it.next().is_some();
    if more {
        out.push("…");
    }
    clip(&out.join(" "))
}

/// A message cut to `MESSAGE_CHARS`, with an ellipsis if cut.
pub fn clip(text: &str) -> String {
    crate::text::clip_words(text, MESSAGE_CHARS)
}

/// A heartbeat with a status word and a message; `data` says where it came from.
pub fn heartbeat(agent: &str, status: &str, message: &str, data: Map<String, Value>) -> Value {
    let mut e = json!({
        "type": "agent_heartbeat",
        "agent": agent,
        "status": status,
        "message": clip(message),
    });
    if !data.is_empty() {
        e["data"] = Value::Object(data);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_id_rule() {
        let id = |f, e, c, s| agent_id(f, e, c, s, "claude");
        assert_eq!(
            id(Some("be-1"), Some("x"), Some("/w/api"), Some("abc")),
            "be-1"
        );
        assert_eq!(
            id(None, Some("env-7"), Some("/w/api"), Some("abc")),
            "env-7"
        );
        assert_eq!(id(Some("  "), None, Some("/w/api"), Some("abc")), "api-abc");
        assert_eq!(
            id(
                None,
                None,
                Some("/home/ann/src/api/"),
                Some("00893aaf-19fa-41d2")
            ),
            "api-00893aaf"
        );
        assert_eq!(
            id(None, None, Some("/"), Some("00893aaf-19fa")),
            "claude-00893aaf"
        );
        assert_eq!(id(None, None, Some("/w/api"), None), "api");
        assert_eq!(id(None, None, None, None), "claude");
    }

    #[test]
    fn first_words_are_on_one_line() {
        assert_eq!(
            first_words("fix  the\nflaky test now", 3),
            "fix the flaky …"
        );
        assert_eq!(first_words("fix it", 3), "fix it");
        assert_eq!(first_words("", 3), "");
    }
}
