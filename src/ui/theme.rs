//! Colours and text styles of the console. The 16 ANSI colours by default (they
//! follow the operator's terminal palette); with `NO_COLOR` or the `mono` theme
//! every colour is `Reset` and meaning is carried by modifiers and words, never by
//! colour alone. This module decides styles only; it never draws.

use crate::config::Theme as ThemeChoice;
use crate::engine::agents::Liveness;
use crate::model::{Category, Level};
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// False under `NO_COLOR` or the `mono` theme.
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

impl Theme {
    /// The theme for a configured choice, given whether `NO_COLOR` is set.
    pub fn new(choice: ThemeChoice, no_color: bool) -> Theme {
        let color = match choice {
            ThemeChoice::Mono => false,
            ThemeChoice::Ansi16 => !no_color,
            ThemeChoice::Auto => !no_color,
        };
        Theme { color }
    }

    /// Reads `NO_COLOR` (set and non-empty) from the environment.
    pub fn from_env(choice: ThemeChoice) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::new(choice, no_color)
    }

    pub fn mono() -> Theme {
        Theme { color: false }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn plain(&self) -> Style {
        Style::new()
    }

    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Critical red, High light red, Medium yellow, Low dim. In mono: Critical
    /// reversed and bold, High bold, Medium plain, Low dim.
    pub fn level(&self, level: Level) -> Style {
        match (self.color, level) {
            (true, Level::Critical) => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            (true, Level::High) => Style::new().fg(Color::LightRed),
            (true, Level::Medium) => Style::new().fg(Color::Yellow),
            (true, Level::Low) => Style::new().add_modifier(Modifier::DIM),
            (false, Level::Critical) => {
                Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
            }
            (false, Level::High) => Style::new().add_modifier(Modifier::BOLD),
            (false, Level::Medium) => Style::new(),
            (false, Level::Low) => Style::new().add_modifier(Modifier::DIM),
        }
    }

    pub fn liveness(&self, l: Liveness) -> Style {
        match (self.color, l) {
            (true, Liveness::Healthy) => Style::new().fg(Color::Green),
            (true, Liveness::Late) => Style::new().fg(Color::Yellow),
            (true, Liveness::TimedOut) => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            (true, Liveness::Offline) => Style::new().add_modifier(Modifier::DIM),
            (true, Liveness::Standby) => Style::new().fg(Color::Cyan),
            (true, Liveness::Waiting) => {
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD)
            }
            (true, Liveness::Idle) => Style::new().fg(Color::Green).add_modifier(Modifier::DIM),
            (false, Liveness::TimedOut) => {
                Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
            }
            (false, Liveness::Late | Liveness::Waiting) => {
                Style::new().add_modifier(Modifier::BOLD)
            }
            (false, Liveness::Offline | Liveness::Standby) => {
                Style::new().add_modifier(Modifier::DIM)
            }
            (false, Liveness::Healthy | Liveness::Idle) => Style::new(),
        }
    }

    pub fn category(&self, c: Category) -> Style {
        match c {
            Category::Progress => self.fg(Color::Green),
            Category::Crisis => self.fg(Color::LightRed),
            Category::Completion => self.fg(Color::Cyan),
            Category::Coordination => self.fg(Color::Blue),
            Category::Other => self.dim(),
        }
    }

    /// A parse error in the stream.
    pub fn error(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Yellow)
        } else {
            self.bold()
        }
    }

    pub fn bad(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    /// A badge such as FLAP, SNOOZED, SLA.
    pub fn badge(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    /// The selected row or cell: reversed in both modes (never a background colour,
    /// which `NO_COLOR` terminals would lose).
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            self.bold()
        }
    }

    pub fn status_bar(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn gauge(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_means_no_colours() {
        let t = Theme::new(ThemeChoice::Auto, true);
        for l in Level::ALL {
            let s = t.level(l);
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert!(t
            .level(Level::Critical)
            .add_modifier
            .contains(Modifier::REVERSED));
        assert!(t
            .liveness(Liveness::TimedOut)
            .add_modifier
            .contains(Modifier::BOLD));
        assert_eq!(Theme::new(ThemeChoice::Mono, false), Theme::mono());
        assert!(Theme::new(ThemeChoice::Ansi16, false).color);
        assert_eq!(Theme::default().level(Level::Critical).fg, Some(Color::Red));
    }
}
