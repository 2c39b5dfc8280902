//! `coord journal verify DIR` and `coord journal repair DIR` (SPEC 16).
//!
//! Verify reads every record and every snapshot and lists what is damaged.
//! Repair keeps every record up to the last good one before the first damage,
//! moves the rest (and any snapshot past it, or damaged) aside into
//! `journal/quarantine-<time>/` — never deleting — and journals a `repaired`
//! record. The state and the checkpoints of the next start are then those of
//! the records kept: every source is read again from there, and as long as the
//! source files exist, each event is counted exactly once.

use crate::config::Config;
use crate::engine::{Engine, Time};
use crate::journal::reader::{Damage, Reader};
use crate::journal::record::{self, fmt_at};
use crate::journal::writer::{segment_name, segments};
use crate::journal::{snapshot, DirLock};
use anyhow::{bail, Context, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a full read of a journal found.
#[derive(Default)]
struct Survey {
    records: u64,
    /// The last good record before the first damage: its `seq`, segment and
    /// where it ends (`None`: no good record before it).
    kept: Option<(u64, u64, u64)>,
    /// Every damage, in order; consecutive ones with no good record between
    /// them are one place.
    damage: Vec<Place>,
    /// The highest `seq` read anywhere (past damage too).
    max_seq: u64,
    segments: usize,
    /// The offset of a torn last record.
    torn: Option<(PathBuf, u64)>,
    /// Snapshots that do not read, and why.
    bad_snapshots: Vec<(PathBuf, String)>,
    snapshots: usize,
}

/// One damaged place: where it begins and the `seq`s it takes away.
struct Place {
    first: Damage,
    /// The first good `seq` after it, if any.
    next_good: Option<u64>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = self.first.last_good + 1;
        match self.next_good {
            Some(next) if next == from + 1 => write!(f, "{} (record {from} lost)", self.first),
            Some(next) if next > from => {
                write!(f, "{} (records {from}..{} lost)", self.first, next - 1)
            }
            Some(_) => write!(f, "{}", self.first),
            None => write!(f, "{} (records from {from} on)", self.first),
        }
    }
}

/// `DIR/journal`, or why there is none.
pub(crate) fn journal_of(dir: &Path) -> Result<PathBuf> {
    let journal = dir.join("journal");
    if !journal.is_dir() {
        bail!(
            "no journal in {} (has coord watch run there?)",
            dir.display()
        );
    }
    Ok(journal)
}

fn survey(journal: &Path) -> Result<Survey> {
    let mut s = Survey {
        segments: segments(journal)?.len(),
        ..Survey::default()
    };
    let mut reader =
        Reader::open(journal).with_context(|| format!("reading {}", journal.display()))?;
    let mut open: Option<Damage> = None;
    for item in &mut reader {
        let entry = item.and_then(|e| e.decode(journal).err().map_or(Ok(e), Err));
        match entry {
            Ok(e) => {
                s.records += 1;
                s.max_seq = s.max_seq.max(e.seq);
                if let Some(first) = open.take() {
                    s.damage.push(Place {
                        first,
                        next_good: Some(e.seq),
                    });
                }
                if s.damage.is_empty() {
                    s.kept = Some((e.seq, e.segment, e.end));
                }
            }
            Err(d) => {
                open.get_or_insert(d);
            }
        }
    }
    if let Some(first) = open {
        s.damage.push(Place {
            first,
            next_good: None,
        });
    }
    let end = reader.end();
    if let Some(off) = end.torn {
        s.torn = Some((journal.join(segment_name(end.segment)), off));
    }
    let list = snapshot::list_all(journal)?;
    s.snapshots = list.len();
    let mut scratch = Engine::new(Config::default(), None);
    for (_, path) in list {
        if let Err(why) = snapshot::check(&path, &mut scratch) {
            s.bad_snapshots.push((path, why));
        }
    }
    Ok(s)
}

/// `coord journal verify DIR`: 0 intact, 1 damaged (each place listed).
pub fn verify(dir: &Path, out: &mut dyn Write) -> Result<i32> {
    let journal = journal_of(dir)?;
    let s = survey(&journal)?;
    for place in &s.damage {
        writeln!(out, "damaged: {place}")?;
    }
    for (path, why) in &s.bad_snapshots {
        writeln!(
            out,
            "damaged: snapshot {}: {why} (a start passes it over)",
            path.display()
        )?;
    }
    if let Some((path, off)) = &s.torn {
        writeln!(
            out,
            "torn: {} at byte {off}: the last record is unfinished (a crash mid-write, or a \
             console writing now); a start drops it and reads its events again",
            path.display()
        )?;
    }
    let last = s.kept.map_or(0, |k| k.0);
    if s.damage.is_empty() && s.bad_snapshots.is_empty() {
        writeln!(
            out,
            "journal ok: {} records (seq {}), {} segments, {} snapshots",
            s.records,
            if s.records == 0 {
                "none".into()
            } else {
                format!("up to {last}")
            },
            s.segments,
            s.snapshots
        )?;
        return Ok(0);
    }
    writeln!(
        out,
        "journal damaged: {} place{}, {} bad snapshot{}; the last good record before the first \
         damage is seq {last}. `coord journal repair {}` keeps the records up to it and sets \
         the rest aside.",
        s.damage.len(),
        if s.damage.len() == 1 { "" } else { "s" },
        s.bad_snapshots.len(),
        if s.bad_snapshots.len() == 1 { "" } else { "s" },
        dir.display()
    )?;
    Ok(1)
}

/// `coord journal repair DIR`: 0 repaired (or nothing to repair).
pub fn repair(dir: &Path, now: Time, out: &mut dyn Write) -> Result<i32> {
    let journal = journal_of(dir)?;
    let _lock = DirLock::acquire(&journal)
        .map_err(|e| anyhow::anyhow!("{e}: stop it before repairing the journal"))?;
    let s = survey(&journal)?;
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let quarantine = journal.join(format!("quarantine-{stamp}"));
    let mut moved: Vec<String> = Vec::new();
    let aside = |from: &Path, name: &str, moved: &mut Vec<String>| -> Result<()> {
        std::fs::create_dir_all(&quarantine)?;
        let to = quarantine.join(name);
        std::fs::rename(from, &to)
            .with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
        moved.push(name.to_string());
        Ok(())
    };

    let kept_seq = s.kept.map_or(0, |k| k.0);
    for (path, _) in &s.bad_snapshots {
        aside(path, &snapshot_name(path), &mut moved)?;
    }
    if s.damage.is_empty() {
        if let Some((path, off)) = &s.torn {
            OpenOptions::new().write(true).open(path)?.set_len(*off)?;
            writeln!(
                out,
                "cut the torn last record off {} at byte {off}",
                path.display()
            )?;
        }
        if moved.is_empty() {
            writeln!(out, "journal ok: nothing to repair")?;
        } else {
            writeln!(
                out,
                "moved {} to {}",
                moved.join(", "),
                quarantine.display()
            )?;
        }
        return Ok(0);
    }

    // Keep segment `seg` up to `end`; everything after goes aside.
    let (seg, end) = s.kept.map_or((1, 0), |k| (k.1, k.2));
    for (n, path) in segments(&journal)? {
        if n > seg {
            aside(&path, &segment_name(n), &mut moved)?;
        }
    }
    let own = journal.join(segment_name(seg));
    if own.exists() && std::fs::metadata(&own)?.len() > end {
        let bytes = std::fs::read(&own)?;
        std::fs::create_dir_all(&quarantine)?;
        let name = format!("{}.from-byte-{end}", segment_name(seg));
        write_private(&quarantine.join(&name), &bytes[end as usize..])?;
        moved.push(name);
        let f = OpenOptions::new().write(true).open(&own)?;
        f.set_len(end)?;
        f.sync_all()?;
    }
    for (seq, path) in snapshot::list_all(&journal)? {
        if seq > kept_seq {
            aside(&path, &snapshot_name(&path), &mut moved)?;
        }
    }

    // Numbered past every seq ever written: those set aside, and the outbox's.
    let outboxed = crate::outbox::last_delivered(&dir.join("outbox"))
        .into_values()
        .max()
        .unwrap_or(0);
    let seq = s.max_seq.max(outboxed).max(kept_seq) + 1;
    let why = s.damage[0].to_string();
    let rel = quarantine
        .strip_prefix(dir)
        .unwrap_or(&quarantine)
        .display()
        .to_string();
    let mut buf = Vec::new();
    record::repaired(&mut buf, seq, &fmt_at(now), kept_seq, &rel, &why);
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&own)?;
    f.write_all(&buf)?;
    f.sync_all()?;

    writeln!(out, "damaged: {why}")?;
    writeln!(
        out,
        "kept records up to seq {kept_seq}; moved {} to {}",
        moved.join(", "),
        quarantine.display()
    )?;
    writeln!(
        out,
        "journaled `repaired` as seq {seq}; the next start reads every source again from its \
         checkpoint as of seq {kept_seq}"
    )?;
    Ok(0)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A snapshot's name in the quarantine: a past one's as `past-<seq>.snap`
/// (a run's snapshot may be as of the same record).
fn snapshot_name(path: &Path) -> String {
    let past = path.parent().and_then(Path::file_name) == Some("past".as_ref());
    format!("{}{}", if past { "past-" } else { "" }, file_name(path))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
