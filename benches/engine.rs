//! The engine alone, events already parsed (QUALITY.md: >= 3M events/s).
//!
//! A realistic stream is generated up front: ~100 agents on ~30 components, mostly
//! `progress_update` and `agent_heartbeat`, some task turnover, and about 1 % crisis
//! events each answered later by its recovery. Ids are unique and times increase
//! (10 ms apart). Events reach the engine in batches of 1024, as the runtime
//! hands them over, each batch applied at the time it was read (its last event's
//! time + 5 ms), then one tick; only the applying is timed.
//!
//! `storm`: 10,000 agents time out in one tick, 100 left to take their tasks;
//! only the tick is timed.
//!
//! Run: `cargo bench --bench engine` (or `-- storm` for that one).

use chrono::{DateTime, TimeDelta, Utc};
use coord::config::Config;
use coord::engine::{Engine, Input};
use coord::model::plan::parse_plan;
use coord::model::{Event, EventType, Level, Plan};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

const EVENTS: usize = 100_000;
const AGENTS: usize = 100;

/// SplitMix64: a small deterministic generator, so every run sees the same stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn t0() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

/// A crisis that has been raised and is waiting for its recovery.
struct Pending {
    recovery: EventType,
    agent: Option<String>,
    component: Option<String>,
    gate: Option<String>,
    due: usize,
}

/// `n` events over `components`, as described at the top.
fn stream(n: usize, components: &[String]) -> Vec<Event> {
    let mut rng = Rng(0x00c0_04d0);
    let agents: Vec<String> = (0..AGENTS).map(|i| format!("agent-{i:03}")).collect();
    // Per agent: its component, its current task number, and its task's progress.
    let mut work: Vec<(usize, u32, f64)> = (0..AGENTS)
        .map(|i| (i % components.len(), 0, 0.0))
        .collect();
    let task = |a: usize, k: u32| format!("T-{a:03}-{k}");
    let mut out: Vec<Event> = Vec::with_capacity(n);
    let mut pending: Vec<Pending> = Vec::new();
    let mut i = 0usize;
    let mut push = |out: &mut Vec<Event>, kind: EventType| -> usize {
        let ts = t0() + TimeDelta::milliseconds(10 * i as i64);
        out.push(Event::new(kind, ts, format!("ev-{i:07}")));
        i += 1;
        out.len() - 1
    };
    // Everyone starts with a task.
    for (a, name) in agents.iter().enumerate() {
        let k = push(&mut out, EventType::TaskAssigned);
        out[k].agent = Some(name.clone().into());
        out[k].task = Some(task(a, 0).into());
        out[k].component = Some(components[work[a].0].clone().into());
    }
    while out.len() < n {
        // Recoveries fall due a few hundred events after their crisis.
        if let Some(p) = pending.iter().position(|p| p.due <= out.len()) {
            let p = pending.swap_remove(p);
            let k = push(&mut out, p.recovery);
            out[k].agent = p.agent.map(Into::into);
            out[k].component = p.component.map(Into::into);
            out[k].gate = p.gate.map(Into::into);
            continue;
        }
        let a = rng.below(AGENTS);
        let (c, t, progress) = work[a];
        let roll = rng.below(1000);
        if roll < 560 {
            let progress = (progress + rng.below(3) as f64).min(99.0);
            work[a].2 = progress;
            let k = push(&mut out, EventType::ProgressUpdate);
            let e = &mut out[k];
            e.agent = Some(agents[a].clone().into());
            e.task = Some(task(a, t).into());
            e.component = Some(components[c].clone().into());
            e.progress = Some(progress);
            e.message = Some("tests green".into());
        } else if roll < 950 {
            let k = push(&mut out, EventType::AgentHeartbeat);
            out[k].agent = Some(agents[a].clone().into());
            out[k].status = Some("working".into());
        } else if roll < 980 {
            // Finish the task and take the next one, maybe on another component.
            let k = push(&mut out, EventType::TaskCompleted);
            out[k].agent = Some(agents[a].clone().into());
            out[k].task = Some(task(a, t).into());
            let c = if rng.below(4) == 0 {
                rng.below(components.len())
            } else {
                c
            };
            work[a] = (c, t + 1, progress);
            let k = push(&mut out, EventType::TaskAssigned);
            out[k].agent = Some(agents[a].clone().into());
            out[k].task = Some(task(a, t + 1).into());
            out[k].component = Some(components[c].clone().into());
        } else if roll < 990 {
            // About 1 % crises, each recovered later.
            let due = out.len() + 200 + rng.below(2000);
            let (kind, recovery, gate) = match rng.below(4) {
                0 => (EventType::BlockerDetected, EventType::BlockerResolved, None),
                1 => (
                    EventType::QualityGateFailure,
                    EventType::QualityGatePassed,
                    Some("unit_tests".to_string()),
                ),
                2 => (
                    EventType::CommunicationFailure,
                    EventType::CommunicationRestored,
                    None,
                ),
                _ => (EventType::SystemFailure, EventType::SystemRecovered, None),
            };
            let k = push(&mut out, kind);
            let e = &mut out[k];
            e.agent = Some(agents[a].clone().into());
            e.component = Some(components[c].clone().into());
            e.gate = gate.clone().map(Into::into);
            e.message = Some("something is wrong".into());
            if e.kind == EventType::SystemFailure {
                e.severity = Some(Level::High);
            }
            pending.push(Pending {
                recovery,
                agent: e.agent.as_deref().map(String::from),
                component: e.component.as_deref().map(String::from),
                gate,
                due,
            });
        } else {
            let kind = if roll < 995 {
                EventType::from_name("deploy_started")
            } else {
                EventType::EpicMilestone
            };
            let k = push(&mut out, kind);
            out[k].agent = Some(agents[a].clone().into());
            out[k].message = Some("note".into());
        }
    }
    out.truncate(n);
    out
}

fn plan(components: &[String]) -> Plan {
    let phases: Vec<serde_json::Value> = components
        .chunks(3)
        .enumerate()
        .map(|(p, chunk)| {
            let comps: Vec<serde_json::Value> = chunk
                .iter()
                .map(|c| {
                    serde_json::json!({"id": c, "weight": 2, "gates": ["unit_tests", "security_scan"],
                                       "capabilities": ["rust"]})
                })
                .collect();
            serde_json::json!({"id": format!("phase-{}", p + 1), "components": comps,
                               "criteria": {"technical": ["integration tests"]}})
        })
        .collect();
    let mut agents: Vec<serde_json::Value> = (0..AGENTS)
        .map(|i| serde_json::json!({"id": format!("agent-{i:03}"), "capabilities": ["rust"]}))
        .collect();
    agents.push(serde_json::json!({"id": "spare-1", "capabilities": ["rust"], "backup": true}));
    let text = serde_json::json!({"epic": "Bench", "phases": phases, "agents": agents}).to_string();
    parse_plan(&text, Path::new("plan.json")).expect("bench plan")
}

/// How many parsed events the runtime hands the engine at once.
const BATCH: usize = 1024;

/// Applies the stream as the runtime does: batch by batch as the parser hands them
/// over (still hot in cache), one effects buffer consumed after each input. Only
/// the applying is timed: copying each batch stands in for parsing it.
fn apply_all(events: &[Event], plan: Option<&Plan>) -> Duration {
    let mut engine = Engine::new(Config::default(), plan);
    let mut last = t0();
    let mut fx = Vec::new();
    let mut spent = Duration::ZERO;
    for chunk in events.chunks(BATCH) {
        let batch = chunk.to_vec();
        // The batch was read at one moment, just after its last event was written.
        last = batch.last().map_or(last, |e| e.ts) + TimeDelta::milliseconds(5);
        let start = Instant::now();
        for e in batch {
            engine.apply_into(Input::Event(e), last, &mut fx);
            black_box(&fx);
            fx.clear();
        }
        spent += start.elapsed();
    }
    let start = Instant::now();
    engine.apply_into(Input::Tick, last, &mut fx);
    black_box(&fx);
    spent += start.elapsed();
    drop(black_box(engine));
    spent
}

fn bench(c: &mut Criterion) {
    let free: Vec<String> = (0..30).map(|i| format!("component-{i:02}")).collect();
    let planned: Vec<String> = (0..9).map(|i| format!("component-{i:02}")).collect();
    let plan = plan(&planned);
    let cases = [
        (
            "apply_100k/no_plan_30_components",
            stream(EVENTS, &free),
            None,
        ),
        (
            "apply_100k/plan_9_components",
            stream(EVENTS, &planned),
            Some(&plan),
        ),
    ];

    let mut g = c.benchmark_group("engine");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(EVENTS as u64));
    for (name, events, plan) in &cases {
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| apply_all(events, *plan)).sum())
        });
    }
    g.finish();
}

/// An engine whose `quiet` agents each hold a task and were last seen at t0,
/// and whose `live` agents beat at t0 + 290 s: its tick at t0 + 301 s times out
/// every quiet agent at once and gives their tasks to the live ones.
fn quiet_fleet(quiet: usize, live: usize) -> Engine {
    let mut engine = Engine::new(Config::default(), None);
    let mut fx = Vec::new();
    let mut n = 0;
    let mut put = |engine: &mut Engine, kind: EventType, agent: &str, task: Option<String>, at| {
        n += 1;
        let mut e = Event::new(kind, at, format!("s{n}"));
        e.agent = Some(agent.into());
        e.task = task.map(Into::into);
        engine.apply_into(Input::Event(e), at, &mut fx);
        fx.clear();
    };
    for i in 0..quiet {
        let agent = format!("quiet-{i:05}");
        put(&mut engine, EventType::AgentHeartbeat, &agent, None, t0());
        put(
            &mut engine,
            EventType::TaskAssigned,
            &agent,
            Some(format!("T{i:05}")),
            t0(),
        );
    }
    for i in 0..live {
        let at = t0() + TimeDelta::seconds(290);
        put(
            &mut engine,
            EventType::AgentHeartbeat,
            &format!("live-{i:03}"),
            None,
            at,
        );
    }
    engine
}

/// The storm's tick alone, on a fresh copy of the fleet each time.
fn storm(c: &mut Criterion) {
    let fleet = quiet_fleet(10_000, 100);
    let at = t0() + TimeDelta::seconds(301);
    let mut g = c.benchmark_group("storm");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(10_000));
    g.bench_function("10k_agents_time_out_in_one_tick", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let mut engine = fleet.clone();
                    let mut fx = Vec::new();
                    let start = Instant::now();
                    engine.apply_into(Input::Tick, at, &mut fx);
                    let spent = start.elapsed();
                    assert_eq!(engine.alerts.open_count(), 10_000);
                    drop(black_box((engine, fx)));
                    spent
                })
                .sum()
        })
    });
    g.finish();
}

criterion_group!(benches, bench, storm);
criterion_main!(benches);

// The binary's allocator, so the bench measures what `coord` runs.
#[global_allocator]
static GLOBAL: coord::allocator::Allocator = coord::allocator::Allocator;
