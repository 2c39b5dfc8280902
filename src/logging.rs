//! coord's own diagnostics, through `tracing`: into `coord.log` in the state
//! directory (mode 0600, started afresh past 10 MiB with the old one kept as
//! `coord.log.1`) and, while the console is up, into tui-logger's Log pane. Never to
//! stdout or stderr: the terminal UI owns them, and headless stdout is for events.
//!
//! The level is `info`, or `COORD_LOG` (`error`, `warn`, `info`, `debug`, `trace`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

pub const LOG_FILE: &str = "coord.log";
const KEEP_BYTES: u64 = 10 << 20;

/// The level from `COORD_LOG`, or an error naming what it accepts.
pub fn level_from_env() -> Result<LevelFilter, String> {
    match std::env::var("COORD_LOG") {
        Err(_) => Ok(LevelFilter::INFO),
        Ok(v) => v.trim().parse::<LevelFilter>().map_err(|_| {
            format!("COORD_LOG={v:?}: expected one of off, error, warn, info, debug, trace")
        }),
    }
}

/// Opens the log file for appending, moving a large one aside first.
fn open_log(path: &Path) -> std::io::Result<File> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > KEEP_BYTES) {
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        std::fs::rename(path, PathBuf::from(old))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Appends one line to `DIR/coord.log` in one write, for a short-lived command
/// that sets up no subscriber (`coord hook`): a console writing the same file
/// keeps its lines whole, as both append. It never moves a large log aside:
/// that is the console's to do.
pub fn append_line(dir: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join(LOG_FILE))?;
    f.write_all(format!("{line}\n").as_bytes())
}

/// Installs the process's subscriber: the file, and the Log pane when `pane`.
/// Returns what could not be set up (the console shows it), never fails the run.
/// A second call in one process does nothing.
pub fn init(state_dir: &Path, pane: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let level = level_from_env().unwrap_or_else(|e| {
        problems.push(e);
        LevelFilter::INFO
    });
    let path = state_dir.join(LOG_FILE);
    let file = match open_log(&path) {
        Ok(f) => Some(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_target(false)
                .with_writer(Mutex::new(f))
                .with_filter(level),
        ),
        Err(e) => {
            problems.push(format!("log file {}: {e}", path.display()));
            None
        }
    };
    // Not `init_logger`: its thread wakes every 10 ms for the life of the
    // console; the console moves the records itself, before each frame.
    let tui = pane.then(|| {
        tui_logger::set_default_level(tui_logger::LevelFilter::Trace);
        tui_logger::TuiTracingSubscriberLayer.with_filter(level)
    });
    let _ = tracing_subscriber::registry()
        .with(file)
        .with(tui)
        .try_init();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_log_is_moved_aside_and_a_new_one_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE);
        std::fs::write(&path, vec![b'x'; KEEP_BYTES as usize + 1]).unwrap();
        drop(open_log(&path).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let old = dir.path().join("coord.log.1");
        assert_eq!(std::fs::metadata(old).unwrap().len(), KEEP_BYTES + 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
