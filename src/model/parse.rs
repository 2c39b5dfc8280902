//! The one way from a line to an event: the fast path for the common form
//! (`fast_event`), else the general reader (`event`), whose result the fast
//! path must equal. Neither module knows of the other's entry point.

use super::event::{parse_general, Origin, ParseOptions};
use super::{Event, ParseError};
use chrono::{DateTime, Utc};

/// Parses one line (without its newline) into an event.
pub fn parse_line(
    bytes: &[u8],
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Result<Event, ParseError> {
    parse_line_boxed(bytes, origin, ingest_now, opts)
        .map(|e| *e)
        .map_err(|e| *e)
}

/// `parse_line`, the event or the error in a box as ingestion carries them
/// (built there, not copied in: both are large).
pub fn parse_line_boxed(
    bytes: &[u8],
    origin: &Origin,
    ingest_now: DateTime<Utc>,
    opts: &ParseOptions,
) -> Result<Box<Event>, Box<ParseError>> {
    if let Some(event) = super::fast_event::scan_line(bytes, origin, ingest_now, opts) {
        return Ok(event);
    }
    let fail = |reason: String| Box::new(ParseError::new(origin, reason, bytes));
    let text = std::str::from_utf8(bytes)
        .map_err(|e| fail(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    parse_general(text, origin, ingest_now, opts).map_err(fail)
}
