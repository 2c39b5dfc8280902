//! The Agents pane: the heartbeat grid. One cell per agent — name, liveness as a
//! word, a symbol and a colour, seconds since last seen, current task, open
//! tasks — worst first, then by name (the order `App::sync` keeps), wrapping into
//! columns and scrolling by rows. Only the visible cells are built.

use super::app::App;
use super::geometry::Geometry;
use super::lines::put_line;
use crate::engine::agents::Liveness;
use crate::engine::spend::dollars;
use crate::engine::{Engine, Time};
use crate::sanitize::sanitize;
use crate::text::{clip, fmt_age};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

/// Width of one cell, its gap included.
pub const CELL_W: u16 = 26;

pub fn liveness_word(l: Liveness) -> &'static str {
    match l {
        Liveness::Healthy => "healthy",
        Liveness::Late => "LATE",
        Liveness::TimedOut => "TIMED OUT",
        Liveness::Offline => "offline",
        Liveness::Standby => "standby",
        Liveness::Waiting => "WAITING",
        Liveness::Idle => "idle",
    }
}

pub fn liveness_symbol(l: Liveness) -> &'static str {
    match l {
        Liveness::Healthy => "●",
        Liveness::Late => "◐",
        Liveness::TimedOut => "✖",
        Liveness::Offline => "○",
        Liveness::Standby => "◇",
        Liveness::Waiting => "◆",
        Liveness::Idle => "◌",
    }
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
    if app.sel.agent_order.is_empty() {
        let text = if app.filter.is_empty() {
            "no agents yet"
        } else {
            "no agent matches the filter"
        };
        super::lines::put_notice(frame, inner, text, theme.dim());
        return;
    }
    let cell_w = CELL_W.min(inner.width);
    let cell_h: u16 = if inner.height >= 8 {
        4
    } else {
        3.min(inner.height)
    };
    let cols = (inner.width / cell_w).max(1) as usize;
    let vis_rows = (inner.height / cell_h).max(1) as usize;
    let total_rows = app.sel.agent_order.len().div_ceil(cols);
    let sel_row = app.sel.agents / cols;
    let mut top = geo.agents_top_row.min(total_rows.saturating_sub(vis_rows));
    if sel_row < top {
        top = sel_row;
    } else if sel_row >= top + vis_rows {
        top = sel_row + 1 - vis_rows;
    }
    geo.agents_top_row = top;
    geo.agents_cols = cols;
    geo.agents_cell = (cell_w, cell_h);
    geo.page[1] = vis_rows.max(1);
    let first = top * cols;
    let last = ((top + vis_rows) * cols).min(app.sel.agent_order.len());
    let text_w = cell_w.saturating_sub(1);
    for (i, id) in app.sel.agent_order[first..last].iter().enumerate() {
        let Some(a) = engine.agents.get(id) else {
            continue;
        };
        let (row, col) = (i / cols, i % cols);
        let x = inner.x + col as u16 * cell_w;
        let y = inner.y + row as u16 * cell_h;
        let style = theme.liveness(a.liveness);
        let selected = first + i == app.sel.agents && focused;
        let name_style = if selected {
            theme.selected()
        } else {
            theme.bold()
        };
        let name_w = (text_w as usize).saturating_sub(2);
        let name = clip(&sanitize(&a.id), name_w);
        let line1 = Line::from(vec![
            Span::styled(format!("{} ", liveness_symbol(a.liveness)), style),
            Span::styled(format!("{name:<name_w$}"), name_style),
        ]);
        put_line(frame, x, y, &line1, text_w);
        if cell_h >= 2 {
            let seen = match (a.waiting_since, a.last_seen) {
                // How long it has waited on a person is what matters.
                (Some(since), _) if a.liveness == Liveness::Waiting => fmt_age(now - since),
                (_, Some(t)) => format!("{} ago", fmt_age(now - t)),
                _ => "never seen".into(),
            };
            let mut spans = vec![
                Span::raw("  "),
                Span::styled(liveness_word(a.liveness), style),
                Span::styled(format!(" · {seen}"), theme.dim()),
            ];
            // Its clock runs ahead: its stamps were taken as read (SPEC 5.3).
            if a.skewed > 0 {
                spans.push(Span::styled(" · skew", theme.warn()));
            }
            let line2 = Line::from(spans);
            put_line(frame, x, y + 1, &line2, text_w);
        }
        if cell_h >= 3 {
            let task = a
                .current_task
                .as_ref()
                .or(a.open_tasks.iter().next())
                .map(|t| sanitize(t).into_owned());
            let mut rest = match &task {
                Some(_) => format!(" · {} open", a.open_tasks.len()),
                None => "no task".to_string(),
            };
            if a.spend.cost_usd > 0.0 {
                rest.push_str(&format!(" · {}", dollars(a.spend.cost_usd)));
            }
            let task_w = (text_w as usize)
                .saturating_sub(2 + rest.chars().count())
                .max(4);
            let task = task.map_or(String::new(), |t| clip(&t, task_w.min(12)));
            let line3 = Line::from(vec![
                Span::raw("  "),
                Span::raw(task),
                Span::styled(rest, theme.dim()),
            ]);
            put_line(frame, x, y + 2, &line3, text_w);
        }
    }
}

/// Counts for the title: how many agents, and the unwell ones.
pub fn title_note(app: &App) -> String {
    let counts = app.liveness_counts;
    let mut parts = vec![crate::text::plural(
        counts.iter().sum::<usize>(),
        "agent",
        "agents",
    )];
    for (l, n) in [
        (Liveness::TimedOut, counts[Liveness::TimedOut as usize]),
        (Liveness::Late, counts[Liveness::Late as usize]),
        (Liveness::Waiting, counts[Liveness::Waiting as usize]),
        (Liveness::Healthy, counts[Liveness::Healthy as usize]),
        (Liveness::Idle, counts[Liveness::Idle as usize]),
    ] {
        if n > 0 {
            parts.push(format!("{n} {}", liveness_word(l).to_lowercase()));
        }
    }
    let total: usize = counts.iter().sum();
    if app.sel.agent_order.len() < total {
        parts.push(format!(
            "{} of {total} shown (filter)",
            app.sel.agent_order.len()
        ));
    }
    parts.join(" · ")
}
