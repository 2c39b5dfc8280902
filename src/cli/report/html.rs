//! `coord report --format html`: one self-contained page (SPEC 12) — inline
//! CSS and SVG, no script, nothing fetched — that prints well. The same
//! figures as the Markdown (the words come from `markdown`), with the charts
//! of `charts` and a sentence under each.

use super::charts::{self, Chart};
use super::history::History;
use super::markdown::{
    level_name, outlook, rate, score_words, stats, status_word, subject_as, time,
};
use super::Report;
use crate::engine::summary::AlertSummary;
use crate::sanitize::sanitize;
use std::io::{self, Write};

/// Text for HTML: sanitised (no control character reaches a reader), then
/// escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in sanitize(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1a1a1a;
       max-width: 820px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.8em; }
.when { color: #555; font-size: 0.9em; }
.kpis { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 1em 0; }
.kpi { border: 1px solid #bbb; border-radius: 4px; padding: 0.4em 0.8em; min-width: 8em; }
.kpi b { display: block; font-size: 0.75em; color: #555; font-weight: normal;
         text-transform: uppercase; letter-spacing: 0.04em; }
.kpi span { font-size: 1.15em; font-weight: 600; }
.bad { color: #b04000; }
figure { margin: 1em 0; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.92em; color: #333; margin-top: 0.3em; }
table { border-collapse: collapse; width: 100%; font-size: 0.88em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.45em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.n { text-align: right; }
footer { margin-top: 2em; color: #666; font-size: 0.8em; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
";

fn kpi(out: &mut dyn Write, name: &str, value: &str, bad: bool) -> io::Result<()> {
    writeln!(
        out,
        "<div class=\"kpi\"><b>{}</b><span{}>{}</span></div>",
        escape(name),
        if bad { " class=\"bad\"" } else { "" },
        escape(value)
    )
}

fn subject(a: &AlertSummary) -> String {
    subject_as(&a.agent, &a.component, &a.gate, &a.task, escape)
}

fn figure(out: &mut dyn Write, c: &Chart) -> io::Result<()> {
    writeln!(out, "<section>\n<h2>{}</h2>", escape(&c.title))?;
    writeln!(
        out,
        "<figure role=\"img\" aria-label=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n</section>",
        escape(&c.summary),
        c.svg,
        escape(&c.summary)
    )
}

pub fn write(r: &Report, h: &History, out: &mut dyn Write) -> io::Result<()> {
    let title = match &r.epic.name {
        Some(e) => format!("Stakeholder report — {e}"),
        None => "Stakeholder report".into(),
    };
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>",
        escape(&title),
        escape(&title)
    )?;
    let when = crate::cli::as_of::describe(
        r.as_of,
        r.journal_last,
        r.console_running,
        r.projected.any(),
    );
    for line in &when {
        writeln!(out, "<p class=\"when\">{}</p>", escape(line))?;
    }
    writeln!(out, "<div class=\"kpis\">")?;
    let phase = charts::phase_index(r).map(|i| &r.phases[i]);
    if let Some(p) = phase {
        kpi(out, "phase", &format!("{} ({})", p.name, p.id), false)?;
        kpi(
            out,
            "phase complete",
            &format!("{:.0} %", p.completion),
            false,
        )?;
        let eta = if p.complete {
            "done".to_string()
        } else {
            p.eta.map_or("no trend yet".into(), time)
        };
        kpi(out, "ETA (UTC)", &eta, false)?;
        kpi(
            out,
            "outlook",
            outlook(p.outlook),
            p.outlook == crate::engine::phases::Outlook::AtRisk,
        )?;
    }
    kpi(
        out,
        "epic complete",
        &format!("{:.0} %", r.epic.completion),
        false,
    )?;
    let c = &r.crises;
    kpi(
        out,
        "open crises",
        &format!("{} ({} critical)", c.open, c.by_level.critical),
        c.by_level.critical > 0,
    )?;
    kpi(
        out,
        "SLA compliance",
        &rate(r.sla.all.compliance),
        c.sla_breached > 0,
    )?;
    writeln!(out, "</div>\n</header>\n<main>")?;

    for chart in charts::all(r, h) {
        figure(out, &chart)?;
    }

    writeln!(out, "<section>\n<h2>Open crises</h2>")?;
    if c.alerts.is_empty() {
        writeln!(out, "<p>None.</p>")?;
    } else {
        writeln!(
            out,
            "<table>\n<tr><th>Alert</th><th>Level</th><th>Subject</th><th>Owner</th>\
             <th>Status</th><th>Opened (UTC)</th><th>Message</th><th>Notes</th></tr>"
        )?;
        for a in &c.alerts {
            let owner = match (&a.acknowledged_by, &a.assignee) {
                (Some(who), _) => escape(who),
                (None, Some(to)) => format!("→ {}", escape(to)),
                _ => "-".into(),
            };
            let notes: Vec<String> = a
                .notes
                .iter()
                .map(|n| {
                    format!(
                        "{} ({}): {}",
                        escape(&n.author),
                        time(n.at),
                        escape(&n.text)
                    )
                })
                .collect();
            writeln!(
                out,
                "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{owner}</td><td>{}{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.id),
                if a.projected { " (projected)" } else { "" },
                level_name(a.level),
                subject(a),
                status_word(a.status),
                if a.sla_breached { ", SLA missed" } else { "" },
                time(a.opened),
                a.message.as_deref().map_or_else(|| "-".into(), escape),
                if notes.is_empty() {
                    "-".into()
                } else {
                    notes.join("<br>")
                }
            )?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</section>")?;

    writeln!(out, "<section>\n<h2>Metrics</h2>\n<table>")?;
    writeln!(
        out,
        "<tr><th>Metric</th><th>Value</th><th>Seed target</th><th>Status</th></tr>"
    )?;
    for s in &r.scorecard {
        let (value, judged_on, status) = score_words(s, &r.metrics);
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}{judged_on}</td><td{}>{status}</td></tr>",
            escape(s.name),
            escape(&value),
            escape(s.target),
            if s.status == super::ScoreStatus::Missed {
                " class=\"bad\""
            } else {
                ""
            }
        )?;
    }
    writeln!(out, "</table>")?;
    writeln!(
        out,
        "<p>Resolution time by level: {}.</p>\n</section>",
        crate::model::Level::ALL
            .iter()
            .map(|&l| format!(
                "{} {}",
                level_name(l),
                stats(r.metrics.resolution_time.get(l))
            ))
            .collect::<Vec<_>>()
            .join("; ")
    )?;
    writeln!(
        out,
        "</main>\n<footer>coord {} · charts sampled at {} moments of the journal</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        h.samples.len()
    )
}
