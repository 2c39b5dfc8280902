//! The seed project's own layout (SPEC 2, 3.3): `coord watch --layout legacy DIR`
//! reads `DIR/coordination_protocols/` (or DIR itself when it is that folder), a
//! folder of whole, pretty-printed JSON files that the seed's publisher rewrites
//! in place, with naive local timestamps:
//!
//! - `heartbeat_<agent>.json`, `progress_<component>.json`: one event each,
//!   rewritten in place. An event is taken only when the content changed; the
//!   seed's `event_id`s repeat within a second, so the event's id is made from the
//!   file name and a hash of the content (`legacy:heartbeat_be-1.json:<16 hex>`),
//!   and the seed's own id is kept as `seed_event_id`. Without a type, a heartbeat
//!   file is an `agent_heartbeat` and a progress file a `progress_update`; the
//!   agent or component comes from the file name when the content has none; a
//!   progress file with `"status":"blocked"` and `blockers` is a
//!   `blocker_detected`, its message made from the blockers.
//! - `coordination_alerts.json`, `{"alerts":[…]}`: only new entries are taken.
//!   `alert_type` `BLOCKER_DETECTED` is a `blocker_detected`; another alert type is
//!   that event type when it names one, else a `coordination_alert` (its
//!   `alert_type` stays in `data`). The parser lifts `data.component` and
//!   `data.agent_id`, and reads the seed's severities `info`/`warning` as low/medium.
//! - `coordination_dashboard.json`, `coordination_status_report.json` (derived
//!   summaries) and every other file are ignored.
//!
//! Naive timestamps are local time (the local offset at that instant, so a
//! daylight-saving change is honoured). The bytes handed over as an item's `raw`
//! are the transformed event re-serialised with `ts` written as RFC 3339 *with*
//! its offset, and the event handed over is `parse_line` of exactly those bytes
//! with the default (UTC) options: the journal's replay gives the same event.
//!
//! Exactly once across restarts. Checkpoints are keyed by an identity per file:
//! - `legacy:<name>` for a single-event file: `end` is the FNV-1a hash of the
//!   content last taken (the compact re-serialisation of its JSON, so whitespace
//!   alone is no change; for content that is not JSON, of its bytes), `line` is 1.
//!   On restart a file whose content hashes to `end` is not taken again; any other
//!   content is new. Bad content moves the checkpoint too, so it is reported once.
//! - `legacy:coordination_alerts.json` for the alerts: one identity per entry
//!   would grow the checkpoint map without bound, and a count alone breaks when
//!   the seed trims old entries. So each taken entry's position carries `line` =
//!   its 1-based index and `end` = the hash of its content: the checkpoint names
//!   the last entry taken and how many entries the file held up to it. On restart
//!   every entry up to the last one with that hash is taken as read (the count is
//!   the fallback when that entry is gone). Within a run, an entry is new when its
//!   hash was not in the file at the previous read, so trimming from the front and
//!   appending at the end are both followed. When the file shrinks, changes with
//!   nothing new, or is deleted, a `source` item moves the checkpoint to the file
//!   as it now is. Each entry's event id is its content hash, so should an entry
//!   ever be taken twice it is a counted duplicate, never a second event.
//! - `legacy:coordination_alerts.json#file` for errors of the alerts file as a
//!   whole (not JSON, not an object, `alerts` not a list, too big), so that
//!   reporting one does not move the entries' checkpoint; its `end` is the bad
//!   content's hash. An object without `alerts` holds no alerts yet.
//!
//! A file rewritten in place can be read half-written: content that is not JSON
//! is reported only once it has stayed the same for a second (at once with
//! `once`); an empty file is a file being written and is passed over. A file over
//! `max_line_bytes * 64` bytes is skipped and reported once per size and mtime.
//!
//! The folder is looked at every 250 ms (a file whose size, mtime or inode
//! changed is read again), woken sooner by `notify` hints, and every file is read
//! again every second whatever its metadata says.

use super::source::{Pass, Source};
use super::tailer::{Item, Pos};
use crate::journal::Checkpoints;
use crate::model::event::{parse_value, Origin, ParseOptions};
use crate::model::parse::parse_line_boxed;
use crate::model::{EventType, ParseError};
use chrono::{DateTime, FixedOffset, Local, Offset, TimeZone, Utc};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::hash::Hasher;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The seed's folder inside the coordination directory.
pub const FOLDER: &str = "coordination_protocols";
/// The alerts file.
pub const ALERTS_FILE: &str = "coordination_alerts.json";
/// How often the folder's metadata is looked at.
pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// How often every file is read again.
pub const RESCAN_EVERY: Duration = Duration::from_secs(1);
/// How long content that is not JSON must stay the same before it is reported.
pub const SETTLE: Duration = Duration::from_secs(1);

/// The folder `--layout legacy DIR` reads: DIR itself when it is named
/// `coordination_protocols` or already holds the seed's files, else
/// `DIR/coordination_protocols` (which need not exist yet).
pub fn legacy_dir(dir: &Path) -> PathBuf {
    let named = |p: &Path| p.file_name().is_some_and(|n| n == FOLDER);
    if named(dir) || dir.canonicalize().is_ok_and(|c| named(&c)) {
        return dir.to_path_buf();
    }
    let sub = dir.join(FOLDER);
    if sub.is_dir() {
        return sub;
    }
    let holds_seed_files = std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_str().and_then(classify).is_some())
    });
    if holds_seed_files {
        dir.to_path_buf()
    } else {
        sub
    }
}

/// The kinds of file the folder holds that carry events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Heartbeat,
    Progress,
    Alerts,
}

/// A file name to its kind and the subject its name gives (agent or component).
fn classify(name: &str) -> Option<(Kind, &str)> {
    if name.starts_with('.') {
        return None;
    }
    if name == ALERTS_FILE {
        return Some((Kind::Alerts, ""));
    }
    let stem = name.strip_suffix(".json")?;
    if let Some(agent) = stem.strip_prefix("heartbeat_") {
        return Some((Kind::Heartbeat, agent));
    }
    if let Some(component) = stem.strip_prefix("progress_") {
        return Some((Kind::Progress, component));
    }
    None // the dashboard, the status report, anything else
}

/// FNV-1a, 64 bits.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(bytes);
    h.finish()
}

/// The hash of a JSON value's content: of its compact serialisation.
fn value_hash(v: &Value) -> u64 {
    fnv(&serde_json::to_vec(v).unwrap_or_default())
}

/// The local UTC offset at an instant.
fn local_offset(at: DateTime<Utc>) -> FixedOffset {
    Local.offset_from_utc_datetime(&at.naive_utc()).fix()
}

/// What a file looked like when last read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Meta {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Meta {
    fn of(m: &std::fs::Metadata) -> Meta {
        Meta {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        }
    }
}

/// One file's reading state.
struct FileState {
    kind: Kind,
    subject: String,
    src: Arc<str>,
    id: Arc<str>,
    meta: Option<Meta>,
    /// Single-event file: the hash of the content last taken (or reported).
    taken: Option<u64>,
    /// Content that is not JSON, and when it was first seen so.
    pending: Option<(u64, Instant)>,
    /// Alerts: the checkpoint as journaled, `(end, line)`.
    ckpt: (u64, u64),
    /// Alerts: the initial checkpoint has been applied to a first good read.
    primed: bool,
    /// Alerts: the hashes of the entries at the last read.
    seen: HashSet<u64>,
    /// Alerts: the identity and last reported content of whole-file errors.
    file_id: Arc<str>,
    bad: Option<u64>,
}

/// The legacy folder: the files' states and how to read them.
pub struct LegacySource {
    dir: PathBuf,
    files: BTreeMap<String, FileState>,
    /// The `legacy:` checkpoints the run started with.
    checkpoints: Checkpoints,
    max_line_bytes: usize,
    /// Report content that is not JSON at once (a single pass).
    once: bool,
    settle: Duration,
    /// The offset of local time at an instant (swapped in tests).
    tz: fn(DateTime<Utc>) -> FixedOffset,
}

/// What one read of a file gave.
enum Content {
    /// Nothing to do: empty (being written) or gone.
    Nothing,
    Json(Value),
    /// Not usable as it is: the reason, the bytes for the excerpt, the content
    /// key, and whether it may be a writer's unfinished rewrite.
    Bad(String, Vec<u8>, u64, bool),
}

impl LegacySource {
    /// `dir` is the legacy folder itself (see `legacy_dir`); only the `legacy:`
    /// checkpoints are kept.
    pub fn new(dir: &Path, checkpoints: &Checkpoints, max_line_bytes: usize) -> LegacySource {
        LegacySource {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
            checkpoints: checkpoints
                .iter()
                .filter(|(k, _)| k.starts_with("legacy:"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            max_line_bytes,
            once: false,
            settle: SETTLE,
            tz: local_offset,
        }
    }

    /// Reports content that is not JSON at its first sight (for a single pass).
    pub fn set_once(&mut self, once: bool) {
        self.once = once;
    }

    fn cap(&self) -> u64 {
        (self.max_line_bytes as u64).saturating_mul(64)
    }

    /// The folder's event files, by name (symlinks only when they stay inside).
    fn list(&self) -> io::Result<Vec<(String, PathBuf)>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let root = self.dir.canonicalize()?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if classify(name).is_none() {
                continue;
            }
            let path = entry.path();
            let Ok(real) = path.canonicalize() else {
                continue;
            };
            if real.parent() != Some(root.as_path()) || !real.is_file() {
                continue;
            }
            out.push((name.to_string(), path));
        }
        out.sort();
        Ok(out)
    }

    fn state(&mut self, name: &str) -> &mut FileState {
        if !self.files.contains_key(name) {
            let (kind, subject) = classify(name).expect("listed files classify");
            let id = format!("legacy:{name}");
            let file_id = format!("{id}#file");
            let ck = self.checkpoints.get(&id);
            let st = FileState {
                kind,
                subject: subject.to_string(),
                src: format!("{FOLDER}/{name}").into(),
                taken: ck.map(|c| c.end),
                ckpt: ck.map_or((0, 0), |c| (c.end, c.line)),
                bad: self.checkpoints.get(&file_id).map(|c| c.end),
                id: id.into(),
                file_id: file_id.into(),
                meta: None,
                pending: None,
                primed: false,
                seen: HashSet::new(),
            };
            self.files.insert(name.to_string(), st);
        }
        self.files.get_mut(name).expect("inserted")
    }

    /// One look at the folder. `full` reads every file again; otherwise only
    /// the files whose metadata changed are read.
    pub fn pass(
        &mut self,
        full: bool,
        now: DateTime<Utc>,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        let listed = self.list()?;
        // The alerts file gone: its checkpoint follows, so that a new one is read whole.
        if !listed.iter().any(|(n, _)| n == ALERTS_FILE) {
            if let Some(st) = self.files.get_mut(ALERTS_FILE) {
                st.meta = None;
                if st.ckpt != (0, 0) {
                    st.ckpt = (0, 0);
                    out(Item::Source {
                        pos: pos(&st.src, &st.id, 0, 0, 0),
                        what: "deleted",
                    });
                }
            }
        }
        for (name, path) in listed {
            let meta = match std::fs::metadata(&path) {
                Ok(m) => Meta::of(&m),
                Err(_) => continue, // gone since the listing
            };
            let cap = self.cap();
            let once = self.once;
            let settle = self.settle;
            let tz = self.tz;
            let st = self.state(&name);
            if !full && st.meta == Some(meta) {
                continue;
            }
            st.meta = Some(meta);
            let content = read(&path, meta, cap);
            let (kind, src) = (st.kind, st.src.clone());
            let bad_pos = |st: &FileState, key: u64| match kind {
                Kind::Alerts => pos(&src, &st.file_id, 0, key, 1),
                _ => pos(&src, &st.id, 0, key, 1),
            };
            let value = match content {
                Content::Nothing => continue,
                Content::Json(v) => v,
                Content::Bad(reason, bytes, key, unfinished) => {
                    let known = match kind {
                        Kind::Alerts => st.bad,
                        _ => st.taken,
                    };
                    if known == Some(key) || (unfinished && !settled(st, key, once, settle)) {
                        continue;
                    }
                    let origin = Origin {
                        source: &src,
                        line: 1,
                        offset: 0,
                        ident: "",
                    };
                    out(Item::Line {
                        pos: bad_pos(st, key),
                        raw: Vec::new(),
                        parsed: Err(ParseError::new(&origin, reason, &bytes).into()),
                    });
                    match kind {
                        Kind::Alerts => st.bad = Some(key),
                        _ => st.taken = Some(key),
                    }
                    continue;
                }
            };
            st.pending = None;
            match kind {
                Kind::Alerts => {
                    let key = value_hash(&value);
                    let entries = match value {
                        Value::Object(mut m) => match m.remove("alerts") {
                            Some(Value::Array(a)) => Ok(a),
                            // No alerts yet.
                            Some(Value::Null) | None => Ok(Vec::new()),
                            Some(_) => Err("\"alerts\" is not an array"),
                        },
                        _ => Err("not a JSON object"),
                    };
                    match entries {
                        Ok(entries) => take_alerts(st, &name, entries, now, tz, out),
                        Err(reason) if st.bad != Some(key) => {
                            let origin = Origin {
                                source: &src,
                                line: 1,
                                offset: 0,
                                ident: "",
                            };
                            let text = std::fs::read(&path).unwrap_or_default();
                            out(Item::Line {
                                pos: bad_pos(st, key),
                                raw: Vec::new(),
                                parsed: Err(ParseError::new(&origin, reason, &text).into()),
                            });
                            st.bad = Some(key);
                        }
                        Err(_) => {}
                    }
                }
                Kind::Heartbeat | Kind::Progress => {
                    let key = value_hash(&value);
                    if st.taken == Some(key) {
                        continue;
                    }
                    st.taken = Some(key);
                    let origin = Origin {
                        source: &src,
                        line: 1,
                        offset: 0,
                        ident: "",
                    };
                    let p = pos(&src, &st.id, 0, key, 1);
                    let id = format!("legacy:{name}:{key:016x}");
                    let item = match value {
                        Value::Object(obj) => {
                            let obj = single_event(kind, &st.subject, obj, id);
                            let (raw, parsed) = normalise(obj, &origin, now, tz);
                            Item::Line {
                                pos: p,
                                raw,
                                parsed,
                            }
                        }
                        other => {
                            let text = other.to_string();
                            let reason = format!(
                                "not a JSON object (found {})",
                                crate::model::event::json_kind(&other)
                            );
                            Item::Line {
                                pos: p,
                                raw: Vec::new(),
                                parsed: Err(
                                    ParseError::new(&origin, reason, text.as_bytes()).into()
                                ),
                            }
                        }
                    };
                    out(item);
                }
            }
        }
        Ok(())
    }
}

/// Content that is not JSON is reported once it has stayed the same for
/// `settle` (a writer may be half-way through rewriting the file), or at once.
fn settled(st: &mut FileState, key: u64, once: bool, settle: Duration) -> bool {
    if once {
        return true;
    }
    match st.pending {
        Some((k, since)) if k == key => since.elapsed() >= settle,
        _ => {
            st.pending = Some((key, Instant::now()));
            false
        }
    }
}

fn pos(src: &Arc<str>, file: &Arc<str>, off: u64, end: u64, line: u64) -> Pos {
    Pos {
        src: src.clone(),
        file: file.clone(),
        off,
        end,
        line,
        entry: None,
    }
}

/// Reads a whole file, bounded by `cap`.
fn read(path: &Path, meta: Meta, cap: u64) -> Content {
    let key_of_meta = |what: &str| fnv(format!("{what}:{}:{}", meta.len, meta.mtime_ns).as_bytes());
    if meta.len > cap {
        let reason = format!("file of {} bytes is over {cap} bytes; skipped", meta.len);
        return Content::Bad(reason, Vec::new(), key_of_meta("too-big"), false);
    }
    let mut bytes = Vec::with_capacity(meta.len as usize);
    let got = std::fs::File::open(path).and_then(|f| f.take(cap + 1).read_to_end(&mut bytes));
    match got {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Content::Nothing,
        Err(e) => {
            let reason = format!("cannot read: {e}");
            let key = fnv(reason.as_bytes()) ^ key_of_meta("unreadable");
            return Content::Bad(reason, Vec::new(), key, true);
        }
    }
    if bytes.len() as u64 > cap {
        let reason = format!("file of over {cap} bytes; skipped");
        return Content::Bad(reason, Vec::new(), key_of_meta("too-big"), false);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Content::Nothing; // truncated for a rewrite, not written yet
    }
    let key = fnv(&bytes);
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let reason = format!("invalid UTF-8 at byte {}", e.valid_up_to());
            return Content::Bad(reason, bytes, key, true);
        }
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Content::Json(v),
        Err(e) => Content::Bad(format!("not valid JSON: {e}"), bytes, key, true),
    }
}

/// Takes the entries of the alerts file not seen at the previous read.
fn take_alerts(
    st: &mut FileState,
    name: &str,
    entries: Vec<Value>,
    now: DateTime<Utc>,
    tz: fn(DateTime<Utc>) -> FixedOffset,
    out: &mut impl FnMut(Item),
) {
    let hashes: Vec<u64> = entries.iter().map(value_hash).collect();
    if !st.primed {
        st.primed = true;
        let (end, line) = st.ckpt;
        if (end, line) != (0, 0) {
            // Everything up to the last entry taken before the restart is read;
            // if that entry is gone, the count of entries stands in.
            let upto = match hashes.iter().rposition(|&h| h == end) {
                Some(i) => i + 1,
                None => (line as usize).min(hashes.len()),
            };
            st.seen.extend(&hashes[..upto]);
        }
    }
    for (i, (entry, &h)) in entries.into_iter().zip(&hashes).enumerate() {
        if st.seen.contains(&h) {
            continue;
        }
        let (off, line) = (i as u64, i as u64 + 1);
        let origin = Origin {
            source: &st.src,
            line,
            offset: off,
            ident: "",
        };
        let p = pos(&st.src, &st.id, off, h, line);
        let item = match entry {
            Value::Object(obj) => {
                let obj = alert_event(obj, format!("legacy:{name}:{h:016x}"));
                let (raw, parsed) = normalise(obj, &origin, now, tz);
                Item::Line {
                    pos: p,
                    raw,
                    parsed,
                }
            }
            other => {
                let reason = format!(
                    "alert is not a JSON object (found {})",
                    crate::model::event::json_kind(&other)
                );
                let text = other.to_string();
                Item::Line {
                    pos: p,
                    raw: Vec::new(),
                    parsed: Err(ParseError::new(&origin, reason, text.as_bytes()).into()),
                }
            }
        };
        out(item);
        st.ckpt = (h, line);
    }
    st.seen = hashes.iter().copied().collect();
    // Shrunk, or changed with nothing new: the checkpoint follows the file.
    let now_is = (hashes.last().copied().unwrap_or(0), hashes.len() as u64);
    if st.ckpt != now_is {
        st.ckpt = now_is;
        out(Item::Source {
            pos: pos(&st.src, &st.id, 0, now_is.0, now_is.1),
            what: "rewritten",
        });
    }
}

/// A non-null value of one of `keys` at the top (where the parser reads `type`).
fn has_top(obj: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter()
        .any(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
}

/// A non-null, non-empty value of one of `keys`, at the top or in `data`.
fn has_any(obj: &Map<String, Value>, keys: &[&str]) -> bool {
    let present = |m: &Map<String, Value>| {
        keys.iter().any(|k| match m.get(*k) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        })
    };
    present(obj)
        || obj
            .get("data")
            .and_then(Value::as_object)
            .is_some_and(present)
}

/// The object with `id` set (the seed's own ids kept as `seed_event_id` and
/// `seed_id`) and, when given, `type` first.
fn with_type_and_id(obj: Map<String, Value>, kind: Option<&str>, id: String) -> Map<String, Value> {
    let mut out = Map::with_capacity(obj.len() + 3);
    let mut seed_type = None;
    if let Some(kind) = kind {
        out.insert("type".into(), Value::String(kind.into()));
    }
    out.insert("id".into(), Value::String(id));
    for (k, v) in obj {
        match k.as_str() {
            "type" | "event_type" if kind.is_some() => {
                if !v.is_null() {
                    seed_type = Some(v);
                }
            }
            "id" => {
                out.insert("seed_id".into(), v);
            }
            "event_id" => {
                out.insert("seed_event_id".into(), v);
            }
            _ => {
                out.insert(k, v);
            }
        }
    }
    if let Some(t) = seed_type {
        out.insert("seed_event_type".into(), t);
    }
    out
}

/// A heartbeat or progress file's object as an event.
fn single_event(
    kind: Kind,
    subject: &str,
    obj: Map<String, Value>,
    id: String,
) -> Map<String, Value> {
    let typed = has_top(&obj, &["type", "event_type"]);
    let mut new_type = None;
    let mut fill: Option<(&str, &[&str])> = None;
    let mut message = None;
    match kind {
        Kind::Heartbeat => {
            if !typed {
                new_type = Some("agent_heartbeat");
            }
            fill = Some(("agent", &["agent", "agent_id"]));
        }
        Kind::Progress => {
            let blocked = obj
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("blocked"));
            let blockers = blockers_text(obj.get("blockers"));
            if blocked && blockers.is_some() {
                new_type = Some("blocker_detected");
                if !has_any(&obj, &["message", "blocker_description"]) {
                    message = blockers;
                }
            } else if !typed {
                new_type = Some("progress_update");
            }
            fill = Some(("component", &["component"]));
        }
        Kind::Alerts => {}
    }
    let mut out = with_type_and_id(obj, new_type, id);
    if let Some((field, keys)) = fill {
        if !subject.is_empty() && !has_any(&out, keys) {
            out.insert(field.into(), Value::String(subject.into()));
        }
    }
    if let Some(m) = message {
        out.insert("message".into(), Value::String(m));
    }
    out
}

/// The seed's `blockers` (a list, or one text) as one message; `None` when empty.
fn blockers_text(v: Option<&Value>) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        Value::Object(m) => ["description", "message", "blocker_description"]
            .iter()
            .find_map(|k| m.get(*k).and_then(Value::as_str))
            .map_or_else(|| v.to_string(), |s| s.trim().to_string()),
        other => other.to_string(),
    };
    let parts: Vec<String> = match v? {
        Value::Array(items) => items.iter().map(text).filter(|s| !s.is_empty()).collect(),
        other => Some(text(other))
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
    };
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// An entry of the alerts file as an event.
fn alert_event(obj: Map<String, Value>, id: String) -> Map<String, Value> {
    let new_type = if has_top(&obj, &["type", "event_type"]) {
        None
    } else {
        let alert_type = obj.get("alert_type").and_then(Value::as_str).unwrap_or("");
        Some(if alert_type.eq_ignore_ascii_case("BLOCKER_DETECTED") {
            "blocker_detected".to_string()
        } else {
            match EventType::from_name(&alert_type.to_ascii_lowercase()) {
                EventType::Other(_) => "coordination_alert".to_string(),
                known => known.as_str().to_string(),
            }
        })
    };
    with_type_and_id(obj, new_type.as_deref(), id)
}

/// Parses the transformed object at local time, writes its `ts` as RFC 3339
/// with the local offset, and returns those bytes and `parse_line` of them with
/// the default options: what replay will read is what is handed over.
fn normalise(
    obj: Map<String, Value>,
    origin: &Origin,
    now: DateTime<Utc>,
    tz: fn(DateTime<Utc>) -> FixedOffset,
) -> (Vec<u8>, super::tailer::Parsed) {
    let opts = ParseOptions {
        naive_offset: tz(now),
    };
    let first = parse_value(Value::Object(obj.clone()), origin, now, &opts);
    let ts = match first {
        Err(e) => return (serde_json::to_vec(&obj).unwrap_or_default(), Err(e.into())),
        Ok(e) if e.ts_assumed => None,
        Ok(e) => {
            // The offset of local time at that instant, not now (daylight saving).
            let offset = tz(e.ts);
            let ts = if offset == opts.naive_offset {
                e.ts
            } else {
                let opts = ParseOptions {
                    naive_offset: offset,
                };
                parse_value(Value::Object(obj.clone()), origin, now, &opts).map_or(e.ts, |e| e.ts)
            };
            Some(ts.with_timezone(&offset).to_rfc3339())
        }
    };
    let obj = match ts {
        None => obj,
        Some(ts) => {
            let mut out = Map::with_capacity(obj.len() + 1);
            let mut rest = Map::with_capacity(obj.len());
            for (k, v) in obj {
                match k.as_str() {
                    "type" | "event_type" => {
                        out.insert(k, v);
                    }
                    "ts" | "timestamp" => {}
                    _ => {
                        rest.insert(k, v);
                    }
                }
            }
            out.insert("ts".into(), Value::String(ts));
            out.extend(rest);
            out
        }
    };
    let raw = serde_json::to_vec(&obj).unwrap_or_default();
    let parsed = parse_line_boxed(&raw, origin, now, &ParseOptions::default());
    (raw, parsed)
}

/// One pass over the folder of `dir` (see `legacy_dir`) past `checkpoints`, for
/// `coord status --layout legacy`: content that is not JSON is reported at once.
pub fn scan_once(
    dir: &Path,
    checkpoints: &Checkpoints,
    max_line_bytes: usize,
    now: DateTime<Utc>,
) -> io::Result<Vec<Item>> {
    let mut source = LegacySource::new(&legacy_dir(dir), checkpoints, max_line_bytes);
    source.set_once(true);
    let mut items = Vec::new();
    source.pass(true, now, &mut |i| items.push(i))?;
    Ok(items)
}

/// The legacy folder followed: a pass when the watcher hints or every
/// `POLL_EVERY`, a full pass every `RESCAN_EVERY`. `dir` is the coordination
/// directory or the legacy folder.
pub struct Followed {
    folder: PathBuf,
    source: LegacySource,
    /// Hints only wake the wait early; the timers catch whatever they miss.
    hints: Receiver<()>,
    tx: SyncSender<()>,
    /// Made once the folder exists.
    watcher: Option<notify::RecommendedWatcher>,
    last_full: Option<Instant>,
    once: bool,
    clock: fn() -> DateTime<Utc>,
}

impl Followed {
    pub fn new(
        dir: &Path,
        checkpoints: &Checkpoints,
        max_line_bytes: usize,
        once: bool,
        clock: fn() -> DateTime<Utc>,
    ) -> Followed {
        let folder = legacy_dir(dir);
        let mut source = LegacySource::new(&folder, checkpoints, max_line_bytes);
        source.set_once(once);
        let (tx, hints) = sync_channel(1);
        Followed {
            folder,
            source,
            hints,
            tx,
            watcher: None,
            last_full: None,
            once,
            clock,
        }
    }
}

impl Source for Followed {
    fn read(&mut self, mut out: &mut dyn FnMut(Item)) -> io::Result<Pass> {
        if !self.once && self.watcher.is_none() && self.folder.is_dir() {
            self.watcher = watch(&self.folder, self.tx.clone());
        }
        let full = self.last_full.is_none_or(|t| t.elapsed() >= RESCAN_EVERY);
        self.source.pass(full, (self.clock)(), &mut out)?;
        if full {
            self.last_full = Some(Instant::now());
        }
        Ok(Pass::AtEnd)
    }

    fn wait(&mut self, _stop: &AtomicBool) {
        let since = self.last_full.map_or(RESCAN_EVERY, |t| t.elapsed());
        let _ = self
            .hints
            .recv_timeout(POLL_EVERY.min(RESCAN_EVERY.saturating_sub(since)));
        while self.hints.try_recv().is_ok() {}
    }
}

fn watch(folder: &Path, tx: SyncSender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut w = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
        let _ = tx.try_send(());
    })
    .ok()?;
    w.watch(folder, notify::RecursiveMode::NonRecursive).ok()?;
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Checkpoint;
    use crate::model::parse::parse_line;
    use crate::model::{Event, Level};
    use chrono::NaiveDateTime;

    fn now() -> DateTime<Utc> {
        "2026-11-24T12:00:00Z".parse().unwrap()
    }

    fn plus_0530(_: DateTime<Utc>) -> FixedOffset {
        FixedOffset::east_opt(5 * 3600 + 1800).unwrap()
    }

    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        folder: PathBuf,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let folder = root.join(FOLDER);
        std::fs::create_dir(&folder).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            folder,
        }
    }

    impl Fixture {
        fn write(&self, name: &str, v: &Value) {
            let text = serde_json::to_string_pretty(v).unwrap();
            std::fs::write(self.folder.join(name), text).unwrap();
        }
        fn write_raw(&self, name: &str, text: &str) {
            std::fs::write(self.folder.join(name), text).unwrap();
        }
        fn source(&self, checkpoints: &Checkpoints) -> LegacySource {
            let mut s = LegacySource::new(&legacy_dir(&self.root), checkpoints, 1 << 20);
            s.tz = plus_0530;
            s.settle = Duration::ZERO;
            s
        }
    }

    fn pass(s: &mut LegacySource) -> Vec<Item> {
        let mut items = Vec::new();
        s.pass(true, now(), &mut |i| items.push(i)).unwrap();
        items
    }

    fn events(items: &[Item]) -> Vec<&Event> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Line { parsed: Ok(e), .. } => Some(&**e),
                _ => None,
            })
            .collect()
    }

    fn errors(items: &[Item]) -> Vec<&ParseError> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Line { parsed: Err(e), .. } => Some(&**e),
                _ => None,
            })
            .collect()
    }

    /// What replay rebuilds: the last position of each identity.
    fn replayed(items: &[Item], into: &mut Checkpoints) {
        for i in items {
            let p = i.pos();
            into.insert(
                p.file.to_string(),
                Checkpoint {
                    src: p.src.to_string(),
                    end: p.end,
                    line: p.line,
                    entry: None,
                    tail: None,
                },
            );
        }
    }

    /// Every event handed over is what replay reads back from its raw bytes.
    fn assert_replays(items: &[Item]) {
        for i in items {
            if let Item::Line {
                pos,
                raw,
                parsed: Ok(e),
            } = i
            {
                let origin = Origin {
                    source: &pos.src,
                    line: pos.line,
                    offset: pos.off,
                    ident: "",
                };
                let again = parse_line(raw, &origin, now(), &ParseOptions::default()).unwrap();
                assert_eq!(&again, &**e);
            }
        }
    }

    fn heartbeat(ts: &str) -> Value {
        serde_json::json!({
            "event_id": "hb_be-1_1732449600",
            "agent_id": "be-1",
            "timestamp": ts,
            "status": "active",
            "current_task": "T-17"
        })
    }

    #[test]
    fn heartbeat_rewrites_are_taken_when_the_content_changes() {
        let f = fixture();
        let mut s = f.source(&Checkpoints::new());
        let mut all = Vec::new();
        for ts in [
            "2026-11-24T13:00:00.123456",
            "2026-11-24T13:00:30.5",
            "2026-11-24T13:01:00",
        ] {
            f.write("heartbeat_be-1.json", &heartbeat(ts));
            let items = pass(&mut s);
            assert_eq!(events(&items).len(), 1, "{ts}");
            all.extend(items);
            // The same content again, in place or reformatted: nothing new.
            assert!(pass(&mut s).is_empty());
            f.write_raw(
                "heartbeat_be-1.json",
                &serde_json::to_string(&heartbeat(ts)).unwrap(),
            );
            assert!(pass(&mut s).is_empty());
        }
        let evs = events(&all);
        assert_eq!(evs.len(), 3);
        let ids: HashSet<&str> = evs.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), 3, "ids are by content, not the seed's event_id");
        for e in &evs {
            assert_eq!(e.kind, EventType::AgentHeartbeat);
            assert_eq!(e.agent.as_deref(), Some("be-1"));
            assert_eq!(e.task.as_deref(), Some("T-17"));
            assert_eq!(e.status.as_deref(), Some("active"));
            assert!(e.id.starts_with("legacy:heartbeat_be-1.json:"), "{}", e.id);
            assert_eq!(e.id.len(), "legacy:heartbeat_be-1.json:".len() + 16);
            assert_eq!(e.data_str("seed_event_id"), Some("hb_be-1_1732449600"));
        }
        // Naive local times (+05:30 here) read as such.
        assert_eq!(evs[0].ts.to_rfc3339(), "2026-11-24T07:30:00.123456+00:00");
        assert_replays(&all);
    }

    #[test]
    fn heartbeat_without_agent_or_type_takes_them_from_the_name() {
        let f = fixture();
        f.write(
            "heartbeat_qa-2.json",
            &serde_json::json!({"timestamp":"2026-11-24T10:00:00","cpu":0.5}),
        );
        let items = pass(&mut f.source(&Checkpoints::new()));
        let e = events(&items)[0].clone();
        assert_eq!(e.kind, EventType::AgentHeartbeat);
        assert_eq!(e.agent.as_deref(), Some("qa-2"));
        assert_eq!(
            e.data.as_ref().unwrap().get("cpu"),
            Some(&serde_json::json!(0.5))
        );
        assert_replays(&items);
    }

    #[test]
    fn progress_files_and_blocked_progress() {
        let f = fixture();
        f.write(
            "progress_auth-api.json",
            &serde_json::json!({"agent_id":"be-1","progress_percentage":40,
                "timestamp":"2026-11-24T10:00:00","status":"in_progress","blockers":[]}),
        );
        f.write(
            "progress_db.json",
            &serde_json::json!({"event_type":"progress_update","agent_id":"be-2",
                "progress_percentage":10,"timestamp":"2026-11-24T10:00:00",
                "status":"blocked","blockers":["waiting for the schema", "no CI runner"]}),
        );
        let items = pass(&mut f.source(&Checkpoints::new()));
        assert_replays(&items);
        let evs = events(&items);
        assert_eq!(evs.len(), 2);
        let p = evs
            .iter()
            .find(|e| e.agent.as_deref() == Some("be-1"))
            .unwrap();
        assert_eq!(p.kind, EventType::ProgressUpdate);
        assert_eq!(p.component.as_deref(), Some("auth-api"));
        assert_eq!(p.progress, Some(40.0));
        let b = evs
            .iter()
            .find(|e| e.agent.as_deref() == Some("be-2"))
            .unwrap();
        assert_eq!(b.kind, EventType::BlockerDetected);
        assert_eq!(b.component.as_deref(), Some("db"));
        assert_eq!(
            b.message.as_deref(),
            Some("waiting for the schema; no CI runner")
        );
        assert_eq!(b.progress, Some(10.0));
        assert_eq!(b.data_str("seed_event_type"), Some("progress_update"));
    }

    fn alert(n: u32, alert_type: &str, severity: &str) -> Value {
        serde_json::json!({
            "alert_id": format!("alert_{n}"),
            "alert_type": alert_type,
            "severity": severity,
            "message": format!("alert number {n}"),
            "timestamp": format!("2026-11-24T10:00:0{n}"),
            "data": {"component": "db", "agent_id": "be-2"}
        })
    }

    fn alerts(list: &[Value]) -> Value {
        serde_json::json!({ "alerts": list })
    }

    #[test]
    fn alerts_file_growing_is_taken_entry_by_entry_once() {
        let f = fixture();
        let a = [
            alert(1, "BLOCKER_DETECTED", "warning"),
            alert(2, "AGENT_TIMEOUT", "info"),
            alert(3, "RESOURCE_CONTENTION", "high"),
        ];
        let mut s = f.source(&Checkpoints::new());
        f.write(ALERTS_FILE, &alerts(&a[..1]));
        let mut all = pass(&mut s);
        assert_eq!(events(&all).len(), 1);
        assert!(pass(&mut s).is_empty());
        f.write(ALERTS_FILE, &alerts(&a[..3]));
        let more = pass(&mut s);
        assert_eq!(events(&more).len(), 2);
        all.extend(more);
        assert!(pass(&mut s).is_empty());
        assert_replays(&all);
        assert!(all.iter().all(|i| matches!(i, Item::Line { .. })));

        let evs = events(&all);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].kind, EventType::BlockerDetected);
        assert_eq!(evs[0].severity, Some(Level::Medium));
        assert_eq!(evs[0].component.as_deref(), Some("db"));
        assert_eq!(evs[0].agent.as_deref(), Some("be-2"));
        assert_eq!(evs[0].message.as_deref(), Some("alert number 1"));
        assert_eq!(evs[1].kind, EventType::AgentTimeout);
        assert_eq!(evs[1].severity, Some(Level::Low));
        assert_eq!(evs[2].kind, EventType::CoordinationAlert);
        assert_eq!(evs[2].data_str("alert_type"), Some("RESOURCE_CONTENTION"));
        assert_eq!(evs[2].severity, Some(Level::High));
        for e in &evs {
            assert!(e.id.starts_with("legacy:coordination_alerts.json:"));
        }
        // Positions: the entry's index, and its hash as where reading resumes.
        let lines: Vec<u64> = all.iter().map(|i| i.pos().line).collect();
        assert_eq!(lines, [1, 2, 3]);
    }

    #[test]
    fn derived_summaries_and_other_files_are_ignored() {
        let f = fixture();
        f.write(
            "coordination_dashboard.json",
            &serde_json::json!({"agents": 3, "timestamp":"2026-11-24T10:00:00"}),
        );
        f.write(
            "coordination_status_report.json",
            &serde_json::json!({"event_type":"progress_update"}),
        );
        f.write_raw("notes.txt", "hello");
        f.write_raw(".heartbeat_x.json", "{");
        f.write_raw("heartbeat_x.json.tmp", "{");
        assert!(pass(&mut f.source(&Checkpoints::new())).is_empty());
        assert!(scan_once(&f.root, &Checkpoints::new(), 1 << 20, now())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn naive_time_is_local_and_written_with_its_offset() {
        let f = fixture();
        f.write("heartbeat_be-1.json", &heartbeat("2026-11-24T13:00:00"));
        // The +05:30 stand-in for local time.
        let items = pass(&mut f.source(&Checkpoints::new()));
        let Item::Line { raw, parsed, .. } = &items[0] else {
            panic!()
        };
        let raw = std::str::from_utf8(raw).unwrap();
        assert!(
            raw.starts_with(r#"{"type":"agent_heartbeat","ts":"2026-11-24T13:00:00+05:30","id":"legacy:heartbeat_be-1.json:"#),
            "{raw}"
        );
        assert!(!raw.contains("timestamp"));
        assert_eq!(
            parsed.as_ref().unwrap().ts,
            "2026-11-24T07:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_replays(&items);

        // The machine's own local time, through scan_once.
        let items = scan_once(&f.root, &Checkpoints::new(), 1 << 20, now()).unwrap();
        let e = events(&items)[0];
        let naive =
            NaiveDateTime::parse_from_str("2026-11-24T13:00:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        let want = Local.from_local_datetime(&naive).earliest().unwrap();
        assert_eq!(e.ts, want.with_timezone(&Utc));
        assert_replays(&items);
        // And the event is what parse_value makes of the original at local time.
        let opts = ParseOptions {
            naive_offset: local_offset(e.ts),
        };
        let origin = Origin {
            source: "coordination_protocols/heartbeat_be-1.json",
            line: 1,
            offset: 0,
            ident: "",
        };
        let mut original = heartbeat("2026-11-24T13:00:00");
        original["type"] = "agent_heartbeat".into();
        let mut direct = parse_value(original, &origin, now(), &opts).unwrap();
        assert_eq!(direct.ts, e.ts);
        direct.id.clone_from(&e.id);
        direct
            .data
            .get_or_insert_default()
            .insert("seed_event_id".into(), "hb_be-1_1732449600".into());
        assert_eq!(&direct, e);

        // A zoned time is kept as its instant; a missing one is the ingest time.
        f.write(
            "heartbeat_be-1.json",
            &serde_json::json!({"ts":"2026-11-24T13:00:00Z"}),
        );
        f.write("heartbeat_be-2.json", &serde_json::json!({"status":"idle"}));
        let items = scan_once(&f.root, &Checkpoints::new(), 1 << 20, now()).unwrap();
        assert_replays(&items);
        let evs = events(&items);
        assert_eq!(evs[0].ts.to_rfc3339(), "2026-11-24T13:00:00+00:00");
        assert!(evs[1].ts_assumed);
        assert_eq!(evs[1].ts, now());
    }

    #[test]
    fn checkpoints_resume_exactly_once_after_a_restart() {
        let f = fixture();
        f.write("heartbeat_be-1.json", &heartbeat("2026-11-24T13:00:00"));
        f.write(
            "progress_db.json",
            &serde_json::json!({"progress_percentage": 5, "timestamp":"2026-11-24T10:00:00"}),
        );
        f.write(
            ALERTS_FILE,
            &alerts(&[alert(1, "BLOCKER_DETECTED", "warning")]),
        );
        f.write_raw("heartbeat_bad.json", "{\"agent_id\": ");
        let mut ck = Checkpoints::new();
        // Checkpoints of other sources are left alone.
        ck.insert(
            "1:2:abc".into(),
            Checkpoint {
                src: "events/a.jsonl".into(),
                end: 10,
                line: 1,
                entry: None,
                tail: None,
            },
        );
        let items = scan_once(&f.root, &ck, 1 << 20, now()).unwrap();
        assert_eq!(events(&items).len(), 3);
        assert_eq!(errors(&items).len(), 1);
        replayed(&items, &mut ck);
        assert!(scan_once(&f.root, &ck, 1 << 20, now()).unwrap().is_empty());

        // Changes while the console was down are taken, once.
        f.write("heartbeat_be-1.json", &heartbeat("2026-11-24T13:00:30"));
        f.write(
            ALERTS_FILE,
            &alerts(&[
                alert(1, "BLOCKER_DETECTED", "warning"),
                alert(2, "SYSTEM_FAILURE", "critical"),
            ]),
        );
        let items = scan_once(&f.root, &ck, 1 << 20, now()).unwrap();
        let evs = events(&items);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].kind, EventType::SystemFailure);
        assert_eq!(evs[1].kind, EventType::AgentHeartbeat);
        replayed(&items, &mut ck);
        assert!(scan_once(&f.root, &ck, 1 << 20, now()).unwrap().is_empty());
    }

    #[test]
    fn alerts_trimmed_and_appended_are_followed_live_and_after_a_restart() {
        let f = fixture();
        let a: Vec<Value> = (1..=6).map(|n| alert(n, "X", "info")).collect();
        let mut ck = Checkpoints::new();
        let mut s = f.source(&ck);
        f.write(ALERTS_FILE, &alerts(&a[..3]));
        let items = pass(&mut s);
        assert_eq!(events(&items).len(), 3);
        replayed(&items, &mut ck);
        // The seed keeps the last few: one dropped at the front, one appended.
        f.write(ALERTS_FILE, &alerts(&a[1..4]));
        let items = pass(&mut s);
        assert_eq!(events(&items).len(), 1);
        assert_eq!(events(&items)[0].message.as_deref(), Some("alert number 4"));
        replayed(&items, &mut ck);
        // While down: trimmed again and two appended.
        f.write(ALERTS_FILE, &alerts(&a[3..6]));
        let items = pass(&mut f.source(&ck));
        let msgs: Vec<_> = events(&items)
            .iter()
            .map(|e| e.message.clone().unwrap())
            .collect();
        assert_eq!(msgs, ["alert number 5", "alert number 6"]);
        replayed(&items, &mut ck);
        // Shrunk with nothing new: the checkpoint follows the file.
        f.write(ALERTS_FILE, &alerts(&a[3..4]));
        let mut s = f.source(&ck);
        let items = pass(&mut s);
        assert!(events(&items).is_empty());
        assert!(matches!(
            items[..],
            [Item::Source {
                what: "rewritten",
                ..
            }]
        ));
        replayed(&items, &mut ck);
        // Deleted, then written anew while down: read whole.
        std::fs::remove_file(f.folder.join(ALERTS_FILE)).unwrap();
        let items = pass(&mut s);
        assert!(matches!(
            items[..],
            [Item::Source {
                what: "deleted",
                ..
            }]
        ));
        replayed(&items, &mut ck);
        f.write(ALERTS_FILE, &alerts(&a[..1]));
        let items = pass(&mut f.source(&ck));
        assert_eq!(events(&items).len(), 1);
    }

    #[test]
    fn unparseable_files_are_reported_once_they_settle_and_once_per_content() {
        let f = fixture();
        let mut s = f.source(&Checkpoints::new());
        f.write_raw("heartbeat_be-1.json", "{\n  \"agent_id\": \"be-");
        assert!(pass(&mut s).is_empty(), "perhaps half-written: wait");
        let items = pass(&mut s);
        let errs = errors(&items);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].reason.starts_with("not valid JSON"),
            "{}",
            errs[0].reason
        );
        assert_eq!(errs[0].source, "coordination_protocols/heartbeat_be-1.json");
        assert!(pass(&mut s).is_empty());
        // Truncated for a rewrite: passed over; then the whole content is taken.
        f.write_raw("heartbeat_be-1.json", "");
        assert!(pass(&mut s).is_empty());
        f.write("heartbeat_be-1.json", &heartbeat("2026-11-24T13:00:00"));
        assert_eq!(events(&pass(&mut s)).len(), 1);
        // Valid JSON that is not an event: reported at once, once.
        f.write_raw("progress_db.json", "[1, 2]");
        f.write(
            "heartbeat_be-2.json",
            &serde_json::json!({"progress_percentage": 400}),
        );
        let items = pass(&mut s);
        let errs = errors(&items);
        assert_eq!(errs.len(), 2);
        assert!(
            errs[0].reason.contains("out of range"),
            "{}",
            errs[0].reason
        );
        assert!(
            errs[1].reason.contains("found an array"),
            "{}",
            errs[1].reason
        );
        assert!(pass(&mut s).is_empty());
        // The alerts file not holding alerts.
        f.write_raw(ALERTS_FILE, "{\"alerts\": 3}");
        let items = pass(&mut s);
        assert_eq!(errors(&items)[0].reason, "\"alerts\" is not an array");
        assert_eq!(
            match &items[0] {
                Item::Line { pos, .. } => pos.file.to_string(),
                _ => panic!(),
            },
            "legacy:coordination_alerts.json#file"
        );
        assert!(pass(&mut s).is_empty());
        // An object without alerts (yet) is no alert and no error.
        f.write_raw(ALERTS_FILE, "{\"last_updated\": \"2026-11-24T10:00:00\"}");
        assert!(pass(&mut s).is_empty());
        // A bad entry.
        f.write_raw(
            ALERTS_FILE,
            "{\"alerts\": [7, {\"alert_type\": \"X\", \"timestamp\": \"soon\"}]}",
        );
        let items = pass(&mut s);
        let errs = errors(&items);
        assert_eq!(errs.len(), 2);
        assert!(errs[0].reason.contains("found a number"));
        assert!(errs[1].reason.contains("RFC 3339"));
        assert_eq!((errs[1].line, errs[1].offset), (2, 1));
        std::fs::write(f.folder.join("heartbeat_x.json"), b"{\"a\":\"\xff\"}").unwrap();
        pass(&mut s);
        let errs = pass(&mut s);
        assert_eq!(errors(&errs)[0].reason, "invalid UTF-8 at byte 6");
    }

    #[test]
    fn oversized_files_are_skipped_and_reported_once() {
        let f = fixture();
        let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2000));
        f.write_raw("heartbeat_big.json", &big);
        let mut s = LegacySource::new(&f.folder, &Checkpoints::new(), 16);
        let items = pass(&mut s);
        assert_eq!(errors(&items).len(), 1);
        assert!(errors(&items)[0]
            .reason
            .contains("over 1024 bytes; skipped"));
        assert!(pass(&mut s).is_empty());
    }

    #[test]
    fn the_folder_is_found() {
        let f = fixture();
        assert_eq!(legacy_dir(&f.root), f.folder);
        assert_eq!(legacy_dir(&f.folder), f.folder);
        let other = tempfile::tempdir().unwrap();
        assert_eq!(legacy_dir(other.path()), other.path().join(FOLDER));
        std::fs::write(other.path().join(ALERTS_FILE), "{}").unwrap();
        assert_eq!(legacy_dir(other.path()), other.path());
        // A folder that does not exist yet is simply empty.
        let none = tempfile::tempdir().unwrap();
        assert!(scan_once(none.path(), &Checkpoints::new(), 1024, now())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn metadata_polls_read_changed_files_only() {
        let f = fixture();
        let mut s = f.source(&Checkpoints::new());
        f.write("heartbeat_be-1.json", &heartbeat("2026-11-24T13:00:00"));
        let mut items = Vec::new();
        s.pass(false, now(), &mut |i| items.push(i)).unwrap();
        assert_eq!(events(&items).len(), 1);
        items.clear();
        s.pass(false, now(), &mut |i| items.push(i)).unwrap();
        assert!(items.is_empty());
        f.write("heartbeat_be-1.json", &heartbeat("2026-11-24T13:00:00.25"));
        s.pass(false, now(), &mut |i| items.push(i)).unwrap();
        assert_eq!(events(&items).len(), 1);
    }

    #[test]
    fn run_once_delivers_one_caught_up_batch() {
        let f = fixture();
        f.write("heartbeat_be-1.json", &heartbeat("2026-11-24T13:00:00"));
        let mut got = Vec::new();
        crate::ingest::source::drive(
            &mut Followed::new(&f.root, &Checkpoints::new(), 1 << 20, true, now),
            true,
            &AtomicBool::new(false),
            |items, caught_up| {
                got.push((items.len(), caught_up));
                true
            },
        )
        .unwrap();
        assert_eq!(got, [(1, true)]);
    }

    #[test]
    fn run_follows_rewrites_until_stopped() {
        let f = fixture();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let (root, stop2) = (f.root.clone(), stop.clone());
        let t = std::thread::spawn(move || {
            crate::ingest::source::drive(
                &mut Followed::new(&root, &Checkpoints::new(), 1 << 20, false, now),
                false,
                &stop2,
                |items, caught_up| tx.send((items, caught_up)).is_ok(),
            )
        });
        let (items, caught_up) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(items.is_empty() && caught_up);
        for ts in ["2026-11-24T13:00:00", "2026-11-24T13:00:30"] {
            f.write("heartbeat_be-1.json", &heartbeat(ts));
            let (items, caught_up) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(events(&items).len(), 1);
            assert!(!caught_up);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        t.join().unwrap().unwrap();
    }
}
