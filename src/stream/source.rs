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

/// Reads the stream until `stop` (or, with `once`, until it has nothing more),
/// delivering batches; `deliver` returning false ends the run.
pub fn run(
    url: &StreamUrl,
    checkpoints: Checkpoints,
    max_line_bytes: usize,
    once: bool,
    stop: Arc<AtomicBool>,
    clock: impl Fn() -> DateTime<Utc>,
    deliver: impl FnMut(Vec<Item>, bool) -> bool,
) -> io::Result<()> {
    let mut reader = Reader::new(url, &checkpoints, max_line_bytes, clock);
    reader.run(once, &stop, deliver)
}

struct Reader<C> {
    url: StreamUrl,
    src: Arc<str>,
    file: Arc<str>,
    /// The last entry read (`0` before the first).
    last: String,
    /// Entries read so far, over every run: the `line` of the next is one more.
    count: u64,
    max: usize,
    opts: ParseOptions,
    clock: C,
}

impl<C: Fn() -> DateTime<Utc>> Reader<C> {
    fn new(url: &StreamUrl, checkpoints: &Checkpoints, max: usize, clock: C) -> Self {
        let file = checkpoint_key(url);
        let (last, count) = match checkpoints.get(&file) {
            Some(c) => (c.entry.clone().unwrap_or_else(|| "0".into()), c.line),
            None => ("0".into(), 0),
        };
        Reader {
            src: url.to_string().into(),
            file: file.into(),
            url: url.clone(),
            last,
            count,
            max,
            opts: ParseOptions::default(),
            clock,
        }
    }

    /// Each Redis call runs on this thread's runtime; `deliver` blocks outside it.
    fn run(
        &mut self,
        once: bool,
        stop: &AtomicBool,
        mut deliver: impl FnMut(Vec<Item>, bool) -> bool,
    ) -> io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(
                Duration::from_millis(BLOCK_MS) + Duration::from_secs(5),
            ));
        let client = self
            .url
            .client()
            .map_err(|e| io::Error::other(format!("{}: {e}", self.url)))?;
        let mut backoff = BACKOFF_MIN;
        let mut down = false;
        let mut caught_up = false;
        while !stop.load(Ordering::Relaxed) {
            let mut con =
                match rt.block_on(client.get_multiplexed_async_connection_with_config(&config)) {
                    Ok(con) => con,
                    Err(e) => {
                        // A one-shot run has nothing to wait for.
                        if once {
                            return Err(io::Error::other(format!("{}: {e}", self.url)));
                        }
                        if !down {
                            down = true;
                            tracing::warn!("{}: disconnected ({e}); retrying", self.url);
                            if !deliver(vec![self.source("disconnected")], false) {
                                return Ok(());
                            }
                        }
                        sleep_unless_stopped(backoff, stop);
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                };
            if down {
                down = false;
                tracing::info!("{}: connected again; reading from {}", self.url, self.last);
                if !deliver(vec![self.source("connected")], false) {
                    return Ok(());
                }
            }
            backoff = BACKOFF_MIN;
            while !stop.load(Ordering::Relaxed) {
                let mut cmd = redis::cmd("XREAD");
                cmd.arg("COUNT").arg(BATCH);
                if !once {
                    cmd.arg("BLOCK").arg(BLOCK_MS);
                }
                cmd.arg("STREAMS").arg(&self.url.stream).arg(&self.last);
                let reply: Value = match rt.block_on(cmd.query_async(&mut con)) {
                    Ok(v) => v,
                    Err(e) => {
                        if once {
                            return Err(io::Error::other(format!("{}: {e}", self.url)));
                        }
                        down = true;
                        tracing::warn!("{}: disconnected ({e}); retrying", self.url);
                        if !deliver(vec![self.source("disconnected")], false) {
                            return Ok(());
                        }
                        break;
                    }
                };
                let items = self.items(reply);
                // Fewer than asked for: the reader has reached the stream's end.
                let at_end = items.len() < BATCH;
                let first_end = at_end && !caught_up;
                caught_up |= at_end;
                if (!items.is_empty() || first_end) && !deliver(items, first_end) {
                    return Ok(());
                }
                if once && at_end {
                    return Ok(());
                }
            }
        }
        Ok(())
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
            let parsed = parse_one(line, &self.src, pos.line, self.max, now, &self.opts)
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

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}
