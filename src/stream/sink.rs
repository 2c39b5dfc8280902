//! Writing to a stream: events (`coord publish --to redis://…` and `Publisher`
//! for Rust agents) and a console's operator actions (`ActionSender`).
//!
//! Events are checked by the same `publish::prepare` as for a directory, all of a
//! batch before any is sent, then sent as one pipeline of `XADD`s.

use super::{StreamUrl, ACTION_FIELD, EVENT_FIELD};
use crate::config::IngestConfig;
use crate::engine::OperatorAction;
use crate::publish::{check_len, prepare_all, Prepared, PublishError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::mpsc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Entries per pipeline: large batches go out in slices of this many.
const PIPELINE: usize = 1000;

/// An event as it went into the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamPublished {
    /// The event's id (filled in when the event had none).
    pub id: String,
    pub ts: DateTime<Utc>,
    /// The stream entry's id, e.g. `1764000000000-0`.
    pub entry: String,
    /// The line as sent.
    pub line: String,
}

fn stream_error(url: &StreamUrl, e: redis::RedisError) -> PublishError {
    PublishError::Stream(format!("{url}: {e}"))
}

/// A connection to one stream, for publishing many events.
pub struct Publisher {
    url: StreamUrl,
    con: redis::Connection,
    max_line_bytes: usize,
}

impl Publisher {
    pub fn connect(url: &StreamUrl) -> Result<Publisher, PublishError> {
        let con = url
            .client()
            .and_then(|c| c.get_connection_with_timeout(CONNECT_TIMEOUT))
            .map_err(|e| stream_error(url, e))?;
        Ok(Publisher {
            url: url.clone(),
            con,
            max_line_bytes: IngestConfig::default().max_line_bytes as usize,
        })
    }

    /// Validates every event, fills `id` and `ts` where missing, then appends
    /// them in order. Nothing is sent when one is refused.
    pub fn publish(&mut self, events: &[Value]) -> Result<Vec<StreamPublished>, PublishError> {
        self.send_prepared(prepare_all(events, Utc::now())?)
    }

    /// Appends events already prepared, once every one is known to fit.
    pub(crate) fn send_prepared(
        &mut self,
        prepared: Vec<Prepared>,
    ) -> Result<Vec<StreamPublished>, PublishError> {
        for p in &prepared {
            check_len(p, self.max_line_bytes)?;
        }
        let mut out = Vec::with_capacity(prepared.len());
        let mut rest = prepared.into_iter().peekable();
        while rest.peek().is_some() {
            let slice: Vec<Prepared> = rest.by_ref().take(PIPELINE).collect();
            let mut pipe = redis::pipe();
            for p in &slice {
                pipe.cmd("XADD")
                    .arg(&self.url.stream)
                    .arg("*")
                    .arg(EVENT_FIELD)
                    .arg(&p.line);
            }
            let entries: Vec<String> = pipe
                .query(&mut self.con)
                .map_err(|e| stream_error(&self.url, e))?;
            for (p, entry) in slice.into_iter().zip(entries) {
                out.push(StreamPublished {
                    id: p.id,
                    ts: p.ts,
                    entry,
                    line: p.line,
                });
            }
        }
        Ok(out)
    }

    /// Appends an operator action, with the dedup keys of the alerts it names.
    fn send_action(&mut self, payload: &str) -> redis::RedisResult<String> {
        redis::cmd("XADD")
            .arg(&self.url.stream)
            .arg("*")
            .arg(ACTION_FIELD)
            .arg(payload)
            .query(&mut self.con)
    }
}

/// Publishes events to a stream in one call (one connection, one pipeline).
pub fn publish_to(url: &StreamUrl, events: &[Value]) -> Result<Vec<StreamPublished>, PublishError> {
    Publisher::connect(url)?.publish(events)
}

/// An action entry's text: the operator action, plus `keys`, the dedup keys of
/// the alerts it names (another console may number the same alert otherwise).
pub fn action_payload(op: &OperatorAction, keys: &[String]) -> String {
    let mut v = serde_json::to_value(op).expect("an action serializes");
    if let Value::Object(map) = &mut v {
        map.insert("keys".into(), Value::from(keys.to_vec()));
    }
    v.to_string()
}

/// Sends a console's operator actions from a thread of its own, so a slow or
/// absent Redis never stalls the screen. A failed send is logged (the Log pane);
/// the action is not applied anywhere, since consoles apply only what they read
/// back from the stream, and the operator sees it did not happen.
pub struct ActionSender {
    tx: mpsc::Sender<String>,
}

impl ActionSender {
    pub fn start(url: StreamUrl) -> ActionSender {
        let (tx, rx) = mpsc::channel::<String>();
        let spawned = std::thread::Builder::new()
            .name("stream-actions".into())
            .spawn(move || {
                let mut publisher: Option<Publisher> = None;
                for payload in rx {
                    // One retry on a fresh connection: the old one may predate a
                    // Redis restart.
                    let mut sent = Err(String::new());
                    for _ in 0..2 {
                        let p = match publisher.as_mut() {
                            Some(p) => p,
                            None => match Publisher::connect(&url) {
                                Ok(p) => publisher.insert(p),
                                Err(e) => {
                                    sent = Err(e.to_string());
                                    continue;
                                }
                            },
                        };
                        match p.send_action(&payload) {
                            Ok(entry) => {
                                sent = Ok(entry);
                                break;
                            }
                            Err(e) => {
                                sent = Err(e.to_string());
                                publisher = None;
                            }
                        }
                    }
                    match sent {
                        Ok(entry) => tracing::info!(%entry, "operator action sent to {url}"),
                        Err(e) => tracing::error!("operator action NOT sent to {url}: {e}"),
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("no thread to send operator actions: {e}");
        }
        ActionSender { tx }
    }

    pub fn send(&self, op: &OperatorAction, keys: &[String]) {
        let _ = self.tx.send(action_payload(op, keys));
    }
}
