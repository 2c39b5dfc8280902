//! Signals that always stop coord: SIGTERM, SIGINT and SIGHUP (an SSH session
//! dropping) are caught on a thread of their own, never on the loop they stop.
//! The first one asks the loop to end cleanly (journal flushed, terminal given
//! back). If the process is still there `GRACE` later — the loop blocked on a
//! consumer that does not read (a stalled pipe or terminal, a disk that does not
//! answer) — the last resort gives the terminal back, flushes what the journal
//! can take in a bounded time, says what it could not, and exits. A second
//! signal goes to the last resort at once. Nothing here waits without a bound:
//! the process is gone within `DEADLINE` of the first signal.

use crate::journal::writer::{Flusher, WriterState};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the loop has to stop cleanly.
pub const GRACE: Duration = Duration::from_millis(500);
/// The process is gone by then, whatever blocks.
pub const DEADLINE: Duration = Duration::from_millis(900);
/// How long the last resort waits for the journal.
const FLUSH_WAIT: Duration = Duration::from_millis(200);
/// The exit status of a stop the loop could not finish.
pub const FORCED_EXIT: i32 = 3;

/// What the last resort needs: the journal to flush and what to say of it, and
/// whether a console holds the terminal.
#[derive(Clone, Default)]
pub struct LastResort {
    pub journal: Option<(Flusher, Arc<WriterState>)>,
    pub console: bool,
}

/// The signal thread, while the run lasts: dropped, it stops listening and will
/// never force an exit (the run ended on its own).
pub struct Watch {
    pub stop: tokio::sync::mpsc::UnboundedReceiver<i32>,
    handle: Handle,
    done: Arc<AtomicBool>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
        self.handle.close();
    }
}

impl Watch {
    /// Starts listening. `last` is read only if the last resort is needed, and
    /// can be filled in once the journal is open.
    pub fn start(last: Arc<std::sync::Mutex<LastResort>>) -> std::io::Result<Watch> {
        let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
        let handle = signals.handle();
        let (tx, stop) = tokio::sync::mpsc::unbounded_channel();
        let done = Arc::new(AtomicBool::new(false));
        let finished = done.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let Some(sig) = signals.forever().next() else {
                    return;
                };
                let first = Instant::now();
                let _ = tx.send(sig);
                // The loop stops; a second signal means no more waiting.
                while first.elapsed() < GRACE && signals.pending().next().is_none() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if finished.load(Ordering::Acquire) {
                    return;
                }
                let last = last.lock().map(|l| l.clone()).unwrap_or_default();
                // The last resort itself may block (a terminal that takes no
                // bytes): it runs apart, and the exit comes at the deadline.
                let (said, told) = std::sync::mpsc::channel();
                let _ = std::thread::Builder::new()
                    .name("last-resort".into())
                    .spawn(move || {
                        last_resort(&last, sig, first.elapsed());
                        let _ = said.send(());
                    });
                let _ = told.recv_timeout(DEADLINE.saturating_sub(first.elapsed()));
                std::process::exit(FORCED_EXIT);
            })?;
        Ok(Watch { stop, handle, done })
    }
}

/// Gives the terminal back, flushes the journal for a bounded time, and says
/// what was not flushed, on stderr and in `coord.log`.
fn last_resort(last: &LastResort, sig: i32, waited: Duration) {
    if last.console {
        crate::console::restore_raw();
    }
    crate::hooks::end_all();
    let name = match sig {
        SIGTERM => "SIGTERM",
        SIGINT => "SIGINT",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    };
    let journal = match &last.journal {
        None => "no journal was open".to_string(),
        Some((flusher, state)) => {
            let flushed = flusher.flush(FLUSH_WAIT);
            let durable = state.durable_seq.load(Ordering::Acquire);
            let queued = state.queued_seq.load(Ordering::Acquire);
            if flushed && durable >= queued {
                format!("the journal is flushed through record {durable}; what the loop had not yet handed to it is read again from its sources on the next start")
            } else {
                format!(
                    "the journal could not be flushed: records {} to {queued} were not written; they and what the loop had not yet handed to the journal are read again from their sources on the next start",
                    durable + 1
                )
            }
        }
    };
    let what = format!(
        "coord watch: stopped by {name}: the loop did not finish stopping within {} ms (output not read, or a disk that does not answer); {journal}; notifications not yet in the outbox are sent on the next start",
        waited.as_millis()
    );
    tracing::error!("{what}");
    let _ = writeln!(std::io::stderr(), "{what}");
}
