//! The console's view state: focus, zoom, scroll and selection per pane, follow
//! mode, the filter, the open dialog, the retained event stream, and the caches
//! of worst-first orders that the panes draw from. Keys and mouse go in, view
//! changes happen here, operator intents come out as `UiAction`s for the loop to
//! apply to the engine. Never does I/O and never mutates the engine.

use super::dialogs::{self, Dialog, InputPurpose};
pub use super::filter::Filter;
pub use super::geometry::Geometry;
use super::keys::{Command, KeyMap};
use super::layout::Mode;
pub use super::pages::Page;
use super::retained::RetainedEvent;
pub use super::selection::{AlertRow, Selection};
use super::stream::Stream;
use super::theme::Theme;
use crate::config::Config;
use crate::engine::agents::Liveness;
use crate::engine::alerts::Alert;
use crate::engine::{Action, Effect, Engine, Input, OperatorAction, Time};
use crate::journal::recent::DERIVED;
use crate::model::{Event, Level, ParseError};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::collections::VecDeque;
use std::sync::Arc;

/// The panes, numbered 1–5 in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    Events,
    Agents,
    Alerts,
    Progress,
    Log,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Events,
        Pane::Agents,
        Pane::Alerts,
        Pane::Progress,
        Pane::Log,
    ];

    pub fn number(self) -> u8 {
        match self {
            Pane::Events => 1,
            Pane::Agents => 2,
            Pane::Alerts => 3,
            Pane::Progress => 4,
            Pane::Log => 5,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Events => "Events",
            Pane::Agents => "Agents",
            Pane::Alerts => "Alerts",
            Pane::Progress => "Progress",
            Pane::Log => "Log",
        }
    }

    fn index(self) -> usize {
        self.number() as usize - 1
    }
}

pub use super::stream::{EntryBody, StreamEntry};

/// Whether the Events pane shows an entry: the filter's, and heartbeats only
/// when asked for.
fn shown_by(
    filter: &Filter,
    heartbeats: bool,
    until: Option<Time>,
) -> impl Fn(&StreamEntry) -> bool + '_ {
    move |e| {
        until.is_none_or(|t| e.at <= t)
            && (heartbeats || !e.is_heartbeat())
            && filter.matches_entry(e)
    }
}

/// A move of the time cursor (the console builds the past it lands on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Travel {
    /// To the previous alert change.
    Back,
    /// To the next alert change; past the last, live.
    Forward,
    MinuteBack,
    MinuteForward,
    /// To a time the operator typed.
    To(Time),
    Live,
}

/// What the loop should do after a key or a click.
#[derive(Clone, Debug, PartialEq)]
pub enum UiAction {
    /// The view changed: draw again.
    Redraw,
    /// An operator action to apply to the engine (`App::operator_input`) and journal.
    Operator(Action),
    /// Restore the terminal, flush the journal, exit.
    Quit,
    /// Move the time cursor.
    Travel(Travel),
    /// Show what changed since the operator last looked.
    Digest,
}

/// The link to a Redis stream, as the status bar shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    Connected,
    /// Redis is down or unreachable: reconnecting with backoff.
    Disconnected,
}

/// The journal as the status bar reports it; set by the loop.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum JournalState {
    #[default]
    Ok,
    ReadOnly,
    Off,
    /// A write failed (disk full…): ingestion paused.
    Error(String),
}

/// The console's view state.
pub struct App {
    pub focus: Pane,
    pub zoom: bool,
    /// The zoom came from a number key on a small screen: a terminal grown to
    /// dashboard size lets it go.
    zoom_for_size: bool,
    pub show_log: bool,
    /// Events follow the newest like `tail -f`; off while scrolled up.
    pub follow: bool,
    /// Alerts pane shows resolved alerts too.
    pub show_resolved: bool,
    /// The filter as typed, and parsed.
    pub filter_text: String,
    /// Use `set_filter` to change it: the matching stream entries are indexed.
    pub filter: Filter,
    /// Heartbeats are folded out of the Events pane unless this is on (`H`).
    pub show_heartbeats: bool,
    /// The filter being edited (`/`), applied live; `Esc` restores `filter_text`.
    pub filter_edit: Option<String>,
    pub dialog: Option<Dialog>,
    /// The detail page open over the panes (Enter); dialogs open over it.
    pub page: Option<Page>,
    pub page_scroll: u16,
    /// The incident page's alert is open (refreshed by `sync`).
    page_alert_open: bool,
    pub operator: String,
    pub demo: bool,
    /// A message for the operator (rejections, key errors), shown in the status
    /// bar; `sync` clears it 15 s after it first showed.
    pub status: Option<String>,
    status_since: Option<(String, Time)>,
    pub keys: KeyMap,
    /// Bad `ui.keys` entries, to report at start.
    pub key_errors: Vec<String>,
    pub theme: Theme,
    pub journal: JournalState,
    /// A console on a Redis stream: whether it is reading it (`None` otherwise).
    pub stream: Option<StreamState>,
    /// The Log pane draws tui-logger's buffer (set once logging has installed
    /// `TuiTracingSubscriberLayer`; each frame moves its new records in);
    /// otherwise it draws `log`.
    pub tui_logger: bool,
    /// Diagnostics shown in the Log pane when tui-logger is not in use, newest last.
    pub log: VecDeque<String>,
    pub log_scroll: usize,

    /// The retained stream and the index of what the Events pane shows.
    entries: Stream,
    /// What each pane has selected, and the orders they draw (by `sync`).
    pub sel: Selection,
    /// Open alerts per level, Critical first.
    pub open_by_level: [usize; 4],
    /// Agents per liveness, in `Liveness` order.
    pub liveness_counts: [usize; 7],
    /// Ingest rate over the last seconds.
    pub events_per_sec: f64,
    rate: VecDeque<(Time, u64)>,
    /// Where the last frame put things (`draw` returns it; the loop sets it).
    pub view: Geometry,
    /// When to ring the terminal's bell (`ui.bell`).
    pub bell: crate::config::Bell,
    /// An alert called for the bell since the last frame: the console rings it.
    pub bell_due: bool,
    /// The time cursor: the panes show the state at this moment (the console
    /// holds its engine); `None` is live.
    pub past: Option<Time>,
    /// The present, while in the past (for "how far back").
    pub live_now: Option<Time>,
    /// The engine revision the orders were built from; `stale` after a key.
    synced: Option<u64>,
    stale: bool,
}

const LOG_LINES: usize = 2000;

impl App {
    /// The view state for a configuration; the theme honours `NO_COLOR`.
    pub fn new(config: &Config, operator: impl Into<String>) -> App {
        let (keys, key_errors) = KeyMap::from_config(&config.ui.keys);
        let status =
            (!key_errors.is_empty()).then(|| format!("coord.json: {}", key_errors.join("; ")));
        App {
            bell: config.ui.bell,
            bell_due: false,
            past: None,
            live_now: None,
            focus: Pane::Alerts,
            zoom: false,
            zoom_for_size: false,
            show_log: false,
            follow: true,
            show_resolved: false,
            filter_text: String::new(),
            filter: Filter::default(),
            show_heartbeats: false,
            filter_edit: None,
            dialog: None,
            page: None,
            page_scroll: 0,
            page_alert_open: false,
            operator: operator.into(),
            demo: false,
            status,
            status_since: None,
            keys,
            key_errors,
            theme: Theme::from_env(config.ui.theme),
            journal: JournalState::Ok,
            stream: None,
            tui_logger: false,
            log: VecDeque::new(),
            log_scroll: 0,
            // Heartbeats folded: an index of what is shown from the start.
            entries: Stream::new(config.ingest.retention_events as usize, false),
            sel: Selection::default(),
            open_by_level: [0; 4],
            liveness_counts: [0; 7],
            events_per_sec: 0.0,
            rate: VecDeque::new(),
            view: Geometry::default(),
            synced: None,
            stale: true,
        }
    }

    /// Wraps an operator action with the operator's name, for `Engine::apply`.
    pub fn operator_input(&self, action: Action) -> Input {
        Input::Operator(OperatorAction {
            operator: self.operator.clone(),
            action,
        })
    }

    // ----- the stream -------------------------------------------------------

    /// Retains an event for the stream, with the level the engine classified it
    /// at when it applied it (the console never classifies again).
    pub fn push_event(
        &mut self,
        event: &Event,
        level: Option<Level>,
        source: Arc<str>,
        line: u64,
        offset: u64,
    ) {
        self.push_entry(
            event.ts,
            level,
            source,
            line,
            offset,
            EntryBody::Event(Box::new(RetainedEvent::from(event))),
        );
    }

    /// Fills the stream with the journal's newest entries, oldest first: a
    /// restarted console shows what came before it.
    pub fn refill(&mut self, recent: Vec<crate::journal::recent::Recent>) {
        let mut source: Arc<str> = Arc::from("");
        for r in recent {
            if *source != *r.src {
                source = Arc::from(r.src);
            }
            match r.body {
                Ok(e) => self.push_event(&e, r.level, source.clone(), r.line, r.off),
                Err(e) => self.push_parse_error(&e, r.at),
            }
        }
    }

    /// How many stream entries are kept.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Retains a derived event (e.g. `agent_timeout`) from the engine's effects;
    /// a new Critical alert or an escalation to a human calls for the bell.
    pub fn push_effects(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::Transition(t) => {
                    self.bell_due |= self.rings(t);
                    // An operator's action answers on the status line.
                    if let crate::engine::Actor::Operator(_) = &t.by {
                        self.status = Some(format!("A-{} {}", t.alert, t.reason));
                    }
                }
                Effect::Derived { event, level } => {
                    self.push_event(event, *level, Arc::from(DERIVED), 0, 0)
                }
                Effect::Rejected { reason } => self.status = Some(format!("refused: {reason}")),
                _ => {}
            }
        }
    }

    /// Whether `ui.bell` rings for this transition.
    fn rings(&self, t: &crate::engine::alerts::Transition) -> bool {
        use crate::config::Bell;
        let human = t.escalation == crate::model::Escalation::Human
            && matches!(t.what, "opened" | "escalated");
        let critical = t.what == "opened" && t.level == Level::Critical;
        match self.bell {
            Bell::Critical => critical || human,
            Bell::Human => human,
            Bell::Off => false,
        }
    }

    /// Retains a line that did not parse; `now` is its ingest time.
    pub fn push_parse_error(&mut self, error: &ParseError, now: Time) {
        let source: Arc<str> = Arc::from(error.source.as_str());
        let (line, offset) = (error.line, error.offset);
        self.push_entry(
            now,
            None,
            source,
            line,
            offset,
            EntryBody::ParseError(Box::new(error.clone())),
        );
    }

    fn push_entry(
        &mut self,
        at: Time,
        level: Option<Level>,
        source: Arc<str>,
        line: u64,
        offset: u64,
        body: EntryBody,
    ) {
        let shows = shown_by(&self.filter, self.show_heartbeats, self.past);
        let shown = self
            .entries
            .push(at, level, source, (line, offset), body, shows);
        if !self.follow {
            if shown {
                // Keep the same entries on screen while the operator reads.
                self.sel.events += 1;
                self.view.events_bottom += 1;
            }
            // The oldest may have been let go: stay on what is retained.
            let last = self.stream_count().saturating_sub(1);
            self.sel.events = self.sel.events.min(last);
            self.view.events_bottom = self.view.events_bottom.min(last);
        }
    }

    /// Every retained entry, newest first, whatever the filter.
    pub fn newest(&self) -> impl Iterator<Item = &StreamEntry> {
        self.entries.newest()
    }

    pub fn retained(&self) -> usize {
        self.entries.retained()
    }

    pub fn entry(&self, seq: u64) -> Option<&StreamEntry> {
        self.entries.entry(seq)
    }

    /// Shown entries from the newest back: `skip` skipped, then up to `take`.
    pub fn stream_window(&self, skip: usize, take: usize) -> Vec<&StreamEntry> {
        self.entries.window(skip, take)
    }

    pub(crate) fn stream_count(&self) -> usize {
        self.entries.count()
    }

    /// Sets the filter and indexes the retained entries shown (one pass).
    pub fn set_filter(&mut self, filter: Filter) {
        self.stale = true;
        self.filter = filter;
        let index = !self.filter.is_empty() || !self.show_heartbeats || self.past.is_some();
        let shows = shown_by(&self.filter, self.show_heartbeats, self.past);
        self.entries.reindex(index.then_some(shows));
    }

    /// Heartbeats retained, and how many of them the Events pane folds away.
    pub fn heartbeats(&self) -> (usize, usize) {
        let n = self.entries.heartbeats();
        (n, if self.show_heartbeats { 0 } else { n })
    }

    /// Entries the Events pane shows, of those retained.
    pub fn shown(&self) -> usize {
        self.stream_count()
    }

    pub fn events_selected(&self) -> usize {
        self.sel.events
    }

    pub fn selected_entry(&self) -> Option<&StreamEntry> {
        self.stream_window(self.sel.events, 1).into_iter().next()
    }

    /// The selected alert's id, if the selection is on an open one.
    pub fn selected_alert(&self) -> Option<AlertRow> {
        self.sel.alert()
    }

    pub fn push_log(&mut self, line: impl Into<String>) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line.into());
    }

    // ----- engine caches ----------------------------------------------------

    /// Refreshes the worst-first orders, the reassign candidates, the per-level
    /// counts and the ingest rate. Call after applying inputs and after a key
    /// that changed the filter, before drawing.
    pub fn sync(&mut self, engine: &Engine, now: Time) {
        match (&self.status, &self.status_since) {
            (None, _) => self.status_since = None,
            (Some(s), Some((seen, at))) if s == seen => {
                if (now - *at).num_seconds() >= 15 {
                    self.status = None;
                    self.status_since = None;
                }
            }
            (Some(s), _) => self.status_since = Some((s.clone(), now)),
        }
        self.sync_rate(engine, now);
        self.fill_reassign_choices(engine);
        if let Some(Page::Incident(id)) = &self.page {
            self.page_alert_open = engine.alerts.get(*id).is_some_and(Alert::is_open);
        }
        // The orders change only with the engine or with the view's own state.
        if !self.stale && self.synced == Some(engine.revision) {
            return;
        }
        self.stale = false;
        self.synced = Some(engine.revision);
        self.sel.sync_agents(engine, &self.filter);
        self.sel
            .sync_alerts(engine, &self.filter, self.show_resolved);
        self.sel.sync_components(engine);
        let mut counts = [0; 7];
        for a in engine.agents.values() {
            counts[a.liveness as usize] += 1;
        }
        self.liveness_counts = counts;

        let mut by_level = [0; 4];
        for a in engine.alerts.open() {
            by_level[a.level.number() as usize - 1] += 1;
        }
        self.open_by_level = by_level;
    }

    /// Events per second over the last 10 s of samples.
    fn sync_rate(&mut self, engine: &Engine, now: Time) {
        let events = engine.counters.events + engine.counters.parse_errors;
        if self.rate.back().is_none_or(|(t, _)| *t < now) {
            self.rate.push_back((now, events));
        }
        while self
            .rate
            .front()
            .is_some_and(|(t, _)| (now - *t).num_milliseconds() > 10_000)
            && self.rate.len() > 2
        {
            self.rate.pop_front();
        }
        self.events_per_sec = match (self.rate.front(), self.rate.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                (n1 - n0) as f64 / ((*t1 - *t0).num_milliseconds() as f64 / 1000.0)
            }
            _ => 0.0,
        };
    }

    /// The reassign picker, filled when it opens: healthy agents with their
    /// open-task counts, fewest first.
    fn fill_reassign_choices(&mut self, engine: &Engine) {
        if let Some(Dialog::Reassign { choices, .. }) = &mut self.dialog {
            if choices.is_empty() {
                let mut healthy: Vec<(String, usize)> = engine
                    .agents
                    .values()
                    .filter(|a| a.liveness == Liveness::Healthy)
                    .map(|a| (a.id.clone(), a.open_tasks.len()))
                    .collect();
                healthy.sort_unstable_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                if healthy.is_empty() {
                    self.dialog = None;
                    self.status = Some("no healthy agent to reassign to".into());
                } else {
                    *choices = healthy;
                }
            }
        }
    }

    // ----- keys -------------------------------------------------------------

    /// Handles one key. Releases and repeats of releases are ignored.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<UiAction> {
        self.stale = true;
        if key.kind == KeyEventKind::Release {
            return None;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Some(UiAction::Quit);
        }
        if self.filter_edit.is_some() {
            return self.filter_key(key);
        }
        if self.dialog.is_some() {
            return dialogs::handle_key(self, key);
        }
        if self.page.is_some() {
            return self.page_key(key);
        }
        let cmd = self.keys.lookup(&key)?;
        self.command(cmd)
    }

    /// A key on a detail page: scroll, back, help; on an incident page the
    /// alert keys act on its alert; on an agent or component page Enter shows
    /// its events. Nothing reaches the panes under the page.
    fn page_key(&mut self, key: KeyEvent) -> Option<UiAction> {
        let page = self.page.clone()?;
        let redraw = Some(UiAction::Redraw);
        let scroll = &mut self.page_scroll;
        match key.code {
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Char('q') => {
                self.page = None;
                return redraw;
            }
            KeyCode::Enter => {
                self.page = None;
                let term = match &page {
                    Page::Agent(id) => format!("agent:{id}"),
                    Page::Component(id) => format!("component:{id}"),
                    Page::Event(_) | Page::Incident(_) => return redraw,
                };
                // Its events: the stream filtered by it.
                self.filter_text = term;
                self.set_filter(Filter::parse(&self.filter_text));
                self.focus = Pane::Events;
                self.follow = true;
                self.sel.events = 0;
                self.view.events_bottom = 0;
                return redraw;
            }
            KeyCode::Char('j') | KeyCode::Down => *scroll = scroll.saturating_add(1),
            KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => *scroll = scroll.saturating_add(10),
            KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
            KeyCode::Char('g') | KeyCode::Home => *scroll = 0,
            KeyCode::Char('?') => self.dialog = Some(Dialog::Help { scroll: 0 }),
            _ => {
                let Page::Incident(alert) = page else {
                    return None;
                };
                use Command::*;
                let cmd = self.keys.lookup(&key)?;
                return match cmd {
                    Acknowledge | Reassign | Escalate | Resolve | FalseAlarm | Snooze | Note => {
                        let open = self.page_alert_open;
                        self.alert_command_on(cmd, AlertRow { id: alert, open })
                    }
                    _ => None,
                };
            }
        }
        redraw
    }

    fn filter_key(&mut self, key: KeyEvent) -> Option<UiAction> {
        let text = self.filter_edit.as_mut()?;
        match key.code {
            KeyCode::Esc => {
                self.filter_edit = None;
                self.set_filter(Filter::parse(&self.filter_text));
            }
            KeyCode::Enter => {
                self.filter_text = self.filter_edit.take().unwrap_or_default();
                self.set_filter(Filter::parse(&self.filter_text));
                if !self.filter.errors.is_empty() {
                    self.status = Some(format!("filter: {}", self.filter.errors.join("; ")));
                }
            }
            KeyCode::Backspace => {
                text.pop();
                let f = Filter::parse(text);
                self.set_filter(f);
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                text.clear();
                self.set_filter(Filter::default());
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                text.push(c);
                let f = Filter::parse(text);
                self.set_filter(f);
            }
            _ => return None,
        }
        self.sel.events = 0;
        self.view.events_bottom = 0;
        self.follow = true;
        self.sel.agents = 0;
        // The first row of the list the new filter makes (the old order is gone).
        self.sel.alert_order.clear();
        self.sel.pick_alert(0);
        Some(UiAction::Redraw)
    }

    fn page(&self, pane: Pane) -> usize {
        self.view.page[pane.index()].max(1)
    }

    /// The terminal was resized: a zoom that only stood in for room goes.
    pub fn on_resize(&mut self, width: u16, height: u16) {
        self.stale = true;
        if self.zoom_for_size && Mode::for_size(width, height) == Mode::Dashboard {
            self.zoom = false;
            self.zoom_for_size = false;
        }
    }

    /// Whether the last frame was too small for four panes (numbers also zoom).
    fn small_screen(&self) -> bool {
        matches!(self.view.mode, Some(Mode::Stacked | Mode::Single))
    }

    pub fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        if pane == Pane::Log {
            self.show_log = true;
        }
    }

    fn command(&mut self, cmd: Command) -> Option<UiAction> {
        use Command::*;
        let redraw = Some(UiAction::Redraw);
        match cmd {
            Quit => return Some(UiAction::Quit),
            PastBack => return Some(UiAction::Travel(Travel::Back)),
            PastForward => return Some(UiAction::Travel(Travel::Forward)),
            MinuteBack => return Some(UiAction::Travel(Travel::MinuteBack)),
            MinuteForward => return Some(UiAction::Travel(Travel::MinuteForward)),
            TravelTo => self.dialog = Some(Dialog::input(InputPurpose::TravelTo, 0)),
            Digest => return Some(UiAction::Digest),
            Back | Bottom if self.past.is_some() => {
                return Some(UiAction::Travel(Travel::Live));
            }
            MarkSeen => {
                self.status = Some(format!(
                    "everything up to now marked seen by {}",
                    self.operator
                ));
                return Some(UiAction::Operator(Action::MarkSeen));
            }
            Help => self.dialog = Some(Dialog::Help { scroll: 0 }),
            FocusNext | FocusPrev => {
                let panes: Vec<Pane> = Pane::ALL
                    .into_iter()
                    .filter(|p| *p != Pane::Log || self.show_log)
                    .collect();
                let i = panes.iter().position(|p| *p == self.focus).unwrap_or(0);
                let n = panes.len();
                let j = if cmd == FocusNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus = panes[j];
            }
            FocusEvents | FocusAgents | FocusAlerts | FocusProgress | FocusLog => {
                let pane = match cmd {
                    FocusEvents => Pane::Events,
                    FocusAgents => Pane::Agents,
                    FocusAlerts => Pane::Alerts,
                    FocusProgress => Pane::Progress,
                    _ => Pane::Log,
                };
                let small = self.small_screen();
                self.focus_pane(pane);
                if small {
                    self.zoom = true;
                    self.zoom_for_size = true;
                }
            }
            Zoom => {
                self.zoom = !self.zoom;
                self.zoom_for_size = false;
            }
            Logs => {
                self.show_log = !self.show_log;
                if self.show_log {
                    self.focus = Pane::Log;
                } else if self.focus == Pane::Log {
                    self.focus = Pane::Events;
                }
            }
            Follow => {
                self.follow = !self.follow;
                if self.follow {
                    self.sel.events = 0;
                    self.view.events_bottom = 0;
                }
            }
            Heartbeats => {
                self.show_heartbeats = !self.show_heartbeats;
                self.set_filter(self.filter.clone());
                self.status = Some(if self.show_heartbeats {
                    "showing heartbeats in Events".into()
                } else {
                    "heartbeats folded out of Events (H shows them)".into()
                });
            }
            ShowResolved => {
                self.show_resolved = !self.show_resolved;
                self.status = Some(if self.show_resolved {
                    "showing resolved alerts".into()
                } else {
                    "hiding resolved alerts".into()
                });
            }
            Filter => self.filter_edit = Some(self.filter_text.clone()),
            Back => {
                if self.zoom {
                    self.zoom = false;
                } else if !self.filter_text.is_empty() {
                    self.filter_text.clear();
                    self.set_filter(super::filter::Filter::default());
                } else {
                    self.status = None;
                }
            }
            Up => self.move_by(-1),
            Down => self.move_by(1),
            Left => self.move_horizontal(-1),
            Right => self.move_horizontal(1),
            PageUp => self.move_by(-(self.page(self.focus) as isize)),
            PageDown => self.move_by(self.page(self.focus) as isize),
            Top => self.move_to_end(true),
            Bottom => self.move_to_end(false),
            Details => self.details(),
            Acknowledge | Reassign | Escalate | Resolve | FalseAlarm | Snooze | Note => {
                return self.alert_command(cmd);
            }
            AcknowledgeAll => {
                if let Some(refused) = self.refuse_in_the_past() {
                    return refused;
                }
                let ids: Vec<u64> = self
                    .sel
                    .alert_order
                    .iter()
                    .filter(|r| r.open)
                    .map(|r| r.id)
                    .collect();
                if ids.is_empty() {
                    self.status = Some("no open alert in view".into());
                    return redraw;
                }
                // Many at once: asked first, with the count.
                let n = crate::text::plural(ids.len(), "alert", "alerts");
                let filtered = if self.filter.is_empty() {
                    ""
                } else {
                    " (filtered)"
                };
                self.dialog = Some(Dialog::Confirm {
                    question: format!("Acknowledge {n} in view{filtered}, as {}?", self.operator),
                    action: Action::AcknowledgeAll { alerts: ids },
                });
                return redraw;
            }
        }
        redraw
    }

    /// In the past, actions are refused: they would act on the present.
    fn refuse_in_the_past(&mut self) -> Option<Option<UiAction>> {
        let at = self.past?;
        self.status = Some(format!(
            "in the past ({}): actions act on the present; Esc returns to live",
            at.format("%H:%M:%S")
        ));
        Some(Some(UiAction::Redraw))
    }

    /// The operator keys on the selected alert.
    fn alert_command(&mut self, cmd: Command) -> Option<UiAction> {
        if let Some(refused) = self.refuse_in_the_past() {
            return refused;
        }
        let Some(row) = self.selected_alert() else {
            self.status = Some(match self.sel.gone {
                Some(id) => format!(
                    "A-{id} left the list (resolved); nothing is selected: j/k to pick an alert"
                ),
                None => "no alert selected: focus Alerts (3) and pick one".into(),
            });
            return Some(UiAction::Redraw);
        };
        self.alert_command_on(cmd, row)
    }

    /// An operator key on one alert: an action, or the dialog that asks for it.
    fn alert_command_on(&mut self, cmd: Command, row: AlertRow) -> Option<UiAction> {
        if !row.open {
            self.status = Some(format!("A-{} is resolved", row.id));
            return Some(UiAction::Redraw);
        }
        let alert = row.id;
        match cmd {
            Command::Acknowledge => {
                return Some(UiAction::Operator(Action::Acknowledge {
                    alert,
                    note: None,
                }))
            }
            Command::Escalate => return Some(UiAction::Operator(Action::Escalate { alert })),
            Command::Reassign => {
                // `sync` fills the choices from the engine before the next frame.
                self.dialog = Some(Dialog::Reassign {
                    alert,
                    choices: Vec::new(),
                    sel: 0,
                });
            }
            Command::Snooze => self.dialog = Some(Dialog::Snooze { alert, sel: 0 }),
            Command::Resolve => self.dialog = Some(Dialog::input(InputPurpose::Resolve, alert)),
            Command::FalseAlarm => {
                self.dialog = Some(Dialog::input(InputPurpose::FalseAlarm, alert))
            }
            Command::Note => self.dialog = Some(Dialog::input(InputPurpose::Note, alert)),
            _ => {}
        }
        Some(UiAction::Redraw)
    }

    /// Enter: the page of what is selected in the focused pane.
    fn details(&mut self) {
        let page = match self.focus {
            Pane::Events => self.selected_entry().map(|e| Page::Event(e.seq)),
            Pane::Alerts => self.selected_alert().map(|r| Page::Incident(r.id)),
            Pane::Agents => self
                .sel
                .agent_order
                .get(self.sel.agents)
                .cloned()
                .map(Page::Agent),
            Pane::Progress => self
                .sel
                .component_order
                .get(self.sel.component)
                .cloned()
                .map(Page::Component),
            Pane::Log => None,
        };
        if let Some(Page::Incident(id)) = &page {
            self.page_alert_open = self.sel.alert_order.iter().any(|r| r.id == *id && r.open);
        }
        if page.is_some() {
            self.page = page;
            self.page_scroll = 0;
            return;
        }
        // Enter that opens nothing says why, so the next keys are not typed blind.
        self.status = Some(match (self.focus, self.sel.gone) {
            (Pane::Alerts, Some(id)) => format!(
                "A-{id} left the list (resolved); nothing is selected: j/k to pick an alert"
            ),
            (Pane::Log, _) => "the Log pane has no pages".into(),
            _ => "nothing selected here: j/k to pick a row".into(),
        });
    }

    fn move_by(&mut self, delta: isize) {
        let step = |v: usize, max: usize| -> usize {
            (v as isize + delta).clamp(0, max.saturating_sub(1) as isize) as usize
        };
        match self.focus {
            Pane::Events => {
                if delta < 0 {
                    // Up goes back in time, only as far as there are entries.
                    let want = delta.unsigned_abs();
                    let avail = self.stream_window(self.sel.events, want + 1).len();
                    self.sel.events += want.min(avail.saturating_sub(1));
                } else {
                    self.sel.events = self.sel.events.saturating_sub(delta as usize);
                }
                // Scrolled up, follow is off; back at the newest, it is on again.
                self.follow = self.sel.events == 0;
            }
            Pane::Agents => {
                let cols = self.view.agents_cols.max(1) as isize;
                let v = (self.sel.agents as isize + delta * cols)
                    .clamp(0, self.sel.agent_order.len().saturating_sub(1) as isize);
                self.sel.agents = v as usize;
            }
            Pane::Alerts => {
                // From nothing selected, the first step lands on the row in place.
                let at = if self.sel.gone.is_some() {
                    self.sel.alerts
                } else {
                    step(self.sel.alerts, self.sel.alert_order.len())
                };
                self.sel.pick_alert(at);
            }
            Pane::Progress => {
                self.sel.component = step(self.sel.component, self.sel.component_order.len())
            }
            Pane::Log => {
                // Counted from the newest line: up goes back.
                let max = self.log.len().saturating_sub(1) as isize;
                self.log_scroll = (self.log_scroll as isize - delta).clamp(0, max) as usize;
            }
        }
    }

    fn move_horizontal(&mut self, delta: isize) {
        if self.focus == Pane::Agents {
            let v = (self.sel.agents as isize + delta)
                .clamp(0, self.sel.agent_order.len().saturating_sub(1) as isize);
            self.sel.agents = v as usize;
        }
    }

    fn move_to_end(&mut self, top: bool) {
        match self.focus {
            Pane::Events => {
                if top {
                    self.sel.events = self.stream_count().saturating_sub(1);
                    self.follow = false;
                } else {
                    self.sel.events = 0;
                    self.view.events_bottom = 0;
                    self.follow = true;
                }
            }
            Pane::Agents => {
                self.sel.agents = if top {
                    0
                } else {
                    self.sel.agent_order.len().saturating_sub(1)
                }
            }
            Pane::Alerts => self.sel.pick_alert(if top { 0 } else { usize::MAX }),
            Pane::Progress => {
                self.sel.component = if top {
                    0
                } else {
                    self.sel.component_order.len().saturating_sub(1)
                }
            }
            Pane::Log => {
                self.log_scroll = if top {
                    self.log.len().saturating_sub(1)
                } else {
                    0
                }
            }
        }
    }

    // ----- mouse ------------------------------------------------------------

    /// Click focuses a pane (or a tab) and selects the row or cell under it;
    /// the wheel scrolls the pane under the pointer.
    pub fn handle_mouse(&mut self, m: MouseEvent) -> Option<UiAction> {
        self.stale = true;
        let pos = Position::new(m.column, m.row);
        if self.page.is_some() && self.dialog.is_none() {
            // A page covers the panes: the wheel scrolls it, clicks land nowhere.
            match m.kind {
                MouseEventKind::ScrollUp => self.page_scroll = self.page_scroll.saturating_sub(3),
                MouseEventKind::ScrollDown => self.page_scroll = self.page_scroll.saturating_add(3),
                _ => return None,
            }
            return Some(UiAction::Redraw);
        }
        let view = self.view.clone();
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if self.dialog.is_some() || self.filter_edit.is_some() {
                    return None;
                }
                if let Some((pane, _)) = view.tabs.iter().find(|(_, r)| r.contains(pos)) {
                    self.focus_pane(*pane);
                    return Some(UiAction::Redraw);
                }
                let (pane, body, _) = *view.panes.iter().find(|(_, _, o)| o.contains(pos))?;
                self.focus_pane(pane);
                if body.contains(pos) {
                    self.select_at(pane, body, pos, &view);
                }
                Some(UiAction::Redraw)
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                if self.dialog.is_some() || self.filter_edit.is_some() {
                    return None;
                }
                let pane = view
                    .panes
                    .iter()
                    .find(|(_, _, o)| o.contains(pos))
                    .map_or(self.focus, |p| p.0);
                self.focus = pane;
                let d: isize = if m.kind == MouseEventKind::ScrollUp {
                    -3
                } else {
                    3
                };
                if pane == Pane::Agents {
                    // The wheel moves whole rows of the grid.
                    self.move_by(d.signum());
                } else {
                    self.move_by(d);
                }
                Some(UiAction::Redraw)
            }
            _ => None,
        }
    }

    fn select_at(&mut self, pane: Pane, body: Rect, pos: Position, view: &Geometry) {
        let r = (pos.y - body.y) as usize;
        match pane {
            Pane::Events => {
                let rows = view.events_rows;
                if r < rows {
                    let sel = self.view.events_bottom + (rows - 1 - r);
                    self.sel.events = sel;
                    self.follow = sel == 0;
                }
            }
            Pane::Agents => {
                let (w, h) = view.agents_cell;
                if w == 0 || h == 0 {
                    return;
                }
                let col = ((pos.x - body.x) / w) as usize;
                let row = r / h as usize;
                if col < view.agents_cols {
                    let i = (self.view.agents_top_row + row) * view.agents_cols + col;
                    if i < self.sel.agent_order.len() {
                        self.sel.agents = i;
                    }
                }
            }
            Pane::Alerts => {
                if pos.y >= view.alerts_first_y {
                    let i = self.view.alerts_top + (pos.y - view.alerts_first_y) as usize;
                    if i < self.sel.alert_order.len() {
                        self.sel.pick_alert(i);
                    }
                }
            }
            Pane::Progress | Pane::Log => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, agent: &str, n: u64) -> Event {
        let mut e = Event::new(
            crate::model::EventType::from_name(kind),
            "2026-11-24T12:00:00Z".parse().unwrap(),
            format!("e{n}"),
        );
        e.agent = Some(agent.into());
        e
    }

    /// Heartbeats are folded out of the Events pane by default, counted, and
    /// shown on `H`; a filter's count leaves them out while they are folded.
    #[test]
    fn heartbeats_are_folded_by_default_and_shown_on_a_key() {
        let config = Config::default();
        let mut app = App::new(&config, "op");
        let src: Arc<str> = Arc::from("events/x.jsonl");
        for (n, kind) in ["agent_heartbeat", "task_assigned", "agent_heartbeat"]
            .into_iter()
            .enumerate()
        {
            let n = n as u64;
            app.push_event(&event(kind, "be-1", n), None, src.clone(), n, 0);
        }
        let kinds = |app: &App| -> Vec<String> {
            app.stream_window(0, 10)
                .iter()
                .map(|e| e.type_name().to_string())
                .collect()
        };
        assert_eq!(kinds(&app), ["task_assigned"]);
        assert_eq!(app.heartbeats(), (2, 2));
        assert!(super::super::events::title_note(&app).contains("2 heartbeats folded (H)"));
        app.handle_key(KeyEvent::new(KeyCode::Char('H'), KeyModifiers::NONE));
        assert_eq!(
            kinds(&app),
            ["agent_heartbeat", "task_assigned", "agent_heartbeat"]
        );
        assert_eq!(app.heartbeats(), (2, 0));
        app.filter_text = "-type:agent_heartbeat".into();
        app.set_filter(Filter::parse(&app.filter_text));
        assert_eq!(kinds(&app), ["task_assigned"]);
        assert!(super::super::events::title_note(&app).contains("1 of 3 shown"));
    }

    #[test]
    fn ring_and_filter_index_stay_in_step() {
        let mut config = Config::default();
        config.ingest.retention_events = 4;
        let mut app = App::new(&config, "op");
        // Heartbeats shown: this is about the ring and the index.
        app.handle_key(KeyEvent::new(KeyCode::Char('H'), KeyModifiers::NONE));
        assert!(app.show_heartbeats);
        let src: Arc<str> = Arc::from("events/x.jsonl");
        for n in 0..6 {
            let agent = if n % 2 == 0 { "even" } else { "odd" };
            app.push_event(&event("agent_heartbeat", agent, n), None, src.clone(), n, 0);
        }
        assert_eq!(app.retained(), 4);
        let seqs =
            |app: &App| -> Vec<u64> { app.stream_window(0, 10).iter().map(|e| e.seq).collect() };
        assert_eq!(seqs(&app), vec![5, 4, 3, 2]);
        app.set_filter(Filter::parse("agent:even"));
        assert_eq!(seqs(&app), vec![4, 2]);
        app.push_event(
            &event("agent_heartbeat", "even", 6),
            None,
            src.clone(),
            6,
            0,
        );
        app.push_event(&event("agent_heartbeat", "odd", 7), None, src.clone(), 7, 0);
        // seq 2 and 3 were let go; the index followed.
        assert_eq!(seqs(&app), vec![6, 4]);
        assert_eq!(app.stream_window(1, 10).len(), 1);
        // Scrolled up, new matching entries keep the selection on the same entry.
        app.handle_key(KeyEvent::new(KeyCode::Char('1'), KeyModifiers::NONE));
        app.handle_key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::NONE));
        assert!(!app.follow);
        assert_eq!(app.selected_entry().map(|e| e.seq), Some(4));
        // A non-matching entry arrives and entry 4 is let go: the selection
        // moves to the oldest retained match.
        app.push_event(&event("odd_one", "odd", 8), None, src.clone(), 8, 0);
        assert_eq!(app.selected_entry().map(|e| e.seq), Some(6));
        // A matching one arrives: the selection stays on the same entry.
        app.push_event(&event("agent_heartbeat", "even", 9), None, src, 9, 0);
        assert_eq!(app.selected_entry().map(|e| e.seq), Some(6));
    }
}
