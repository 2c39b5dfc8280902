//! One frame of the full dashboard at 200×50 (QUALITY.md: ≤ 1 ms) with 1,000,000
//! retained events, 10,000 agents and 1,000 open alerts, drawn on ratatui's
//! TestBackend. Frames alternate between two clock seconds, so every frame has
//! countdowns and ages to change, as the console's once-a-second redraw does.
//!
//! Measured:
//! - `frame`: what a redraw costs when only the clock moved (the console's idle
//!   second, and every frame while nothing new arrived);
//! - `sync+frame`: a frame after new input (one heartbeat applied), with the
//!   worst-first orders of 10k agents and 1k alerts rebuilt first;
//! - `frame, filtered`: a frame with a filter on the Events pane.
//!
//! Run: `cargo bench --bench render`.

use chrono::{DateTime, TimeDelta, Utc};
use coord::config::Config;
use coord::engine::{Engine, Input};
use coord::model::event::{parse_value, Origin, ParseOptions};
use coord::model::Event;
use coord::ui::app::Filter;
use coord::ui::theme::Theme;
use coord::ui::{draw, App};
use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};
use std::sync::Arc;

const EVENTS: u64 = 1_000_000;
const AGENTS: usize = 10_000;
const ALERTS: usize = 1_000;

fn t0() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn event(v: Value) -> Event {
    let origin = Origin {
        source: "events/fleet.jsonl",
        line: 1,
        offset: 0,
        ident: "",
    };
    parse_value(v, &origin, t0(), &ParseOptions::default()).unwrap()
}

/// The engine and the view at the sizes above.
fn world() -> (Engine, App) {
    let mut config = Config::default();
    config.ingest.retention_events = EVENTS;
    let mut engine = Engine::new(config.clone(), None);
    let mut app = App::new(&config, "bench");
    app.theme = Theme::default();
    let now = t0();
    let ts = now.to_rfc3339();
    // Heartbeats 1 ms apart: agents last seen at distinct times, as in a fleet.
    for i in 0..AGENTS {
        let at = now + TimeDelta::milliseconds(i as i64);
        let e = event(
            json!({"type": "agent_heartbeat", "agent": format!("agent-{i:05}"),
                             "ts": at.to_rfc3339(), "id": format!("h{i}")}),
        );
        engine.apply(Input::Event(e), at);
    }
    for i in 0..ALERTS {
        let e = event(
            json!({"type": "blocker_detected", "agent": format!("agent-{i:05}"),
                             "component": format!("c-{i}"), "ts": ts, "id": format!("b{i}"),
                             "message": "waiting on the schema migration"}),
        );
        engine.apply(Input::Event(e), now);
    }
    // A mix of what a fleet sends, each retained as its own copy.
    let kinds: Vec<Event> = (0..16)
        .map(|k| {
            event(
                json!({"type": if k % 4 == 0 { "agent_heartbeat" } else { "progress_update" },
                         "agent": format!("agent-{:05}", k * 613), "task": format!("T-{k}"),
                         "component": format!("c-{k}"), "progress": 5.0 * k as f64,
                         "message": "compiling the auth module", "ts": ts,
                         "id": format!("p{k}")}),
            )
        })
        .collect();
    let src: Arc<str> = Arc::from("events/fleet.jsonl");
    for i in 0..EVENTS {
        let e = &kinds[(i % 16) as usize];
        app.push_event(e, e.severity, src.clone(), i + 1, i * 190);
    }
    assert_eq!(app.retained(), EVENTS as usize);
    (engine, app)
}

fn frames(c: &mut Criterion) {
    let (engine, mut app) = world();
    let now = t0() + TimeDelta::seconds(30);
    app.sync(&engine, now);
    assert_eq!(app.sel.alert_order.len(), ALERTS);
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut second = 0;
    let mut tick = || {
        second ^= 1;
        now + TimeDelta::seconds(second)
    };

    let heartbeat = event(json!({"type": "agent_heartbeat", "agent": "agent-00042",
                                 "ts": now.to_rfc3339()}));
    let mut g = c.benchmark_group("dashboard 200x50, 1M events, 10k agents, 1k alerts");
    g.bench_function("frame", |b| {
        b.iter(|| {
            let at = tick();
            term.draw(|f| {
                draw(f, &app, &engine, at);
            })
            .unwrap();
        })
    });
    let mut engine = engine;
    let mut n = 0u64;
    g.bench_function("sync+frame", |b| {
        b.iter(|| {
            let at = tick();
            // One new heartbeat: the engine moved, so the orders are rebuilt.
            n += 1;
            let mut hb = heartbeat.clone();
            hb.id = format!("x{n}").into();
            engine.apply(Input::Event(hb), at);
            app.sync(&engine, at);
            term.draw(|f| {
                draw(f, &app, &engine, at);
            })
            .unwrap();
        })
    });
    app.set_filter(Filter::parse("type:heartbeat agent:agent-00000"));
    g.bench_function("frame, filtered", |b| {
        b.iter(|| {
            let at = tick();
            term.draw(|f| {
                draw(f, &app, &engine, at);
            })
            .unwrap();
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = frames
}
criterion_main!(benches);
