//! The exclusive lock on a coordination directory's journal: one writing console
//! at a time (SPEC 2). The lock is an `flock` on `journal/LOCK`, released by the
//! kernel when the process dies, so a `kill -9` never leaves a stale lock.

use rustix::fs::{flock, FlockOperation};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// How many times `acquire` tries, 10 ms apart, before it refuses.
const PROBE_TRIES: u32 = 20;

pub struct DirLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another coord is already watching this directory ({holder}); start this one with --read-only to follow it")]
    Held { holder: String },
    #[error("cannot lock {path}: {source}")]
    Io { path: String, source: io::Error },
}

impl DirLock {
    /// Whether a coord holds the lock on `journal_dir` (a console or a headless
    /// watcher is running). Probes with a shared lock, let go at once; a
    /// console starting in that instant waits for it (`acquire` retries).
    pub fn held(journal_dir: &Path) -> bool {
        File::open(journal_dir.join("LOCK"))
            .is_ok_and(|f| flock(&f, FlockOperation::NonBlockingLockShared).is_err())
    }

    /// Takes the lock on `journal_dir`, or says who holds it.
    pub fn acquire(journal_dir: &Path) -> Result<DirLock, LockError> {
        let path = journal_dir.join("LOCK");
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(journal_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // A `held` probe holds the lock for an instant: not worth a refusal.
        let taken = (0..PROBE_TRIES).any(|i| {
            if i > 0 {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok()
        });
        if !taken {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::Held {
                holder: if holder.is_empty() {
                    "unknown process".into()
                } else {
                    crate::sanitize::sanitize(holder).into_owned()
                },
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        let _ = write!(file, "pid {}", std::process::id());
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        match DirLock::acquire(dir.path()) {
            Err(LockError::Held { holder }) => {
                assert_eq!(holder, format!("pid {}", std::process::id()))
            }
            _ => panic!("second lock taken"),
        }
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
