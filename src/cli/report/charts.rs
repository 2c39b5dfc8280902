//! The HTML report's charts (SPEC 12), drawn as SVG with plotters: each has a
//! title, axes with units, and a sentence that says what it shows (printed
//! under it, and what a reader who cannot see it gets). Colours are the
//! Okabe–Ito palette, which colour-blind readers tell apart and which prints
//! as distinct greys; a legend names every colour.

use super::history::History;
use super::Report;
use crate::engine::agents::Liveness;
use crate::engine::metrics::DurationStats;
use crate::engine::Time;
use crate::model::Level;
use crate::sanitize::sanitize;
use crate::text::plural;
use plotters::coord::ranged1d::{SegmentValue, ValueFormatter};
use plotters::prelude::*;
use std::fmt::Write as _;

pub struct Chart {
    pub title: String,
    pub svg: String,
    /// What it shows, in words.
    pub summary: String,
}

const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const SKY: RGBColor = RGBColor(86, 180, 233);
const YELLOW: RGBColor = RGBColor(240, 228, 66);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const GREY: RGBColor = RGBColor(140, 140, 140);
const DARK: RGBColor = RGBColor(64, 64, 64);
const LIGHT: RGBColor = RGBColor(210, 210, 210);

const LEVELS: [Level; 4] = [Level::Critical, Level::High, Level::Medium, Level::Low];
const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";

fn level_colour(l: Level) -> RGBColor {
    match l {
        Level::Critical => VERMILLION,
        Level::High => ORANGE,
        Level::Medium => BLUE,
        Level::Low => GREY,
    }
}

/// Liveness states in the swimlanes' legend order, with their colours.
const STATES: [(Liveness, RGBColor); 7] = [
    (Liveness::Healthy, GREEN),
    (Liveness::Idle, SKY),
    (Liveness::Waiting, PURPLE),
    (Liveness::Late, YELLOW),
    (Liveness::TimedOut, VERMILLION),
    (Liveness::Offline, DARK),
    (Liveness::Standby, LIGHT),
];

fn state_colour(l: Liveness) -> RGBColor {
    STATES
        .iter()
        .find(|(s, _)| *s == l)
        .map_or(GREY, |(_, c)| *c)
}

/// Seconds since `t0`, the charts' time axis.
fn secs(t0: Time, t: Time) -> f64 {
    (t - t0).num_milliseconds() as f64 / 1000.0
}

/// A time axis label: `HH:MM` (with the date when the span is over a day).
fn time_label(t0: Time, span: f64) -> impl Fn(&f64) -> String {
    move |x: &f64| {
        let t = t0 + chrono::TimeDelta::milliseconds((x * 1000.0) as i64);
        if span > 86_400.0 {
            t.format("%m-%d %H:%M").to_string()
        } else if span < 600.0 {
            t.format("%H:%M:%S").to_string()
        } else {
            t.format("%H:%M").to_string()
        }
    }
}

fn hm(t: Time) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// A legend entry: a label and its colour, drawn as a box (or, `line`, as a
/// bar across a row: a budget).
pub struct Key {
    pub label: String,
    pub colour: RGBColor,
    pub line: bool,
}

fn key(label: &str, colour: RGBColor) -> Key {
    Key {
        label: label.to_string(),
        colour,
        line: false,
    }
}

/// Draws into an SVG string of `height` pixels, the legend in a strip under
/// the chart (never over the data); a chart that fails to draw (it should
/// not) says so in place of the picture.
fn svg(height: u32, legend: &[Key], draw: impl FnOnce(&Area) -> DrawResult) -> String {
    let mut out = String::new();
    let failed = {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        let drawn = (|| -> DrawResult {
            root.fill(&WHITE)?;
            let (chart, strip) = if legend.is_empty() {
                (root.clone(), None)
            } else {
                let (c, s) = root.split_vertically(height - 30);
                (c, Some(s))
            };
            draw(&chart)?;
            if let Some(strip) = strip {
                let mut x = 60;
                for k in legend {
                    let swatch = if k.line {
                        [(x + 5, 4), (x + 8, 20)]
                    } else {
                        [(x, 5), (x + 13, 18)]
                    };
                    strip.draw(&Rectangle::new(swatch, k.colour.filled()))?;
                    strip.draw(&Text::new(k.label.clone(), (x + 19, 6), (FONT, 13)))?;
                    x += 34 + 7 * k.label.chars().count() as i32;
                }
            }
            root.present()?;
            Ok(())
        })();
        drawn.err().map(|e| e.to_string())
    };
    match failed {
        None => out,
        Some(e) => format!("<p>(chart not drawn: {})</p>", super::html::escape(&e)),
    }
}

/// The mesh every chart shares: labels readable, minor lines left out.
fn mesh<'a, 'b, 'c, X, Y>(
    c: &'b mut ChartContext<'a, SVGBackend<'c>, Cartesian2d<X, Y>>,
) -> plotters::chart::MeshStyle<'a, 'b, X, Y, SVGBackend<'c>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged + ValueFormatter<<Y as Ranged>::ValueType>,
{
    let mut m = c.configure_mesh();
    m.light_line_style(TRANSPARENT)
        .bold_line_style(LIGHT.mix(0.5))
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13));
    m
}

/// Names of rows, the first on top (row `i` of `n` is drawn at `n - 1 - i`),
/// clipped to what the label area holds.
fn row_names(names: &[String]) -> impl Fn(&SegmentValue<usize>) -> String + '_ {
    let n = names.len();
    move |v| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < n => {
            crate::text::clip(&names[n - 1 - *i], 22)
        }
        _ => String::new(),
    }
}

/// The frame every chart shares: caption, margins, room for the labels.
fn frame<'a, 'b, 'c>(
    area: &'a Area<'c>,
    title: &str,
    y_labels: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'c>> {
    let mut b = ChartBuilder::on(area);
    b.caption(title, (FONT, 18))
        .margin(10)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(y_labels);
    b
}

/// Every chart there is data for, in the report's order.
pub fn all(r: &Report, h: &History) -> Vec<Chart> {
    let mut charts = vec![
        burn_up(r, h),
        alerts_over_time(r, h),
        sla(r),
        time_to_resolve(r),
    ];
    charts.push(availability(h));
    if r.fleet.cost_usd > 0.0 || r.phases.iter().any(|p| p.budget_usd.is_some()) {
        charts.push(spend(r));
    }
    charts
}

/// The phase the report is about: the current one, or the last.
pub fn phase_index(r: &Report) -> Option<usize> {
    r.phases
        .iter()
        .position(|p| p.current)
        .or_else(|| r.phases.len().checked_sub(1))
}

/// The current phase's completion over time against the line from the
/// journal's start to its target, and the ETA's projection.
pub fn burn_up(r: &Report, h: &History) -> Chart {
    let title = "Phase burn-up".to_string();
    let (Some(i), Some(first), Some(last)) = (phase_index(r), h.samples.first(), h.samples.last())
    else {
        return Chart {
            title,
            svg: String::new(),
            summary: "No phase, or no journal yet: nothing to draw.".into(),
        };
    };
    let p = &r.phases[i];
    let (t0, now) = (first.at, last.at);
    let span = secs(t0, now).max(1.0);
    // Far-off dates are drawn to the edge, not squeezed into view.
    let x_end = |t: Option<Time>| t.map(|t| secs(t0, t)).filter(|x| *x > span);
    let x_max = [x_end(p.target), x_end(p.eta)]
        .into_iter()
        .flatten()
        .fold(span, f64::max)
        .min(span * 3.0);
    let done: Vec<(f64, f64)> = h
        .samples
        .iter()
        .map(|s| (secs(t0, s.at), s.phases.get(i).copied().unwrap_or(0.0)))
        .collect();
    // A line from (x0, y0) towards (x1, y1), cut at the chart's right edge.
    let towards = |(x0, y0): (f64, f64), (x1, y1): (f64, f64)| {
        if x1 <= x_max || x1 <= x0 {
            vec![(x0, y0), (x1, y1)]
        } else {
            vec![(x0, y0), (x_max, y0 + (y1 - y0) * (x_max - x0) / (x1 - x0))]
        }
    };
    let target = p.target.map(|t| towards((0.0, 0.0), (secs(t0, t), 100.0)));
    let now_pct = p.completion;
    let eta = p
        .eta
        .filter(|_| !p.complete)
        .map(|t| towards((span, now_pct), (secs(t0, t), 100.0)));
    let mut legend = vec![key("completion", BLUE)];
    if target.is_some() {
        legend.push(key("target: a straight line to its date", DARK));
    }
    if eta.is_some() {
        legend.push(key("projection at the current pace (dashed)", ORANGE));
    }
    let svg = svg(340, &legend, |root| {
        let mut c = frame(
            root,
            &format!("{title}: {}", crate::text::clip(&sanitize(&p.name), 60)),
            50,
        )
        .build_cartesian_2d(0f64..x_max, 0f64..100f64)?;
        mesh(&mut c)
            .x_desc("time (UTC)")
            .y_desc("completion (%)")
            .x_labels(8)
            .x_label_formatter(&time_label(t0, x_max))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()?;
        if let Some(line) = &target {
            c.draw_series(LineSeries::new(line.clone(), DARK.stroke_width(1)))?;
        }
        if let Some(line) = &eta {
            c.draw_series(DashedLineSeries::new(
                line.clone(),
                6,
                4,
                ORANGE.stroke_width(2),
            ))?;
        }
        c.draw_series(LineSeries::new(done.clone(), BLUE.stroke_width(3)))?;
        Ok(())
    });
    let mut summary = format!(
        "{} ({}) is {:.0} % complete as of {}",
        p.name,
        p.id,
        p.completion,
        hm(now)
    );
    match (p.complete, p.eta, p.target) {
        (true, _, _) => summary.push_str(" (complete)"),
        (false, Some(eta), _) => {
            let _ = write!(summary, "; at its current pace it is done {}", hm(eta));
        }
        (false, None, _) => summary.push_str("; no trend yet to project"),
    }
    if let Some(t) = p.target {
        let _ = write!(
            summary,
            "; target {} ({})",
            hm(t),
            super::markdown::outlook(p.outlook)
        );
    }
    summary.push('.');
    Chart {
        title,
        svg,
        summary,
    }
}

/// Intervals the alerts-over-time chart and the Markdown's sparklines count in.
pub const BINS: usize = 12;

/// Alerts opened per level in `BINS` equal intervals from the history's
/// start (or the first alert) to the report's time: the start, an
/// interval's width in seconds, and the counts (critical first).
pub fn opened_bins(r: &Report, h: &History) -> (Time, f64, [[usize; 4]; BINS]) {
    let t0 = h
        .samples
        .first()
        .map(|s| s.at)
        .into_iter()
        .chain(r.timeline.first().map(|a| a.opened))
        .min()
        .unwrap_or(r.as_of);
    let width = secs(t0, r.as_of).max(1.0) / BINS as f64;
    let mut bins = [[0usize; 4]; BINS];
    for a in &r.timeline {
        let b = ((secs(t0, a.opened) / width).max(0.0) as usize).min(BINS - 1);
        bins[b][LEVELS.iter().position(|l| *l == a.level).unwrap_or(3)] += 1;
    }
    (t0, width, bins)
}

/// Alerts opened per level in twelve equal intervals of the report's span.
pub fn alerts_over_time(r: &Report, h: &History) -> Chart {
    let title = "Alerts opened per level over time".to_string();
    let (t0, width, bins) = opened_bins(r, h);
    let span = width * BINS as f64;
    let top = bins
        .iter()
        .map(|b| b.iter().sum::<usize>())
        .max()
        .unwrap_or(0);
    let legend: Vec<Key> = LEVELS
        .iter()
        .map(|l| key(l.as_str(), level_colour(*l)))
        .collect();
    let svg = svg(320, &legend, |root| {
        let mut c = frame(root, &title, 50)
            .build_cartesian_2d(0f64..span, 0f64..(top.max(1) as f64 * 1.1).ceil())?;
        mesh(&mut c)
            .x_desc("time opened (UTC)")
            .y_desc("alerts opened")
            .x_labels(7)
            .x_label_formatter(&time_label(t0, span))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .disable_x_mesh()
            .draw()?;
        for (li, l) in LEVELS.iter().enumerate() {
            let colour = level_colour(*l);
            c.draw_series(
                bins.iter()
                    .enumerate()
                    .filter(|(_, b)| b[li] > 0)
                    .map(|(i, b)| {
                        let below: usize = b[..li].iter().sum();
                        let x0 = i as f64 * width;
                        Rectangle::new(
                            [
                                (x0 + width * 0.1, below as f64),
                                (x0 + width * 0.9, (below + b[li]) as f64),
                            ],
                            colour.filled(),
                        )
                    }),
            )?;
        }
        Ok(())
    });
    let summary = if r.timeline.is_empty() {
        "No alert was opened.".to_string()
    } else {
        let per: Vec<String> = LEVELS
            .iter()
            .map(|l| {
                let n = r.timeline.iter().filter(|a| a.level == *l).count();
                format!("{n} {}", l.as_str())
            })
            .collect();
        let (busiest, n) = bins
            .iter()
            .enumerate()
            .map(|(i, b)| (i, b.iter().sum::<usize>()))
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .unwrap_or((0, 0));
        let from = t0 + chrono::TimeDelta::milliseconds((busiest as f64 * width * 1000.0) as i64);
        format!(
            "{} opened ({}); the busiest interval began {} with {}.",
            plural(r.timeline.len(), "alert", "alerts"),
            per.join(", "),
            hm(from),
            n
        )
    };
    Chart {
        title,
        svg,
        summary,
    }
}

/// Horizontal bars, one row per name (`what` they are, on the y axis): each of `bars` drawn over the one
/// before (the shorter on top reads as a part of the longer), then `marks`
/// as a dark line across the row (a budget); `unit` on the axis.
fn rows(
    title: &str,
    (unit, what): (&str, &str),
    names: &[String],
    max: f64,
    bars: &[(&str, RGBColor, Vec<Option<f64>>)],
    marks: Option<(&str, Vec<Option<f64>>)>,
) -> String {
    let n = names.len().max(1);
    let mut legend: Vec<Key> = bars.iter().map(|(l, c, _)| key(l, *c)).collect();
    if let Some((label, _)) = &marks {
        legend.push(Key {
            line: true,
            ..key(label, BLACK)
        });
    }
    if legend.len() == 1 {
        legend.clear();
    }
    // The first name on top.
    let row = |i: usize| n - 1 - i;
    svg(110 + 34 * n as u32, &legend, |root| {
        let mut c =
            frame(root, title, 150).build_cartesian_2d(0f64..max, (0..n).into_segmented())?;
        mesh(&mut c)
            .x_desc(unit)
            .y_desc(what)
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&row_names(names))
            .draw()?;
        let band = |i: usize, v: f64| {
            [
                (0.0, SegmentValue::Exact(row(i))),
                (v, SegmentValue::Exact(row(i) + 1)),
            ]
        };
        for (_, colour, values) in bars {
            let colour = *colour;
            c.draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| Some(Rectangle::new(band(i, (*v)?), colour.filled()))),
            )?;
        }
        if let Some((_, values)) = &marks {
            c.draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                let v = (*v)?;
                let [_, (_, top)] = band(i, v);
                let [(_, bottom), _] = band(i, v);
                Some(PathElement::new(
                    vec![(v, bottom), (v, top)],
                    BLACK.stroke_width(3),
                ))
            }))?;
        }
        // White gaps between the rows.
        c.draw_series((0..=n).map(|i| {
            PathElement::new(
                vec![(0.0, SegmentValue::Exact(i)), (max, SegmentValue::Exact(i))],
                WHITE.stroke_width(8),
            )
        }))?;
        Ok(())
    })
}

/// Response deadlines kept per level: met / decided.
pub fn sla(r: &Report) -> Chart {
    let title = "SLA compliance per level".to_string();
    let names: Vec<String> = LEVELS.iter().map(|l| l.as_str().to_string()).collect();
    let values: Vec<Option<f64>> = LEVELS
        .iter()
        .map(|l| r.sla.by_level.get(*l).compliance.map(|c| c * 100.0))
        .collect();
    let svg = rows(
        &title,
        (
            "alerts answered or resolved before their deadline (%)",
            "level",
        ),
        &names,
        100.0,
        &[("compliance", BLUE, values)],
        None,
    );
    let per: Vec<String> = LEVELS
        .iter()
        .map(|l| {
            let c = r.sla.by_level.get(*l);
            match c.compliance {
                Some(x) => format!(
                    "{} {} of {} ({:.0} %)",
                    l.as_str(),
                    c.met,
                    c.met + c.breached,
                    x * 100.0
                ),
                None => format!("{} none decided", l.as_str()),
            }
        })
        .collect();
    let mut summary = format!("Deadlines kept: {}", per.join("; "));
    if r.sla.all.pending > 0 {
        let _ = write!(
            summary,
            "; {} still open within their deadline",
            r.sla.all.pending
        );
    }
    summary.push('.');
    Chart {
        title,
        svg,
        summary,
    }
}

fn minutes_or_seconds(max_s: f64) -> (f64, &'static str) {
    if max_s >= 120.0 {
        (60.0, "minutes")
    } else {
        (1.0, "seconds")
    }
}

/// Time from opened to resolved per level: mean and p90.
pub fn time_to_resolve(r: &Report) -> Chart {
    let title = "Time to resolve per level".to_string();
    let t = &r.metrics.resolution_time;
    let stats: Vec<&DurationStats> = LEVELS.iter().map(|l| t.get(*l)).collect();
    let max = stats
        .iter()
        .filter_map(|s| s.p90_s.or(s.mean_s))
        .fold(0.0, f64::max);
    let (div, unit) = minutes_or_seconds(max);
    let names: Vec<String> = LEVELS.iter().map(|l| l.as_str().to_string()).collect();
    let svg = rows(
        &title,
        (&format!("time from opened to resolved ({unit})"), "level"),
        &names,
        (max / div * 1.1).max(1.0),
        &[
            (
                "p90",
                SKY,
                stats.iter().map(|s| s.p90_s.map(|x| x / div)).collect(),
            ),
            (
                "mean",
                BLUE,
                stats.iter().map(|s| s.mean_s.map(|x| x / div)).collect(),
            ),
        ],
        None,
    );
    let per: Vec<String> = LEVELS
        .iter()
        .zip(&stats)
        .filter(|(_, s)| s.count > 0)
        .map(|(l, s)| {
            format!(
                "{} {} (mean {}, p90 {})",
                l.as_str(),
                plural(s.count as usize, "resolved", "resolved"),
                super::markdown::duration(s.mean_s.unwrap_or(0.0)),
                super::markdown::duration(s.p90_s.unwrap_or(0.0))
            )
        })
        .collect();
    let summary = if per.is_empty() {
        "No alert resolved yet.".to_string()
    } else {
        format!("{}.", per.join("; "))
    };
    Chart {
        title,
        svg,
        summary,
    }
}

/// Lanes drawn at most; a larger fleet shows the agents least available.
const LANES: usize = 40;

/// Each agent's liveness over time, one lane each.
pub fn availability(h: &History) -> Chart {
    let title = "Agent availability".to_string();
    let (Some(first), Some(last)) = (h.samples.first(), h.samples.last()) else {
        return Chart {
            title,
            svg: String::new(),
            summary: "No journal yet: nothing to draw.".into(),
        };
    };
    let (t0, span) = (first.at, secs(first.at, last.at).max(1.0));
    // Each agent's runs of one state: (from, to, state), in seconds.
    let mut lanes: std::collections::BTreeMap<&str, Vec<(f64, f64, Liveness)>> = Default::default();
    for (k, s) in h.samples.iter().enumerate() {
        let to = h.samples.get(k + 1).map_or(span, |n| secs(t0, n.at));
        let from = secs(t0, s.at);
        for (agent, state) in &s.agents {
            let runs = lanes.entry(agent).or_default();
            match runs.last_mut() {
                Some(run) if run.2 == *state && (run.1 - from).abs() < 1e-9 => run.1 = to,
                _ => runs.push((from, to, *state)),
            }
        }
    }
    let down = |runs: &[(f64, f64, Liveness)]| -> f64 {
        runs.iter()
            .filter(|r| matches!(r.2, Liveness::TimedOut | Liveness::Offline | Liveness::Late))
            .map(|r| r.1 - r.0)
            .sum()
    };
    let mut order: Vec<(&str, f64)> = lanes.iter().map(|(a, r)| (*a, down(r))).collect();
    if order.len() > LANES {
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        order.truncate(LANES);
        order.sort_by(|a, b| a.0.cmp(b.0));
    }
    let names: Vec<String> = order
        .iter()
        .map(|(a, _)| crate::sanitize::sanitize(a).into_owned())
        .collect();
    let n = names.len().max(1);
    let legend: Vec<Key> = STATES
        .iter()
        .map(|(state, colour)| key(&state.as_str().replace('_', " "), *colour))
        .collect();
    let row = |i: usize| n - 1 - i;
    let svg = svg(120 + 22 * n as u32, &legend, |root| {
        let mut c =
            frame(root, &title, 150).build_cartesian_2d(0f64..span, (0..n).into_segmented())?;
        mesh(&mut c)
            .x_desc("time (UTC)")
            .y_desc("agent")
            .x_labels(8)
            .x_label_formatter(&time_label(t0, span))
            .y_labels(n)
            .y_label_formatter(&row_names(&names[..]))
            .disable_y_mesh()
            .draw()?;
        for (i, (agent, _)) in order.iter().enumerate() {
            c.draw_series(lanes[agent].iter().map(|&(from, to, state)| {
                Rectangle::new(
                    [
                        (from, SegmentValue::Exact(row(i))),
                        (to, SegmentValue::Exact(row(i) + 1)),
                    ],
                    state_colour(state).filled(),
                )
            }))?;
        }
        c.draw_series((0..=n).map(|i| {
            PathElement::new(
                vec![
                    (0.0, SegmentValue::Exact(i)),
                    (span, SegmentValue::Exact(i)),
                ],
                WHITE.stroke_width(3),
            )
        }))?;
        Ok(())
    });
    let mut worst: Vec<(&str, f64)> = lanes
        .iter()
        .map(|(a, r)| (*a, down(r)))
        .filter(|(_, d)| *d > 0.0)
        .collect();
    worst.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let mut summary = format!(
        "{} over {}",
        plural(lanes.len(), "agent", "agents"),
        crate::text::fmt_span(last.at - first.at)
    );
    if lanes.len() > LANES {
        let _ = write!(summary, " ({LANES} least available shown)");
    }
    if worst.is_empty() {
        summary.push_str("; none was late, timed out or offline at the moments sampled.");
    } else {
        let named: Vec<String> = worst
            .iter()
            .take(5)
            .map(|(a, d)| format!("{} {:.0} %", crate::sanitize::sanitize(a), d / span * 100.0))
            .collect();
        let _ = write!(
            summary,
            "; late, timed out or offline for part of it: {}{}.",
            named.join(", "),
            if worst.len() > 5 { ", …" } else { "" }
        );
    }
    Chart {
        title,
        svg,
        summary,
    }
}

/// Spend against budget, per phase and per agent with a budget or the most
/// spend.
pub fn spend(r: &Report) -> Chart {
    let title = "Spend against budget".to_string();
    let mut names = Vec::new();
    let (mut spent, mut budget) = (Vec::new(), Vec::new());
    for p in r
        .phases
        .iter()
        .filter(|p| p.cost_usd > 0.0 || p.budget_usd.is_some())
    {
        names.push(sanitize(&p.name).into_owned());
        spent.push(Some(p.cost_usd));
        budget.push(p.budget_usd);
    }
    for a in r.spend.iter().take(10) {
        names.push(crate::sanitize::sanitize(&a.agent).into_owned());
        spent.push(Some(a.cost_usd));
        budget.push(a.budget_usd);
    }
    let max = spent
        .iter()
        .chain(&budget)
        .flatten()
        .fold(0.01f64, |m, v| m.max(*v));
    let svg = rows(
        &title,
        ("US dollars", "phase, agent"),
        &names,
        max * 1.1,
        &[("spent", BLUE, spent.clone())],
        Some(("budget", budget.clone())),
    );
    let over: Vec<String> = names
        .iter()
        .zip(spent.iter().zip(&budget))
        .filter_map(|(n, (s, b))| {
            let (s, b) = ((*s)?, (*b)?);
            (s > b).then(|| format!("{n} (${s:.2} of ${b:.2})"))
        })
        .collect();
    let mut summary = format!("${:.2} spent in all", r.fleet.cost_usd);
    if over.is_empty() {
        summary.push_str("; nothing past its budget.");
    } else {
        let _ = write!(summary, "; past its budget: {}.", over.join(", "));
    }
    Chart {
        title,
        svg,
        summary,
    }
}
