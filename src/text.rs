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

/// `1 open task`, `2 open tasks`, `0 open tasks`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
}
