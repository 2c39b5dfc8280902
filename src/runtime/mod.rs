//! The runtime: wires the sources, the engine, the journal and the view
//! together. One owner of the state — the core, driven by one loop — applies
//! every input; sources run on their own thread and hand over parsed batches
//! through a bounded channel; the journal writer commits records in groups on
//! its own thread; the view (the headless printer or the console) observes
//! what the core applied.

mod core;
mod observer;
mod printer;
mod run;

pub use self::core::Core;
pub use observer::Observer;
pub use printer::{summary_line, Printer};
pub use run::run;

use crate::config::{load_config, Config};
use crate::engine::{Engine, Time};
use crate::ingest::tailer::Item;
use crate::journal::{replay, Checkpoints};
use crate::model::plan::load_plan;
use anyhow::{bail, Context, Result};
use chrono::{SubsecRound, Utc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Inputs are applied at times rounded to the millisecond, the journal's
/// precision, so that replay applies them at exactly the same times.
pub fn now_ms() -> Time {
    Utc::now().trunc_subsecs(3)
}

/// A run of `coord watch` (or `coord demo`): where its events come from, what
/// it shows, and in which directory it keeps its state.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    pub dir: PathBuf,
    pub feed: Feed,
    pub view: View,
    /// End the run after this long (`coord demo --duration`).
    pub run_for: Option<Duration>,
}

/// Where a run's events come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Feed {
    /// `DIR/events/`: JSON Lines files and whole `*.json` drops.
    Events,
    /// The seed's `DIR/coordination_protocols/`, whole files rewritten in place.
    Legacy,
    /// JSON Lines on stdin; `dir` is only the state directory.
    Stdin,
    /// A Redis stream; `dir` is only the state directory.
    Stream(crate::stream::StreamUrl),
    /// No source of its own: the journal of the console that holds `dir`,
    /// followed (`--read-only`).
    Follow,
}

/// What a run shows, and when it ends.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    /// Ingest what is there, tick, print a summary, exit (`--once`).
    Once,
    /// A line per event and transition, until stopped (`--headless`).
    Lines,
    /// The console on the terminal, with the operator's name for actions;
    /// `demo` puts DEMO in its status bar.
    Console { operator: String, demo: bool },
}

impl WatchOptions {
    fn read_only(&self) -> bool {
        self.feed == Feed::Follow
    }

    fn once(&self) -> bool {
        self.view == View::Once
    }

    fn console(&self) -> Option<&str> {
        match &self.view {
            View::Console { operator, .. } => Some(operator),
            _ => None,
        }
    }
}

/// A batch from a source; `caught_up` marks the end of the first full pass.
pub struct Batch {
    pub items: Vec<Item>,
    pub caught_up: bool,
}

/// The coordination directory opened: configuration, plan, engine rebuilt from
/// the journal.
pub struct Opened {
    pub config: Config,
    pub engine: Engine,
    pub checkpoints: Checkpoints,
    pub last_seq: u64,
    /// The last record's time (none for an empty journal).
    pub last_at: Option<crate::engine::Time>,
    pub segment: u64,
    pub tail_offset: u64,
    pub torn: bool,
    /// Snapshots passed over (damaged, or not fitting the journal), and why.
    pub passed_over: Vec<String>,
    /// The snapshot replay began from (its `seq`; 0: none).
    pub snapshot_seq: u64,
}

/// Loads the configuration and plan and replays the journal. `repair` cuts a
/// torn tail off (only under the lock).
pub fn open(dir: &Path, repair: bool) -> Result<Opened> {
    open_to(dir, repair, None)
}

/// `open` as the console had the directory at `until` (read only): the
/// journal's records up to that time, nothing after.
pub fn open_until(dir: &Path, until: crate::engine::Time) -> Result<Opened> {
    open_to(dir, false, Some(until))
}

fn open_to(dir: &Path, repair: bool, until: Option<crate::engine::Time>) -> Result<Opened> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let config = load_config(dir)?;
    let plan = load_plan(dir)?;
    let mut engine = Engine::new(config.clone(), plan.as_ref());
    let journal = dir.join("journal");
    let r = match until {
        None => replay(&journal, &mut engine, repair),
        Some(t) => crate::journal::replay::replay_until(&journal, &mut engine, t),
    }
    .with_context(|| format!("replaying {}", journal.display()))?;
    Ok(Opened {
        config,
        engine,
        checkpoints: r.checkpoints,
        last_seq: r.last_seq,
        last_at: r.last_at,
        segment: r.segment,
        tail_offset: r.tail_offset,
        torn: r.torn,
        passed_over: r.passed_over,
        snapshot_seq: r.snapshot.unwrap_or(0),
    })
}
