//! `coord.json`: the operator's configuration, its defaults (the seed's) and its
//! validation. Reading is strict: an unknown key, a wrong type or an impossible value is
//! refused with the file, the key path and what was expected, never silently ignored.
//!
//! The JSON plumbing here (`parse_json`, `ConfigError`, `Checker`) is shared with
//! `plan.json` (`model::plan`), so both files report errors the same way.

use crate::model::{Escalation, Level};
use chrono::Duration;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::ErrorKind;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// The configuration file's name inside the coordination directory.
pub const CONFIG_FILE: &str = "coord.json";

/// Longest duration any setting may hold. Bounded so that `now + duration` can never
/// overflow a timestamp in the engine, whatever the operator typed.
const MAX_DURATION_SECONDS: f64 = 366.0 * 24.0 * 3600.0;

/// Longest channel name: it becomes `outbox/<channel>.jsonl`, which must stay a legal
/// file name (255 bytes on common file systems) with room to spare.
const MAX_CHANNEL_LEN: usize = 128;

// ------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------

/// A configuration or plan file that cannot be used: which file, where in it, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}: {}", .file.display(), shown_key_path(.key_path), .message)]
pub struct ConfigError {
    pub file: PathBuf,
    /// Dotted path to the offending key, e.g. `phases[0].components[2].weight`; empty
    /// for the document as a whole.
    pub key_path: String,
    pub message: String,
}

impl ConfigError {
    /// Key paths and messages can quote text from the file (an unknown key's name), so
    /// control characters are escaped here, once, before anything can print them.
    pub fn new(file: &Path, key_path: impl AsRef<str>, message: impl AsRef<str>) -> ConfigError {
        ConfigError {
            file: file.to_path_buf(),
            key_path: escape_controls(key_path.as_ref()),
            message: escape_controls(message.as_ref()),
        }
    }
}

fn shown_key_path(key_path: &str) -> &str {
    if key_path.is_empty() {
        "(top level)"
    } else {
        key_path
    }
}

/// Shows C0/C1 controls, DEL and bidi controls as `\u{..}` so a hostile key name can
/// neither drive the terminal nor reorder the line it is printed on.
fn escape_controls(s: &str) -> String {
    let is_bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(|c| c.is_control() || is_bidi(c)) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() || is_bidi(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

// ------------------------------------------------------------------------------------
// Reading JSON with key paths (shared with plan.json)
// ------------------------------------------------------------------------------------

/// Reads a file that may be absent: `Ok(None)` when it does not exist, an error naming
/// the file for anything else (permissions, a directory, invalid UTF-8).
pub(crate) fn read_optional(file: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::new(file, "", format!("cannot read: {e}"))),
    }
}

/// Parses a whole JSON document into `T`, which must be a JSON object. Errors carry the
/// key path (via `serde_path_to_error`) and the line and column.
pub(crate) fn parse_json<T: DeserializeOwned>(text: &str, file: &Path) -> Result<T, ConfigError> {
    // Editors on some systems write a byte-order mark; it is not an error of substance.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let value: Object<T> = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_error(file, Some(e.path()), e.inner()))?;
    // Trailing garbage after the object is as wrong as a syntax error inside it.
    de.end().map_err(|e| json_error(file, None, &e))?;
    Ok(value.0)
}

fn json_error(
    file: &Path,
    path: Option<&serde_path_to_error::Path>,
    err: &serde_json::Error,
) -> ConfigError {
    use serde_path_to_error::Segment;
    let mut segments: Vec<&Segment> = path.map(|p| p.iter().collect()).unwrap_or_default();
    // A syntax error while reading a key leaves an unnamed last segment (`?`); the
    // object holding it is the useful place to point at.
    while let Some(Segment::Unknown) = segments.last() {
        segments.pop();
    }
    let full = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    let bare = full.strip_suffix(&position).unwrap_or(&full);
    let mut key_path = format_path(&segments);
    let mut message = match unknown_field(bare) {
        // Name the unknown key itself. serde_path_to_error includes it in the path when
        // the map goes through its key capture (our `object` helper ensures that), but
        // serde's struct path reports the parent, so add it when missing.
        Some((field, expected)) => {
            if !matches!(segments.last(), Some(Segment::Map { key }) if key == field) {
                push_key(&mut key_path, field);
            }
            format!("unknown key; expected one of: {}", expected.join(", "))
        }
        // Reported after the object was read, at the object's path.
        None => match bare
            .strip_prefix("duplicate field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            Some(field) => {
                push_key(&mut key_path, field);
                "duplicate key".to_string()
            }
            None => friendly_expected(bare),
        },
    };
    if err.line() > 0 {
        message.push_str(&format!(" (line {}, column {})", err.line(), err.column()));
    }
    ConfigError::new(file, key_path, message)
}

/// `a.b[2].c` from serde_path_to_error's segments; empty for the root (its own Display
/// prints `.` there).
fn format_path(segments: &[&serde_path_to_error::Segment]) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => push_key(&mut out, key),
            Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a` or
/// `b`", or "there are no fields") into the field and the expected names.
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    if let Some(field) = rest.strip_suffix("`, there are no fields") {
        return Some((field, Vec::new()));
    }
    // The expected names are ours and never contain the marker; the field (from the
    // file) might, so split at the last occurrence.
    let at = rest.rfind("`, expected ")?;
    let expected = rest[at + "`, expected ".len()..]
        .split('`')
        .skip(1)
        .step_by(2)
        .collect();
    Some((&rest[..at], expected))
}

/// serde names Rust types ("expected f64"); an operator editing JSON thinks in numbers.
fn friendly_expected(message: &str) -> String {
    for (rust, json) in [
        ("expected f64", "expected a number"),
        ("expected u32", "expected a whole number >= 0"),
        ("expected u64", "expected a whole number >= 0"),
    ] {
        if let Some(head) = message.strip_suffix(rust) {
            return format!("{head}{json}");
        }
    }
    message.to_string()
}

/// serde's derived structs also accept a JSON array, reading the fields by position; a
/// configuration read that way would be silently misread. Every struct-typed value is
/// therefore deserialized through these helpers, which accept only a JSON object.
pub(crate) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(Object)
    }
}

/// `deserialize_with` for a struct-typed field: a JSON object only.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(V(PhantomData))
}

/// `deserialize_with` for an `Option` of a struct: `null` or a JSON object.
pub(crate) fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(d).map(|o| o.map(|o| o.0))
}

/// `deserialize_with` for a list of structs: a JSON array of JSON objects.
pub(crate) fn object_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of JSON objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<Object<T>>()? {
                out.push(item.0);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(V(PhantomData))
}

// ------------------------------------------------------------------------------------
// Validation helpers (shared with plan.json)
// ------------------------------------------------------------------------------------

/// Builds validation errors for one file.
pub(crate) struct Checker<'a> {
    pub file: &'a Path,
}

impl Checker<'_> {
    pub fn fail(&self, key_path: impl AsRef<str>, message: impl AsRef<str>) -> ConfigError {
        ConfigError::new(self.file, key_path, message)
    }

    /// A finite number greater than zero.
    pub fn positive(&self, key_path: &str, value: f64) -> Result<(), ConfigError> {
        if value.is_finite() && value > 0.0 {
            Ok(())
        } else {
            Err(self.fail(
                key_path,
                format!("must be a number greater than 0; got {value}"),
            ))
        }
    }

    /// A duration of `value` units of `unit_seconds` each: finite, > 0, at most a year.
    fn duration(&self, key_path: &str, value: f64, unit_seconds: f64) -> Result<(), ConfigError> {
        if value.is_finite() && value > 0.0 && value * unit_seconds <= MAX_DURATION_SECONDS {
            Ok(())
        } else {
            Err(self.fail(
                key_path,
                format!("must be a duration greater than 0 and at most 366 days; got {value}"),
            ))
        }
    }

    /// Channel names become `outbox/<channel>.jsonl`: no path separators, no hidden
    /// files, nothing a shell or a file system could misread.
    fn channel(&self, key_path: &str, name: &str) -> Result<(), ConfigError> {
        let charset_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if charset_ok && !name.starts_with('.') && name.len() <= MAX_CHANNEL_LEN {
            Ok(())
        } else {
            Err(self.fail(
                key_path,
                format!(
                    "invalid channel name {name:?}: expected 1-{MAX_CHANNEL_LEN} characters \
                     of A-Z a-z 0-9 _ . - not starting with '.'"
                ),
            ))
        }
    }
}

// ------------------------------------------------------------------------------------
// The configuration
// ------------------------------------------------------------------------------------

/// Everything `coord.json` can hold. Every key is optional and defaults to the seed's
/// value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    #[serde(deserialize_with = "object")]
    pub crisis_response_config: CrisisResponseConfig,
    #[serde(deserialize_with = "object")]
    pub notification_config: NotificationConfig,
    #[serde(deserialize_with = "object")]
    pub quality_config: QualityConfig,
    #[serde(deserialize_with = "object")]
    pub heartbeat_config: HeartbeatConfig,
    #[serde(deserialize_with = "object")]
    pub crisis_matrix: CrisisMatrix,
    /// Channel name → command (argv, run without a shell) that receives each
    /// notification of that channel as JSON on stdin.
    pub hooks: BTreeMap<String, Vec<String>>,
    #[serde(deserialize_with = "object")]
    pub ingest: IngestConfig,
    #[serde(deserialize_with = "object")]
    pub ui: UiConfig,
}

/// The seed's `crisis_response_config`, plus the timers the spec adds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrisisResponseConfig {
    pub critical_response_time_seconds: f64,
    pub high_response_time_seconds: f64,
    pub medium_response_time_seconds: f64,
    pub low_response_time_seconds: f64,
    pub escalation_timeout_minutes: f64,
    /// `None` means `escalation_timeout_minutes`.
    pub ack_timeout_minutes: Option<f64>,
    pub max_automated_reassignments: u32,
    /// Percent, `0 < x <= 100`.
    pub phase1_completion_threshold: f64,
    pub communication_timeout_minutes: f64,
    pub blocker_escalation_hours: f64,
    /// Sliding window of completion samples the ETA line is fitted to.
    pub eta_window_minutes: f64,
}

impl Default for CrisisResponseConfig {
    fn default() -> Self {
        CrisisResponseConfig {
            critical_response_time_seconds: 30.0,
            high_response_time_seconds: 120.0,
            medium_response_time_seconds: 300.0,
            low_response_time_seconds: 1800.0,
            escalation_timeout_minutes: 15.0,
            ack_timeout_minutes: None,
            max_automated_reassignments: 2,
            phase1_completion_threshold: 95.0,
            communication_timeout_minutes: 10.0,
            blocker_escalation_hours: 6.0,
            eta_window_minutes: 60.0,
        }
    }
}

/// The seed's `notification_config`: which channels each kind of notification goes to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationConfig {
    pub pm_agent_critical_channels: Vec<String>,
    pub pm_agent_high_channels: Vec<String>,
    pub agent_notification_channels: Vec<String>,
    pub system_notification_channels: Vec<String>,
    pub hook_timeout_seconds: f64,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        let list = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        NotificationConfig {
            pm_agent_critical_channels: list(&["direct_alert", "coordination_dashboard"]),
            pm_agent_high_channels: list(&["coordination_dashboard", "status_report"]),
            agent_notification_channels: list(&["heartbeat", "task_update"]),
            system_notification_channels: list(&["dashboard", "log", "audit"]),
            hook_timeout_seconds: 10.0,
        }
    }
}

/// The seed's `quality_config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualityConfig {
    /// Consecutive failures of one gate before a human is called; at least 1.
    pub quality_gate_failure_threshold: u32,
    pub quality_recovery_timeout_minutes: f64,
    pub quality_validation_required: bool,
    pub automatic_quality_recovery: bool,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            quality_gate_failure_threshold: 2,
            quality_recovery_timeout_minutes: 30.0,
            quality_validation_required: true,
            automatic_quality_recovery: true,
        }
    }
}

/// Agent liveness: healthy until `late_after_seconds`, then late, then timed out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeartbeatConfig {
    pub late_after_seconds: f64,
    pub agent_timeout_minutes: f64,
    /// Waiting on a person this long opens an `agent_waiting` alert (SPEC 6).
    pub waiting_alert_minutes: f64,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            late_after_seconds: 90.0,
            agent_timeout_minutes: 5.0,
            waiting_alert_minutes: 2.0,
        }
    }
}

/// Per-trigger overrides of the crisis matrix (SPEC 5.1). An absent row, or an absent
/// field in a row, keeps the matrix default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrisisMatrix {
    #[serde(deserialize_with = "optional_object")]
    pub agent_timeout: Option<RowOverride>,
    #[serde(deserialize_with = "optional_object")]
    pub quality_gate_failure: Option<RowOverride>,
    #[serde(deserialize_with = "optional_object")]
    pub blocker_detected: Option<RowOverride>,
    #[serde(deserialize_with = "optional_object")]
    pub system_failure: Option<RowOverride>,
    #[serde(deserialize_with = "optional_object")]
    pub communication_failure: Option<RowOverride>,
    #[serde(deserialize_with = "optional_object")]
    pub task_failed: Option<RowOverride>,
    #[serde(deserialize_with = "optional_object")]
    pub agent_waiting: Option<RowOverride>,
    #[serde(deserialize_with = "optional_object")]
    pub budget_exceeded: Option<RowOverride>,
}

impl CrisisMatrix {
    /// The matrix's triggers, in the spec's order.
    pub const TRIGGERS: [&'static str; 8] = [
        "agent_timeout",
        "quality_gate_failure",
        "blocker_detected",
        "system_failure",
        "communication_failure",
        "task_failed",
        "agent_waiting",
        "budget_exceeded",
    ];

    /// The override for a trigger (an event type name such as `"agent_timeout"`), if
    /// the operator set one.
    pub fn row(&self, trigger: &str) -> Option<&RowOverride> {
        match trigger {
            "agent_timeout" => self.agent_timeout.as_ref(),
            "quality_gate_failure" => self.quality_gate_failure.as_ref(),
            "blocker_detected" => self.blocker_detected.as_ref(),
            "system_failure" => self.system_failure.as_ref(),
            "communication_failure" => self.communication_failure.as_ref(),
            "task_failed" => self.task_failed.as_ref(),
            "agent_waiting" => self.agent_waiting.as_ref(),
            "budget_exceeded" => self.budget_exceeded.as_ref(),
            _ => None,
        }
    }

    /// Whether the trigger's row escalates to a human after a time (SPEC 5.1's last
    /// column), i.e. whether `human_after_minutes` means anything for it.
    pub fn has_timed_human_escalation(trigger: &str) -> bool {
        matches!(
            trigger,
            "blocker_detected" | "communication_failure" | "quality_gate_failure"
        )
    }
}

/// One crisis-matrix row override; each `None` keeps the matrix default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RowOverride {
    pub level: Option<Level>,
    pub respond_within_seconds: Option<f64>,
    /// The escalation tier a new alert of this row opens at.
    pub open_at: Option<Escalation>,
    /// Unresolved this long, the alert goes to a human.
    pub human_after_minutes: Option<f64>,
}

/// Ingestion limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// A longer line is skipped and reported; 1 KiB ..= 1 GiB.
    pub max_line_bytes: u64,
    /// Events kept in memory for the views (the journal keeps all); at least 1000.
    pub retention_events: u64,
    /// A `ts` later than the time coord read the event by more than this
    /// counts as the read time (SPEC 5.3); 0 ..= 3600.
    pub max_clock_skew_seconds: f64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_line_bytes: 1_048_576,
            retention_events: 100_000,
            max_clock_skew_seconds: 5.0,
        }
    }
}

/// The console's look and keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Action name → key; validated where the key bindings are built.
    pub keys: BTreeMap<String, String>,
    pub theme: Theme,
    pub sync_output: SyncOutput,
    pub bell: Bell,
}

/// When the console rings the terminal's bell (so that tmux flags its window):
/// on a new Critical alert and on an escalation to a human (`critical`), only
/// on an escalation to a human (`human`), or never (`off`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bell {
    #[default]
    Critical,
    Human,
    Off,
}

/// Colour scheme. `Auto` picks from the terminal and `NO_COLOR`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Auto,
    Ansi16,
    Mono,
}

/// Synchronized terminal output around a draw. `Auto` is off under tmux, which
/// mishandles it in several versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncOutput {
    #[default]
    Auto,
    On,
    Off,
}

/// Reads `DIR/coord.json`; a missing file means all defaults.
pub fn load_config(dir: &Path) -> Result<Config, ConfigError> {
    let file = dir.join(CONFIG_FILE);
    match read_optional(&file)? {
        Some(text) => parse_config(&text, &file),
        None => Ok(Config::default()),
    }
}

/// Parses and validates the text of a `coord.json`; `file` is only used in errors.
pub fn parse_config(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let config: Config = parse_json(text, file)?;
    config.validate(file)?;
    Ok(config)
}

/// Seconds as whole milliseconds, at least 1 and at most a year, so that a timer is
/// never zero and never overflows a timestamp even for an unvalidated value.
fn millis(seconds: f64) -> Duration {
    let ms = (seconds * 1000.0)
        .round()
        .clamp(1.0, MAX_DURATION_SECONDS * 1000.0);
    // NaN survives the clamp and casts to 0; keep the "never zero" promise.
    Duration::milliseconds((ms as i64).max(1))
}

impl Config {
    /// Checks the values serde cannot: ranges, relations, channel names. Public so that
    /// code building a `Config` by hand (the demo) can hold it to the same rules.
    pub fn validate(&self, file: &Path) -> Result<(), ConfigError> {
        let c = Checker { file };

        let r = &self.crisis_response_config;
        let p = "crisis_response_config.";
        for (key, value, unit) in [
            (
                "critical_response_time_seconds",
                r.critical_response_time_seconds,
                1.0,
            ),
            (
                "high_response_time_seconds",
                r.high_response_time_seconds,
                1.0,
            ),
            (
                "medium_response_time_seconds",
                r.medium_response_time_seconds,
                1.0,
            ),
            (
                "low_response_time_seconds",
                r.low_response_time_seconds,
                1.0,
            ),
            (
                "escalation_timeout_minutes",
                r.escalation_timeout_minutes,
                60.0,
            ),
            (
                "communication_timeout_minutes",
                r.communication_timeout_minutes,
                60.0,
            ),
            (
                "blocker_escalation_hours",
                r.blocker_escalation_hours,
                3600.0,
            ),
            ("eta_window_minutes", r.eta_window_minutes, 60.0),
        ] {
            c.duration(&format!("{p}{key}"), value, unit)?;
        }
        if let Some(ack) = r.ack_timeout_minutes {
            c.duration(&format!("{p}ack_timeout_minutes"), ack, 60.0)?;
        }
        let t = r.phase1_completion_threshold;
        if !(t.is_finite() && t > 0.0 && t <= 100.0) {
            return Err(c.fail(
                format!("{p}phase1_completion_threshold"),
                format!("must be a percentage greater than 0 and at most 100; got {t}"),
            ));
        }

        let n = &self.notification_config;
        let p = "notification_config.";
        for (key, list) in [
            ("pm_agent_critical_channels", &n.pm_agent_critical_channels),
            ("pm_agent_high_channels", &n.pm_agent_high_channels),
            (
                "agent_notification_channels",
                &n.agent_notification_channels,
            ),
            (
                "system_notification_channels",
                &n.system_notification_channels,
            ),
        ] {
            for (i, name) in list.iter().enumerate() {
                c.channel(&format!("{p}{key}[{i}]"), name)?;
            }
        }
        c.duration(
            &format!("{p}hook_timeout_seconds"),
            n.hook_timeout_seconds,
            1.0,
        )?;

        let q = &self.quality_config;
        if q.quality_gate_failure_threshold < 1 {
            return Err(c.fail(
                "quality_config.quality_gate_failure_threshold",
                "must be at least 1; got 0",
            ));
        }
        c.duration(
            "quality_config.quality_recovery_timeout_minutes",
            q.quality_recovery_timeout_minutes,
            60.0,
        )?;

        let h = &self.heartbeat_config;
        c.duration(
            "heartbeat_config.late_after_seconds",
            h.late_after_seconds,
            1.0,
        )?;
        c.duration(
            "heartbeat_config.agent_timeout_minutes",
            h.agent_timeout_minutes,
            60.0,
        )?;
        c.duration(
            "heartbeat_config.waiting_alert_minutes",
            h.waiting_alert_minutes,
            60.0,
        )?;
        // Late must come before timed out, or the "late" state could never be seen.
        if h.late_after_seconds >= h.agent_timeout_minutes * 60.0 {
            return Err(c.fail(
                "heartbeat_config.late_after_seconds",
                format!(
                    "must be less than heartbeat_config.agent_timeout_minutes ({} min = {} s); got {}",
                    h.agent_timeout_minutes,
                    h.agent_timeout_minutes * 60.0,
                    h.late_after_seconds
                ),
            ));
        }

        for trigger in CrisisMatrix::TRIGGERS {
            let Some(row) = self.crisis_matrix.row(trigger) else {
                continue;
            };
            let p = format!("crisis_matrix.{trigger}.");
            if let Some(s) = row.respond_within_seconds {
                c.duration(&format!("{p}respond_within_seconds"), s, 1.0)?;
            }
            if let Some(m) = row.human_after_minutes {
                if !CrisisMatrix::has_timed_human_escalation(trigger) {
                    return Err(c.fail(
                        format!("{p}human_after_minutes"),
                        "this row has no time-based human escalation",
                    ));
                }
                c.duration(&format!("{p}human_after_minutes"), m, 60.0)?;
            }
        }

        for (channel, argv) in &self.hooks {
            let p = format!("hooks.{channel}");
            c.channel(&p, channel)?;
            match argv.first() {
                None => return Err(c.fail(
                    &p,
                    "expected a command as a non-empty array, e.g. [\"notify-send\", \"coord\"]",
                )),
                Some(program) if program.is_empty() => {
                    return Err(c.fail(format!("{p}[0]"), "the program name must not be empty"))
                }
                Some(_) => {}
            }
        }

        let i = &self.ingest;
        if !(1024..=1 << 30).contains(&i.max_line_bytes) {
            return Err(c.fail(
                "ingest.max_line_bytes",
                format!(
                    "must be between 1024 (1 KiB) and 1073741824 (1 GiB); got {}",
                    i.max_line_bytes
                ),
            ));
        }
        if i.retention_events < 1000 {
            return Err(c.fail(
                "ingest.retention_events",
                format!("must be at least 1000; got {}", i.retention_events),
            ));
        }
        if !(0.0..=3600.0).contains(&i.max_clock_skew_seconds) {
            return Err(c.fail(
                "ingest.max_clock_skew_seconds",
                format!(
                    "must be between 0 and 3600; got {}",
                    i.max_clock_skew_seconds
                ),
            ));
        }
        Ok(())
    }

    /// Unacknowledged this long, an alert escalates one level.
    pub fn escalation_timeout(&self) -> Duration {
        millis(self.crisis_response_config.escalation_timeout_minutes * 60.0)
    }

    /// Acknowledged but still open this long, an alert returns to Triggered.
    pub fn ack_timeout(&self) -> Duration {
        let r = &self.crisis_response_config;
        millis(
            r.ack_timeout_minutes
                .unwrap_or(r.escalation_timeout_minutes)
                * 60.0,
        )
    }

    pub fn communication_timeout(&self) -> Duration {
        millis(self.crisis_response_config.communication_timeout_minutes * 60.0)
    }

    pub fn blocker_escalation(&self) -> Duration {
        millis(self.crisis_response_config.blocker_escalation_hours * 3600.0)
    }

    pub fn eta_window(&self) -> Duration {
        millis(self.crisis_response_config.eta_window_minutes * 60.0)
    }

    pub fn quality_recovery_timeout(&self) -> Duration {
        millis(self.quality_config.quality_recovery_timeout_minutes * 60.0)
    }

    /// Silent this long, an agent is timed out.
    pub fn agent_timeout(&self) -> Duration {
        millis(self.heartbeat_config.agent_timeout_minutes * 60.0)
    }

    /// Waiting on a person this long, an agent gets an `agent_waiting` alert.
    pub fn waiting_alert(&self) -> Duration {
        millis(self.heartbeat_config.waiting_alert_minutes * 60.0)
    }

    /// Silent this long, an agent is late.
    pub fn late_after(&self) -> Duration {
        millis(self.heartbeat_config.late_after_seconds)
    }

    pub fn hook_timeout(&self) -> Duration {
        millis(self.notification_config.hook_timeout_seconds)
    }

    /// The level's response window, used when no matrix row sets one.
    pub fn response_window(&self, level: Level) -> Duration {
        let r = &self.crisis_response_config;
        millis(match level {
            Level::Critical => r.critical_response_time_seconds,
            Level::High => r.high_response_time_seconds,
            Level::Medium => r.medium_response_time_seconds,
            Level::Low => r.low_response_time_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        parse_config(text, Path::new("coord.json"))
    }

    /// Asserts that `text` is refused at `key_path` with a message containing `needle`.
    #[track_caller]
    fn refused(text: &str, key_path: &str, needle: &str) -> ConfigError {
        let err = parse(text).expect_err(text);
        assert_eq!(err.key_path, key_path, "{err}");
        assert!(err.message.contains(needle), "{err:?} lacks {needle:?}");
        err
    }

    /// The seed document's own configuration object, verbatim.
    const SEED: &str = r#"{
      "crisis_response_config": {
        "critical_response_time_seconds": 30,
        "high_response_time_seconds": 120,
        "medium_response_time_seconds": 300,
        "escalation_timeout_minutes": 15,
        "max_automated_reassignments": 2,
        "phase1_completion_threshold": 95
      },
      "notification_config": {
        "pm_agent_critical_channels": ["direct_alert", "coordination_dashboard"],
        "pm_agent_high_channels": ["coordination_dashboard", "status_report"],
        "agent_notification_channels": ["heartbeat", "task_update"],
        "system_notification_channels": ["dashboard", "log", "audit"]
      },
      "quality_config": {
        "quality_gate_failure_threshold": 2,
        "quality_recovery_timeout_minutes": 30,
        "quality_validation_required": true,
        "automatic_quality_recovery": true
      }
    }"#;

    #[test]
    fn seed_configuration_parses_and_equals_the_defaults() {
        assert_eq!(parse(SEED).unwrap(), Config::default());
    }

    #[test]
    fn defaults_are_the_seeds() {
        let c = Config::default();
        let r = &c.crisis_response_config;
        assert_eq!(r.critical_response_time_seconds, 30.0);
        assert_eq!(r.high_response_time_seconds, 120.0);
        assert_eq!(r.medium_response_time_seconds, 300.0);
        assert_eq!(r.low_response_time_seconds, 1800.0);
        assert_eq!(r.escalation_timeout_minutes, 15.0);
        assert_eq!(r.max_automated_reassignments, 2);
        assert_eq!(r.phase1_completion_threshold, 95.0);
        assert_eq!(
            c.notification_config.pm_agent_critical_channels,
            ["direct_alert", "coordination_dashboard"]
        );
        assert_eq!(
            c.notification_config.system_notification_channels,
            ["dashboard", "log", "audit"]
        );
        assert_eq!(c.quality_config.quality_gate_failure_threshold, 2);
        assert_eq!(c.quality_config.quality_recovery_timeout_minutes, 30.0);
        assert!(
            c.quality_config.quality_validation_required
                && c.quality_config.automatic_quality_recovery
        );
        assert_eq!(c.heartbeat_config.late_after_seconds, 90.0);
        assert_eq!(c.agent_timeout(), Duration::minutes(5));
        assert_eq!(c.ingest.max_line_bytes, 1 << 20);
        assert_eq!(c.ui.theme, Theme::Auto);
        assert_eq!(c.ui.sync_output, SyncOutput::Auto);
        c.validate(Path::new("coord.json")).unwrap();
        assert_eq!(parse("{}").unwrap(), c);
    }

    #[test]
    fn durations_convert_to_whole_milliseconds() {
        let mut c = Config::default();
        assert_eq!(c.escalation_timeout(), Duration::minutes(15));
        assert_eq!(
            c.ack_timeout(),
            Duration::minutes(15),
            "defaults to the escalation timeout"
        );
        assert_eq!(c.late_after(), Duration::seconds(90));
        assert_eq!(c.blocker_escalation(), Duration::hours(6));
        assert_eq!(c.communication_timeout(), Duration::minutes(10));
        assert_eq!(c.quality_recovery_timeout(), Duration::minutes(30));
        assert_eq!(c.eta_window(), Duration::hours(1));
        assert_eq!(c.hook_timeout(), Duration::seconds(10));
        assert_eq!(c.response_window(Level::Critical), Duration::seconds(30));
        assert_eq!(c.response_window(Level::Low), Duration::minutes(30));
        // The demo shortens timers to fractions of a minute.
        c.crisis_response_config.ack_timeout_minutes = Some(0.0125);
        assert_eq!(c.ack_timeout(), Duration::milliseconds(750));
        c.crisis_response_config.escalation_timeout_minutes = 1e-9;
        assert_eq!(
            c.escalation_timeout(),
            Duration::milliseconds(1),
            "never zero"
        );
    }

    #[test]
    fn example_file_holds_every_default() {
        let text = include_str!("../assets/coord.example.json");
        assert_eq!(parse(text).unwrap(), Config::default());
        // And it names every key: the defaults serialized have the same key paths.
        fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
            if let serde_json::Value::Object(map) = value {
                for (key, value) in map {
                    let path = format!("{prefix}.{key}");
                    keys(value, &path, out);
                    out.push(path);
                }
            }
        }
        let (mut example, mut defaults) = (Vec::new(), Vec::new());
        keys(&serde_json::from_str(text).unwrap(), "", &mut example);
        keys(
            &serde_json::to_value(Config::default()).unwrap(),
            "",
            &mut defaults,
        );
        example.sort();
        defaults.sort();
        assert_eq!(example, defaults);
    }

    #[test]
    fn serialized_config_reads_back() {
        let mut c = Config::default();
        c.crisis_matrix.blocker_detected = Some(RowOverride {
            level: Some(Level::High),
            respond_within_seconds: Some(90.0),
            open_at: Some(Escalation::Pm),
            human_after_minutes: Some(120.0),
        });
        c.hooks.insert(
            "direct_alert".into(),
            vec!["notify-send".into(), "coord".into()],
        );
        c.ui.theme = Theme::Ansi16;
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(parse(&text).unwrap(), c);
    }

    #[test]
    fn overrides_are_read() {
        let c = parse(
            r#"{"crisis_matrix":{"system_failure":{"level":"high","open_at":"pm"}},
                "hooks":{"direct_alert":["notify-send","coord"]},
                "ui":{"theme":"mono","sync_output":"off","keys":{"quit":"q"}}}"#,
        )
        .unwrap();
        let row = c.crisis_matrix.row("system_failure").unwrap();
        assert_eq!(
            (row.level, row.open_at),
            (Some(Level::High), Some(Escalation::Pm))
        );
        assert_eq!(c.crisis_matrix.row("agent_timeout"), None);
        assert_eq!(c.hooks["direct_alert"], ["notify-send", "coord"]);
        assert_eq!(
            (c.ui.theme, c.ui.sync_output),
            (Theme::Mono, SyncOutput::Off)
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let err = refused(
            r#"{"crisis_response_config":{"bogus_key":1}}"#,
            "crisis_response_config.bogus_key",
            "unknown key; expected one of: critical_response_time_seconds, ",
        );
        assert!(
            err.to_string().starts_with(
                "coord.json: crisis_response_config.bogus_key: unknown key; expected one of: \
                 critical_response_time_seconds, high_response_time_seconds"
            ),
            "{err}"
        );
        refused(r#"{"ui":{"theme":"auto"},"ui":{}}"#, "ui", "duplicate key");
        refused(
            r#"{"bogus":true}"#,
            "bogus",
            "expected one of: crisis_response_config, ",
        );
        refused(
            r#"{"crisis_matrix":{"agent_timeout":{"lvl":"low"}}}"#,
            "crisis_matrix.agent_timeout.lvl",
            "expected one of: level, respond_within_seconds, open_at, human_after_minutes",
        );
        refused(
            r#"{"crisis_matrix":{"agent_timeouts":{}}}"#,
            "crisis_matrix.agent_timeouts",
            "unknown key",
        );
    }

    #[test]
    fn hostile_key_names_are_escaped() {
        let err = parse("{\"\\u001b[31mred\":1}").unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err:?}");
        assert!(err.key_path.contains("\\u{1b}"), "{err:?}");
    }

    #[test]
    fn wrong_types_are_refused_with_their_path() {
        refused(
            r#"{"crisis_response_config":{"critical_response_time_seconds":"30"}}"#,
            "crisis_response_config.critical_response_time_seconds",
            "expected a number",
        );
        refused(
            r#"{"crisis_response_config":{"max_automated_reassignments":2.5}}"#,
            "crisis_response_config.max_automated_reassignments",
            "expected a whole number",
        );
        refused(
            r#"{"notification_config":{"pm_agent_high_channels":["a",3]}}"#,
            "notification_config.pm_agent_high_channels[1]",
            "expected a string",
        );
        refused(
            r#"{"quality_config":{"automatic_quality_recovery":"yes"}}"#,
            "quality_config.automatic_quality_recovery",
            "expected a boolean",
        );
        refused(
            r#"{"crisis_matrix":{"agent_timeout":{"level":"urgent"}}}"#,
            "crisis_matrix.agent_timeout.level",
            "expected one of",
        );
        refused(r#"{"ui":{"theme":"neon"}}"#, "ui.theme", "expected one of");
        // A struct written as an array would be read by position; refuse it.
        refused(
            r#"{"heartbeat_config":[30, 1]}"#,
            "heartbeat_config",
            "expected a JSON object",
        );
        refused(
            r#"{"crisis_matrix":{"system_failure":[]}}"#,
            "crisis_matrix.system_failure",
            "expected a JSON object",
        );
        refused("[]", "", "expected a JSON object");
        refused("null", "", "expected a JSON object");
    }

    #[test]
    fn invalid_json_gives_line_and_column() {
        let err = refused(
            "{\n  \"ui\": {\"theme\": \"auto\",}\n}",
            "ui",
            "(line 2, column",
        );
        assert!(err.to_string().starts_with("coord.json: ui: "), "{err}");
        refused("{} {}", "", "trailing characters (line 1, column 4)");
        refused("", "", "EOF while parsing a value (line 1, column 0)");
        assert_eq!(
            parse("\u{feff}{}").unwrap(),
            Config::default(),
            "a BOM is tolerated"
        );
    }

    #[test]
    fn impossible_values_are_refused() {
        for (text, key_path, needle) in [
            (
                r#"{"crisis_response_config":{"critical_response_time_seconds":0}}"#,
                "crisis_response_config.critical_response_time_seconds",
                "greater than 0",
            ),
            (
                r#"{"crisis_response_config":{"escalation_timeout_minutes":-1}}"#,
                "crisis_response_config.escalation_timeout_minutes",
                "got -1",
            ),
            (
                r#"{"crisis_response_config":{"blocker_escalation_hours":1e9}}"#,
                "crisis_response_config.blocker_escalation_hours",
                "at most 366 days",
            ),
            (
                r#"{"crisis_response_config":{"ack_timeout_minutes":0}}"#,
                "crisis_response_config.ack_timeout_minutes",
                "greater than 0",
            ),
            (
                r#"{"crisis_response_config":{"phase1_completion_threshold":101}}"#,
                "crisis_response_config.phase1_completion_threshold",
                "at most 100",
            ),
            (
                r#"{"crisis_response_config":{"phase1_completion_threshold":0}}"#,
                "crisis_response_config.phase1_completion_threshold",
                "greater than 0",
            ),
            (
                r#"{"notification_config":{"hook_timeout_seconds":0}}"#,
                "notification_config.hook_timeout_seconds",
                "greater than 0",
            ),
            (
                r#"{"notification_config":{"pm_agent_critical_channels":["ok","../etc"]}}"#,
                "notification_config.pm_agent_critical_channels[1]",
                "invalid channel name",
            ),
            (
                r#"{"notification_config":{"system_notification_channels":[".hidden"]}}"#,
                "notification_config.system_notification_channels[0]",
                "not starting with '.'",
            ),
            (
                r#"{"notification_config":{"agent_notification_channels":[""]}}"#,
                "notification_config.agent_notification_channels[0]",
                "invalid channel name",
            ),
            (
                r#"{"quality_config":{"quality_gate_failure_threshold":0}}"#,
                "quality_config.quality_gate_failure_threshold",
                "at least 1",
            ),
            (
                r#"{"quality_config":{"quality_recovery_timeout_minutes":0}}"#,
                "quality_config.quality_recovery_timeout_minutes",
                "greater than 0",
            ),
            (
                r#"{"heartbeat_config":{"late_after_seconds":300}}"#,
                "heartbeat_config.late_after_seconds",
                "less than heartbeat_config.agent_timeout_minutes",
            ),
            (
                r#"{"heartbeat_config":{"late_after_seconds":30,"agent_timeout_minutes":0.25}}"#,
                "heartbeat_config.late_after_seconds",
                "less than",
            ),
            (
                r#"{"heartbeat_config":{"agent_timeout_minutes":0}}"#,
                "heartbeat_config.agent_timeout_minutes",
                "greater than 0",
            ),
            (
                r#"{"crisis_matrix":{"agent_timeout":{"human_after_minutes":5}}}"#,
                "crisis_matrix.agent_timeout.human_after_minutes",
                "this row has no time-based human escalation",
            ),
            (
                r#"{"crisis_matrix":{"system_failure":{"human_after_minutes":5}}}"#,
                "crisis_matrix.system_failure.human_after_minutes",
                "no time-based",
            ),
            (
                r#"{"crisis_matrix":{"blocker_detected":{"human_after_minutes":0}}}"#,
                "crisis_matrix.blocker_detected.human_after_minutes",
                "greater than 0",
            ),
            (
                r#"{"crisis_matrix":{"quality_gate_failure":{"respond_within_seconds":-5}}}"#,
                "crisis_matrix.quality_gate_failure.respond_within_seconds",
                "greater than 0",
            ),
            (
                r#"{"hooks":{"a/b":["x"]}}"#,
                "hooks.a/b",
                "invalid channel name",
            ),
            (
                r#"{"hooks":{"direct_alert":[]}}"#,
                "hooks.direct_alert",
                "non-empty array",
            ),
            (
                r#"{"hooks":{"direct_alert":["","x"]}}"#,
                "hooks.direct_alert[0]",
                "must not be empty",
            ),
            (
                r#"{"ingest":{"max_line_bytes":100}}"#,
                "ingest.max_line_bytes",
                "between 1024",
            ),
            (
                r#"{"ingest":{"max_line_bytes":2147483648}}"#,
                "ingest.max_line_bytes",
                "1 GiB",
            ),
            (
                r#"{"ingest":{"retention_events":999}}"#,
                "ingest.retention_events",
                "at least 1000",
            ),
        ] {
            refused(text, key_path, needle);
        }
        // The rows that do escalate on time accept it.
        parse(r#"{"crisis_matrix":{"communication_failure":{"human_after_minutes":5}}}"#).unwrap();
    }

    #[test]
    fn load_reads_the_directory_or_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_config(dir.path()).unwrap(), Config::default());
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            r#"{"ingest":{"retention_events":5000}}"#,
        )
        .unwrap();
        assert_eq!(
            load_config(dir.path()).unwrap().ingest.retention_events,
            5000
        );
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            r#"{"ingest":{"retention_events":5}}"#,
        )
        .unwrap();
        let err = load_config(dir.path()).unwrap_err();
        assert_eq!(err.file, dir.path().join(CONFIG_FILE));
        assert_eq!(err.key_path, "ingest.retention_events");
    }

    #[test]
    fn error_display_names_the_top_level() {
        let err = ConfigError::new(Path::new("dir/coord.json"), "", "EOF");
        assert_eq!(err.to_string(), "dir/coord.json: (top level): EOF");
    }
}
