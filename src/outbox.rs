//! The outbox (SPEC 8): every notification appended as one JSON line to
//! `outbox/<channel>.jsonl` (mode 0640) for each channel of its class, so an AI PM
//! agent reads it like any other file, and handed to the channel's hook.
//!
//! A notification leaves only once the journal record behind it is durable: the
//! journal writer posts letters to the outbox's `Mailbox` after the fsync that
//! made their records durable. The loop that applies events never waits for the
//! outbox, and the outbox waits for nobody: no cycle, whatever the queue holds.
//! Each line carries its record's `seq`; after a crash, the runtime finds in the
//! journal what was durable but not yet written out (`last_delivered` per
//! channel) and sends it, each channel skipping what it already has: once per
//! channel.
//!
//! A storm is told as a digest: letters of one class and kind made durable
//! together, `DIGEST_MIN` or more of them, go to each channel as one line (kind
//! `digest`) that holds them all; the journal keeps each one.

use crate::config::Config;
use crate::engine::NotifyClass;
use crate::hooks::Hooks;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// Letters of one class and kind made durable together from this many on go out
/// as one digest: 200 agents timing out in one tick is one line per channel.
pub const DIGEST_MIN: usize = 5;

/// The subjects a digest's summary names before it says how many more.
const SUMMARY_NAMES: usize = 5;

/// One notification on its way out: its journal record's `seq` (0: none), its
/// class, and its fields as journaled (`class`, `kind`, `at`, `body`).
pub struct Letter {
    pub seq: u64,
    pub class: NotifyClass,
    pub fields: Map<String, Value>,
}

impl Letter {
    pub fn new(seq: u64, n: &crate::engine::Notification) -> Letter {
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

    fn kind(&self) -> &str {
        self.fields
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

enum Mail {
    Letters(Vec<Letter>),
    Close,
}

/// Where letters are posted: by the journal writer once their records are
/// durable, and by the runtime for letters that wait for nothing. Posting never
/// blocks.
#[derive(Clone)]
pub struct Mailbox(Sender<Mail>);

impl Mailbox {
    pub fn post(&self, letters: Vec<Letter>) {
        if !letters.is_empty() {
            let _ = self.0.send(Mail::Letters(letters));
        }
    }
}

pub struct Outbox {
    mailbox: Mailbox,
    thread: Option<JoinHandle<()>>,
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
    to_line(m)
}

/// The line for a digest of `letters` (one class and kind, in `seq` order):
/// the last one's `seq`, how many, a summary a person reads at a glance, and
/// every letter's `seq`, `at` and `body`.
pub fn digest_line(channel: &str, letters: &[&Letter]) -> Vec<u8> {
    let (first, last) = (letters[0], letters[letters.len() - 1]);
    let kind = first.kind();
    // Distinct, in order: a task moved twice in one storm is named once.
    let mut seen = std::collections::HashSet::new();
    let names: Vec<String> = letters
        .iter()
        .filter_map(|l| subject(l))
        .filter(|name| seen.insert(name.clone()))
        .collect();
    let mut summary = format!("{} {}", letters.len(), what(kind, letters));
    if !names.is_empty() {
        let shown = names.iter().take(SUMMARY_NAMES).cloned();
        summary.push_str(&format!(": {}", shown.collect::<Vec<_>>().join(", ")));
        if names.len() > SUMMARY_NAMES {
            summary.push_str(&format!(" and {} more", names.len() - SUMMARY_NAMES));
        }
    }
    let items: Vec<Value> = letters
        .iter()
        .map(|l| {
            let mut item = Map::new();
            item.insert("seq".into(), l.seq.into());
            for key in ["at", "body"] {
                if let Some(v) = l.fields.get(key) {
                    item.insert(key.into(), v.clone());
                }
            }
            Value::Object(item)
        })
        .collect();
    let mut m = Map::new();
    m.insert("seq".into(), last.seq.into());
    m.insert("channel".into(), channel.into());
    if let Some(class) = first.fields.get("class") {
        m.insert("class".into(), class.clone());
    }
    m.insert("kind".into(), "digest".into());
    m.insert("of".into(), kind.into());
    if let Some(at) = last.fields.get("at") {
        m.insert("at".into(), at.clone());
    }
    m.insert("count".into(), letters.len().into());
    m.insert("summary".into(), summary.into());
    m.insert("items".into(), items.into());
    to_line(m)
}

/// What `letters` (all of `kind`) are, in the plural, for a digest's summary:
/// alerts named with their trigger when they share one ("agent_timeout alerts
/// opened").
fn what(kind: &str, letters: &[&Letter]) -> String {
    let phrase = match kind {
        "alert_opened" => "alerts opened",
        "alert_escalated" => "alerts escalated",
        "human_escalation" => "alerts escalated to a human",
        "alert_resolved" => "alerts resolved",
        "alert_retriggered" => "alerts triggered again",
        "alert_level_raised" => "alerts raised a level",
        "alert_reassigned" => "alerts reassigned",
        "task_reassigned" => return "tasks reassigned".into(),
        "backup_activated" => return "backups activated".into(),
        "resync_requested" => return "resyncs requested".into(),
        other => return format!("{other} notifications"),
    };
    let trigger = |l: &&Letter| {
        l.fields
            .get("body")
            .and_then(|b| b.get("trigger"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match letters.first().and_then(trigger) {
        Some(t)
            if letters
                .iter()
                .all(|l| trigger(l).as_deref() == Some(t.as_str())) =>
        {
            format!("{t} {phrase}")
        }
        _ => phrase.to_string(),
    }
}

/// What a letter is about, for a digest's summary: its alert, else its agent or
/// task.
fn subject(letter: &Letter) -> Option<String> {
    let body = letter.fields.get("body")?;
    let alert = body.get("alert").and_then(Value::as_str);
    let agent = body.get("agent").and_then(Value::as_str);
    let task = body.get("task").and_then(Value::as_str);
    match (alert, agent, task) {
        (Some(a), Some(who), _) => Some(format!("{a} {who}")),
        (Some(a), None, _) => Some(a.to_string()),
        (None, Some(who), _) => Some(who.to_string()),
        (None, None, Some(t)) => Some(t.to_string()),
        _ => None,
    }
}

fn to_line(m: Map<String, Value>) -> Vec<u8> {
    let mut out = serde_json::to_vec(&Value::Object(m)).expect("a JSON object serialises");
    out.push(b'\n');
    out
}

/// The lines for one channel of `letters` (in `seq` order): one each, except
/// that a class and kind with `DIGEST_MIN` letters or more goes as one digest,
/// in the place of its last letter, so that `seq` grows along the file.
pub fn lines(channel: &str, letters: &[&Letter]) -> Vec<Vec<u8>> {
    let key = |l: &Letter| (l.class, l.kind().to_string());
    let mut groups: HashMap<(NotifyClass, String), Vec<&Letter>> = HashMap::new();
    for l in letters {
        groups.entry(key(l)).or_default().push(l);
    }
    let mut out = Vec::new();
    for l in letters {
        let group = &groups[&key(l)];
        if group.len() < DIGEST_MIN {
            out.push(line(channel, l));
        } else if std::ptr::eq(*l, group[group.len() - 1]) {
            out.push(digest_line(channel, group));
        }
    }
    out
}

/// At exit, how long running hooks have to finish, then to end after SIGTERM:
/// both within a signal's clean-stop budget (`signals::GRACE`).
const HOOK_EXIT_GRACE: Duration = Duration::from_millis(150);

impl Outbox {
    /// Starts the thread writing under `dir` (created if missing).
    pub fn start(dir: &Path, config: &Config) -> io::Result<Outbox> {
        std::fs::create_dir_all(dir)?;
        let (tx, rx) = channel();
        let timeout = Duration::from_secs_f64(config.notification_config.hook_timeout_seconds);
        let delivered = last_delivered(dir);
        let newest = delivered.values().max().copied();
        let mut w = Writer {
            dir: dir.to_path_buf(),
            files: HashMap::new(),
            config: config.clone(),
            hooks: Some(Hooks::start(&config.hooks, timeout)),
            grace: timeout.min(HOOK_EXIT_GRACE),
            delivered,
        };
        let thread = std::thread::Builder::new()
            .name("outbox".into())
            .spawn(move || w.run(rx))?;
        Ok(Outbox {
            mailbox: Mailbox(tx),
            thread: Some(thread),
            newest,
        })
    }

    /// The newest `seq` the outbox held when it started (`None`: no line yet).
    pub fn newest_delivered(&self) -> Option<u64> {
        self.newest
    }

    /// Where the journal writer posts the letters it made durable.
    pub fn mailbox(&self) -> Mailbox {
        self.mailbox.clone()
    }

    /// Sends a letter that waits for nothing: already durable, or never journaled.
    pub fn send(&self, letter: Letter) {
        self.mailbox.post(vec![letter]);
    }
}

impl Drop for Outbox {
    /// Closing delivers what was posted before it (the journal, closed first,
    /// has posted all it made durable), then gives the hooks a short grace to
    /// finish. A journal that could not write posts nothing more: its letters
    /// are not sent.
    fn drop(&mut self) {
        let _ = self.mailbox.0.send(Mail::Close);
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
    /// How long closing waits for the hooks.
    grace: Duration,
    /// Per channel, the last `seq` it already holds (letters resent after a
    /// crash go only where they are missing).
    delivered: HashMap<String, u64>,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Mail>) {
        for mail in rx.iter() {
            match mail {
                Mail::Letters(letters) => self.deliver(&letters),
                Mail::Close => break,
            }
        }
        if let Some(h) = self.hooks.take() {
            h.close(self.grace);
        }
    }

    /// Writes `letters` (in `seq` order) to their channels, each channel
    /// skipping what it already holds.
    fn deliver(&mut self, letters: &[Letter]) {
        let mut names: Vec<String> = Vec::new();
        for l in letters {
            for c in channels(&self.config, l.class) {
                if !names.contains(c) {
                    names.push(c.clone());
                }
            }
        }
        for channel in &names {
            let held = self.delivered.get(channel).copied();
            let mine: Vec<&Letter> = letters
                .iter()
                .filter(|l| channels(&self.config, l.class).contains(channel))
                // A letter never journaled (seq 0) is never held.
                .filter(|l| l.seq == 0 || held.is_none_or(|d| l.seq > d))
                .collect();
            for bytes in lines(channel, &mine) {
                if let Err(e) = self.append(channel, &bytes) {
                    tracing::warn!(%channel, "outbox write failed: {e}");
                    self.files.remove(channel.as_str());
                }
                if let Some(h) = &self.hooks {
                    h.send(channel, bytes.trim_ascii_end());
                }
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
    use crate::engine::{Body, Notification};
    use std::os::unix::fs::PermissionsExt;

    fn note(class: NotifyClass, kind: &'static str) -> Notification {
        Notification {
            class,
            kind,
            at: "2026-11-24T12:00:00Z".parse().unwrap(),
            body: Body::Json(serde_json::json!({"task": "T-1", "from": "a", "to": "b"})),
        }
    }

    fn read_lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn each_channel_of_the_class_gets_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        let outbox = Outbox::start(dir.path(), &config).unwrap();
        outbox.send(Letter::new(
            7,
            &note(NotifyClass::Agents, "task_reassigned"),
        ));
        drop(outbox);
        for channel in &config.notification_config.agent_notification_channels {
            let path = dir.path().join(format!("{channel}.jsonl"));
            let v = &read_lines(&path)[0];
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

    /// Letters resent after a crash go only where they are missing; one that was
    /// never journaled (seq 0) is never taken for one already there.
    #[test]
    fn a_channel_skips_what_it_holds_but_never_an_unjournaled_letter() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("log.jsonl"),
            "{\"seq\":10,\"channel\":\"log\",\"kind\":\"x\"}\n",
        )
        .unwrap();
        let outbox = Outbox::start(dir.path(), &Config::default()).unwrap();
        assert_eq!(outbox.newest_delivered(), Some(10));
        let mailbox = outbox.mailbox();
        mailbox.post(vec![
            Letter::new(9, &note(NotifyClass::System, "console_started")),
            Letter::new(11, &note(NotifyClass::System, "console_stopped")),
        ]);
        outbox.send(Letter::new(0, &note(NotifyClass::System, "journal_error")));
        drop(outbox);
        let seqs: Vec<Value> = read_lines(&dir.path().join("log.jsonl"))
            .iter()
            .map(|v| v["seq"].clone())
            .collect();
        assert_eq!(seqs, [10, 11, 0]);
    }

    /// A storm goes to each channel as one digest holding every letter; fewer
    /// than `DIGEST_MIN` of a kind go one by one, and `seq` grows along the file.
    #[test]
    fn a_storm_is_one_digest_per_channel() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::default();
        let outbox = Outbox::start(dir.path(), &config).unwrap();
        let mut letters = Vec::new();
        for i in 0..200u64 {
            let mut n = note(NotifyClass::Agents, "task_reassigned");
            n.body = Body::Json(serde_json::json!({"task": format!("T{i}"), "to": "b"}));
            letters.push(Letter::new(2 * i + 1, &n));
            if i < DIGEST_MIN as u64 - 1 {
                letters.push(Letter::new(
                    2 * i + 2,
                    &note(NotifyClass::Agents, "backup_activated"),
                ));
            }
        }
        outbox.mailbox().post(letters);
        drop(outbox);
        for channel in &config.notification_config.agent_notification_channels {
            let lines = read_lines(&dir.path().join(format!("{channel}.jsonl")));
            let kinds: Vec<&str> = lines.iter().map(|v| v["kind"].as_str().unwrap()).collect();
            assert_eq!(
                kinds,
                ["backup_activated"; DIGEST_MIN - 1]
                    .iter()
                    .copied()
                    .chain(["digest"])
                    .collect::<Vec<_>>()
            );
            let seqs: Vec<u64> = lines.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
            let d = &lines[DIGEST_MIN - 1];
            assert_eq!(d["of"], "task_reassigned");
            assert_eq!(d["count"], 200);
            assert_eq!(d["seq"], 399);
            assert_eq!(d["items"].as_array().unwrap().len(), 200);
            assert_eq!(d["items"][199]["body"]["task"], "T199");
            assert_eq!(
                d["summary"],
                "200 tasks reassigned: T0, T1, T2, T3, T4 and 195 more"
            );
        }
    }

    #[test]
    fn a_digest_says_what_its_letters_are() {
        let alert = |seq: u64, trigger: &str| {
            let mut n = note(NotifyClass::PmHigh, "alert_opened");
            n.body = Body::Json(serde_json::json!({
                "alert": format!("A-{seq}"), "trigger": trigger, "agent": format!("a{seq}")
            }));
            Letter::new(seq, &n)
        };
        let summary = |letters: &[Letter]| {
            let refs: Vec<&Letter> = letters.iter().collect();
            let v: Value = serde_json::from_slice(&digest_line("c", &refs)).unwrap();
            v["summary"].as_str().unwrap().to_string()
        };
        let same: Vec<Letter> = (1..=6).map(|i| alert(i, "agent_timeout")).collect();
        assert_eq!(
            summary(&same),
            "6 agent_timeout alerts opened: A-1 a1, A-2 a2, A-3 a3, A-4 a4, A-5 a5 and 1 more"
        );
        let mixed = [alert(1, "agent_timeout"), alert(2, "blocker_detected")];
        assert_eq!(summary(&mixed), "2 alerts opened: A-1 a1, A-2 a2");
        let other = [Letter::new(3, &note(NotifyClass::System, "ingest_errors"))];
        assert!(summary(&other).starts_with("1 ingest_errors notifications"));
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
        let outbox = Outbox::start(&dir.path().join("outbox"), &config).unwrap();
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
