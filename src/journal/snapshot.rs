//! Snapshots (SPEC 16): the engine's whole state and the source checkpoints as
//! of one record, so that a start reads the newest sound snapshot and only the
//! records after it: restart does not grow with the journal.
//!
//! `journal/snapshots/<seq>.snap` is one JSON header line, then the engine's
//! state (JSON), its event ids (`IdSet::parts`: the ids end to end, then zeros
//! up to a multiple of 8 bytes, then their hash table), then its closed tasks
//! (`ClosedTasks::parts`: their ids the same way, then their rows), both read
//! in place (`mapped`). The header names the record the snapshot is as of
//! (`seq`, and the segment and offset just past it), a mark of every segment
//! up to it (its first `seq`, its length and its modification time), the
//! checkpoints, the state's length and where the ids and the closed tasks
//! lie; its last field, `crc`, is the CRC-32 of the header before it and of
//! everything after it.
//! A snapshot is written to a temporary name, synced, and renamed, only once
//! the records it is as of are durable. One that fails its checksum or is of
//! another version is passed over for the one before it, and past the oldest,
//! replay starts from the first record. (Syncing is what a cold ingest pays
//! most for its stop's snapshot: `bench/ab.sh`, 8 rounds, 0.710 s synced
//! against 0.640 s not; it stays, so that a snapshot renamed into place is
//! whole.)
//!
//! The marks let a start find damage before the snapshot without reading the
//! whole journal (`replay::check_marked`): a closed segment whose length or
//! time is not the one marked has changed since, and is read and checked in
//! full; the snapshot's own segment is checked up to the snapshot's record.
//!
//! Views of the past (`status --at`, the console's time cursor) start from
//! the newest snapshot at or before the time asked. Three are too few for
//! that, and at ~30 bytes an event the ids are too many to keep more: so
//! every `PAST_RECORDS` records the core also writes a *past* snapshot, the
//! same file with no ids (`snapshots/past/`), which a view of the past may
//! start from and a run never does (it would count events again). They are
//! thinned to `PAST_KEEP`, evenly over the journal (`thin`): a view of the
//! past replays at most about `PAST_RECORDS` records up to `PAST_KEEP` of
//! them, a fraction `1/PAST_KEEP` of the journal after.
//!
//! The outbox needs nothing here: it resends from its own newest line
//! (`runtime::resend_undelivered`), and the Events pane refills from the
//! journal's end (`recent`).

use super::replay::Checkpoints;
use super::writer::segments;
use crate::engine::{ClosedLayout, ClosedTasks, Engine, IdLayout, IdSet, Saved, Time};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The snapshot format; another is passed over (a full replay reads it).
/// 3: closed tasks beside the state, read in place.
pub const VERSION: u32 = 3;
/// Snapshots kept: the newest and the ones a damaged newest falls back to.
const KEEP: usize = 3;
/// A past snapshot every this many records (at each multiple of it).
pub const PAST_RECORDS: u64 = 100_000;
/// Past snapshots kept, spread evenly over the journal.
const PAST_KEEP: usize = 32;

/// A snapshot to write: the state as of record `seq`.
pub struct Job {
    pub seq: u64,
    pub checkpoints: Checkpoints,
    /// The engine's (`Engine::save`); no event ids in a past snapshot.
    pub saved: Saved,
    /// For views of the past only (see the module's comment).
    pub past: bool,
}

/// What a start takes from a snapshot besides the engine's state.
#[derive(Debug)]
pub struct Loaded {
    pub seq: u64,
    pub segment: u64,
    pub offset: u64,
    pub checkpoints: Checkpoints,
    /// Newer snapshots passed over, and why.
    pub passed_over: Vec<String>,
    /// Every segment up to `segment`, as it was.
    pub marks: Vec<Mark>,
}

/// A segment as a snapshot saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub n: u64,
    /// The `seq` of its first record.
    pub first_seq: u64,
    /// Its length (for the snapshot's own segment: the snapshot's offset).
    pub bytes: u64,
    /// Its modification time, in nanoseconds since the epoch.
    pub mtime_ns: u64,
}

impl Mark {
    /// Whether the segment at `path` still has this length and time.
    pub fn unchanged(&self, meta: &std::fs::Metadata) -> bool {
        meta.len() == self.bytes && mtime_ns(meta) == self.mtime_ns
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The `seq` of the first record of a segment (`None`: empty, or unreadable).
fn first_seq(path: &Path) -> Option<u64> {
    use std::io::BufRead;
    let mut line = Vec::new();
    std::io::BufReader::new(File::open(path).ok()?)
        .read_until(b'\n', &mut line)
        .ok()?;
    super::record::check(line.strip_suffix(b"\n")?).ok()
}

#[derive(Serialize, Deserialize)]
struct Header {
    coord_snapshot: u32,
    seq: u64,
    segment: u64,
    offset: u64,
    segments: Vec<Mark>,
    checkpoints: Checkpoints,
    state_bytes: u64,
    ids: IdLayout,
    closed: ClosedLayout,
    #[serde(default, skip_serializing)]
    crc: String,
}

fn dir_of(journal_dir: &Path, past: bool) -> PathBuf {
    let dir = journal_dir.join("snapshots");
    if past {
        dir.join("past")
    } else {
        dir
    }
}

/// The snapshots a run may start from, newest first.
pub fn list(journal_dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = super::writer::numbered(&dir_of(journal_dir, false), ".snap")?;
    out.reverse();
    Ok(out)
}

/// Every snapshot, past ones too, newest first (a run's first of two as of
/// the same record).
pub fn list_all(journal_dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = list(journal_dir)?;
    out.extend(super::writer::numbered(
        &dir_of(journal_dir, true),
        ".snap",
    )?);
    out.sort_by_key(|s| std::cmp::Reverse(s.0));
    Ok(out)
}

/// The past snapshot to let go of when there are more than `PAST_KEEP`: of
/// those between the oldest and the newest, the one whose going leaves the
/// smallest gap (`seqs` ascending). Keeps them spread evenly.
fn thin(seqs: &[u64]) -> Option<usize> {
    if seqs.len() <= PAST_KEEP {
        return None;
    }
    (1..seqs.len() - 1).min_by_key(|&i| seqs[i + 1] - seqs[i - 1])
}

/// Writes `job` as the snapshot as of the record that ends at `offset` of
/// `segment`, then lets go of all but the newest `KEEP` (past ones: `thin`).
pub fn write(journal_dir: &Path, job: &Job, segment: u64, offset: u64) -> io::Result<PathBuf> {
    let saved = &job.saved;
    let mut marks = Vec::new();
    for (n, path) in segments(journal_dir)? {
        if n > segment {
            continue;
        }
        let meta = std::fs::metadata(&path)?;
        let Some(first_seq) = first_seq(&path) else {
            continue; // an empty segment (the one just begun)
        };
        marks.push(Mark {
            n,
            first_seq,
            bytes: if n == segment { offset } else { meta.len() },
            mtime_ns: mtime_ns(&meta),
        });
    }
    let header = Header {
        coord_snapshot: VERSION,
        seq: job.seq,
        segment,
        offset,
        segments: marks,
        checkpoints: job.checkpoints.clone(),
        state_bytes: saved.state.len() as u64,
        ids: saved.ids.layout(),
        closed: saved.closed.layout(),
        crc: String::new(),
    };
    let mut head = serde_json::to_vec(&header).map_err(io::Error::other)?;
    head.pop(); // the closing brace: the checksum goes before it
                // The header's length is known only with its checksum written; the
                // checksum's text is of fixed length, so the padding before each
                // table is too.
    let ids_at = head.len() + ",\"crc\":\"00000000\"}\n".len() + saved.state.len();
    let mut parts = saved.ids.parts(ids_at);
    let closed_at = ids_at + parts.iter().map(|p| p.len()).sum::<usize>();
    parts.extend(saved.closed.parts(closed_at));
    let mut crc = crc32fast::Hasher::new();
    crc.update(&head);
    crc.update(&saved.state);
    for part in &parts {
        crc.update(part);
    }
    writeln!(head, ",\"crc\":\"{:08x}\"}}", crc.finalize())?;

    let dir = dir_of(journal_dir, job.past);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{:020}.snap", job.seq));
    let tmp = dir.join(format!(".{:020}.snap.tmp", job.seq));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // A few large parts: written as they are, no buffer.
        for part in [&head[..], &saved.state].into_iter().chain(parts) {
            f.write_all(part)?;
        }
        // A past snapshot is not synced: one a crash leaves short fails its
        // checksum and is passed over, costing only time.
        if job.past {
            Ok(())
        } else {
            f.sync_all()
        }
    })();
    if let Err(e) = written {
        // A full disk: nothing half-written is left behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &path)?;
    if job.past {
        let mut past = super::writer::numbered(&dir, ".snap")?;
        while let Some(i) = thin(&past.iter().map(|(seq, _)| *seq).collect::<Vec<_>>()) {
            let _ = std::fs::remove_file(past.remove(i).1);
        }
    } else {
        File::open(&dir)?.sync_all()?;
        for (_, old) in list(journal_dir)?.into_iter().skip(KEEP) {
            let _ = std::fs::remove_file(old);
        }
    }
    Ok(path)
}

/// Reads the newest snapshot that is sound and fits the journal into
/// `engine`; `None` when there is none (replay starts from the first record;
/// `Err` names the snapshots passed over then).
pub fn load(journal_dir: &Path, engine: &mut Engine) -> Result<Option<Loaded>, Vec<String>> {
    load_before(journal_dir, engine, None)
}

/// `load`, of the snapshots as of a record at or before `until`, past ones
/// too (all a run may start from when `None`): where a view of the past
/// starts.
pub fn load_before(
    journal_dir: &Path,
    engine: &mut Engine,
    until: Option<Time>,
) -> Result<Option<Loaded>, Vec<String>> {
    let mut passed_over = Vec::new();
    let listed = if until.is_some() {
        list_all(journal_dir)
    } else {
        list(journal_dir)
    };
    let listed = listed.map_err(|e| vec![format!("snapshots not listed: {e}")])?;
    for (_, path) in listed {
        // Too new for the time asked (or its time unreadable): not a fault.
        if until.is_some_and(|t| as_of_time(journal_dir, &path).is_none_or(|at| at > t)) {
            continue;
        }
        let mut scratch = engine.clone();
        match read(&path, &mut scratch).and_then(|l| fits(journal_dir, &l).map(|()| l)) {
            Ok(mut loaded) => {
                *engine = scratch;
                loaded.passed_over = passed_over;
                return Ok(Some(loaded));
            }
            Err(why) => {
                tracing::warn!(snapshot = %path.display(), "snapshot passed over: {why}");
                passed_over.push(format!("{}: {why}", path.display()));
            }
        }
    }
    if passed_over.is_empty() {
        return Ok(None);
    }
    tracing::warn!("no sound snapshot: replaying the whole journal");
    Err(passed_over)
}

/// The time of the record a snapshot is as of, from its header (not checked:
/// `read` checks it whole).
fn as_of_time(journal_dir: &Path, path: &Path) -> Option<Time> {
    use std::io::BufRead;
    let mut line = Vec::new();
    std::io::BufReader::new(File::open(path).ok()?)
        .read_until(b'\n', &mut line)
        .ok()?;
    let header: Header = serde_json::from_slice(line.strip_suffix(b"\n")?).ok()?;
    super::reader::last_at(journal_dir, header.segment, header.offset).ok()?
}

/// Whether the snapshot at `path` is sound (read into `engine`, a scratch
/// one): `coord journal verify`.
pub fn check(path: &Path, engine: &mut Engine) -> Result<(), String> {
    read(path, engine).map(|_| ())
}

/// A snapshot past the journal's end does not fit it: the records it is as
/// of were durable before it was written, so only a journal cut short (its
/// tail torn after a crash of the disk, or by hand) can end before them.
/// Replay goes on from an earlier snapshot, which reads the journal up to its
/// end and the sources again from there.
fn fits(journal_dir: &Path, loaded: &Loaded) -> Result<(), String> {
    let own = journal_dir.join(super::writer::segment_name(loaded.segment));
    let len = std::fs::metadata(&own).map(|m| m.len()).unwrap_or(0);
    if len < loaded.offset {
        return Err(format!(
            "it is as of seq {}, past the journal's end ({} ends at byte {len}, before byte {})",
            loaded.seq,
            own.display(),
            loaded.offset
        ));
    }
    Ok(())
}

fn read(path: &Path, engine: &mut Engine) -> Result<Loaded, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: snapshots are written to a temporary name and renamed; coord
    // never writes one in place (see `IdSet::mapped`).
    let map = std::sync::Arc::new(unsafe { memmap2::Mmap::map(&file) }.map_err(|e| e.to_string())?);
    let bytes = &map[..];
    let nl = memchr::memchr(b'\n', bytes).ok_or("no header")?;
    let header: Header =
        serde_json::from_slice(&bytes[..nl]).map_err(|e| format!("header: {e}"))?;
    if header.coord_snapshot != VERSION {
        return Err(format!(
            "version {} (this coord reads {VERSION})",
            header.coord_snapshot
        ));
    }
    let signed = memchr::memmem::rfind(&bytes[..nl], b",\"crc\":").ok_or("no checksum")?;
    let state_at = nl + 1;
    let ids_at = usize::try_from(header.state_bytes)
        .ok()
        .and_then(|n| state_at.checked_add(n))
        .filter(|end| *end <= bytes.len())
        .ok_or("the state runs past the file")?;
    let (ids, closed_at) =
        IdSet::mapped(&file, &map, ids_at, &header.ids).map_err(|e| format!("event ids: {e}"))?;
    let (closed, end) = ClosedTasks::mapped(&file, &map, closed_at, &header.closed)
        .map_err(|e| format!("closed tasks: {e}"))?;
    if end != bytes.len() {
        return Err(format!("{} bytes, {end} expected", bytes.len()));
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[..signed]);
    crc.update(&bytes[state_at..]);
    if format!("{:08x}", crc.finalize()) != header.crc {
        return Err("fails its checksum".into());
    }
    engine
        .restore(&bytes[state_at..ids_at], ids, closed)
        .map_err(|e| format!("state: {e}"))?;
    Ok(Loaded {
        seq: header.seq,
        segment: header.segment,
        offset: header.offset,
        checkpoints: header.checkpoints,
        passed_over: Vec::new(),
        marks: header.segments,
    })
}

#[cfg(test)]
mod tests {
    use super::{thin, PAST_KEEP, PAST_RECORDS};

    /// Past snapshots written one every `PAST_RECORDS` records for a long run
    /// stay `PAST_KEEP`, the first and the newest kept, no gap between two
    /// more than twice the even spacing.
    #[test]
    fn thinning_keeps_past_snapshots_few_and_evenly_spread() {
        let mut kept: Vec<u64> = Vec::new();
        for n in 1..=500 {
            kept.push(n * PAST_RECORDS);
            while let Some(i) = thin(&kept) {
                kept.remove(i);
            }
            assert!(kept.len() <= PAST_KEEP);
        }
        assert_eq!(kept.len(), PAST_KEEP);
        assert_eq!(kept[0], PAST_RECORDS);
        assert_eq!(*kept.last().unwrap(), 500 * PAST_RECORDS);
        let gaps: Vec<u64> = kept.windows(2).map(|w| w[1] - w[0]).collect();
        let even = (kept[PAST_KEEP - 1] - kept[0]) / (PAST_KEEP as u64 - 1);
        assert!(gaps.iter().all(|g| *g <= 2 * even), "{gaps:?}");
        assert_eq!(thin(&kept[..5]), None);
    }
}
