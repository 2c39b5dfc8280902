//! `coord watch redis://HOST[:PORT]/STREAM`: the stream read with blocking
//! `XREAD`s from the checkpointed entry id, on a thread of its own with its own
//! tokio runtime. Entries become the same `Item`s as lines of a file, each with
//! its entry id as the checkpoint, so `kill -9` loses and repeats nothing.
//!
//! Redis down at start or gone mid-stream is a `disconnected` source item (the
//! console shows it), then reconnecting with backoff from the checkpoint.

use super::{StreamUrl, ACTION_FIELD, EVENT_FIELD};
use crate::ingest::lines::Line;
use crate::ingest::parse_one;
use crate::ingest::source::{Pass, Source};
use crate::ingest::tailer::{Item, Pos};
use crate::journal::Checkpoints;
use crate::model::event::{Origin, ParseOptions};
use crate::model::ParseError;
use chrono::{DateTime, Utc};
use redis::Value;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Entries per `XREAD`.
const BATCH: usize = 1024;
/// How long one `XREAD` waits for new entries: the stop flag is checked this often.
const BLOCK_MS: u64 = 500;
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The checkpoint key of a stream: its name (one state directory per stream,
/// whatever the host is called in the address).
pub fn checkpoint_key(url: &StreamUrl) -> String {
    format!("stream:{}", url.stream)
}

/// The stream read from its checkpoint. Each Redis call runs on this
/// thread's own runtime.
pub struct Reader {
    url: StreamUrl,
    src: Arc<str>,
    file: Arc<str>,
    /// The last entry read (`0` before the first).
    last: String,
    /// Entries read so far, over every run: the `line` of the next is one more.
    count: u64,
    max: usize,
    opts: ParseOptions,
    clock: fn() -> DateTime<Utc>,
    once: bool,
    rt: tokio::runtime::Runtime,
    client: redis::Client,
    config: redis::AsyncConnectionConfig,
    con: Option<redis::aio::MultiplexedConnection>,
    /// The link is down (and said so).
    down: bool,
    backoff: Duration,
}

impl Reader {
    pub fn new(
        url: &StreamUrl,
        checkpoints: &Checkpoints,
        max: usize,
        once: bool,
        clock: fn() -> DateTime<Utc>,
    ) -> io::Result<Reader> {
        let file = checkpoint_key(url);
        let (last, count) = match checkpoints.get(&file) {
            Some(c) => (c.entry.clone().unwrap_or_else(|| "0".into()), c.line),
            None => ("0".into(), 0),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(
                Duration::from_millis(BLOCK_MS) + Duration::from_secs(5),
            ));
        let client = url
            .client()
            .map_err(|e| io::Error::other(format!("{url}: {e}")))?;
        Ok(Reader {
            src: url.to_string().into(),
            file: file.into(),
            url: url.clone(),
            last,
            count,
            max,
            opts: ParseOptions::default(),
            clock,
            once,
            rt,
            client,
            config,
            con: None,
            down: false,
            backoff: BACKOFF_MIN,
        })
    }

    /// The link lost (or never made): said once, as a `disconnected` item. A
    /// one-shot run has nothing to wait for: it ends with the error.
    fn lost(&mut self, e: redis::RedisError, out: &mut dyn FnMut(Item)) -> io::Result<Pass> {
        if self.once {
            return Err(io::Error::other(format!("{}: {e}", self.url)));
        }
        self.con = None;
        if !self.down {
            self.down = true;
            tracing::warn!("{}: disconnected ({e}); retrying", self.url);
            out(self.source("disconnected"));
        }
        Ok(Pass::Retry)
    }
}

impl Source for Reader {
    /// One `XREAD` (blocking up to `BLOCK_MS` for new entries, unless `once`),
    /// connecting first if need be.
    fn read(&mut self, out: &mut dyn FnMut(Item)) -> io::Result<Pass> {
        if self.con.is_none() {
            let connect = self
                .client
                .get_multiplexed_async_connection_with_config(&self.config);
            match self.rt.block_on(connect) {
                Ok(con) => {
                    if std::mem::take(&mut self.down) {
                        tracing::info!("{}: connected again; reading from {}", self.url, self.last);
                        out(self.source("connected"));
                    }
                    self.backoff = BACKOFF_MIN;
                    self.con = Some(con);
                    self.check_trimmed(out);
                }
                Err(e) => return self.lost(e, out),
            }
        }
        let con = self.con.as_mut().expect("connected");
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(BATCH);
        if !self.once {
            cmd.arg("BLOCK").arg(BLOCK_MS);
        }
        cmd.arg("STREAMS").arg(&self.url.stream).arg(&self.last);
        let reply: Value = match self.rt.block_on(cmd.query_async(con)) {
            Ok(v) => v,
            Err(e) => return self.lost(e, out),
        };
        let items = self.items(reply);
        // Fewer than asked for: the reader has reached the stream's end.
        let at_end = items.len() < BATCH;
        items.into_iter().for_each(out);
        Ok(if at_end { Pass::AtEnd } else { Pass::More })
    }

    /// At the end, the next `XREAD` waits for new entries itself; after a lost
    /// link, the backoff (0.25 s doubling to 5 s).
    fn wait(&mut self, stop: &AtomicBool) {
        if self.con.is_none() {
            sleep_unless_stopped(self.backoff, stop);
            self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        }
    }
}

impl Reader {
    /// On each connection: entries after the checkpoint trimmed away before
    /// they were read are said (a `trimmed` source record, and how many may be
    /// missing in the log), never passed over in silence.
    fn check_trimmed(&mut self, out: &mut dyn FnMut(Item)) {
        let Some(con) = self.con.as_mut() else { return };
        if self.last == "0" {
            return;
        }
        let mut cmd = redis::cmd("XINFO");
        cmd.arg("STREAM").arg(&self.url.stream);
        // No such stream yet, or a Redis before 7: nothing to say.
        let Ok(info) = self.rt.block_on(cmd.query_async::<Value>(con)) else {
            return;
        };
        if let Some(missing) = trimmed_past(&info, &self.last, self.count) {
            let many = missing.map_or("some".to_string(), |n| n.to_string());
            tracing::warn!(
                "{}: trimmed past the checkpoint {}: {many} entries may be missing",
                self.url,
                self.last
            );
            out(self.source("trimmed"));
        }
    }

    fn source(&self, what: &'static str) -> Item {
        Item::Source {
            pos: self.pos(),
            what,
        }
    }

    /// The position after the last entry read: its ordinal, and its id.
    fn pos(&self) -> Pos {
        Pos {
            src: self.src.clone(),
            file: self.file.clone(),
            off: self.count,
            end: self.count + 1,
            line: self.count,
            entry: Some(self.last.as_str().into()),
        }
    }

    /// An `XREAD` reply (`[[stream, [[id, [field, value, …]], …]]]`, or nil) to items.
    fn items(&mut self, reply: Value) -> Vec<Item> {
        let mut out = Vec::new();
        let Value::Array(streams) = reply else {
            return out;
        };
        for stream in streams {
            let Value::Array(mut pair) = stream else {
                continue;
            };
            let Some(Value::Array(entries)) = pair.pop() else {
                continue;
            };
            out.reserve(entries.len());
            for entry in entries {
                if let Some(item) = self.entry(entry) {
                    out.push(item);
                }
            }
        }
        out
    }

    /// One entry to an item; `None` for a reply that is not an entry at all.
    fn entry(&mut self, entry: Value) -> Option<Item> {
        let Value::Array(mut parts) = entry else {
            return None;
        };
        let fields = match parts.pop() {
            Some(Value::Array(f)) => f,
            _ => Vec::new(),
        };
        let id = match parts.pop() {
            Some(Value::BulkString(b)) => String::from_utf8(b).ok()?,
            Some(Value::SimpleString(s)) => s,
            _ => return None,
        };
        self.count += 1;
        self.last = id;
        let pos = self.pos();
        let field = |name: &str| {
            fields.chunks(2).find_map(|kv| match kv {
                [Value::BulkString(k), Value::BulkString(v)] if k == name.as_bytes() => {
                    Some(v.as_slice())
                }
                _ => None,
            })
        };
        let now = (self.clock)();
        let origin = Origin {
            source: &self.src,
            line: pos.line,
            offset: pos.off,
            ident: "",
        };
        if let Some(bytes) = field(EVENT_FIELD) {
            // A journal record is one line: in valid JSON a line break can only be
            // whitespace between tokens, so it is read as a space.
            let flat;
            let bytes = if bytes.iter().any(|&b| b == b'\n' || b == b'\r') {
                flat = bytes
                    .iter()
                    .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
                    .collect::<Vec<u8>>();
                &flat[..]
            } else {
                bytes
            };
            let line = if bytes.len() > self.max {
                Line::TooLong {
                    offset: pos.off,
                    len: bytes.len() as u64,
                    head: &bytes[..bytes.len().min(256)],
                }
            } else {
                Line::Text {
                    bytes,
                    offset: pos.off,
                    end: pos.end,
                }
            };
            let parsed = parse_one(line, &self.src, "", pos.line, self.max, now, &self.opts)
                .unwrap_or_else(|| Err(ParseError::new(&origin, "empty event", bytes).into()));
            let raw = if parsed.is_ok() {
                bytes.to_vec()
            } else {
                Vec::new()
            };
            return Some(Item::Line { pos, raw, parsed });
        }
        let (reason, bytes): (String, &[u8]) = match field(ACTION_FIELD) {
            Some(bytes) if bytes.len() > self.max => (
                format!(
                    "stream entry {}: action of {} bytes is over max_line_bytes ({})",
                    self.last,
                    bytes.len(),
                    self.max
                ),
                &bytes[..bytes.len().min(256)],
            ),
            Some(bytes) => match action(bytes) {
                Ok((op, keys)) => {
                    return Some(Item::Action {
                        pos,
                        op: Box::new(op),
                        keys,
                    })
                }
                Err(why) => (
                    format!("stream entry {}: bad action: {why}", self.last),
                    bytes,
                ),
            },
            None => (
                format!(
                    "stream entry {} has no `{EVENT_FIELD}` or `{ACTION_FIELD}` field",
                    self.last
                ),
                b"",
            ),
        };
        let parsed = Err(ParseError::new(&origin, reason, bytes).into());
        Some(Item::Line {
            pos,
            raw: Vec::new(),
            parsed,
        })
    }
}

/// An action entry's text to the action and the dedup keys of its alerts.
fn action(bytes: &[u8]) -> Result<(crate::engine::OperatorAction, Vec<String>), String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let keys = match v.get("keys") {
        None => Vec::new(),
        Some(k) => serde_json::from_value(k.clone()).map_err(|e| format!("keys: {e}"))?,
    };
    let op = serde_json::from_value(v).map_err(|e| e.to_string())?;
    Ok((op, keys))
}

/// An entry id `ms-seq` as a pair that orders as the ids do.
fn entry_id(s: &str) -> Option<(u64, u64)> {
    let (ms, seq) = s.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// Whether `XINFO STREAM`'s reply says entries after `last` went before they
/// were read, and how many when that can be told. Trimmed past the checkpoint:
/// the first entry left is after `last`, and fewer are left than were added
/// and not read (`entries-added` − `read` − `length`: exact for a console that
/// read the stream from its start). Deleted one by one after it (`XDEL`):
/// `max-deleted-entry-id` is past `last`, how many is not known.
fn trimmed_past(info: &Value, last: &str, read: u64) -> Option<Option<u64>> {
    let fields: Vec<(&str, &Value)> = match info {
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((bulk(k)?, v)))
            .collect(),
        Value::Array(flat) => flat
            .chunks(2)
            .filter_map(|kv| Some((bulk(kv.first()?)?, kv.get(1)?)))
            .collect(),
        _ => return None,
    };
    let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let int = |name: &str| match get(name)? {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    let last = entry_id(last)?;
    let first = match get("first-entry") {
        Some(Value::Array(entry)) => entry.first().and_then(bulk).and_then(entry_id),
        _ => None,
    };
    if first.is_none_or(|f| f > last) {
        let (added, length) = (int("entries-added")?, int("length")?);
        let missing = added.saturating_sub(read.saturating_add(length));
        if missing > 0 {
            return Some(Some(missing));
        }
    }
    let deleted = get("max-deleted-entry-id")
        .and_then(bulk)
        .and_then(entry_id);
    deleted.is_some_and(|d| d > last).then_some(None)
}

fn bulk(v: &Value) -> Option<&str> {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}

#[cfg(test)]
mod trim_tests {
    use super::{trimmed_past, Value};

    fn info(first: Option<&str>, added: i64, length: i64, deleted: &str) -> Value {
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        Value::Array(vec![
            b("length"),
            Value::Int(length),
            b("max-deleted-entry-id"),
            b(deleted),
            b("entries-added"),
            Value::Int(added),
            b("first-entry"),
            first.map_or(Value::Nil, |id| {
                Value::Array(vec![b(id), Value::Array(vec![])])
            }),
        ])
    }

    #[test]
    fn a_trim_past_the_checkpoint_and_how_many_went() {
        // Read 10 (up to 5-9); 20 added; 3 left from 9-7 on: 7 went unread.
        assert_eq!(
            trimmed_past(&info(Some("9-7"), 20, 3, "0-0"), "5-9", 10),
            Some(Some(7))
        );
        // Trimmed only up to what was read: nothing missing.
        assert_eq!(
            trimmed_past(&info(Some("5-8"), 20, 12, "0-0"), "5-9", 10),
            None
        );
        // Everything read, then the stream emptied: nothing missing.
        assert_eq!(trimmed_past(&info(None, 10, 0, "0-0"), "5-9", 10), None);
        // Emptied with unread entries in it.
        assert_eq!(
            trimmed_past(&info(None, 12, 0, "0-0"), "5-9", 10),
            Some(Some(2))
        );
        // An entry after the checkpoint deleted on its own: some, not how many.
        assert_eq!(
            trimmed_past(&info(Some("1-0"), 20, 19, "6-0"), "5-9", 10),
            Some(None)
        );
        // Not an XINFO reply: nothing said.
        assert_eq!(trimmed_past(&Value::Nil, "5-9", 10), None);
    }
}
