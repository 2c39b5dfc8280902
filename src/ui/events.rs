//! The Events pane: the live stream, newest at the bottom, following the newest
//! like `tail -f` until the operator scrolls up. Each row: time, category and
//! level as a word and a colour, type, subject, message; parse errors are rows
//! too. Only the rows on screen are built.

use super::app::{App, EntryBody, StreamEntry};
use super::geometry::Geometry;
use super::lines::{fit_line, put_line};
use super::theme::Theme;
use crate::model::{Category, Level};
use crate::sanitize::sanitize;
use crate::text::clip;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

pub fn level_word(l: Level) -> &'static str {
    match l {
        Level::Critical => "CRIT",
        Level::High => "HIGH",
        Level::Medium => "MED",
        Level::Low => "LOW",
    }
}

fn category_word(c: Category, wide: bool) -> &'static str {
    match (c, wide) {
        (Category::Completion, false) => "complete",
        (Category::Coordination, false) => "coord",
        (c, _) => c.as_str(),
    }
}

/// One row of the stream, at most `width` columns.
pub fn entry_line<'a>(e: &'a StreamEntry, theme: &Theme, width: u16) -> Line<'a> {
    let w = width as usize;
    let mut spans: Vec<Span> = Vec::with_capacity(10);
    if w >= 40 {
        spans.push(Span::styled(
            e.at.format("%H:%M:%S ").to_string(),
            theme.dim(),
        ));
    }
    let wide = w >= 110;
    let cat_w = if wide { 12 } else { 8 };
    match &e.body {
        EntryBody::Event(ev) => {
            let cat = ev.category();
            if w >= 64 {
                spans.push(Span::styled(
                    format!("{:<cat_w$} ", category_word(cat, wide)),
                    theme.category(cat),
                ));
            }
            if w >= 30 {
                match e.level {
                    Some(l) => spans.push(Span::styled(
                        format!("{:<4}", level_word(l)),
                        theme.level(l),
                    )),
                    None => spans.push(Span::raw("    ")),
                }
                spans.push(Span::raw(" "));
            }
            let tw = if w >= 90 { 22 } else { 20 };
            spans.push(Span::styled(
                format!("{:<tw$} ", clip(&sanitize(ev.kind.as_str()), tw)),
                theme.category(cat),
            ));
            let mut subject = String::new();
            for part in [ev.agent(), ev.component(), ev.gate(), ev.task()]
                .into_iter()
                .flatten()
            {
                subject.push_str(&sanitize(part));
                subject.push(' ');
            }
            if let Some(p) = ev.progress {
                subject.push_str(&format!("{p:.0}% "));
            }
            spans.push(Span::styled(subject, theme.bold()));
            if let Some(m) = ev.message() {
                spans.push(Span::raw(sanitize(m).into_owned()));
            }
        }
        EntryBody::ParseError(p) => {
            if w >= 64 {
                spans.push(Span::styled(format!("{:<cat_w$} ", "error"), theme.error()));
            }
            if w >= 30 {
                spans.push(Span::styled("BAD  ", theme.error()));
            }
            spans.push(Span::styled("parse_error ", theme.error()));
            spans.push(Span::styled(
                format!("{}:{} ", sanitize(&p.source), p.line),
                theme.bold(),
            ));
            spans.push(Span::raw(sanitize(&p.reason).into_owned()));
        }
    }
    fit_line(Line::from(spans), width)
}

/// Draws the stream into `inner` (inside the pane's border).
pub fn render(frame: &mut Frame, inner: Rect, app: &App, focused: bool, geo: &mut Geometry) {
    let theme = &app.theme;
    let rows = inner.height as usize;
    if rows == 0 || inner.width == 0 {
        geo.events_rows = 0;
        return;
    }
    let sel = app.events_selected();
    let mut bottom = geo.events_bottom;
    if sel < bottom {
        bottom = sel;
    } else if sel >= bottom + rows {
        bottom = sel + 1 - rows;
    }
    let mut window = app.stream_window(bottom, rows);
    if window.len() < rows && bottom > 0 {
        // Fewer entries than rows above the view (evicted): show the oldest page.
        bottom = bottom.saturating_sub(rows - window.len());
        window = app.stream_window(bottom, rows);
    }
    geo.events_bottom = bottom;
    geo.events_rows = window.len();
    geo.page[0] = rows.saturating_sub(1).max(1);
    if window.is_empty() {
        let text = if app.filter.is_empty() {
            "waiting for events… (agents append JSON Lines to events/)"
        } else {
            "no retained event matches the filter (Esc clears it)"
        };
        super::lines::put_notice(frame, inner, text, theme.dim());
        return;
    }
    let n = window.len();
    for (i, e) in window.iter().rev().enumerate() {
        let y = inner.y + i as u16;
        let mut line = entry_line(e, theme, inner.width);
        let from_bottom = bottom + (n - 1 - i);
        if from_bottom == sel && (focused || !app.follow) {
            line = line.patch_style(theme.selected());
            // Fill the whole row so the selection reads as a bar.
            let pad = (inner.width as usize).saturating_sub(line.width());
            line.spans
                .push(Span::styled(" ".repeat(pad), theme.selected()));
        }
        put_line(frame, inner.x, y, &line, inner.width);
    }
}

/// The pane's title note: follow state and counts.
pub fn title_note(app: &App) -> String {
    let mut s = if app.follow {
        "following".to_string()
    } else {
        format!("paused, {} newer ↓ (F follows)", app.events_selected())
    };
    s.push_str(&format!(" · {} kept", app.retained()));
    let (_, folded) = app.heartbeats();
    if folded > 0 {
        let beats = crate::text::plural(folded, "heartbeat", "heartbeats");
        s.push_str(&format!(" · {beats} folded (H)"));
    }
    if !app.filter_text.is_empty() {
        s.push_str(&format!(
            " · filter: {} · {} of {} shown",
            sanitize(&app.filter_text),
            app.shown(),
            app.retained() - folded
        ));
    }
    s
}
