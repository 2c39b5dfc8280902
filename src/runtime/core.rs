//! The core: the one owner of the state. It applies every input to the engine,
//! gives it the next `seq`, queues its record and its effects' records for the
//! journal (a record is queued before anything it caused is shown), posts
//! notifications once durable, takes snapshots, and tells its view what it
//! applied.

use super::observer::Observer;
use crate::engine::{Body, Effect, Engine, Input, Notification, NotifyClass, Time};
use crate::ingest::tailer::{Item, Pos};
use crate::journal::record::{self, Position};
use crate::journal::snapshot::PAST_RECORDS;
use crate::journal::writer::{Lines, Records, Splice};
use crate::journal::{Checkpoints, JournalWriter};
use crate::outbox::{Letter, Outbox};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The loop's state: the engine, the journal, and the view that shows them.
pub struct Core<V: Observer> {
    pub engine: Engine,
    pub journal: Option<JournalWriter>,
    pub seq: u64,
    pub view: V,
    /// The journal's last write error, as last shown.
    pub journal_error: Option<String>,
    /// Notifications out, each once its journal record is durable: the journal
    /// posts them (dropped after the journal, so that it gets the last ones).
    pub outbox: Option<Outbox>,
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
    /// The record of the last commit: a past snapshot is due when a commit
    /// passes a multiple of `PAST_RECORDS`.
    committed: u64,
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

/// Room for effects kept between inputs.
const KEEP_EFFECTS: usize = 1024;

/// Snapshots (SPEC 16): after this many records, but not more often than
/// `SNAPSHOT_GAP` (a backlog read at a million events a second would otherwise
/// write one every tenth of a second); after `SNAPSHOT_EVERY` whatever the
/// count; and when a run stops. A restart then replays at most about
/// `SNAPSHOT_RECORDS` records, or what `SNAPSHOT_GAP` of a backlog wrote.
pub const SNAPSHOT_RECORDS: u64 = 100_000;
const SNAPSHOT_GAP: Duration = Duration::from_secs(30);
const SNAPSHOT_EVERY: Duration = Duration::from_secs(10 * 60);

/// How many events ahead of the one applied the engine is told of what comes.
const PREFETCH_AHEAD: usize = 8;

impl<V: Observer> Core<V> {
    pub fn new(engine: Engine, journal: Option<JournalWriter>, seq: u64, view: V) -> Core<V> {
        Core {
            engine,
            journal,
            seq,
            view,
            journal_error: None,
            outbox: None,
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
            committed: seq,
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
                            let offset = self.rec.bytes.len();
                            self.fx.clear();
                            let level = self.engine.apply_event_into(event, now, &mut self.fx);
                            self.rec.events.push(Splice {
                                offset,
                                seq,
                                line: i,
                                level,
                            });
                            self.view.event(&at, event, level, pos);
                            self.effects(&at);
                        }
                        Err(e) => {
                            record::error(&mut self.rec.bytes, seq, &at, &position(pos), e);
                            self.ingest_error(e.to_string());
                            self.view.parse_error(&at, now, e);
                            self.apply(Input::ParseError((**e).clone()), now, &at);
                        }
                    }
                }
                Item::Action { pos, op, keys } => {
                    let mut op = (**op).clone();
                    crate::stream::resolve_alerts(&mut op, keys, &self.engine);
                    let seq = self.next_seq();
                    tracing::info!(operator = %op.operator, action = %op.action, "operator action from the stream");
                    record::action(&mut self.rec.bytes, seq, &at, &op, Some(&position(pos)));
                    self.apply(Input::Operator(op), now, &at);
                }
                Item::Source { pos, what } => {
                    let link = matches!(*what, "connected" | "disconnected");
                    if link {
                        self.stream_down = *what == "disconnected";
                    }
                    let seq = self.next_seq();
                    record::source(&mut self.rec.bytes, seq, &at, &position(pos), what);
                    tracing::info!(src = %pos.src, "source {what}");
                    match *what {
                        "unreadable" => self.ingest_error(format!("{}: unreadable", pos.src)),
                        "trimmed" => self.ingest_error(format!(
                            "{}: trimmed past the checkpoint, entries may be missing",
                            pos.src
                        )),
                        _ => {}
                    }
                    self.view.source(&at, pos, what);
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
                match item {
                    Item::Line {
                        raw, parsed: Ok(_), ..
                    } => {
                        crate::journal::replay::note_line(&mut self.checkpoints, &position(p), raw)
                    }
                    _ => crate::journal::replay::note(&mut self.checkpoints, &position(p)),
                }
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

    fn snapshot_as(&mut self, save: impl FnOnce(&mut Engine) -> crate::engine::Saved) {
        self.commit();
        let Some(j) = &self.journal else { return };
        if self.seq <= self.snapshot.0 || j.error().is_some() {
            return;
        }
        j.snapshot(crate::journal::snapshot::Job {
            seq: self.seq,
            checkpoints: self.checkpoints.clone(),
            saved: save(&mut self.engine),
            past: false,
        });
        self.snapshot = (self.seq, Instant::now());
    }

    /// Queues a past snapshot (for views of the past) if a multiple of
    /// `PAST_RECORDS` was passed since the last commit.
    fn past_snapshot(&mut self) {
        let (was, now) = (self.committed, self.seq);
        self.committed = now;
        let Some(j) = &self.journal else { return };
        if now / PAST_RECORDS == was / PAST_RECORDS || j.error().is_some() {
            return;
        }
        j.snapshot(crate::journal::snapshot::Job {
            seq: now,
            checkpoints: self.checkpoints.clone(),
            saved: self.engine.save_past(),
            past: true,
        });
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
                }
                None => {
                    tracing::info!("journal recovered");
                    self.notice(system(now, "journal_recovered", json!({})), &at);
                }
            }
            self.view.journal(&at, error.as_deref());
            self.flush_out();
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
    /// applied, its effects journaled. Refused, with the reason, when it
    /// cannot be.
    pub fn operator(
        &mut self,
        op: crate::engine::OperatorAction,
        now: Time,
    ) -> Result<(), &'static str> {
        if let (Some(sender), true) = (&self.actions, op.action.is_shared()) {
            // Applied when it comes back from the stream, like every console's.
            if self.stream_down {
                tracing::warn!(operator = %op.operator, action = %op.action, "operator action not sent: the stream is disconnected");
                return Err("not sent: stream down");
            }
            tracing::info!(operator = %op.operator, action = %op.action, "operator action sent to the stream");
            sender.send(&op, &crate::stream::alert_keys(&op, &self.engine));
            return Ok(());
        }
        let at = record::fmt_at(now);
        let seq = self.next_seq();
        tracing::info!(operator = %op.operator, action = %op.action, "operator action");
        record::action(&mut self.rec.bytes, seq, &at, &op, None);
        self.apply(Input::Operator(op), now, &at);
        self.commit();
        Ok(())
    }

    /// Journals and shows the effects of the last input.
    fn effects(&mut self, at: &str) {
        let fx = std::mem::take(&mut self.fx);
        self.view.effects(&self.engine, at, &fx);
        for e in &fx {
            let seq = self.next_seq();
            record::effect(&mut self.rec.bytes, seq, at, e);
            // Posted to the outbox by the journal once durable.
            if let (Effect::Notify(n), Some(_)) = (e, &self.outbox) {
                self.rec.letters.push(Letter::new(seq, n));
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
        self.past_snapshot();
        if self.snapshot_due() {
            self.snapshot();
        }
        self.flush_out();
    }

    /// Flushes the view; notes a reader that has gone.
    pub fn flush_out(&mut self) {
        self.output_closed |= !self.view.flush();
    }

    pub fn flush(&mut self) {
        self.commit();
        if let Some(j) = &self.journal {
            j.flush();
        }
        self.flush_out();
    }
}

/// A notification for the system channels.
pub fn system(at: Time, kind: &'static str, body: serde_json::Value) -> Notification {
    Notification {
        class: NotifyClass::System,
        kind,
        at,
        body: Body::Json(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Origin, ParseOptions};
    use crate::model::parse::parse_line_boxed;
    use crate::model::Level;

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
            ident: "",
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
            super::super::printer::Printer::new(Vec::new(), false),
        );
        let now = super::super::now_ms();
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

    /// One classification: a row's level is the engine's, taken when the event
    /// was applied, and a restarted console shows it the same. A blocker on a
    /// phase-2 component while phase 1 is current is Medium; phase 2 then
    /// becoming current must not make it High on the restarted screen.
    #[test]
    fn a_restarted_console_shows_each_row_at_the_level_it_had_live() {
        let dir = tempfile::tempdir().unwrap();
        let journal = JournalWriter::open(dir.path(), 1, None).unwrap();
        let config = crate::config::Config::default();
        let plan = crate::model::plan::parse_plan(
            r#"{"epic": "E", "phases": [
                {"id": "p1", "name": "P1", "components": [{"id": "api"}]},
                {"id": "p2", "name": "P2", "components": [{"id": "web"}]}]}"#,
            std::path::Path::new("plan.json"),
        )
        .unwrap();
        let app = crate::ui::App::new(&config, "op");
        let mut core = Core::new(
            Engine::new(config.clone(), Some(&plan)),
            Some(journal),
            0,
            app,
        );
        let now = super::super::now_ms();
        let lines = [
            r#"{"type":"blocker_detected","component":"web","id":"b1","ts":"2026-11-24T13:00:00Z"}"#,
            r#"{"type":"progress_update","component":"api","progress":100,"id":"p1","ts":"2026-11-24T13:00:01Z"}"#,
            r#"{"type":"blocker_detected","component":"api","severity":"low","id":"b2","ts":"2026-11-24T13:00:02Z"}"#,
        ];
        let items = lines
            .iter()
            .enumerate()
            .map(|(n, l)| line(n as u64, l, now))
            .collect();
        core.apply_batch(items, now);
        core.flush();
        assert!(
            core.engine.in_current_phase("web"),
            "phase 2 is current now"
        );
        let rows = |app: &crate::ui::App| -> Vec<(String, Option<Level>)> {
            let mut rows: Vec<_> = app
                .stream_window(0, 10)
                .iter()
                .map(|e| (e.type_name().to_string(), e.level))
                .collect();
            rows.reverse();
            rows
        };
        let live = rows(&core.view);
        assert!(
            live.contains(&("blocker_detected".into(), Some(Level::Medium))),
            "{live:?}"
        );
        let mut restarted = crate::ui::App::new(&config, "op");
        restarted.refill(crate::journal::recent::recent(dir.path(), 100).unwrap());
        assert_eq!(rows(&restarted), live);
    }
}
