//! The one journal reader (SPEC 16): every segment in order, every record
//! checked against its checksum and its `seq` against the one before. Replay,
//! recent, follow, audit and verify all read through it.
//!
//! Damage is never skipped over in silence: a record that fails its checksum,
//! a jump in `seq`, a missing segment, or a segment that ends inside a record
//! is handed out as a `Damage` naming the file, the byte offset and the last
//! good `seq`. Only the last line of the last segment may be unfinished or
//! unsound without being damage: a crash mid-write (or a writer still at it)
//! leaves it so; it is the `torn` tail, and its events are read again.

use super::record::{check, Record, Unsound};
use super::writer::{segment_name, segments};
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A record read and checked.
#[derive(Clone, Debug)]
pub struct Entry {
    pub segment: u64,
    /// Where its line begins in the segment, and just past its newline.
    pub offset: u64,
    pub end: u64,
    pub seq: u64,
    /// The line, without its newline.
    pub text: String,
}

impl Entry {
    /// The record's `kind`, read without decoding the rest (it follows `seq`
    /// and `at`, which cannot hold it).
    pub fn kind(&self) -> Option<&str> {
        let at = self.text.find(",\"kind\":\"")? + 9;
        let len = self.text[at..].find('"')?;
        Some(&self.text[at..at + len])
    }

    /// A `repaired` record that follows record `last`, whatever its own `seq`.
    fn resumes_after(&self, last: u64) -> bool {
        self.text.contains("\"kind\":\"repaired\"")
            && self
                .record()
                .is_some_and(|r| r.kind == "repaired" && r.after == Some(last) && r.seq > last)
    }

    /// The record's fields; `None` for a line that passed its checksum but is
    /// not a record coord writes.
    pub fn record(&self) -> Option<Record<'_>> {
        Record::read(&self.text)
    }

    /// `record`, or the damage such a line is: what replay, audit and verify,
    /// which read every record, take.
    pub fn decode(&self, journal_dir: &Path) -> Result<Record<'_>, Damage> {
        self.record().ok_or_else(|| Damage {
            file: journal_dir.join(segment_name(self.segment)),
            offset: self.offset,
            last_good: self.seq.saturating_sub(1),
            fault: Fault::NotARecord,
        })
    }
}

/// What is wrong at a place in the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The record's bytes are not the ones its checksum was made of.
    Checksum,
    /// A record without a checksum: written before journal v2.
    Unversioned,
    /// A sound record whose fields coord does not read.
    NotARecord,
    /// The record's `seq` is not the one after the last good record's.
    Gap { found: u64 },
    /// This segment file is missing.
    Missing,
    /// The segment ends inside a record (it was cut short).
    Unfinished,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub file: PathBuf,
    pub offset: u64,
    /// The last good record before the damage (0: none).
    pub last_good: u64,
    pub fault: Fault,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let (at, last) = (self.offset, self.last_good);
        match &self.fault {
            Fault::Checksum => write!(f, "{file} at byte {at}: a record fails its checksum"),
            Fault::Unversioned => write!(
                f,
                "{file} at byte {at}: a record without a checksum (a journal written by an \
                 older coord, journal v1)"
            ),
            Fault::NotARecord => write!(f, "{file} at byte {at}: a line that is not a record"),
            Fault::Gap { found } if *found > last + 1 => write!(
                f,
                "{file} at byte {at}: seq jumps from {last} to {found} ({} records missing)",
                found - last - 1
            ),
            Fault::Gap { found } => write!(
                f,
                "{file} at byte {at}: seq {found} follows seq {last} (out of order)"
            ),
            Fault::Missing => write!(f, "{file} is missing"),
            Fault::Unfinished => write!(f, "{file} ends at byte {at} inside a record (cut short)"),
        }?;
        write!(f, "; the last good record is seq {last}")
    }
}

/// Where the reader stopped, once it has read everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct End {
    /// The last segment (where writing goes on; 1 for an empty journal).
    pub segment: u64,
    /// The end of its last sound record: where the next record goes.
    pub offset: u64,
    pub last_seq: u64,
    /// The offset of an unfinished or unsound last line of the last segment.
    pub torn: Option<u64>,
}

pub struct Reader {
    dir: PathBuf,
    segs: VecDeque<(u64, PathBuf)>,
    /// The segment being read, its path and the offset of its next line.
    file: Option<(u64, PathBuf, BufReader<File>)>,
    offset: u64,
    /// The `seq` the next record must have (`None`: any, for `Reader::segment`).
    next_seq: Option<u64>,
    /// The number the next segment must have (`None`: any).
    next_segment: Option<u64>,
    last_good: u64,
    /// A sound record found after a gap, handed out after the gap's damage.
    held: Option<Entry>,
    buf: Vec<u8>,
    end: End,
}

/// The times of the journal's first and last whole records, read at its two
/// ends (none when it has no records, or an end is not a whole record).
pub fn span(dir: &Path) -> io::Result<Option<(crate::engine::Time, crate::engine::Time)>> {
    let segs = segments(dir)?;
    let (Some((_, first)), Some((last_n, last))) = (segs.first(), segs.last()) else {
        return Ok(None);
    };
    let mut line = Vec::new();
    BufReader::new(File::open(first)?).read_until(b'\n', &mut line)?;
    let first_at = line
        .strip_suffix(b"\n")
        .filter(|l| check(l).is_ok())
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(Record::read)
        .map(|r| r.at);
    let len = std::fs::metadata(last)?.len();
    let last_at = last_at(dir, *last_n, len)?;
    Ok(first_at.zip(last_at))
}

/// The time of the record that ends at byte `end` of segment `n` (at `end` 0,
/// the last record of the segment before): read back from there, a few KiB at
/// a time, not from the journal's start.
pub fn last_at(dir: &Path, n: u64, end: u64) -> io::Result<Option<crate::engine::Time>> {
    let (n, end) = match (end, n.checked_sub(1)) {
        (0, Some(prev)) if prev > 0 => {
            let len = std::fs::metadata(dir.join(segment_name(prev)))?.len();
            (prev, len)
        }
        (0, _) => return Ok(None),
        _ => (n, end),
    };
    let mut file = File::open(dir.join(segment_name(n)))?;
    let mut window = 4096;
    loop {
        let from = end.saturating_sub(window);
        let mut buf = vec![0; (end - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut buf)?;
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = match memchr::memrchr(b'\n', body) {
            Some(i) => &body[i + 1..],
            None if from == 0 => body,
            None => {
                window *= 4;
                continue;
            }
        };
        let at = check(line)
            .ok()
            .and_then(|_| std::str::from_utf8(line).ok())
            .and_then(Record::read)
            .map(|r| r.at);
        return Ok(at);
    }
}

impl Reader {
    /// The whole journal of `dir`, from its first record.
    pub fn open(dir: &Path) -> io::Result<Reader> {
        Reader::resume(dir, 1, 0, 0)
    }

    /// The journal from `offset` of segment `segment`, where the record after
    /// `last_seq` must begin (as a snapshot or a follower left it).
    pub fn resume(dir: &Path, segment: u64, offset: u64, last_seq: u64) -> io::Result<Reader> {
        let mut segs: VecDeque<_> = segments(dir)?.into();
        segs.retain(|(n, _)| *n >= segment);
        let mut r = Reader::new(dir, segs, Some(last_seq + 1), Some(segment));
        r.offset = offset;
        r.last_good = last_seq;
        r.end.offset = offset;
        r.end.last_seq = last_seq;
        Ok(r)
    }

    /// One segment on its own, whatever the records around it (the journal
    /// read from its end).
    pub fn segment(dir: &Path, n: u64) -> Reader {
        let segs = VecDeque::from([(n, dir.join(segment_name(n)))]);
        Reader::new(dir, segs, None, None)
    }

    fn new(
        dir: &Path,
        segs: VecDeque<(u64, PathBuf)>,
        next_seq: Option<u64>,
        next_segment: Option<u64>,
    ) -> Reader {
        Reader {
            dir: dir.to_path_buf(),
            end: End {
                segment: next_segment.unwrap_or(1),
                ..End::default()
            },
            segs,
            file: None,
            offset: 0,
            next_seq,
            next_segment,
            last_good: 0,
            held: None,
            buf: Vec::new(),
        }
    }

    /// Where reading stopped (meaningful once the reader is exhausted).
    pub fn end(&self) -> &End {
        &self.end
    }

    fn damage(&self, file: &Path, offset: u64, fault: Fault) -> Damage {
        Damage {
            file: file.to_path_buf(),
            offset,
            last_good: self.last_good,
            fault,
        }
    }

    /// Opens the next segment; `Err` for a missing one (or one that cannot be
    /// opened), `Ok(false)` at the end of the journal.
    fn next_file(&mut self) -> Result<bool, Damage> {
        let Some((n, path)) = self.segs.pop_front() else {
            return Ok(false);
        };
        if let Some(want) = self.next_segment.filter(|want| *want < n) {
            // Read it after the damage is told.
            self.segs.push_front((n, path));
            self.next_segment = Some(n);
            let missing = self.dir.join(segment_name(want));
            return Err(self.damage(&missing, 0, Fault::Missing));
        }
        let offset = if self.end.segment == n {
            self.offset
        } else {
            0
        };
        let opened = File::open(&path).and_then(|mut f| {
            f.seek(SeekFrom::Start(offset))?;
            Ok(f)
        });
        let file = match opened {
            Ok(f) => f,
            Err(_) => return Err(self.damage(&path, 0, Fault::Missing)),
        };
        self.offset = offset;
        self.next_segment = self.next_segment.map(|_| n + 1);
        self.end = End {
            segment: n,
            offset,
            last_seq: self.end.last_seq,
            torn: None,
        };
        self.file = Some((n, path, BufReader::with_capacity(1 << 20, file)));
        Ok(true)
    }
}

impl Iterator for Reader {
    type Item = Result<Entry, Damage>;

    fn next(&mut self) -> Option<Result<Entry, Damage>> {
        if let Some(e) = self.held.take() {
            return Some(Ok(e));
        }
        loop {
            if self.file.is_none() {
                match self.next_file() {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(d) => return Some(Err(d)),
                }
            }
            let (n, path, reader) = self.file.as_mut().expect("a segment is open");
            let (n, offset) = (*n, self.offset);
            self.buf.clear();
            let read = match reader.read_until(b'\n', &mut self.buf) {
                Ok(read) => read,
                Err(_) => {
                    let path = path.clone();
                    self.file = None;
                    return Some(Err(self.damage(&path, offset, Fault::Missing)));
                }
            };
            if read == 0 {
                self.file = None;
                continue;
            }
            let finished = self.buf.last() == Some(&b'\n');
            let at_end = self.segs.is_empty() && reader.fill_buf().map_or(true, <[u8]>::is_empty);
            let path = path.clone();
            self.offset += read as u64;
            let line = &self.buf[..self.buf.len() - usize::from(finished)];
            let checked = if finished {
                check(line)
            } else {
                Err(Unsound::Checksum)
            };
            let seq = match checked {
                Ok(seq) => seq,
                // The tail a crash (or a writer still at work) leaves.
                Err(_) if at_end => {
                    self.end.torn = Some(offset);
                    self.file = None;
                    return None;
                }
                Err(_) if !finished => {
                    return Some(Err(self.damage(&path, offset, Fault::Unfinished)));
                }
                Err(Unsound::Unversioned) => {
                    return Some(Err(self.damage(&path, offset, Fault::Unversioned)))
                }
                Err(Unsound::Checksum) => {
                    return Some(Err(self.damage(&path, offset, Fault::Checksum)))
                }
            };
            let entry = Entry {
                segment: n,
                offset,
                end: self.offset,
                seq,
                // coord writes UTF-8; anything else does not decode as a record.
                text: match std::str::from_utf8(line) {
                    Ok(text) => text.to_owned(),
                    Err(_) => String::from_utf8_lossy(line).into_owned(),
                },
            };
            // `coord journal repair` numbers on past what it set aside.
            let gap = self
                .next_seq
                .filter(|want| *want != seq && !entry.resumes_after(self.last_good));
            let damage = gap.map(|_| self.damage(&path, offset, Fault::Gap { found: seq }));
            self.next_seq = self.next_seq.map(|_| seq + 1);
            self.last_good = seq;
            self.end.offset = self.offset;
            self.end.last_seq = seq;
            match damage {
                Some(d) => {
                    self.held = Some(entry);
                    return Some(Err(d));
                }
                None => return Some(Ok(entry)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::{fmt_at, tick};

    fn ticks(seqs: impl IntoIterator<Item = u64>) -> Vec<u8> {
        let at = fmt_at("2026-11-24T12:00:00Z".parse().unwrap());
        let mut buf = Vec::new();
        for seq in seqs {
            tick(&mut buf, seq, &at);
        }
        buf
    }

    fn read(dir: &Path) -> (Vec<u64>, Vec<Damage>, End) {
        let mut r = Reader::open(dir).unwrap();
        let (mut seqs, mut damage) = (Vec::new(), Vec::new());
        for item in &mut r {
            match item {
                Ok(e) => seqs.push(e.seq),
                Err(d) => damage.push(d),
            }
        }
        (seqs, damage, r.end().clone())
    }

    #[test]
    fn a_sound_journal_reads_whole_and_a_torn_tail_is_not_damage() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(segment_name(1)), ticks(1..=3)).unwrap();
        let mut two = ticks(4..=5);
        let whole = two.len() as u64;
        two.extend_from_slice(b"{\"seq\":6,\"at\":\"2026");
        std::fs::write(dir.path().join(segment_name(2)), &two).unwrap();
        let (seqs, damage, end) = read(dir.path());
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert!(damage.is_empty());
        assert_eq!(
            end,
            End {
                segment: 2,
                offset: whole,
                last_seq: 5,
                torn: Some(whole)
            }
        );
    }

    #[test]
    fn damage_is_named_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let seg = |n| dir.path().join(segment_name(n));
        let one = ticks(1..=3);
        let len1 = one.len() as u64 / 3;
        // A changed byte in record 2; segment 3 missing; segment 4 cut
        // inside its second record.
        let mut bad = one.clone();
        bad[len1 as usize + 30] ^= 1;
        std::fs::write(seg(1), &bad).unwrap();
        std::fs::write(seg(2), ticks(4..=5)).unwrap();
        let four = ticks(8..=9);
        std::fs::write(seg(4), &four[..four.len() - 5]).unwrap();
        std::fs::write(seg(5), ticks(10..=10)).unwrap();
        let (seqs, damage, end) = read(dir.path());
        assert_eq!(seqs, [1, 3, 4, 5, 8, 10]);
        let faults: Vec<_> = damage
            .iter()
            .map(|d| (d.file.clone(), d.offset, d.last_good, d.fault.clone()))
            .collect();
        assert_eq!(
            faults,
            [
                (seg(1), len1, 1, Fault::Checksum),
                (seg(1), 2 * len1, 1, Fault::Gap { found: 3 }),
                (seg(3), 0, 5, Fault::Missing),
                (seg(4), 0, 5, Fault::Gap { found: 8 }),
                (seg(4), len1, 8, Fault::Unfinished),
                (seg(5), 0, 8, Fault::Gap { found: 10 }),
            ]
        );
        assert_eq!(end.last_seq, 10);
        assert_eq!(end.torn, None);
        assert_eq!(
            damage[0].to_string(),
            format!(
                "{} at byte {len1}: a record fails its checksum; the last good record is seq 1",
                seg(1).display()
            )
        );
    }

    #[test]
    fn reading_resumes_where_a_snapshot_left_it() {
        let dir = tempfile::tempdir().unwrap();
        let one = ticks(1..=4);
        std::fs::write(dir.path().join(segment_name(1)), &one).unwrap();
        std::fs::write(dir.path().join(segment_name(2)), ticks(5..=6)).unwrap();
        let off = (one.len() / 2) as u64;
        let seqs: Vec<u64> = Reader::resume(dir.path(), 1, off, 2)
            .unwrap()
            .map(|e| e.unwrap().seq)
            .collect();
        assert_eq!(seqs, [3, 4, 5, 6]);
        // Resuming at the wrong place is damage, not a silent skip.
        let first = Reader::resume(dir.path(), 1, off, 1)
            .unwrap()
            .next()
            .unwrap();
        assert_eq!(first.unwrap_err().fault, Fault::Gap { found: 3 });
    }
}
