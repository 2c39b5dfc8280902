//! Where each pane goes at a given terminal size: a four-pane dashboard from
//! 120×30 (plus the Log pane when shown), stacked panes from 80×24 (the focused
//! pane open, the others one header line each; zoom hides the headers), and
//! below that a single pane under a tab bar. Pure geometry: every rectangle lies
//! inside the area, at any size down to 0×0.

use super::app::Pane;
use ratatui::layout::{Constraint, Layout, Rect};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Dashboard,
    Stacked,
    Single,
}

impl Mode {
    pub fn for_size(width: u16, height: u16) -> Mode {
        if width >= 120 && height >= 30 {
            Mode::Dashboard
        } else if width >= 80 && height >= 24 {
            Mode::Stacked
        } else {
            Mode::Single
        }
    }
}

/// The screen cut into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    pub mode: Mode,
    /// Panes drawn in full, with whether they get a border.
    pub panes: Vec<(Pane, Rect)>,
    pub bordered: bool,
    /// Collapsed panes (stacked mode): one header line each.
    pub headers: Vec<(Pane, Rect)>,
    /// The tab bar (single mode).
    pub tabs: Option<Rect>,
    /// The filter line (while editing the filter).
    pub filter: Option<Rect>,
    pub status: Option<Rect>,
}

/// Cuts `area`.
pub fn compute(
    area: Rect,
    focus: Pane,
    zoom: bool,
    show_log: bool,
    editing_filter: bool,
) -> Screen {
    let mode = Mode::for_size(area.width, area.height);
    let mut screen = Screen {
        mode,
        panes: Vec::new(),
        bordered: true,
        headers: Vec::new(),
        tabs: None,
        filter: None,
        status: None,
    };
    if area.is_empty() {
        return screen;
    }
    let mut main = area;
    // The status bar, on the last row, when there is room for anything else.
    if main.height >= 2 {
        screen.status = Some(Rect {
            y: main.bottom() - 1,
            height: 1,
            ..main
        });
        main.height -= 1;
    }
    if editing_filter && main.height >= 2 {
        screen.filter = Some(Rect {
            y: main.bottom() - 1,
            height: 1,
            ..main
        });
        main.height -= 1;
    }
    let focus = if focus == Pane::Log && !show_log {
        Pane::Events
    } else {
        focus
    };
    match mode {
        Mode::Dashboard => {
            if zoom {
                screen.panes.push((focus, main));
                return screen;
            }
            if show_log {
                let h = (main.height / 4).max(6);
                screen.panes.push((
                    Pane::Log,
                    Rect {
                        y: main.bottom() - h,
                        height: h,
                        ..main
                    },
                ));
                main.height -= h;
            }
            // Events beside Agents on top; the crisis matrix, which needs the
            // width, beside Progress below.
            let [upper, lower] =
                Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(main);
            let [events, agents] =
                Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                    .areas(upper);
            let [alerts, progress] =
                Layout::horizontal([Constraint::Percentage(66), Constraint::Percentage(34)])
                    .areas(lower);
            screen.panes.splice(
                0..0,
                [
                    (Pane::Events, events),
                    (Pane::Agents, agents),
                    (Pane::Alerts, alerts),
                    (Pane::Progress, progress),
                ],
            );
        }
        Mode::Stacked => {
            if zoom {
                screen.panes.push((focus, main));
                return screen;
            }
            let panes: Vec<Pane> = Pane::ALL
                .into_iter()
                .filter(|p| *p != Pane::Log || show_log)
                .collect();
            let others = panes.len() as u16 - 1;
            let body = main.height.saturating_sub(others);
            let mut y = main.y;
            for p in panes {
                let h = if p == focus { body } else { 1 };
                let r = Rect {
                    y,
                    height: h,
                    ..main
                };
                if p == focus {
                    screen.panes.push((p, r));
                } else {
                    screen.headers.push((p, r));
                }
                y += h;
            }
        }
        Mode::Single => {
            if main.height >= 3 {
                screen.tabs = Some(Rect { height: 1, ..main });
                main.y += 1;
                main.height -= 1;
            }
            screen.bordered = main.height >= 8 && main.width >= 30;
            screen.panes.push((focus, main));
        }
    }
    screen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_by_size() {
        assert_eq!(Mode::for_size(120, 30), Mode::Dashboard);
        assert_eq!(Mode::for_size(119, 30), Mode::Stacked);
        assert_eq!(Mode::for_size(80, 24), Mode::Stacked);
        assert_eq!(Mode::for_size(80, 23), Mode::Single);
        assert_eq!(Mode::for_size(200, 20), Mode::Single);
    }

    #[test]
    fn every_rect_inside_at_every_size() {
        for w in 0..140u16 {
            for h in 0..45u16 {
                let area = Rect::new(0, 0, w, h);
                for (zoom, log, filter) in [
                    (false, false, false),
                    (true, true, true),
                    (false, true, true),
                ] {
                    for focus in Pane::ALL {
                        let s = compute(area, focus, zoom, log, filter);
                        let rects = s
                            .panes
                            .iter()
                            .chain(&s.headers)
                            .map(|p| p.1)
                            .chain(s.tabs)
                            .chain(s.filter)
                            .chain(s.status);
                        for r in rects {
                            assert_eq!(area.intersection(r), r, "{w}x{h} {r:?}");
                        }
                    }
                }
            }
        }
    }
}
