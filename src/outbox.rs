//! The outbox (SPEC 8): every notification appended as one JSON line to
//! `outbox/<channel>.jsonl` (mode 0640) for each channel of its class, so an AI PM
//! agent reads it like any other file, and handed to the channel's hook.
//!
//! A notification leaves only once the journal record behind it is durable: the
//! outbox's thread waits for the journal writer's `durable_seq`. Each line carries
//! that record's `seq`; after a crash, the runtime finds in the journal what was
//! durable but not yet written out (`last_delivered` per channel) and sends it,
//! each channel skipping what it already has: once per channel.

use crate::config::Config;
use crate::engine::{Notification, NotifyClass};
use crate::hooks::Hooks;
use crate::journal::writer::WriterState;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Notifications queued for the thread; the loop blocks only if it falls this far
/// behind, which a disk that takes the journal's writes does not.
const QUEUE: usize = 1024;

/// One notification on its way out: the journal `seq` it waits for (0: none),
/// its class, and its fields as journaled (`class`, `kind`, `at`, `body`).
pub struct Letter {
    pub seq: u64,
    pub class: NotifyClass,
    pub fields: Map<String, Value>,
}

impl Letter {
    pub fn new(seq: u64, n: &Notification) -> Letter {
        let fields = match serde_json::to_value(n) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        Letter {
            seq,
            class: n.class,
            fields,
        }
    }

    /// A `notify` record's effect read back from the journal.
    pub fn from_record(seq: u64, effect: &str) -> Option<Letter> {
        let Value::Object(mut fields) = serde_json::from_str(effect).ok()? else {
            return None;
        };
        fields.remove("effect");
        let class = match fields.get("class")?.as_str()? {
            "pm_critical" => NotifyClass::PmCritical,
            "pm_high" => NotifyClass::PmHigh,
            "agents" => NotifyClass::Agents,
            "system" => NotifyClass::System,
            _ => return None,
        };
        Some(Letter { seq, class, fields })
    }
}

pub struct Outbox {
    tx: Option<SyncSender<Letter>>,
    thread: Option<JoinHandle<()>>,
    closing: Arc<AtomicBool>,
    newest: Option<u64>,
}

/// The channels a class of notification goes to.
pub fn channels(config: &Config, class: NotifyClass) -> &[String] {
    let n = &config.notification_config;
    match class {
        NotifyClass::PmCritical => &n.pm_agent_critical_channels,
        NotifyClass::PmHigh => &n.pm_agent_high_channels,
        NotifyClass::Agents => &n.agent_notification_channels,
        NotifyClass::System => &n.system_notification_channels,
    }
}

/// The line for one channel: `seq` and `channel` first, then the notification.
pub fn line(channel: &str, letter: &Letter) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("seq".into(), letter.seq.into());
    m.insert("channel".into(), channel.into());
    m.extend(letter.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut out = serde_json::to_vec(&Value::Object(m)).expect("a JSON object serialises");
    out.push(b'\n');
    out
}

impl Outbox {
    /// Starts the thread writing under `dir` (created if missing). `durable` is
    /// the journal writer's state; without one, letters go out at once.
    pub fn start(
        dir: &Path,
        config: &Config,
        durable: Option<Arc<WriterState>>,
    ) -> io::Result<Outbox> {
        std::fs::create_dir_all(dir)?;
        let (tx, rx) = sync_channel(QUEUE);
        let closing = Arc::new(AtomicBool::new(false));
        let timeout = Duration::from_secs_f64(config.notification_config.hook_timeout_seconds);
        let delivered = last_delivered(dir);
        let newest = delivered.values().max().copied();
        let mut w = Writer {
            dir: dir.to_path_buf(),
            files: HashMap::new(),
            config: config.clone(),
            hooks: Some(Hooks::start(&config.hooks, timeout)),
            durable,
            closing: closing.clone(),
            grace: timeout.min(Duration::from_secs(2)),
            delivered,
        };
        let thread = std::thread::Builder::new()
            .name("outbox".into())
            .spawn(move || w.run(rx))?;
        Ok(Outbox {
            tx: Some(tx),
            thread: Some(thread),
            closing,
            newest,
        })
    }

    /// The newest `seq` the outbox held when it started (`None`: no line yet).
    pub fn newest_delivered(&self) -> Option<u64> {
        self.newest
    }

    pub fn send(&self, letter: Letter) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(letter);
        }
    }
}

impl Drop for Outbox {
    /// Closing delivers what is queued (the journal is flushed before), then gives
    /// the hooks a short grace to finish.
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Release);
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Writer {
    dir: PathBuf,
    files: HashMap<String, File>,
    config: Config,
    hooks: Option<Hooks>,
    durable: Option<Arc<WriterState>>,
    closing: Arc<AtomicBool>,
    /// How long closing waits for the journal, and then for the hooks.
    grace: Duration,
    /// Per channel, the last `seq` it already holds (letters resent after a
    /// crash go only where they are missing).
    delivered: HashMap<String, u64>,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Letter>) {
        for letter in rx.iter() {
            if self.wait_durable(letter.seq) {
                self.deliver(&letter);
            } else {
                tracing::warn!(
                    seq = letter.seq,
                    "a notification was not sent: its journal record was never written"
                );
            }
        }
        if let Some(h) = self.hooks.take() {
            h.close(self.grace);
        }
    }

    /// Waits until the journal has made `seq` durable: if it cannot write (a full
    /// disk), the letter waits with it — nothing goes out that the journal might
    /// not have. Once the outbox is closing, it waits a grace period at most: a
    /// record the journal never wrote is not sent at all.
    fn wait_durable(&self, seq: u64) -> bool {
        let Some(state) = &self.durable else {
            return true;
        };
        let mut gave: Option<std::time::Instant> = None;
        while state.durable_seq.load(Ordering::Acquire) < seq {
            if self.closing.load(Ordering::Acquire) {
                let since = *gave.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > self.grace {
                    return false;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    fn deliver(&mut self, letter: &Letter) {
        for channel in channels(&self.config, letter.class).to_vec() {
            let channel = channel.as_str();
            if self
                .delivered
                .get(channel)
                .is_some_and(|&d| letter.seq <= d)
            {
                continue;
            }
            let bytes = line(channel, letter);
            if let Err(e) = self.append(channel, &bytes) {
                tracing::warn!(%channel, "outbox write failed: {e}");
                self.files.remove(channel);
            }
            if let Some(h) = &self.hooks {
                h.send(channel, bytes.trim_ascii_end());
            }
        }
    }

    fn append(&mut self, channel: &str, bytes: &[u8]) -> io::Result<()> {
        let file = match self.files.get_mut(channel) {
            Some(f) => f,
            None => {
                let f = open(&self.dir, channel)?;
                self.files.entry(channel.to_string()).or_insert(f)
            }
        };
        // One write of the whole line on an O_APPEND file: readers never see a
        // line torn by another writer.
        file.write_all(bytes)
    }
}

fn open(dir: &Path, channel: &str) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(dir.join(format!("{channel}.jsonl")))
}

/// The last bytes of a file: enough for its last lines, whatever its size (an
/// outbox grows for as long as the console runs).
fn tail(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 64 * 1024;
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL)))?;
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}

/// The last `seq` written to each channel's file (only the end of each file is
/// read); empty when the outbox holds no line yet.
pub fn last_delivered(dir: &Path) -> HashMap<String, u64> {
    let mut last = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return last;
    };
    for path in entries.flatten().map(|e| e.path()) {
        let (Some(channel), true) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().is_some_and(|e| e == "jsonl"),
        ) else {
            continue;
        };
        let Ok(bytes) = tail(&path) else {
            continue;
        };
        let seq = bytes
            .trim_ascii_end()
            .rsplit(|&b| b == b'\n')
            .find_map(|l| {
                serde_json::from_slice::<Value>(l)
                    .ok()?
                    .get("seq")?
                    .as_u64()
            });
        if let Some(seq) = seq {
            last.insert(channel.to_string(), seq);
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Body;
    use std::os::unix::fs::PermissionsExt;

    fn note(class: NotifyClass, kind: &'static str) -> Notification {
        Notification {
            class,
            kind,
            at: "2026-11-24T12:00:00Z".parse().unwrap(),
            body: Body::Json(serde_json::json!({"task": "T-1", "from": "a", "to": "b"})),
        }
    }

    #[test]
    fn each_channel_of_the_class_gets_one_line_after_the_record_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(WriterState::default());
        let config = Config::default();
        let outbox = Outbox::start(dir.path(), &config, Some(state.clone())).unwrap();
        outbox.send(Letter::new(
            7,
            &note(NotifyClass::Agents, "task_reassigned"),
        ));
        std::thread::sleep(Duration::from_millis(50));
        let file = dir.path().join("task_update.jsonl");
        assert!(
            !file.exists(),
            "nothing leaves before the journal has seq 7"
        );
        state.durable_seq.store(7, Ordering::Release);
        drop(outbox);
        for channel in &config.notification_config.agent_notification_channels {
            let path = dir.path().join(format!("{channel}.jsonl"));
            let text = std::fs::read_to_string(&path).unwrap();
            let v: Value = serde_json::from_str(text.trim_end()).unwrap();
            assert_eq!(v["seq"], 7);
            assert_eq!(v["channel"], channel.as_str());
            assert_eq!(v["kind"], "task_reassigned");
            assert_eq!(v["body"]["to"], "b");
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        assert_eq!(last_delivered(dir.path()).get("task_update"), Some(&7));
        assert!(last_delivered(&dir.path().join("none")).is_empty());
        // A long outbox: only its end is read, and its last line still counts.
        let long: String = (1..=3000)
            .map(|seq| format!("{{\"seq\":{seq},\"channel\":\"log\",\"kind\":\"x\"}}\n"))
            .collect();
        std::fs::write(dir.path().join("log.jsonl"), long).unwrap();
        assert_eq!(last_delivered(dir.path()).get("log"), Some(&3000));
    }

    #[test]
    fn closing_does_not_wait_forever_for_a_journal_that_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(WriterState::default());
        let outbox = Outbox::start(dir.path(), &Config::default(), Some(state)).unwrap();
        outbox.send(Letter::new(
            9,
            &note(NotifyClass::System, "console_stopped"),
        ));
        let start = std::time::Instant::now();
        drop(outbox);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(
            last_delivered(dir.path()).is_empty(),
            "never durable, never sent"
        );
    }

    #[test]
    fn a_hook_receives_the_channel_line() {
        let dir = tempfile::tempdir().unwrap();
        let got = dir.path().join("hook-got");
        let mut config = Config::default();
        config.hooks.insert(
            "direct_alert".into(),
            vec![
                "sh".into(),
                "-c".into(),
                format!("cat >> '{}'", got.display()),
            ],
        );
        let outbox = Outbox::start(&dir.path().join("outbox"), &config, None).unwrap();
        outbox.send(Letter::new(
            0,
            &note(NotifyClass::PmCritical, "human_escalation"),
        ));
        drop(outbox);
        let text = std::fs::read_to_string(got).unwrap();
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["channel"], "direct_alert");
        assert_eq!(v["kind"], "human_escalation");
    }
}
