//! Dialogs over the panes: help (`?`), the detail of an event or an alert, the
//! reassign picker (healthy agents with their open-task counts), the snooze
//! picker (15m / 1h / 4h / custom), text input for a note, a resolve note or a
//! false alarm's reason (required), and a confirmation for what cannot be undone
//! (resolve, false alarm). Keys typed in a dialog are text, not commands.

use super::app::{App, EntryBody, UiAction};
use super::theme::Theme;
use crate::engine::{Action, Engine, Time};
use crate::sanitize::sanitize;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Snooze choices in minutes; the last entry is "custom".
pub const SNOOZE_CHOICES: [(&str, Option<f64>); 4] = [
    ("15 minutes", Some(15.0)),
    ("1 hour", Some(60.0)),
    ("4 hours", Some(240.0)),
    ("custom…", None),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputPurpose {
    Note,
    Resolve,
    FalseAlarm,
    SnoozeMinutes,
}

impl InputPurpose {
    fn title(self) -> &'static str {
        match self {
            InputPurpose::Note => "Note",
            InputPurpose::Resolve => "Resolve",
            InputPurpose::FalseAlarm => "False alarm",
            InputPurpose::SnoozeMinutes => "Snooze for",
        }
    }

    fn prompt(self) -> &'static str {
        match self {
            InputPurpose::Note => "note (required):",
            InputPurpose::Resolve => "resolution note (optional):",
            InputPurpose::FalseAlarm => "reason (required):",
            InputPurpose::SnoozeMinutes => "duration, e.g. 90, 90m, 2h, 1d:",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    Help {
        scroll: u16,
    },
    /// A stream entry, by its `seq`.
    Detail {
        seq: u64,
        scroll: u16,
    },
    AlertDetail {
        alert: u64,
        scroll: u16,
    },
    Reassign {
        alert: u64,
        choices: Vec<(String, usize)>,
        sel: usize,
    },
    Snooze {
        alert: u64,
        sel: usize,
    },
    Input {
        purpose: InputPurpose,
        alert: u64,
        text: String,
        error: Option<String>,
    },
    /// An action that cannot be undone, waiting for `y`.
    Confirm {
        action: Action,
        question: String,
    },
}

impl Dialog {
    pub fn input(purpose: InputPurpose, alert: u64) -> Dialog {
        Dialog::Input {
            purpose,
            alert,
            text: String::new(),
            error: None,
        }
    }
}

/// Reads a snooze duration: minutes, or a number with `m`, `h` or `d`.
pub fn parse_minutes(s: &str) -> Option<f64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s.as_str(), "m"),
    };
    let n: f64 = num.trim().parse().ok()?;
    let factor = match unit.trim() {
        "m" | "min" | "mins" | "minutes" => 1.0,
        "h" | "hr" | "hour" | "hours" => 60.0,
        "d" | "day" | "days" => 1440.0,
        _ => return None,
    };
    let m = n * factor;
    (m.is_finite() && m > 0.0 && m <= 7.0 * 1440.0).then_some(m)
}

fn scroll_key(scroll: &mut u16, code: KeyCode) -> bool {
    match code {
        KeyCode::Char('j') | KeyCode::Down => *scroll = scroll.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => *scroll = scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => *scroll = scroll.saturating_add(10),
        KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
        KeyCode::Char('g') | KeyCode::Home => *scroll = 0,
        _ => return false,
    }
    true
}

/// A key while a dialog is open.
pub fn handle_key(app: &mut App, key: KeyEvent) -> Option<UiAction> {
    let redraw = Some(UiAction::Redraw);
    let dialog = app.dialog.as_mut()?;
    let code = key.code;
    let closes = matches!(code, KeyCode::Esc);
    match dialog {
        Dialog::Help { scroll }
        | Dialog::Detail { scroll, .. }
        | Dialog::AlertDetail { scroll, .. } => {
            if closes
                || matches!(
                    code,
                    KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?')
                )
            {
                app.dialog = None;
            } else if !scroll_key(scroll, code) {
                return None;
            }
            redraw
        }
        Dialog::Reassign {
            alert,
            choices,
            sel,
        } => {
            let n = choices.len();
            match code {
                KeyCode::Esc | KeyCode::Char('q') => app.dialog = None,
                KeyCode::Char('j') | KeyCode::Down => *sel = (*sel + 1).min(n.saturating_sub(1)),
                KeyCode::Char('k') | KeyCode::Up => *sel = sel.saturating_sub(1),
                KeyCode::Char(c @ '1'..='9') if (c as usize - '1' as usize) < n => {
                    let to = choices[c as usize - '1' as usize].0.clone();
                    let alert = *alert;
                    app.dialog = None;
                    return Some(UiAction::Operator(Action::Reassign { alert, to }));
                }
                KeyCode::Enter => {
                    let (to, _) = choices.get(*sel)?;
                    let action = Action::Reassign {
                        alert: *alert,
                        to: to.clone(),
                    };
                    app.dialog = None;
                    return Some(UiAction::Operator(action));
                }
                _ => return None,
            }
            redraw
        }
        Dialog::Snooze { alert, sel } => {
            let alert = *alert;
            let pick = match code {
                KeyCode::Esc | KeyCode::Char('q') => {
                    app.dialog = None;
                    return redraw;
                }
                KeyCode::Char('j') | KeyCode::Down => {
                    *sel = (*sel + 1).min(SNOOZE_CHOICES.len() - 1);
                    return redraw;
                }
                KeyCode::Char('k') | KeyCode::Up => {
                    *sel = sel.saturating_sub(1);
                    return redraw;
                }
                KeyCode::Char(c @ '1'..='4') => c as usize - '1' as usize,
                KeyCode::Enter => *sel,
                _ => return None,
            };
            match SNOOZE_CHOICES[pick].1 {
                Some(minutes) => {
                    app.dialog = None;
                    Some(UiAction::Operator(Action::Snooze { alert, minutes }))
                }
                None => {
                    app.dialog = Some(Dialog::input(InputPurpose::SnoozeMinutes, alert));
                    redraw
                }
            }
        }
        Dialog::Input {
            purpose,
            alert,
            text,
            error,
        } => {
            match code {
                KeyCode::Esc => {
                    app.dialog = None;
                    return redraw;
                }
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    text.push(c);
                    *error = None;
                }
                KeyCode::Enter => {
                    let (purpose, alert) = (*purpose, *alert);
                    let t = text.trim().to_string();
                    match purpose {
                        InputPurpose::Note if t.is_empty() => {
                            *error = Some("a note needs text".into())
                        }
                        InputPurpose::FalseAlarm if t.is_empty() => {
                            *error = Some("a reason is required for a false alarm".into())
                        }
                        InputPurpose::Note => {
                            app.dialog = None;
                            return Some(UiAction::Operator(Action::Note { alert, text: t }));
                        }
                        InputPurpose::SnoozeMinutes => match parse_minutes(&t) {
                            Some(minutes) => {
                                app.dialog = None;
                                return Some(UiAction::Operator(Action::Snooze { alert, minutes }));
                            }
                            None => {
                                *error = Some(
                                    "not a duration between 1 minute and 7 days (e.g. 90, 2h)"
                                        .into(),
                                )
                            }
                        },
                        InputPurpose::Resolve => {
                            app.dialog = Some(Dialog::Confirm {
                                question: format!("Resolve A-{alert}? This cannot be undone."),
                                action: Action::Resolve {
                                    alert,
                                    note: (!t.is_empty()).then_some(t),
                                },
                            });
                        }
                        InputPurpose::FalseAlarm => {
                            app.dialog = Some(Dialog::Confirm {
                                question: format!(
                                    "Close A-{alert} as a false alarm? This cannot be undone."
                                ),
                                action: Action::FalseAlarm { alert, reason: t },
                            });
                        }
                    }
                }
                _ => return None,
            }
            redraw
        }
        Dialog::Confirm { action, .. } => match code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                let action = action.clone();
                app.dialog = None;
                Some(UiAction::Operator(action))
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                app.dialog = None;
                app.status = Some("cancelled".into());
                redraw
            }
            _ => None,
        },
    }
}

/// A rectangle of `w`×`h` (at most the area) centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn frame_block<'a>(theme: &Theme, title: &'a str, hint: &'a str) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(Span::styled(format!(" {title} "), theme.title(true)))
        .title_bottom(Line::from(Span::styled(format!(" {hint} "), theme.dim())).right_aligned())
}

fn kv<'a>(theme: &Theme, key: &'a str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{key:>12} "), theme.bold()),
        Span::raw(value),
    ])
}

fn opt<S: std::ops::Deref<Target = str>>(s: &Option<S>) -> String {
    or_dash(s.as_deref())
}

fn or_dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".into(), |s| sanitize(s).into_owned())
}

fn fmt_time(t: Time) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

/// Draws the open dialog over everything.
pub fn render(frame: &mut Frame, app: &App, engine: &Engine, now: Time) {
    let Some(dialog) = &app.dialog else { return };
    let area = frame.area();
    if area.width < 4 || area.height < 3 {
        return;
    }
    let theme = &app.theme;
    let big = centered(
        area,
        area.width.saturating_sub(4).max(area.width * 9 / 10),
        area.height.saturating_sub(2),
    );
    match dialog {
        Dialog::Help { scroll } => {
            let mut lines: Vec<Line> = Vec::new();
            for e in &app.key_errors {
                lines.push(Line::from(Span::styled(
                    sanitize(e).into_owned(),
                    theme.warn(),
                )));
            }
            for (keys, what) in app.keys.help() {
                lines.push(Line::from(vec![
                    Span::styled(format!("{keys:>16}  "), theme.key()),
                    Span::raw(what),
                ]));
            }
            lines.push(Line::raw(""));
            lines.push(Line::from(Span::styled(
                "  in dialogs: j/k move, Enter choose, Esc cancel",
                theme.dim(),
            )));
            lines.push(Line::from(Span::styled(
                "  mouse: click focuses and selects, the wheel scrolls",
                theme.dim(),
            )));
            let w = big.width.min(90);
            let r = centered(area, w, (lines.len() as u16 + 2).min(big.height));
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(lines)
                    .scroll((*scroll, 0))
                    .block(frame_block(theme, "Keys", "Esc close · j/k scroll")),
                r,
            );
        }
        Dialog::Detail { seq, scroll } => {
            let mut lines = Vec::new();
            match app.entry(*seq) {
                None => lines.push(Line::raw(
                    "this entry is no longer retained (see coord audit)",
                )),
                Some(e) => {
                    match &e.body {
                        EntryBody::Event(ev) => {
                            lines.push(kv(theme, "type", sanitize(ev.kind.as_str()).into_owned()));
                            lines.push(kv(theme, "category", ev.category().as_str().into()));
                            lines.push(kv(
                                theme,
                                "level",
                                e.level.map_or_else(|| "-".into(), |l| l.as_str().into()),
                            ));
                            let assumed = if ev.ts_assumed {
                                " (ingest time: no ts)"
                            } else {
                                ""
                            };
                            lines.push(kv(theme, "ts", format!("{}{assumed}", fmt_time(ev.ts))));
                            lines.push(kv(theme, "id", sanitize(ev.id()).into_owned()));
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
                                ev.severity
                                    .map_or_else(|| "-".into(), |l| l.as_str().into()),
                            ));
                            lines.push(kv(theme, "status", or_dash(ev.status())));
                            lines.push(kv(theme, "message", or_dash(ev.message())));
                            if let Some(data) = &ev.data {
                                lines.push(kv(theme, "data", String::new()));
                                for (k, v) in data.iter() {
                                    let v = serde_json::to_string(v).unwrap_or_default();
                                    lines.push(Line::raw(format!(
                                        "{:>14}{}: {}",
                                        "",
                                        sanitize(k),
                                        sanitize(&v)
                                    )));
                                }
                            } else {
                                lines.push(kv(theme, "data", "-".into()));
                            }
                        }
                        EntryBody::ParseError(p) => {
                            lines.push(Line::from(Span::styled("parse error", theme.error())));
                            lines.push(kv(theme, "reason", sanitize(&p.reason).into_owned()));
                            lines.push(kv(theme, "read at", fmt_time(e.at)));
                            lines.push(kv(theme, "excerpt", sanitize(&p.excerpt).into_owned()));
                        }
                    }
                    if e.line == 0 && e.source.starts_with("coord") {
                        lines.push(kv(
                            theme,
                            "source",
                            "derived by coord (no source file)".into(),
                        ));
                    } else {
                        lines.push(kv(theme, "source", sanitize(&e.source).into_owned()));
                        lines.push(kv(theme, "line", e.line.to_string()));
                        lines.push(kv(theme, "offset", format!("byte {}", e.offset)));
                    }
                }
            }
            frame.render_widget(Clear, big);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((*scroll, 0))
                    .block(frame_block(theme, "Event", "Esc close · j/k scroll")),
                big,
            );
        }
        Dialog::AlertDetail { alert, scroll } => {
            let mut lines = Vec::new();
            match engine.alerts.get(*alert) {
                None => lines.push(Line::raw("no such alert")),
                Some(a) => {
                    let since = |t: Time| super::render::fmt_age(now - t);
                    lines.push(kv(theme, "alert", a.label()));
                    lines.push(Line::from(vec![
                        Span::styled(format!("{:>12} ", "level"), theme.bold()),
                        Span::styled(a.level.as_str(), theme.level(a.level)),
                    ]));
                    lines.push(kv(
                        theme,
                        "trigger",
                        sanitize(a.trigger.as_str()).into_owned(),
                    ));
                    lines.push(kv(
                        theme,
                        "status",
                        format!("{:?}", a.status).to_lowercase(),
                    ));
                    lines.push(kv(theme, "escalation", a.escalation.as_str().into()));
                    lines.push(kv(theme, "agent", opt(&a.agent)));
                    lines.push(kv(theme, "component", opt(&a.component)));
                    lines.push(kv(theme, "gate", opt(&a.gate)));
                    lines.push(kv(theme, "task", opt(&a.task)));
                    lines.push(kv(theme, "message", opt(&a.message)));
                    lines.push(kv(theme, "count", a.count.to_string()));
                    lines.push(kv(
                        theme,
                        "opened",
                        format!("{} ({} ago)", fmt_time(a.first_seen), since(a.first_seen)),
                    ));
                    lines.push(kv(
                        theme,
                        "last seen",
                        format!("{} ({} ago)", fmt_time(a.last_seen), since(a.last_seen)),
                    ));
                    lines.push(kv(theme, "ack owner", opt(&a.ack_owner)));
                    lines.push(kv(theme, "assignee", opt(&a.assignee)));
                    if let Some(t) = a.snoozed_until {
                        lines.push(kv(theme, "snoozed to", fmt_time(t)));
                    }
                    let mut flags = Vec::new();
                    if a.sla_breached {
                        flags.push("SLA breached");
                    }
                    if a.flapping {
                        flags.push("flapping");
                    }
                    if a.blocking {
                        flags.push("holds the phase back");
                    }
                    if a.suppressed {
                        flags.push("notifications held");
                    }
                    lines.push(kv(
                        theme,
                        "flags",
                        if flags.is_empty() {
                            "-".into()
                        } else {
                            flags.join(", ")
                        },
                    ));
                    if let Some(r) = a.resolution {
                        lines.push(kv(theme, "resolution", format!("{r:?}").to_lowercase()));
                    }
                    if let Some(old) = a.reopened_of {
                        lines.push(kv(theme, "reopens", format!("A-{old}")));
                    }
                    lines.push(kv(
                        theme,
                        "actions",
                        if a.actions.is_empty() {
                            "-".into()
                        } else {
                            String::new()
                        },
                    ));
                    for act in &a.actions {
                        lines.push(Line::raw(format!("{:>13}{}", "• ", sanitize(act))));
                    }
                    lines.push(kv(
                        theme,
                        "notes",
                        if a.notes.is_empty() {
                            "-".into()
                        } else {
                            String::new()
                        },
                    ));
                    for n in &a.notes {
                        lines.push(Line::raw(format!(
                            "{:>13}{} {}: {}",
                            "• ",
                            n.at.format("%m-%d %H:%M"),
                            sanitize(&n.author),
                            sanitize(&n.text)
                        )));
                    }
                }
            }
            frame.render_widget(Clear, big);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((*scroll, 0))
                    .block(frame_block(theme, "Alert", "Esc close · j/k scroll")),
                big,
            );
        }
        Dialog::Reassign {
            alert,
            choices,
            sel,
        } => {
            let h = (choices.len() as u16 + 3).min(big.height);
            let r = centered(area, 48, h);
            let inner_h = h.saturating_sub(3) as usize;
            let top = sel.saturating_sub(inner_h.saturating_sub(1));
            let mut lines = vec![Line::from(Span::styled(
                format!("A-{alert} → healthy agent (open tasks):"),
                theme.bold(),
            ))];
            for (i, (name, open)) in choices.iter().enumerate().skip(top).take(inner_h) {
                let marker = if i == *sel { "▶ " } else { "  " };
                let num = if i < 9 {
                    format!("{}", i + 1)
                } else {
                    " ".into()
                };
                let style = if i == *sel {
                    theme.selected()
                } else {
                    Style::new()
                };
                lines.push(Line::from(Span::styled(
                    format!("{marker}{num} {:<28} {open:>3} open", sanitize(name)),
                    style,
                )));
            }
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(lines).block(frame_block(
                    theme,
                    "Reassign",
                    "Enter pick · Esc cancel",
                )),
                r,
            );
        }
        Dialog::Snooze { alert, sel } => {
            let r = centered(area, 36, 7);
            let mut lines = vec![Line::from(Span::styled(
                format!("Snooze A-{alert} for:"),
                theme.bold(),
            ))];
            for (i, (label, _)) in SNOOZE_CHOICES.iter().enumerate() {
                let style = if i == *sel {
                    theme.selected()
                } else {
                    Style::new()
                };
                let marker = if i == *sel { "▶" } else { " " };
                lines.push(Line::from(Span::styled(
                    format!("{marker} {} {label}", i + 1),
                    style,
                )));
            }
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(lines).block(frame_block(
                    theme,
                    "Snooze",
                    "Enter pick · Esc cancel",
                )),
                r,
            );
        }
        Dialog::Input {
            purpose,
            alert,
            text,
            error,
        } => {
            let r = centered(area, 64, 6);
            let visible = r.width.saturating_sub(4) as usize;
            let shown: String = {
                let t = sanitize(text);
                let n = t.chars().count();
                t.chars()
                    .skip(n.saturating_sub(visible.saturating_sub(1)))
                    .collect()
            };
            let lines = vec![
                Line::from(Span::styled(
                    format!("A-{alert}: {}", purpose.prompt()),
                    theme.bold(),
                )),
                Line::from(vec![Span::raw(shown), Span::styled("█", theme.dim())]),
                match error {
                    Some(e) => Line::from(Span::styled(e.clone(), theme.bad())),
                    None => Line::raw(""),
                },
            ];
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(lines).block(frame_block(
                    theme,
                    purpose.title(),
                    "Enter ok · Esc cancel",
                )),
                r,
            );
        }
        Dialog::Confirm { question, .. } => {
            let w = (question.chars().count() as u16 + 4).max(30);
            let r = centered(area, w, 5);
            let lines = vec![
                Line::from(Span::styled(question.clone(), theme.bold())),
                Line::raw(""),
                Line::from(vec![
                    Span::styled(" y ", theme.key()),
                    Span::raw("yes   "),
                    Span::styled(" n ", theme.key()),
                    Span::raw("no"),
                ]),
            ];
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(lines).block(frame_block(theme, "Confirm", "")),
                r,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_minutes;

    #[test]
    fn durations() {
        assert_eq!(parse_minutes("90"), Some(90.0));
        assert_eq!(parse_minutes("90m"), Some(90.0));
        assert_eq!(parse_minutes("2h"), Some(120.0));
        assert_eq!(parse_minutes("1.5 h"), Some(90.0));
        assert_eq!(parse_minutes("1d"), Some(1440.0));
        assert_eq!(parse_minutes("0"), None);
        assert_eq!(parse_minutes("8d"), None);
        assert_eq!(parse_minutes("soon"), None);
        assert_eq!(parse_minutes(""), None);
    }
}
