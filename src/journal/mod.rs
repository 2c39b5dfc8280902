//! The audit journal (SPEC 9): append-only JSON Lines under `journal/`, segmented,
//! group-committed, replayed on start through the same `apply` as live input.

pub mod follow;
pub mod lock;
pub mod reader;
pub mod recent;
pub mod record;
pub mod replay;
pub mod snapshot;
pub mod writer;

pub use lock::{DirLock, LockError};
pub use replay::{replay, Checkpoint, Checkpoints, Refused, Replayed};
pub use writer::JournalWriter;
