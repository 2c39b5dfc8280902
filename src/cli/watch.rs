//! `coord watch`: the runtime (headless for now) on a directory or stdin.

use std::path::PathBuf;

/// `$XDG_STATE_HOME/coord/stdin`, else `~/.local/state/coord/stdin`.
pub fn default_stdin_state() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let dir = base.join("coord").join("stdin");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}
