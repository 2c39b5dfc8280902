//! `coord demo`: a coordination directory with the demo's coord.json and
//! plan.json, the simulated fleet publishing into it, and the console (or the
//! headless runtime) on it.
//!
//! The directory: a new one under the system's temporary directory unless
//! `--dir` is given. `--dir` is created if missing; an existing directory must
//! be empty or a previous demo's (it holds `.coord-demo`), whose files are
//! then removed so the story starts afresh. Anything else is refused: the demo
//! never writes into a directory it did not make. The directory is kept after
//! the run, for `coord status`, `coord report` and `coord audit`.

use crate::demo::fleet::Fleet;
use crate::demo::scenario::{self, Scenario};
use crate::runtime::{Feed, View, WatchOptions};
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file that marks a directory as the demo's.
pub const MARKER: &str = ".coord-demo";

/// What a previous demo leaves in its directory, removed before a new run.
const DEMO_ENTRIES: [&str; 8] = [
    "events",
    "journal",
    "outbox",
    "coord.json",
    "plan.json",
    "coord.log",
    "coord.log.1",
    MARKER,
];

#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub dir: Option<PathBuf>,
    pub agents: usize,
    pub seed: u64,
    pub speed: f64,
    pub headless: bool,
    pub duration: Option<f64>,
    pub operator: String,
}

/// Runs the demo; returns the exit code (0, or 2 when the runtime failed).
pub fn run(opts: &DemoOptions) -> Result<i32> {
    if !(opts.speed.is_finite() && opts.speed > 0.0 && opts.speed <= 100.0) {
        bail!(
            "--speed must be greater than 0 and at most 100; got {}",
            opts.speed
        );
    }
    if let Some(d) = opts.duration {
        if !(d.is_finite() && d > 0.0 && d <= 366.0 * 86400.0) {
            bail!("--duration must be a number of seconds greater than 0; got {d}");
        }
    }
    let scenario = Scenario::new(opts.seed, opts.agents).map_err(anyhow::Error::msg)?;
    let dir = match &opts.dir {
        Some(d) => {
            prepare_dir(d)?;
            d.clone()
        }
        None => temp_dir()?,
    };
    let start_wall = chrono::Utc::now();
    write_files(&dir, &scenario, opts, start_wall)?;

    let console =
        !opts.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    eprintln!(
        "coord demo: {} agents, seed {}, speed {}, in {}",
        opts.agents,
        opts.seed,
        opts.speed,
        dir.display()
    );
    let watch = WatchOptions {
        dir: dir.clone(),
        feed: Feed::Events,
        view: match console {
            true => View::Console {
                operator: opts.operator.clone(),
                demo: true,
            },
            false => View::Lines,
        },
        run_for: opts.duration.map(Duration::from_secs_f64),
    };
    let fleet = Fleet::start(dir.clone(), scenario, opts.speed, Instant::now())
        .context("starting the fleet")?;
    let result = if console {
        crate::runtime::run(&watch, std::io::sink())
    } else {
        crate::runtime::run(&watch, std::io::BufWriter::new(std::io::stdout().lock()))
    };
    let fleet = fleet.stop();
    let code = result?;
    let published = fleet.context("the fleet stopped")?;
    eprintln!(
        "coord demo: {published} events published; the directory is kept: coord status {d}, coord report {d}",
        d = dir.display()
    );
    Ok(code)
}

/// A new directory under the system's temporary directory.
fn temp_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    for n in 0..1000 {
        let dir = base.join(format!("coord-demo-{stamp}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    bail!("no free directory name under {}", base.display())
}

/// `--dir`: created if missing; empty, or a previous demo's (cleared); else refused.
fn prepare_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()));
    }
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let empty = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .next()
        .is_none();
    if empty {
        return Ok(());
    }
    if !dir.join(MARKER).is_file() {
        bail!(
            "{} is not empty and not a previous demo's directory; give a new or empty directory",
            dir.display()
        );
    }
    for name in DEMO_ENTRIES {
        let path = dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("clearing the previous demo: {}", path.display()))?;
    }
    Ok(())
}

fn write_files(
    dir: &Path,
    scenario: &Scenario,
    opts: &DemoOptions,
    start: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))
    };
    write(
        MARKER,
        format!(
            "coord demo: seed {} agents {} speed {} started {}\n",
            opts.seed,
            opts.agents,
            opts.speed,
            start.to_rfc3339()
        ),
    )?;
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON") + "\n";
    write("coord.json", pretty(&scenario::config(opts.speed)))?;
    write("plan.json", pretty(&scenario.plan(start, opts.speed)))?;
    // Held to the rules of any coordination directory.
    crate::config::load_config(dir)?;
    crate::model::plan::load_plan(dir)?;
    Ok(())
}
