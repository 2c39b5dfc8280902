//! The report as Markdown: headings, short bullet lists and pipe tables, readable
//! raw in a terminal and rendered on a code host. Every string that came from an
//! event is made terminal-safe and cannot break a table cell.

use super::history::History;
use super::{PerLevel, Report, Score, ScoreStatus, SlaCounts};
use crate::engine::metrics::{DurationStats, Metrics};
use crate::engine::phases::{GateStatus, Outlook};
use crate::engine::Time;
use crate::model::Level;
use crate::sanitize::sanitize;
use std::io::{self, Write};

/// The alert timeline shows at most this many rows, the newest; JSON has them all.
const TIMELINE_ROWS: usize = 200;

/// Untrusted text for a table cell: controls escaped, pipes escaped, never empty.
fn cell(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    sanitize(s).replace('|', "\\|")
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "-".into(), cell)
}

pub(super) fn time(t: Time) -> String {
    crate::text::fmt_time(t)
}

fn opt_time(t: Option<Time>) -> String {
    t.map_or_else(|| "-".into(), time)
}

fn pct(x: f64) -> String {
    format!("{x:.1} %")
}

pub(super) fn rate(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |r| pct(r * 100.0))
}

/// A duration as people read it: 250 ms, 12.5 s, 4 min 10 s, 2 h 5 min,
/// 3 d 4 h (the words of the console and `status`).
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    let whole = chrono::TimeDelta::seconds(s as i64);
    if s < 1.0 {
        format!("{} ms", (s * 1000.0).round())
    } else if s < 60.0 {
        format!("{:.1} s", (s * 10.0).floor() / 10.0)
    } else if s < 3600.0 {
        crate::text::fmt_span(whole)
    } else {
        crate::text::fmt_age(whole)
    }
}

/// `n thing` or `n things`.
fn count(n: u64, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

pub(super) fn stats(d: &DurationStats) -> String {
    if d.count == 1 {
        // One sample: the mean is its exact value; the percentiles add nothing.
        return d
            .mean_s
            .map_or_else(|| "no data".into(), |m| format!("{} (n = 1)", duration(m)));
    }
    match (d.mean_s, d.p50_s, d.p90_s, d.p99_s) {
        (Some(mean), Some(p50), Some(p90), Some(p99)) => format!(
            "mean {} · p50 {} · p90 {} · p99 {} (n = {})",
            duration(mean),
            duration(p50),
            duration(p90),
            duration(p99),
            d.count
        ),
        _ => "no data".into(),
    }
}

/// A scorecard row in words: its value, what the target is judged on, and
/// whether it is met (the Markdown and the HTML say the same).
pub(super) fn score_words(s: &Score, m: &Metrics) -> (String, &'static str, &'static str) {
    let value = match s.metric {
        "detection_time" => stats(&m.detection_time),
        "response_initiation_time" => stats(&m.response_initiation_time),
        "resolution_time" => stats(&m.resolution_time.all),
        "coordination_restoration" => stats(&m.coordination_restoration),
        "automated_resolution_rate" => rate(m.automated_resolution_rate),
        "escalation_accuracy" => rate(m.escalation_accuracy),
        "false_alert_rate" => rate(m.false_alert_rate),
        "data_integrity" => {
            let d = &m.data_integrity;
            format!(
                "{}, {} (counted once), {}, {} derived",
                count(d.events, "event"),
                count(d.duplicates, "duplicate"),
                count(d.parse_errors, "parse error"),
                d.derived
            )
        }
        _ => "-".into(),
    };
    let judged_on = match s.statistic {
        "p99_s" => " (p99)",
        "mean_s" => " (mean)",
        _ => "",
    };
    let status = match s.status {
        ScoreStatus::Met => "met",
        ScoreStatus::Missed => "missed",
        ScoreStatus::NoData => "no data",
    };
    (value, judged_on, status)
}

/// After an alert's id: what only timers past the journal did.
fn projected_mark(projected: bool) -> &'static str {
    if projected {
        " *(projected)*"
    } else {
        ""
    }
}

pub(super) fn level_name(l: Level) -> &'static str {
    match l {
        Level::Critical => "Critical",
        Level::High => "High",
        Level::Medium => "Medium",
        Level::Low => "Low",
    }
}

pub(super) fn outlook(o: Outlook) -> &'static str {
    match o {
        Outlook::OnTrack => "on track",
        Outlook::AtRisk => "at risk",
        Outlook::NoTarget => "no target",
        Outlook::Unknown => "unknown",
    }
}

/// What an alert is about: its agent, component, gate and task.
fn subject(
    agent: &Option<String>,
    component: &Option<String>,
    gate: &Option<String>,
    task: &Option<String>,
) -> String {
    subject_as(agent, component, gate, task, cell)
}

/// `subject`, each name made safe by `text` (a Markdown cell, HTML).
pub(super) fn subject_as(
    agent: &Option<String>,
    component: &Option<String>,
    gate: &Option<String>,
    task: &Option<String>,
    text: impl Fn(&str) -> String,
) -> String {
    let parts: Vec<String> = [
        ("agent", agent),
        ("component", component),
        ("gate", gate),
        ("task", task),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {}", text(v))))
    .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn sla_line(c: &SlaCounts) -> String {
    if c.alerts == 0 {
        return "no alerts yet".into();
    }
    format!(
        "{} ({} of {} decided alerts answered in time; {} breached, {} pending)",
        rate(c.compliance),
        c.met,
        c.met + c.breached,
        c.breached,
        c.pending
    )
}

fn per_level<T>(p: &PerLevel<T>, f: impl Fn(&T) -> String) -> String {
    Level::ALL
        .iter()
        .map(|&l| format!("{} {}", f(p.get(l)), l.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A text sparkline of `values` from 0 to `max` (an empty one when there is
/// nothing to draw).
pub(super) fn sparkline(values: &[f64], max: f64) -> String {
    values
        .iter()
        .map(|v| {
            let i = if max > 0.0 {
                (v / max * 7.0).round()
            } else {
                0.0
            };
            SPARKS[(i as usize).min(7)]
        })
        .collect()
}

/// `n` items evenly taken from `items` (all when fewer), the first and the
/// last kept.
fn every<T>(items: &[T], n: usize) -> Vec<&T> {
    let len = items.len();
    if len <= n {
        return items.iter().collect();
    }
    (0..n).map(|i| &items[(i * (len - 1)) / (n - 1)]).collect()
}

/// Text for a mermaid string: no quote, backtick or control character.
fn mermaid_text(s: &str) -> String {
    sanitize(s).replace(['"', '`'], "'")
}

/// The current phase's burn-up as a mermaid xychart, which GitHub draws:
/// completion at `POINTS` moments, and the straight line to the target.
fn burn_up(r: &Report, h: &History, out: &mut dyn Write) -> io::Result<()> {
    const POINTS: usize = 12;
    let Some(i) = super::charts::phase_index(r) else {
        return Ok(());
    };
    let samples = every(&h.samples, POINTS);
    if samples.len() < 2 {
        return Ok(());
    }
    let p = &r.phases[i];
    let (t0, t1) = (samples[0].at, samples[samples.len() - 1].at);
    let label = |t: Time| {
        if t1 - t0 > chrono::TimeDelta::days(1) {
            t.format("%m-%d %H:%M").to_string()
        } else {
            t.format("%H:%M:%S").to_string()
        }
    };
    let xs: Vec<String> = samples
        .iter()
        .map(|s| format!("\"{}\"", label(s.at)))
        .collect();
    let done: Vec<String> = samples
        .iter()
        .map(|s| format!("{:.1}", s.phases.get(i).copied().unwrap_or(0.0)))
        .collect();
    writeln!(out, "\n```mermaid\nxychart-beta")?;
    writeln!(
        out,
        "    title \"Burn-up: {} ({})\"",
        mermaid_text(&p.name),
        mermaid_text(&p.id)
    )?;
    writeln!(out, "    x-axis \"time (UTC)\" [{}]", xs.join(", "))?;
    writeln!(out, "    y-axis \"completion (%)\" 0 --> 100")?;
    writeln!(out, "    line [{}]", done.join(", "))?;
    let target = p.target.filter(|t| *t > t0).map(|t| {
        let whole = (t - t0).num_milliseconds() as f64;
        samples
            .iter()
            .map(|s| {
                let y = (s.at - t0).num_milliseconds() as f64 / whole * 100.0;
                format!("{:.1}", y.min(100.0))
            })
            .collect::<Vec<_>>()
    });
    if let Some(line) = &target {
        writeln!(out, "    line [{}]", line.join(", "))?;
    }
    writeln!(out, "```\n")?;
    writeln!(
        out,
        "Completion of {} over time{}.",
        cell(&p.name),
        if target.is_some() {
            "; the second line is the straight line from the journal's start to the target"
        } else {
            ""
        }
    )?;
    Ok(())
}

pub fn write(r: &Report, h: &History, out: &mut dyn Write) -> io::Result<()> {
    let epic = r.epic.name.as_deref().map(cell);
    writeln!(
        out,
        "# Stakeholder report{}",
        epic.as_ref().map_or(String::new(), |e| format!(" — {e}"))
    )?;
    let p = &r.projected;
    let when = crate::cli::as_of::describe(r.as_of, r.journal_last, r.console_running, p.any());
    writeln!(out, "\n{} · coord {}\n", when[0], env!("CARGO_PKG_VERSION"))?;
    for line in &when[1..] {
        let counts: Vec<String> = [
            (p.alerts, "alert", "alerts"),
            (p.agents, "agent", "agents"),
            (p.tasks, "task", "tasks"),
        ]
        .into_iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, one, many)| crate::text::plural(n, one, many))
        .collect();
        writeln!(out, "{line}: {}.\n", counts.join(", "))?;
    }

    // Summary: what an executive reads and stops at.
    writeln!(out, "## Summary\n")?;
    let current = r.phases.iter().find(|p| p.current);
    writeln!(
        out,
        "- **Epic**: {} complete; {} of {} phases complete{}",
        pct(r.epic.completion),
        r.epic.phases_complete,
        r.epic.phases_total,
        current.map_or(String::new(), |p| format!(
            "; current phase {} at {}, {}",
            cell(&p.name),
            pct(p.completion),
            outlook(p.outlook)
        )),
    )?;
    let c = &r.crises;
    writeln!(
        out,
        "- **Open crises**: {} ({}){}{}{}",
        c.open,
        per_level(&c.by_level, |n| n.to_string()),
        if c.sla_breached > 0 {
            format!("; {} past the response deadline", c.sla_breached)
        } else {
            String::new()
        },
        if c.escalated_to_human > 0 {
            format!("; {} with a human", c.escalated_to_human)
        } else {
            String::new()
        },
        if c.degraded {
            "; **system degraded**"
        } else {
            ""
        },
    )?;
    writeln!(out, "- **SLA compliance**: {}", sla_line(&r.sla.all))?;
    let f = &r.fleet;
    writeln!(
        out,
        "- **Fleet**: {} agents — {} healthy, {} waiting on a person, {} idle, {} late, {} timed out, \
         {} offline, {} standby; {} of {} tasks open, {} automated reassignments",
        f.agents,
        f.healthy,
        f.waiting,
        f.idle,
        f.late,
        f.timed_out,
        f.offline,
        f.standby,
        f.tasks_open,
        f.tasks_total,
        f.auto_reassignments
    )?;
    let met = r
        .scorecard
        .iter()
        .filter(|s| s.status == ScoreStatus::Met)
        .count();
    let judged = r
        .scorecard
        .iter()
        .filter(|s| s.status != ScoreStatus::NoData)
        .count();
    if judged == 0 {
        writeln!(out, "- **Targets**: nothing measured yet")?;
    } else {
        writeln!(
            out,
            "- **Targets**: {met} of {judged} measured metrics meet the seed's targets"
        )?;
    }

    writeln!(out, "\n## Phases\n")?;
    writeln!(
        out,
        "| Phase | Status | Completion | Burn-up | ETA (UTC) | Target (UTC) | Outlook | Criteria met |"
    )?;
    writeln!(out, "|---|---|---:|---|---|---|---|---:|")?;
    for (i, p) in r.phases.iter().enumerate() {
        let series: Vec<f64> = h
            .samples
            .iter()
            .map(|s| s.phases.get(i).copied().unwrap_or(0.0))
            .collect();
        let trend: Vec<f64> = every(&series, 16).into_iter().copied().collect();
        let trend = sparkline(&trend, 100.0);
        let status = if p.complete {
            "complete"
        } else if p.current {
            "current"
        } else {
            "upcoming"
        };
        writeln!(
            out,
            "| {} ({}) | {} | {} | {} | {} | {} | {} | {}/{} |",
            cell(&p.name),
            cell(&p.id),
            status,
            pct(p.completion),
            if trend.is_empty() { "-".into() } else { trend },
            opt_time(p.eta),
            opt_time(p.target),
            outlook(p.outlook),
            p.criteria_met,
            p.criteria_total
        )?;
    }

    burn_up(r, h, out)?;

    if f.cost_usd > 0.0 || f.tokens > 0 {
        write_spend(r, out)?;
    }

    writeln!(out, "\n## Components and gates\n")?;
    if r.components.is_empty() {
        writeln!(out, "No components yet.")?;
    } else {
        writeln!(out, "| Component | Phase | Weight | Progress | Gates |")?;
        writeln!(out, "|---|---|---:|---:|---|")?;
        for c in &r.components {
            let gates = c
                .gates
                .iter()
                .map(|(g, st)| {
                    let st = match st {
                        GateStatus::Passed => "passed",
                        GateStatus::Failed => "**failed**",
                        GateStatus::Pending => "pending",
                    };
                    format!(
                        "{} {st}",
                        if g.is_empty() {
                            "(gate)".into()
                        } else {
                            cell(g)
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                out,
                "| {} | {} | {} | {}{} | {} |",
                cell(&c.id),
                opt(&c.phase),
                c.weight,
                pct(c.progress),
                if c.blocked { " (blocked)" } else { "" },
                if gates.is_empty() { "-".into() } else { gates }
            )?;
        }
    }

    writeln!(out, "\n## Open crises\n")?;
    if c.alerts.is_empty() {
        writeln!(out, "None.")?;
    } else {
        writeln!(
            out,
            "| Alert | Level | Trigger | Subject | Message | Owner | Opened (UTC) | Escalation | Status | Count | SLA |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|---|---:|---|")?;
        for a in &c.alerts {
            let owner = match (&a.acknowledged_by, &a.assignee) {
                (Some(who), _) => cell(who),
                (None, Some(to)) => format!("→ {}", cell(to)),
                _ => "-".into(),
            };
            writeln!(
                out,
                "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                a.id,
                projected_mark(a.projected),
                level_name(a.level),
                cell(a.trigger.as_str()),
                subject(&a.agent, &a.component, &a.gate, &a.task),
                a.message.as_deref().map_or_else(|| "-".into(), cell),
                owner,
                time(a.opened),
                a.escalation.as_str(),
                status_word(a.status),
                a.count,
                if a.sla_breached {
                    "**missed**"
                } else if a.response_due.is_some() {
                    "pending"
                } else {
                    "met"
                }
            )?;
        }
        // The notes on them, as the operators wrote them.
        let noted: Vec<_> = c.alerts.iter().filter(|a| !a.notes.is_empty()).collect();
        if !noted.is_empty() {
            writeln!(out, "\nNotes on open crises:\n")?;
            for a in noted {
                for n in &a.notes {
                    writeln!(
                        out,
                        "- {} — {} ({}): {}",
                        a.id,
                        cell(&n.author),
                        time(n.at),
                        cell(&n.text)
                    )?;
                }
            }
        }
    }

    writeln!(out, "\n## SLA compliance\n")?;
    writeln!(
        out,
        "An alert meets its SLA when it is answered (acknowledged, or an automated action \
         taken) or resolved within its level's response window.\n"
    )?;
    let (_, _, bins) = super::charts::opened_bins(r, h);
    let per_bin = |k: Option<usize>| -> Vec<f64> {
        bins.iter()
            .map(|b| k.map_or(b.iter().sum::<usize>(), |k| b[k]) as f64)
            .collect()
    };
    let top = per_bin(None).into_iter().fold(0.0, f64::max);
    writeln!(
        out,
        "| Level | Alerts | Opened over time | Met | Breached | Pending | Compliance |"
    )?;
    writeln!(out, "|---|---:|---|---:|---:|---:|---:|")?;
    let row = |name: &str, s: &SlaCounts, k: Option<usize>| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            s.alerts,
            sparkline(&per_bin(k), top),
            s.met,
            s.breached,
            s.pending,
            rate(s.compliance)
        )
    };
    for (k, l) in Level::ALL.into_iter().enumerate() {
        writeln!(
            out,
            "{}",
            row(level_name(l), r.sla.by_level.get(l), Some(k))
        )?;
    }
    writeln!(out, "{}", row("**All**", &r.sla.all, None))?;
    writeln!(
        out,
        "\nOpened over time: alerts opened in each twelfth of the time from the journal's \
         first record to this report, on one scale for all levels."
    )?;

    writeln!(out, "\n## Metrics\n")?;
    writeln!(out, "| Metric | Value | Seed target | Status |")?;
    writeln!(out, "|---|---|---|---|")?;
    let m = &r.metrics;
    for s in &r.scorecard {
        let (value, judged_on, status) = score_words(s, m);
        let status = if s.status == ScoreStatus::Missed {
            format!("**{status}**")
        } else {
            status.to_string()
        };
        writeln!(
            out,
            "| {} | {value} | {}{judged_on} | {status} |",
            s.name, s.target
        )?;
    }
    writeln!(
        out,
        "\nMeans are exact; percentiles are read from a log histogram (buckets about 6 % \
         wide) and may read up to 6 % low.\n"
    )?;
    writeln!(out, "Resolution time by level:\n")?;
    writeln!(out, "| Level | Resolution time |")?;
    writeln!(out, "|---|---|")?;
    for l in Level::ALL {
        let d = m.resolution_time.get(l);
        writeln!(out, "| {} | {} |", level_name(l), stats(d))?;
    }

    writeln!(out, "\n## Alert timeline\n")?;
    if r.timeline.is_empty() {
        writeln!(out, "No alerts.")?;
    } else {
        let skip = r.timeline.len().saturating_sub(TIMELINE_ROWS);
        if skip > 0 {
            writeln!(
                out,
                "The {TIMELINE_ROWS} most recent of {} alerts; `--format json` lists them all.\n",
                r.timeline.len()
            )?;
        }
        writeln!(
            out,
            "| Opened (UTC) | Alert | Level | Trigger | Subject | First response | Resolved | Escalation |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        for e in &r.timeline[skip..] {
            let response = match e.response_s {
                None => "-".into(),
                Some(s) if s <= 0.0 => "immediately".into(),
                Some(s) => format!("after {}", duration(s)),
            };
            let resolved = match (e.resolution_s, e.resolution) {
                (Some(s), Some(how)) => format!(
                    "after {} ({})",
                    duration(s),
                    serde_json::to_value(how)
                        .ok()
                        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                        .unwrap_or_default()
                ),
                _ => format!("open, {}", status_word(e.status)),
            };
            writeln!(
                out,
                "| {} | {}{}{} | {} | {} | {} | {}{} | {} | {}{} |",
                time(e.opened),
                e.alert,
                projected_mark(e.projected),
                e.reopened_of
                    .as_ref()
                    .map_or(String::new(), |o| format!(" (reopens {o})")),
                level_name(e.level),
                cell(&e.trigger),
                subject(&e.agent, &e.component, &e.gate, &e.task),
                response,
                if e.sla_breached {
                    ", **SLA breached**"
                } else {
                    ""
                },
                resolved,
                e.escalation.as_str(),
                if e.reached_human && e.escalation != crate::model::Escalation::Human {
                    " (was human)"
                } else {
                    ""
                },
            )?;
        }
    }
    Ok(())
}

/// Spend per phase against its budget, then per agent, most first.
fn write_spend(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    use crate::engine::spend::dollars;
    let budget = |spent: f64, b: Option<f64>| match b {
        Some(b) if b > 0.0 => {
            let used = spent / b * 100.0;
            let mark = if spent > b { " **over**" } else { "" };
            (dollars(b), format!("{used:.0} %{mark}"))
        }
        _ => ("-".into(), "-".into()),
    };
    writeln!(out, "\n## Spend\n")?;
    writeln!(
        out,
        "{} and {} tokens in all.\n",
        dollars(r.fleet.cost_usd),
        r.fleet.tokens
    )?;
    let phases = r
        .phases
        .iter()
        .map(|p| (&p.id, p.cost_usd, p.tokens, p.budget_usd));
    let agents = r
        .spend
        .iter()
        .map(|a| (&a.agent, a.cost_usd, a.tokens, a.budget_usd));
    let tables: [(&str, Vec<_>); 2] = [("Phase", phases.collect()), ("Agent", agents.collect())];
    for (i, (what, rows)) in tables.into_iter().enumerate() {
        let gap = if i > 0 { "\n" } else { "" };
        writeln!(out, "{gap}| {what} | Spent | Tokens | Budget | Used |")?;
        writeln!(out, "|---|---:|---:|---:|---:|")?;
        for (id, cost, tokens, b) in rows {
            let (b, used) = budget(cost, b);
            let (id, spent) = (cell(id), dollars(cost));
            writeln!(out, "| {id} | {spent} | {tokens} | {b} | {used} |")?;
        }
    }
    Ok(())
}

pub(super) fn status_word(s: crate::engine::alerts::Status) -> &'static str {
    match s {
        crate::engine::alerts::Status::Triggered => "triggered",
        crate::engine::alerts::Status::Acknowledged => "acknowledged",
        crate::engine::alerts::Status::Resolved => "resolved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        for (s, want) in [
            (0.25, "250 ms"),
            (0.0, "0 ms"),
            (12.56, "12.5 s"),
            (250.0, "4 min 10 s"),
            (7500.0, "2 h 5 min"),
            (3.0 * 86400.0 + 4.0 * 3600.0, "3 d 4 h"),
            (-3.0, "0 ms"),
        ] {
            assert_eq!(duration(s), want, "{s}");
        }
    }

    #[test]
    fn cells_cannot_break_a_table_or_a_terminal() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("\x1b[2Jx\ny"), "\\x1b[2Jx\\x0ay");
        assert_eq!(cell(""), "-");
    }
}
