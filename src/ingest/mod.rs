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
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Files in `events/` that hold events: `*.jsonl` (and `*.ndjson`, `*.log`) are
/// JSON Lines, and so are their rotated forms (`a.jsonl.1`, `a.jsonl-20261204`):
/// a file renamed by a log rotator is followed under its new name, whatever
/// the speed of the rotation. `*.json` is a whole drop (one event or an array).
pub fn is_event_file(name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    if name.ends_with(".json") {
        return true;
    }
    [".jsonl", ".ndjson", ".log"].iter().any(|ext| {
        name.match_indices(ext).any(|(i, _)| {
            let rest = &name[i + ext.len()..];
            rest.is_empty() || rotated_suffix(rest)
        })
    })
}

/// `.N` or `-SUFFIX` (letters, digits, `_`, `-`): what logrotate and its kin
/// append; a compressed rotation (`.gz`) is not JSON Lines.
fn rotated_suffix(rest: &str) -> bool {
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if let Some(n) = rest.strip_prefix('.') {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    } else {
        rest.strip_prefix('-').is_some_and(word)
    }
}

/// An entry not read, and why.
pub type Skipped = (PathBuf, &'static str);

/// An event file, its identity (`dev`, `ino`), and its size and mtime when
/// listed (none for a link).
pub type Listed = (PathBuf, (u64, u64), Option<tailer::Stamp>);

/// The event files of a directory with their identities, sorted by name, and
/// the entries with an event file's name that are not read, with why. A
/// regular file costs one `fstatat` beyond the listing (not the listing's
/// inode: on overlayfs it may not be the one `stat` gives): a directory of
/// thousands is listed every second. Symlinks are followed only when they stay
/// inside the directory.
pub fn event_files(dir: &Path) -> io::Result<(Vec<Listed>, Vec<Skipped>)> {
    use std::os::unix::fs::MetadataExt;
    let mut root = None;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_event_file(name) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_file() {
            // Gone since the listing: not there.
            if let Ok(m) = entry.metadata() {
                files.push((path, (m.dev(), m.ino()), Some(tailer::stamp(&m))));
            }
            continue;
        }
        let why = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if !kind.is_symlink() {
            "not a regular file"
        } else {
            let root = match &root {
                Some(r) => r,
                None => root.insert(dir.canonicalize()?),
            };
            match path.canonicalize() {
                Err(_) => "a link that leads nowhere",
                Ok(real) if real.parent() != Some(root.as_path()) => {
                    "a link that leads out of events/"
                }
                Ok(real) => match std::fs::metadata(&real) {
                    Ok(m) if m.is_file() => {
                        files.push((path, (m.dev(), m.ino()), None));
                        continue;
                    }
                    Ok(m) if m.is_dir() => "a directory",
                    Ok(m) if m.file_type().is_fifo() => "a FIFO",
                    Ok(_) => "not a regular file",
                    Err(_) => "gone before it could be looked at",
                },
            }
        };
        skipped.push((path, why));
    }
    files.sort();
    Ok((files, skipped))
}

/// One line to an event or an error; `None` for a blank line.
pub fn parse_one(
    line: Line<'_>,
    source: &str,
    ident: &str,
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
                ident,
            };
            Some(parse_line_boxed(bytes, &origin, now, opts))
        }
        Line::TooLong { offset, len, head } => {
            let origin = Origin {
                source,
                line: line_no,
                offset,
                ident,
            };
            Some(Err(Box::new(ParseError::new(
                &origin,
                format!("line of {len} bytes is over max_line_bytes ({max_line_bytes}); skipped"),
                head,
            ))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_event_file;

    #[test]
    fn event_files_and_their_rotated_forms() {
        for yes in [
            "a.jsonl",
            "a.ndjson",
            "a.log",
            "a.json",
            "a.jsonl.1",
            "a.jsonl.12",
            "a.jsonl-20261204",
            "a.log-2026-12-04_1",
            "be.jsonl.jsonl.3",
        ] {
            assert!(is_event_file(yes), "{yes}");
        }
        for no in [
            ".a.jsonl",
            "a.jsonl.gz",
            "a.jsonl.1.gz",
            "a.jsonl.",
            "a.jsonl-",
            "a.jsonl.x",
            "a.jsonl-2026.gz",
            "a.jsonl.swp",
            "a.txt",
            "a.jsonlé",
            "a.jsonl-é",
            "jsonl",
        ] {
            assert!(!is_event_file(no), "{no}");
        }
    }
}
