//! Reading events from the coordination directory. This module does I/O and
//! nothing else: it turns bytes into `Event`s and `ParseError`s for the engine.

pub mod lines;

use crate::model::event::{parse_line, parse_value, Origin, ParseOptions};
use crate::model::{Event, ParseError};
use chrono::{DateTime, Utc};
use lines::{Line, LineSplitter};
use std::fs::File;
use std::io::{self, BufReader, Read};
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

/// Reads one whole file, handing each event or error to `sink`.
pub fn read_file(
    path: &Path,
    source: &str,
    max_line_bytes: usize,
    now: DateTime<Utc>,
    opts: &ParseOptions,
    sink: &mut impl FnMut(Result<Event, ParseError>),
) -> io::Result<()> {
    let file = File::open(path)?;
    if source.ends_with(".json") {
        return read_drop(file, source, max_line_bytes, now, opts, sink);
    }
    let mut splitter = LineSplitter::new(max_line_bytes, 0);
    let mut line_no = 0u64;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    splitter.read_from(&mut reader, |line| {
        line_no += 1;
        if let Some(parsed) = parse_one(line, source, line_no, max_line_bytes, now, opts) {
            sink(parsed);
        }
    })?;
    Ok(())
}

/// One line to an event or an error; `None` for a blank line.
pub fn parse_one(
    line: Line<'_>,
    source: &str,
    line_no: u64,
    max_line_bytes: usize,
    now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Option<Result<Event, ParseError>> {
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
            Some(parse_line(bytes, &origin, now, opts))
        }
        Line::TooLong { offset, len, head } => {
            let origin = Origin {
                source,
                line: line_no,
                offset,
            };
            Some(Err(ParseError::new(
                &origin,
                format!("line of {len} bytes is over max_line_bytes ({max_line_bytes}); skipped"),
                head,
            )))
        }
    }
}

/// A whole `*.json` drop: one event object, or an array of them.
fn read_drop(
    file: File,
    source: &str,
    max_line_bytes: usize,
    now: DateTime<Utc>,
    opts: &ParseOptions,
    sink: &mut impl FnMut(Result<Event, ParseError>),
) -> io::Result<()> {
    // A drop may hold many events, but not without bound.
    let cap = (max_line_bytes as u64).saturating_mul(64);
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    let origin = Origin {
        source,
        line: 1,
        offset: 0,
    };
    if bytes.len() as u64 > cap {
        sink(Err(ParseError::new(
            &origin,
            format!("file is over {cap} bytes; skipped"),
            &bytes,
        )));
        return Ok(());
    }
    let value: serde_json::Value = match std::str::from_utf8(&bytes) {
        Err(e) => {
            sink(Err(ParseError::new(
                &origin,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                &bytes,
            )));
            return Ok(());
        }
        Ok(text) => match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                sink(Err(ParseError::new(
                    &origin,
                    format!("not valid JSON: {e}"),
                    &bytes,
                )));
                return Ok(());
            }
        },
    };
    match value {
        serde_json::Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                // Each element gets its own stand-in position for id and errors.
                let origin = Origin {
                    source,
                    line: 1,
                    offset: i as u64,
                };
                sink(parse_value(item, &origin, now, opts));
            }
        }
        other => sink(parse_value(other, &origin, now, opts)),
    }
    Ok(())
}

/// Every event and error in `dir/events/`, file by file.
pub fn read_events_dir(
    dir: &Path,
    max_line_bytes: usize,
    now: DateTime<Utc>,
    opts: &ParseOptions,
    mut sink: impl FnMut(Result<Event, ParseError>),
) -> io::Result<()> {
    let events = dir.join("events");
    if !events.is_dir() {
        return Ok(());
    }
    for path in event_files(&events)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let source = format!("events/{name}");
        read_file(&path, &source, max_line_bytes, now, opts, &mut sink)?;
    }
    Ok(())
}
pub mod dir;
pub mod stdin;
pub mod tailer;
