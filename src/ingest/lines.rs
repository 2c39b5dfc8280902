//! Splits a byte stream into lines with bounded memory: a line longer than
//! `max_line_bytes` is skipped up to its newline and reported, never buffered
//! whole; a trailing line without its newline is left for later (the writer has
//! not finished it).

use std::io::{self, BufRead};

/// One piece of output of the splitter.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line without its `\n` (and without a `\r` before it); `end` is
    /// the offset just past its newline.
    Text {
        bytes: &'a [u8],
        offset: u64,
        end: u64,
    },
    /// A line over the limit, skipped; `len` counts its bytes without the newline.
    TooLong {
        offset: u64,
        len: u64,
        head: &'a [u8],
    },
}

pub struct LineSplitter {
    max: usize,
    buf: Vec<u8>,
    /// Offset in the stream of `buf[0]`.
    start: u64,
    /// Skipping an over-long line that began at this offset, of this length so far.
    skipping: Option<(u64, u64)>,
    head: Vec<u8>,
}

impl LineSplitter {
    /// `offset`: where in the stream reading starts.
    pub fn new(max_line_bytes: usize, offset: u64) -> LineSplitter {
        LineSplitter {
            max: max_line_bytes,
            buf: Vec::new(),
            start: offset,
            skipping: None,
            head: Vec::new(),
        }
    }

    /// Offset just past the last complete line handed out: a checkpoint.
    pub fn committed(&self) -> u64 {
        self.start
    }

    /// Bytes of an unfinished trailing line held back.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Reads everything available from `r`, calling `f` for each complete line.
    pub fn read_from<R: BufRead>(
        &mut self,
        r: &mut R,
        mut f: impl FnMut(Line<'_>),
    ) -> io::Result<()> {
        loop {
            let chunk = r.fill_buf()?;
            if chunk.is_empty() {
                return Ok(());
            }
            let n = chunk.len();
            self.feed(chunk, &mut f);
            r.consume(n);
        }
    }

    /// Feeds bytes; calls `f` for every line they complete.
    pub fn feed(&mut self, mut chunk: &[u8], f: &mut impl FnMut(Line<'_>)) {
        while !chunk.is_empty() {
            // memchr: a vectorised search, several times a byte loop's speed.
            let nl = memchr::memchr(b'\n', chunk);
            if let Some((offset, len)) = self.skipping {
                match nl {
                    Some(i) => {
                        let len = len + i as u64;
                        f(Line::TooLong {
                            offset,
                            len,
                            head: &self.head,
                        });
                        self.head.clear();
                        self.skipping = None;
                        self.start = offset + len + 1;
                        chunk = &chunk[i + 1..];
                    }
                    None => {
                        self.skipping = Some((offset, len + chunk.len() as u64));
                        return;
                    }
                }
                continue;
            }
            let take = nl.map_or(chunk.len(), |i| i);
            if self.buf.len() + take > self.max {
                // Over the limit: keep a head for the report, drop the rest. The
                // length so far counts the bytes held back from earlier chunks.
                let so_far = self.pending_len_with(take);
                let mut head = std::mem::take(&mut self.buf);
                head.extend_from_slice(&chunk[..take.min(self.max.saturating_sub(head.len()))]);
                head.truncate(crate::model::event::EXCERPT_BYTES);
                self.head = head;
                self.skipping = Some((self.start, so_far));
                self.buf = Vec::new();
                chunk = &chunk[take..];
                continue;
            }
            match nl {
                Some(i) => {
                    let line_start = self.start;
                    let end = line_start + (self.buf.len() + i) as u64 + 1;
                    if self.buf.is_empty() {
                        f(Line::Text {
                            bytes: trim_cr(&chunk[..i]),
                            offset: line_start,
                            end,
                        });
                    } else {
                        self.buf.extend_from_slice(&chunk[..i]);
                        let line = std::mem::take(&mut self.buf);
                        f(Line::Text {
                            bytes: trim_cr(&line),
                            offset: line_start,
                            end,
                        });
                        self.buf = line;
                        self.buf.clear();
                    }
                    self.start = end;
                    chunk = &chunk[i + 1..];
                }
                None => {
                    self.buf.extend_from_slice(chunk);
                    return;
                }
            }
        }
    }

    fn pending_len_with(&self, more: usize) -> u64 {
        (self.buf.len() + more) as u64
    }
}

fn trim_cr(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, pieces: &[&[u8]]) -> (Vec<String>, LineSplitter) {
        let mut s = LineSplitter::new(max, 0);
        let mut out = Vec::new();
        for p in pieces {
            s.feed(p, &mut |l| {
                out.push(match l {
                    Line::Text { bytes, offset, .. } => {
                        format!("{offset}:{}", String::from_utf8_lossy(bytes))
                    }
                    Line::TooLong { offset, len, head } => {
                        format!("{offset}:long {len} {}", head.len())
                    }
                })
            });
        }
        (out, s)
    }

    #[test]
    fn whole_and_split_lines() {
        let (out, s) = split(100, &[b"ab\ncd", b"ef\r\n", b"gh"]);
        assert_eq!(out, ["0:ab", "3:cdef"]);
        assert_eq!(s.committed(), 9);
        assert_eq!(s.pending(), 2);
    }

    #[test]
    fn long_lines_are_skipped_to_their_newline() {
        let (out, s) = split(4, &[b"ok\n12345", b"678\nnext\n"]);
        assert_eq!(out, ["0:ok", "3:long 8 4", "12:next"]);
        assert_eq!(s.committed(), 17);
        let (out, _) = split(4, &[b"123456789", b"123456789", b"\n", b"x\n"]);
        assert_eq!(out, ["0:long 18 4", "19:x"]);
    }

    /// Found by fuzzing: a line that goes over the limit in a later chunk than
    /// the one it began in was reported, and skipped past, without the bytes
    /// held back from the earlier chunks, so every offset after it was wrong.
    #[test]
    fn a_long_line_counts_the_bytes_of_earlier_chunks() {
        let (out, s) = split(4, &[b"ok\n123", b"45\nnext\n"]);
        assert_eq!(out, ["0:ok", "3:long 5 4", "9:next"]);
        assert_eq!(s.committed(), 14);
    }

    #[test]
    fn memory_stays_bounded_on_a_huge_line() {
        let mut s = LineSplitter::new(1024, 0);
        let chunk = vec![b'x'; 64 * 1024];
        let mut n = 0;
        for _ in 0..160 {
            s.feed(&chunk, &mut |_| n += 1);
            assert!(s.pending() <= 1024);
        }
        s.feed(b"\n", &mut |l| {
            assert!(matches!(l, Line::TooLong { len, .. } if len == 160 * 64 * 1024));
            n += 1;
        });
        assert_eq!(n, 1);
    }
}
