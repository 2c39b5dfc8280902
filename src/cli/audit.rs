//! `coord audit [DIR] [--since T] [--until T] [--agent A] [--type T] [--alert ID] [--json]`:
//! queries the journal (SPEC 9). Reads `DIR/journal/NNNNNNNN.jsonl` in order,
//! without the lock (a console may be writing; its unfinished last line is left
//! alone), and prints the records that match every filter given:
//!
//! - `--since` / `--until`: the record's `at`, since inclusive, until exclusive.
//! - `--agent A`: events whose agent (or the seed's `agent_id`) is A; effect and
//!   operator records naming A as `agent`, `agent_id`, `from`, `to`, `replacing` or
//!   `assignee`; and everything about A's alerts — the alerts opened by A's events
//!   (or by events derived for A) or announced with A as their agent: their
//!   transitions, notifications, automated and operator actions, and the
//!   rejections of those operator actions.
//! - `--type T`: events of type T (aliases mapped: `milestone_update` is
//!   `epic_milestone`) and derived events of type T.
//! - `--alert N` (`A-12` or `12`): the alert's transitions, notifications,
//!   automated actions, operator actions (`alert` or among `alerts`) and their
//!   rejections, and the events (ingested or derived) that opened, repeated or
//!   raised it.
//!
//! `--json` prints each record as journaled, one per line, an `event` record with
//! an added `event` field: the event as the console read it (its `id` included).
//! The text form is one line per record, `<at> <kind> <description>`. Every string
//! is made safe for a terminal: sanitised in text, and in JSON the controls JSON
//! lets through raw (DEL, C1, bidi) are written as `\u` escapes.
//!
//! Exit 0, matches or not; errors (no journal) are returned for exit 2.

use crate::engine::Action;
use crate::journal::reader::Reader;
use crate::journal::record::{fmt_at, Record};
use crate::journal::Refused;
use crate::model::event::{Origin, ParseOptions};
use crate::model::parse::parse_line;
use crate::model::{Event, EventType, ParseError};
use crate::text::kv;
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

/// What to look for; every filter given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub agent: Option<String>,
    /// An event type, e.g. `agent_timeout`.
    pub kind_type: Option<String>,
    pub alert: Option<u64>,
}

/// `A-12`, `a-12` or `12`; alerts are numbered from 1.
pub fn parse_alert_id(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s
        .strip_prefix("A-")
        .or_else(|| s.strip_prefix("a-"))
        .unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&n| n > 0)
}

/// A time for `--since` / `--until`: RFC 3339; a date and time without a zone
/// (UTC, as in events); a date (its midnight, UTC); or an age before `now` —
/// `90s`, `15m`, `2h`, `7d`.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    let age = s
        .char_indices()
        .last()
        .and_then(|(i, unit)| {
            let n: i64 = s[..i].parse().ok().filter(|n| *n >= 0)?;
            match unit {
                's' => TimeDelta::try_seconds(n),
                'm' => TimeDelta::try_minutes(n),
                'h' => TimeDelta::try_hours(n),
                'd' => TimeDelta::try_days(n),
                _ => None,
            }
        })
        .and_then(|d| now.checked_sub_signed(d));
    age.ok_or_else(|| {
        format!("{s:?} is not a time (RFC 3339, YYYY-MM-DD[THH:MM[:SS]] in UTC, or an age: 90s, 15m, 2h, 7d)")
    })
}

/// `parse_time` at the current time, for clap's `value_parser`.
pub fn parse_time_arg(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s, Utc::now())
}

/// Runs the query; returns the exit code (0).
pub fn run(dir: &Path, q: &AuditQuery, json: bool, out: &mut dyn Write) -> Result<i32> {
    let journal = super::journal::journal_of(dir)?;
    let links = if q.agent.is_some() || q.alert.is_some() {
        links(&journal, q)?
    } else {
        Links::default()
    };
    let mut parent = (true, true);
    let mut failed: Option<io::Error> = None;
    let mut matched = 0u64;
    scan(&journal, |line, rec| {
        if failed.is_some() {
            return;
        }
        let event = (rec.kind == "event").then(|| parse_event(rec)).flatten();
        let effect: Option<Value> = rec.effect.and_then(|e| serde_json::from_str(e.get()).ok());
        // An operator action's rejection goes with the action.
        if is_input(&rec.kind) {
            parent = (
                q.agent
                    .as_deref()
                    .is_none_or(|a| agent_matches(rec, event.as_ref(), None, a, &links)),
                q.alert
                    .is_none_or(|n| alert_matches(rec, event.as_ref(), None, n, &links)),
            );
        }
        if !matches(q, rec, event.as_ref(), effect.as_ref(), &links, parent) {
            return;
        }
        matched += 1;
        let res = if json {
            write_json(out, line, event.as_ref())
        } else {
            writeln!(out, "{}", describe(rec, event.as_ref(), effect.as_ref()))
        };
        if let Err(e) = res {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e).context("writing the audit");
    }
    out.flush()?;
    if let (Some(n), 0) = (q.alert, matched) {
        // Likely an id `coord status` or `report` showed as projected.
        eprintln!(
            "coord audit: A-{n} is not in the journal: no console has opened it (an alert `status` or `report` shows as projected is recorded once a console runs)"
        );
    }
    Ok(0)
}

/// Reads every record of the journal in order, checked; damage refuses
/// (naming where it is), as replay does. A last line still being written is
/// not read.
pub(crate) fn scan(journal: &Path, mut f: impl FnMut(&str, &Record<'_>)) -> Result<()> {
    let reader = Reader::open(journal).with_context(|| format!("reading {}", journal.display()))?;
    for item in reader {
        let entry = item.map_err(Refused::Damaged)?;
        let rec = entry.decode(journal).map_err(Refused::Damaged)?;
        f(&entry.text, &rec);
    }
    Ok(())
}

/// The records that start a group: the effects after one are its own.
fn is_input(kind: &str) -> bool {
    matches!(kind, "event" | "error" | "tick" | "action" | "source")
}

/// An event record's event, read as replay reads it.
fn parse_event(rec: &Record) -> Option<Result<Event, ParseError>> {
    let p = rec.position()?;
    let raw = rec.raw?;
    let origin = Origin {
        source: p.src,
        line: p.line,
        offset: p.off,
        ident: p.file,
    };
    Some(parse_line(
        raw.get().as_bytes(),
        &origin,
        rec.at,
        &ParseOptions::default(),
    ))
}

/// What the filters learn from a first pass over the whole journal.
#[derive(Default)]
struct Links {
    /// The alerts of the agent of `--agent`.
    agent_alerts: HashSet<u64>,
    /// The events that opened, repeated or raised the alert of `--alert`.
    alert_events: HashSet<String>,
}

fn links(journal: &Path, q: &AuditQuery) -> Result<Links> {
    let mut links = Links::default();
    // The ids of the agent's events (ingested and derived), to find the alerts
    // they opened.
    let mut agent_events: HashSet<String> = HashSet::new();
    scan(journal, |_, rec| match rec.kind.as_ref() {
        "event" => {
            if let Some(agent) = &q.agent {
                if let Some(Ok(e)) = parse_event(rec) {
                    if e.agent.as_deref() == Some(agent) {
                        agent_events.insert(e.id.into());
                    }
                }
            }
        }
        "derived" | "transition" | "notify" => {
            let Some(fx) = rec
                .effect
                .and_then(|e| serde_json::from_str::<Value>(e.get()).ok())
            else {
                return;
            };
            if let (Some(agent), Some(ev)) = (&q.agent, fx.get("event")) {
                if agent_of(ev) == Some(agent) {
                    if let Some(id) = ev.get("id").and_then(Value::as_str) {
                        agent_events.insert(id.to_string());
                    }
                }
            }
            let by_event = fx
                .get("by")
                .filter(|b| b.get("kind").and_then(Value::as_str) == Some("event"))
                .and_then(|b| b.get("name"))
                .and_then(Value::as_str);
            let alerts = effect_alerts(&fx);
            if q.agent.is_some() && by_event.is_some_and(|by| agent_events.contains(by)) {
                links.agent_alerts.extend(&alerts);
            }
            if let Some(agent) = &q.agent {
                let body = fx.get("body");
                if body.and_then(agent_of) == Some(agent)
                    && body.is_some_and(|b| b.get("trigger").is_some())
                {
                    links.agent_alerts.extend(&alerts);
                }
            }
            if let (Some(n), Some(by)) = (q.alert, by_event) {
                if alerts.contains(&n) {
                    links.alert_events.insert(by.to_string());
                }
            }
        }
        _ => {}
    })?;
    Ok(links)
}

/// The agent of an event or alert notice object.
fn agent_of(v: &Value) -> Option<&str> {
    ["agent", "agent_id"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
}

/// The alerts an effect is about: its `alert`, or its notification body's
/// (`"A-3"` in an alert notice, `3` in a small JSON body).
fn effect_alerts(fx: &Value) -> Vec<u64> {
    let read = |v: &Value| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_alert_id(s),
        _ => None,
    };
    [fx.get("alert"), fx.get("body").and_then(|b| b.get("alert"))]
        .into_iter()
        .flatten()
        .filter_map(read)
        .collect()
}

/// The fields that name an agent in effects and actions.
const AGENT_KEYS: [&str; 6] = ["agent", "agent_id", "from", "to", "replacing", "assignee"];

/// Whether `agent` is the string value of an agent-naming field anywhere in `v`.
fn mentions(v: &Value, agent: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            (AGENT_KEYS.contains(&k.as_str()) && v.as_str() == Some(agent)) || mentions(v, agent)
        }),
        Value::Array(items) => items.iter().any(|v| mentions(v, agent)),
        _ => false,
    }
}

fn agent_matches(
    rec: &Record,
    event: Option<&Result<Event, ParseError>>,
    effect: Option<&Value>,
    agent: &str,
    links: &Links,
) -> bool {
    match rec.kind.as_ref() {
        "event" => matches!(event, Some(Ok(e)) if e.agent.as_deref() == Some(agent)),
        "action" => rec.op.as_ref().is_some_and(|op| {
            matches!(&op.action, Action::Reassign { to, .. } if to == agent)
                || op
                    .action
                    .alerts()
                    .iter()
                    .any(|n| links.agent_alerts.contains(n))
        }),
        _ => effect.is_some_and(|fx| {
            mentions(fx, agent)
                || effect_alerts(fx)
                    .iter()
                    .any(|n| links.agent_alerts.contains(n))
        }),
    }
}

fn alert_matches(
    rec: &Record,
    event: Option<&Result<Event, ParseError>>,
    effect: Option<&Value>,
    alert: u64,
    links: &Links,
) -> bool {
    match rec.kind.as_ref() {
        "event" => matches!(event, Some(Ok(e)) if links.alert_events.contains(e.id.as_str())),
        "action" => rec
            .op
            .as_ref()
            .is_some_and(|op| op.action.alerts().contains(&alert)),
        "derived" => effect
            .and_then(|fx| fx.get("event")?.get("id")?.as_str())
            .is_some_and(|id| links.alert_events.contains(id)),
        "transition" | "notify" | "auto" => {
            effect.is_some_and(|fx| effect_alerts(fx).contains(&alert))
        }
        _ => false,
    }
}

/// An event type as the console names it (`milestone_update` is `epic_milestone`).
fn type_name(s: &str) -> String {
    EventType::from_name(&s.to_ascii_lowercase())
        .as_str()
        .to_string()
}

fn matches(
    q: &AuditQuery,
    rec: &Record,
    event: Option<&Result<Event, ParseError>>,
    effect: Option<&Value>,
    links: &Links,
    parent: (bool, bool),
) -> bool {
    if q.since.is_some_and(|t| rec.at < t) || q.until.is_some_and(|t| rec.at >= t) {
        return false;
    }
    let kind = rec.kind.as_ref();
    if let Some(t) = &q.kind_type {
        let want = type_name(t);
        let ok = match kind {
            "event" => matches!(event, Some(Ok(e)) if e.kind.as_str() == want),
            "derived" => effect
                .and_then(|fx| fx.get("event")?.get("type")?.as_str())
                .is_some_and(|t| type_name(t) == want),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    if let Some(agent) = &q.agent {
        let ok = if kind == "rejected" {
            parent.0
        } else {
            agent_matches(rec, event, effect, agent, links)
        };
        if !ok {
            return false;
        }
    }
    if let Some(n) = q.alert {
        let ok = if kind == "rejected" {
            parent.1
        } else {
            alert_matches(rec, event, effect, n, links)
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The record as journaled, with the parsed event added to an event record.
/// The controls JSON lets through unescaped are escaped.
fn write_json(
    out: &mut dyn Write,
    line: &str,
    event: Option<&Result<Event, ParseError>>,
) -> io::Result<()> {
    let line = line.trim_end();
    let text: Cow<str> = match (event, line.strip_suffix('}')) {
        (Some(parsed), Some(head)) => {
            let added = match parsed {
                Ok(e) => serde_json::to_string(e).map_err(io::Error::other)?,
                Err(e) => format!(
                    "null,\"event_error\":{}",
                    serde_json::to_string(&e.reason).map_err(io::Error::other)?
                ),
            };
            Cow::Owned(format!("{head},\"event\":{added}}}"))
        }
        _ => Cow::Borrowed(line),
    };
    writeln!(out, "{}", json_safe(&text))
}

/// DEL, the C1 controls and the bidi controls, which JSON allows raw in strings,
/// written as `\u` escapes (they can only occur inside strings, so the JSON means
/// the same).
fn json_safe(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        matches!(c, '\u{7f}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}'
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A JSON value as text: strings as they are, the rest compact.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// ` key=value` for every field of an object but `skip` and nulls.
fn fields(line: &mut String, v: &Value, skip: &[&str]) {
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            if v.is_null() || skip.contains(&k.as_str()) {
                continue;
            }
            let _ = write!(line, " {}={}", kv(k), kv(&text_of(v)));
        }
    }
}

fn alert_label(n: u64) -> String {
    format!("A-{n}")
}

/// One line for a record: `<at> <kind> <description>`, every string sanitised.
fn describe(rec: &Record, event: Option<&Result<Event, ParseError>>, fx: Option<&Value>) -> String {
    let mut line = format!("{} {}", fmt_at(rec.at), kv(&rec.kind));
    let get = |k: &str| fx.and_then(|f| f.get(k));
    let s = |k: &str| get(k).map(text_of).unwrap_or_else(|| "-".into());
    match rec.kind.as_ref() {
        "event" => match event {
            Some(Ok(e)) => {
                let _ = write!(
                    line,
                    " {} id={} agent={}",
                    kv(e.kind.as_str()),
                    kv(&e.id),
                    kv(e.agent.as_deref().unwrap_or("-"))
                );
                for (k, v) in [("component", &e.component), ("task", &e.task)] {
                    if let Some(v) = v {
                        let _ = write!(line, " {k}={}", kv(v));
                    }
                }
            }
            Some(Err(e)) => {
                let _ = write!(line, " unreadable reason={}", kv(&e.reason));
            }
            None => line.push_str(" unreadable"),
        },
        "error" => {
            let _ = write!(
                line,
                " {}:{} reason={}",
                kv(rec.src.as_deref().unwrap_or("-")),
                rec.line.unwrap_or(0),
                kv(rec.reason.as_deref().unwrap_or("-"))
            );
        }
        "source" => {
            let _ = write!(
                line,
                " {} {}",
                kv(rec.what.as_deref().unwrap_or("-")),
                kv(rec.src.as_deref().unwrap_or("-"))
            );
        }
        "transition" => {
            let alert = get("alert")
                .and_then(Value::as_u64)
                .map_or("-".into(), alert_label);
            let by = get("by").map_or_else(
                || "-".to_string(),
                |b| match (b.get("kind").map(text_of), b.get("name").map(text_of)) {
                    (Some(k), Some(n)) => format!("{k}:{n}"),
                    (Some(k), None) => k,
                    _ => "-".into(),
                },
            );
            let _ = write!(
                line,
                " {alert} {} level={} escalation={} by={} reason={}",
                kv(&s("what")),
                kv(&s("level")),
                kv(&s("escalation")),
                kv(&by),
                kv(&s("reason"))
            );
        }
        "derived" => {
            let ev = get("event");
            let f = |k: &str| {
                ev.and_then(|e| e.get(k))
                    .map(text_of)
                    .unwrap_or_else(|| "-".into())
            };
            let _ = write!(
                line,
                " {} id={} agent={}",
                kv(&f("type")),
                kv(&f("id")),
                kv(&f("agent"))
            );
        }
        "auto" => {
            let _ = write!(line, " {}", kv(&s("action")));
            if let Some(fx) = fx {
                fields(&mut line, fx, &["effect", "action"]);
            }
        }
        "notify" => {
            let _ = write!(line, " {} {}", kv(&s("class")), kv(&s("kind")));
            if let Some(body) = get("body") {
                if let Some(n) = effect_alerts(&serde_json::json!({"body": body})).first() {
                    let _ = write!(line, " {}", alert_label(*n));
                }
                fields(&mut line, body, &["alert"]);
            }
        }
        "rejected" => {
            let _ = write!(line, " reason={}", kv(&s("reason")));
        }
        "action" => match &rec.op {
            Some(op) => {
                let v = serde_json::to_value(&op.action).unwrap_or_default();
                let _ = write!(
                    line,
                    " {} {}",
                    kv(&op.operator),
                    kv(v.get("action").and_then(Value::as_str).unwrap_or("-"))
                );
                let alerts = op.action.alerts();
                if !alerts.is_empty() {
                    let labels: Vec<String> = alerts.into_iter().map(alert_label).collect();
                    let _ = write!(line, " {}", labels.join(","));
                }
                fields(&mut line, &v, &["action", "alert", "alerts"]);
            }
            None => line.push_str(" -"),
        },
        _ => {}
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::{Status, Transition};
    use crate::engine::{
        Actor, AutoAction, Body, Effect, Notification, NotifyClass, OperatorAction,
    };
    use crate::journal::record::{self, Position};
    use crate::model::{Escalation, Level};

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-11-24T{s}Z").parse().unwrap()
    }

    fn pos(line: u64) -> Position<'static> {
        Position {
            src: "events/a.jsonl",
            file: "1:2:ff",
            off: line * 100,
            end: line * 100 + 99,
            line,
            entry: None,
        }
    }

    fn transition(alert: u64, what: &'static str, by: Actor) -> Effect {
        Effect::Transition(Transition {
            alert,
            at: t("10:00:00"),
            what,
            by,
            reason: format!("{what} for a reason"),
            status: Status::Triggered,
            level: Level::High,
            escalation: Escalation::Pm,
            generation: 1,
        })
    }

    fn notice(alert: u64, agent: &str) -> Effect {
        Effect::Notify(Notification {
            class: NotifyClass::PmHigh,
            kind: "alert_opened",
            at: t("10:00:00"),
            body: Body::Json(serde_json::json!({
                "alert": format!("A-{alert}"), "trigger": "blocker_detected",
                "level": "high", "agent": agent, "component": null
            })),
        })
    }

    /// A record changed in the middle of the journal: the audit refuses,
    /// naming where, rather than print a trail with a hole in it.
    #[test]
    fn a_damaged_journal_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let j = tmp.path().join("journal");
        std::fs::create_dir(&j).unwrap();
        let at = fmt_at(t("10:00:00"));
        let mut b = Vec::new();
        for line in 1..=3 {
            let raw = format!(r#"{{"type":"agent_heartbeat","id":"h{line}","agent":"be-1"}}"#);
            record::event(&mut b, line, &at, &pos(line), raw.as_bytes());
        }
        std::fs::write(j.join("00000001.jsonl"), &b).unwrap();
        assert_eq!(query(tmp.path(), &AuditQuery::default(), true).len(), 3);
        let second = b.iter().position(|&c| c == b'\n').unwrap() + 1;
        let i = second + b[second..].windows(4).position(|w| w == b"be-1").unwrap();
        b[i..i + 4].copy_from_slice(b"be-2");
        std::fs::write(j.join("00000001.jsonl"), &b).unwrap();
        let err = run(tmp.path(), &AuditQuery::default(), true, &mut Vec::new()).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&format!("00000001.jsonl at byte {second}")),
            "{msg}"
        );
        assert!(
            msg.contains("fails its checksum; the last good record is seq 1"),
            "{msg}"
        );
        assert!(msg.contains("coord journal repair"), "{msg}");
    }

    /// A journal of two segments and a torn tail:
    ///
    /// | seq | at | kind |
    /// |---|---|---|
    /// | 1 | 10:00 | event heartbeat be-1 |
    /// | 2 | 10:01 | event blocker b1 be-1, then A-1 opened, its notice, alternative paths |
    /// | 6 | 10:02 | error |
    /// | 7 | 10:03 | event system_failure s1 `agent_id` ops-1 (ESC and C1 in its message) |
    /// | 8 | 10:04 | tick: derived agent_timeout ops-1, A-2 opened by it, reassigned to be-2 |
    /// | 12 | 10:05 | event milestone_update (segment 2) |
    /// | 13 | 10:06 | action alice acknowledges A-1 |
    /// | 14 | 10:07 | action bob resolves A-2, rejected |
    /// | 16 | 10:08 | event blocker b2 be-1 repeats A-1 |
    fn journal() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let j = tmp.path().join("journal");
        std::fs::create_dir(&j).unwrap();
        let mut b = Vec::new();
        let at = |s: &str| fmt_at(t(s));
        record::event(
            &mut b,
            1,
            &at("10:00:00"),
            &pos(1),
            br#"{"type":"agent_heartbeat","ts":"2026-11-24T10:00:00Z","id":"h1","agent":"be-1"}"#,
        );
        record::event(
            &mut b,
            2,
            &at("10:01:00"),
            &pos(2),
            br#"{"type":"blocker_detected","id":"b1","agent":"be-1","component":"db"}"#,
        );
        record::effect(
            &mut b,
            3,
            &at("10:01:00"),
            &transition(1, "opened", Actor::Event("b1".into())),
        );
        record::effect(&mut b, 4, &at("10:01:00"), &notice(1, "be-1"));
        record::effect(
            &mut b,
            5,
            &at("10:01:00"),
            &Effect::Action(AutoAction::AlternativePaths {
                alert: 1,
                unblocked_components: vec![],
                open_tasks: 1,
                idle_agents: vec![],
            }),
        );
        let err = ParseError {
            source: "events/a.jsonl".into(),
            line: 6,
            offset: 600,
            reason: "not valid JSON".into(),
            excerpt: "nope".into(),
        };
        record::error(&mut b, 6, &at("10:02:00"), &pos(6), &err);
        record::event(
            &mut b,
            7,
            &at("10:03:00"),
            &pos(7),
            "{\"type\":\"system_failure\",\"id\":\"s1\",\"agent_id\":\"ops-1\",\"message\":\"down \\u001b[2J \u{9b}31m\"}".as_bytes(),
        );
        record::tick(&mut b, 8, &at("10:04:00"));
        let mut derived = Event::new(
            EventType::AgentTimeout,
            t("10:04:00"),
            "derived:agent_timeout:1",
        );
        derived.agent = Some("ops-1".into());
        record::effect(
            &mut b,
            9,
            &at("10:04:00"),
            &Effect::Derived {
                event: Box::new(derived),
                level: None,
            },
        );
        record::effect(
            &mut b,
            10,
            &at("10:04:00"),
            &transition(2, "opened", Actor::Event("derived:agent_timeout:1".into())),
        );
        record::effect(
            &mut b,
            11,
            &at("10:04:00"),
            &Effect::Action(AutoAction::TaskReassigned {
                task: "T-1".into(),
                from: Some("ops-1".into()),
                to: "be-2".into(),
                reason: "agent ops-1 timed out".into(),
                automatic: true,
                alert: Some(2),
            }),
        );
        std::fs::write(j.join("00000001.jsonl"), &b).unwrap();
        b.clear();
        record::event(
            &mut b,
            12,
            &at("10:05:00"),
            &pos(11),
            br#"{"event_type":"milestone_update","milestone_name":"M1","id":"m1"}"#,
        );
        let op = |operator: &str, action: Action| OperatorAction {
            operator: operator.into(),
            action,
        };
        record::action(
            &mut b,
            13,
            &at("10:06:00"),
            &op(
                "alice",
                Action::Acknowledge {
                    alert: 1,
                    note: Some("on it".into()),
                },
            ),
            None,
        );
        record::action(
            &mut b,
            14,
            &at("10:07:00"),
            &op(
                "bob",
                Action::Resolve {
                    alert: 2,
                    note: None,
                },
            ),
            None,
        );
        record::effect(
            &mut b,
            15,
            &at("10:07:00"),
            &Effect::Rejected {
                reason: "not allowed".into(),
            },
        );
        record::event(
            &mut b,
            16,
            &at("10:08:00"),
            &pos(15),
            br#"{"type":"blocker_detected","id":"b2","agent":"be-1","component":"db"}"#,
        );
        record::effect(
            &mut b,
            17,
            &at("10:08:00"),
            &transition(1, "repeated", Actor::Event("b2".into())),
        );
        b.extend_from_slice(br#"{"seq":18,"at":"2026-11-24T10:09:00.000Z","kind":"ti"#);
        std::fs::write(j.join("00000002.jsonl"), &b).unwrap();
        tmp
    }

    fn query(dir: &Path, q: &AuditQuery, json: bool) -> Vec<String> {
        let mut out = Vec::new();
        assert_eq!(run(dir, q, json, &mut out).unwrap(), 0);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The `seq`s of the records printed, in both forms (which must agree).
    fn seqs(dir: &Path, q: &AuditQuery) -> Vec<u64> {
        let json: Vec<u64> = query(dir, q, true)
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        let text = query(dir, q, false);
        assert_eq!(text.len(), json.len(), "{text:#?}");
        json
    }

    #[test]
    fn everything_in_order_without_the_torn_tail() {
        let tmp = journal();
        let all = seqs(tmp.path(), &AuditQuery::default());
        assert_eq!(
            all,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
        );
        let text = query(tmp.path(), &AuditQuery::default(), false);
        let want = [
            "2026-11-24T10:00:00.000Z event agent_heartbeat id=h1 agent=be-1",
            "2026-11-24T10:01:00.000Z event blocker_detected id=b1 agent=be-1 component=db",
            "2026-11-24T10:01:00.000Z transition A-1 opened level=high escalation=pm by=event:b1 reason=\"opened for a reason\"",
            "2026-11-24T10:01:00.000Z notify pm_high alert_opened A-1 trigger=blocker_detected level=high agent=be-1",
            "2026-11-24T10:01:00.000Z auto alternative_paths alert=1 unblocked_components=[] open_tasks=1 idle_agents=[]",
            "2026-11-24T10:02:00.000Z error events/a.jsonl:6 reason=\"not valid JSON\"",
            "2026-11-24T10:03:00.000Z event system_failure id=s1 agent=ops-1",
            "2026-11-24T10:04:00.000Z tick",
            "2026-11-24T10:04:00.000Z derived agent_timeout id=derived:agent_timeout:1 agent=ops-1",
            "2026-11-24T10:04:00.000Z transition A-2 opened level=high escalation=pm by=event:derived:agent_timeout:1 reason=\"opened for a reason\"",
            "2026-11-24T10:04:00.000Z auto task_reassigned task=T-1 from=ops-1 to=be-2 reason=\"agent ops-1 timed out\" automatic=true alert=2",
            "2026-11-24T10:05:00.000Z event epic_milestone id=m1 agent=-",
            "2026-11-24T10:06:00.000Z action alice acknowledge A-1 note=\"on it\"",
            "2026-11-24T10:07:00.000Z action bob resolve A-2",
            "2026-11-24T10:07:00.000Z rejected reason=\"not allowed\"",
            "2026-11-24T10:08:00.000Z event blocker_detected id=b2 agent=be-1 component=db",
            "2026-11-24T10:08:00.000Z transition A-1 repeated level=high escalation=pm by=event:b2 reason=\"repeated for a reason\"",
        ];
        assert_eq!(text, want);
    }

    #[test]
    fn by_time_range() {
        let tmp = journal();
        let q = AuditQuery {
            since: Some(t("10:03:00")),
            until: Some(t("10:05:00")),
            ..AuditQuery::default()
        };
        assert_eq!(seqs(tmp.path(), &q), [7, 8, 9, 10, 11]);
        let q = AuditQuery {
            since: Some(t("10:07:00")),
            ..AuditQuery::default()
        };
        assert_eq!(seqs(tmp.path(), &q), [14, 15, 16, 17]);
    }

    #[test]
    fn by_agent() {
        let tmp = journal();
        let agent = |a: &str| AuditQuery {
            agent: Some(a.into()),
            ..AuditQuery::default()
        };
        // Its events, its alert's transitions, notice and actions, and the ack.
        assert_eq!(
            seqs(tmp.path(), &agent("be-1")),
            [1, 2, 3, 4, 5, 13, 16, 17]
        );
        // Through the `agent_id` alias and a derived event: A-2 and all about it.
        assert_eq!(seqs(tmp.path(), &agent("ops-1")), [7, 9, 10, 11, 14, 15]);
        // Named only as where a task went.
        assert_eq!(seqs(tmp.path(), &agent("be-2")), [11]);
        assert!(seqs(tmp.path(), &agent("nobody")).is_empty());
        // With a time range too.
        let q = AuditQuery {
            since: Some(t("10:02:00")),
            ..agent("be-1")
        };
        assert_eq!(seqs(tmp.path(), &q), [13, 16, 17]);
    }

    #[test]
    fn by_type() {
        let tmp = journal();
        let ty = |s: &str| AuditQuery {
            kind_type: Some(s.into()),
            ..AuditQuery::default()
        };
        assert_eq!(seqs(tmp.path(), &ty("agent_timeout")), [9]);
        assert_eq!(seqs(tmp.path(), &ty("blocker_detected")), [2, 16]);
        assert_eq!(seqs(tmp.path(), &ty("epic_milestone")), [12]);
        assert_eq!(seqs(tmp.path(), &ty("milestone_update")), [12]);
        assert_eq!(seqs(tmp.path(), &ty("System_Failure")), [7]);
        let q = AuditQuery {
            agent: Some("be-1".into()),
            ..ty("blocker_detected")
        };
        assert_eq!(seqs(tmp.path(), &q), [2, 16]);
    }

    #[test]
    fn by_alert() {
        let tmp = journal();
        let alert = |n: u64| AuditQuery {
            alert: Some(n),
            ..AuditQuery::default()
        };
        // The events that opened and repeated it, its transitions, notice,
        // automated action and the operator's acknowledgement.
        assert_eq!(seqs(tmp.path(), &alert(1)), [2, 3, 4, 5, 13, 16, 17]);
        // Opened by a derived event; the resolve and its rejection.
        assert_eq!(seqs(tmp.path(), &alert(2)), [9, 10, 11, 14, 15]);
        assert!(seqs(tmp.path(), &alert(3)).is_empty());
    }

    #[test]
    fn json_adds_the_event_and_keeps_the_record() {
        let tmp = journal();
        let lines = query(tmp.path(), &AuditQuery::default(), true);
        let journal = std::fs::read_to_string(tmp.path().join("journal/00000001.jsonl")).unwrap();
        for (line, original) in lines.iter().zip(journal.lines()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let mut o: Value = serde_json::from_str(original).unwrap();
            if v["kind"] == "event" {
                let ev = &v["event"];
                assert_eq!(ev["id"], o["raw"]["id"]);
                assert!(ev["type"].is_string());
                o["event"] = ev.clone();
            } else {
                assert!(v.get("event").is_none());
            }
            assert_eq!(v, o);
        }
        let s1 = lines.iter().find(|l| l.contains("\"id\":\"s1\"")).unwrap();
        let v: Value = serde_json::from_str(s1).unwrap();
        assert_eq!(v["event"]["agent"], "ops-1");
        assert_eq!(v["event"]["message"], "down \u{1b}[2J \u{9b}31m");
        // No control character reaches the terminal raw.
        assert!(!s1.chars().any(|c| c.is_control()), "{s1}");
        assert!(s1.contains("\\u009b"), "{s1}");
        let m1 = lines.iter().find(|l| l.contains("\"m1\"")).unwrap();
        let v: Value = serde_json::from_str(m1).unwrap();
        assert_eq!(v["event"]["type"], "epic_milestone");
    }

    #[test]
    fn text_is_sanitised() {
        let tmp = journal();
        // In place of the torn tail, the record after the last.
        let j = tmp.path().join("journal/00000002.jsonl");
        let mut b = std::fs::read(&j).unwrap();
        b.truncate(b.iter().rposition(|&c| c == b'\n').unwrap() + 1);
        record::event(
            &mut b,
            18,
            &fmt_at(t("11:00:00")),
            &pos(20),
            "{\"type\":\"x\",\"id\":\"e\\u001b]52;c;aGk=\\u0007\",\"agent\":\"a\u{202e}b\"}"
                .as_bytes(),
        );
        std::fs::write(&j, &b).unwrap();
        let text = query(tmp.path(), &AuditQuery::default(), false);
        let last = text.last().unwrap();
        assert_eq!(
            last,
            r#"2026-11-24T11:00:00.000Z event x id="e\\x1b]52;c;aGk=\\x07" agent=a\u{202e}b"#
        );
        for l in text
            .iter()
            .chain(&query(tmp.path(), &AuditQuery::default(), true))
        {
            assert!(
                !l.chars()
                    .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
                "{l}"
            );
        }
    }

    #[test]
    fn no_journal_is_an_error_and_an_empty_one_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run(tmp.path(), &AuditQuery::default(), false, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no journal in {} (has coord watch run there?)",
                tmp.path().display()
            )
        );
        std::fs::create_dir(tmp.path().join("journal")).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            run(tmp.path(), &AuditQuery::default(), true, &mut out).unwrap(),
            0
        );
        assert!(out.is_empty());
    }

    #[test]
    fn alert_ids_and_times_are_read() {
        assert_eq!(parse_alert_id("A-12"), Some(12));
        assert_eq!(parse_alert_id("a-3"), Some(3));
        assert_eq!(parse_alert_id("7"), Some(7));
        for bad in ["", "A-", "A-0", "0", "A-x", "-3", "B-3", "A-1.5", "+4"] {
            assert_eq!(parse_alert_id(bad), None, "{bad}");
        }
        let now = t("12:00:00");
        assert_eq!(
            parse_time("2026-11-24T10:00:00+02:00", now),
            Ok(t("08:00:00"))
        );
        assert_eq!(parse_time("2026-11-24T10:00:00", now), Ok(t("10:00:00")));
        assert_eq!(parse_time("2026-11-24 10:30", now), Ok(t("10:30:00")));
        assert_eq!(parse_time("2026-11-24", now), Ok(t("00:00:00")));
        assert_eq!(parse_time("90s", now), Ok(t("11:58:30")));
        assert_eq!(parse_time("15m", now), Ok(t("11:45:00")));
        assert_eq!(parse_time("2h", now), Ok(t("10:00:00")));
        assert_eq!(
            parse_time("1d", now),
            Ok("2026-11-23T12:00:00Z".parse().unwrap())
        );
        for bad in ["", "yesterday", "5w", "-5m", "m", "99999999999999999d"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
