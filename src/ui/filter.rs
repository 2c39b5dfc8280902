//! The `/` filter: `type:` `agent:` `level:` `component:` (or `t:` `a:` `l:`
//! `c:`) and free words, each negated with a leading `-` (`-type:agent_heartbeat`,
//! `-flaky`). Values of one field are alternatives; fields and words must all
//! match; a negated term hides every row it matches. Case-insensitive
//! substring matches, like k9s and lnav. Levels are read as the screen prints
//! them (`CRIT`, `HIGH`, `MED`, `LOW`) or as words (`critical`, `medium`, …),
//! and a term that is not a level is an error shown, never silently ignored.

use super::app::{EntryBody, StreamEntry};
use crate::engine::agents::Agent;
use crate::engine::alerts::Alert;
use crate::model::Level;

/// The terms of one polarity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terms {
    pub types: Vec<String>,
    pub agents: Vec<String>,
    pub components: Vec<String>,
    pub levels: Vec<Level>,
    pub text: Vec<String>,
}

impl Terms {
    fn is_empty(&self) -> bool {
        self.types.is_empty()
            && self.agents.is_empty()
            && self.components.is_empty()
            && self.levels.is_empty()
            && self.text.is_empty()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// What a row must match.
    pub want: Terms,
    /// What hides a row.
    pub hide: Terms,
    /// Tokens that could not be read (`level:urgent`).
    pub errors: Vec<String>,
}

/// A row's fields, as the filter sees them.
struct Row<'a> {
    kind: &'a str,
    agent: Option<&'a str>,
    component: Option<&'a str>,
    level: Option<Level>,
    /// Everything free words look in.
    text: &'a [Option<&'a str>],
}

pub fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
    h.len() >= n.len()
        && h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// A level as the screen prints it, or as a word.
fn level(s: &str) -> Option<Level> {
    Level::parse(s).or(match s {
        "crit" => Some(Level::Critical),
        "med" => Some(Level::Medium),
        _ => None,
    })
}

impl Filter {
    pub fn parse(s: &str) -> Filter {
        let mut f = Filter::default();
        for tok in s.split_whitespace() {
            let lower = tok.to_lowercase();
            let (terms, term) = match lower.strip_prefix('-').filter(|t| !t.is_empty()) {
                Some(t) => (&mut f.hide, t),
                None => (&mut f.want, lower.as_str()),
            };
            let Some((key, value)) = term.split_once(':').filter(|(k, _)| {
                matches!(
                    *k,
                    "type" | "t" | "agent" | "a" | "level" | "l" | "component" | "c"
                )
            }) else {
                terms.text.push(term.to_string());
                continue;
            };
            let value = value.to_string();
            match key {
                "type" | "t" => terms.types.push(value),
                "agent" | "a" => terms.agents.push(value),
                "component" | "c" => terms.components.push(value),
                _ => match level(&value) {
                    Some(l) => terms.levels.push(l),
                    None => f.errors.push(format!(
                        "{tok}: not a level (critical/crit, high, medium/med, low)"
                    )),
                },
            }
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        self.want.is_empty() && self.hide.is_empty()
    }

    fn matches(&self, row: &Row) -> bool {
        let any = |field: Option<&str>, wants: &[String]| {
            field.is_some_and(|f| wants.iter().any(|w| contains_ci(f, w)))
        };
        let word = |w: &String| row.text.iter().flatten().any(|f| contains_ci(f, w));
        let level = |levels: &[Level]| row.level.is_some_and(|l| levels.contains(&l));
        let (want, hide) = (&self.want, &self.hide);
        (want.types.is_empty() || any(Some(row.kind), &want.types))
            && (want.agents.is_empty() || any(row.agent, &want.agents))
            && (want.components.is_empty() || any(row.component, &want.components))
            && (want.levels.is_empty() || level(&want.levels))
            && want.text.iter().all(word)
            && !any(Some(row.kind), &hide.types)
            && !any(row.agent, &hide.agents)
            && !any(row.component, &hide.components)
            && !level(&hide.levels)
            && !hide.text.iter().any(word)
    }

    pub fn matches_entry(&self, e: &StreamEntry) -> bool {
        if self.is_empty() {
            return true;
        }
        match &e.body {
            EntryBody::Event(ev) => self.matches(&Row {
                kind: ev.kind.as_str(),
                agent: ev.agent(),
                component: ev.component(),
                level: e.level,
                text: &[
                    Some(ev.kind.as_str()),
                    ev.agent(),
                    ev.component(),
                    ev.task(),
                    ev.gate(),
                    ev.phase(),
                    ev.message(),
                    Some(ev.id()),
                ],
            }),
            EntryBody::ParseError(p) => self.matches(&Row {
                kind: "parse_error",
                agent: None,
                component: None,
                level: None,
                text: &[
                    Some("parse_error"),
                    Some(&p.source),
                    Some(&p.reason),
                    Some(&p.excerpt),
                ],
            }),
        }
    }

    pub fn matches_alert(&self, a: &Alert) -> bool {
        if self.is_empty() {
            return true;
        }
        let label = a.label();
        self.matches(&Row {
            kind: a.trigger.as_str(),
            agent: a.agent.as_deref(),
            component: a.component.as_deref(),
            level: Some(a.level),
            text: &[
                Some(a.trigger.as_str()),
                Some(&label),
                a.agent.as_deref(),
                a.component.as_deref(),
                a.gate.as_deref(),
                a.task.as_deref(),
                a.message.as_deref(),
                a.assignee.as_deref(),
                a.ack_owner.as_deref(),
            ],
        })
    }

    /// The part of the filter that applies to agents: `agent:` and words (the
    /// other fields do not). Built once per refresh, then `matches_agent`.
    pub fn for_agents(&self) -> Filter {
        let part = |t: &Terms| Terms {
            agents: t.agents.clone(),
            text: t.text.clone(),
            ..Terms::default()
        };
        Filter {
            want: part(&self.want),
            hide: part(&self.hide),
            errors: Vec::new(),
        }
    }

    /// Whether an agent passes; call on `for_agents()`.
    pub fn matches_agent(&self, a: &Agent) -> bool {
        self.is_empty()
            || self.matches(&Row {
                kind: "",
                agent: Some(&a.id),
                component: None,
                level: None,
                text: &[
                    Some(&a.id),
                    Some(a.liveness.as_str()),
                    a.current_task.as_deref(),
                ],
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let f = Filter::parse("type:blocker agent:BE level:high level:crit-ish tests green");
        assert_eq!(f.want.types, vec!["blocker"]);
        assert_eq!(f.want.agents, vec!["be"]);
        assert_eq!(f.want.levels, vec![Level::High]);
        assert_eq!(f.want.text, vec!["tests", "green"]);
        assert_eq!(f.errors.len(), 1);
        assert!(Filter::parse("  ").is_empty());
        assert!(contains_ci("Backend-1", "backend"));
        assert!(!contains_ci("be", "backend"));
    }

    #[test]
    fn negation_and_the_level_words_the_screen_prints() {
        let f = Filter::parse("-type:agent_heartbeat -flaky level:CRIT l:med -");
        assert_eq!(f.hide.types, vec!["agent_heartbeat"]);
        assert_eq!(f.hide.text, vec!["flaky"]);
        assert_eq!(f.want.levels, vec![Level::Critical, Level::Medium]);
        // A lone `-` is a word, not a negation of nothing.
        assert_eq!(f.want.text, vec!["-"]);
        assert!(f.errors.is_empty());
        let row = |kind, level| Row {
            kind,
            agent: Some("be-1"),
            component: None,
            level: Some(level),
            text: &[],
        };
        let f = Filter::parse("-type:agent_heartbeat");
        assert!(!f.matches(&row("agent_heartbeat", Level::Low)));
        assert!(f.matches(&row("task_assigned", Level::Low)));
        let f = Filter::parse("level:crit");
        assert!(f.matches(&row("system_failure", Level::Critical)));
        assert!(!f.matches(&row("blocker_detected", Level::Medium)));
        let f = Filter::parse("-level:low -a:be-2");
        assert!(!f.matches(&row("x", Level::Low)));
        assert!(f.matches(&row("x", Level::High)));
        assert!(Filter::parse("level:urgent").errors.len() == 1);
    }
}
