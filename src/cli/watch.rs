//! `coord watch`: where the runtime reads from and keeps its state.

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

/// A command's DIR argument: a coordination directory, or a Redis stream address
/// whose state lives in `state` (default: under the XDG state directory, named
/// after the stream). Only `coord watch` creates the state directory.
pub fn resolve(
    arg: &str,
    state: Option<PathBuf>,
    create: bool,
) -> Result<(PathBuf, Option<crate::stream::StreamUrl>), String> {
    if !crate::stream::StreamUrl::is_stream(arg) {
        if state.is_some() {
            return Err("--state is for a stream or stdin; DIR is the state".into());
        }
        return Ok((PathBuf::from(arg), None));
    }
    let url = crate::stream::StreamUrl::parse(arg)?;
    let dir = state
        .or_else(|| url.default_state_dir())
        .ok_or("no state directory: pass --state DIR")?;
    if create {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    } else if !dir.is_dir() {
        return Err(format!(
            "no state for {url} at {} (pass the --state DIR its console uses)",
            dir.display()
        ));
    }
    Ok((dir, Some(url)))
}
