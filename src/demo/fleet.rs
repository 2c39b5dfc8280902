//! The simulated fleet: a thread that publishes the scenario's events into a
//! coordination directory through `coord::publish` — the same code path real
//! agents use, one file per agent — each when the scaled clock reaches it.
//! Stopped by a flag; it checks it at least every 100 ms.

use super::scenario::{Scenario, Timed, WINDOW};
use crate::publish::{publish_at, PublishError};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest sleep between two looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

pub struct Fleet {
    stop: Arc<AtomicBool>,
    published: Arc<AtomicU64>,
    thread: Option<JoinHandle<Result<(), PublishError>>>,
}

impl Fleet {
    /// Starts publishing `scenario` into `dir`: scenario second `s` is wall time
    /// `start + s / speed`.
    pub fn start(
        dir: PathBuf,
        scenario: Scenario,
        speed: f64,
        start: Instant,
    ) -> std::io::Result<Fleet> {
        let stop = Arc::new(AtomicBool::new(false));
        let published = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), published.clone());
        let thread = std::thread::Builder::new()
            .name("demo-fleet".into())
            .spawn(move || run(&dir, &scenario, speed, start, &s, &p))?;
        Ok(Fleet {
            stop,
            published,
            thread: Some(thread),
        })
    }

    /// Events published so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Stops the fleet and waits for its thread; the error that stopped it
    /// early, if one did.
    pub fn stop(mut self) -> Result<u64, PublishError> {
        self.stop.store(true, Ordering::Relaxed);
        let result = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(PublishError::Invalid("the fleet thread panicked".into())),
            None => Ok(()),
        };
        result.map(|()| self.published())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    dir: &std::path::Path,
    scenario: &Scenario,
    speed: f64,
    start: Instant,
    stop: &AtomicBool,
    published: &AtomicU64,
) -> Result<(), PublishError> {
    let mut queue: VecDeque<Timed> = VecDeque::new();
    // The next chunk to add to the queue.
    let mut next_chunk = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let now = start.elapsed().as_secs_f64() * speed;
        // A chunk is added a whole window ahead, so a chunk's events are all in
        // the queue before the first of them is due; later events of an
        // earlier chunk (resolutions) are merged in order.
        while (next_chunk as f64) * WINDOW <= now + WINDOW {
            let mut merged: Vec<Timed> = queue.drain(..).collect();
            merged.extend(scenario.chunk(next_chunk));
            merged.sort_by(|a, b| a.at.total_cmp(&b.at));
            queue = merged.into();
            next_chunk += 1;
        }
        while queue.front().is_some_and(|t| t.at <= now) {
            let t = queue.pop_front().expect("checked");
            match publish_at(dir, &t.event, chrono::Utc::now()) {
                Ok(_) => {
                    published.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::error!(error = %e, "demo fleet stopped");
                    return Err(e);
                }
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
        let wait = queue.front().map_or(POLL, |t| {
            let due = start + Duration::from_secs_f64((t.at / speed).max(0.0));
            due.saturating_duration_since(Instant::now())
        });
        std::thread::sleep(wait.min(POLL));
    }
    Ok(())
}
