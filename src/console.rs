//! The terminal side of the console: raw mode and the alternate screen, a thread
//! reading keys, mouse and resizes, and frames drawn only when something changed
//! or a countdown second ticked (one frame a second when idle), at most 30 a
//! second. The terminal is restored on quit, on SIGTERM/SIGHUP (the loop ends and
//! drops this), and on a panic (the hook restores it, flushes the journal, then
//! exits: a spawned task's panic must not leave the loop drawing on a broken
//! terminal). Synchronized output (`ui.sync_output`) wraps each frame so a
//! terminal shows it whole; `auto` leaves it off under tmux, which mishandles it
//! in several versions.

use crate::config::SyncOutput;
use crate::engine::{Action, Engine, Time};
use crate::journal::writer::Flusher;
use crate::runtime::{Core, Observer};
use crate::ui::{App, Travel, UiAction};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::crossterm::{execute, queue};
use std::io::Write;
use std::time::Duration;

/// The shortest time between two frames: 30 frames a second at most.
pub const FRAME: Duration = Duration::from_millis(33);

pub struct Terminal {
    term: ratatui::DefaultTerminal,
    pub input: tokio::sync::mpsc::Receiver<Event>,
    pub dirty: bool,
    /// The clock second of the last frame: a new second redraws the countdowns.
    last_second: i64,
    sync: bool,
    /// `COORD_PANIC_WHEN`: a test of the panic path.
    panic_when: Option<std::path::PathBuf>,
    /// The directory whose journal the time cursor reads.
    pub dir: Option<std::path::PathBuf>,
    /// The time cursor: the state at a past moment, built from the journal.
    past: Option<(Time, Box<Engine>)>,
}

/// A path: the first frame after it exists panics. How the tests prove that a
/// panic restores the terminal and flushes the journal (no known input makes
/// coord panic).
pub const PANIC_WHEN: &str = "COORD_PANIC_WHEN";

/// Whether frames are wrapped in synchronized output, given `$TMUX`.
pub fn sync_enabled(setting: SyncOutput, tmux: Option<&std::ffi::OsStr>) -> bool {
    match setting {
        SyncOutput::On => true,
        SyncOutput::Off => false,
        SyncOutput::Auto => tmux.is_none_or(|t| t.is_empty()),
    }
}

impl Terminal {
    /// Takes the terminal. A panic anywhere then restores it, flushes the journal
    /// (`journal`, for up to 2 s) and exits with 101.
    pub fn start(sync: SyncOutput, journal: Option<Flusher>) -> std::io::Result<Terminal> {
        let sync = sync_enabled(sync, std::env::var_os("TMUX").as_deref());
        tracing::debug!(sync, "synchronized output");
        let term = ratatui::init();
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_raw();
            crate::hooks::end_all();
            if let Some(j) = &journal {
                j.flush(Duration::from_secs(2));
            }
            previous(info);
            std::process::exit(101);
        }));
        let (tx, input) = tokio::sync::mpsc::channel(256);
        std::thread::Builder::new()
            .name("input".into())
            .spawn(move || {
                while let Ok(ev) = event::read() {
                    if tx.blocking_send(ev).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Terminal {
            term,
            input,
            dirty: true,
            last_second: 0,
            sync,
            panic_when: std::env::var_os(PANIC_WHEN).map(std::path::PathBuf::from),
            dir: None,
            past: None,
        })
    }

    /// Marks the frame dirty when the clock reached a second the screen has not
    /// shown. Called from the once-a-second timer, which fires just after each
    /// second begins, so the clock, ages and countdowns all move in one frame.
    pub fn second(&mut self, now: Time) {
        if now.timestamp() != self.last_second {
            self.dirty = true;
        }
    }

    /// Draws a frame if anything changed.
    pub fn draw(&mut self, app: &mut App, engine: &Engine, now: Time) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let second = now.timestamp();
        if app.tui_logger {
            // Diagnostics logged since the last frame, into the log pane's buffer.
            tui_logger::move_events();
        }
        // In the past, every pane draws the past's engine at its moment.
        app.live_now = self.past.as_ref().map(|_| now);
        let (engine, now) = match &self.past {
            Some((at, past)) => (&**past, *at),
            None => (engine, now),
        };
        app.sync(engine, now);
        if self.sync {
            queue!(self.term.backend_mut(), BeginSynchronizedUpdate)?;
        }
        let mut drawn = None;
        self.term
            .draw(|f| drawn = Some(crate::ui::draw(f, app, engine, now)))?;
        if let Some(geometry) = drawn {
            app.view = geometry;
        }
        if self.sync {
            execute!(self.term.backend_mut(), EndSynchronizedUpdate)?;
        }
        if std::mem::take(&mut app.bell_due) {
            // BEL: tmux marks the window, a terminal beeps or flashes.
            self.term.backend_mut().write_all(b"\x07")?;
            self.term.backend_mut().flush()?;
        }
        self.dirty = false;
        self.last_second = second;
        if self.panic_when.as_ref().is_some_and(|p| p.exists()) {
            panic!("{PANIC_WHEN}: a test of the panic path");
        }
        Ok(())
    }
}

/// Raw mode off, mouse reporting off, the main screen and the cursor back,
/// written straight to the descriptor: for a panic or a last-resort stop, where
/// the blocked loop may hold stdout's lock. (The cursor too: ratatui hides it
/// while drawing, and only its terminal's drop shows it again.)
pub fn restore_raw() {
    let _ = ratatui::crossterm::terminal::disable_raw_mode();
    let bytes = b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?1049l\x1b[?25h";
    let _ = rustix::io::write(rustix::stdio::stdout(), bytes);
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
        let _ = std::io::stdout().flush();
    }
}

/// A key, a click or a resize; returns true to quit. An operator's action is
/// journaled and applied like any other input.
pub fn on_input<V: Observer>(
    core: &mut Core<V>,
    term: &mut Terminal,
    input: Event,
    now: Time,
) -> bool {
    tracing::debug!(?input, "input");
    let blocked = core.journal_blocked();
    let Some(app) = core.view.console() else {
        return false;
    };
    let action = match input {
        Event::Key(k) if k.kind == event::KeyEventKind::Press => app.handle_key(k),
        Event::Mouse(m) => app.handle_mouse(m),
        Event::Resize(w, h) => {
            app.on_resize(w, h);
            None
        }
        _ => None,
    };
    match action {
        Some(UiAction::Quit) => {
            // What the operator saw is the digest's next start.
            if !blocked {
                if let crate::engine::Input::Operator(op) = app.operator_input(Action::MarkSeen) {
                    let _ = core.operator(op, now);
                }
            }
            true
        }
        // Nothing is applied that the journal cannot hold: the operator retries.
        Some(UiAction::Operator(_)) if blocked => {
            app.status = Some("the journal cannot write: actions wait until it can".into());
            false
        }
        Some(UiAction::Travel(step)) => {
            travel(core, term, step, now);
            false
        }
        Some(UiAction::Digest) => {
            show_digest(core, term, now, false);
            false
        }
        Some(UiAction::Operator(a)) => {
            if let crate::engine::Input::Operator(op) = app.operator_input(a) {
                if let Err(why) = core.operator(op, now) {
                    if let Some(app) = core.view.console() {
                        app.status = Some(why.into());
                    }
                }
            }
            false
        }
        _ => false,
    }
}

/// Opens the page of what changed since the operator last looked (their last
/// `m` or `q`); at start (`quiet_skip`), only when they have looked before and
/// something changed.
pub fn show_digest<V: Observer>(core: &mut Core<V>, term: &Terminal, now: Time, quiet_skip: bool) {
    let Some(dir) = term.dir.clone() else { return };
    let Some(operator) = core.view.console().map(|a| a.operator.clone()) else {
        return;
    };
    let d = crate::cli::digest::digest_of(&dir, &core.engine, &operator, None, now);
    let Some(app) = core.view.console() else {
        return;
    };
    match d {
        Ok(d) if quiet_skip && (d.is_quiet() || !d.since_is.ends_with("last looked")) => {}
        Ok(d) => {
            app.dialog = Some(crate::ui::dialogs::Dialog::Digest {
                lines: d.lines(),
                scroll: 0,
            })
        }
        Err(e) if !quiet_skip => app.status = Some(format!("digest: {e:#}")),
        Err(_) => {}
    }
}

/// Moves the time cursor: to an alert change or a minute away from where it
/// is (the present when live), building the state there from the journal as
/// `coord status --at` does; at or past the present, back to live.
fn travel<V: Observer>(core: &mut Core<V>, term: &mut Terminal, step: Travel, now: Time) {
    let from = term.past.as_ref().map_or(now, |(at, _)| *at);
    // The moments an alert changed (what the operator would step through).
    let changes = || {
        let mut at: Vec<Time> = core
            .engine
            .alerts
            .all()
            .iter()
            .flat_map(|a| &a.history)
            .filter(|s| !matches!(s.what.as_str(), "notified" | "held" | "repeated"))
            .map(|s| s.at)
            .collect();
        at.sort();
        at.dedup();
        at
    };
    let minute = chrono::TimeDelta::minutes(1);
    let to = match step {
        Travel::Live => None,
        Travel::Back => match changes().into_iter().rev().find(|t| *t < from) {
            Some(t) => Some(t),
            None => {
                if let Some(app) = core.view.console() {
                    app.status = Some("no earlier alert change".into());
                }
                return;
            }
        },
        Travel::Forward => changes().into_iter().find(|t| *t > from),
        Travel::MinuteBack => Some(from - minute),
        Travel::MinuteForward => Some(from + minute),
        Travel::To(t) => Some(t),
    }
    .filter(|t| *t < now);
    let built = match (to, &term.dir) {
        (Some(t), Some(dir)) => match crate::runtime::open_until(dir, t) {
            Ok(opened) => Some((t, Box::new(opened.engine))),
            Err(e) => {
                if let Some(app) = core.view.console() {
                    app.status = Some(format!("the past: {e:#}"));
                }
                return;
            }
        },
        _ => None,
    };
    term.past = built;
    let Some(app) = core.view.console() else {
        return;
    };
    app.past = term.past.as_ref().map(|(t, _)| *t);
    app.set_filter(app.filter.clone());
    app.status = Some(match app.past {
        Some(t) => format!(
            "PAST {}: [ ] alert changes, {{ }} a minute; actions are refused; Esc or G: live",
            t.format("%H:%M:%S")
        ),
        None => "live".into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn synchronized_output_is_off_under_tmux_unless_forced() {
        let tmux = Some(OsStr::new("/tmp/tmux-1000/default,123,0"));
        assert!(sync_enabled(SyncOutput::Auto, None));
        assert!(sync_enabled(SyncOutput::Auto, Some(OsStr::new(""))));
        assert!(!sync_enabled(SyncOutput::Auto, tmux));
        assert!(sync_enabled(SyncOutput::On, tmux));
        assert!(!sync_enabled(SyncOutput::Off, None));
    }
}
