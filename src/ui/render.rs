//! Drawing the whole console: `draw(frame, app, engine, now)` lays the screen
//! out, draws the panes (each builds only its visible rows), the tab bar or the
//! collapsed headers, the filter line, the status bar, any page and dialog.
//! Reads the engine and the view state, changes neither, and returns the
//! frame's geometry (scroll positions, where the panes are) for the caller to
//! hand back to the view state.

use super::app::{App, Pane};
use super::geometry::Geometry;
use super::layout::{self, Mode};
use super::lines::put_line;
use super::{agents, alerts, dialogs, events, pages, progress, status_bar};
use crate::engine::{Engine, Time};
use crate::sanitize::sanitize;
use crate::text::clip_words;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};
use ratatui::Frame;

/// `5–8 of 12` when a pane shows some of its rows only (as the last frame
/// laid them out).
fn position(pane: Pane, app: &App, view: &Geometry, inner: Rect) -> Option<String> {
    let (first, last, total) = match pane {
        Pane::Agents => {
            let (cols, cell_h) = (view.agents_cols.max(1), view.agents_cell.1.max(1));
            let rows = (inner.height / cell_h).max(1) as usize;
            let first = view.agents_top_row * cols;
            let total = app.sel.agent_order.len();
            (first + 1, ((first / cols + rows) * cols).min(total), total)
        }
        Pane::Alerts => {
            let top = view.alerts_top;
            let total = app.sel.alert_order.len();
            (top + 1, (top + view.alerts_rows).min(total), total)
        }
        Pane::Events => {
            // Counted oldest first; the pane's bottom row is `events_bottom`
            // from the newest.
            let total = app.stream_count();
            let last = total.saturating_sub(view.events_bottom);
            (last.saturating_sub(view.events_rows) + 1, last, total)
        }
        Pane::Progress | Pane::Log => return None,
    };
    (total > 0 && (first > 1 || last < total)).then(|| format!("{first}–{last} of {total}"))
}

fn title_note(pane: Pane, app: &App, engine: &Engine) -> String {
    match pane {
        Pane::Events => events::title_note(app),
        Pane::Agents => agents::title_note(app),
        Pane::Alerts => alerts::title_note(app),
        Pane::Progress => progress::title_note(engine),
        Pane::Log if app.tui_logger => "coord diagnostics (tracing)".into(),
        Pane::Log => format!("{} lines", app.log.len()),
    }
}

fn pane_title(pane: Pane, app: &App, focused: bool) -> Span<'static> {
    let zoom = if app.zoom && focused { " [zoom]" } else { "" };
    Span::styled(
        format!(" {} {}{zoom} ", pane.number(), pane.title()),
        app.theme.title(focused),
    )
}

/// Draws the console.
/// Draws a frame from the view state and the engine, and returns where it put
/// things (the caller hands it back: `app.view = draw(…)`).
pub fn draw(frame: &mut Frame, app: &App, engine: &Engine, now: Time) -> Geometry {
    let mut geo = app.view.next();
    let area = frame.area();
    let screen = layout::compute(
        area,
        app.focus,
        app.zoom,
        app.show_log,
        app.filter_edit.is_some(),
    );
    let theme = &app.theme;
    let mut cache_panes = Vec::new();
    let mut cache_tabs = Vec::new();
    for &(pane, outer) in &screen.panes {
        let focused = pane == app.focus || screen.panes.len() == 1;
        let inner = if screen.bordered && outer.width >= 3 && outer.height >= 3 {
            // The pane's name always shows; its note gets what room is left.
            let title = pane_title(pane, app, focused);
            let room = (outer.width as usize).saturating_sub(title.width() + 6);
            let note = clip_words(&sanitize(&title_note(pane, app, engine)), room);
            let note = if note.is_empty() {
                String::new()
            } else {
                format!(" {note} ")
            };
            let block = Block::bordered()
                .border_type(if focused {
                    BorderType::Thick
                } else {
                    BorderType::Rounded
                })
                .border_style(theme.border(focused))
                .title(title)
                .title(Line::from(Span::styled(note, theme.dim())).right_aligned());
            let inner = block.inner(outer);
            frame.render_widget(block, outer);
            inner
        } else {
            outer
        };
        cache_panes.push((pane, inner, outer));
        match pane {
            Pane::Events => events::render(frame, inner, app, focused, &mut geo),
            Pane::Agents => agents::render(frame, inner, app, engine, now, focused, &mut geo),
            Pane::Alerts => alerts::render(frame, inner, app, engine, now, focused, &mut geo),
            Pane::Progress => progress::render(frame, inner, app, engine, now, &mut geo),
            Pane::Log => render_log(frame, inner, app, &mut geo),
        }
        // Where the rows shown sit among all of them, on the bottom border.
        if inner != outer && outer.height >= 3 {
            if let Some(pos) = position(pane, app, &geo, inner) {
                let text = format!(" {pos} ");
                let w = text.chars().count() as u16;
                if w + 4 <= outer.width {
                    let x = outer.right() - 2 - w;
                    put_line(
                        frame,
                        x,
                        outer.bottom() - 1,
                        &Line::styled(text, theme.dim()),
                        w,
                    );
                }
            }
        }
    }
    // Collapsed panes: one line each, with their counts.
    for &(pane, r) in &screen.headers {
        let note = sanitize(&title_note(pane, app, engine)).into_owned();
        let line = Line::from(vec![
            Span::styled("─", theme.dim()),
            pane_title(pane, app, false),
            Span::styled(format!(" {note} "), theme.dim()),
            Span::styled("─".repeat(r.width as usize), theme.dim()),
        ]);
        put_line(frame, r.x, r.y, &line, r.width);
        cache_tabs.push((pane, r));
    }
    if let Some(r) = screen.tabs {
        let mut x = r.x;
        for pane in Pane::ALL {
            if pane == Pane::Log && !app.show_log {
                continue;
            }
            let label = if r.width >= 50 || (pane == app.focus && r.width >= 16) {
                format!(" {} {} ", pane.number(), pane.title())
            } else {
                format!(" {} ", pane.number())
            };
            let w = label.chars().count() as u16;
            if x >= r.right() {
                break;
            }
            let style = if pane == app.focus {
                theme.title(true)
            } else {
                theme.dim()
            };
            put_line(frame, x, r.y, &Line::styled(label, style), r.right() - x);
            cache_tabs.push((
                pane,
                Rect {
                    x,
                    width: w.min(r.right() - x),
                    ..r
                },
            ));
            x = x.saturating_add(w);
        }
        // The focused pane's note, if there is room after the tabs.
        if x + 4 < r.right() {
            if let Some(&(pane, _)) = screen.panes.first() {
                // A bar sets the note apart from the tab numbers ("5 open" is
                // not tab 5).
                let note = sanitize(&title_note(pane, app, engine)).into_owned();
                put_line(
                    frame,
                    x,
                    r.y,
                    &Line::styled(format!("│ {note}"), theme.dim()),
                    r.right() - x,
                );
            }
        }
    }
    if let Some(r) = screen.filter {
        let text = app.filter_edit.as_deref().unwrap_or_default();
        let mut spans = vec![
            Span::styled("/", theme.key()),
            Span::raw(sanitize(text).into_owned()),
            Span::styled("█", theme.dim()),
        ];
        if r.width >= 70 {
            spans.push(Span::styled(
                "   type: agent: level: component: text · Enter keep · Esc cancel",
                theme.dim(),
            ));
        }
        put_line(frame, r.x, r.y, &Line::from(spans), r.width);
    }
    if let Some(r) = screen.status {
        status_bar::render(frame, r, app, engine, now);
    }
    geo.mode = Some(screen.mode);
    geo.panes = cache_panes;
    geo.tabs = cache_tabs;
    if screen.mode != Mode::Single || (area.width >= 20 && area.height >= 5) {
        pages::render(frame, app, engine, now);
        dialogs::render(frame, app);
    }
    geo
}

/// The log pane's records as `HH:MM:SS:LEVEL:target:message`, sanitised (SPEC
/// 3.4), wrapped to the width with continuation lines indented.
struct SafeLogFormatter {
    plain: Style,
    error: Style,
    warn: Style,
    dim: Style,
}

impl tui_logger::LogFormatter for SafeLogFormatter {
    fn min_width(&self) -> u16 {
        13
    }

    fn format(&self, width: usize, evt: &tui_logger::ExtLogRecord) -> Vec<Line<'_>> {
        let level = evt.level.as_str();
        let style = match level {
            "ERROR" => self.error,
            "WARN" => self.warn,
            "INFO" => self.plain,
            _ => self.dim,
        };
        let text = format!(
            "{}:{level:<5}:{}:{}",
            evt.timestamp.strftime("%H:%M:%S"),
            evt.target(),
            evt.msg()
        );
        let chars: Vec<char> = sanitize(&text).chars().collect();
        const INDENT: usize = 9;
        let width = width.max(INDENT + 1);
        let mut lines = Vec::new();
        let mut rest = &chars[..];
        let mut first = true;
        while !rest.is_empty() {
            let room = if first { width } else { width - INDENT };
            let (now, later) = rest.split_at(room.min(rest.len()));
            let mut line: String = if first {
                String::new()
            } else {
                " ".repeat(INDENT)
            };
            line.extend(now);
            lines.push(Line::styled(line, style));
            rest = later;
            first = false;
        }
        lines
    }
}

fn render_log(frame: &mut Frame, inner: Rect, app: &App, geo: &mut Geometry) {
    let rows = inner.height as usize;
    if rows == 0 {
        return;
    }
    if app.tui_logger {
        let t = &app.theme;
        // Log messages carry file names and other agent-written text: the
        // widget's own formatter would pass bidi controls through.
        let widget = tui_logger::TuiLoggerWidget::default()
            .formatter(Box::new(SafeLogFormatter {
                plain: t.plain(),
                error: t.bad(),
                warn: t.warn(),
                dim: t.dim(),
            }))
            .style(t.plain());
        frame.render_widget(widget, inner);
        geo.page[4] = rows.max(1);
        return;
    }
    let end = app.log.len().saturating_sub(app.log_scroll);
    let start = end.saturating_sub(rows);
    if app.log.is_empty() {
        put_line(
            frame,
            inner.x,
            inner.y,
            &Line::styled("no diagnostics", app.theme.dim()),
            inner.width,
        );
    }
    for (i, l) in app.log.range(start..end).enumerate() {
        put_line(
            frame,
            inner.x,
            inner.y + i as u16,
            &Line::raw(sanitize(l).into_owned()),
            inner.width,
        );
    }
    geo.page[4] = rows.max(1);
}
