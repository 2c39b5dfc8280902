//! The runtime: wires the sources, the engine, the journal and the output
//! together. One owner of the state — this loop — applies every input; sources
//! run on their own threads and hand over parsed batches through a bounded
//! channel; the journal writer commits records in groups on its own thread.
//!
//! Order per input: the input's record, then its effects' records, all in the
//! same write; a record is queued before anything it caused is shown.

use crate::config::{load_config, Config};
use crate::engine::{Body, Effect, Engine, Input, Notification, NotifyClass, Time};
use crate::ingest::dir;
use crate::ingest::tailer::{Item, Pos};
use crate::journal::follow::Applied;
use crate::journal::record::{self, Position};
use crate::journal::writer::{Lines, Records, Splice};
use crate::journal::{replay, Checkpoints, DirLock, JournalWriter};
use crate::model::plan::load_plan;
use crate::model::Level;
use crate::outbox::{Letter, Outbox};
use crate::sanitize::sanitize;
use crate::signals::{LastResort, Watch};
use anyhow::{bail, Context, Result};
use chrono::{SubsecRound, Utc};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let config = load_config(dir)?;
    let plan = load_plan(dir)?;
    let mut engine = Engine::new(config.clone(), plan.as_ref());
    let r = replay(&dir.join("journal"), &mut engine, repair)
        .with_context(|| format!("replaying {}", dir.join("journal").display()))?;
    Ok(Opened {
        config,
        engine,
        checkpoints: r.checkpoints,
        last_seq: r.last_seq,
        segment: r.segment,
        tail_offset: r.tail_offset,
        torn: r.torn,
        passed_over: r.passed_over,
        snapshot_seq: r.snapshot.unwrap_or(0),
    })
}

fn position(p: &Pos) -> Position<'_> {
    Position {
        src: &p.src,
        file: &p.file,
        off: p.off,
        end: p.end,
        line: p.line,
        entry: p.entry.as_deref(),
    }
}

/// The loop's state: the engine, the journal, and where output goes.
pub struct Core<W: Write> {
    pub engine: Engine,
    pub journal: Option<JournalWriter>,
    pub seq: u64,
    pub out: W,
    pub print_events: bool,
    /// The journal's last write error, as last shown.
    pub journal_error: Option<String>,
    /// Notifications out, each once its journal record is durable: the journal
    /// posts them (dropped after the journal, so that it gets the last ones).
    pub outbox: Option<Outbox>,
    /// The console's view, fed every input and effect, when there is one.
    pub app: Option<crate::ui::App>,
    /// On a stream, operator actions go to the stream, and are applied when read
    /// back from it, in the order every console reads them.
    pub actions: Option<crate::stream::sink::ActionSender>,
    /// The stream source's link is down.
    pub stream_down: bool,
    /// Where applied items go to be let go: the source thread that allocated
    /// them frees them at its own cost (freed here, each would be a cross-thread
    /// free in the loop that is the bottleneck of ingestion). Without one they
    /// are dropped where they are.
    pub home: Option<std::sync::mpsc::Sender<Vec<Item>>>,
    ingest_errors: IngestErrors,
    /// The records of the inputs applied since the last commit.
    rec: Records,
    /// The last tick was a storm (more effects than `KEEP_EFFECTS`).
    after_storm: bool,
    /// Whoever read the output has gone (`coord watch --headless | head`): the
    /// run ends as if stopped.
    pub output_closed: bool,
    fx: Vec<Effect>,
    /// Where each source resumes, as of the last record journaled: what a
    /// snapshot keeps.
    pub checkpoints: Checkpoints,
    /// The last snapshot's record and when it was taken.
    pub snapshot: (u64, Instant),
}

/// A batch's items lent to the journal writer, which writes their event records;
/// let go, they go home.
struct Lent {
    items: Vec<Item>,
    home: Option<std::sync::mpsc::Sender<Vec<Item>>>,
}

impl Lines for Lent {
    fn line(&self, i: usize) -> Option<(Position<'_>, &[u8])> {
        match self.items.get(i)? {
            Item::Line { pos, raw, .. } => Some((position(pos), raw)),
            _ => None,
        }
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(home) = &self.home {
            let _ = home.send(std::mem::take(&mut self.items));
        }
    }
}

/// Lines that did not parse and files that could not be read, told to the
/// system channels at most once a minute (a bad file must not flood them).
#[derive(Default)]
struct IngestErrors {
    new: u64,
    total: u64,
    last: Option<String>,
    told_at: Option<Time>,
}

const INGEST_ERRORS_EVERY_MS: i64 = 60_000;

/// How long a stopping run waits for its source to notice.
const SOURCE_STOP_WAIT: Duration = Duration::from_millis(200);

/// Room for effects kept between inputs.
const KEEP_EFFECTS: usize = 1024;

/// Snapshots (SPEC 16): after this many records, but not more often than
/// `SNAPSHOT_GAP` (a backlog read at a million events a second would otherwise
/// write one every tenth of a second); after `SNAPSHOT_EVERY` whatever the
/// count; and when a run stops. A restart then replays at most about
/// `SNAPSHOT_RECORDS` records, or what `SNAPSHOT_GAP` of a backlog wrote.
const SNAPSHOT_RECORDS: u64 = 100_000;
const SNAPSHOT_GAP: Duration = Duration::from_secs(30);
const SNAPSHOT_EVERY: Duration = Duration::from_secs(10 * 60);

/// How many events ahead of the one applied the engine is told of what comes.
const PREFETCH_AHEAD: usize = 8;

impl<W: Write> Core<W> {
    pub fn new(
        engine: Engine,
        journal: Option<JournalWriter>,
        seq: u64,
        out: W,
        print_events: bool,
    ) -> Core<W> {
        Core {
            engine,
            journal,
            seq,
            out,
            print_events,
            journal_error: None,
            outbox: None,
            app: None,
            actions: None,
            stream_down: false,
            home: None,
            ingest_errors: IngestErrors::default(),
            rec: Records::default(),
            after_storm: false,
            output_closed: false,
            fx: Vec::new(),
            checkpoints: Checkpoints::new(),
            snapshot: (seq, Instant::now()),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Applies a source's batch: each item is journaled, applied, and shown.
    /// The lines' event records are written by the journal writer, from the
    /// items themselves (lent to it, then sent `home`).
    pub fn apply_batch(&mut self, items: Vec<Item>, now: Time) {
        let at = record::fmt_at(now);
        self.rec.at.clone_from(&at);
        for (i, item) in items.iter().enumerate() {
            // An event was written by the thread that parsed it, on another
            // core: its bytes are asked for well ahead, so that the engine's
            // look at it a few events ahead (its first lookup misses the caches
            // too) does not wait for them.
            if let Some(Item::Line {
                parsed: Ok(far), ..
            }) = items.get(i + 2 * PREFETCH_AHEAD)
            {
                crate::prefetch::lines(&**far);
            }
            if let Some(Item::Line {
                parsed: Ok(ahead), ..
            }) = items.get(i + PREFETCH_AHEAD)
            {
                self.engine.prefetch(ahead);
            }
            match item {
                Item::Line { pos, parsed, .. } => {
                    let seq = self.next_seq();
                    match parsed {
                        Ok(event) => {
                            self.rec.events.push(Splice {
                                offset: self.rec.bytes.len(),
                                seq,
                                line: i,
                            });
                            if self.print_events {
                                print_event(&mut self.out, &at, event);
                            }
                            if let Some(app) = self.app.as_mut() {
                                app.push_event(
                                    event,
                                    &self.engine,
                                    pos.src.clone(),
                                    pos.line,
                                    pos.off,
                                );
                            }
                            self.fx.clear();
                            self.engine.apply_event_into(event, now, &mut self.fx);
                            self.effects(&at);
                        }
                        Err(e) => {
                            record::error(&mut self.rec.bytes, seq, &at, &position(pos), e);
                            self.ingest_error(e.to_string());
                            if let Some(app) = self.app.as_mut() {
                                app.push_parse_error(e, now);
                            }
                            print_parse_error(&mut self.out, &at, e);
                            self.apply(Input::ParseError((**e).clone()), now, &at);
                        }
                    }
                }
                Item::Action { pos, op, keys } => {
                    let mut op = (**op).clone();
                    crate::stream::resolve_alerts(&mut op, keys, &self.engine);
                    let seq = self.next_seq();
                    tracing::info!(operator = %op.operator, action = ?op.action, "operator action from the stream");
                    record::action(&mut self.rec.bytes, seq, &at, &op, Some(&position(pos)));
                    self.apply(Input::Operator(op), now, &at);
                }
                Item::Source { pos, what } => {
                    let link = matches!(*what, "connected" | "disconnected");
                    if link {
                        self.stream_down = *what == "disconnected";
                        if let Some(app) = self.app.as_mut() {
                            app.stream = Some(if self.stream_down {
                                crate::ui::StreamState::Disconnected
                            } else {
                                crate::ui::StreamState::Connected
                            });
                        }
                    }
                    let seq = self.next_seq();
                    record::source(&mut self.rec.bytes, seq, &at, &position(pos), what);
                    // A file first seen is journaled (its checkpoint), not worth a line.
                    tracing::info!(src = %pos.src, "source {what}");
                    if *what == "unreadable" {
                        self.ingest_error(format!("{}: unreadable", pos.src));
                    }
                    if *what != "opened" {
                        let _ = writeln!(self.out, "{at} source {what} src={}", q(&pos.src));
                    }
                    if link {
                        // The PM agent hears of a stream going away and coming back.
                        let kind = if self.stream_down {
                            "stream_disconnected"
                        } else {
                            "stream_connected"
                        };
                        let body = json!({ "stream": pos.src.as_ref(), "resume_after": pos.entry.as_deref() });
                        self.note(system(now, kind, body), &at);
                    }
                }
            }
        }
        self.note_checkpoints(&items);
        self.rec.lines = Some(Box::new(Lent {
            items,
            home: self.home.clone(),
        }));
        self.commit();
    }

    /// Notes where each source of a batch resumes, as replay notes it from the
    /// records: the last item of a run from one file is enough.
    fn note_checkpoints(&mut self, items: &[Item]) {
        fn pos(item: &Item) -> &Pos {
            match item {
                Item::Line { pos, .. } | Item::Source { pos, .. } | Item::Action { pos, .. } => pos,
            }
        }
        for (i, item) in items.iter().enumerate() {
            let p = pos(item);
            let same_next = items
                .get(i + 1)
                .is_some_and(|next| Arc::ptr_eq(&pos(next).file, &p.file) && p.entry.is_none());
            if !same_next {
                crate::journal::replay::note(&mut self.checkpoints, &position(p));
            }
        }
    }

    /// Queues a snapshot as of the last record, if there is any since the last.
    pub fn snapshot(&mut self) {
        self.snapshot_as(|e| e.save());
    }

    /// The snapshot of a run that stops: the engine gives its ids up rather
    /// than copy them.
    pub fn last_snapshot(&mut self) {
        self.snapshot_as(Engine::save_last);
    }

    fn snapshot_as(&mut self, save: impl FnOnce(&mut Engine) -> (Vec<u8>, Vec<Vec<u8>>)) {
        self.commit();
        let Some(j) = &self.journal else { return };
        if self.seq <= self.snapshot.0 || j.error().is_some() {
            return;
        }
        let (state, ids) = save(&mut self.engine);
        j.snapshot(crate::journal::snapshot::Job {
            seq: self.seq,
            checkpoints: self.checkpoints.clone(),
            state,
            ids,
        });
        self.snapshot = (self.seq, Instant::now());
    }

    /// A snapshot is due: `SNAPSHOT_RECORDS` records since the last one and
    /// at least `SNAPSHOT_GAP` after it, or `SNAPSHOT_EVERY` after it.
    fn snapshot_due(&self) -> bool {
        let (seq, at) = self.snapshot;
        let records = self.seq.saturating_sub(seq);
        let age = at.elapsed();
        (records >= SNAPSHOT_RECORDS && age >= SNAPSHOT_GAP)
            || (records > 0 && age >= SNAPSHOT_EVERY)
    }

    /// The journal cannot write (a full disk): ingestion, timers and operator
    /// actions wait, so nothing is applied that the journal does not hold.
    pub fn journal_blocked(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| j.error().is_some())
    }

    /// Fires due timers; journaled only when something happened.
    pub fn tick(&mut self, now: Time) {
        let at = record::fmt_at(now);
        self.tell_ingest_errors(now, &at);
        if std::mem::take(&mut self.after_storm) {
            // The last tick's storm is written out and let go by now: the
            // allocator gives its pages back rather than holding them for days.
            crate::allocator::release_free_memory();
        }
        self.fx.clear();
        self.engine.apply_into(Input::Tick, now, &mut self.fx);
        if self.fx.is_empty() {
            return;
        }
        self.after_storm = self.fx.len() > KEEP_EFFECTS;
        let seq = self.next_seq();
        record::tick(&mut self.rec.bytes, seq, &at);
        self.effects(&at);
        self.commit();
    }

    /// Reports a journal write error (a full disk) when it appears and when it
    /// clears: a line, a notification, the console's status bar.
    pub fn check_journal(&mut self, now: Time) {
        let at = record::fmt_at(now);
        let error = self.journal.as_ref().and_then(JournalWriter::error);
        if error != self.journal_error {
            match &error {
                Some(e) => {
                    tracing::error!(error = %e, "journal write failed; ingestion paused");
                    // Not journaled (the journal cannot write), sent at once.
                    if let Some(o) = &self.outbox {
                        o.send(Letter::new(
                            0,
                            &system(now, "journal_error", json!({ "error": e })),
                        ));
                    }
                    let _ = writeln!(
                        self.out,
                        "{at} journal error={} (ingestion paused until it can write)",
                        q(e)
                    );
                }
                None => {
                    tracing::info!("journal recovered");
                    let _ = writeln!(self.out, "{at} journal recovered");
                    self.notice(system(now, "journal_recovered", json!({})), &at);
                }
            }
            let _ = self.out.flush();
            if let Some(app) = self.app.as_mut() {
                app.journal = match &error {
                    Some(e) => crate::ui::JournalState::Error(e.clone()),
                    None => crate::ui::JournalState::Ok,
                };
            }
            self.journal_error = error;
        }
    }

    fn ingest_error(&mut self, what: String) {
        let e = &mut self.ingest_errors;
        e.new += 1;
        e.total += 1;
        e.last = Some(what);
    }

    /// Tells the system channels of new ingest errors, at most once a minute.
    fn tell_ingest_errors(&mut self, now: Time, at: &str) {
        let e = &self.ingest_errors;
        let due = e
            .told_at
            .is_none_or(|t| (now - t).num_milliseconds() >= INGEST_ERRORS_EVERY_MS);
        if e.new == 0 || !due {
            return;
        }
        let body = json!({"new": e.new, "total": e.total, "last": e.last});
        self.ingest_errors.new = 0;
        self.ingest_errors.told_at = Some(now);
        self.notice(system(now, "ingest_errors", body), at);
    }

    /// A notification of the runtime's own (console start and stop, ingest and
    /// journal state): journaled like the engine's, then sent.
    pub fn notice(&mut self, n: Notification, at: &str) {
        self.note(n, at);
        self.commit();
    }

    /// `notice` within a batch, which commits at its end.
    fn note(&mut self, n: Notification, at: &str) {
        self.fx.clear();
        self.fx.push(Effect::Notify(n));
        self.effects(at);
    }

    fn apply(&mut self, input: Input, now: Time, at: &str) {
        self.fx.clear();
        self.engine.apply_into(input, now, &mut self.fx);
        self.effects(at);
    }

    /// An operator's action from the console: journaled with the operator's name,
    /// applied, its effects journaled.
    pub fn operator(&mut self, op: crate::engine::OperatorAction, now: Time) {
        if let Some(sender) = &self.actions {
            // Applied when it comes back from the stream, like every console's.
            let app = self.app.as_mut();
            if self.stream_down {
                tracing::warn!(operator = %op.operator, action = ?op.action, "operator action not sent: the stream is disconnected");
                if let Some(app) = app {
                    app.status = Some("not sent: stream down".into());
                }
                return;
            }
            tracing::info!(operator = %op.operator, action = ?op.action, "operator action sent to the stream");
            sender.send(&op, &crate::stream::alert_keys(&op, &self.engine));
            return;
        }
        let at = record::fmt_at(now);
        let seq = self.next_seq();
        tracing::info!(operator = %op.operator, action = ?op.action, "operator action");
        record::action(&mut self.rec.bytes, seq, &at, &op, None);
        self.apply(Input::Operator(op), now, &at);
        self.commit();
    }

    /// Journals and shows the effects of the last input.
    fn effects(&mut self, at: &str) {
        let fx = std::mem::take(&mut self.fx);
        if let Some(app) = self.app.as_mut() {
            app.push_effects(&fx, &self.engine);
        }
        for e in &fx {
            let seq = self.next_seq();
            record::effect(&mut self.rec.bytes, seq, at, e);
            // Posted to the outbox by the journal once durable.
            if let (Effect::Notify(n), Some(_)) = (e, &self.outbox) {
                self.rec.letters.push(Letter::new(seq, n));
            }
            if self.print_events {
                print_effect(&mut self.out, at, e, &self.engine);
            }
        }
        // A storm's thousands of effects are not held for the rest of the run.
        self.fx = fx;
        self.fx.clear();
        self.fx.shrink_to(KEEP_EFFECTS);
    }

    /// Hands the records to the journal writer. Event records are only added
    /// by `apply_batch`, which lends the lines they need just before this.
    fn commit(&mut self) {
        debug_assert!(
            self.rec.events.is_empty() || self.rec.lines.is_some(),
            "event records to write without their lines"
        );
        if self.rec.is_empty() {
            self.rec.lines = None;
            return;
        }
        let next = self
            .journal
            .as_ref()
            .and_then(JournalWriter::records)
            // Room for records a little longer than these: growing a buffer
            // copies it.
            .unwrap_or_else(|| Vec::with_capacity((self.rec.bytes.len() / 2 * 3).max(4096)).into());
        let records = std::mem::replace(&mut self.rec, next);
        if let Some(j) = &self.journal {
            j.write(records, self.seq);
        }
        if self.snapshot_due() {
            self.snapshot();
        }
        self.flush_out();
    }

    /// Flushes the printed lines; notes a reader that has gone.
    pub fn flush_out(&mut self) {
        if let Err(e) = self.out.flush() {
            self.output_closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        }
    }

    pub fn flush(&mut self) {
        self.commit();
        if let Some(j) = &self.journal {
            j.flush();
        }
        let _ = self.out.flush();
    }
}

/// A notification for the system channels.
fn system(at: Time, kind: &'static str, body: serde_json::Value) -> Notification {
    Notification {
        class: NotifyClass::System,
        kind,
        at,
        body: Body::Json(body),
    }
}

/// A value for a `key=value` line: sanitised, quoted when it holds spaces.
fn q(s: &str) -> String {
    let s = sanitize(s);
    if s.is_empty() || s.contains([' ', '"', '=']) {
        format!("{:?}", s.as_ref())
    } else {
        s.into_owned()
    }
}

fn print_event(out: &mut impl Write, at: &str, e: &crate::model::Event) {
    let mut line = format!("{at} event {} id={}", q(e.kind.as_str()), q(&e.id));
    for (k, v) in [
        ("agent", &e.agent),
        ("component", &e.component),
        ("task", &e.task),
        ("gate", &e.gate),
    ] {
        if let Some(v) = v {
            line.push_str(&format!(" {k}={}", q(v)));
        }
    }
    if let Some(p) = e.progress {
        line.push_str(&format!(" progress={p}"));
    }
    if let Some(s) = e.severity {
        line.push_str(&format!(" severity={s}"));
    }
    let _ = writeln!(out, "{line}");
}

fn print_parse_error(out: &mut impl Write, at: &str, e: &crate::model::ParseError) {
    let _ = writeln!(
        out,
        "{at} parse_error src={} line={} offset={} reason={}",
        q(&e.source),
        e.line,
        e.offset,
        q(&e.reason)
    );
}

/// A headless follower's lines for what it applied: those the console that
/// journaled it printed.
fn print_applied(out: &mut impl Write, engine: &Engine, at: Time, applied: Applied<'_>) {
    let at = record::fmt_at(at);
    match applied {
        Applied::Input(Input::Event(e)) => print_event(out, &at, e),
        Applied::Input(Input::ParseError(e)) => print_parse_error(out, &at, e),
        Applied::Input(Input::Tick | Input::Operator(_)) => {}
        Applied::Effects(fx) => {
            for e in fx {
                print_effect(out, &at, e, engine);
            }
        }
    }
}

fn print_effect(out: &mut impl Write, at: &str, e: &Effect, engine: &Engine) {
    match e {
        Effect::Transition(t) => {
            let a = engine.alerts.get(t.alert);
            let mut line = format!(
                "{at} alert A-{} {} level={} escalation={} status={:?}",
                t.alert, t.what, t.level, t.escalation, t.status
            )
            .replace("status=Triggered", "status=triggered")
            .replace("status=Acknowledged", "status=acknowledged")
            .replace("status=Resolved", "status=resolved");
            if let Some(a) = a {
                line.push_str(&format!(" trigger={}", q(a.trigger.as_str())));
                for (k, v) in [
                    ("agent", &a.agent),
                    ("component", &a.component),
                    ("gate", &a.gate),
                    ("task", &a.task),
                ] {
                    if let Some(v) = v {
                        line.push_str(&format!(" {k}={}", q(v)));
                    }
                }
            }
            line.push_str(&format!(" reason={}", q(&t.reason)));
            let _ = writeln!(out, "{line}");
        }
        Effect::Derived { event } => {
            let _ = writeln!(
                out,
                "{at} derived {} agent={} phase={}",
                q(event.kind.as_str()),
                q(event.agent.as_deref().unwrap_or("-")),
                q(event.phase.as_deref().unwrap_or("-"))
            );
        }
        Effect::Action(a) => {
            let v = serde_json::to_value(a).unwrap_or_default();
            let mut line = format!("{at} action");
            if let Some(obj) = v.as_object() {
                for (k, v) in obj {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => continue,
                        other => other.to_string(),
                    };
                    line.push_str(&format!(" {k}={}", q(&text)));
                }
            }
            let _ = writeln!(out, "{line}");
        }
        Effect::Rejected { reason } => {
            let _ = writeln!(out, "{at} rejected reason={}", q(reason));
        }
        Effect::Notify(_) => {}
    }
}

/// One line for `--once` and for the end of a run.
pub fn summary_line(engine: &Engine) -> String {
    let c = &engine.counters;
    let per = |l: Level| engine.open_alert_count(l);
    format!(
        "coord: {} events, {} parse errors, {} duplicates; {} alerts open ({} critical, {} high, {} medium, {} low)",
        c.events,
        c.parse_errors,
        c.duplicates,
        engine.alerts.open_count(),
        per(Level::Critical),
        per(Level::High),
        per(Level::Medium),
        per(Level::Low),
    )
}

/// `coord watch DIR --headless`: the whole runtime, printing lines.
pub fn run_headless(opts: &WatchOptions, out: impl Write) -> Result<i32> {
    // Signals first, on a thread of their own: a SIGTERM during a long replay
    // ends the run once the loop starts, or within a second if it never does.
    let last_resort = Arc::new(std::sync::Mutex::new(LastResort::default()));
    let mut signals = Watch::start(last_resort.clone())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
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
    let max = opened.config.ingest.max_line_bytes as usize;
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
    let mut core = Core::new(
        opened.engine,
        journal,
        opened.last_seq,
        out,
        opts.view == View::Lines,
    );
    core.checkpoints = opened.checkpoints.clone();
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
    if !opts.read_only() {
        // A one-shot run is a batch job, not a console coming and going.
        if !opts.once() {
            let body = json!({
                "dir": opts.dir.display().to_string(),
                "version": env!("CARGO_PKG_VERSION"),
                "console": opts.console().is_some(),
                "operator": opts.console(),
            });
            let now = now_ms();
            core.notice(system(now, "console_started", body), &record::fmt_at(now));
        }
    }
    for why in &opened.passed_over {
        // Already logged by replay; said where the operator reads.
        let _ = writeln!(
            core.out,
            "{} snapshot passed over: {why}",
            record::fmt_at(now_ms())
        );
    }
    if opened.torn {
        tracing::warn!("journal torn tail dropped; its events are read again");
        let _ = writeln!(
            core.out,
            "{} journal torn tail dropped; its events are read again",
            record::fmt_at(now_ms())
        );
    }

    tracing::info!(
        dir = %opts.dir.display(),
        read_only = opts.read_only(),
        records = opened.last_seq,
        "coord {} started",
        env!("CARGO_PKG_VERSION")
    );

    rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(8);
        // Applied (and journaled) batches go back to the source thread, which
        // drops them: see `Core::home`.
        let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Vec<Item>>();
        core.home = Some(spent_tx);
        let source = if opts.read_only() {
            None
        } else {
            let (dir, checkpoints, once, stop) = (
                opts.dir.join("events"),
                opened.checkpoints.clone(),
                opts.once(),
                stop.clone(),
            );
            let (feed, root) = (opts.feed.clone(), opts.dir.clone());
            Some(
                std::thread::Builder::new()
                    .name("source".into())
                    .spawn(move || {
                        let deliver = |items, caught_up| {
                            spent_rx.try_iter().for_each(drop);
                            tx.blocking_send(Batch { items, caught_up }).is_ok()
                        };
                        match feed {
                            Feed::Stream(url) => crate::stream::source::run(
                                &url,
                                checkpoints,
                                max,
                                once,
                                stop,
                                now_ms,
                                deliver,
                            ),
                            Feed::Stdin => crate::ingest::stdin::run(max, now_ms, deliver),
                            Feed::Legacy => crate::ingest::legacy::run(
                                &root,
                                checkpoints,
                                max,
                                once,
                                stop,
                                now_ms,
                                deliver,
                            ),
                            Feed::Events => {
                                dir::run(&dir, checkpoints, max, once, stop, now_ms, deliver)
                            }
                            Feed::Follow => Ok(()),
                        }
                    })?,
            )
        };
        let mut follower = opts.read_only().then(|| {
            crate::journal::follow::Follower::after(
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
        let mut term = match &opts.view {
            View::Console { operator, demo } => {
                let mut app = crate::ui::App::new(&core.engine.config, operator.clone());
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
                    Ok(recent) => app.refill(recent, &core.engine),
                    Err(e) => tracing::warn!(error = %e, "the journal's last events could not be read"),
                }
                let sync = core.engine.config.ui.sync_output;
                core.app = Some(app);
                if let Ok(mut last) = last_resort.lock() {
                    last.console = true;
                }
                let flusher = core.journal.as_ref().map(JournalWriter::flusher);
                Some(crate::console::Terminal::start(sync, flusher)?)
            }
            View::Once | View::Lines => None,
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
                    if crate::console::on_input(&mut core, input, now_ms()) {
                        break;
                    }
                    if let Some(t) = term.as_mut() { t.dirty = true; }
                }
                // Polled only when there is something to draw: an idle console's
                // timer does not wake it 30 times a second. (A tick missed while
                // idle fires at once, so the first frame comes without delay.)
                _ = frames.tick(), if term.as_ref().is_some_and(|t| t.dirty) => {
                    let t = term.as_mut().expect("console");
                    if let Some(app) = core.app.as_mut() {
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
                        let (print, out) = (core.print_events, &mut core.out);
                        let mut show = |engine: &Engine, at, applied: Applied<'_>| {
                            if print {
                                print_applied(out, engine, at, applied);
                            }
                        };
                        if f.poll(&mut core.engine, &mut entries, &mut show)? > 0 {
                            core.flush_out();
                        }
                        if let Some(app) = core.app.as_mut() {
                            app.refill(entries, &core.engine);
                        }
                    } else if caught_up && !core.journal_blocked() {
                        // Timers wait for the backlog: catching up on old events must
                        // not raise alerts that newer events already answer.
                        core.tick(now);
                    }
                    if let Some(t) = term.as_mut() {
                        t.second(now);
                        // A follower's poll that applied records shows at once.
                        if opts.read_only() && core.engine.revision != revision {
                            t.dirty = true;
                        }
                    }
                }
                _ = signals.stop.recv() => break,
                _ = async { tokio::time::sleep_until(deadline.expect("deadline")).await }, if deadline.is_some() => break,
            }
        }
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
            let _ = writeln!(
                core.out,
                "{} journal cannot write: stopping without the records it could not take; their events are read again on the next start",
                record::fmt_at(now_ms())
            );
            if let Some(j) = core.journal.take() {
                j.abandon();
            }
        }
        core.last_snapshot();
        core.flush();
        // The terminal is given back only after the journal is flushed.
        drop(term);
        // A source that stopped on an error ends the run with it. One still
        // in a read (a stream's XREAD blocks for half a second) is not waited
        // for long: what it delivered is journaled, the rest is read again.
        let mut code = 0;
        if let Some(s) = source {
            let waited = std::time::Instant::now();
            while !s.is_finished() && waited.elapsed() < SOURCE_STOP_WAIT {
                std::thread::sleep(Duration::from_millis(5));
            }
            match s.is_finished().then(|| s.join()) {
                None | Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => {
                    eprintln!("coord watch: reading events stopped: {e}");
                    code = 2;
                }
                Some(Err(_)) => {
                    eprintln!("coord watch: reading events stopped: the source failed");
                    code = 2;
                }
            }
        }
        tracing::info!(code, "stopped");
        if opts.once() || opts.read_only() {
            let _ = writeln!(core.out, "{}", summary_line(&core.engine));
        }
        let _ = core.out.flush();
        // The journal closes, then the outbox; signals are heard until then.
        drop(core);
        drop(signals);
        Ok(code)
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{parse_line_boxed, Origin, ParseOptions};

    fn line(n: u64, raw: &str, now: Time) -> Item {
        let raw = raw.as_bytes().to_vec();
        let pos = Pos {
            src: Arc::from("events/a.jsonl"),
            file: Arc::from("1:2:3"),
            off: n * 100,
            end: n * 100 + raw.len() as u64 + 1,
            line: n + 1,
            entry: None,
        };
        let origin = Origin {
            source: "events/a.jsonl",
            line: pos.line,
            offset: pos.off,
        };
        let parsed = parse_line_boxed(&raw, &origin, now, &ParseOptions::default());
        Item::Line { pos, raw, parsed }
    }

    /// A stream's link going down between lines of a batch is journaled in its
    /// place, and every line's event record with it.
    #[test]
    fn a_batch_journals_every_line_around_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let journal = JournalWriter::open(dir.path(), 1, None).unwrap();
        let config = crate::config::Config::default();
        let mut core = Core::new(
            Engine::new(config, None),
            Some(journal),
            0,
            Vec::new(),
            false,
        );
        let now = now_ms();
        let ev = |n: u64| {
            let raw = format!(
                r#"{{"type":"heartbeat","agent":"a","id":"e{n}","ts":"2026-11-24T13:00:00Z"}}"#
            );
            line(n, &raw, now)
        };
        let link = Item::Source {
            pos: Pos {
                src: Arc::from("stream"),
                file: Arc::from("redis://x/s"),
                off: 0,
                end: 0,
                line: 0,
                entry: Some(Arc::from("1-0")),
            },
            what: "disconnected",
        };
        core.apply_batch(vec![ev(0), ev(1), link, ev(2), line(3, "{bad", now)], now);
        core.flush();
        let (_, seg) = &crate::journal::writer::segments(dir.path()).unwrap()[0];
        let records: Vec<serde_json::Value> = std::fs::read_to_string(seg)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
        let kinds: Vec<&str> = records
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["event", "event", "source", "notify", "event", "error"],
            "{records:#?}"
        );
        let ids: Vec<&str> = records
            .iter()
            .filter_map(|r| r["raw"]["id"].as_str())
            .collect();
        assert_eq!(ids, ["e0", "e1", "e2"]);
    }
}
