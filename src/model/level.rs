//! Alert levels and escalation tiers: small ordered enums shared by the engine,
//! the configuration and every view.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Severity of an alert. Ordered so that `Critical > High > Medium > Low`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Critical, Level::High, Level::Medium, Level::Low];

    /// The seed's numbering: Critical (1) … Low (4).
    pub fn number(self) -> u8 {
        match self {
            Level::Critical => 1,
            Level::High => 2,
            Level::Medium => 3,
            Level::Low => 4,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    /// Reads a severity as agents write it: our four words, the seed's `info` and
    /// `warning`, and the seed's level numbers 1–4. Case-insensitive.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim();
        let eq = |w: &str| s.eq_ignore_ascii_case(w);
        if eq("critical") || eq("1") {
            Some(Level::Critical)
        } else if eq("high") || eq("error") || eq("2") {
            Some(Level::High)
        } else if eq("medium") || eq("warning") || eq("warn") || eq("3") {
            Some(Level::Medium)
        } else if eq("low") || eq("info") || eq("4") {
            Some(Level::Low)
        } else {
            None
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is currently expected to respond to an alert. Ordered: `Automated < Pm < Human`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Escalation {
    Automated,
    Pm,
    Human,
}

impl Escalation {
    pub fn as_str(self) -> &'static str {
        match self {
            Escalation::Automated => "automated",
            Escalation::Pm => "pm",
            Escalation::Human => "human",
        }
    }

    /// One tier up; `Human` is the top.
    pub fn up(self) -> Escalation {
        match self {
            Escalation::Automated => Escalation::Pm,
            Escalation::Pm | Escalation::Human => Escalation::Human,
        }
    }
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_and_parse() {
        assert!(Level::Critical > Level::High && Level::Medium > Level::Low);
        for (text, level) in [
            ("critical", Level::Critical),
            ("HIGH", Level::High),
            ("warning", Level::Medium),
            ("info", Level::Low),
            ("3", Level::Medium),
        ] {
            assert_eq!(Level::parse(text), Some(level), "{text}");
        }
        assert_eq!(Level::parse("urgent"), None);
    }

    #[test]
    fn escalation_climbs_and_stops_at_human() {
        assert_eq!(Escalation::Automated.up(), Escalation::Pm);
        assert_eq!(Escalation::Pm.up(), Escalation::Human);
        assert_eq!(Escalation::Human.up(), Escalation::Human);
    }
}
