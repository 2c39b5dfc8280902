//! The Progress pane: the current phase's gauge and %, the ETA with on track /
//! at risk against the target, a sparkline of completion over time, the next
//! phase, then one bar per component (BLOCKED marked, gates shown) and the
//! phase's criteria. The list scrolls; only visible lines are built.

use super::app::App;
use super::geometry::Geometry;
use super::lines::put_line;
use super::theme::Theme;
use crate::engine::phases::{Component, GateStatus, Outlook};
use crate::engine::{Engine, Time};
use crate::sanitize::sanitize;
use crate::text::clip;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Sparkline};
use ratatui::Frame;

fn bar(pct: f64, width: usize) -> (String, String) {
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    ("█".repeat(filled), "░".repeat(width - filled.min(width)))
}

/// A time as the operator reads it: `14:05` today, `11-25 14:05` this year,
/// `2108-01-05 18:38` otherwise.
pub fn fmt_when(t: Time, now: Time) -> String {
    use chrono::Datelike;
    if t.date_naive() == now.date_naive() {
        t.format("%H:%M").to_string()
    } else if t.year() == now.year() {
        t.format("%m-%d %H:%M").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M").to_string()
    }
}

pub fn eta_text(engine: &Engine, now: Time) -> (String, Option<Outlook>) {
    let Some(phase) = engine.current_phase() else {
        return ("no phase".into(), None);
    };
    if phase.complete {
        return ("complete".into(), Some(engine.outlook(phase, now)));
    }
    let outlook = engine.outlook(phase, now);
    let eta = phase.eta(engine.timing.completion_threshold, now);
    let text = match eta {
        Some(t) => format!("ETA {}", fmt_when(t, now)),
        None => "ETA unknown".into(),
    };
    (text, Some(outlook))
}

pub fn outlook_word(o: Outlook) -> &'static str {
    match o {
        Outlook::OnTrack => "on track",
        Outlook::AtRisk => "AT RISK",
        Outlook::NoTarget => "no target",
        Outlook::Unknown => "outlook unknown",
    }
}

/// A component's gates, failed first: by name when they fit in `room`
/// columns, else failed names and counts (`✗unit_tests ✓1 ·2`).
fn gate_spans(c: &Component, theme: &Theme, room: usize) -> Vec<Span<'static>> {
    let mut gates: Vec<(&String, GateStatus)> =
        c.gates.iter().map(|(g, s)| (g, s.status)).collect();
    let rank = |s: GateStatus| match s {
        GateStatus::Failed => 0,
        GateStatus::Pending => 1,
        GateStatus::Passed => 2,
    };
    gates.sort_by_key(|(g, s)| (rank(*s), (*g).clone()));
    let mark = |s: GateStatus| match s {
        GateStatus::Passed => ("✓", theme.good()),
        GateStatus::Failed => ("✗", theme.bad()),
        GateStatus::Pending => ("·", theme.dim()),
    };
    let name = |g: &str| {
        if g.is_empty() {
            "gate".to_string()
        } else {
            sanitize(g).into_owned()
        }
    };
    let full: Vec<Span<'static>> = gates
        .iter()
        .map(|(g, s)| {
            let (m, style) = mark(*s);
            Span::styled(format!("{m}{} ", name(g)), style)
        })
        .collect();
    if full.iter().map(Span::width).sum::<usize>() <= room {
        return full;
    }
    let mut out: Vec<Span<'static>> = gates
        .iter()
        .filter(|(_, s)| *s == GateStatus::Failed)
        .map(|(g, _)| Span::styled(format!("✗{} ", name(g)), theme.bad()))
        .collect();
    let named: usize = out.iter().map(Span::width).sum();
    if named + 6 > room {
        // Counts only: ✗1 ✓0 ·2.
        out.clear();
        for s in [GateStatus::Failed, GateStatus::Passed, GateStatus::Pending] {
            let n = gates.iter().filter(|(_, x)| *x == s).count();
            if n > 0 {
                let (m, style) = mark(s);
                out.push(Span::styled(format!("{m}{n} "), style));
            }
        }
        return out;
    }
    for s in [GateStatus::Passed, GateStatus::Pending] {
        let n = gates.iter().filter(|(_, x)| *x == s).count();
        if n > 0 {
            let (m, style) = mark(s);
            let word = if s == GateStatus::Passed {
                "passed"
            } else {
                "pending"
            };
            let text = if room >= 40 {
                format!("{m}{n} {word} ")
            } else {
                format!("{m}{n} ")
            };
            out.push(Span::styled(text, style));
        }
    }
    out
}

pub fn render(
    frame: &mut Frame,
    inner: Rect,
    app: &App,
    engine: &Engine,
    now: Time,
    geo: &mut Geometry,
) {
    let theme = &app.theme;
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let Some(phase) = engine.current_phase() else {
        return;
    };
    let pct = phase.completion();
    let mut y = inner.y;
    let bottom = inner.bottom();
    // The gauge.
    let label = format!("{} {pct:.1}%", sanitize(&phase.name));
    if !theme.color {
        // Without colour a gauge's fill cannot be seen: the bar is drawn in
        // blocks (█ done, ░ to do), as the component bars are.
        let room = (inner.width as usize).saturating_sub(label.chars().count() + 1);
        let (done, rest) = bar(pct, room);
        let line = Line::from(vec![
            Span::styled(label, theme.bold()),
            Span::raw(" "),
            Span::raw(done),
            Span::raw(rest),
        ]);
        put_line(frame, inner.x, y, &line, inner.width);
    } else {
        render_gauge(
            frame,
            Rect {
                y,
                height: 1,
                ..inner
            },
            label,
            pct,
            theme,
        );
    }
    y += 1;
    if y >= bottom {
        return;
    }
    progress_rest(frame, inner, y, app, engine, now, geo);
}

fn render_gauge(frame: &mut Frame, r: Rect, label: String, pct: f64, theme: &Theme) {
    let gauge = Gauge::default()
        .ratio((pct / 100.0).clamp(0.0, 1.0))
        .label(Span::styled(label, theme.bold()))
        .gauge_style(theme.gauge())
        .use_unicode(true);
    frame.render_widget(gauge, r);
}

/// Below the gauge: the ETA, the sparkline, the components and criteria.
fn progress_rest(
    frame: &mut Frame,
    inner: Rect,
    mut y: u16,
    app: &App,
    engine: &Engine,
    now: Time,
    geo: &mut Geometry,
) {
    let theme = &app.theme;
    let bottom = inner.bottom();
    let Some(phase) = engine.current_phase() else {
        return;
    };
    // ETA, outlook, target.
    let (eta, outlook) = eta_text(engine, now);
    let mut spans = vec![Span::raw(eta)];
    if let Some(o) = outlook {
        let style = match o {
            Outlook::OnTrack => theme.good(),
            Outlook::AtRisk => theme.bad(),
            Outlook::NoTarget | Outlook::Unknown => theme.dim(),
        };
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(outlook_word(o), style));
    }
    if let Some(t) = phase.target {
        spans.push(Span::styled(
            format!(" · target {}", fmt_when(t, now)),
            theme.dim(),
        ));
    }
    put_line(frame, inner.x, y, &Line::from(spans), inner.width);
    y += 1;
    // Spend against the phase's budget, on a line of its own: warned from
    // 80 %, bad past it.
    let spend = &phase.spend;
    if y < bottom && (spend.cost_usd > 0.0 || spend.budget_usd.is_some()) {
        let spent = crate::engine::spend::dollars(spend.cost_usd);
        let (text, style) = match (spend.budget_usd, spend.used()) {
            (Some(b), Some(used)) => (
                format!(
                    "spent {spent} of {} ({:.0} %)",
                    crate::engine::spend::dollars(b),
                    used * 100.0
                ),
                if used > 1.0 {
                    theme.bad()
                } else if used >= crate::engine::spend::WARN_AT {
                    theme.warn()
                } else {
                    theme.dim()
                },
            ),
            _ => (format!("spent {spent}"), theme.dim()),
        };
        let tokens = format!(" · {} tokens", spend.tokens);
        let line = Line::from(vec![
            Span::styled(text, style),
            Span::styled(tokens, theme.dim()),
        ]);
        put_line(frame, inner.x, y, &line, inner.width);
        y += 1;
    }
    // Sparkline of completion samples, newest at the right, with the next phase.
    if y < bottom && inner.height >= 6 {
        let next = engine.phases.get(engine.current + 1).map_or_else(
            || "last phase".to_string(),
            |p| format!("next: {}", sanitize(&p.name)),
        );
        let label = format!(" {}", clip(&next, 24));
        let label_w = (label.chars().count() as u16).min(inner.width);
        let spark_w = inner.width.saturating_sub(label_w) as usize;
        let n = phase.samples.len();
        let data: Vec<u64> = phase
            .samples
            .iter()
            .skip(n.saturating_sub(spark_w))
            .map(|(_, v)| (v * 10.0).round() as u64)
            .collect();
        frame.render_widget(
            Sparkline::default()
                .data(&data)
                .max(1000)
                .style(theme.gauge()),
            Rect {
                y,
                height: 1,
                width: spark_w as u16,
                ..inner
            },
        );
        put_line(
            frame,
            inner.x + spark_w as u16,
            y,
            &Line::styled(label, theme.dim()),
            label_w,
        );
        y += 1;
    }
    if y >= bottom {
        return;
    }
    // Components, then criteria: one scrollable list. With room, each
    // component's gates get a line of their own under its bar.
    let comps = &phase.components;
    let crit = &phase.criteria;
    let crit_lines = if crit.is_empty() { 0 } else { 1 + crit.len() };
    let vis = (bottom - y) as usize;
    let with_gates = vis >= comps.len() * 2 + crit_lines;
    let per = if with_gates { 2 } else { 1 };
    let total = comps.len() * per + crit_lines;
    geo.page[3] = vis.max(1);
    // The selected component stays in the middle of the list where it can;
    // the last one brings the criteria into view.
    let sel = app.sel.component.min(comps.len().saturating_sub(1));
    let max_top = total.saturating_sub(vis);
    let top = if sel + 1 == comps.len() {
        max_top
    } else {
        (sel * per + per / 2).saturating_sub(vis / 2).min(max_top)
    };
    let focused = app.focus == super::app::Pane::Progress;
    let longest = comps.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let name_w = longest.clamp(6, if inner.width >= 50 { 18 } else { 10 });
    let status_w = 6 + 8; // " 100% " and "BLOCKED "
    let gates_w = if with_gates { 0 } else { 12 };
    let bar_w = (inner.width as usize)
        .saturating_sub(name_w + 1 + status_w + gates_w)
        .clamp(6, 30);
    for i in top..(top + vis).min(total) {
        let line = if i < comps.len() * per {
            let Some(c) = engine.components.get(&comps[i / per]) else {
                continue;
            };
            if with_gates && i % 2 == 1 {
                let mut spans = vec![Span::raw(" ".repeat(name_w.min(4) + 1))];
                if c.gates.is_empty() {
                    spans.push(Span::styled("no gates", theme.dim()));
                } else {
                    let room = (inner.width as usize).saturating_sub(name_w.min(4) + 1);
                    spans.extend(gate_spans(c, theme, room));
                }
                Line::from(spans)
            } else {
                let blocked = c.blocked();
                let (done, rest) = bar(c.progress, bar_w);
                let bar_style = if blocked { theme.bad() } else { theme.gauge() };
                let name_style = if focused && i / per == sel {
                    theme.selected()
                } else {
                    theme.bold()
                };
                let mut spans = vec![
                    Span::styled(
                        format!("{:<name_w$}", clip(&sanitize(&c.id), name_w)),
                        name_style,
                    ),
                    Span::raw(" "),
                    Span::styled(done, bar_style),
                    Span::styled(rest, theme.dim()),
                    Span::raw(format!("{:>4.0}% ", c.progress)),
                ];
                if blocked {
                    spans.push(Span::styled("BLOCKED ", theme.bad()));
                }
                if !with_gates {
                    let used = spans.iter().map(Span::width).sum::<usize>();
                    spans.extend(gate_spans(
                        c,
                        theme,
                        (inner.width as usize).saturating_sub(used),
                    ));
                }
                Line::from(spans)
            }
        } else if i == comps.len() * per {
            let met = crit.iter().filter(|c| c.met).count();
            Line::styled(format!("criteria {met}/{} met", crit.len()), theme.bold())
        } else {
            let c = &crit[i - comps.len() * per - 1];
            let (mark, style) = if c.met {
                ("✓", theme.good())
            } else {
                ("✗", Style::new())
            };
            Line::from(vec![
                Span::styled(format!(" {mark} "), style),
                Span::styled(format!("{}: ", sanitize(&c.kind)), theme.dim()),
                Span::raw(sanitize(&c.name).into_owned()),
            ])
        };
        put_line(frame, inner.x, y, &line, inner.width);
        y += 1;
    }
}

pub fn title_note(engine: &Engine) -> String {
    match engine.current_phase() {
        Some(p) => {
            let blocked = p
                .components
                .iter()
                .filter(|c| engine.components.get(*c).is_some_and(|c| c.blocked()))
                .count();
            let mut s = format!("{} · {:.1}%", sanitize(&p.name), p.completion());
            if blocked > 0 {
                s.push_str(&format!(" · {blocked} blocked"));
            }
            s
        }
        None => String::new(),
    }
}
