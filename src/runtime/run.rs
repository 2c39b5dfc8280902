//! A run of `coord watch` (or `coord demo`): the directory locked and opened,
//! the journal, outbox and source started, then one loop that hands the core
//! each batch, key, timer and signal until the run ends, and stops everything
//! in order.

use super::core::{system, Core, SNAPSHOT_RECORDS};
use super::observer::Observer;
use super::printer::{summary_line, Printer};
use super::{now_ms, open, Batch, Feed, Opened, View, WatchOptions};
use crate::ingest::source::{drive, Source};
use crate::ingest::tailer::Item;
use crate::journal::follow::{Applied, Follower};
use crate::journal::record;
use crate::journal::{DirLock, JournalWriter};
use crate::outbox::{Letter, Outbox};
use crate::signals::{LastResort, Watch};
use anyhow::{bail, Result};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a stopping run waits for its source to notice.
const SOURCE_STOP_WAIT: Duration = Duration::from_millis(200);

/// `coord watch DIR`: the whole runtime, shown as lines on `out` or as the
/// console. Returns the exit code.
pub fn run(opts: &WatchOptions, out: impl Write) -> Result<i32> {
    // Signals first, on a thread of their own: a SIGTERM during a long replay
    // ends the run once the loop starts, or within a second if it never does.
    let last_resort = Arc::new(Mutex::new(LastResort::default()));
    let signals = Watch::start(last_resort.clone())?;
    let journal_dir = opts.dir.join("journal");
    let _lock = if opts.read_only() {
        None
    } else {
        if !opts.dir.is_dir() {
            bail!("{} is not a directory", opts.dir.display());
        }
        Some(DirLock::acquire(&journal_dir)?)
    };
    let log_problems = crate::logging::init(&opts.dir, opts.console().is_some());
    if opts.console().is_none() {
        for p in &log_problems {
            eprintln!("coord watch: {p}");
        }
    }
    let opened = open(&opts.dir, !opts.read_only())?;
    // A follower keeps nothing of its own in the directory it follows.
    let subs: &[&str] = match opts.feed {
        Feed::Follow => &[],
        Feed::Stream(_) => &["outbox"],
        _ => &["events", "outbox"],
    };
    for sub in subs {
        let _ = std::fs::create_dir_all(opts.dir.join(sub));
    }
    let outbox = if opts.read_only() {
        None
    } else {
        let dir = opts.dir.join("outbox");
        match Outbox::start(&dir, &opened.config) {
            Ok(outbox) => {
                resend_undelivered(&outbox, &journal_dir, opened.last_seq);
                Some(outbox)
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "no outbox: {e}");
                None
            }
        }
    };
    let journal = if opts.read_only() {
        None
    } else {
        let mailbox = outbox.as_ref().map(Outbox::mailbox);
        let j = JournalWriter::open(&journal_dir, opened.segment, mailbox)?;
        // What replay read is on disk.
        j.state
            .durable_seq
            .store(opened.last_seq, Ordering::Release);
        j.state.queued_seq.store(opened.last_seq, Ordering::Release);
        if let Ok(mut last) = last_resort.lock() {
            last.journal = Some((j.flusher(), j.state.clone()));
        }
        Some(j)
    };
    let started = Started {
        signals,
        last_resort,
        outbox,
        journal,
    };
    match &opts.view {
        View::Console { operator, demo } => {
            let mut app = crate::ui::App::new(&opened.config, operator.clone());
            app.demo = *demo;
            app.journal = if opts.read_only() {
                crate::ui::JournalState::ReadOnly
            } else {
                crate::ui::JournalState::Ok
            };
            app.tui_logger = true;
            if matches!(opts.feed, Feed::Stream(_)) {
                app.stream = Some(crate::ui::StreamState::Connected);
            }
            for p in &log_problems {
                app.push_log(p.clone());
            }
            if !log_problems.is_empty() {
                app.status = Some(log_problems.join("; "));
            }
            match crate::journal::recent::recent(&journal_dir, app.capacity()) {
                Ok(recent) => app.refill(recent),
                Err(e) => tracing::warn!(error = %e, "the journal's last events could not be read"),
            }
            serve(opts, opened, started, app)
        }
        View::Once | View::Lines => {
            let printer = Printer::new(out, opts.view == View::Lines);
            serve(opts, opened, started, printer)
        }
    }
}

/// What a run holds besides the core, until it stops.
struct Started {
    signals: Watch,
    last_resort: Arc<Mutex<LastResort>>,
    outbox: Option<Outbox>,
    journal: Option<JournalWriter>,
}

/// The source `feed` names, made on the thread that reads it.
fn source(
    opts: &WatchOptions,
    opened: &Opened,
) -> Option<impl FnOnce() -> std::io::Result<Box<dyn Source>> + Send + 'static> {
    let (feed, dir, once) = (opts.feed.clone(), opts.dir.clone(), opts.once());
    let checkpoints = opened.checkpoints.clone();
    let max = opened.config.ingest.max_line_bytes as usize;
    (feed != Feed::Follow).then_some(move || -> std::io::Result<Box<dyn Source>> {
        Ok(match feed {
            Feed::Events => Box::new(crate::ingest::dir::Followed::new(
                &dir.join("events"),
                checkpoints,
                max,
                once,
                now_ms,
            )?),
            Feed::Legacy => Box::new(crate::ingest::legacy::Followed::new(
                &dir,
                &checkpoints,
                max,
                once,
                now_ms,
            )),
            Feed::Stdin => Box::new(crate::ingest::stdin::Stdin::new(max, now_ms)),
            Feed::Stream(url) => Box::new(crate::stream::source::Reader::new(
                &url,
                &checkpoints,
                max,
                once,
                now_ms,
            )?),
            Feed::Follow => unreachable!("a follower has no source"),
        })
    })
}

/// The loop, with `view` showing what the core applies.
fn serve<V: Observer>(
    opts: &WatchOptions,
    opened: Opened,
    started: Started,
    view: V,
) -> Result<i32> {
    let Started {
        mut signals,
        last_resort,
        outbox,
        journal,
    } = started;
    let journal_dir = opts.dir.join("journal");
    let make_source = source(opts, &opened);
    let mut core = Core::new(opened.engine, journal, opened.last_seq, view);
    core.checkpoints = opened.checkpoints;
    // A start that replayed many records (no snapshot, or an old one) takes
    // one now, so that the next start does not replay them again.
    core.snapshot.0 = opened.snapshot_seq;
    if opened.last_seq.saturating_sub(opened.snapshot_seq) >= SNAPSHOT_RECORDS {
        core.snapshot();
    }
    if let (Feed::Stream(url), Some(_)) = (&opts.feed, opts.console()) {
        core.actions = Some(crate::stream::sink::ActionSender::start(url.clone()));
    }
    core.outbox = outbox;
    // A one-shot run is a batch job, not a console coming and going.
    if !opts.read_only() && !opts.once() {
        let body = json!({
            "dir": opts.dir.display().to_string(),
            "version": env!("CARGO_PKG_VERSION"),
            "console": opts.console().is_some(),
            "operator": opts.console(),
        });
        let now = now_ms();
        core.notice(system(now, "console_started", body), &record::fmt_at(now));
    }
    let at = record::fmt_at(now_ms());
    for why in &opened.passed_over {
        // Already logged by replay; said where the operator reads.
        core.view.say(&format!("{at} snapshot passed over: {why}"));
    }
    if opened.torn {
        tracing::warn!("journal torn tail dropped; its events are read again");
        core.view.say(&format!(
            "{at} journal torn tail dropped; its events are read again"
        ));
    }
    tracing::info!(
        dir = %opts.dir.display(),
        read_only = opts.read_only(),
        records = opened.last_seq,
        "coord {} started",
        env!("CARGO_PKG_VERSION")
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(8);
        // Applied (and journaled) batches go back to the source thread, which
        // drops them: see `Core::home`.
        let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Vec<Item>>();
        core.home = Some(spent_tx);
        let source = match make_source {
            None => None,
            Some(make) => {
                let (once, stop) = (opts.once(), stop.clone());
                Some(
                    std::thread::Builder::new()
                        .name("source".into())
                        .spawn(move || {
                            drive(&mut *make()?, once, &stop, |items, caught_up| {
                                spent_rx.try_iter().for_each(drop);
                                tx.blocking_send(Batch { items, caught_up }).is_ok()
                            })
                        })?,
                )
            }
        };
        let mut follower = opts.read_only().then(|| {
            Follower::after(
                &journal_dir,
                opened.segment,
                opened.tail_offset,
                opened.last_seq,
            )
        });
        // The timer fires just after each wall-clock second begins: timers are
        // due on whole seconds, and the console moves its clock, ages and
        // countdowns in one frame.
        // Re-aimed at every tick, so the monotonic timer never drifts off the
        // wall clock over days. A follower polls the journal five times a second.
        let read_only = opts.read_only();
        let next_tick = move || {
            let wait = if read_only {
                200
            } else {
                1005 - now_ms().timestamp_subsec_millis().min(999) as u64
            };
            tokio::time::Instant::now() + Duration::from_millis(wait)
        };
        let mut tick_at = next_tick();
        let mut caught_up = false;
        let mut term = match core.view.console() {
            Some(_) => {
                let sync = core.engine.config.ui.sync_output;
                if let Ok(mut last) = last_resort.lock() {
                    last.console = true;
                }
                let flusher = core.journal.as_ref().map(JournalWriter::flusher);
                let mut t = crate::console::Terminal::start(sync, flusher)?;
                t.dir = Some(opts.dir.clone());
                Some(t)
            }
            None => None,
        };
        let deadline = opts.run_for.map(|d| tokio::time::Instant::now() + d);
        let mut frames = tokio::time::interval(crate::console::FRAME);
        frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            if core.output_closed {
                tracing::info!("stdout closed by its reader; stopping");
                break;
            }
            tokio::select! {
                key = async { term.as_mut().expect("console").input.recv().await }, if term.is_some() => {
                    let Some(input) = key else { break };
                    let t = term.as_mut().expect("console");
                    if crate::console::on_input(&mut core, t, input, now_ms()) {
                        break;
                    }
                    t.dirty = true;
                }
                // Polled only when there is something to draw: an idle console's
                // timer does not wake it 30 times a second. (A tick missed while
                // idle fires at once, so the first frame comes without delay.)
                _ = frames.tick(), if term.as_ref().is_some_and(|t| t.dirty) => {
                    let t = term.as_mut().expect("console");
                    if let Some(app) = core.view.console() {
                        t.draw(app, &core.engine, now_ms())?;
                    }
                }
                // While the journal cannot write, batches wait in the channel and
                // the source waits behind them: ingestion pauses, nothing is lost.
                batch = rx.recv(), if source.is_some() && !core.journal_blocked() => {
                    let Some(batch) = batch else { break };
                    core.apply_batch(batch.items, now_ms());
                    if let Some(t) = term.as_mut() { t.dirty = true; }
                    if batch.caught_up {
                        // Once caught up, the console opens with what changed
                        // since the operator last looked, if anything did.
                        if !caught_up {
                            if let Some(t) = term.as_ref() {
                                crate::console::show_digest(&mut core, t, now_ms(), true);
                            }
                        }
                        caught_up = true;
                        if opts.once() {
                            core.tick(now_ms());
                            break;
                        }
                    }
                }
                _ = tokio::time::sleep_until(tick_at) => {
                    tick_at = next_tick();
                    let revision = core.engine.revision;
                    let now = now_ms();
                    core.check_journal(now);
                    if let Some(f) = follower.as_mut() {
                        let mut entries = Vec::new();
                        let view = &mut core.view;
                        let mut show = |engine: &crate::engine::Engine, at, applied: Applied<'_>| {
                            view.followed(engine, at, applied);
                        };
                        let applied = f.poll(&mut core.engine, &mut entries, &mut show)?;
                        if applied > 0 {
                            core.flush_out();
                        }
                        if let Some(app) = core.view.console() {
                            app.refill(entries);
                        }
                        // `--once`: the journal read to its end, done.
                        if applied == 0 && opts.once() {
                            break;
                        }
                    } else if caught_up && !core.journal_blocked() {
                        // Timers wait for the backlog: catching up on old events must
                        // not raise alerts that newer events already answer.
                        core.tick(now);
                    }
                    if let Some(t) = term.as_mut() {
                        t.second(now);
                        // A follower's poll that applied records shows at once.
                        if read_only && core.engine.revision != revision {
                            t.dirty = true;
                        }
                    }
                }
                _ = signals.stop.recv() => break,
                _ = async { tokio::time::sleep_until(deadline.expect("deadline")).await }, if deadline.is_some() => break,
            }
        }
        // Each step of the stop is logged: a stop that hangs says where.
        tracing::info!("stopping");
        stop.store(true, Ordering::Relaxed);
        drop(rx);
        if !opts.once() && core.outbox.is_some() {
            let now = now_ms();
            let body = json!({ "dir": opts.dir.display().to_string() });
            core.notice(system(now, "console_stopped", body), &record::fmt_at(now));
        }
        if core.journal_blocked() {
            // Waiting for space could take forever; what the journal did not take
            // is read again from its sources on the next start.
            core.view.say(&format!(
                "{} journal cannot write: stopping without the records it could not take; their events are read again on the next start",
                record::fmt_at(now_ms())
            ));
            if let Some(j) = core.journal.take() {
                j.abandon();
            }
        }
        core.last_snapshot();
        core.flush();
        tracing::info!("stopping: journal flushed");
        // The terminal is given back only after the journal is flushed.
        drop(term);
        let code = stop_source(source);
        tracing::info!(code, "stopped");
        if opts.once() || opts.read_only() {
            core.view.say(&summary_line(&core.engine));
        }
        core.flush_out();
        // The journal closes, then the outbox; signals are heard until then.
        drop(core);
        drop(signals);
        Ok(code)
    })
}

/// Lets the source thread end. A source that stopped on an error ends the run
/// with it (exit 2). One still in a read (a stream's XREAD blocks for half a
/// second) is not waited for long: what it delivered is journaled, the rest is
/// read again.
fn stop_source(source: Option<std::thread::JoinHandle<std::io::Result<()>>>) -> i32 {
    let Some(s) = source else { return 0 };
    let waited = std::time::Instant::now();
    while !s.is_finished() && waited.elapsed() < SOURCE_STOP_WAIT {
        std::thread::sleep(Duration::from_millis(5));
    }
    match s.is_finished().then(|| s.join()) {
        None | Some(Ok(Ok(()))) => 0,
        Some(Ok(Err(e))) => {
            eprintln!("coord watch: reading events stopped: {e}");
            2
        }
        Some(Err(_)) => {
            eprintln!("coord watch: reading events stopped: the source failed");
            2
        }
    }
}

/// Sends what the journal holds from the outbox's newest line on: notifications a
/// crash kept from going out. Letters go out one after another, so only the
/// newest can have reached some of its channels and not others; the outbox skips,
/// per channel, what it has. An outbox with no line yet starts from now: an older
/// journal's history is not replayed into it.
fn resend_undelivered(outbox: &Outbox, journal_dir: &Path, last_seq: u64) {
    let Some(newest) = outbox.newest_delivered() else {
        return;
    };
    if newest >= last_seq {
        return;
    }
    match crate::journal::recent::notifications_after(journal_dir, newest.saturating_sub(1)) {
        // Together, as they were made durable: a storm's go out as digests.
        Ok(notes) => outbox.mailbox().post(
            notes
                .iter()
                .filter_map(|(seq, effect)| Letter::from_record(*seq, effect))
                .collect(),
        ),
        Err(e) => tracing::warn!("undelivered notifications not read: {e}"),
    }
}
