//! The status bar: DEMO, epic, phase and %, ETA and outlook, open alerts per
//! level, events/s, journal state, a message, the clock. Segments are dropped,
//! least important first, until the bar fits its width.

use super::app::{App, JournalState, StreamState};
use super::lines::put_line;
use super::progress::{eta_text, outlook_word};
use crate::engine::{Engine, Time};
use crate::model::Level;
use crate::sanitize::sanitize;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

struct Segment {
    spans: Vec<Span<'static>>,
    /// Lower goes first when space runs out.
    priority: u8,
}

fn width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, engine: &Engine, now: Time) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let theme = &app.theme;
    let base = theme.status_bar();
    let w = area.width as usize;
    let mut segs: Vec<Segment> = Vec::new();
    // The time cursor first, and last to go: what is shown is not now.
    if let Some(at) = app.past {
        let back = app
            .live_now
            .map(|live| format!(" ({} back)", crate::text::fmt_span(live - at)))
            .unwrap_or_default();
        segs.push(Segment {
            spans: vec![Span::styled(
                format!(" PAST {}{back} ", at.format("%H:%M:%S")),
                theme.selected(),
            )],
            priority: 10,
        });
    }
    if app.demo {
        segs.push(Segment {
            spans: vec![Span::styled(" DEMO ", theme.bad())],
            priority: 9,
        });
    }
    if let Some(epic) = &engine.epic {
        segs.push(Segment {
            spans: vec![Span::raw(sanitize(epic).into_owned())],
            priority: 2,
        });
    }
    if let Some(p) = engine.current_phase() {
        // The phase's name everywhere (every view reads the same), shortened
        // when narrow.
        let name = crate::text::clip(&p.name, if w < 60 { 10 } else { 24 });
        segs.push(Segment {
            spans: vec![Span::styled(
                format!("{} {:.1}%", sanitize(&name), p.completion()),
                Style::new().add_modifier(ratatui::style::Modifier::BOLD),
            )],
            priority: 7,
        });
        let (eta, outlook) = eta_text(engine, now);
        let mut s = eta;
        // Narrow, only an outlook that needs attention is said.
        if let Some(o) =
            outlook.filter(|o| w >= 100 || *o == crate::engine::phases::Outlook::AtRisk)
        {
            s.push_str(&format!(" {}", outlook_word(o)));
        }
        segs.push(Segment {
            spans: vec![Span::raw(s)],
            priority: 4,
        });
    }
    let mut alerts: Vec<Span<'static>> = Vec::new();
    let total: usize = app.open_by_level.iter().sum();
    if total == 0 {
        alerts.push(Span::raw("no open alerts"));
    } else {
        for (i, l) in Level::ALL.into_iter().enumerate() {
            let n = app.open_by_level[i];
            let word = if w >= 100 {
                l.as_str()
            } else if w >= 40 {
                super::events::level_word(l)
            } else {
                &super::events::level_word(l)[..1]
            };
            let style = if n > 0 { theme.level(l) } else { Style::new() };
            if n > 0 || w >= 100 {
                if !alerts.is_empty() {
                    alerts.push(Span::raw(" "));
                }
                let sep = if w >= 40 { " " } else { "" };
                alerts.push(Span::styled(format!("{n}{sep}{word}"), style));
            }
        }
    }
    segs.push(Segment {
        spans: alerts,
        priority: 8,
    });
    segs.push(Segment {
        spans: vec![Span::raw(format!("{:.1} ev/s", app.events_per_sec))],
        priority: 3,
    });
    let journal = match &app.journal {
        JournalState::Ok => Span::raw("journal ok"),
        JournalState::ReadOnly => Span::raw("read-only"),
        JournalState::Off => Span::raw("no journal"),
        JournalState::Error(e) => Span::styled(format!("JOURNAL: {}", sanitize(e)), theme.bad()),
    };
    let jprio = if matches!(app.journal, JournalState::Error(_)) {
        8
    } else {
        3
    };
    segs.push(Segment {
        spans: vec![journal],
        priority: jprio,
    });
    match app.stream {
        Some(StreamState::Connected) => segs.push(Segment {
            spans: vec![Span::raw("stream ok")],
            priority: 3,
        }),
        Some(StreamState::Disconnected) => segs.push(Segment {
            spans: vec![Span::styled(
                if w >= 120 {
                    "STREAM DISCONNECTED, retrying"
                } else {
                    "STREAM DOWN"
                },
                theme.bad(),
            )],
            priority: 8,
        }),
        None => {}
    }
    if let Some(msg) = &app.status {
        // An answer to a key outranks everything else on the line.
        segs.push(Segment {
            spans: vec![Span::styled(sanitize(msg).into_owned(), theme.warn())],
            priority: 10,
        });
    }
    if w >= 80 {
        segs.push(Segment {
            spans: vec![Span::styled(
                format!("{} help", app.keys.hint(super::keys::Command::Help)),
                Style::new(),
            )],
            // Between 80 and 100 columns the way to every key stays on
            // screen, before the rate and the journal's "ok" (an error
            // outranks it); wider, there is room for them all but on a
            // crowded line, where it goes first.
            priority: if w < 100 { 3 } else { 1 },
        });
    }
    segs.push(Segment {
        spans: vec![Span::raw(now.format("%H:%M:%S").to_string())],
        priority: 6,
    });
    // Drop the least important until it fits.
    let sep = 3;
    loop {
        let total: usize = segs.iter().map(|s| width(&s.spans)).sum::<usize>()
            + sep * segs.len().saturating_sub(1)
            + 2;
        if total <= w || segs.len() <= 1 {
            break;
        }
        let (i, _) = segs
            .iter()
            .enumerate()
            .min_by_key(|(i, s)| (s.priority, *i))
            .expect("non-empty");
        segs.remove(i);
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, s) in segs.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" │ "));
        }
        spans.extend(s.spans);
    }
    let line = Line::from(spans).style(base);
    // Fill the row first so the bar reads as one band.
    frame.buffer_mut().set_style(area, base);
    put_line(frame, area.x, area.y, &line, area.width);
}
