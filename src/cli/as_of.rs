//! When `coord status` and `coord report` are true (SPEC 12): the engine they
//! print is built as of a time — now, a given time, or the journal's last
//! record — and says so: `as_of`, the time of the journal's last record, whether
//! a console is running, and which alerts, agents and tasks come only from
//! timers fired past the journal's end (`projected`: no console has recorded
//! them yet; one that runs fires the same timers, in the same order, so its
//! alerts get the ids shown).

use crate::engine::summary::Summary;
use crate::engine::{AutoAction, Effect, Engine, Input, Time};
use crate::ingest::dir::DirSource;
use crate::ingest::tailer::Item;
use crate::journal::DirLock;
use crate::model::{Event, ParseError};
use crate::runtime::{open, open_until};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::Path;

/// `--at`: the moment a view is evaluated at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// The current time (the default).
    Now,
    /// The journal's last record: what was recorded, nothing projected.
    Last,
    /// A given time: before the journal's last record, the state as the
    /// console had it then; after it, a projection.
    Time(Time),
}

impl At {
    /// `last`, `now`, or a time as `coord audit --since` takes it (RFC 3339, a
    /// date and time in UTC, or an age such as `2h`), for clap's `value_parser`.
    pub fn parse(s: &str) -> Result<At, String> {
        match s.trim() {
            "last" => Ok(At::Last),
            "now" => Ok(At::Now),
            t => super::audit::parse_time(t, chrono::Utc::now()).map(At::Time),
        }
    }
}

/// An engine as of a time, and what a reader needs to know to trust it.
pub struct Loaded {
    pub engine: Engine,
    pub as_of: Time,
    /// The time of the journal's last record; none before a console first ran.
    pub journal_last: Option<Time>,
    /// A `coord watch` holds the directory's lock: it records what it reads and
    /// fires the timers, so a projection becomes a record within a second.
    pub console_running: bool,
    projected: Projected,
}

/// What the timers fired past the journal's end touched.
#[derive(Default)]
struct Projected {
    alerts: BTreeSet<u64>,
    agents: BTreeSet<String>,
    tasks: BTreeSet<String>,
}

impl Projected {
    fn from_effects(fx: &[Effect]) -> Projected {
        let mut p = Projected::default();
        for effect in fx {
            match effect {
                Effect::Transition(t) => {
                    p.alerts.insert(t.alert);
                }
                Effect::Derived { event, .. } => {
                    p.agents.extend(event.agent.as_deref().map(str::to_string))
                }
                Effect::Action(AutoAction::LivenessChanged { agent, .. }) => {
                    p.agents.insert(agent.clone());
                }
                Effect::Action(AutoAction::TaskReassigned { task, alert, .. }) => {
                    p.tasks.insert(task.clone());
                    p.alerts.extend(alert);
                }
                _ => {}
            }
        }
        p
    }
}

impl Loaded {
    /// The summary as of `as_of`, saying when it is true and what is projected.
    pub fn summary(&self) -> Summary {
        let mut s = self.engine.summary(self.as_of);
        s.journal_last = self.journal_last;
        s.console_running = self.console_running;
        let p = &self.projected;
        for a in &mut s.alerts {
            a.projected =
                a.id.strip_prefix("A-")
                    .and_then(|n| n.parse().ok())
                    .is_some_and(|n| p.alerts.contains(&n));
        }
        for a in &mut s.agents {
            a.projected = p.agents.contains(&a.id);
        }
        for t in &mut s.tasks {
            t.projected = p.tasks.contains(&t.id);
        }
        s
    }
}

/// Builds the engine for a directory as of `at` (`now` is the current time):
/// the journal replayed (read only, no lock: a console may be running); then,
/// unless `at` is `last`, whatever the sources hold past its checkpoints, in the
/// order a console reads them, and the timers due at the time asked for. A
/// time before the journal's last record is the past: the records up to it,
/// nothing read from the sources, no timer fired (the state the console had).
pub fn load(dir: &Path, at: At, legacy: bool, now: Time) -> Result<Loaded> {
    let console_running = DirLock::held(&dir.join("journal"));
    if let At::Time(t) = at {
        if let Some(loaded) = past(dir, t, console_running)? {
            return Ok(loaded);
        }
    }
    let opened = open(dir, false)?;
    let journal_last = opened.last_at;
    let mut engine = opened.engine;
    let as_of = match at {
        At::Last => {
            let Some(last) = journal_last else {
                bail!(
                    "--at last: the journal of {} has no records yet (no console has run there); use --at now",
                    dir.display()
                );
            };
            return Ok(Loaded {
                engine,
                as_of: last,
                journal_last,
                console_running,
                projected: Projected::default(),
            });
        }
        At::Now => now,
        At::Time(t) => t,
    };
    let max = opened.config.ingest.max_line_bytes as usize;
    let mut events: Vec<Event> = Vec::new();
    let mut errors: Vec<ParseError> = Vec::new();
    let mut take = |item: Item| {
        if let Item::Line { parsed, .. } = item {
            match parsed {
                Ok(e) => events.push(*e),
                Err(e) => errors.push(*e),
            }
        }
    };
    if legacy {
        let folder = crate::ingest::legacy::legacy_dir(dir);
        crate::ingest::legacy::scan_once(dir, &opened.checkpoints, max, as_of)
            .with_context(|| format!("reading {}", folder.display()))?
            .into_iter()
            .for_each(&mut take);
    } else {
        let mut source = DirSource::new(&dir.join("events"), opened.checkpoints, max);
        // Twice: a whole-file drop that does not parse is reported once its size
        // has settled between two looks.
        for _ in 0..2 {
            source
                .rescan(as_of, &mut take)
                .with_context(|| format!("reading {}", dir.join("events").display()))?;
        }
    }
    for e in errors {
        engine.apply(Input::ParseError(e), as_of);
    }
    for e in events {
        engine.apply(Input::Event(e), as_of);
    }
    let mut fx = Vec::new();
    engine.apply_into(Input::Tick, as_of, &mut fx);
    Ok(Loaded {
        engine,
        as_of,
        journal_last,
        console_running,
        projected: Projected::from_effects(&fx),
    })
}

/// The state at `t` if it is the past (before the journal's last record): the
/// records up to it, nothing read from the sources, no timer fired. Before the
/// journal's first record nothing was recorded: refused.
fn past(dir: &Path, t: Time, console_running: bool) -> Result<Option<Loaded>> {
    let journal = dir.join("journal");
    let Some((first, last)) = crate::journal::reader::span(&journal)
        .with_context(|| format!("reading {}", journal.display()))?
    else {
        return Ok(None);
    };
    if t >= last {
        return Ok(None);
    }
    let fmt = crate::journal::record::fmt_at;
    if t < first {
        bail!(
            "--at {}: before the journal's first record ({}); nothing was recorded then",
            fmt(t),
            fmt(first)
        );
    }
    let opened = open_until(dir, t)?;
    Ok(Some(Loaded {
        engine: opened.engine,
        as_of: t,
        journal_last: Some(last),
        console_running,
        projected: Projected::default(),
    }))
}

/// When a view is true, in words (status's text and the Markdown report): the
/// time, how far the journal goes, whether a console runs, and what
/// "projected" means when anything is.
pub fn describe(
    as_of: Time,
    journal_last: Option<Time>,
    console_running: bool,
    projected: bool,
) -> Vec<String> {
    let time = |t: Time| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut first = match journal_last {
        Some(last) if last == as_of => format!("As of {} (the journal's last record)", time(last)),
        Some(last) if as_of < last => format!(
            "As of {} (the past: as the console had it then) · the journal goes to {}",
            time(as_of),
            time(last)
        ),
        Some(last) => format!("As of {} · the journal goes to {}", time(as_of), time(last)),
        None => format!("As of {} · no journal yet", time(as_of)),
    };
    first.push_str(if console_running {
        " · a console is running"
    } else {
        " · no console running"
    });
    let mut lines = vec![first];
    if projected {
        lines.push(
            "(projected): done by timers past the journal's last record, not yet recorded by a console"
                .into(),
        );
    }
    lines
}
