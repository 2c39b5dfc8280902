//! The key map: SPEC 14's default keys, overridable from `ui.keys` in coord.json
//! (command name → key string such as `"a"`, `"A"`, `"ctrl-c"`, `"pgdn"`,
//! `"shift-tab"`, `"f5"`; several keys separated by spaces). Bad entries are
//! collected as messages to show at start, never a panic. Pure: no terminal I/O.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    FocusNext,
    FocusPrev,
    FocusEvents,
    FocusAgents,
    FocusAlerts,
    FocusProgress,
    FocusLog,
    Up,
    Down,
    Left,
    Right,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Details,
    Filter,
    Back,
    Zoom,
    Acknowledge,
    Reassign,
    Escalate,
    Resolve,
    FalseAlarm,
    Snooze,
    Note,
    AcknowledgeAll,
    Follow,
    ShowResolved,
    Heartbeats,
    Logs,
    MarkSeen,
    PastBack,
    PastForward,
    MinuteBack,
    MinuteForward,
    TravelTo,
    Digest,
    Help,
    Quit,
}

impl Command {
    pub const ALL: [Command; 40] = [
        Command::FocusNext,
        Command::FocusPrev,
        Command::FocusEvents,
        Command::FocusAgents,
        Command::FocusAlerts,
        Command::FocusProgress,
        Command::FocusLog,
        Command::Up,
        Command::Down,
        Command::Left,
        Command::Right,
        Command::Top,
        Command::Bottom,
        Command::PageUp,
        Command::PageDown,
        Command::Details,
        Command::Filter,
        Command::Back,
        Command::Zoom,
        Command::Acknowledge,
        Command::Reassign,
        Command::Escalate,
        Command::Resolve,
        Command::FalseAlarm,
        Command::Snooze,
        Command::Note,
        Command::AcknowledgeAll,
        Command::Follow,
        Command::ShowResolved,
        Command::Heartbeats,
        Command::Logs,
        Command::MarkSeen,
        Command::PastBack,
        Command::PastForward,
        Command::MinuteBack,
        Command::MinuteForward,
        Command::TravelTo,
        Command::Digest,
        Command::Help,
        Command::Quit,
    ];

    /// The name used in `ui.keys`.
    pub fn name(self) -> &'static str {
        use Command::*;
        match self {
            FocusNext => "focus_next",
            FocusPrev => "focus_prev",
            FocusEvents => "focus_events",
            FocusAgents => "focus_agents",
            FocusAlerts => "focus_alerts",
            FocusProgress => "focus_progress",
            FocusLog => "focus_log",
            Up => "up",
            Down => "down",
            Left => "left",
            Right => "right",
            Top => "top",
            Bottom => "bottom",
            PageUp => "page_up",
            PageDown => "page_down",
            Details => "details",
            Filter => "filter",
            Back => "back",
            Zoom => "zoom",
            Acknowledge => "acknowledge",
            Reassign => "reassign",
            Escalate => "escalate",
            Resolve => "resolve",
            FalseAlarm => "false_alarm",
            Snooze => "snooze",
            Note => "note",
            AcknowledgeAll => "acknowledge_all",
            Follow => "follow",
            ShowResolved => "show_resolved",
            Heartbeats => "heartbeats",
            Logs => "logs",
            MarkSeen => "mark_seen",
            PastBack => "past_back",
            PastForward => "past_forward",
            MinuteBack => "minute_back",
            MinuteForward => "minute_forward",
            TravelTo => "travel_to",
            Digest => "digest",
            Help => "help",
            Quit => "quit",
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What the help screen says it does.
    pub fn describe(self) -> &'static str {
        use Command::*;
        match self {
            FocusNext => "focus the next pane",
            FocusPrev => "focus the previous pane",
            FocusEvents => "focus Events (zooms on small screens)",
            FocusAgents => "focus Agents (zooms on small screens)",
            FocusAlerts => "focus Alerts (zooms on small screens)",
            FocusProgress => "focus Progress (zooms on small screens)",
            FocusLog => "focus Log (shows it)",
            Up => "move up",
            Down => "move down",
            Left => "move left (agent grid)",
            Right => "move right (agent grid)",
            Top => "go to the top (oldest)",
            Bottom => "go to the bottom (newest, follow)",
            PageUp => "page up",
            PageDown => "page down",
            Details => "details of the selection",
            Filter => "filter: words, type: agent: level: component:; -term hides",
            Back => "back: close dialog, clear filter, unzoom",
            Zoom => "zoom the focused pane",
            Acknowledge => "acknowledge the selected alert",
            Reassign => "reassign the selected alert (pick a healthy agent)",
            Escalate => "escalate the selected alert one level",
            Resolve => "resolve the selected alert (with a note)",
            FalseAlarm => "false alarm (a reason is required)",
            Snooze => "snooze the selected alert (15m / 1h / 4h / custom)",
            Note => "add a note to the selected alert",
            AcknowledgeAll => "acknowledge every alert in view (storms)",
            Follow => "follow the stream on/off",
            ShowResolved => "show resolved alerts on/off",
            Heartbeats => "show heartbeats in Events, or fold them (the grid has liveness)",
            Logs => "show or hide the log pane",
            MarkSeen => "mark everything seen (coord digest starts there; q does it too)",
            PastBack => "the past: back to the previous alert change (Esc or G: live)",
            PastForward => "the past: on to the next alert change (past the last: live)",
            MinuteBack => "the past: a minute back",
            MinuteForward => "the past: a minute on",
            TravelTo => "the past: go to a time you type",
            Digest => "what changed since you last looked (m or q marks it)",
            Help => "this help",
            Quit => "quit",
        }
    }

    /// SPEC 14's keys.
    fn defaults(self) -> &'static [&'static str] {
        use Command::*;
        match self {
            FocusNext => &["tab"],
            FocusPrev => &["shift-tab"],
            FocusEvents => &["1"],
            FocusAgents => &["2"],
            FocusAlerts => &["3"],
            FocusProgress => &["4"],
            FocusLog => &["5"],
            Up => &["k", "up"],
            Down => &["j", "down"],
            Left => &["left"],
            Right => &["right"],
            Top => &["g", "home"],
            Bottom => &["G", "end"],
            PageUp => &["pgup", "ctrl-u"],
            PageDown => &["pgdn", "ctrl-d"],
            Details => &["enter"],
            Filter => &["/"],
            Back => &["esc"],
            Zoom => &["z"],
            Acknowledge => &["a"],
            Reassign => &["r"],
            Escalate => &["e"],
            Resolve => &["x"],
            FalseAlarm => &["f"],
            Snooze => &["s"],
            Note => &["n"],
            AcknowledgeAll => &["A"],
            Follow => &["F"],
            ShowResolved => &["R"],
            Heartbeats => &["H"],
            Logs => &["l"],
            MarkSeen => &["m"],
            PastBack => &["["],
            PastForward => &["]"],
            MinuteBack => &["{"],
            MinuteForward => &["}"],
            TravelTo => &["t"],
            Digest => &["D"],
            Help => &["?", "f1"],
            Quit => &["q", "ctrl-c"],
        }
    }
}

/// A key with its modifiers, normalised: a letter typed with shift is the
/// upper-case letter without SHIFT, and shift-tab is `BackTab`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => {
                // Terminals report `?`, `A`, `/` with or without SHIFT: the char says it.
                if !c.is_ascii_alphabetic() || c.is_ascii_uppercase() {
                    mods.remove(KeyModifiers::SHIFT);
                }
                KeyCode::Char(c)
            }
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    pub fn from_event(e: &KeyEvent) -> Key {
        Key::new(e.code, e.modifiers)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Parses a key string: optional `ctrl-`, `alt-`, `shift-` prefixes (also with
/// `+`), then one character or a name (`enter`, `esc`, `tab`, `space`, `up`,
/// `pgdn`, `f1`…`f12`, …). Letters are case-sensitive: `A` is shift-a.
pub fn parse_key(s: &str) -> Result<Key, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("an empty key".into());
    }
    let mut mods = KeyModifiers::NONE;
    let mut rest = s;
    loop {
        let lower = rest.to_ascii_lowercase();
        let prefix = [
            "ctrl-", "ctrl+", "control-", "c-", "alt-", "alt+", "meta-", "m-", "shift-", "shift+",
            "s-",
        ]
        .into_iter()
        .find(|p| lower.starts_with(p) && rest.len() > p.len());
        let Some(p) = prefix else { break };
        mods |= match p.chars().next() {
            Some('c') => KeyModifiers::CONTROL,
            Some('a') | Some('m') => KeyModifiers::ALT,
            _ => KeyModifiers::SHIFT,
        };
        rest = &rest[p.len()..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => KeyCode::Char(c),
        _ => {
            let name = rest.to_ascii_lowercase();
            match name.as_str() {
                "enter" | "return" | "cr" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" | "spc" => KeyCode::Char(' '),
                "backspace" | "bs" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" | "page_up" => KeyCode::PageUp,
                "pgdn" | "pgdown" | "pagedown" | "page_down" => KeyCode::PageDown,
                "minus" => KeyCode::Char('-'),
                "plus" => KeyCode::Char('+'),
                _ => match name.strip_prefix('f').map(str::parse::<u8>) {
                    Some(Ok(n)) if (1..=24).contains(&n) => KeyCode::F(n),
                    _ => return Err(format!("{s:?} is not a key (expected e.g. \"a\", \"A\", \"ctrl-c\", \"pgdn\", \"shift-tab\", \"f5\")")),
                },
            }
        }
    };
    Ok(Key::new(code, mods))
}

/// Keys to commands.
#[derive(Clone, Debug)]
pub struct KeyMap {
    /// Small (≈ 45 entries): a linear scan beats hashing here.
    bindings: Vec<(Key, Command)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap::from_config(&BTreeMap::new()).0
    }
}

impl KeyMap {
    /// The defaults with `overrides` (command → key strings) on top, and a message
    /// for every entry that could not be used.
    pub fn from_config(overrides: &BTreeMap<String, String>) -> (KeyMap, Vec<String>) {
        let mut errors = Vec::new();
        let mut chosen: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for (name, keys) in overrides {
            let Some(cmd) = Command::from_name(name) else {
                errors.push(format!(
                    "ui.keys.{name}: unknown command (known: {})",
                    Command::ALL.map(Command::name).join(", ")
                ));
                continue;
            };
            let mut list = Vec::new();
            for k in keys.split_whitespace() {
                match parse_key(k) {
                    Ok(key) => list.push(key),
                    Err(e) => errors.push(format!("ui.keys.{name}: {e}")),
                }
            }
            if list.is_empty() && keys.split_whitespace().next().is_none() {
                errors.push(format!("ui.keys.{name}: no key given"));
            }
            if !list.is_empty() {
                chosen.insert(cmd, list);
            }
        }
        // Two overrides on one key: the first keeps it.
        let mut taken: Vec<(Key, Command)> = Vec::new();
        for (cmd, keys) in &chosen {
            for key in keys {
                if let Some((_, other)) = taken.iter().find(|(k, _)| k == key) {
                    errors.push(format!(
                        "ui.keys.{}: {key} is already bound to {}",
                        cmd.name(),
                        other.name()
                    ));
                } else {
                    taken.push((*key, *cmd));
                }
            }
        }
        // Defaults of the commands not overridden, unless an override took the key.
        let mut bindings = taken.clone();
        for cmd in Command::ALL {
            if chosen.contains_key(&cmd) {
                continue;
            }
            for k in cmd.defaults() {
                let key = parse_key(k).expect("default keys parse");
                if !bindings.iter().any(|(b, _)| *b == key) {
                    bindings.push((key, cmd));
                }
            }
        }
        (KeyMap { bindings }, errors)
    }

    pub fn lookup(&self, key: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(key);
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| *c)
    }

    /// The keys bound to a command, in binding order.
    pub fn keys_of(&self, cmd: Command) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, c)| *c == cmd)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The first key of a command as text, for hints ("a ack").
    pub fn hint(&self, cmd: Command) -> String {
        self.keys_of(cmd)
            .first()
            .map_or_else(|| "-".into(), |k| k.to_string())
    }

    /// Every command with its keys and description, for `?`.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        Command::ALL
            .into_iter()
            .map(|c| {
                let keys: Vec<String> = self.keys_of(c).iter().map(Key::to_string).collect();
                let keys = if keys.is_empty() {
                    "(unbound)".to_string()
                } else {
                    keys.join(" ")
                };
                (keys, c.describe())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, mods: KeyModifiers) -> Key {
        Key { code, mods }
    }

    #[test]
    fn key_strings() {
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let alt = KeyModifiers::ALT;
        let table: &[(&str, Key)] = &[
            ("a", k(KeyCode::Char('a'), none)),
            ("A", k(KeyCode::Char('A'), none)),
            ("shift-a", k(KeyCode::Char('A'), none)),
            ("ctrl-c", k(KeyCode::Char('c'), ctrl)),
            ("Ctrl+C", k(KeyCode::Char('C'), ctrl)),
            ("alt-x", k(KeyCode::Char('x'), alt)),
            ("ctrl-alt-del", k(KeyCode::Delete, ctrl | alt)),
            ("pgdn", k(KeyCode::PageDown, none)),
            ("PageUp", k(KeyCode::PageUp, none)),
            ("shift-tab", k(KeyCode::BackTab, none)),
            ("backtab", k(KeyCode::BackTab, none)),
            ("tab", k(KeyCode::Tab, none)),
            ("f5", k(KeyCode::F(5), none)),
            ("F12", k(KeyCode::F(12), none)),
            ("enter", k(KeyCode::Enter, none)),
            ("esc", k(KeyCode::Esc, none)),
            ("space", k(KeyCode::Char(' '), none)),
            ("?", k(KeyCode::Char('?'), none)),
            ("/", k(KeyCode::Char('/'), none)),
            ("-", k(KeyCode::Char('-'), none)),
            ("up", k(KeyCode::Up, none)),
            ("end", k(KeyCode::End, none)),
        ];
        for (s, want) in table {
            assert_eq!(parse_key(s).as_ref(), Ok(want), "{s}");
        }
        for bad in ["", "ctrl-", "f0", "f99", "nope", "ctrl-nope", "ab"] {
            assert!(parse_key(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "a",
            "A",
            "ctrl-c",
            "pgdn",
            "shift-tab",
            "f5",
            "enter",
            "space",
            "?",
        ] {
            let key = parse_key(s).unwrap();
            assert_eq!(parse_key(&key.to_string()).unwrap(), key, "{s}");
        }
    }

    #[test]
    fn typed_keys_match_bindings() {
        let map = KeyMap::default();
        let ev = |c, m| KeyEvent::new(c, m);
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('a'), KeyModifiers::NONE)),
            Some(Command::Acknowledge)
        );
        // Terminals send `A` with SHIFT set.
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            Some(Command::AcknowledgeAll)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Command::Help)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Tab, KeyModifiers::SHIFT)),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('F'), KeyModifiers::SHIFT)),
            Some(Command::Follow)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('f'), KeyModifiers::NONE)),
            Some(Command::FalseAlarm)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('3'), KeyModifiers::NONE)),
            Some(Command::FocusAlerts)
        );
    }

    #[test]
    fn overrides_and_errors() {
        let mut o = BTreeMap::new();
        o.insert("acknowledge".to_string(), "y".to_string());
        o.insert("quit".to_string(), "ctrl-q Q".to_string());
        o.insert("frobnicate".to_string(), "z".to_string());
        o.insert("note".to_string(), "ctrl-".to_string());
        o.insert("escalate".to_string(), "y".to_string());
        let (map, errors) = KeyMap::from_config(&o);
        let ev = |c, m| KeyEvent::new(c, m);
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('y'), KeyModifiers::NONE)),
            Some(Command::Acknowledge)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('a'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            Some(Command::Quit)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        // A bad entry leaves the default in place.
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(Command::Note)
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors
            .iter()
            .any(|e| e.starts_with("ui.keys.frobnicate: unknown command")));
        assert!(errors.iter().any(|e| e.starts_with("ui.keys.note: ")));
        assert!(errors
            .iter()
            .any(|e| e.contains("already bound to acknowledge")));
    }

    #[test]
    fn help_lists_every_command() {
        let help = KeyMap::default().help();
        assert_eq!(help.len(), Command::ALL.len());
        assert!(help.iter().all(|(k, _)| k != "(unbound)"));
    }
}
