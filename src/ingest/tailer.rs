//! One file of `events/`, followed from a stored offset (SPEC 9, after Vector's
//! file source). A file is known by device, inode and a hash of its first line,
//! so a rename keeps its place, and a truncation or a same-size rewrite (a new
//! first line) restarts it from 0. The file stays open, so a file renamed away or
//! deleted is still read to its end before it is let go.

use super::lines::{Line, LineSplitter};
use super::parse_one;
use crate::journal::replay::{line_crc, Tail};
use crate::journal::Checkpoints;
use crate::model::event::{parse_value, Origin, ParseOptions};
use crate::model::{Event, ParseError};
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much of the start of a file identifies it.
const FINGERPRINT_BYTES: usize = 4096;
const READ_CHUNK: usize = 256 * 1024;

/// Where an item came from: the checkpoint it advances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pos {
    pub src: Arc<str>,
    pub file: Arc<str>,
    pub off: u64,
    pub end: u64,
    pub line: u64,
    /// A stream entry's id (`1764000000000-0`): the checkpoint of a stream source.
    pub entry: Option<Arc<str>>,
}

/// What a source hands the runtime; lines are nearly all of it, so they are
/// carried inline.
#[derive(Debug)]
pub enum Item {
    /// A complete line (or a drop's element): its raw bytes, parsed or not.
    Line {
        pos: Pos,
        raw: Vec<u8>,
        parsed: Parsed,
    },
    /// An operator's action read from a stream (every console applies it), with
    /// the dedup keys of the alerts it names (boxed: rare, and larger than a line).
    Action {
        pos: Pos,
        op: Box<crate::engine::OperatorAction>,
        keys: Vec<String>,
    },
    /// A file was truncated, rewritten, rotated or let go; reading goes on at `pos.end`.
    Source { pos: Pos, what: &'static str },
}

impl Item {
    /// The checkpoint the item advances.
    pub fn pos(&self) -> &Pos {
        match self {
            Item::Line { pos, .. } | Item::Action { pos, .. } | Item::Source { pos, .. } => pos,
        }
    }
}

/// FNV-1a of the first line (or the first 4 KiB): `None` until there is one.
pub fn fingerprint(file: &File) -> io::Result<Option<u64>> {
    fingerprint_of(file, false)
}

/// As `fingerprint`; with `whole`, a file without a newline (a `*.json` drop,
/// complete when renamed in) is known by its start as it is.
fn fingerprint_of(file: &File, whole: bool) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; FINGERPRINT_BYTES];
    let mut n = 0;
    while n < buf.len() {
        let got = file.read_at(&mut buf[n..], n as u64)?;
        if got == 0 {
            break;
        }
        n += got;
    }
    let head = &buf[..n];
    let first = match head.iter().position(|&b| b == b'\n') {
        Some(i) => &head[..i],
        None if n == FINGERPRINT_BYTES || (whole && n > 0) => head,
        None => return Ok(None),
    };
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(first);
    Ok(Some(h.finish()))
}

/// A line read, to be parsed: small, so that handing lines to the helper and
/// back moves little.
struct ReadLine {
    off: u64,
    end: u64,
    line: u64,
    /// The line, or the head of a line over the limit.
    raw: Vec<u8>,
    too_long: bool,
}

/// A line's event, or why it is not one. Both are boxed: they are large, and
/// an item is moved several times on its way (into a batch, across threads) and
/// read on another core than the one that wrote it (an item is 112 bytes so,
/// 184 with the error inline).
pub type Parsed = Result<Box<Event>, Box<ParseError>>;

/// Below this many lines, a chunk is parsed on the reading thread alone.
const PARALLEL_LINES: usize = 256;

/// Parses `lines`: each part comes back with its results, one per line, the
/// parts in order (the second empty when this thread parsed them all). A chunk
/// of many lines (a backlog: a first start, a restart after a pause) is parsed
/// in two parts, the second on the helper thread: parsing is most of the
/// reading thread's work, and on two cores it was the bottleneck of ingestion.
/// Each line is parsed exactly as alone.
fn parse_lines(
    mut lines: Vec<ReadLine>,
    src: &Arc<str>,
    ident: &Arc<str>,
    max_line_bytes: usize,
    now: DateTime<Utc>,
    opts: &ParseOptions,
) -> [(Vec<ReadLine>, Vec<Parsed>); 2] {
    if lines.len() < PARALLEL_LINES || !crate::helper::available() {
        let mut parsed = Vec::with_capacity(lines.len());
        parse_here(&lines, &mut parsed, src, ident, max_line_bytes, now, opts);
        return [(lines, parsed), Default::default()];
    }
    // The helper takes the larger part: this thread also reads, splits and
    // hands over the lines. The parts come back apart, in order (joined, every
    // line and result would be copied once more).
    let second = lines.split_off(lines.len() * 2 / 5);
    let (src2, ident2, opts2) = (src.clone(), ident.clone(), *opts);
    let job = move || {
        let mut out = Vec::with_capacity(second.len());
        parse_here(
            &second,
            &mut out,
            &src2,
            &ident2,
            max_line_bytes,
            now,
            &opts2,
        );
        (second, out)
    };
    let mut parsed = Vec::with_capacity(lines.len());
    let here = || parse_here(&lines, &mut parsed, src, ident, max_line_bytes, now, opts);
    let (rest, ()) = crate::helper::join(job, here);
    [(lines, parsed), rest]
}

fn parse_here(
    lines: &[ReadLine],
    parsed: &mut Vec<Parsed>,
    src: &str,
    ident: &str,
    max_line_bytes: usize,
    now: DateTime<Utc>,
    opts: &ParseOptions,
) {
    parsed.extend(lines.iter().map(|l| {
        let line = if l.too_long {
            Line::TooLong {
                offset: l.off,
                len: l.end - l.off - 1,
                head: &l.raw,
            }
        } else {
            Line::Text {
                bytes: &l.raw,
                offset: l.off,
                end: l.end,
            }
        };
        parse_one(line, src, ident, l.line, max_line_bytes, now, opts)
            .unwrap_or_else(|| unreachable!("blank lines are not kept"))
    }));
}

pub struct Tailer {
    pub path: PathBuf,
    pub src: Arc<str>,
    /// `None` while parked: closed to spare descriptors, reopened by path
    /// (and checked to be the same inode) when it has more to read.
    file: Option<File>,
    pub dev: u64,
    pub ino: u64,
    fp: Option<u64>,
    id: Arc<str>,
    /// A whole-file `*.json` drop rather than JSON Lines.
    drop: bool,
    splitter: LineSplitter,
    /// The next byte to read (the splitter may hold a partial line before it).
    next_read: u64,
    line_no: u64,
    /// For a drop: the size last read, and the size seen unparseable.
    drop_done: Option<(u64, Option<u64>)>,
    drop_pending: Option<u64>,
    /// Started over from 0 in this run: the checkpoints read at start are stale.
    restarted: bool,
    /// Source records found at open, handed out by `notes` or the first poll.
    notes: Vec<Item>,
    /// The identity this inode had in a checkpoint, if any: when the file's own
    /// has none, it was truncated or rewritten while nobody watched.
    prior: Option<String>,
    /// Size and mtime when a poll last read the file to its end.
    stamp: Option<Stamp>,
    /// The last complete line read (its place and checksum), to tell a
    /// rewrite in place that kept the size and the first line.
    tail: Option<Tail>,
}

/// A file's size and mtime: unchanged, it has nothing new.
pub type Stamp = (u64, Option<std::time::SystemTime>);

/// The stamp of a file's metadata.
pub fn stamp(meta: &std::fs::Metadata) -> Stamp {
    (meta.len(), meta.modified().ok())
}

impl Tailer {
    /// Opens `path`; resumes at its checkpoint if its identity has one.
    pub fn open(
        path: &Path,
        src: &str,
        max_line_bytes: usize,
        checkpoints: &Checkpoints,
    ) -> io::Result<Tailer> {
        Tailer::open_after(path, src, max_line_bytes, checkpoints, None)
    }

    /// As `open`; `prior` is the identity of a checkpoint of the same inode.
    pub fn open_after(
        path: &Path,
        src: &str,
        max_line_bytes: usize,
        checkpoints: &Checkpoints,
        prior: Option<String>,
    ) -> io::Result<Tailer> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let mut t = Tailer {
            path: path.to_path_buf(),
            src: src.into(),
            file: Some(file),
            dev: meta.dev(),
            ino: meta.ino(),
            fp: None,
            id: "".into(),
            drop: src.ends_with(".json"),
            splitter: LineSplitter::new(max_line_bytes, 0),
            next_read: 0,
            line_no: 0,
            drop_done: None,
            drop_pending: None,
            restarted: false,
            notes: Vec::new(),
            prior,
            stamp: None,
            tail: None,
        };
        let mut notes = Vec::new();
        t.identify(max_line_bytes, checkpoints, &mut |item| notes.push(item))?;
        t.notes = notes;
        Ok(t)
    }

    /// Hands out the source records found at open (a file `opened`, one
    /// `truncated` or `rewritten` while nobody watched).
    pub fn notes(&mut self, out: &mut impl FnMut(Item)) {
        for note in self.notes.drain(..) {
            out(note);
        }
    }

    /// The file is still linked under some name (renamed, not deleted), asked of
    /// the open file itself: a rescan between a rename and the new file's
    /// creation finds neither name, and must not call a rotation a deletion.
    pub fn still_linked(&self) -> bool {
        match &self.file {
            Some(f) => f.metadata().is_ok_and(|m| m.nlink() > 0),
            None => std::fs::metadata(&self.path)
                .is_ok_and(|m| (m.dev(), m.ino()) == (self.dev, self.ino)),
        }
    }

    /// Closes the file until it has more to read (`reopen`).
    pub fn park(&mut self) {
        self.file = None;
    }

    pub fn parked(&self) -> bool {
        self.file.is_none()
    }

    /// Whether a poll read the file to its end when it had this size and mtime.
    pub fn read_at_stamp(&self, stamp: &Stamp) -> bool {
        self.stamp.as_ref() == Some(stamp)
    }

    /// How far the file has been read: a parked file of this size has nothing new.
    pub fn read_to(&self) -> u64 {
        if self.drop {
            self.drop_done.map_or(0, |d| d.0)
        } else {
            self.next_read
        }
    }

    /// Opens a parked file again by its path, if the path still leads to it.
    pub fn reopen(&mut self) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let f = File::open(&self.path)?;
        let m = f.metadata()?;
        if (m.dev(), m.ino()) != (self.dev, self.ino) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the name leads to another file now",
            ));
        }
        self.file = Some(f);
        Ok(())
    }

    fn f(&self) -> &File {
        self.file
            .as_ref()
            .expect("open: poll reopens a parked file first")
    }

    /// The position a source record letting the file go carries: its identity
    /// and how far it was read.
    pub fn let_go_pos(&self) -> Pos {
        let end = self.consumed();
        self.pos(end, end)
    }

    /// How far the file is read and handed out: its complete lines (a partial
    /// one held back is not), or a drop's size when it was taken.
    fn consumed(&self) -> u64 {
        if self.drop {
            self.drop_done.map_or(0, |d| d.0)
        } else {
            self.splitter.committed()
        }
    }

    /// Computes the identity once the first line is there, and resumes from its
    /// checkpoint. A file whose inode has a checkpoint under another first line
    /// was truncated or rewritten while nobody watched: that is journaled too.
    fn identify(
        &mut self,
        max_line_bytes: usize,
        checkpoints: &Checkpoints,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        if self.fp.is_some() {
            return Ok(());
        }
        let Some(fp) = fingerprint_of(self.f(), self.drop)? else {
            return Ok(());
        };
        self.fp = Some(fp);
        self.id = format!("{}:{}:{fp:016x}", self.dev, self.ino).into();
        let cp = if self.restarted {
            None
        } else {
            checkpoints.get(self.id.as_ref())
        };
        let prior = self
            .prior
            .take()
            .filter(|old| cp.is_none() && **old != *self.id);
        if let Some((old, c)) = prior
            .as_deref()
            .and_then(|k| Some((k, checkpoints.get(k)?)))
        {
            let size = self.f().metadata()?.len();
            let what = if size < c.end {
                "truncated"
            } else {
                "rewritten"
            };
            let pos = Pos {
                src: self.src.clone(),
                file: old.into(),
                off: 0,
                end: 0,
                line: 0,
                entry: None,
            };
            out(Item::Source { pos, what });
        }
        // A copy (`cp -a`, a restored backup): another inode with this file's
        // name and first line, read to a place this file reaches. Read on from
        // there, not again from 0.
        let copied = match (cp, prior) {
            (None, None) if !self.restarted => {
                let size = self.f().metadata()?.len();
                let hash = format!(":{fp:016x}");
                checkpoints
                    .iter()
                    .find(|(k, c)| c.src == *self.src && k.ends_with(&hash) && c.end <= size)
                    .map(|(_, c)| c)
            }
            _ => None,
        };
        let mut resume = cp.or(copied);
        // The bytes of the last line read are not what they were: rewritten
        // in place while nobody watched (the size and the first line kept).
        if let Some(c) = resume.filter(|_| !self.drop) {
            self.tail = c.tail;
            if !self.tail_holds(c.end)? {
                out(Item::Source {
                    pos: self.pos(0, 0),
                    what: "rewritten",
                });
                self.restarted = true;
                self.tail = None;
                resume = None;
            }
        }
        if let Some(c) = copied.filter(|_| resume.is_some()) {
            self.line_no = c.line;
            out(Item::Source {
                pos: self.pos(c.end, c.end),
                what: "copied",
            });
        }
        if resume.is_none() {
            // Journaled at once, so that the file is known by its identity even
            // before a line of it is: renamed away while no console runs, it is
            // still found and read (see `DirSource`).
            out(Item::Source {
                pos: self.pos(0, 0),
                what: "opened",
            });
        }
        let (end, line) = resume.map_or((0, 0), |c| (c.end, c.line));
        if self.drop {
            self.drop_done = (end > 0).then_some((end, None));
        } else {
            self.splitter = LineSplitter::new(max_line_bytes, end);
            self.next_read = end;
            self.line_no = line;
        }
        Ok(())
    }

    /// Whether the last line read, ending at `end`, still has its bytes (true
    /// when there is none to check).
    fn tail_holds(&self, end: u64) -> io::Result<bool> {
        let Some(t) = self.tail else {
            return Ok(true);
        };
        let Some(len) = end.checked_sub(t.off).filter(|n| *n > 0 && *n <= 1 << 24) else {
            return Ok(false);
        };
        let mut line = vec![0u8; len as usize];
        let mut n = 0;
        while n < line.len() {
            let got = self.f().read_at(&mut line[n..], t.off + n as u64)?;
            if got == 0 {
                return Ok(false);
            }
            n += got;
        }
        let Some(line) = line.strip_suffix(b"\n") else {
            return Ok(false);
        };
        Ok(line_crc(line) == t.crc)
    }

    fn pos(&self, off: u64, end: u64) -> Pos {
        Pos {
            src: self.src.clone(),
            file: self.id.clone(),
            off,
            end,
            line: self.line_no,
            entry: None,
        }
    }

    /// Starts over from byte 0 after a truncation or a rewrite.
    fn restart(
        &mut self,
        what: &'static str,
        max_line_bytes: usize,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        let pos = self.pos(0, 0);
        out(Item::Source { pos, what });
        self.fp = None;
        self.drop_done = None;
        self.drop_pending = None;
        self.splitter = LineSplitter::new(max_line_bytes, 0);
        self.next_read = 0;
        self.line_no = 0;
        self.restarted = true;
        self.identify(max_line_bytes, &Checkpoints::new(), out)
    }

    /// Reads whatever is new, handing each complete line to `out`.
    pub fn poll(
        &mut self,
        max_line_bytes: usize,
        now: DateTime<Utc>,
        opts: &ParseOptions,
        checkpoints: &Checkpoints,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        self.reopen()?;
        self.notes(out);
        self.identify(max_line_bytes, checkpoints, out)?;
        let Some(fp) = self.fp else {
            return Ok(()); // no complete first line yet
        };
        // Unchanged (size and mtime) since a poll that read it all: nothing is
        // read, not even the first line (a directory of thousands of files is
        // polled every second). A rewrite in place moves the mtime.
        let stamp = stamp(&self.f().metadata()?);
        if self.stamp == Some(stamp) {
            return Ok(());
        }
        self.stamp = None;
        self.read_new(fp, stamp.0, max_line_bytes, now, opts, out)?;
        // A drop waiting for its size to settle, or a file started over and not
        // known again yet, must be looked at again.
        if self.drop_pending.is_none() && self.fp.is_some() {
            self.stamp = Some(stamp);
        }
        Ok(())
    }

    fn read_new(
        &mut self,
        fp: u64,
        size: u64,
        max_line_bytes: usize,
        now: DateTime<Utc>,
        opts: &ParseOptions,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        let consumed = self.consumed();
        if size < consumed {
            self.restart("truncated", max_line_bytes, out)?;
        } else if !self.drop && size < self.next_read {
            // Cut inside the partial line held back: the complete lines stand,
            // the partial one is dropped, and reading goes on where it began.
            let end = self.splitter.committed();
            out(Item::Source {
                pos: self.pos(end, end),
                what: "truncated",
            });
            self.splitter = LineSplitter::new(max_line_bytes, end);
            self.next_read = end;
        } else if fingerprint_of(self.f(), self.drop)? != Some(fp)
            || (!self.drop && size == consumed && !self.tail_holds(consumed)?)
        {
            self.restart("rewritten", max_line_bytes, out)?;
        }
        if self.fp.is_none() {
            return Ok(());
        }
        if self.drop {
            return self.poll_drop(size, max_line_bytes, now, opts, out);
        }
        let mut buf = vec![0u8; READ_CHUNK];
        let mut lines: Vec<ReadLine> = Vec::new();
        loop {
            let n = self.f().read_at(&mut buf, self.next_read)?;
            if n == 0 {
                return Ok(());
            }
            self.next_read += n as u64;
            let line_no = &mut self.line_no;
            self.splitter.feed(&buf[..n], &mut |line| {
                *line_no += 1;
                // `end`, past the newline, is where reading resumes after this line.
                let (off, end, raw, too_long) = match line {
                    Line::Text { bytes, .. } if bytes.iter().all(u8::is_ascii_whitespace) => {
                        return; // a blank line: no item
                    }
                    Line::Text { bytes, offset, end } => (offset, end, bytes.to_vec(), false),
                    Line::TooLong { offset, len, head } => {
                        (offset, offset + len + 1, head.to_vec(), true)
                    }
                };
                lines.push(ReadLine {
                    off,
                    end,
                    line: *line_no,
                    raw,
                    too_long,
                });
            });
            // The next chunk holds about as many lines.
            let next = Vec::with_capacity(lines.len());
            let parts = parse_lines(
                std::mem::replace(&mut lines, next),
                &self.src,
                &self.id,
                max_line_bytes,
                now,
                opts,
            );
            let mut parts = parts
                .into_iter()
                .flat_map(|(l, p)| l.into_iter().zip(p))
                .peekable();
            while let Some((l, parsed)) = parts.next() {
                if parts.peek().is_none() {
                    // The last line read: what a rewrite in place would change.
                    self.tail = (!l.too_long).then(|| Tail {
                        off: l.off,
                        crc: line_crc(&l.raw),
                    });
                }
                let pos = Pos {
                    src: self.src.clone(),
                    file: self.id.clone(),
                    off: l.off,
                    end: l.end,
                    line: l.line,
                    entry: None,
                };
                out(Item::Line {
                    pos,
                    raw: l.raw,
                    parsed,
                });
            }
        }
    }

    fn poll_drop(
        &mut self,
        size: u64,
        max_line_bytes: usize,
        now: DateTime<Utc>,
        opts: &ParseOptions,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        if self.drop_done.is_some_and(|d| d.0 == size) {
            return Ok(());
        }
        let cap = (max_line_bytes as u64).saturating_mul(64);
        let (src, id) = (self.src.clone(), self.id.clone());
        let origin = Origin {
            source: &src,
            line: 1,
            offset: 0,
            ident: &id,
        };
        if size > cap {
            self.drop_done = Some((size, None));
            let err = ParseError::new(
                &origin,
                format!("file of {size} bytes is over {cap} bytes; skipped"),
                b"",
            );
            out(Item::Line {
                pos: self.pos(0, size),
                raw: Vec::new(),
                parsed: Err(err.into()),
            });
            return Ok(());
        }
        let mut bytes = vec![0u8; size as usize];
        let mut n = 0;
        while n < bytes.len() {
            let got = self.f().read_at(&mut bytes[n..], n as u64)?;
            if got == 0 {
                break;
            }
            n += got;
        }
        bytes.truncate(n);
        let value = std::str::from_utf8(&bytes)
            .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))
            .and_then(|t| {
                serde_json::from_str::<serde_json::Value>(t)
                    .map_err(|e| format!("not valid JSON: {e}"))
            });
        let value = match value {
            Ok(v) => v,
            Err(reason) => {
                // Perhaps still being written: report it once its size has settled.
                if self.drop_pending != Some(n as u64) {
                    self.drop_pending = Some(n as u64);
                    return Ok(());
                }
                self.drop_done = Some((n as u64, None));
                let err = ParseError::new(&origin, reason, &bytes);
                out(Item::Line {
                    pos: self.pos(0, n as u64),
                    raw: Vec::new(),
                    parsed: Err(err.into()),
                });
                return Ok(());
            }
        };
        self.drop_pending = None;
        let items = match value {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        let count = items.len();
        for (i, item) in items.into_iter().enumerate() {
            let raw = serde_json::to_vec(&item).unwrap_or_default();
            let origin = Origin {
                source: &src,
                line: 1,
                offset: i as u64,
                ident: &id,
            };
            // An element is held to the limit of a line: its journal record must
            // be one replay reads back.
            let parsed = if raw.len() > max_line_bytes {
                Err(ParseError::new(
                    &origin,
                    format!(
                        "element of {} bytes is over max_line_bytes ({max_line_bytes}); skipped",
                        raw.len()
                    ),
                    &raw,
                )
                .into())
            } else {
                parse_value(item, &origin, now, opts)
                    .map(Box::new)
                    .map_err(Box::new)
            };
            // Only the last element moves the checkpoint: a crash part-way reads the
            // drop again, and event ids make that idempotent.
            let end = if i + 1 == count { n as u64 } else { 0 };
            out(Item::Line {
                pos: self.pos(i as u64, end),
                raw,
                parsed,
            });
        }
        self.drop_done = Some((n as u64, None));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::io::Write;

    /// Items are moved into batches and read on another core: kept to two
    /// cache lines.
    #[test]
    fn an_item_is_small() {
        assert_eq!(std::mem::size_of::<Item>(), 112);
    }

    fn lines(t: &mut Tailer) -> Vec<String> {
        let mut got = Vec::new();
        let now = Utc::now();
        t.poll(
            1024,
            now,
            &ParseOptions::default(),
            &Checkpoints::new(),
            &mut |i| {
                got.push(match i {
                    Item::Line { raw, .. } => String::from_utf8_lossy(&raw).into_owned(),
                    Item::Source { what, pos } => format!("{what}@{}", pos.end),
                    other => format!("{other:?}"),
                })
            },
        )
        .unwrap();
        got
    }

    #[test]
    fn a_cut_inside_the_held_back_partial_line_drops_only_that_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"type\":\"a\"}\n{\"type\":\"xx").unwrap();
        let mut t = Tailer::open(&path, "events/a.jsonl", 1024, &Checkpoints::new()).unwrap();
        assert_eq!(lines(&mut t), ["opened@0", "{\"type\":\"a\"}"]);
        // The writer takes its unfinished line back, then writes another.
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(13).unwrap();
        assert_eq!(lines(&mut t), ["truncated@13"]);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"type\":\"b\"}\n").unwrap();
        assert_eq!(lines(&mut t), ["{\"type\":\"b\"}"]);
    }

    #[test]
    fn a_backlog_parsed_on_two_threads_keeps_every_line_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let mut text = String::new();
        for i in 0..3000 {
            match i % 100 {
                7 => text.push('\n'),
                8 => text.push_str("{not json\n"),
                9 => text.push_str(&format!(
                    "{{\"type\":\"x\",\"pad\":\"{}\"}}\n",
                    "y".repeat(2000)
                )),
                _ => text.push_str(&format!("{{\"type\":\"x\",\"id\":\"e{i}\"}}\n")),
            }
        }
        std::fs::write(&path, &text).unwrap();
        let mut t = Tailer::open(&path, "events/a.jsonl", 1024, &Checkpoints::new()).unwrap();
        let mut got = Vec::new();
        let opts = ParseOptions::default();
        let now = Utc::now();
        t.poll(1024, now, &opts, &Checkpoints::new(), &mut |i| {
            if let Item::Line { pos, raw, parsed } = i {
                got.push((pos, raw, parsed));
            }
        })
        .unwrap();
        // Every line but the blank ones, in order, each as `parse_one` reads it alone.
        let mut off = 0u64;
        let mut want = Vec::new();
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let bytes = line.trim_end_matches('\n').as_bytes();
            let end = off + line.len() as u64;
            let l = if bytes.len() > 1024 {
                Line::TooLong {
                    offset: off,
                    len: bytes.len() as u64,
                    head: &bytes[..200],
                }
            } else {
                Line::Text {
                    bytes,
                    offset: off,
                    end,
                }
            };
            if let Some(parsed) = parse_one(l, "events/a.jsonl", "", n as u64 + 1, 1024, now, &opts)
            {
                want.push((off, end, n as u64 + 1, parsed));
            }
            off = end;
        }
        assert_eq!(got.len(), want.len());
        for ((pos, _, parsed), (off, end, line, want)) in got.iter().zip(&want) {
            assert_eq!((pos.off, pos.end, pos.line), (*off, *end, *line));
            assert_eq!(parsed, want);
        }
    }

    #[test]
    fn a_drop_without_a_newline_has_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        std::fs::write(&path, r#"[{"type":"a"},{"type":"b"}]"#).unwrap();
        let mut t = Tailer::open(&path, "events/d.json", 1024, &Checkpoints::new()).unwrap();
        assert_eq!(
            lines(&mut t),
            ["opened@0", r#"{"type":"a"}"#, r#"{"type":"b"}"#]
        );
        assert!(lines(&mut t).is_empty(), "read once");
    }
}
