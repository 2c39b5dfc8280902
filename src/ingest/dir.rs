//! The directory source (SPEC 2, 3.4): `events/` followed by one non-recursive
//! `notify` watch, with no debouncer. Notifications are only hints that mark files
//! dirty; a full rescan runs on notify's `Rescan` flag, when hints overflow, and
//! on a slow timer, so nothing depends on a notification arriving.

use super::source::{Pass, Source};
use super::tailer::{fingerprint, Item, Pos, Tailer};
use super::{event_files, is_event_file};
use crate::journal::{Checkpoint, Checkpoints};
use crate::model::event::ParseOptions;
use chrono::{DateTime, Utc};
use notify::Watcher;
use std::collections::{HashMap, HashSet};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The slow timer of the full rescan.
pub const RESCAN_EVERY: Duration = Duration::from_secs(1);

/// All the tailers of one directory.
pub struct DirSource {
    dir: PathBuf,
    tailers: HashMap<(u64, u64), Tailer>,
    checkpoints: Checkpoints,
    max_line_bytes: usize,
    opts: ParseOptions,
    /// The checkpointed identity of each inode (`dev`, `ino`): a file found
    /// under another identity was truncated or rewritten.
    by_inode: HashMap<(u64, u64), String>,
    /// Files renamed away while no console ran have been looked for.
    adopted: bool,
    /// Event files that could not be opened, reported once.
    unreadable: HashSet<PathBuf>,
    /// Entries with an event file's name that are not read (a link out of the
    /// directory, a FIFO, a directory), logged once each.
    skipped: HashSet<PathBuf>,
    /// Files held open at most: past it, the file written to least lately is
    /// parked (closed, reopened by path when it grows).
    budget: usize,
    /// When each file last gave lines (a counter), for choosing which to park.
    touched: HashMap<(u64, u64), u64>,
    clock: u64,
    /// Out of descriptors was said (once a run).
    said_out_of_descriptors: bool,
}

/// Descriptors left for the rest of coord (the journal, the outbox, the log,
/// sockets, a snapshot) when the files of `events/` take theirs.
const RESERVED_FDS: u64 = 100;

/// How many files of `events/` may be open at once under the process's limit.
fn fd_budget() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    soft.saturating_sub(RESERVED_FDS).clamp(16, 1 << 20) as usize
}

/// `EMFILE` or `ENFILE`: no descriptor to be had now; not the file's fault.
fn out_of_descriptors(e: &io::Error) -> bool {
    use rustix::io::Errno;
    let n = e.raw_os_error();
    n == Some(Errno::MFILE.raw_os_error()) || n == Some(Errno::NFILE.raw_os_error())
}

impl DirSource {
    pub fn new(dir: &Path, checkpoints: Checkpoints, max_line_bytes: usize) -> DirSource {
        let by_inode = checkpoints
            .keys()
            .filter_map(|k| Some((inode_of(k)?, k.clone())))
            .collect();
        DirSource {
            dir: dir.to_path_buf(),
            tailers: HashMap::new(),
            checkpoints,
            by_inode,
            max_line_bytes,
            opts: ParseOptions::default(),
            adopted: false,
            unreadable: HashSet::new(),
            skipped: HashSet::new(),
            budget: fd_budget(),
            touched: HashMap::new(),
            clock: 0,
            said_out_of_descriptors: false,
        }
    }

    /// A file renamed away (`a.jsonl` to `a.jsonl.1`) while no console ran is no
    /// longer listed, but may still hold lines past its checkpoint: at start, each
    /// file of the directory that is not an event file and whose identity has a
    /// checkpoint short of its end is read to its end and let go.
    fn adopt_rotated(&mut self, now: DateTime<Utc>, out: &mut impl FnMut(Item)) -> io::Result<()> {
        if self.by_inode.is_empty() {
            return Ok(());
        }
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(()); // the listing that follows reports it
        };
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            // Not followed: symlinks (the entry's own metadata), event files (listed).
            let Ok(meta) = entry.metadata() else { continue };
            if is_event_file(name) || !meta.is_file() {
                continue;
            }
            if !self.by_inode.contains_key(&(meta.dev(), meta.ino())) {
                continue;
            }
            let path = entry.path();
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            let Ok(Some(fp)) = fingerprint(&file) else {
                continue;
            };
            let id = format!("{}:{}:{fp:016x}", meta.dev(), meta.ino());
            match self.checkpoints.get(&id) {
                Some(c) if c.end < meta.len() && !c.src.ends_with(".json") => {}
                _ => continue,
            }
            let src = Self::src_of(&path);
            let Ok(mut t) = Tailer::open(&path, &src, self.max_line_bytes, &self.checkpoints)
            else {
                continue;
            };
            let mut read = false;
            let polled = t.poll(
                self.max_line_bytes,
                now,
                &self.opts,
                &self.checkpoints,
                &mut |item| {
                    read = true;
                    out(item)
                },
            );
            if polled.is_err() {
                self.unreadable(&path, out);
            }
            if read {
                let pos = t.let_go_pos();
                out(Item::Source {
                    pos,
                    what: "rotated",
                });
            }
        }
        Ok(())
    }

    /// Reports a file (or the directory) that cannot be read, once until it can
    /// be again; it is tried again at every rescan, and the others go on.
    fn unreadable(&mut self, path: &Path, out: &mut impl FnMut(Item)) {
        if self.unreadable.insert(path.to_path_buf()) {
            let src = if path == self.dir {
                "events/".to_string()
            } else {
                Self::src_of(path)
            };
            let pos = Pos {
                src: src.into(),
                file: "".into(),
                off: 0,
                end: 0,
                line: 0,
                entry: None,
            };
            out(Item::Source {
                pos,
                what: "unreadable",
            });
        }
    }

    fn readable(&mut self, path: &Path) {
        if !self.unreadable.is_empty() {
            self.unreadable.remove(path);
        }
    }

    /// Reads one file to its end; an error is reported, not passed on. A
    /// parked file is looked at by path and opened again only if it grew (or
    /// shrank); out of descriptors, another file is parked and this one
    /// tried again, and failing that it waits for the next rescan.
    fn poll_one(&mut self, key: (u64, u64), now: DateTime<Utc>, out: &mut impl FnMut(Item)) {
        let Some(t) = self.tailers.get(&key) else {
            return;
        };
        if t.parked() {
            match std::fs::metadata(&t.path) {
                Ok(m) if (m.dev(), m.ino()) == (t.dev, t.ino) && m.len() != t.read_to() => {}
                // Nothing new; or gone or replaced: the rescan lets it go.
                _ => return,
            }
            self.make_room(Some(key));
        }
        let mut polled = self.poll_tailer(key, now, out);
        if polled.as_ref().is_err_and(out_of_descriptors) && self.park_one(Some(key)) {
            polled = self.poll_tailer(key, now, out);
        }
        let path = self.tailers[&key].path.clone();
        match polled {
            Ok(()) if self.unreadable.is_empty() => {}
            Ok(()) => self.readable(&path),
            Err(e) if out_of_descriptors(&e) => self.out_of_descriptors(&path, &e),
            Err(_) => self.unreadable(&path, out),
        }
    }

    fn poll_tailer(
        &mut self,
        key: (u64, u64),
        now: DateTime<Utc>,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        let t = self.tailers.get_mut(&key).expect("known");
        let before = t.read_to();
        let polled = t.poll(self.max_line_bytes, now, &self.opts, &self.checkpoints, out);
        if t.read_to() != before {
            self.clock += 1;
            self.touched.insert(key, self.clock);
        }
        polled
    }

    /// Parks files until fewer than `budget` are open (never `keep`).
    fn make_room(&mut self, keep: Option<(u64, u64)>) {
        let open = self.tailers.values().filter(|t| !t.parked()).count();
        for _ in self.budget.saturating_sub(1)..open {
            if !self.park_one(keep) {
                break;
            }
        }
    }

    /// Parks the open file that gave lines least lately; false if none could be.
    fn park_one(&mut self, keep: Option<(u64, u64)>) -> bool {
        let idlest = self
            .tailers
            .iter()
            .filter(|(k, t)| !t.parked() && Some(**k) != keep)
            .min_by_key(|(k, _)| self.touched.get(*k).copied().unwrap_or(0))
            .map(|(k, _)| *k);
        match idlest.and_then(|k| self.tailers.get_mut(&k)) {
            Some(t) => {
                t.park();
                true
            }
            None => false,
        }
    }

    /// Out of descriptors with every file parked that could be: said once a
    /// run, naming the limit; the file is tried again at the next rescan.
    fn out_of_descriptors(&mut self, path: &Path, e: &io::Error) {
        if !std::mem::replace(&mut self.said_out_of_descriptors, true) {
            let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
            tracing::warn!(
                src = %Self::src_of(path),
                "too many open files ({e}; limit {}): files are read in turn, the others wait",
                limit.map_or("none".to_string(), |l| l.to_string())
            );
        }
    }

    fn src_of(path: &Path) -> String {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        format!("events/{name}")
    }

    /// Lists the directory, starts tailers for new files, notices renames, and
    /// reads every file to its end — a file gone from the listing is read to its
    /// end once more and let go.
    pub fn rescan(&mut self, now: DateTime<Utc>, out: &mut impl FnMut(Item)) -> io::Result<()> {
        if !self.adopted && self.dir.is_dir() {
            self.adopt_rotated(now, out)?;
            self.adopted = true;
        }
        let files = if self.dir.is_dir() {
            event_files(&self.dir)
        } else {
            Ok((Vec::new(), Vec::new()))
        };
        let dir = self.dir.clone();
        let files = match files {
            Ok((files, skipped)) => {
                self.readable(&dir);
                for (path, why) in skipped {
                    if !self.skipped.contains(&path) {
                        tracing::warn!(src = %Self::src_of(&path), "not read: {why}");
                        self.skipped.insert(path);
                    }
                }
                files
            }
            Err(_) => {
                // Not listed this time (too many open files…): nothing is let go,
                // the files already open are read, and the listing is tried again.
                self.unreadable(&dir, out);
                return self.poll_all(now, out);
            }
        };
        // What the listing saw unchanged since its file was read to its end is
        // not polled (the listing's stat stands for the poll's).
        let mut unchanged = HashSet::new();
        let mut present: HashMap<(u64, u64), PathBuf> = HashMap::new();
        for (path, key, stamp) in files {
            let read = self.tailers.get(&key);
            if stamp.is_some_and(|s| read.is_some_and(|t| t.path == path && t.read_at_stamp(&s))) {
                unchanged.insert(key);
            }
            present.insert(key, path);
        }
        let gone: Vec<(u64, u64)> = self
            .tailers
            .keys()
            .filter(|k| !present.contains_key(k))
            .copied()
            .collect();
        for key in gone {
            self.poll_one(key, now, out);
            let t = self.tailers.remove(&key).expect("listed");
            self.touched.remove(&key);
            let what = if t.still_linked() {
                "rotated"
            } else {
                "deleted"
            };
            let pos = t.let_go_pos();
            // Should the file come back under an event name, it goes on from here,
            // not from where it stood at start.
            if !pos.file.is_empty() {
                let c = Checkpoint {
                    src: pos.src.to_string(),
                    end: pos.end,
                    line: pos.line,
                    entry: None,
                    tail: None,
                };
                self.checkpoints.insert(pos.file.to_string(), c);
                self.by_inode.insert(key, pos.file.to_string());
            }
            out(Item::Source { pos, what });
        }
        for (key, path) in present {
            match self.tailers.get_mut(&key) {
                Some(t) => {
                    if t.path != path {
                        // Renamed inside the directory (rotated): same file,
                        // same place, journaled under its new name.
                        t.path = path.clone();
                        t.src = Self::src_of(&path).into();
                        let pos = t.let_go_pos();
                        if !pos.file.is_empty() {
                            out(Item::Source {
                                pos,
                                what: "renamed",
                            });
                        }
                    }
                }
                None => {
                    let src = Self::src_of(&path);
                    let prior = self.by_inode.get(&key).cloned();
                    let max = self.max_line_bytes;
                    self.make_room(None);
                    let mut opened =
                        Tailer::open_after(&path, &src, max, &self.checkpoints, prior.clone());
                    if opened.as_ref().is_err_and(out_of_descriptors) && self.park_one(None) {
                        opened = Tailer::open_after(&path, &src, max, &self.checkpoints, prior);
                    }
                    match opened {
                        // The name led to another file by the time it was opened
                        // (rotated between the listing and the open): that file
                        // is known by its own inode, and is read by the tailer
                        // it already has, or by this one if none.
                        Ok(t)
                            if (t.dev, t.ino) != key
                                && self.tailers.contains_key(&(t.dev, t.ino)) => {}
                        Ok(mut t) => {
                            let key = (t.dev, t.ino);
                            self.readable(&path);
                            // Before any file's lines: its identity is journaled first.
                            t.notes(out);
                            self.tailers.insert(key, t);
                            self.clock += 1;
                            self.touched.insert(key, self.clock);
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        // Tried again at the next rescan, not called unreadable.
                        Err(e) if out_of_descriptors(&e) => self.out_of_descriptors(&path, &e),
                        // Permissions: the others go on.
                        Err(_) => self.unreadable(&path, out),
                    }
                }
            }
        }
        self.poll_except(&unchanged, now, out)
    }

    pub fn poll_all(&mut self, now: DateTime<Utc>, out: &mut impl FnMut(Item)) -> io::Result<()> {
        self.poll_except(&HashSet::new(), now, out)
    }

    /// Polls every file but `skip`, in name order.
    fn poll_except(
        &mut self,
        skip: &HashSet<(u64, u64)>,
        now: DateTime<Utc>,
        out: &mut impl FnMut(Item),
    ) -> io::Result<()> {
        let mut keys: Vec<&(u64, u64)> =
            self.tailers.keys().filter(|k| !skip.contains(k)).collect();
        keys.sort_by_key(|k| &self.tailers[k].path);
        let keys: Vec<(u64, u64)> = keys.into_iter().copied().collect();
        for key in keys {
            self.poll_one(key, now, out);
        }
        Ok(())
    }

    /// Reads the files a hint named; `false` when one is unknown (rescan then).
    pub fn poll_paths(
        &mut self,
        paths: &[PathBuf],
        now: DateTime<Utc>,
        out: &mut impl FnMut(Item),
    ) -> io::Result<bool> {
        let mut known = true;
        for path in paths {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !is_event_file(name) {
                continue;
            }
            let key = self
                .tailers
                .iter()
                .find(|(_, t)| &t.path == path)
                .map(|(k, _)| *k);
            match key {
                Some(key) => {
                    self.poll_one(key, now, out);
                    // The name now leads elsewhere (rotated, deleted): rescan.
                    match std::fs::metadata(path) {
                        Ok(m) if (m.dev(), m.ino()) == key => {}
                        _ => known = false,
                    }
                }
                None => known = false,
            }
        }
        Ok(known)
    }
}

/// The inode of a checkpoint's identity `dev:ino:hash`.
fn inode_of(id: &str) -> Option<(u64, u64)> {
    let mut parts = id.split(':');
    let dev = parts.next()?.parse().ok()?;
    let ino = parts.next()?.parse().ok()?;
    parts.next()?;
    parts.next().is_none().then_some((dev, ino))
}

/// A hint from the watcher.
enum Hint {
    Paths(Vec<PathBuf>),
    Rescan,
}

/// The directory followed: the watcher's hints and the rescan timer around a
/// `DirSource`.
pub struct Followed {
    source: DirSource,
    /// Dropped, it would stop the hints; `None` without one (no inotify
    /// instance or descriptor left): the timed rescans alone follow the
    /// directory, slower, nothing lost.
    _watcher: Option<notify::RecommendedWatcher>,
    hints: Receiver<Hint>,
    /// Kept, so that waiting for a hint times out on the rescan timer rather
    /// than finding the channel closed.
    _tx: SyncSender<Hint>,
    overflow: Arc<AtomicBool>,
    last_rescan: Instant,
    rescan: bool,
    paths: Vec<PathBuf>,
    once: bool,
    clock: fn() -> DateTime<Utc>,
}

impl Followed {
    pub fn new(
        dir: &Path,
        checkpoints: Checkpoints,
        max_line_bytes: usize,
        once: bool,
        clock: fn() -> DateTime<Utc>,
    ) -> io::Result<Followed> {
        std::fs::create_dir_all(dir)?;
        let (tx, hints) = sync_channel(4096);
        let overflow = Arc::new(AtomicBool::new(false));
        // The watcher only marks things dirty; a lost hint is caught by the rescan.
        let watcher = if once {
            None
        } else {
            let (tx, overflow) = (tx.clone(), overflow.clone());
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                let hint = match res {
                    Ok(ev) if ev.need_rescan() => {
                        tracing::warn!(
                            "the watcher lost events (kernel queue overflow): a full rescan"
                        );
                        Hint::Rescan
                    }
                    Ok(ev) => Hint::Paths(ev.paths),
                    Err(e) => {
                        tracing::warn!("the watcher failed ({e}): a full rescan");
                        Hint::Rescan
                    }
                };
                if tx.try_send(hint).is_err() && !overflow.swap(true, Ordering::Relaxed) {
                    tracing::info!("watcher hints overflowed: a full rescan");
                }
            })
            .and_then(|mut w| {
                w.watch(dir, notify::RecursiveMode::NonRecursive)?;
                Ok(w)
            })
            .ok()
        };
        Ok(Followed {
            source: DirSource::new(dir, checkpoints, max_line_bytes),
            _watcher: watcher,
            hints,
            _tx: tx,
            overflow,
            last_rescan: Instant::now(),
            rescan: true,
            paths: Vec::new(),
            once,
            clock,
        })
    }

    fn hint(&mut self, hint: Hint) {
        match hint {
            Hint::Rescan => self.rescan = true,
            Hint::Paths(p) => self.paths.extend(p),
        }
    }
}

impl Source for Followed {
    /// The files hinted at, or every file when a rescan is due (the first
    /// read, a lost hint, the timer).
    fn read(&mut self, mut out: &mut dyn FnMut(Item)) -> io::Result<Pass> {
        let now = (self.clock)();
        let mut rescan = std::mem::take(&mut self.rescan)
            || self.overflow.swap(false, Ordering::Relaxed)
            || self.last_rescan.elapsed() >= RESCAN_EVERY;
        if !rescan && !self.paths.is_empty() {
            let mut paths = std::mem::take(&mut self.paths);
            paths.sort();
            paths.dedup();
            rescan = !self.source.poll_paths(&paths, now, &mut out)?;
        }
        if rescan {
            self.paths.clear();
            self.source.rescan(now, &mut out)?;
            if self.once {
                // A second look: a whole-file drop that does not parse is
                // reported once its size has held between two looks.
                self.source.rescan(now, &mut out)?;
            }
            self.last_rescan = Instant::now();
        }
        Ok(Pass::AtEnd)
    }

    fn wait(&mut self, _stop: &AtomicBool) {
        let wait = RESCAN_EVERY
            .saturating_sub(self.last_rescan.elapsed())
            .min(Duration::from_millis(200));
        match self.hints.recv_timeout(wait) {
            Ok(h) => self.hint(h),
            Err(RecvTimeoutError::Timeout) => return,
            Err(RecvTimeoutError::Disconnected) => self.rescan = true,
        }
        while let Ok(h) = self.hints.try_recv() {
            self.hint(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whats(items: &[Item]) -> Vec<&'static str> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Source { what, .. } if *what != "opened" => Some(*what),
                _ => None,
            })
            .collect()
    }

    /// A rescan between a rename and the new file's creation finds no file under
    /// either event name: the old file is still linked, so it was rotated.
    #[test]
    fn a_rename_seen_before_the_new_file_exists_is_a_rotation() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let a = dir.join("a.jsonl");
        std::fs::write(&a, "{\"type\":\"agent_heartbeat\",\"id\":\"1\"}\n").unwrap();
        let mut source = DirSource::new(dir, Checkpoints::default(), 1 << 20);
        let now = chrono::Utc::now();
        let mut items = Vec::new();
        source.rescan(now, &mut |i| items.push(i)).unwrap();
        assert!(whats(&items).is_empty());

        // To a rotated name: the same file, followed on.
        std::fs::rename(&a, dir.join("a.jsonl.1")).unwrap();
        items.clear();
        source.rescan(now, &mut |i| items.push(i)).unwrap();
        assert_eq!(whats(&items), ["renamed"]);
        // Out of the event names, still linked: a rotation, let go.
        std::fs::rename(dir.join("a.jsonl.1"), dir.join("a.old")).unwrap();
        items.clear();
        source.rescan(now, &mut |i| items.push(i)).unwrap();
        assert_eq!(whats(&items), ["rotated"]);

        // A file deleted is a deletion.
        let b = dir.join("b.jsonl");
        std::fs::write(&b, "{\"type\":\"agent_heartbeat\",\"id\":\"2\"}\n").unwrap();
        source.rescan(now, &mut |_| {}).unwrap();
        std::fs::remove_file(&b).unwrap();
        items.clear();
        source.rescan(now, &mut |i| items.push(i)).unwrap();
        assert_eq!(whats(&items), ["deleted"]);
    }
}
