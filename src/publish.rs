//! Publishing one event into a coordination directory: the one safe way for agents
//! and scripts to write (`coord publish`, and this library call for Rust agents).
//!
//! The event is validated by the ingestion parser itself, on the exact bytes that
//! will be written, so what publish accepts ingestion accepts. The line goes out in
//! one `write` on a file opened with `O_APPEND`: parallel publishers never
//! interleave or tear each other's lines. This module never reads events back.

use crate::config::{load_config, ConfigError};
use crate::model::event::{parse_value, Origin, ParseOptions};
use crate::model::parse::parse_line;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The file stem used when the event names no agent.
pub const DEFAULT_STEM: &str = "publish";

/// Longest file stem derived from an agent name (file names stop at 255 bytes).
const MAX_STEM: usize = 100;

/// What was written, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedEvent {
    /// The event's id (filled in when the event had none).
    pub id: String,
    /// The event's time (now, when the event had none).
    pub ts: DateTime<Utc>,
    /// The file the line was appended to.
    pub path: PathBuf,
    /// The line as written, without its newline.
    pub line: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The event would not ingest: the parser's reason (or the line is too long).
    #[error("invalid event: {0}")]
    Invalid(String),
    #[error("{} is not a directory", .0.display())]
    NoDirectory(PathBuf),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The stream could not be reached or refused the entries.
    #[error("{0}")]
    Stream(String),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PublishError {
    /// `coord publish`'s exit code: 1 for an event that was refused, 2 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            PublishError::Invalid(_) => 1,
            _ => 2,
        }
    }
}

/// Validates `event`, fills `id` and `ts` when missing, and appends it to
/// `DIR/events/<agent>.jsonl` (`publish.jsonl` without an agent).
pub fn publish(dir: &Path, event: &Value) -> Result<PublishedEvent, PublishError> {
    publish_at(dir, event, Utc::now())
}

/// `publish` with the text of an event: invalid JSON, a non-object or a missing
/// type is refused with the parser's own words.
pub fn publish_str(dir: &Path, text: &str) -> Result<PublishedEvent, PublishError> {
    let now = Utc::now();
    check_str(text)?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| PublishError::Invalid(format!("{e}")))?;
    publish_at(dir, &value, now)
}

/// Refuses a text that would not ingest, in the parser's own words.
pub fn check_str(text: &str) -> Result<(), PublishError> {
    parse_line(
        text.as_bytes(),
        &origin(),
        Utc::now(),
        &ParseOptions::default(),
    )
    .map(|_| ())
    .map_err(|e| PublishError::Invalid(e.reason))
}

/// `publish` at a given time (for tests and simulations with their own clock).
pub fn publish_at(
    dir: &Path,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<PublishedEvent, PublishError> {
    let mut one = publish_all_at(dir, std::slice::from_ref(event), now)?;
    Ok(one.remove(0))
}

/// Publishes several events: every one is checked before any is written, then
/// each is appended with a `write` of its own, in order.
pub fn publish_many(dir: &Path, events: &[Value]) -> Result<Vec<PublishedEvent>, PublishError> {
    publish_all_at(dir, events, Utc::now())
}

fn publish_all_at(
    dir: &Path,
    events: &[Value],
    now: DateTime<Utc>,
) -> Result<Vec<PublishedEvent>, PublishError> {
    write_prepared(dir, prepare_all(events, now)?)
}

/// Appends events already prepared, each with a `write` of its own, in order,
/// once every one is known to fit.
pub(crate) fn write_prepared(
    dir: &Path,
    prepared: Vec<Prepared>,
) -> Result<Vec<PublishedEvent>, PublishError> {
    if !dir.is_dir() {
        return Err(PublishError::NoDirectory(dir.to_path_buf()));
    }
    let max = load_config(dir)?.ingest.max_line_bytes as usize;
    for p in &prepared {
        check_len(p, max)?;
    }
    let dir = dir.join("events");
    std::fs::create_dir_all(&dir).map_err(|source| PublishError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut out = Vec::with_capacity(prepared.len());
    for p in prepared {
        let path = dir.join(format!("{}.jsonl", p.stem));
        append_line(&path, p.line.as_bytes())?;
        out.push(PublishedEvent {
            id: p.id,
            ts: p.ts,
            path,
            line: p.line,
        });
    }
    Ok(out)
}

/// `prepare` for each event; a refusal names the event's place in a batch.
pub(crate) fn prepare_all(
    events: &[Value],
    now: DateTime<Utc>,
) -> Result<Vec<Prepared>, PublishError> {
    let many = events.len() > 1;
    events
        .iter()
        .enumerate()
        .map(|(i, event)| prepare(event, now).map_err(|e| if many { numbered(i, e) } else { e }))
        .collect()
}

/// A refusal naming the event's place in a batch (`i` from 0).
pub(crate) fn numbered(i: usize, e: PublishError) -> PublishError {
    match e {
        PublishError::Invalid(why) => PublishError::Invalid(format!("event {}: {why}", i + 1)),
        e => e,
    }
}

/// Refuses a line that ingestion would skip as too long.
pub(crate) fn check_len(p: &Prepared, max: usize) -> Result<(), PublishError> {
    if p.line.len() > max {
        return Err(PublishError::Invalid(format!(
            "line of {} bytes is over max_line_bytes ({max})",
            p.line.len()
        )));
    }
    Ok(())
}

/// An event ready to write: its line, validated, and the file stem it goes to.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub id: String,
    pub ts: DateTime<Utc>,
    pub stem: String,
    pub line: String,
}

/// Where a published event is said to come from while it is checked; the parser
/// stands this in as the id of an event without one.
fn origin() -> Origin<'static> {
    Origin {
        source: "<publish>",
        line: 1,
        offset: 0,
        ident: "",
    }
}

pub(crate) fn prepare(event: &Value, now: DateTime<Utc>) -> Result<Prepared, PublishError> {
    let opts = ParseOptions::default();
    // Millisecond precision, like the rest of coord's times.
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let parsed = parse_value(event.clone(), &origin(), now, &opts)
        .map_err(|e| PublishError::Invalid(e.reason))?;
    let Value::Object(map) = event else {
        unreachable!("the parser accepts objects only");
    };
    let stem = stem_of(&parsed);
    let missing_id = lacks_id(&parsed);
    // Filled fields first, so a line reads type-time-id at a glance.
    let mut out = Map::with_capacity(map.len() + 2);
    if let Some((k, v)) = map.iter().find(|(k, _)| k.as_str() == "type") {
        out.insert(k.clone(), v.clone());
    }
    if parsed.ts_assumed {
        out.insert(
            "ts".into(),
            Value::String(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
    }
    if missing_id {
        out.insert("id".into(), Value::String(new_id(&stem, now)));
    }
    for (k, v) in map {
        out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let line = Value::Object(out).to_string();
    // The exact bytes ingestion will read, through the exact parser it uses.
    let event = parse_line(line.as_bytes(), &origin(), now, &opts)
        .map_err(|e| PublishError::Invalid(e.reason))?;
    Ok(Prepared {
        id: event.id.into(),
        ts: event.ts,
        stem,
        line,
    })
}

fn stem_of(e: &crate::model::Event) -> String {
    e.agent
        .as_deref()
        .map_or_else(|| DEFAULT_STEM.to_string(), file_stem)
}

/// The parser stood the origin in for a missing id.
fn lacks_id(e: &crate::model::Event) -> bool {
    e.id == format!("{}:{}", origin().source, origin().offset)
}

/// `prepare` for an event given as JSON text. One that needs nothing filled in
/// is sent as it was written (its line breaks, only ever whitespace in valid
/// JSON, made spaces), checked by one pass of the ingestion parser.
pub(crate) fn prepare_text(text: &str, now: DateTime<Utc>) -> Result<Prepared, PublishError> {
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let line = text.trim().replace(['\n', '\r'], " ");
    let event = parse_line(line.as_bytes(), &origin(), now, &ParseOptions::default())
        .map_err(|e| PublishError::Invalid(e.reason))?;
    if event.ts_assumed || lacks_id(&event) {
        let value: Value =
            serde_json::from_str(&line).map_err(|e| PublishError::Invalid(e.to_string()))?;
        return prepare(&value, now);
    }
    Ok(Prepared {
        stem: stem_of(&event),
        id: event.id.into(),
        ts: event.ts,
        line,
    })
}

/// A collision-free id: the agent's stem, the time, the process id, a random tag
/// drawn once per process (for publishers on other hosts sharing the directory)
/// and a per-process counter.
fn new_id(stem: &str, now: DateTime<Utc>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static TAG: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let tag = *TAG.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        // std's hasher keys are drawn from the OS's randomness.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish() as u32
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{stem}-{}-{}-{tag:08x}-{n}",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    )
}

/// An agent name as a safe file stem inside `events/`: letters, digits, `-`, `_`
/// and single inner dots kept, anything else (`/`, controls, spaces) mapped to
/// `_`, no `..` and no leading dot (ingestion skips hidden files), at most
/// 100 bytes. Distinct names may share a file; the event keeps its real name.
pub fn file_stem(agent: &str) -> String {
    let mut stem: String = agent
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while stem.contains("..") {
        stem = stem.replace("..", "__");
    }
    let dots = stem.len() - stem.trim_start_matches('.').len();
    stem.replace_range(..dots, &"_".repeat(dots));
    stem.truncate(MAX_STEM);
    if stem.is_empty() {
        DEFAULT_STEM.to_string()
    } else {
        stem
    }
}

/// Appends `line` and its newline with one `write` on an `O_APPEND` descriptor:
/// the kernel places the whole buffer at the end of the file at once, so lines
/// from parallel writers never interleave. A symlink is not followed (ingestion
/// does not follow one out of `events/` either).
fn append_line(path: &Path, line: &[u8]) -> Result<(), PublishError> {
    use rustix::fs::{Mode, OFlags};
    let io = |source: std::io::Error| PublishError::Io {
        path: path.to_path_buf(),
        source,
    };
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .map_err(|e| io(e.into()))?;
    let mut file = std::fs::File::from(fd);
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line);
    buf.push(b'\n');
    let written = loop {
        match file.write(&buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other.map_err(io)?,
        }
    };
    if written != buf.len() {
        // Never finish a short write with a second one: another writer's line
        // could land in between. Say so instead.
        return Err(io(std::io::Error::other(format!(
            "short write: {written} of {} bytes (disk full?); the line is incomplete",
            buf.len()
        ))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        "2026-11-24T12:00:00.123456Z".parse().unwrap()
    }

    #[test]
    fn stems_are_safe_file_names() {
        for (agent, stem) in [
            ("backend-1", "backend-1"),
            ("be.1_x", "be.1_x"),
            ("../../etc/passwd", "______etc_passwd"),
            ("a...b", "a__.b"),
            ("..", "__"),
            (".hidden", "_hidden"),
            ("a/b", "a_b"),
            ("tab\there\x1b[2J", "tab_here__2J"),
            ("ünï", "_n_"),
            ("", "publish"),
        ] {
            assert_eq!(file_stem(agent), stem, "{agent:?}");
        }
        assert_eq!(file_stem(&"x".repeat(300)).len(), MAX_STEM);
    }

    #[test]
    fn fills_id_and_ts_and_keeps_the_rest() {
        let p = prepare(
            &json!({"agent": "be-1", "type": "progress_update", "progress": 5}),
            at(),
        )
        .unwrap();
        assert_eq!(p.stem, "be-1");
        assert_eq!(p.ts.to_rfc3339(), "2026-11-24T12:00:00.123+00:00");
        assert!(p.id.starts_with("be-1-20261124T120000.123Z-"), "{}", p.id);
        assert!(
            p.line
                .starts_with(r#"{"type":"progress_update","ts":"2026-11-24T12:00:00.123Z","id":""#),
            "{}",
            p.line
        );
        assert!(
            p.line.ends_with(r#""agent":"be-1","progress":5}"#),
            "{}",
            p.line
        );
        let q = prepare(&json!({"type": "x"}), at()).unwrap();
        assert_ne!(p.id, q.id, "ids differ within a process");
        assert_eq!(q.stem, DEFAULT_STEM);
    }

    #[test]
    fn given_id_and_ts_are_kept_even_by_alias() {
        let p = prepare(
            &json!({"event_type": "agent_heartbeat", "event_id": "e-1",
                    "timestamp": "2026-11-24T10:00:00", "agent_id": "seed"}),
            at(),
        )
        .unwrap();
        assert_eq!(p.id, "e-1");
        assert_eq!(p.ts.to_rfc3339(), "2026-11-24T10:00:00+00:00");
        assert_eq!(p.stem, "seed");
        assert!(!p.line.contains(r#""id""#) && !p.line.contains(r#""ts""#));
    }

    #[test]
    fn invalid_events_carry_the_parsers_reason() {
        for (event, want) in [
            (
                json!({"type": "progress_update", "progress": 250}),
                "progress 250 is out of range 0–100",
            ),
            (json!({"agent": "a"}), "no \"type\" field"),
            (json!([1]), "not a JSON object (found an array)"),
            (
                json!({"type": "x", "ts": "yesterday"}),
                "is not an RFC 3339 time",
            ),
        ] {
            match prepare(&event, at()) {
                Err(PublishError::Invalid(reason)) => assert!(reason.contains(want), "{reason}"),
                other => panic!("{event}: {other:?}"),
            }
        }
    }
}
