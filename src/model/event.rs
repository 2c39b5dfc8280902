//! Events (SPEC 3): the schema, the types and their categories, the seed project's
//! field aliases, and the line parser with its precise errors.
//!
//! Parsing is the hot path of ingestion, so the parser walks the JSON object once
//! with a visitor: known keys (and their aliases) fill fields, every other key goes
//! to `data`. A known field's string is borrowed from the line when it has no
//! escapes, so `type` and `ts` cost no allocation and the others one each. It
//! never panics on any input.

use crate::model::Level;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;

/// How many bytes of a bad line a parse error keeps (SPEC 3.4).
pub const EXCERPT_BYTES: usize = 200;

/// Every type of SPEC 3.2, plus `criterion_met` (SPEC 7) and the unknown rest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    ProgressUpdate,
    ComponentCompletion,
    TaskAssigned,
    TaskCompleted,
    BlockerDetected,
    BlockerResolved,
    AgentTimeout,
    QualityGateFailure,
    QualityGatePassed,
    SystemFailure,
    SystemRecovered,
    PhaseCompletion,
    EpicMilestone,
    CriterionMet,
    AgentHeartbeat,
    CommunicationFailure,
    CommunicationRestored,
    CoordinationAlert,
    /// A task's command failed (`coord wrap`); a crisis (SPEC 6).
    TaskFailed,
    /// Derived: an agent waited on a person past `waiting_alert_minutes`.
    AgentWaiting,
    /// Derived: an agent's or a phase's spend passed its `budget_usd`.
    BudgetExceeded,
    /// Accepted, shown as category `other`, level Low, and counted.
    Other(Box<str>),
}

/// The categories of SPEC 3.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Progress,
    Crisis,
    Completion,
    Coordination,
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Progress => "progress",
            Category::Crisis => "crisis",
            Category::Completion => "completion",
            Category::Coordination => "coordination",
            Category::Other => "other",
        }
    }
}

impl EventType {
    /// Every known type, for table tests and the JSON schema.
    pub const KNOWN: [EventType; 21] = [
        EventType::ProgressUpdate,
        EventType::ComponentCompletion,
        EventType::TaskAssigned,
        EventType::TaskCompleted,
        EventType::BlockerDetected,
        EventType::BlockerResolved,
        EventType::AgentTimeout,
        EventType::QualityGateFailure,
        EventType::QualityGatePassed,
        EventType::SystemFailure,
        EventType::SystemRecovered,
        EventType::PhaseCompletion,
        EventType::EpicMilestone,
        EventType::CriterionMet,
        EventType::AgentHeartbeat,
        EventType::CommunicationFailure,
        EventType::CommunicationRestored,
        EventType::CoordinationAlert,
        EventType::TaskFailed,
        EventType::AgentWaiting,
        EventType::BudgetExceeded,
    ];

    /// Reads a type name (already lower-case). `milestone_update` is the seed's name
    /// for `epic_milestone`.
    pub fn from_name(name: &str) -> EventType {
        EventType::known(name).unwrap_or_else(|| EventType::Other(name.into()))
    }

    /// One of SPEC's types by its name (already lower-case); `None` for any other.
    pub fn known(name: &str) -> Option<EventType> {
        use EventType::*;
        Some(match name {
            "progress_update" => ProgressUpdate,
            "component_completion" => ComponentCompletion,
            "task_assigned" => TaskAssigned,
            "task_completed" => TaskCompleted,
            "blocker_detected" => BlockerDetected,
            "blocker_resolved" => BlockerResolved,
            "agent_timeout" => AgentTimeout,
            "quality_gate_failure" => QualityGateFailure,
            "quality_gate_passed" => QualityGatePassed,
            "system_failure" => SystemFailure,
            "system_recovered" => SystemRecovered,
            "phase_completion" => PhaseCompletion,
            "epic_milestone" | "milestone_update" => EpicMilestone,
            "criterion_met" => CriterionMet,
            "agent_heartbeat" => AgentHeartbeat,
            "communication_failure" => CommunicationFailure,
            "communication_restored" => CommunicationRestored,
            "coordination_alert" => CoordinationAlert,
            "task_failed" => TaskFailed,
            "agent_waiting" => AgentWaiting,
            "budget_exceeded" => BudgetExceeded,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &str {
        use EventType::*;
        match self {
            ProgressUpdate => "progress_update",
            ComponentCompletion => "component_completion",
            TaskAssigned => "task_assigned",
            TaskCompleted => "task_completed",
            BlockerDetected => "blocker_detected",
            BlockerResolved => "blocker_resolved",
            AgentTimeout => "agent_timeout",
            QualityGateFailure => "quality_gate_failure",
            QualityGatePassed => "quality_gate_passed",
            SystemFailure => "system_failure",
            SystemRecovered => "system_recovered",
            PhaseCompletion => "phase_completion",
            EpicMilestone => "epic_milestone",
            CriterionMet => "criterion_met",
            AgentHeartbeat => "agent_heartbeat",
            CommunicationFailure => "communication_failure",
            CommunicationRestored => "communication_restored",
            CoordinationAlert => "coordination_alert",
            TaskFailed => "task_failed",
            AgentWaiting => "agent_waiting",
            BudgetExceeded => "budget_exceeded",
            Other(name) => name,
        }
    }

    pub fn category(&self) -> Category {
        use EventType::*;
        match self {
            ProgressUpdate | ComponentCompletion | TaskAssigned | TaskCompleted => {
                Category::Progress
            }
            BlockerDetected | BlockerResolved | AgentTimeout | QualityGateFailure
            | QualityGatePassed | SystemFailure | SystemRecovered | TaskFailed | AgentWaiting
            | BudgetExceeded => Category::Crisis,
            PhaseCompletion | EpicMilestone | CriterionMet => Category::Completion,
            AgentHeartbeat | CommunicationFailure | CommunicationRestored | CoordinationAlert => {
                Category::Coordination
            }
            Other(_) => Category::Other,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EventType, D::Error> {
        Ok(EventType::from_name(&Cow::<str>::deserialize(d)?))
    }
}

/// A name or short text of an event: kept inline up to 24 bytes (no allocation
/// for the ids, agents, components, tasks and status words nearly every event
/// holds), on the heap beyond. Reads as a `&str`.
pub type Name = compact_str::CompactString;

/// One event, validated. Optional fields are `None` when absent or `null`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub ts: DateTime<Utc>,
    /// `ts` was missing and the ingest time stands in (SPEC 3.1).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ts_assumed: bool,
    pub id: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Level>,
    /// An agent's own status word (`offline`, `stopping`, …), from heartbeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Name>,
    /// Unknown fields and the event's own `data` object; `None` when there are
    /// none, as for nearly every event (boxed: an event travels boxed, and
    /// a map in place would add a cache line to each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<Map<String, Value>>>,
}

impl Event {
    /// A bare event, for derived events and tests.
    pub fn new(kind: EventType, ts: DateTime<Utc>, id: impl Into<Name>) -> Event {
        Event {
            kind,
            ts,
            ts_assumed: false,
            id: id.into(),
            agent: None,
            task: None,
            component: None,
            phase: None,
            gate: None,
            progress: None,
            severity: None,
            status: None,
            message: None,
            data: None,
        }
    }

    pub fn category(&self) -> Category {
        self.kind.category()
    }

    /// A string from `data` (e.g. `criterion` of `criterion_met`).
    /// What the event says was spent: (`cost_usd`, `tokens`), validated at parse.
    pub fn spend(&self) -> (f64, u64) {
        let Some(data) = &self.data else {
            return (0.0, 0);
        };
        let cost = data.get("cost_usd").and_then(Value::as_f64).unwrap_or(0.0);
        let tokens = data.get("tokens").and_then(Value::as_u64).unwrap_or(0);
        (cost, tokens)
    }

    pub fn data_str(&self, key: &str) -> Option<&str> {
        self.data.as_ref()?.get(key).and_then(Value::as_str)
    }
}

/// Where a line came from: for parse errors and for the id of an event without one.
#[derive(Clone, Debug)]
pub struct Origin<'a> {
    pub source: &'a str,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// The identity of the file the line is in (`dev:ino:hash` for a file of
    /// `events/`; empty for other sources): an event without an `id` is known
    /// by its place and the file's content hash, so lines written after a
    /// truncation, at offsets seen before, are new events.
    pub ident: &'a str,
}

impl Origin<'_> {
    /// The id of an event that has none: `source:offset`, and the file's
    /// content hash when the line is in a file of `events/`.
    pub fn fallback_id(&self) -> Name {
        match content_hash(self.ident) {
            Some(hash) => compact_str::format_compact!("{}:{}:{hash}", self.source, self.offset),
            None => compact_str::format_compact!("{}:{}", self.source, self.offset),
        }
    }
}

/// The content hash of a file identity `dev:ino:hash` (16 hex digits).
fn content_hash(ident: &str) -> Option<&str> {
    let mut parts = ident.split(':');
    let (dev, ino, hash) = (parts.next()?, parts.next()?, parts.next()?);
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (parts.next().is_none()
        && number(dev)
        && number(ino)
        && hash.len() == 16
        && hash.bytes().all(|b| b.is_ascii_hexdigit()))
    .then_some(hash)
}

/// How to read times without a zone.
#[derive(Clone, Copy, Debug)]
pub struct ParseOptions {
    /// Offset applied to a `ts` with no zone: UTC (SPEC 3.1), or local time for the
    /// seed's legacy files.
    pub naive_offset: FixedOffset,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            naive_offset: FixedOffset::east_opt(0).expect("zero offset"),
        }
    }
}

/// A line that did not become an event (SPEC 3.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParseError {
    pub source: String,
    pub line: u64,
    pub offset: u64,
    pub reason: String,
    /// The first 200 bytes of the line, lossily decoded; raw, not yet sanitised.
    pub excerpt: String,
}

impl ParseError {
    pub fn new(origin: &Origin, reason: impl Into<String>, bytes: &[u8]) -> ParseError {
        let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
        ParseError {
            source: origin.source.to_string(),
            line: origin.line,
            offset: origin.offset,
            reason: reason.into(),
            excerpt: String::from_utf8_lossy(cut).into_owned(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} (byte {}): {}",
            self.source, self.line, self.offset, self.reason
        )
    }
}

/// A line the fast path did not take, already known to be UTF-8; the error is
/// its reason.
pub(crate) fn parse_general(
    text: &str,
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Result<Box<Event>, String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return Err(match serde_json::from_str::<Value>(text) {
            Ok(v) => format!("not a JSON object (found {})", json_kind(&v)),
            Err(e) => format!("not valid JSON: {e}"),
        });
    }
    parse_object(text)?
        .into_event(origin, ingest_now, opts)
        .map(Box::new)
}

/// Parses an already-decoded JSON value (a whole `*.json` drop, a legacy file).
pub fn parse_value(
    value: Value,
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Result<Event, ParseError> {
    let text = value.to_string();
    let fail = |reason: String| ParseError::new(origin, reason, text.as_bytes());
    let Value::Object(map) = value else {
        return Err(fail(format!(
            "not a JSON object (found {})",
            json_kind(&value)
        )));
    };
    let mut raw = RawEvent::default();
    for (key, value) in map {
        match Key::of(&key) {
            Key::Known(field, alias) => raw.offer(field, alias, Val::from_value(value)),
            Key::Other => {
                raw.extra.insert(key, value);
            }
        }
    }
    raw.into_event(origin, ingest_now, opts).map_err(fail)
}

/// How a JSON value is named in an error message.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The general reader of an event object: serde_json, through `RawVisitor`.
fn parse_object(text: &str) -> Result<RawEvent<'_>, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let raw = de
        .deserialize_map(RawVisitor)
        .map_err(|e| format!("not valid JSON: {e}"))?;
    de.end().map_err(|e| format!("not valid JSON: {e}"))?;
    Ok(raw)
}

/// JSON whitespace from byte `i` on; where it ends.
#[inline(always)]
pub fn skip_ws(b: &[u8], i: usize) -> usize {
    // Compact JSON has none: one comparison says so (whitespace is below '!').
    match b.get(i) {
        Some(&c) if c <= b' ' => skip_ws_from(b, i),
        _ => i,
    }
}

fn skip_ws_from(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// A known field's value as read: a string (borrowed from the line when it has
/// no escapes), a number, null, or any other JSON value. Small (32 bytes), as
/// the parser moves thirteen of them around per event.
enum Val<'a> {
    Str(Cow<'a, str>),
    Num(Number),
    Null,
    /// A boolean, an array or an object: only ever an error, or `data`.
    Other(Box<Value>),
}

impl Val<'_> {
    fn from_value(v: Value) -> Val<'static> {
        match v {
            Value::String(s) => Val::Str(Cow::Owned(s)),
            Value::Number(n) => Val::Num(n),
            Value::Null => Val::Null,
            other => Val::Other(Box::new(other)),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Val::Str(s) => Value::String(s.into_owned()),
            Val::Num(n) => Value::Number(n),
            Val::Null => Value::Null,
            Val::Other(v) => *v,
        }
    }

    /// How the value is named in an error message.
    fn kind(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Num(_) => "a number",
            Val::Null => "null",
            Val::Other(v) => json_kind(v),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Type,
    Ts,
    Id,
    Agent,
    Task,
    Component,
    Phase,
    Gate,
    Progress,
    Severity,
    Status,
    Message,
    Data,
}

pub(super) const FIELDS: usize = 13;

/// A key as read: a known field (and whether by alias) or anything else.
enum Key {
    Known(Field, bool),
    Other,
}

impl Key {
    fn of(key: &str) -> Key {
        use Field::*;
        match key {
            "type" => Key::Known(Type, false),
            "event_type" => Key::Known(Type, true),
            "ts" => Key::Known(Ts, false),
            "timestamp" => Key::Known(Ts, true),
            "id" => Key::Known(Id, false),
            "event_id" => Key::Known(Id, true),
            "agent" => Key::Known(Agent, false),
            "agent_id" => Key::Known(Agent, true),
            "task" => Key::Known(Task, false),
            "current_task" => Key::Known(Task, true),
            "component" => Key::Known(Component, false),
            "phase" => Key::Known(Phase, false),
            "gate" => Key::Known(Gate, false),
            "progress" => Key::Known(Progress, false),
            "progress_percentage" | "completion_percentage" => Key::Known(Progress, true),
            "severity" => Key::Known(Severity, false),
            "status" => Key::Known(Status, false),
            "message" => Key::Known(Message, false),
            "blocker_description" | "milestone_name" => Key::Known(Message, true),
            "data" => Key::Known(Data, false),
            _ => Key::Other,
        }
    }
}

#[derive(Default)]
struct RawEvent<'a> {
    slots: [Option<Val<'a>>; FIELDS],
    /// The slots a seed alias filled, a bit per field, so that the canonical
    /// name wins whatever the key order.
    from_alias: u16,
    extra: Map<String, Value>,
}

impl<'a> RawEvent<'a> {
    fn offer(&mut self, field: Field, alias: bool, value: Val<'a>) {
        // `null` is absent: it neither fills a field nor hides its alias.
        if matches!(value, Val::Null) {
            return;
        }
        let bit = 1u16 << field as u16;
        let slot = &mut self.slots[field as usize];
        if slot.is_none() || (self.from_alias & bit != 0 && !alias) {
            *slot = Some(value);
            if alias {
                self.from_alias |= bit;
            } else {
                self.from_alias &= !bit;
            }
        }
    }

    fn take(&mut self, field: Field) -> Option<Val<'a>> {
        match self.slots[field as usize].take() {
            Some(Val::Null) | None => None,
            Some(v) => Some(v),
        }
    }

    fn into_event(
        mut self,
        origin: &Origin,
        ingest_now: DateTime<Utc>,
        opts: &ParseOptions,
    ) -> Result<Event, String> {
        // The event's own `data` object merges with the unknown top-level keys; the
        // seed nested its fields there, so a missing field is looked up in it too.
        let mut data = match self.take(Field::Data).map(Val::into_value) {
            Some(Value::Object(map)) => map,
            Some(other) => {
                let mut m = Map::new();
                m.insert("data".into(), other);
                m
            }
            None => Map::new(),
        };
        for (k, v) in std::mem::take(&mut self.extra) {
            data.entry(k).or_insert(v);
        }
        for (name, value) in data.iter() {
            if let Key::Known(field, _) = Key::of(name) {
                if field != Field::Type && field != Field::Data && !value.is_null() {
                    let slot = &mut self.slots[field as usize];
                    if slot.is_none() {
                        *slot = Some(Val::from_value(value.clone()));
                        self.from_alias |= 1 << field as u16;
                    }
                }
            }
        }

        let kind = match self.take(Field::Type) {
            None => return Err("no \"type\" field".into()),
            Some(Val::Str(s)) => event_type(&s)?,
            Some(v) => return Err(format!("type must be a string, found {}", v.kind())),
        };
        let (ts, ts_assumed) = match self.take(Field::Ts) {
            None => (ingest_now, true),
            Some(Val::Str(s)) => (parse_ts(&s, opts)?, false),
            Some(v) => return Err(format!("ts must be a string, found {}", v.kind())),
        };
        let id = match self.take(Field::Id) {
            None => origin.fallback_id(),
            Some(Val::Str(s)) if !s.is_empty() => Name::from(s.as_ref()),
            Some(Val::Str(_)) => return Err("id is empty".into()),
            Some(Val::Num(n)) => Name::from(n.to_string()),
            Some(v) => return Err(format!("id must be a string, found {}", v.kind())),
        };
        let progress = match self.take(Field::Progress) {
            None => None,
            Some(Val::Num(n)) => {
                let p = n.as_f64().unwrap_or(f64::NAN);
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("progress {n} is out of range 0–100"));
                }
                Some(p)
            }
            Some(v) => return Err(format!("progress must be a number, found {}", v.kind())),
        };
        let severity = match self.take(Field::Severity) {
            None => None,
            Some(Val::Str(s)) => Some(Level::parse(&s).ok_or_else(|| {
                format!("severity {s:?} is not one of critical, high, medium, low")
            })?),
            Some(Val::Num(n)) => Some(
                Level::parse(&n.to_string())
                    .ok_or_else(|| format!("severity {n} is not one of 1 (critical) to 4 (low)"))?,
            ),
            Some(v) => return Err(format!("severity must be a string, found {}", v.kind())),
        };
        let mut text = |field: Field, name: &str| -> Result<Option<Name>, String> {
            match self.take(field) {
                None => Ok(None),
                // An empty name names nothing.
                Some(Val::Str(s)) if s.is_empty() => Ok(None),
                Some(Val::Str(s)) => Ok(Some(Name::from(s.as_ref()))),
                Some(Val::Num(n)) => Ok(Some(Name::from(n.to_string()))),
                Some(v) => Err(format!("{name} must be a string, found {}", v.kind())),
            }
        };
        check_spend(&data)?;
        Ok(Event {
            kind,
            ts,
            ts_assumed,
            id,
            agent: text(Field::Agent, "agent")?,
            task: text(Field::Task, "task")?,
            component: text(Field::Component, "component")?,
            phase: text(Field::Phase, "phase")?,
            gate: text(Field::Gate, "gate")?,
            status: text(Field::Status, "status")?,
            message: text(Field::Message, "message")?,
            progress,
            severity,
            data: (!data.is_empty()).then(|| Box::new(data)),
        })
    }
}

/// `cost_usd` (a non-negative amount) and `tokens` (a non-negative whole
/// number), at the top level or in `data`, both of which land in `data`.
fn check_spend(data: &Map<String, Value>) -> Result<(), String> {
    match data.get("cost_usd") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_f64().is_some_and(|c| c >= 0.0 && c.is_finite()) => {}
        Some(v) => return Err(format!("cost_usd must be a non-negative number, found {v}")),
    }
    match data.get("tokens") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_u64() => {}
        Some(v) => {
            return Err(format!(
                "tokens must be a non-negative whole number, found {v}"
            ))
        }
    }
    Ok(())
}

/// Validates and normalises a type name: snake_case words, at most 64 bytes.
pub(super) fn event_type(s: &str) -> Result<EventType, String> {
    // Nearly every event has one of SPEC's types, as written there: a valid name.
    if let Some(known) = EventType::known(s) {
        return Ok(known);
    }
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(format!(
            "type {:?} is not a name (letters, digits, _ - . ; at most 64 bytes)",
            truncate(s, 80)
        ));
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Ok(EventType::from_name(&s.to_ascii_lowercase()))
    } else {
        Ok(EventType::from_name(s))
    }
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// RFC 3339, or a time without a zone (read at `opts.naive_offset`).
pub fn parse_ts(s: &str, opts: &ParseOptions) -> Result<DateTime<Utc>, String> {
    if let Some(t) = parse_utc(s) {
        return Ok(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            if let Some(t) = opts.naive_offset.from_local_datetime(&naive).single() {
                return Ok(t.with_timezone(&Utc));
            }
        }
    }
    Err(format!(
        "ts {:?} is not an RFC 3339 time (e.g. 2026-11-24T13:00:00Z)",
        truncate(s, 80)
    ))
}

/// The form nearly every time comes in, `2026-11-24T13:00:00.003783Z` (the
/// fraction optional, 1 to 9 digits), read field by field: what chrono's RFC 3339
/// parser reads from it, several times faster. `None` for any other form (another
/// zone, a leap second, a lower-case `t`): chrono reads those.
pub fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return None;
    }
    let digits = |d: &[u8]| -> Option<u32> {
        d.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            digits(frac)? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    // The times of a batch of lines nearly all fall in the same second as the
    // line before: the last whole second read is kept, per thread, and only
    // the fraction is read.
    thread_local! {
        static LAST_SECOND: std::cell::Cell<Option<([u8; 19], chrono::NaiveDateTime)>> =
            const { std::cell::Cell::new(None) };
    }
    let head: [u8; 19] = b[..19].try_into().expect("nineteen bytes");
    let whole = match LAST_SECOND.get() {
        Some((last, whole)) if last == head => whole,
        _ => {
            let punct = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
            if !punct.iter().all(|&(i, c)| b[i] == c) {
                return None;
            }
            let second = digits(&b[17..19])?;
            if second > 59 {
                return None;
            }
            let date = chrono::NaiveDate::from_ymd_opt(
                digits(&b[0..4])? as i32,
                digits(&b[5..7])?,
                digits(&b[8..10])?,
            )?;
            let whole = date.and_hms_opt(digits(&b[11..13])?, digits(&b[14..16])?, second)?;
            LAST_SECOND.set(Some((head, whole)));
            whole
        }
    };
    Some(whole.with_nanosecond(nanos)?.and_utc())
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent<'de>, A::Error> {
        let mut raw = RawEvent::default();
        while let Some((key, name)) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Known(field, alias) => raw.offer(field, alias, map.next_value_seed(ValSeed)?),
                Key::Other => {
                    raw.extra.insert(name, map.next_value()?);
                }
            }
        }
        Ok(raw)
    }
}

/// Reads a known field's value: a string without a copy when it can, any other
/// value as serde_json's own `Value` would read it.
struct ValSeed;

impl<'de> DeserializeSeed<'de> for ValSeed {
    type Value = Val<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ValSeed)
    }
}

impl<'de> Visitor<'de> for ValSeed {
    type Value = Val<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Val<'de>, E> {
        Ok(Val::Other(Box::new(Value::Bool(v))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val<'de>, E> {
        Ok(Val::Num(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val<'de>, E> {
        Ok(Val::Num(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val<'de>, E> {
        Ok(Number::from_f64(v).map_or(Val::Null, Val::Num))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Val<'de>, A::Error> {
        let d = de::value::SeqAccessDeserializer::new(seq);
        Ok(Val::Other(Box::new(serde::Deserialize::deserialize(d)?)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Val<'de>, A::Error> {
        let d = de::value::MapAccessDeserializer::new(map);
        Ok(Val::Other(Box::new(serde::Deserialize::deserialize(d)?)))
    }
}

/// Reads a key without allocating for the known ones.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = (Key, String);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = (Key, String);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match Key::of(v) {
            Key::Other => (Key::Other, v.to_string()),
            known => (known, String::new()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse::parse_line;

    fn at() -> DateTime<Utc> {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    fn parse(line: &str) -> Result<Event, ParseError> {
        let origin = Origin {
            source: "events/a.jsonl",
            line: 3,
            offset: 120,
            ident: "",
        };
        parse_line(line.as_bytes(), &origin, at(), &ParseOptions::default())
    }

    #[test]
    fn reads_the_spec_example() {
        let e = parse(
            r#"{"type":"progress_update","ts":"2026-11-24T13:00:00.123Z","id":"be-1-000042",
 "agent":"backend-1","task":"T-17","component":"auth-api","phase":"phase-1",
 "progress":62.5,"gate":null,"severity":null,"message":"tests green",
 "data":{"anything":"else"}}"#,
        )
        .unwrap();
        assert_eq!(e.kind, EventType::ProgressUpdate);
        assert_eq!(e.ts.to_rfc3339(), "2026-11-24T13:00:00.123+00:00");
        assert_eq!(e.id, "be-1-000042");
        assert_eq!(e.agent.as_deref(), Some("backend-1"));
        assert_eq!(e.progress, Some(62.5));
        assert_eq!(e.gate, None);
        assert_eq!(e.data_str("anything"), Some("else"));
        assert!(!e.ts_assumed);
    }

    #[test]
    fn every_type_has_its_category() {
        use Category::*;
        let expect = [
            ("progress_update", Progress),
            ("component_completion", Progress),
            ("task_assigned", Progress),
            ("task_completed", Progress),
            ("blocker_detected", Crisis),
            ("blocker_resolved", Crisis),
            ("agent_timeout", Crisis),
            ("quality_gate_failure", Crisis),
            ("quality_gate_passed", Crisis),
            ("system_failure", Crisis),
            ("system_recovered", Crisis),
            ("phase_completion", Completion),
            ("epic_milestone", Completion),
            ("milestone_update", Completion),
            ("criterion_met", Completion),
            ("agent_heartbeat", Coordination),
            ("communication_failure", Coordination),
            ("communication_restored", Coordination),
            ("coordination_alert", Coordination),
            ("task_failed", Crisis),
            ("agent_waiting", Crisis),
            ("budget_exceeded", Crisis),
            ("deploy_started", Other),
        ];
        for (name, cat) in expect {
            let e = parse(&format!(r#"{{"type":"{name}"}}"#)).unwrap();
            assert_eq!(e.category(), cat, "{name}");
        }
        for t in EventType::KNOWN {
            assert_eq!(EventType::from_name(t.as_str()), t);
        }
        assert_eq!(
            parse(r#"{"type":"milestone_update"}"#).unwrap().kind,
            EventType::EpicMilestone
        );
    }

    #[test]
    fn seed_aliases_are_read() {
        let e = parse(
            r#"{"event_type":"progress_update","event_id":"x1","timestamp":"2026-11-24T13:00:00.5",
                "agent_id":"be-1","progress_percentage":40,"current_task":"T-1",
                "blocker_description":"waiting"}"#,
        )
        .unwrap();
        assert_eq!(e.kind, EventType::ProgressUpdate);
        assert_eq!(e.id, "x1");
        assert_eq!(e.ts.to_rfc3339(), "2026-11-24T13:00:00.500+00:00");
        assert_eq!(e.agent.as_deref(), Some("be-1"));
        assert_eq!(e.progress, Some(40.0));
        assert_eq!(e.task.as_deref(), Some("T-1"));
        assert_eq!(e.message.as_deref(), Some("waiting"));

        let e =
            parse(r#"{"type":"epic_milestone","milestone_name":"M1","completion_percentage":80}"#)
                .unwrap();
        assert_eq!(e.message.as_deref(), Some("M1"));
        assert_eq!(e.progress, Some(80.0));
    }

    #[test]
    fn null_is_absent_and_does_not_hide_an_alias() {
        let e = parse(r#"{"type":null,"event_type":"agent_heartbeat","agent":null,"agent_id":"a","ts":null,"timestamp":"2026-11-24T11:00:00"}"#).unwrap();
        assert_eq!(e.kind, EventType::AgentHeartbeat);
        assert_eq!(e.agent.as_deref(), Some("a"));
        assert_eq!(e.ts.to_rfc3339(), "2026-11-24T11:00:00+00:00");
    }

    #[test]
    fn canonical_name_beats_alias_in_any_order() {
        let e = parse(r#"{"agent_id":"old","type":"x","agent":"new"}"#).unwrap();
        assert_eq!(e.agent.as_deref(), Some("new"));
        let e = parse(r#"{"agent":"new","type":"x","agent_id":"old"}"#).unwrap();
        assert_eq!(e.agent.as_deref(), Some("new"));
    }

    #[test]
    fn seed_fields_nested_in_data_are_lifted() {
        let e = parse(
            r#"{"event_type":"blocker_detected","data":{"agent_id":"qa-1","component":"db","progress_percentage":10}}"#,
        )
        .unwrap();
        assert_eq!(e.agent.as_deref(), Some("qa-1"));
        assert_eq!(e.component.as_deref(), Some("db"));
        assert_eq!(e.progress, Some(10.0));
    }

    #[test]
    fn unknown_fields_go_to_data_and_defaults_fill_in() {
        let e = parse(r#"{"type":"Agent_Heartbeat","cpu":0.5}"#).unwrap();
        assert_eq!(e.kind, EventType::AgentHeartbeat);
        assert_eq!(e.data.unwrap().get("cpu"), Some(&serde_json::json!(0.5)));
        assert_eq!(e.id, "events/a.jsonl:120");
        assert_eq!(e.ts, at());
        assert!(e.ts_assumed);
    }

    #[test]
    fn precise_errors() {
        let cases = [
            ("{not json", "not valid JSON"),
            ("", "not valid JSON"),
            ("[1,2]", "not a JSON object (found an array)"),
            ("42", "not a JSON object (found a number)"),
            ("\"x\"", "not a JSON object (found a string)"),
            (r#"{"agent":"a"}"#, "no \"type\" field"),
            (r#"{"type":null}"#, "no \"type\" field"),
            (r#"{"type":7}"#, "type must be a string, found a number"),
            (r#"{"type":""}"#, "is not a name"),
            (r#"{"type":"a b"}"#, "is not a name"),
            (
                r#"{"type":"progress_update","progress":250}"#,
                "progress 250 is out of range 0–100",
            ),
            (
                r#"{"type":"progress_update","progress":-1}"#,
                "progress -1 is out of range 0–100",
            ),
            (
                r#"{"type":"progress_update","progress":"50"}"#,
                "progress must be a number",
            ),
            (
                r#"{"type":"x","ts":"yesterday"}"#,
                "is not an RFC 3339 time",
            ),
            (r#"{"type":"x","ts":12}"#, "ts must be a string"),
            (r#"{"type":"x","severity":"urgent"}"#, "severity \"urgent\""),
            (r#"{"type":"x","agent":["a"]}"#, "agent must be a string"),
            (r#"{"type":"x"} trailing"#, "not valid JSON"),
        ];
        for (line, want) in cases {
            let err = parse(line).expect_err(line);
            assert!(err.reason.contains(want), "{line}: {}", err.reason);
            assert_eq!((err.line, err.offset), (3, 120));
        }
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        let origin = Origin {
            source: "s",
            line: 1,
            offset: 0,
            ident: "",
        };
        let opts = ParseOptions::default();
        let err = parse_line(b"{\"type\":\"x\xff\"}", &origin, at(), &opts).unwrap_err();
        assert_eq!(err.reason, "invalid UTF-8 at byte 10");
        let err = parse_line(b"{\"type\":\"x\0\"}", &origin, at(), &opts).unwrap_err();
        assert!(err.reason.starts_with("not valid JSON"), "{}", err.reason);
        let deep = "[".repeat(100_000);
        let err = parse_line(deep.as_bytes(), &origin, at(), &opts).unwrap_err();
        assert!(err.reason.starts_with("not valid JSON"));
        let deep = format!("{{\"type\":\"x\",\"d\":{}", "[".repeat(100_000));
        let err = parse_line(deep.as_bytes(), &origin, at(), &opts).unwrap_err();
        assert!(err.reason.starts_with("not valid JSON"));
        let long = "x".repeat(1000);
        let err = parse_line(long.as_bytes(), &origin, at(), &opts).unwrap_err();
        assert_eq!(err.excerpt.len(), EXCERPT_BYTES);
    }

    #[test]
    fn parse_line_reads_what_serde_json_reads() {
        let origin = Origin {
            source: "s",
            line: 1,
            offset: 0,
            ident: "",
        };
        let opts = ParseOptions::default();
        let lines = [
            r#"{"type":"progress_update","ts":"2026-11-24T13:00:00.003783Z","id":"ev-1","agent":"a","component":"c","task":"T-1","progress":5.0,"message":"m"}"#,
            r#" { "type" : "x" , "id":7, "progress":100, "cpu":0.5, "n":-3, "z":-0, "big":18446744073709551616, "e":1e2, "null":null, "agent":null, "agent_id":"b" } "#,
            r#"{"type":"x","progress":007}"#,
            r#"{"type":"x","progress":1.}"#,
            r#"{"type":"x","progress":-}"#,
            r#"{"type":"x","progress":1e400}"#,
            r#"{"type":"x","a":1,"a":2,"agent_id":"old","agent":"new"}"#,
            r#"{"type":"x","msg":"a"b"}"#,
            r#"{"type":"x","msg":"tab	in"}"#,
            r#"{"type":"x","ok":true,"d":{"k":[1]}}"#,
            r#"{"type":"x",}"#,
            r#"{"type":"x"} {"#,
            r#"{"type":"x""#,
            r#"{}"#,
            r#"{"type":"été","agent":"ü"}"#,
            r#"{"type":"x","severity":2,"id":""}"#,
            "{\"type\":\"x\"}\u{a0}",
        ];
        for line in lines {
            let fast = parse_line(line.as_bytes(), &origin, at(), &opts).map_err(|e| e.reason);
            let slow = parse_object(line).and_then(|r| r.into_event(&origin, at(), &opts));
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{line}");
                    assert_eq!(
                        serde_json::to_string(a).unwrap(),
                        serde_json::to_string(b).unwrap(),
                        "{line}"
                    );
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{line}"),
                _ => panic!("{line}: fast {fast:?}, serde {slow:?}"),
            }
        }
    }

    #[test]
    fn parse_utc_reads_what_chrono_reads() {
        for s in [
            "2026-11-24T12:00:00.123Z",
            "2026-11-24T12:00:00Z",
            "2026-11-24T12:00:00.1Z",
            "2026-11-24T12:00:00.123456789Z",
            "2026-11-24T12:00:00.1234567891Z",
            "2026-11-24T23:59:59.999999Z",
            "2024-02-29T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T12:60:00Z",
            "2016-12-31T23:59:60Z",
            "2026-11-24t12:00:00Z",
            "2026-11-24T12:00:00z",
            "2026-11-24T12:00:00.Z",
            "2026-11-24T12:00:00+00:00",
            "0000-01-01T00:00:00Z",
            "2026-1-24T12:00:00Z",
            "2026-11-24T12:00:0xZ",
        ] {
            let chrono = DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc));
            if let Some(t) = parse_utc(s) {
                assert_eq!(Some(t), chrono, "{s}");
            }
            // Read twice: the second time from the second kept.
            assert_eq!(parse_utc(s), parse_utc(s), "{s}");
        }
        assert!(parse_utc("2026-11-24T12:00:00.5Z").is_some());
        assert!(
            parse_utc("2026-11-25T12:00:00.5Z").unwrap()
                > parse_utc("2026-11-24T23:00:00Z").unwrap()
        );
    }

    #[test]
    fn parse_value_matches_parse_line() {
        let line = r#"{"type":"task_assigned","agent":"a","task":"T","id":"i","ts":"2026-11-24T10:00:00Z"}"#;
        let origin = Origin {
            source: "s",
            line: 1,
            offset: 0,
            ident: "",
        };
        let opts = ParseOptions::default();
        let a = parse_line(line.as_bytes(), &origin, at(), &opts).unwrap();
        let v: Value = serde_json::from_str(line).unwrap();
        let b = parse_value(v, &origin, at(), &opts).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn an_event_without_an_id_is_known_by_place_and_file_content() {
        let at = |ident| Origin {
            source: "events/a.jsonl",
            line: 2,
            offset: 120,
            ident,
        };
        assert_eq!(
            at("2049:77:00ff00ff00ff00ff").fallback_id(),
            "events/a.jsonl:120:00ff00ff00ff00ff"
        );
        // Not a file of events/ (stdin, a stream, the seed's files): place only.
        for other in [
            "",
            "legacy:heartbeat_a",
            "redis://h:6379/s",
            "1:2:xyz",
            "1:2:3:4",
        ] {
            assert_eq!(at(other).fallback_id(), "events/a.jsonl:120", "{other}");
        }
    }
}
