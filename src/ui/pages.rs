//! Detail pages (Enter), drawn over the panes like k9s's describe view: an
//! event with every field and its source; an alert's incident page (its facts,
//! every transition with when, who or what and why, the notifications sent or
//! held and why, the automatic actions, the notes), where the alert keys act on
//! it; an agent (liveness and its history, tasks, alerts, recent events); a
//! component (progress, gates, blockers, tasks). Dialogs open over a page, and
//! `Esc` goes back to the panes.

use super::agents::{liveness_symbol, liveness_word};
use super::alerts::{owner, sla, subject, trigger_words};
use super::app::{App, EntryBody, StreamEntry};
use super::theme::Theme;
use crate::engine::alerts::Alert;
use crate::engine::phases::GateStatus;
use crate::engine::{Engine, Time};
use crate::sanitize::sanitize;
use crate::text::{clip_middle, fmt_age, plural};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// The page open over the panes, by the identity of what it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// A stream entry, by its `seq`.
    Event(u64),
    /// An alert, by id.
    Incident(u64),
    Agent(String),
    Component(String),
}

impl Page {
    fn title(&self) -> String {
        match self {
            Page::Event(_) => "Event".into(),
            Page::Incident(id) => format!("Incident A-{id}"),
            Page::Agent(id) => format!("Agent {}", sanitize(id)),
            Page::Component(id) => format!("Component {}", sanitize(id)),
        }
    }

    /// The keys the page takes, for its bottom border.
    fn hint(&self) -> &'static str {
        match self {
            Page::Incident(_) => {
                "a ack · e escalate · r reassign · s snooze · x resolve · f false alarm · n note · Esc back"
            }
            Page::Agent(_) | Page::Component(_) => "Enter its events · j/k scroll · Esc back",
            Page::Event(_) => "j/k scroll · Esc back",
        }
    }
}

/// `      key value`
fn kv<'a>(theme: &Theme, key: &'a str, value: impl Into<String>) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{key:>12} "), theme.bold()),
        Span::raw(value.into()),
    ])
}

fn or_dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".into(), |s| sanitize(s).into_owned())
}

/// `a, b, c`, sanitised; `-` for none.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "-".into();
    }
    let names: Vec<_> = items.iter().map(|i| sanitize(i)).collect();
    names.join(", ")
}

fn heading<'a>(theme: &Theme, text: String) -> Line<'a> {
    Line::from(Span::styled(text, theme.bold()))
}

fn item<'a>(text: String) -> Line<'a> {
    Line::raw(format!("  {text}"))
}

/// A time on a page: `12:05:00 (2 min ago)`, with the date when not today.
fn when(t: Time, now: Time) -> String {
    let clock = if t.date_naive() == now.date_naive() {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    };
    if t <= now {
        format!("{clock} ({} ago)", fmt_age(now - t))
    } else {
        format!("{clock} (in {})", fmt_age(t - now))
    }
}

/// Draws the open page over the panes.
pub fn render(frame: &mut Frame, app: &App, engine: &Engine, now: Time) {
    let Some(page) = &app.page else { return };
    let area = frame.area();
    if area.width < 4 || area.height < 3 {
        return;
    }
    let theme = &app.theme;
    let lines = match page {
        Page::Event(seq) => event_lines(theme, app.entry(*seq)),
        Page::Incident(id) => incident_lines(theme, engine, *id, now),
        Page::Agent(id) => agent_lines(theme, app, engine, id, now),
        Page::Component(id) => component_lines(theme, engine, id, now),
    };
    let r = Rect {
        height: area.height.saturating_sub(1).max(3),
        ..area
    };
    let hint = crate::text::clip(page.hint(), (r.width as usize).saturating_sub(4));
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(Span::styled(
            format!(" {} ", page.title()),
            theme.title(true),
        ))
        .title_bottom(Line::from(Span::styled(format!(" {hint} "), theme.dim())).right_aligned());
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.page_scroll, 0))
            .block(block),
        r,
    );
}

pub fn event_lines<'a>(theme: &Theme, entry: Option<&StreamEntry>) -> Vec<Line<'a>> {
    let Some(e) = entry else {
        return vec![Line::raw(
            "this entry is no longer retained (see coord audit)",
        )];
    };
    let time = |t: Time| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string();
    let mut lines = Vec::new();
    match &e.body {
        EntryBody::Event(ev) => {
            lines.push(kv(theme, "type", sanitize(ev.kind.as_str())));
            lines.push(kv(theme, "category", ev.category().as_str()));
            lines.push(kv(theme, "level", e.level.map_or("-", |l| l.as_str())));
            let assumed = if ev.ts_assumed {
                " (ingest time: no ts)"
            } else {
                ""
            };
            lines.push(kv(theme, "ts", format!("{}{assumed}", time(ev.ts))));
            lines.push(kv(theme, "id", sanitize(ev.id())));
            lines.push(kv(theme, "agent", or_dash(ev.agent())));
            lines.push(kv(theme, "task", or_dash(ev.task())));
            lines.push(kv(theme, "component", or_dash(ev.component())));
            lines.push(kv(theme, "phase", or_dash(ev.phase())));
            lines.push(kv(theme, "gate", or_dash(ev.gate())));
            lines.push(kv(
                theme,
                "progress",
                ev.progress.map_or_else(|| "-".into(), |p| format!("{p}%")),
            ));
            lines.push(kv(
                theme,
                "severity",
                ev.severity.map_or("-", |l| l.as_str()),
            ));
            lines.push(kv(theme, "status", or_dash(ev.status())));
            lines.push(kv(theme, "message", or_dash(ev.message())));
            match &ev.data {
                Some(data) => {
                    lines.push(kv(theme, "data", ""));
                    for (k, v) in data.iter() {
                        let v = serde_json::to_string(v).unwrap_or_default();
                        lines.push(Line::raw(format!(
                            "{:>14}{}: {}",
                            "",
                            sanitize(k),
                            sanitize(&v)
                        )));
                    }
                }
                None => lines.push(kv(theme, "data", "-")),
            }
        }
        EntryBody::ParseError(p) => {
            lines.push(Line::from(Span::styled("parse error", theme.error())));
            lines.push(kv(theme, "reason", sanitize(&p.reason)));
            lines.push(kv(theme, "read at", time(e.at)));
            lines.push(kv(theme, "excerpt", sanitize(&p.excerpt)));
        }
    }
    if e.line == 0 && e.source.starts_with("coord") {
        lines.push(kv(theme, "source", "derived by coord (no source file)"));
    } else {
        lines.push(kv(theme, "source", sanitize(&e.source)));
        lines.push(kv(theme, "line", e.line.to_string()));
        lines.push(kv(theme, "offset", format!("byte {}", e.offset)));
    }
    lines
}

/// How a resolved alert ended, in words.
fn resolution_words(a: &Alert) -> Option<String> {
    use crate::engine::alerts::Resolution;
    Some(
        match a.resolution? {
            Resolution::Fixed => "resolved",
            Resolution::Auto => "resolved automatically",
            Resolution::FalseAlarm => "false alarm",
            Resolution::Superseded => "superseded",
        }
        .into(),
    )
}

pub fn incident_lines<'a>(theme: &Theme, engine: &Engine, id: u64, now: Time) -> Vec<Line<'a>> {
    let Some(a) = engine.alerts.get(id) else {
        return vec![Line::raw(format!("no alert A-{id}"))];
    };
    let mut lines = Vec::new();
    let (sla_text, _) = sla(a, now);
    let state = match resolution_words(a) {
        Some(how) => how,
        None => format!("{:?}", a.status).to_lowercase(),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{:>12} ", "level"), theme.bold()),
        Span::styled(a.level.as_str(), theme.level(a.level)),
        Span::raw(format!(
            " · {state} · tier {} · SLA {sla_text}",
            a.escalation.as_str()
        )),
    ]));
    lines.push(kv(theme, "trigger", trigger_words(&a.trigger)));
    lines.push(kv(theme, "subject", subject(a)));
    lines.push(kv(theme, "message", or_dash(a.message.as_deref())));
    lines.push(kv(theme, "owner", owner(a)));
    lines.push(kv(
        theme,
        "seen",
        format!(
            "{} · first {} · last {}",
            plural(a.count as usize, "time", "times"),
            when(a.first_seen, now),
            when(a.last_seen, now)
        ),
    ));
    let mut flags = Vec::new();
    if let Some(t) = a.snoozed_until {
        flags.push(format!("snoozed until {}", when(t, now)));
    }
    if a.flapping {
        flags.push("flapping".into());
    }
    if a.suppressed {
        flags.push("notifications held".into());
    }
    if a.blocking {
        flags.push("holds the phase back".into());
    }
    if let Some(old) = a.reopened_of {
        flags.push(format!("reopens A-{old}"));
    }
    if !flags.is_empty() {
        lines.push(kv(theme, "flags", flags.join(" · ")));
    }
    if let Some(t) = a.escalate_at.filter(|_| a.is_open()) {
        lines.push(kv(theme, "escalates", when(t, now)));
    }
    lines.push(Line::raw(""));
    lines.push(heading(theme, "History".into()));
    if a.history_dropped > 0 {
        lines.push(Line::styled(
            format!(
                "  … {} not kept here (coord audit --alert A-{id} has them all)",
                plural(a.history_dropped as usize, "earlier step", "earlier steps")
            ),
            theme.dim(),
        ));
    }
    for s in &a.history {
        let style = match s.what.as_str() {
            "held" => theme.warn(),
            "notified" => theme.dim(),
            _ => ratatui::style::Style::new(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("  {} ", s.at.format("%H:%M:%S"))),
            Span::styled(format!("{:<16} ", sanitize(&s.what)), style),
            Span::styled(format!("{:<8} ", sanitize(&s.by)), theme.bold()),
            Span::raw(sanitize(&s.why).into_owned()),
            // An event's id can be long: its tail tells it apart.
            Span::styled(
                s.event.as_deref().map_or_else(String::new, |e| {
                    format!(" · event {}", clip_middle(&sanitize(e), 24))
                }),
                theme.dim(),
            ),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(heading(
        theme,
        format!("Automatic actions ({})", a.actions.len()),
    ));
    for act in &a.actions {
        lines.push(item(sanitize(act).into_owned()));
    }
    lines.push(Line::raw(""));
    lines.push(heading(theme, format!("Notes ({})", a.notes.len())));
    for n in &a.notes {
        lines.push(item(format!(
            "{} {}: {}",
            n.at.format("%H:%M:%S"),
            sanitize(&n.author),
            sanitize(&n.text)
        )));
    }
    lines
}

pub fn agent_lines<'a>(
    theme: &Theme,
    app: &App,
    engine: &Engine,
    id: &str,
    now: Time,
) -> Vec<Line<'a>> {
    let Some(a) = engine.agents.get(id) else {
        return vec![Line::raw(format!("no agent {}", sanitize(id)))];
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{:>12} ", "liveness"), theme.bold()),
        Span::styled(
            format!(
                "{} {}",
                liveness_symbol(a.liveness),
                liveness_word(a.liveness)
            ),
            theme.liveness(a.liveness),
        ),
    ])];
    let seen = |t: Option<Time>| t.map_or_else(|| "never".into(), |t| when(t, now));
    lines.push(kv(theme, "last seen", seen(a.last_seen)));
    lines.push(kv(theme, "heartbeat", seen(a.last_heartbeat)));
    if let (crate::engine::agents::Liveness::Waiting, Some(since)) = (a.liveness, a.waiting_since) {
        let what = a.waiting_for.as_deref().map(sanitize).unwrap_or_default();
        lines.push(kv(
            theme,
            "waiting",
            format!("since {} {what}", when(since, now)),
        ));
    }
    if !a.spend.is_empty() {
        use crate::engine::spend::dollars;
        let budget = a
            .spend
            .budget_usd
            .map(|b| format!(" of a {} budget", dollars(b)))
            .unwrap_or_default();
        lines.push(kv(
            theme,
            "spent",
            format!(
                "{}{budget} · {} tokens",
                dollars(a.spend.cost_usd),
                a.spend.tokens
            ),
        ));
    }
    lines.push(kv(theme, "capable of", list(&a.capabilities)));
    if a.backup {
        lines.push(kv(
            theme,
            "role",
            if a.activated {
                "backup (activated)"
            } else {
                "backup (standing by)"
            },
        ));
    }
    lines.push(kv(theme, "events", a.events.to_string()));
    if a.skewed > 0 {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12} ", "clock skew"), theme.bold()),
            Span::styled(
                format!(
                    "{} stamped ahead of when coord read them, taken as read",
                    plural(a.skewed as usize, "event", "events")
                ),
                theme.warn(),
            ),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(heading(theme, "Liveness history".into()));
    if a.liveness_log.is_empty() {
        lines.push(Line::styled("  no change since first seen", theme.dim()));
    }
    for (t, l) in &a.liveness_log {
        lines.push(Line::from(vec![
            Span::raw(format!("  {} ", when(*t, now))),
            Span::styled(liveness_word(*l), theme.liveness(*l)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(heading(
        theme,
        format!("Open tasks ({})", a.open_tasks.len()),
    ));
    for t in &a.open_tasks {
        let component = engine
            .tasks
            .get(t.as_str())
            .and_then(|t| t.component.as_deref());
        let current = if a.current_task.as_deref() == Some(t.as_str()) {
            " (current)"
        } else {
            ""
        };
        lines.push(item(format!(
            "{}{current} · {}",
            sanitize(t),
            or_dash(component)
        )));
    }
    alert_list(
        &mut lines,
        theme,
        engine,
        |x| x.agent.as_deref() == Some(id),
        now,
    );
    lines.push(Line::raw(""));
    // The newest few thousand entries are looked through, not the whole ring.
    let recent: Vec<&StreamEntry> = app
        .newest()
        .take(5000)
        .filter(|e| matches!(&e.body, EntryBody::Event(ev) if ev.agent() == Some(id)))
        .take(10)
        .collect();
    lines.push(heading(
        theme,
        format!("Recent events ({} retained shown)", recent.len()),
    ));
    for e in recent {
        if let EntryBody::Event(ev) = &e.body {
            lines.push(item(format!(
                "{} {} {}",
                e.at.format("%H:%M:%S"),
                sanitize(ev.kind.as_str()),
                or_dash(ev.message())
            )));
        }
    }
    lines
}

/// The alerts `pick` chooses, open first then the newest resolved, at most 20.
fn alert_list<'a>(
    lines: &mut Vec<Line<'a>>,
    theme: &Theme,
    engine: &Engine,
    pick: impl Fn(&Alert) -> bool,
    now: Time,
) {
    let mut alerts: Vec<&Alert> = engine.alerts.all().iter().filter(|a| pick(a)).collect();
    alerts.sort_by_key(|a| (!a.is_open(), std::cmp::Reverse(a.id)));
    let open = alerts.iter().filter(|a| a.is_open()).count();
    lines.push(Line::raw(""));
    lines.push(heading(
        theme,
        format!("Alerts ({open} open, {} in all)", alerts.len()),
    ));
    for a in alerts.iter().take(20) {
        let state = resolution_words(a).unwrap_or_else(|| format!("{:?}", a.status).to_lowercase());
        lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(
                format!("{:<4}", a.level.as_str().to_uppercase()),
                theme.level(a.level),
            ),
            Span::raw(format!(
                " A-{} {} · {state} · {} · opened {}",
                a.id,
                trigger_words(&a.trigger),
                or_dash(a.message.as_deref()),
                when(a.first_seen, now)
            )),
        ]));
    }
}

pub fn component_lines<'a>(theme: &Theme, engine: &Engine, id: &str, now: Time) -> Vec<Line<'a>> {
    let Some(c) = engine.components.get(id) else {
        return vec![Line::raw(format!("no component {}", sanitize(id)))];
    };
    let phase = c
        .phase
        .and_then(|i| engine.phases.get(i))
        .map_or_else(|| "-".into(), |p| sanitize(&p.name).into_owned());
    let mut lines = vec![kv(
        theme,
        "progress",
        format!("{:.0}% · weight {}", c.progress, c.weight),
    )];
    if c.blocked() {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12} ", "state"), theme.bold()),
            Span::styled("BLOCKED by a failed gate", theme.bad()),
        ]));
    }
    lines.push(kv(theme, "phase", phase));
    lines.push(kv(theme, "owner", or_dash(c.owner.as_deref())));
    lines.push(kv(theme, "depends on", list(&c.depends_on)));
    lines.push(Line::raw(""));
    lines.push(heading(theme, format!("Gates ({})", c.gates.len())));
    for (name, g) in &c.gates {
        let name = if name.is_empty() { "(unnamed)" } else { name };
        let (word, style) = match g.status {
            GateStatus::Passed => ("✓ passed", theme.good()),
            GateStatus::Failed => ("✗ failed", theme.bad()),
            GateStatus::Pending => ("· pending", theme.dim()),
        };
        let mut spans = vec![
            Span::raw(format!("  {:<20} ", sanitize(name))),
            Span::styled(word, style),
        ];
        if g.status == GateStatus::Failed {
            let since = g
                .failed_since
                .map_or_else(String::new, |t| format!(" since {}", when(t, now)));
            spans.push(Span::raw(format!(
                " · {}{since}",
                plural(
                    g.consecutive_failures as usize,
                    "failure",
                    "failures in a row"
                )
            )));
        }
        lines.push(Line::from(spans));
    }
    alert_list(
        &mut lines,
        theme,
        engine,
        |a| a.component.as_deref() == Some(id),
        now,
    );
    let mut tasks: Vec<(&str, &crate::engine::agents::Task)> = engine
        .tasks
        .iter()
        .filter(|(_, t)| t.component.as_deref() == Some(id))
        .map(|(k, t)| (k.as_str(), t))
        .collect();
    tasks.sort_by_key(|(k, _)| *k);
    lines.push(Line::raw(""));
    lines.push(heading(theme, format!("Open tasks ({})", tasks.len())));
    for (k, t) in tasks.iter().take(50) {
        lines.push(item(format!(
            "{} · {}",
            sanitize(k),
            t.agent
                .as_deref()
                .map_or_else(|| "unassigned".into(), |a| sanitize(a).into_owned())
        )));
    }
    lines
}
