//! What every source of events is to the runtime — the directory, the legacy
//! folder, stdin, a Redis stream — and the one loop that drives them on their
//! own thread: read what is new, hand it over in batches, say when the first
//! full pass is done, wait, again.

use super::tailer::Item;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Items handed over at once, at most.
pub const BATCH: usize = 1024;

/// What a `read` left behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// There is more to read now: read again without waiting.
    More,
    /// Everything there is has been read.
    AtEnd,
    /// Nothing could be read (a link down): wait, then try again. Not the end
    /// of a pass, so a source that has never reached its end has not caught up.
    Retry,
    /// There will never be more (stdin closed).
    Done,
}

pub trait Source {
    /// Reads what is new, in order, into `out`.
    fn read(&mut self, out: &mut dyn FnMut(Item)) -> io::Result<Pass>;

    /// Waits for something new after `AtEnd` or `Retry`: a hint, a timer, a
    /// backoff. Returns soon (well under a second) when `stop` is set.
    fn wait(&mut self, stop: &AtomicBool);
}

/// Reads `source` until `stop`, until it is `Done`, or — `once` — until its
/// first pass ends. `deliver(items, caught_up)` hands a batch over; it marks
/// the end of the first full pass with `caught_up` (an empty batch if need
/// be), and returning false (nobody takes batches any more) ends the run.
pub fn drive(
    source: &mut dyn Source,
    once: bool,
    stop: &AtomicBool,
    mut deliver: impl FnMut(Vec<Item>, bool) -> bool,
) -> io::Result<()> {
    let mut caught_up = false;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut alive = true;
        let pass = source.read(&mut |item| {
            if alive {
                batch.push(item);
                if batch.len() >= BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    alive = deliver(full, false);
                }
            }
        })?;
        if !alive {
            return Ok(());
        }
        let end = matches!(pass, Pass::AtEnd | Pass::Done);
        let first_end = end && !caught_up;
        caught_up |= end;
        if (!batch.is_empty() || first_end) && !deliver(std::mem::take(&mut batch), first_end) {
            return Ok(());
        }
        match pass {
            Pass::Done => return Ok(()),
            Pass::AtEnd if once => return Ok(()),
            Pass::More => {}
            Pass::AtEnd | Pass::Retry => source.wait(stop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::tailer::Pos;
    use std::sync::Arc;

    /// A source reading a script of passes, each so many items.
    struct Script(Vec<(usize, Pass)>, usize);

    impl Source for Script {
        fn read(&mut self, out: &mut dyn FnMut(Item)) -> io::Result<Pass> {
            let Some(&(n, pass)) = self.0.get(self.1) else {
                return Ok(Pass::Done);
            };
            self.1 += 1;
            for i in 0..n {
                let name: Arc<str> = Arc::from("s");
                out(Item::Source {
                    pos: Pos {
                        src: name.clone(),
                        file: name,
                        off: i as u64,
                        end: i as u64,
                        line: 0,
                        entry: None,
                    },
                    what: "opened",
                });
            }
            Ok(pass)
        }
        fn wait(&mut self, _: &AtomicBool) {}
    }

    fn run(script: Vec<(usize, Pass)>, once: bool) -> Vec<(usize, bool)> {
        let mut got = Vec::new();
        drive(
            &mut Script(script, 0),
            once,
            &AtomicBool::new(false),
            |items, caught_up| {
                got.push((items.len(), caught_up));
                true
            },
        )
        .unwrap();
        got
    }

    #[test]
    fn the_first_end_of_a_pass_is_caught_up_once_and_batches_are_bounded() {
        let script = vec![
            (0, Pass::Retry),
            (BATCH + 3, Pass::More),
            (2, Pass::AtEnd),
            (0, Pass::AtEnd),
            (1, Pass::AtEnd),
        ];
        assert_eq!(
            run(script, false),
            [(BATCH, false), (3, false), (2, true), (1, false)]
        );
    }

    #[test]
    fn once_ends_at_the_first_end_even_when_it_is_empty() {
        assert_eq!(
            run(vec![(0, Pass::AtEnd), (5, Pass::AtEnd)], true),
            [(0, true)]
        );
        // Stdin's end is its first.
        assert_eq!(
            run(vec![(2, Pass::More), (0, Pass::Done)], false),
            [(2, false), (0, true)]
        );
    }

    #[test]
    fn a_closed_receiver_ends_the_run() {
        let mut n = 0;
        drive(
            &mut Script(vec![(3 * BATCH, Pass::AtEnd)], 0),
            false,
            &AtomicBool::new(false),
            |_, _| {
                n += 1;
                false
            },
        )
        .unwrap();
        assert_eq!(n, 1);
    }
}
