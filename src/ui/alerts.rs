//! The Alerts pane: the crisis matrix. One row per open alert, worst first —
//! level, id, trigger, subject (cut in the middle), age, the response SLA
//! (time left, `MISSED`, `met`), the countdown to the next escalation, tier,
//! owner (ack by, or →assignee), count, badges (FLAP, SNOOZED, how a resolved
//! one ended), the message, automatic actions — with resolved alerts behind a
//! toggle. Columns give way on narrow panes, owner and message last; only
//! visible rows are built.

use super::app::App;
use super::events::level_word;
use super::geometry::Geometry;
use crate::engine::alerts::{Alert, Resolution, Status};
use crate::engine::{Engine, Time};
use crate::model::{Escalation, EventType};
use crate::sanitize::sanitize;
use crate::text::{clip, clip_middle, fmt_age, fmt_countdown};
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
    geo: &mut Geometry,
) {
    let theme = &app.theme;
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    if app.sel.alert_order.is_empty() {
        let text = if !app.filter.is_empty() {
            "no alert matches the filter"
        } else if app.show_resolved {
            "no alerts yet"
        } else {
            "no open alerts ✓"
        };
        super::lines::put_notice(frame, inner, text, theme.good());
        return;
    }
    let width = match inner.width {
        0..60 => Width::Tiny,
        60..100 => Width::Narrow,
        100..130 => Width::Medium,
        _ => Width::Wide,
    };
    if width == Width::Tiny {
        return render_list(frame, inner, app, engine, now, focused, geo);
    }
    // Columns by width. They give way in this order as the pane narrows:
    // ACTIONS (200), AGE and SEEN (130), TRIGGER and ESCAL (100; BADGES shrinks to
    // its first, in short); the level, id, subject, SLA, tier, owner and
    // message stay at every width from 60 (SPEC 14.1), the message taking what
    // is left.
    let (medium, wide) = (width >= Width::Medium, width == Width::Wide);
    let actions = inner.width >= 200;
    let mut header: Vec<&str> = vec!["LVL", "ID"];
    let mut widths: Vec<Constraint> = vec![Constraint::Length(4), Constraint::Length(5)];
    let mut add = |h: &'static str, w: u16| {
        header.push(h);
        widths.push(Constraint::Length(w));
    };
    if medium {
        add("TRIGGER", 14);
    }
    add("SUBJECT", 0); // settled below
    let subject_col = if medium { 3 } else { 2 };
    if wide {
        add("AGE", 10);
    }
    add("SLA", 7);
    if medium {
        add("ESCAL", 10);
    }
    add("TIER", if wide { 9 } else { 5 });
    add("OWNER", 10);
    if wide {
        add("SEEN", 4);
    }
    if medium {
        add("BADGES", if wide { 12 } else { 8 });
    } else {
        add("FLAG", 4);
    }
    header.push("MESSAGE");
    widths.push(Constraint::Fill(2));
    if actions {
        header.push("ACTIONS");
        widths.push(Constraint::Fill(1));
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
    // The subject gets two fifths of what is left, between 12 and 32.
    let rest = inner.width.saturating_sub(fixed);
    let subject_w = (rest * 2 / 5).clamp(12.min(rest), 32);
    widths[subject_col] = Constraint::Length(subject_w);
    // The message takes two thirds of the rest beside ACTIONS, all of it
    // alone; each is cut to its own width, with an ellipsis.
    let fill = rest.saturating_sub(subject_w);
    let (message_w, actions_w) = if actions {
        (fill * 2 / 3, fill - fill * 2 / 3)
    } else {
        (fill, 0)
    };
    let n = widths.len();
    if actions {
        widths[n - 2] = Constraint::Length(message_w);
        widths[n - 1] = Constraint::Length(actions_w);
    } else {
        widths[n - 1] = Constraint::Length(message_w);
    }
    let (message_w, actions_w) = (message_w as usize, actions_w as usize);
    let vis = (inner.height as usize).saturating_sub(1).max(1);
    let sel = app.sel.alerts;
    let mut top = geo
        .alerts_top
        .min(app.sel.alert_order.len().saturating_sub(vis));
    if sel < top {
        top = sel;
    } else if sel >= top + vis {
        top = sel + 1 - vis;
    }
    geo.alerts_top = top;
    geo.alerts_rows = vis;
    geo.alerts_first_y = inner.y + 1;
    geo.page[2] = vis.max(1);
    let end = (top + vis).min(app.sel.alert_order.len());
    let mut rows = Vec::with_capacity(end - top);
    for (i, r) in app.sel.alert_order[top..end].iter().enumerate() {
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
        ];
        if medium {
            cells.push(Cell::from(clip(&trigger_words(&a.trigger), 14)));
        }
        cells.push(Cell::from(clip_middle(&subject(a), subject_w as usize)));
        if wide {
            cells.push(Cell::from(fmt_age(now - a.first_seen)));
        }
        let (sla_text, sla_style) = sla(a, now);
        cells.push(Cell::from(Span::styled(sla_text, sla_style.style(theme))));
        if medium {
            let esc = match (open, next_escalation(a)) {
                (false, _) | (_, None) => Span::styled("-", theme.dim()),
                (true, Some(t)) if t <= now => Span::styled("due", theme.bad()),
                (true, Some(t)) => Span::raw(fmt_countdown(t - now)),
            };
            cells.push(Cell::from(esc));
        }
        let tier_style = if a.escalation == Escalation::Human {
            theme.bad()
        } else {
            Style::new()
        };
        cells.push(Cell::from(Span::styled(
            tier(a.escalation, !wide),
            tier_style,
        )));
        cells.push(Cell::from(clip(&owner(a), 10)));
        if wide {
            cells.push(Cell::from(a.count.max(1).to_string()));
        }
        // Narrow, only the first badge shows, in short.
        let mut badges: Vec<&str> = Vec::new();
        if !open {
            badges.push(match (a.resolution, wide) {
                (Some(Resolution::FalseAlarm), true) => "false alarm",
                (Some(Resolution::FalseAlarm), false) => "FA",
                (Some(Resolution::Auto), true) => "auto-resolved",
                (Some(Resolution::Auto), false) => "auto",
                (Some(Resolution::Superseded), true) => "superseded",
                (Some(Resolution::Superseded), false) => "sup",
                _ => "done",
            });
        }
        if a.flapping {
            badges.push("FLAP");
        }
        if open && a.snoozed_until.is_some_and(|t| t > now) {
            badges.push(if wide { "SNOOZED" } else { "SNZ" });
        }
        if !medium {
            badges.truncate(1);
        }
        cells.push(Cell::from(Span::styled(badges.join(" "), theme.badge())));
        let message = a.message.as_deref().map_or("", |m| m);
        cells.push(Cell::from(Span::raw(clip(&sanitize(message), message_w))));
        if actions {
            let acts: Vec<String> = a.actions.iter().map(|s| sanitize(s).into_owned()).collect();
            cells.push(Cell::from(Span::styled(
                clip(&acts.join("; "), actions_w),
                theme.dim(),
            )));
        }
        let mut row = Row::new(cells);
        if top + i == sel && focused && app.sel.gone.is_none() {
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

/// Who owns an alert: whoever acknowledged it, else whom it is assigned to.
pub fn owner(a: &Alert) -> String {
    match (&a.ack_owner, a.status, &a.assignee) {
        (Some(o), Status::Acknowledged, _) => sanitize(o).into_owned(),
        (_, _, Some(to)) => format!("→{}", sanitize(to)),
        _ => "-".into(),
    }
}

/// How an SLA reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaState {
    Running,
    Missed,
    Met,
}

impl SlaState {
    fn style(self, theme: &super::theme::Theme) -> Style {
        match self {
            SlaState::Running => theme.warn(),
            SlaState::Missed => theme.bad(),
            SlaState::Met => theme.good(),
        }
    }
}

/// The response SLA: the time left while nobody has responded, `MISSED` once
/// the deadline passed (whatever came after), else `met`.
pub fn sla(a: &Alert, now: Time) -> (String, SlaState) {
    match a.response_due {
        Some(due) if due > now && !a.sla_breached => (fmt_countdown(due - now), SlaState::Running),
        Some(_) => ("MISSED".into(), SlaState::Missed),
        None if a.sla_breached => ("MISSED".into(), SlaState::Missed),
        None => ("met".into(), SlaState::Met),
    }
}

/// A narrow pane: one line per alert, no columns.
fn render_list(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    engine: &Engine,
    now: Time,
    focused: bool,
    geo: &mut Geometry,
) {
    let theme = &app.theme;
    let vis = inner.height as usize;
    let sel = app.sel.alerts;
    let mut top = geo
        .alerts_top
        .min(app.sel.alert_order.len().saturating_sub(vis));
    if sel < top {
        top = sel;
    } else if sel >= top + vis {
        top = sel + 1 - vis;
    }
    geo.alerts_top = top;
    geo.alerts_rows = vis;
    geo.alerts_first_y = inner.y;
    geo.page[2] = vis.max(1);
    let end = (top + vis).min(app.sel.alert_order.len());
    for (i, r) in app.sel.alert_order[top..end].iter().enumerate() {
        let Some(a) = engine.alerts.get(r.id) else {
            continue;
        };
        let (sla_text, sla_state) = sla(a, now);
        let message = a
            .message
            .as_deref()
            .map_or(String::new(), |m| sanitize(m).into_owned());
        let mut line = Line::from(vec![
            Span::styled(format!("{:<4} ", level_word(a.level)), theme.level(a.level)),
            Span::raw(format!("{} {} ", a.label(), clip_middle(&subject(a), 18))),
            Span::styled(sla_text, sla_state.style(theme)),
            Span::raw(format!(" {} ", owner(a))),
            Span::styled(message, theme.dim()),
        ]);
        if top + i == sel && focused && app.sel.gone.is_none() {
            line = line.patch_style(theme.selected());
        }
        super::lines::put_line(frame, inner.x, inner.y + i as u16, &line, inner.width);
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
        s.push_str(&format!(" · {} shown (filter)", app.sel.alert_order.len()));
    }
    s
}
