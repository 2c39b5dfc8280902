//! The directory source (SPEC 2, 3.4): `events/` followed by one non-recursive
//! `notify` watch, with no debouncer. Notifications are only hints that mark files
//! dirty; a full rescan runs on notify's `Rescan` flag, when hints overflow, and
//! on a slow timer, so nothing depends on a notification arriving.

use super::tailer::{Item, Pos, Tailer};
use super::{event_files, is_event_file};
use crate::journal::Checkpoints;
use crate::model::event::ParseOptions;
use chrono::{DateTime, Utc};
use notify::Watcher;
use std::collections::HashMap;
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
}

impl DirSource {
    pub fn new(dir: &Path, checkpoints: Checkpoints, max_line_bytes: usize) -> DirSource {
        DirSource {
            dir: dir.to_path_buf(),
            tailers: HashMap::new(),
            checkpoints,
            max_line_bytes,
            opts: ParseOptions::default(),
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
        let files = if self.dir.is_dir() {
            event_files(&self.dir)?
        } else {
            Vec::new()
        };
        let mut present = HashMap::new();
        for path in files {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            present.insert((meta.dev(), meta.ino()), path);
        }
        let gone: Vec<(u64, u64)> = self
            .tailers
            .keys()
            .filter(|k| !present.contains_key(k))
            .copied()
            .collect();
        for key in gone {
            let mut t = self.tailers.remove(&key).expect("listed");
            t.poll(self.max_line_bytes, now, &self.opts, &self.checkpoints, out)?;
            let what = if t.path.exists() {
                "rotated"
            } else {
                "deleted"
            };
            let pos = Pos {
                src: t.src.clone(),
                file: "".into(),
                off: 0,
                end: 0,
                line: 0,
            };
            out(Item::Source { pos, what });
        }
        for (key, path) in present {
            match self.tailers.get_mut(&key) {
                Some(t) => {
                    if t.path != path {
                        // Renamed inside the directory: same file, same place.
                        t.path = path.clone();
                        t.src = Self::src_of(&path).into();
                    }
                }
                None => {
                    let src = Self::src_of(&path);
                    match Tailer::open(&path, &src, self.max_line_bytes, &self.checkpoints) {
                        Ok(t) => {
                            self.tailers.insert(key, t);
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        self.poll_all(now, out)
    }

    pub fn poll_all(&mut self, now: DateTime<Utc>, out: &mut impl FnMut(Item)) -> io::Result<()> {
        let mut keys: Vec<&(u64, u64)> = self.tailers.keys().collect();
        keys.sort_by_key(|k| &self.tailers[k].path);
        let keys: Vec<(u64, u64)> = keys.into_iter().copied().collect();
        for key in keys {
            if let Some(t) = self.tailers.get_mut(&key) {
                t.poll(self.max_line_bytes, now, &self.opts, &self.checkpoints, out)?;
            }
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
            match self.tailers.values_mut().find(|t| &t.path == path) {
                Some(t) => t.poll(self.max_line_bytes, now, &self.opts, &self.checkpoints, out)?,
                None => known = false,
            }
        }
        Ok(known)
    }
}

/// A hint from the watcher.
enum Hint {
    Paths(Vec<PathBuf>),
    Rescan,
}

/// Runs a directory source on its own thread until `stop` is set, handing items
/// to `deliver` in batches (which may block: that is the back-pressure). With
/// `once`, reads everything there is, delivers, and returns.
pub fn run(
    dir: &Path,
    checkpoints: Checkpoints,
    max_line_bytes: usize,
    once: bool,
    stop: Arc<AtomicBool>,
    clock: impl Fn() -> DateTime<Utc>,
    mut deliver: impl FnMut(Vec<Item>, bool) -> bool,
) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut source = DirSource::new(dir, checkpoints, max_line_bytes);
    let (tx, rx): (SyncSender<Hint>, Receiver<Hint>) = sync_channel(4096);
    let overflow = Arc::new(AtomicBool::new(false));
    // The watcher only marks things dirty; a lost hint is caught by the rescan.
    let _watcher = if once {
        None
    } else {
        let (tx, overflow) = (tx.clone(), overflow.clone());
        let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let hint = match res {
                Ok(ev) if ev.need_rescan() => Hint::Rescan,
                Ok(ev) => Hint::Paths(ev.paths),
                Err(_) => Hint::Rescan,
            };
            if tx.try_send(hint).is_err() {
                overflow.store(true, Ordering::Relaxed);
            }
        })
        .map_err(io::Error::other)?;
        w.watch(dir, notify::RecursiveMode::NonRecursive)
            .map_err(io::Error::other)?;
        Some(w)
    };
    drop(tx);
    let mut batch: Vec<Item> = Vec::with_capacity(BATCH);
    let mut last_rescan = Instant::now() - RESCAN_EVERY;
    let mut first = true;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut rescan = first
            || overflow.swap(false, Ordering::Relaxed)
            || last_rescan.elapsed() >= RESCAN_EVERY;
        let mut paths = Vec::new();
        if !rescan {
            let wait = RESCAN_EVERY
                .saturating_sub(last_rescan.elapsed())
                .min(Duration::from_millis(200));
            match rx.recv_timeout(wait) {
                Ok(Hint::Rescan) => rescan = true,
                Ok(Hint::Paths(p)) => paths.extend(p),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => rescan = true,
            }
            while let Ok(h) = rx.try_recv() {
                match h {
                    Hint::Rescan => rescan = true,
                    Hint::Paths(p) => paths.extend(p),
                }
            }
        }
        let now = clock();
        let mut send = |item: Item, batch: &mut Vec<Item>| -> bool {
            batch.push(item);
            if batch.len() >= BATCH {
                return deliver(std::mem::replace(batch, Vec::with_capacity(BATCH)), false);
            }
            true
        };
        let mut alive = true;
        let mut out = |item: Item| {
            if alive {
                alive = send(item, &mut batch);
            }
        };
        if !rescan {
            paths.sort();
            paths.dedup();
            rescan = !source.poll_paths(&paths, now, &mut out)?;
        }
        if rescan {
            source.rescan(now, &mut out)?;
            last_rescan = Instant::now();
        }
        if !alive {
            return Ok(());
        }
        if !batch.is_empty() || once || first {
            let caught_up = once || first;
            if !deliver(std::mem::take(&mut batch), caught_up) {
                return Ok(());
            }
        }
        first = false;
        if once {
            return Ok(());
        }
    }
}

/// Items handed over at once, at most.
pub const BATCH: usize = 1024;
