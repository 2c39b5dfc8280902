//! Reading events from the coordination directory. This module does I/O and
//! nothing else: it turns bytes into `Event`s and `ParseError`s for the engine.

pub mod dir;
pub mod legacy;
pub mod lines;
pub mod source;
pub mod stdin;
pub mod tailer;

use crate::model::event::{Origin, ParseOptions};
use crate::model::parse::parse_line_boxed;
use crate::model::ParseError;
use chrono::{DateTime, Utc};
use lines::Line;
use std::io;
use std::path::{Path, PathBuf};

/// Files in `events/` that hold events: `*.jsonl` (and `*.ndjson`, `*.log`) are
/// JSON Lines; `*.json` is a whole drop (one event or an array of events).
pub fn is_event_file(name: &str) -> bool {
    !name.starts_with('.')
        && [".jsonl", ".ndjson", ".log", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// The event files of a directory, sorted by name. Symlinks are followed only
/// when they stay inside the directory.
pub fn event_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let root = dir.canonicalize()?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_event_file(name) {
            continue;
        }
        let path = entry.path();
        let Ok(real) = path.canonicalize() else {
            continue;
        };
        if real.parent() != Some(root.as_path()) || !real.is_file() {
            continue; // a link out of the directory, or not a regular file
        }
        files.push(path);
    }
    files.sort();
    Ok(files)
}

/// One line to an event or an error; `None` for a blank line.
pub fn parse_one(
    line: Line<'_>,
    source: &str,
    line_no: u64,
    max_line_bytes: usize,
    now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Option<tailer::Parsed> {
    match line {
        Line::Text { bytes, offset, .. } => {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return None;
            }
            let origin = Origin {
                source,
                line: line_no,
                offset,
            };
            Some(parse_line_boxed(bytes, &origin, now, opts))
        }
        Line::TooLong { offset, len, head } => {
            let origin = Origin {
                source,
                line: line_no,
                offset,
            };
            Some(Err(Box::new(ParseError::new(
                &origin,
                format!("line of {len} bytes is over max_line_bytes ({max_line_bytes}); skipped"),
                head,
            ))))
        }
    }
}
