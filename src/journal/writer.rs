//! The journal writer: a thread that appends records to segment files, and
//! beside it a syncer that makes them durable by group commit — whatever was
//! written while one fsync ran is made durable by the next, so writing never
//! waits for the disk. Notifications wait for it: the syncer posts each batch's
//! letters to the outbox once the fsync that made their records durable is done.
//!
//! The loop that applies events hands over its records with the ingested lines
//! still in their own buffers: the writer encodes their `event` records itself
//! (copying each raw line once, into a buffer it keeps), off that loop.
//!
//! A failed write (a full disk) is retried from where it stopped, never dropped:
//! the writer reports the error, and the bounded queue in front of it makes
//! ingestion pause until space returns.

use super::record::{EventWriter, Position};
use super::snapshot;
use crate::outbox::{Letter, Mailbox};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A segment is closed and the next one begun past this size (or past
/// `COORD_SEGMENT_BYTES`, when that is set: for tests of many segments).
pub const SEGMENT_BYTES: u64 = 64 << 20;

fn segment_bytes() -> u64 {
    std::env::var("COORD_SEGMENT_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(SEGMENT_BYTES)
}
/// Shortest time between the starts of two fsyncs of a backlog.
const SYNC_GAP: Duration = Duration::from_millis(10);
/// Buffers kept for the next records: a storm's (or a huge line's) are let go
/// rather than held for the rest of the run.
const KEEP_BYTES: usize = 1 << 20;
/// Batches of records queued for the writer at most (then the caller blocks).
/// Few: the writer does not wait for fsyncs, and a batch holds its lines.
const QUEUE: usize = 8;

/// The name of segment `n`: sorting names sorts segments.
pub fn segment_name(n: u64) -> String {
    format!("{n:08}.jsonl")
}

/// The segments of a journal directory, in order, with their numbers.
pub fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    numbered(dir, ".jsonl")
}

/// The files of `dir` named a number and `suffix`, by number (none when `dir`
/// does not exist).
pub fn numbered(dir: &Path, suffix: &str) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let n = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(suffix))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = n {
            out.push((n, path));
        }
    }
    out.sort();
    Ok(out)
}

fn open_segment(dir: &Path, n: u64) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join(segment_name(n)))
}

enum Msg {
    Write(Records, u64),
    Flush(SyncSender<()>),
    Snapshot(Box<snapshot::Job>),
}

/// Records for the writer, in order: `bytes` holds records written whole, and
/// each of `events` is an ingested line whose `event` record goes before the
/// byte at its offset.
#[derive(Default)]
pub struct Records {
    pub bytes: Vec<u8>,
    /// The time of the event records (a batch is applied at one time).
    pub at: String,
    pub events: Vec<Splice>,
    /// The lines `events` name, held until they are written, then dropped.
    pub lines: Option<Box<dyn Lines>>,
    /// The notifications of these records, posted once they are durable.
    pub letters: Vec<Letter>,
}

/// An event record to write: record `seq`, for line `line` of `Records::lines`,
/// before byte `offset` of `Records::bytes`.
#[derive(Clone, Copy, Debug)]
pub struct Splice {
    pub offset: usize,
    pub seq: u64,
    pub line: usize,
    /// The event's level in the stream (`Class::shown`).
    pub level: Option<crate::model::Level>,
}

/// Ingested lines, lent to the writer.
pub trait Lines: Send {
    /// Line `i`: where it was read and its raw bytes.
    fn line(&self, i: usize) -> Option<(Position<'_>, &[u8])>;
}

/// Records written whole, with no event record for the writer to add.
impl From<Vec<u8>> for Records {
    fn from(bytes: Vec<u8>) -> Records {
        Records {
            bytes,
            ..Records::default()
        }
    }
}

impl Records {
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.events.is_empty()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.bytes.shrink_to(KEEP_BYTES);
        self.events.clear();
        self.lines = None;
        self.letters = Vec::new();
    }

    /// The records as bytes: `bytes` itself when there is no event record to
    /// add, else everything written into `scratch`.
    fn encode<'a>(&'a self, scratch: &'a mut Vec<u8>, enc: &mut EventWriter) -> &'a [u8] {
        if self.events.is_empty() {
            return &self.bytes;
        }
        scratch.clear();
        let mut from = 0;
        for s in &self.events {
            scratch.extend_from_slice(&self.bytes[from..s.offset]);
            from = s.offset;
            let line = self.lines.as_ref().and_then(|l| l.line(s.line));
            debug_assert!(line.is_some(), "a splice names a line");
            if let Some((pos, raw)) = line {
                enc.event(scratch, s.seq, &self.at, &pos, s.level, raw);
            }
        }
        scratch.extend_from_slice(&self.bytes[from..]);
        scratch
    }
}

/// Shared state the console shows: how far is durable, and the last write error.
#[derive(Default)]
pub struct WriterState {
    pub durable_seq: AtomicU64,
    /// The last record handed to the writer (or being handed, while its queue
    /// is full): what a flush would make durable.
    pub queued_seq: AtomicU64,
    pub written_bytes: AtomicU64,
    pub error: Mutex<Option<String>>,
}

pub struct JournalWriter {
    tx: Option<SyncSender<Msg>>,
    /// `Records` written, handed back to be filled again: a fresh buffer each
    /// time is grown (copied) and faulted in again, then freed on another thread.
    spent: Receiver<Records>,
    pub state: Arc<WriterState>,
    thread: Option<JoinHandle<()>>,
    /// The senders lent to `Flusher`s, emptied on close so the writer can end.
    flushers: Mutex<Vec<Lent>>,
}

/// A sender lent out, taken back (`None`) when the writer closes.
type Lent = Arc<Mutex<Option<SyncSender<Msg>>>>;

/// Flushes a journal from elsewhere (a panic hook, a last-resort stop): waits up
/// to `timeout` for everything queued to be on disk, and never longer, even
/// while the writer's queue is full.
#[derive(Clone)]
pub struct Flusher(Lent);

impl Flusher {
    pub fn flush(&self, timeout: Duration) -> bool {
        let Some(tx) = self.0.lock().ok().and_then(|t| t.clone()) else {
            return false;
        };
        let deadline = Instant::now() + timeout;
        let (ack, done) = sync_channel(1);
        let mut msg = Msg::Flush(ack);
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(std::sync::mpsc::TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return false,
            }
        }
        done.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

impl JournalWriter {
    /// Appends to segment `segment` of `dir` (created 0600 if new); letters go
    /// to `mailbox` once durable (without one, nowhere).
    pub fn open(dir: &Path, segment: u64, mailbox: Option<Mailbox>) -> io::Result<JournalWriter> {
        std::fs::create_dir_all(dir)?;
        let file = open_segment(dir, segment)?;
        let size = file.metadata()?.len();
        let state = Arc::new(WriterState::default());
        let (tx, rx) = sync_channel(QUEUE);
        let (spent_tx, spent) = sync_channel(QUEUE);
        let mut seg = Segment {
            dir: dir.to_path_buf(),
            n: segment,
            file: Arc::new(file),
            size,
            limit: segment_bytes(),
            closed: Vec::new(),
        };
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer_loop(&mut seg, rx, &spent_tx, &st, mailbox))?;
        Ok(JournalWriter {
            tx: Some(tx),
            spent,
            state,
            thread: Some(thread),
            flushers: Mutex::new(Vec::new()),
        })
    }

    /// Queues records ending at `last_seq`; blocks while the queue is full.
    pub fn write(&self, records: Records, last_seq: u64) {
        if records.is_empty() {
            return;
        }
        self.state.queued_seq.store(last_seq, Ordering::Release);
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Write(records, last_seq));
        }
    }

    /// Empty `Records` for the next ones: some already written, when there are
    /// any, with their capacity.
    pub fn records(&self) -> Option<Records> {
        self.spent.try_recv().ok()
    }

    /// A handle that can flush this journal from elsewhere (a panic hook); it
    /// does nothing once the writer is closed, and never keeps it open.
    pub fn flusher(&self) -> Flusher {
        let slot = Arc::new(Mutex::new(self.tx.clone()));
        self.flushers.lock().map(|mut f| f.push(slot.clone())).ok();
        Flusher(slot)
    }

    /// Queues a snapshot as of the last record queued: written once that
    /// record is durable, on a thread of its own (closing the journal waits
    /// for it).
    pub fn snapshot(&self, job: snapshot::Job) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Snapshot(Box::new(job)));
        }
    }

    /// Waits until everything queued so far is on disk.
    pub fn flush(&self) {
        let (ack, done) = sync_channel(1);
        if let Some(tx) = &self.tx {
            if tx.send(Msg::Flush(ack)).is_ok() {
                let _ = done.recv();
            }
        }
    }

    pub fn durable_seq(&self) -> u64 {
        self.state.durable_seq.load(Ordering::Acquire)
    }

    pub fn error(&self) -> Option<String> {
        self.state.error.lock().ok().and_then(|e| e.clone())
    }
}

impl JournalWriter {
    /// Lets go without waiting for what is queued: at exit while the journal
    /// cannot write. Records not written are not journaled; the checkpoints they
    /// carried are not either, so their events are read again on the next start
    /// (a record torn by the exit is dropped by replay).
    pub fn abandon(mut self) {
        self.close_flushers();
        self.tx.take();
        self.thread.take();
    }

    fn close_flushers(&self) {
        if let Ok(fs) = self.flushers.lock() {
            for f in fs.iter() {
                if let Ok(mut tx) = f.lock() {
                    tx.take();
                }
            }
        }
    }
}

impl Drop for JournalWriter {
    /// Closing flushes: every record queued is written and synced.
    fn drop(&mut self) {
        self.close_flushers();
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Segment {
    dir: PathBuf,
    n: u64,
    file: Arc<File>,
    size: u64,
    limit: u64,
    /// Segments closed since the syncer last heard, not yet synced.
    closed: Vec<Arc<File>>,
}

impl Segment {
    /// Appends whole records, beginning the next segment at the first record
    /// boundary past the size limit (a large batch spans segments).
    fn append(&mut self, mut bytes: &[u8], state: &WriterState) {
        while !bytes.is_empty() {
            let room = self.limit.saturating_sub(self.size) as usize;
            // Past the newline that ends the record holding byte `room`.
            let from = room.saturating_sub(1);
            let cut = match bytes.get(from..) {
                Some(past) if room < bytes.len() => {
                    memchr::memchr(b'\n', past).map_or(bytes.len(), |i| from + i + 1)
                }
                _ => bytes.len(),
            };
            self.append_part(&bytes[..cut], state);
            bytes = &bytes[cut..];
        }
    }

    /// Writes all of `bytes`, retrying on errors (a full disk) until it succeeds.
    /// A retry goes on from the first byte not written: written again, the part
    /// that did go out would journal its records twice, and glue the next one
    /// onto a torn record.
    fn append_part(&mut self, bytes: &[u8], state: &WriterState) {
        let mut backoff = Duration::from_millis(100);
        let mut done = 0;
        let mut failed = false;
        while done < bytes.len() {
            let err = match (&*self.file).write(&bytes[done..]) {
                Ok(0) => io::Error::from(io::ErrorKind::WriteZero),
                Ok(n) => {
                    done += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => e,
            };
            failed = true;
            if let Ok(mut e) = state.error.lock() {
                *e = Some(format!("journal write failed, retrying: {err}"));
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        if failed {
            if let Ok(mut e) = state.error.lock() {
                e.take();
            }
        }
        self.size += bytes.len() as u64;
        state
            .written_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if self.size >= self.limit {
            if let Ok(f) = open_segment(&self.dir, self.n + 1) {
                self.closed
                    .push(std::mem::replace(&mut self.file, Arc::new(f)));
                self.n += 1;
                self.size = 0;
            }
        }
    }

    /// The files written to since the last call, in order, for the syncer.
    fn written(&mut self) -> Vec<Arc<File>> {
        let mut files = std::mem::take(&mut self.closed);
        files.push(self.file.clone());
        files
    }
}

fn writer_loop(
    seg: &mut Segment,
    rx: Receiver<Msg>,
    spent: &SyncSender<Records>,
    state: &Arc<WriterState>,
    mailbox: Option<Mailbox>,
) {
    let (to_syncer, notes) = channel::<Written>();
    let st = state.clone();
    let mb = mailbox.clone();
    let syncer = std::thread::Builder::new()
        .name("journal-sync".into())
        .spawn(move || sync_loop(&notes, &st, mb.as_ref()));
    // Where event records are encoded: kept, so it stays in the caches.
    let mut scratch = Vec::new();
    let mut enc = EventWriter::default();
    while let Ok(first) = rx.recv() {
        let mut acks = Vec::new();
        let mut letters = Vec::new();
        let mut snapshots = Vec::new();
        let mut last_seq = None;
        // What is queued now (at most a queue's worth, so that a steady backlog
        // still reaches the syncer), written before the syncer hears of it.
        let queued = std::iter::from_fn(|| rx.try_recv().ok()).take(QUEUE);
        for m in std::iter::once(first).chain(queued) {
            match m {
                Msg::Write(mut records, seq) => {
                    seg.append(records.encode(&mut scratch, &mut enc), state);
                    scratch.shrink_to(KEEP_BYTES);
                    last_seq = Some(seq);
                    letters.append(&mut records.letters);
                    // The lines go back to their owner; the rest to the caller to
                    // fill again (dropped if it has enough).
                    records.clear();
                    let _ = spent.try_send(records);
                }
                Msg::Flush(ack) => acks.push(ack),
                Msg::Snapshot(job) => snapshots.push(Pending {
                    job,
                    dir: seg.dir.clone(),
                    segment: seg.n,
                    offset: seg.size,
                }),
            }
        }
        let note = Written {
            files: seg.written(),
            last_seq,
            acks,
            letters,
            snapshots,
        };
        if let Err(std::sync::mpsc::SendError(note)) = to_syncer.send(note) {
            // No syncer thread (it could not be started): synced here.
            for t in sync_group(vec![note], state, mailbox.as_ref()) {
                let _ = t.join();
            }
        }
    }
    drop(to_syncer);
    if let Ok(s) = syncer {
        let _ = s.join();
    }
    let _ = seg.file.sync_data();
}

/// What the writer has written since its last note to the syncer.
struct Written {
    /// The segments written to, in order (more than one across a rotation).
    files: Vec<Arc<File>>,
    last_seq: Option<u64>,
    /// Flushes waiting for these records to be on disk.
    acks: Vec<SyncSender<()>>,
    /// Notifications waiting for these records to be on disk.
    letters: Vec<Letter>,
    /// Snapshots as of these records, written once they are on disk.
    snapshots: Vec<Pending>,
}

/// A snapshot and where the record it is as of ends.
struct Pending {
    job: Box<snapshot::Job>,
    dir: PathBuf,
    segment: u64,
    offset: u64,
}

impl Pending {
    /// Writes the snapshot on a thread of its own: the syncer goes on syncing.
    fn start(self) -> Option<JoinHandle<()>> {
        let run = move || match snapshot::write(&self.dir, &self.job, self.segment, self.offset) {
            Ok(path) => tracing::debug!(snapshot = %path.display(), "snapshot written"),
            Err(e) => tracing::warn!("snapshot as of seq {} not written: {e}", self.job.seq),
        };
        std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(run)
            .ok()
    }
}

/// Group commit: whatever the writer wrote while the last fsync ran is made
/// durable by the next. The writer goes on writing meanwhile. A lone record is
/// synced at once; a backlog (records coming in while one fsync ran) at most
/// every `SYNC_GAP`, unless a flush waits: each fsync costs a journal commit.
fn sync_loop(notes: &Receiver<Written>, state: &WriterState, mailbox: Option<&Mailbox>) {
    let mut last: Option<Instant> = None;
    let mut writing: Vec<JoinHandle<()>> = Vec::new();
    while let Ok(first) = notes.recv() {
        let mut group = vec![first];
        group.extend(notes.try_iter());
        if let Some(wait) = last.and_then(|t| SYNC_GAP.checked_sub(t.elapsed())) {
            let deadline = Instant::now() + wait;
            while group.iter().all(|w| w.acks.is_empty()) {
                match notes.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(w) => group.push(w),
                    Err(_) => break,
                }
            }
        }
        last = Some(Instant::now());
        writing.retain(|t| !t.is_finished());
        writing.extend(sync_group(group, state, mailbox));
    }
    for t in writing {
        let _ = t.join();
    }
}

/// Syncs every file the group wrote to, then tells how far is durable, posts
/// its letters (together: a storm's go out as digests), answers its flushes and
/// starts writing its snapshots (returned, to be waited for).
fn sync_group(
    group: Vec<Written>,
    state: &WriterState,
    mailbox: Option<&Mailbox>,
) -> Vec<JoinHandle<()>> {
    let mut synced: Vec<&Arc<File>> = Vec::new();
    for file in group.iter().flat_map(|w| &w.files) {
        if synced.iter().any(|f| Arc::ptr_eq(f, file)) {
            continue;
        }
        while file.sync_data().is_err() {
            std::thread::sleep(Duration::from_millis(100));
        }
        synced.push(file);
    }
    if let Some(seq) = group.iter().filter_map(|w| w.last_seq).max() {
        state.durable_seq.store(seq, Ordering::Release);
    }
    let mut letters = Vec::new();
    let mut acks = Vec::new();
    let mut snapshots = Vec::new();
    for mut w in group {
        letters.append(&mut w.letters);
        acks.append(&mut w.acks);
        snapshots.append(&mut w.snapshots);
    }
    if let Some(m) = mailbox {
        m.post(letters);
    }
    for ack in acks {
        let _ = ack.send(());
    }
    snapshots.into_iter().filter_map(Pending::start).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_are_durable_in_order_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let w = JournalWriter::open(dir.path(), 1, None).unwrap();
        for i in 1..=100u64 {
            let bytes = format!("{{\"seq\":{i}}}\n").into_bytes();
            w.write(bytes.into(), i);
        }
        w.flush();
        assert_eq!(w.durable_seq(), 100);
        drop(w);
        let segs = segments(dir.path()).unwrap();
        assert_eq!(segs.len(), 1);
        let text = std::fs::read_to_string(&segs[0].1).unwrap();
        assert_eq!(text.lines().count(), 100);
        assert!(text.lines().last().unwrap().contains("100"));
        let mode = std::fs::metadata(&segs[0].1).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// Letters ride with their records and reach the outbox from the syncer,
    /// once durable; the writer never waits for the outbox, however many.
    #[test]
    fn letters_reach_the_outbox_once_their_records_are_durable() {
        use crate::engine::{Body, Notification, NotifyClass};
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::default();
        let outbox = crate::outbox::Outbox::start(&dir.path().join("outbox"), &config).unwrap();
        let w =
            JournalWriter::open(&dir.path().join("journal"), 1, Some(outbox.mailbox())).unwrap();
        let note = Notification {
            class: NotifyClass::System,
            kind: "console_started",
            at: "2026-11-24T12:00:00Z".parse().unwrap(),
            body: Body::Json(serde_json::json!({})),
        };
        // Far more than any queue holds, in one batch: nothing blocks.
        let mut records = Records::from(b"{\"seq\":1}\n".to_vec());
        records.letters = (1..=5000).map(|_| Letter::new(1, &note)).collect();
        w.write(records, 1);
        w.write(Records::from(b"{\"seq\":2}\n".to_vec()), 2);
        let mut last = Records::from(b"{\"seq\":3}\n".to_vec());
        let stopped = Notification {
            kind: "console_stopped",
            ..note
        };
        last.letters.push(Letter::new(3, &stopped));
        w.write(last, 3);
        drop(w);
        drop(outbox);
        let text = std::fs::read_to_string(dir.path().join("outbox/log.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "a digest of 5,000, then the last one");
        assert_eq!(lines[0]["count"], 5000);
        assert_eq!(lines[1]["seq"], 3);
        assert_eq!(lines[1]["kind"], "console_stopped");
    }

    #[test]
    fn a_flush_waits_for_records_on_both_sides_of_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let w = JournalWriter::open(dir.path(), 1, None).unwrap();
        // Records of 1 MiB: the 65th opens segment 2.
        let pad = "x".repeat((1 << 20) - 20);
        for i in 1..=80u64 {
            let bytes = format!("{{\"seq\":{i},\"p\":\"{pad}\"}}\n").into_bytes();
            w.write(bytes.into(), i);
        }
        w.flush();
        assert_eq!(w.durable_seq(), 80);
        drop(w);
        let segs = segments(dir.path()).unwrap();
        assert_eq!(segs.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
        let mut seqs = Vec::new();
        for (_, path) in &segs {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(text.ends_with('\n'), "a segment ends on a whole record");
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                seqs.push(v["seq"].as_u64().unwrap());
            }
        }
        assert_eq!(seqs, (1..=80).collect::<Vec<_>>());
    }

    /// A batch larger than a segment spans segments, each cut at a record's
    /// end just past the limit.
    #[test]
    fn a_large_batch_is_cut_between_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment {
            dir: dir.path().to_path_buf(),
            n: 1,
            file: Arc::new(open_segment(dir.path(), 1).unwrap()),
            size: 0,
            limit: 100,
            closed: Vec::new(),
        };
        let records: String = (0..10)
            .map(|i| format!("{{\"record\":{i:016}}}\n"))
            .collect();
        assert_eq!(records.len(), 280);
        seg.append(records.as_bytes(), &WriterState::default());
        seg.append(records.as_bytes(), &WriterState::default());
        let texts: Vec<String> = segments(dir.path())
            .unwrap()
            .iter()
            .map(|(_, p)| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(texts.concat(), records.repeat(2));
        assert!(texts.iter().all(|t| t.is_empty() || t.ends_with('\n')));
        let lens: Vec<usize> = texts.iter().map(String::len).collect();
        assert_eq!(lens, [112, 112, 112, 112, 112, 0]);
    }

    /// Lines as `(src, raw)`, all of one file.
    struct Raw(Vec<(&'static str, &'static str)>);

    impl Lines for Raw {
        fn line(&self, i: usize) -> Option<(Position<'_>, &[u8])> {
            let (src, raw) = self.0.get(i)?;
            let pos = Position {
                src,
                file: "1:2:3",
                off: i as u64 * 10,
                end: i as u64 * 10 + 9,
                line: i as u64 + 1,
                entry: None,
            };
            Some((pos, raw.as_bytes()))
        }
    }

    #[test]
    fn event_records_are_written_where_they_were_spliced() {
        let at = "2026-11-24T13:00:00.000Z";
        let lines = Raw(vec![
            ("events/a.jsonl", r#"{"type":"heartbeat","id":"1"}"#),
            ("events/b.jsonl", r#"{"type":"heartbeat","id":"2"}"#),
            ("events/b.jsonl", r#"{"type":"heartbeat","id":"3"}"#),
        ]);
        // What the loop would have written itself: event 2, a tick, events 3 and
        // 4 (lines 1 and 0), an effect.
        let mut expected = Vec::new();
        let mut bytes = Vec::new();
        let mut events = Vec::new();
        let mut splice = |expected: &mut Vec<u8>, bytes: &Vec<u8>, seq: u64, line: usize| {
            let (pos, raw) = lines.line(line).unwrap();
            super::super::record::event(expected, seq, at, &pos, raw);
            events.push(Splice {
                offset: bytes.len(),
                seq,
                line,
                level: None,
            });
        };
        splice(&mut expected, &bytes, 2, 2);
        for (seq, buf) in [(3, &mut bytes), (3, &mut expected)] {
            super::super::record::tick(buf, seq, at);
        }
        splice(&mut expected, &bytes, 4, 1);
        splice(&mut expected, &bytes, 5, 0);
        bytes.extend_from_slice(b"{\"seq\":6}\n");
        expected.extend_from_slice(b"{\"seq\":6}\n");
        let records = Records {
            bytes,
            at: at.into(),
            events,
            lines: Some(Box::new(lines)),
            ..Records::default()
        };
        let mut scratch = Vec::new();
        let written = records.encode(&mut scratch, &mut EventWriter::default());
        assert_eq!(
            String::from_utf8_lossy(written),
            String::from_utf8_lossy(&expected)
        );
        let text = String::from_utf8(expected).unwrap();
        let kinds: Vec<bool> = text.lines().map(|l| l.contains("\"src\"")).collect();
        assert_eq!(kinds, [true, false, true, true, false], "{text}");
    }

    /// Event records of 1 MiB: the 65th opens segment 2; every record of both
    /// reads back, checked, in order.
    #[test]
    fn a_rotated_journal_reads_back_whole() {
        struct Big(String);
        impl Lines for Big {
            fn line(&self, i: usize) -> Option<(Position<'_>, &[u8])> {
                let pos = Position {
                    src: "events/a.jsonl",
                    file: "1:2:3",
                    off: i as u64,
                    end: i as u64 + 1,
                    line: i as u64 + 1,
                    entry: None,
                };
                Some((pos, self.0.as_bytes()))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let w = JournalWriter::open(dir.path(), 1, None).unwrap();
        let raw = format!(
            r#"{{"type":"heartbeat","message":"{}"}}"#,
            "x".repeat(1 << 20)
        );
        for seq in 1..=70u64 {
            let records = Records {
                bytes: Vec::new(),
                at: "2026-11-24T13:00:00.000Z".into(),
                events: vec![Splice {
                    offset: 0,
                    seq,
                    line: seq as usize,
                    level: None,
                }],
                lines: Some(Box::new(Big(raw.clone()))),
                ..Records::default()
            };
            w.write(records, seq);
        }
        drop(w);
        assert_eq!(segments(dir.path()).unwrap().len(), 2);
        let mut reader = crate::journal::reader::Reader::open(dir.path()).unwrap();
        let seqs: Vec<u64> = (&mut reader).map(|e| e.unwrap().seq).collect();
        assert_eq!(seqs, (1..=70).collect::<Vec<_>>());
        assert_eq!(reader.end().segment, 2);
    }
}
