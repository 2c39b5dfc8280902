//! Dialogs over the panes and pages: help (`?`, with what the screen's marks
//! mean), the reassign picker (healthy agents with their open-task counts), the snooze
//! picker (15m / 1h / 4h / custom), text input for a note, a resolve note or a
//! false alarm's reason (required), and a confirmation for what cannot be undone
//! (resolve, false alarm). Keys typed in a dialog are text, not commands.

use super::app::{App, UiAction};
use super::theme::Theme;
use crate::engine::Action;
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
    /// The time cursor's `t`: a time to go to.
    TravelTo,
}

impl InputPurpose {
    fn title(self) -> &'static str {
        match self {
            InputPurpose::Note => "Note",
            InputPurpose::Resolve => "Resolve",
            InputPurpose::FalseAlarm => "False alarm",
            InputPurpose::SnoozeMinutes => "Snooze for",
            InputPurpose::TravelTo => "Go back to",
        }
    }

    fn prompt(self) -> &'static str {
        match self {
            InputPurpose::Note => "note (required):",
            InputPurpose::Resolve => "resolution note (optional):",
            InputPurpose::FalseAlarm => "reason (required):",
            InputPurpose::SnoozeMinutes => "duration, e.g. 90, 90m, 2h, 1d:",
            InputPurpose::TravelTo => "an age (15m, 2h) or a UTC time (2026-12-04T09:30):",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    Help {
        scroll: u16,
    },
    /// What changed since the operator last looked (`coord digest`'s text).
    Digest {
        lines: Vec<String>,
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
        Dialog::Help { scroll } | Dialog::Digest { scroll, .. } => {
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
                        InputPurpose::TravelTo => {
                            match crate::cli::audit::parse_time(&t, chrono::Utc::now()) {
                                Ok(at) => {
                                    app.dialog = None;
                                    return Some(UiAction::Travel(super::app::Travel::To(at)));
                                }
                                Err(e) => *error = Some(e),
                            }
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
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(Span::styled(format!(" {title} "), theme.title(true)));
    if hint.is_empty() {
        return block;
    }
    block.title_bottom(Line::from(Span::styled(format!(" {hint} "), theme.dim())).right_aligned())
}

/// Draws the open dialog over everything (the panes and any page).
pub fn render(frame: &mut Frame, app: &App) {
    let Some(dialog) = &app.dialog else { return };
    let area = frame.area();
    if area.width < 4 || area.height < 3 {
        return;
    }
    match dialog {
        Dialog::Help { scroll } => render_help(frame, app, *scroll),
        Dialog::Digest { lines, scroll } => render_digest(frame, &app.theme, lines, *scroll),
        Dialog::Reassign {
            alert,
            choices,
            sel,
        } => render_reassign(frame, &app.theme, *alert, choices, *sel),
        Dialog::Snooze { alert, sel } => render_snooze(frame, &app.theme, *alert, *sel),
        Dialog::Input {
            purpose,
            alert,
            text,
            error,
        } => render_input(frame, &app.theme, *purpose, *alert, text, error.as_deref()),
        Dialog::Confirm { question, .. } => render_confirm(frame, &app.theme, question),
    }
}

/// What the screen's marks mean, for the help page.
const LEGEND: [&str; 6] = [
    "agents: ● healthy  ◐ late  ◆ WAITING on a person  ◌ idle  ✖ timed out  ○ offline  ◇ standby",
    "alerts: SLA is the response deadline (time left, MISSED, met); ESCAL counts down to the next tier",
    "        OWNER is who acknowledged it, or →whom it is assigned to; SEEN how many times it fired",
    "        badges: FLAP flapping (notifications held), SNZ/SNOOZED snoozed",
    "gates:  ✓ passed  ✗ failed (blocks the component)  · pending; ✗1 ·2 = 1 failed, 2 pending",
    "events: LVL is the level coord gave the event when it arrived; heartbeats fold away (H)",
];

fn render_help(frame: &mut Frame, app: &App, scroll: u16) {
    let (area, theme) = (frame.area(), &app.theme);
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
    for hint in [
        "  in dialogs: j/k move, Enter choose, Esc cancel",
        "  on a page: j/k scroll, Esc back; on an incident the alert keys act on it",
        "  mouse: click focuses and selects, the wheel scrolls",
    ] {
        lines.push(Line::from(Span::styled(hint, theme.dim())));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "  What the marks mean",
        theme.bold(),
    )));
    for l in LEGEND {
        lines.push(Line::raw(format!("  {l}")));
    }
    let w = area.width.saturating_sub(4).min(100);
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2).max(3));
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(frame_block(
            theme,
            "Keys",
            "Esc close · j/k scroll",
        )),
        r,
    );
}

fn render_digest(frame: &mut Frame, theme: &Theme, text: &[String], scroll: u16) {
    let area = frame.area();
    let lines: Vec<Line> = text
        .iter()
        .map(|l| Line::raw(sanitize(l).into_owned()))
        .collect();
    let w = area.width.saturating_sub(4).min(120);
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2).max(3));
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(frame_block(
                theme,
                "Since you looked",
                "Esc close · j/k scroll · D again",
            )),
        r,
    );
}

fn render_reassign(
    frame: &mut Frame,
    theme: &Theme,
    alert: u64,
    choices: &[(String, usize)],
    sel: usize,
) {
    let area = frame.area();
    let h = (choices.len() as u16 + 3).min(area.height.saturating_sub(2).max(3));
    let r = centered(area, 48, h);
    let inner_h = h.saturating_sub(3) as usize;
    let top = sel.saturating_sub(inner_h.saturating_sub(1));
    let mut lines = vec![Line::from(Span::styled(
        format!("A-{alert} → healthy agent (open tasks):"),
        theme.bold(),
    ))];
    for (i, (name, open)) in choices.iter().enumerate().skip(top).take(inner_h) {
        let marker = if i == sel { "▶ " } else { "  " };
        let num = if i < 9 {
            format!("{}", i + 1)
        } else {
            " ".into()
        };
        let style = if i == sel {
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
        Paragraph::new(lines).block(frame_block(theme, "Reassign", "Enter pick · Esc cancel")),
        r,
    );
}

fn render_snooze(frame: &mut Frame, theme: &Theme, alert: u64, sel: usize) {
    let r = centered(frame.area(), 36, 7);
    let mut lines = vec![Line::from(Span::styled(
        format!("Snooze A-{alert} for:"),
        theme.bold(),
    ))];
    for (i, (label, _)) in SNOOZE_CHOICES.iter().enumerate() {
        let style = if i == sel {
            theme.selected()
        } else {
            Style::new()
        };
        let marker = if i == sel { "▶" } else { " " };
        lines.push(Line::from(Span::styled(
            format!("{marker} {} {label}", i + 1),
            style,
        )));
    }
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(frame_block(theme, "Snooze", "Enter pick · Esc cancel")),
        r,
    );
}

fn render_input(
    frame: &mut Frame,
    theme: &Theme,
    purpose: InputPurpose,
    alert: u64,
    text: &str,
    error: Option<&str>,
) {
    let r = centered(frame.area(), 64, 6);
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
            match purpose {
                InputPurpose::TravelTo => purpose.prompt().to_string(),
                _ => format!("A-{alert}: {}", purpose.prompt()),
            },
            theme.bold(),
        )),
        Line::from(vec![Span::raw(shown), Span::styled("█", theme.dim())]),
        match error {
            Some(e) => Line::from(Span::styled(e.to_string(), theme.bad())),
            None => Line::raw(""),
        },
    ];
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(frame_block(theme, purpose.title(), "Enter ok · Esc cancel")),
        r,
    );
}

/// The question, wrapped to the screen, then the two answers; the border is
/// whole at every width.
fn render_confirm(frame: &mut Frame, theme: &Theme, question: &str) {
    let area = frame.area();
    let w = (question.chars().count() as u16 + 4)
        .max(30)
        .min(area.width.saturating_sub(2).max(3));
    let text_w = w.saturating_sub(2).max(1) as usize;
    let rows = question.chars().count().div_ceil(text_w).max(1) as u16;
    let r = centered(area, w, rows + 4);
    let mut lines = vec![Line::from(Span::styled(question.to_string(), theme.bold()))];
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(" y ", theme.key()),
        Span::raw("yes   "),
        Span::styled(" n ", theme.key()),
        Span::raw("no"),
    ]));
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(frame_block(theme, "Confirm", "")),
        r,
    );
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
