//! Words for people, shared by the engine, the console and the reports.

use crate::sanitize::sanitize;
use chrono::TimeDelta;

/// A value for a `key=value` line: sanitised, quoted when it holds a space, a
/// quote or an `=` (or is empty).
pub fn kv(s: &str) -> String {
    let s = sanitize(s);
    if s.is_empty() || s.contains([' ', '"', '=']) {
        format!("{:?}", s.as_ref())
    } else {
        s.into_owned()
    }
}

/// A duration for people: `10 s`, `5 min`, `1 min 30 s`, `2 h 5 min`.
pub fn fmt_span(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let parts: Vec<String> = [(s / 3600, "h"), (s % 3600 / 60, "min"), (s % 60, "s")]
        .into_iter()
        .filter(|&(n, _)| n > 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        "0 s".into()
    } else {
        parts.join(" ")
    }
}

/// A time in a command's text: `2026-11-24 10:00:00` (UTC).
pub fn fmt_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `1 open task`, `2 open tasks`, `0 open tasks`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A span of time as an age, to the unit that matters: `42 s`, `12 min`,
/// `3 h 12 min`, `2 d 3 h`.
pub fn fmt_age(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (big, small) = match s {
        0..60 => return format!("{s} s"),
        60..3600 => return format!("{} min", s / 60),
        3600..86_400 => ((s / 3600, "h"), (s % 3600 / 60, "min")),
        _ => ((s / 86_400, "d"), (s % 86_400 / 3600, "h")),
    };
    if small.0 == 0 {
        format!("{} {}", big.0, big.1)
    } else {
        format!("{} {} {} {}", big.0, big.1, small.0, small.1)
    }
}

/// A countdown, read like a timer: `0:45`, `14:59`; past an hour, an age.
pub fn fmt_countdown(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    if s < 3600 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        fmt_age(d)
    }
}

/// At most `n` characters, with `…` when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    if n == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

/// At most `n` characters, cut between words (`…` marks the cut); a first
/// word longer than `n` is cut inside.
pub fn clip_words(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out = String::new();
    for word in s.split(' ') {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra + 1 > n {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        return clip(s, n);
    }
    out.push('…');
    out
}

/// At most `n` characters, cut in the middle (`…`), so that the tail that
/// tells two names apart (`…-instance-0042`, `…-0043`) stays.
pub fn clip_middle(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len <= n {
        return s.to_string();
    }
    if n <= 1 {
        return "…".chars().take(n).collect();
    }
    let tail = (n - 1) / 2;
    let head = n - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(len - tail));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_write_them() {
        for (secs, text) in [
            (0, "0 s"),
            (10, "10 s"),
            (60, "1 min"),
            (90, "1 min 30 s"),
            (300, "5 min"),
            (3600, "1 h"),
            (7500, "2 h 5 min"),
            (7505, "2 h 5 min 5 s"),
            (-5, "0 s"),
        ] {
            assert_eq!(fmt_span(TimeDelta::seconds(secs)), text, "{secs} s");
        }
    }

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(plural(1, "idle agent", "idle agents"), "1 idle agent");
        assert_eq!(plural(0, "idle agent", "idle agents"), "0 idle agents");
        assert_eq!(plural(2, "task", "tasks"), "2 tasks");
    }

    #[test]
    fn times_and_cuts() {
        assert_eq!(fmt_age(TimeDelta::seconds(42)), "42 s");
        assert_eq!(fmt_age(TimeDelta::seconds(725)), "12 min");
        assert_eq!(fmt_age(TimeDelta::seconds(3 * 3600 + 720)), "3 h 12 min");
        assert_eq!(fmt_age(TimeDelta::seconds(3 * 3600 + 30)), "3 h");
        assert_eq!(
            fmt_age(TimeDelta::seconds(2 * 86_400 + 3 * 3600)),
            "2 d 3 h"
        );
        assert_eq!(fmt_age(TimeDelta::seconds(-5)), "0 s");
        assert_eq!(fmt_countdown(TimeDelta::seconds(45)), "0:45");
        assert_eq!(fmt_countdown(TimeDelta::seconds(899)), "14:59");
        assert_eq!(fmt_countdown(TimeDelta::seconds(3900)), "1 h 5 min");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(
            clip_words("auth-api/unit_tests backend-1", 22),
            "auth-api/unit_tests…"
        );
        assert_eq!(clip_words("averyveryverylongword x", 8), "averyve…");
        assert_eq!(clip_words("short", 10), "short");
        assert_eq!(clip_middle("agent-instance-0042", 12), "agent-…-0042");
    }
}
