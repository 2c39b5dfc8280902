//! A second thread for work that splits in two: parsing a backlog of lines.
//! One thread for the whole process, started on first use and kept: a thread
//! per chunk cost a stack and a fresh allocator heap each time, and on these
//! machines fresh memory is slow to fault in. It never holds state between jobs and never does I/O of its own.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// The helper's queue; `None` when there is no second CPU or no thread.
fn queue() -> Option<&'static Mutex<SyncSender<Job>>> {
    static QUEUE: OnceLock<Option<Mutex<SyncSender<Job>>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            if cpus < 2 {
                return None;
            }
            let (tx, rx) = sync_channel::<Job>(4);
            std::thread::Builder::new()
                .name("helper".into())
                .spawn(move || {
                    for job in rx {
                        job();
                    }
                })
                .ok()?;
            Some(Mutex::new(tx))
        })
        .as_ref()
}

/// Whether `join` can run work on the helper thread.
pub fn available() -> bool {
    queue().is_some()
}

/// Runs `there` on the helper thread while `here` runs on this one, and returns
/// both results; with no helper, runs both here, `here` first. A panic in
/// either comes out here.
pub fn join<T, U, F>(there: F, here: impl FnOnce() -> U) -> (T, U)
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match beside(there) {
        Ok(done) => {
            let u = here();
            (wait(done), u)
        }
        Err(there) => {
            let u = here();
            (there(), u)
        }
    }
}

/// Runs `job` on the helper thread; its result (or its panic) comes back on the
/// receiver. `None` when there is no helper (see `available`): the job is
/// handed back, for the caller to run itself.
fn beside<T, F>(job: F) -> Result<Receiver<std::thread::Result<T>>, F>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let Some(queue) = queue() else {
        return Err(job);
    };
    let Ok(queue) = queue.lock() else {
        return Err(job);
    };
    let (done, result) = sync_channel(1);
    let job: Job = Box::new(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        let _ = done.send(out);
    });
    // The helper never ends (no job unwinds out of it); were it gone, the job
    // runs here, and its result is waiting all the same.
    if let Err(std::sync::mpsc::SendError(job)) = queue.send(job) {
        job();
    }
    Ok(result)
}

/// Waits for a job sent with `beside`, and re-raises its panic here.
fn wait<T>(result: Receiver<std::thread::Result<T>>) -> T {
    match result.recv() {
        Ok(Ok(out)) => out,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the helper thread ended with a job"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_beside_and_panics_come_back() {
        assert_eq!(join(|| (1..=10).sum::<u32>(), || 3), (55, 3));
        if available() {
            let rx = beside(|| -> u32 { panic!("boom") }).ok().unwrap();
            let caught = std::panic::catch_unwind(|| wait(rx));
            assert!(caught.is_err());
            // The helper goes on.
            assert_eq!(wait(beside(|| 2).ok().unwrap()), 2);
        }
    }
}
