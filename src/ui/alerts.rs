//! The Alerts pane: the crisis matrix. One row per open alert, worst first —
//! level, id, trigger, agent/component/gate, age, countdowns to the response
//! deadline and to the next escalation, escalation tier, ack owner, count,
//! badges (FLAP, SNOOZED, SLA), automatic actions — with resolved alerts behind
//! a toggle. Columns give way on narrow panes; only visible rows are built.

use super::app::App;
use super::events::level_word;
use super::render::{clip, clip_words, fmt_age, fmt_countdown};
use crate::engine::alerts::{Alert, Status};
use crate::engine::{Engine, Time};
use crate::model::{Escalation, EventType};
use crate::sanitize::sanitize;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

/// A trigger in a few words.
pub fn trigger_words(t: &EventType) -> String {
    match t {
        EventType::AgentTimeout => "agent timeout".into(),
        EventType::QualityGateFailure => "gate failure".into(),
        EventType::BlockerDetected => "blocker".into(),
        EventType::SystemFailure => "system failure".into(),
        EventType::CommunicationFailure => "comms failure".into(),
        EventType::CoordinationAlert => "coord alert".into(),
        other => sanitize(other.as_str()).into_owned(),
    }
}

/// What the alert is about: component/gate first (what is held back), then the
/// agent, then the task.
pub fn subject(a: &Alert) -> String {
    let mut parts: Vec<String> = Vec::new();
    match (&a.component, &a.gate) {
        (Some(c), Some(g)) => parts.push(format!("{}/{}", sanitize(c), sanitize(g))),
        (Some(c), None) => parts.push(sanitize(c).into_owned()),
        (None, Some(g)) => parts.push(format!("gate {}", sanitize(g))),
        (None, None) => {}
    }
    for x in [&a.agent, &a.task].into_iter().flatten() {
        parts.push(sanitize(x).into_owned());
    }
    let mut s = parts.join(" ");
    if s.is_empty() {
        s = a
            .message
            .as_deref()
            .map_or_else(|| "-".into(), |m| sanitize(m).into_owned());
    }
    s
}

fn tier(e: Escalation, short: bool) -> &'static str {
    match (e, short) {
        (Escalation::Automated, true) => "auto",
        (Escalation::Human, _) => "HUMAN",
        (e, _) => e.as_str(),
    }
}

/// The next escalation: for want of an ack, or the matrix's timed human one.
fn next_escalation(a: &Alert) -> Option<Time> {
    match (a.escalate_at, a.human_at) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Width {
    Tiny,
    Narrow,
    Medium,
    Wide,
}

pub fn render(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    engine: &Engine,
    now: Time,
    focused: bool,
) {
    let theme = &app.theme;
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    if app.alert_order.is_empty() {
        let text = if !app.filter.is_empty() {
            "no alert matches the filter"
        } else if app.show_resolved {
            "no alerts yet"
        } else {
            "no open alerts ✓"
        };
        super::render::put_notice(frame, inner, text, theme.good());
        return;
    }
    let width = match inner.width {
        0..60 => Width::Tiny,
        60..100 => Width::Narrow,
        100..130 => Width::Medium,
        _ => Width::Wide,
    };
    if width == Width::Tiny {
        return render_list(frame, inner, app, engine, now, focused);
    }
    let short = width <= Width::Narrow;
    let with_age = width >= Width::Medium || inner.width >= 86;
    let mut header: Vec<&str> = vec!["LVL", "ID", "TRIGGER", "SUBJECT"];
    // SUBJECT's width is settled below, once the other columns are known.
    let mut widths: Vec<Constraint> = vec![
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(14),
        Constraint::Length(0),
    ];
    if width >= Width::Narrow {
        if with_age {
            header.push("AGE");
            widths.push(Constraint::Length(6));
        }
        header.extend(["RESPOND", "ESCAL", "TIER"]);
        let tier_w = if width == Width::Wide { 9 } else { 5 };
        widths.extend([
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(tier_w),
        ]);
        if width >= Width::Medium {
            header.extend(["ACK", "×"]);
            widths.extend([Constraint::Length(8), Constraint::Length(3)]);
        }
        header.push("BADGES");
        widths.push(Constraint::Length(if short { 8 } else { 12 }));
        if width == Width::Wide {
            header.push("ACTIONS");
            widths.push(Constraint::Fill(1));
        }
    } else {
        header.push("RESPOND");
        widths.push(Constraint::Length(7));
    }
    let fixed: u16 = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum::<u16>()
        + widths.len() as u16
        - 1;
    let subject_w = if width == Width::Wide {
        32.min(inner.width.saturating_sub(fixed + 20))
    } else {
        inner.width.saturating_sub(fixed)
    };
    widths[3] = Constraint::Length(subject_w);
    let vis = (inner.height as usize).saturating_sub(1).max(1);
    let sel = app.alerts_sel;
    let mut top = app
        .alerts_top
        .get()
        .min(app.alert_order.len().saturating_sub(vis));
    if sel < top {
        top = sel;
    } else if sel >= top + vis {
        top = sel + 1 - vis;
    }
    app.alerts_top.set(top);
    {
        let mut v = app.view.borrow_mut();
        v.alerts_rows = vis;
        v.alerts_first_y = inner.y + 1;
        v.page[2] = vis.max(1);
    }
    let end = (top + vis).min(app.alert_order.len());
    let mut rows = Vec::with_capacity(end - top);
    for (i, r) in app.alert_order[top..end].iter().enumerate() {
        let Some(a) = engine.alerts.get(r.id) else {
            continue;
        };
        let open = a.is_open();
        let lvl = if open {
            theme.level(a.level)
        } else {
            theme.dim()
        };
        let mut cells: Vec<Cell> = vec![
            Cell::from(Span::styled(level_word(a.level), lvl)),
            Cell::from(a.label()),
            Cell::from(clip(&trigger_words(&a.trigger), 14)),
            Cell::from(clip_words(&subject(a), subject_w as usize)),
        ];
        let respond = || -> Span {
            if !open {
                let how = a
                    .resolution
                    .map_or("resolved".to_string(), |r| format!("{r:?}").to_lowercase());
                return Span::styled(how, theme.dim());
            }
            match a.response_due {
                Some(due) if due < now => {
                    Span::styled(format!("-{}", fmt_countdown(now - due)), theme.bad())
                }
                Some(due) => Span::styled(fmt_countdown(due - now), theme.warn()),
                None => Span::styled("done", theme.good()),
            }
        };
        if width >= Width::Narrow {
            if with_age {
                cells.push(Cell::from(fmt_age(now - a.first_seen)));
            }
            cells.push(Cell::from(respond()));
            let esc = match (open, next_escalation(a)) {
                (false, _) | (_, None) => Span::styled("-", theme.dim()),
                (true, Some(t)) if t <= now => Span::styled("due", theme.bad()),
                (true, Some(t)) => Span::raw(fmt_countdown(t - now)),
            };
            cells.push(Cell::from(esc));
            let tier_style = if a.escalation == Escalation::Human {
                theme.bad()
            } else {
                Style::new()
            };
            cells.push(Cell::from(Span::styled(
                tier(a.escalation, width != Width::Wide),
                tier_style,
            )));
            if width >= Width::Medium {
                let ack = match (&a.ack_owner, a.status) {
                    (Some(o), Status::Acknowledged) => sanitize(o).into_owned(),
                    _ if open => "-".into(),
                    _ => "".into(),
                };
                cells.push(Cell::from(ack));
                cells.push(Cell::from(if a.count > 1 {
                    a.count.to_string()
                } else {
                    "1".into()
                }));
            }
            let mut badges: Vec<&str> = Vec::new();
            if a.sla_breached {
                badges.push("SLA");
            }
            if a.flapping {
                badges.push("FLAP");
            }
            if a.snoozed_until.is_some_and(|t| t > now) {
                badges.push(if short { "SNZ" } else { "SNOOZED" });
            }
            cells.push(Cell::from(Span::styled(badges.join(" "), theme.badge())));
            if width == Width::Wide {
                let acts: Vec<String> =
                    a.actions.iter().map(|s| sanitize(s).into_owned()).collect();
                cells.push(Cell::from(Span::styled(acts.join("; "), theme.dim())));
            }
        } else {
            cells.push(Cell::from(respond()));
        }
        let mut row = Row::new(cells);
        if top + i == sel && focused {
            row = row.style(theme.selected());
        } else if !open {
            row = row.style(theme.dim());
        }
        rows.push(row);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.bold()))
        .column_spacing(1);
    frame.render_widget(table, inner);
}

/// A narrow pane: one line per alert, no columns.
fn render_list(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    engine: &Engine,
    now: Time,
    focused: bool,
) {
    let theme = &app.theme;
    let vis = inner.height as usize;
    let sel = app.alerts_sel;
    let mut top = app
        .alerts_top
        .get()
        .min(app.alert_order.len().saturating_sub(vis));
    if sel < top {
        top = sel;
    } else if sel >= top + vis {
        top = sel + 1 - vis;
    }
    app.alerts_top.set(top);
    {
        let mut v = app.view.borrow_mut();
        v.alerts_rows = vis;
        v.alerts_first_y = inner.y;
        v.page[2] = vis.max(1);
    }
    let end = (top + vis).min(app.alert_order.len());
    for (i, r) in app.alert_order[top..end].iter().enumerate() {
        let Some(a) = engine.alerts.get(r.id) else {
            continue;
        };
        let due = match a.response_due {
            Some(d) if d < now => format!(" -{}", fmt_countdown(now - d)),
            Some(d) => format!(" {}", fmt_countdown(d - now)),
            None => String::new(),
        };
        let mut line = Line::from(vec![
            Span::styled(format!("{:<4} ", level_word(a.level)), theme.level(a.level)),
            Span::raw(format!(
                "{} {} {}{due}",
                a.label(),
                trigger_words(&a.trigger),
                subject(a)
            )),
        ]);
        if top + i == sel && focused {
            line = line.patch_style(theme.selected());
        }
        super::render::put_line(frame, inner.x, inner.y + i as u16, &line, inner.width);
    }
}

pub fn title_note(app: &App) -> String {
    let [c, h, m, l] = app.open_by_level;
    let mut s = format!("{} open", c + h + m + l);
    for (n, w) in [(c, "critical"), (h, "high"), (m, "medium"), (l, "low")] {
        if n > 0 {
            s.push_str(&format!(" · {n} {w}"));
        }
    }
    if app.show_resolved {
        s.push_str(" · with resolved");
    }
    if !app.filter.is_empty() {
        s.push_str(&format!(" · {} shown (filter)", app.alert_order.len()));
    }
    s
}
