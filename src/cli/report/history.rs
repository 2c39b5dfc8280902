//! What happened over time, for the report's charts: the journal replayed from
//! its first record (as `coord status --at` would see each moment), the
//! engine sampled at `SAMPLES` moments evenly spread up to the report's time,
//! the last being the report's own state. A moment between two samples is not
//! seen: an agent late for less than a sample's width may not show.

use crate::config::load_config;
use crate::engine::agents::Liveness;
use crate::engine::{Engine, Time};
use crate::journal::replay::{record_input, Checkpoints};
use crate::model::event::ParseOptions;
use crate::model::plan::load_plan;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// Moments sampled.
pub const SAMPLES: usize = 200;

/// One moment.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Time,
    /// Each phase's completion (%), in the plan's order.
    pub phases: Vec<f64>,
    /// Each agent known then, with its liveness.
    pub agents: BTreeMap<String, Liveness>,
}

#[derive(Clone, Debug, Default)]
pub struct History {
    /// Oldest first; none without a journal.
    pub samples: Vec<Sample>,
}

fn sample(engine: &Engine, at: Time) -> Sample {
    Sample {
        at,
        phases: engine.phases.iter().map(|p| p.completion()).collect(),
        agents: engine
            .agents
            .iter()
            .map(|(id, a)| (id.clone(), a.liveness))
            .collect(),
    }
}

/// Replays `dir`'s journal up to `until` and samples it; `now` is the
/// report's engine, as of `until` (the last sample).
pub fn of(dir: &Path, now: &Engine, until: Time) -> Result<History> {
    let journal = dir.join("journal");
    let Some((first, _)) = crate::journal::reader::span(&journal)? else {
        return Ok(History::default());
    };
    if first >= until {
        return Ok(History {
            samples: vec![sample(now, until)],
        });
    }
    let step = (until - first) / SAMPLES as i32;
    let times: Vec<Time> = (0..SAMPLES).map(|i| first + step * i as i32).collect();
    let mut engine = Engine::new(load_config(dir)?, load_plan(dir)?.as_ref());
    let (opts, mut checkpoints) = (ParseOptions::default(), Checkpoints::default());
    let mut samples = Vec::with_capacity(SAMPLES + 1);
    let mut fx = Vec::new();
    super::super::audit::scan(&journal, |_, rec| {
        if rec.at > until {
            return;
        }
        while samples.len() < times.len() && times[samples.len()] < rec.at {
            samples.push(sample(&engine, times[samples.len()]));
        }
        if let Some(input) = record_input(rec, &mut checkpoints, &opts) {
            engine.apply_into(input, rec.at, &mut fx);
            fx.clear();
        }
    })?;
    while samples.len() < times.len() {
        samples.push(sample(&engine, times[samples.len()]));
    }
    samples.push(sample(now, until));
    Ok(History { samples })
}
