//! The demo's story as data: the plan, the configuration and a timeline of
//! (scenario second, event) for a fleet of `agents` agents, all from a seed.
//!
//! Pure: nothing here reads a clock, sleeps or writes. The fleet (`fleet.rs`)
//! publishes each event when its scaled clock reaches the event's second; tests
//! feed the same timeline to the engine on a virtual clock.
//!
//! Times are scenario seconds. The coord.json written for a run divides every
//! duration by the speed, so at `--speed 2` both the story and the engine's
//! timers run twice as fast and the story keeps its shape (down to the
//! engine's one-second tick, which is coarser in scenario time at high speeds;
//! the story keeps a margin that holds up to `--speed 5`).
//!
//! The timeline is produced in chunks of `WINDOW` seconds: chunk `k` holds what
//! starts in `[k·WINDOW, (k+1)·WINDOW)` (a resolution may fall later), and
//! every random draw is a hash of (seed, stream, index), so a chunk depends on
//! nothing but its number: the prefix of a timeline never depends on how far
//! it is taken, and the same seed always gives the same events.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Map, Value};

/// Seconds of scenario per chunk.
pub const WINDOW: f64 = 30.0;

/// An agent is timed out after this many seconds of silence (scenario time).
pub const AGENT_TIMEOUT: f64 = 10.0;
/// ... and late after this many.
pub const LATE_AFTER: f64 = 8.0;
/// Healthy agents heartbeat this often, with a jitter of ±`HEARTBEAT_JITTER`.
pub const HEARTBEAT: f64 = 3.0;
const HEARTBEAT_JITTER: f64 = 0.4;

/// When Phase 1's last condition is met (the story's schedule; the engine
/// decides the moment).
pub const PHASE1_DONE: f64 = 77.5;
/// When the fleet starts on Phase 2's components.
pub const PHASE2_START: f64 = 82.0;
/// When Phase 2's last condition is met: a quarter of an hour of steady work.
pub const PHASE2_DONE: f64 = 990.0;
/// From here on, the steady state: occasional minor alerts.
const STEADY_FROM: f64 = 120.0;
/// A wait on a person past this opens `agent_waiting` (scenario seconds).
pub const WAITING_ALERT: f64 = 20.0;
/// When the waiter waits on a person (a permission prompt), and is answered.
pub const WAITS: [(f64, f64, &str); 2] = [
    (
        40.0,
        75.0,
        "needs approval to run: terraform apply (staging)",
    ),
    (
        200.0,
        250.0,
        "asks: rotate the staging database password now?",
    ),
];
/// What the plan gives each phase to spend with 12 agents (who spend about
/// $3.2 in Phase 1: past 80 %, under the budget), and for each agent more;
/// and the auth agent alone (passed within the first minute).
const BUDGETS: [(f64, f64); 2] = [(3.5, 0.3), (45.0, 3.75)];
const AUTH_BUDGET: f64 = 0.5;

pub const MIN_AGENTS: usize = 6;
pub const MAX_AGENTS: usize = 1000;

/// One event of the timeline, at a scenario second. The event has no `id` or
/// `ts`: publishing fills them (the wall time at which it is published).
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    pub at: f64,
    pub event: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AgentSpec {
    pub id: String,
    pub team: &'static str,
    pub capabilities: Vec<&'static str>,
    pub backup: bool,
}

/// Who plays each part of the story. With fewer agents, parts double up.
#[derive(Clone, Debug, PartialEq)]
pub struct Roles {
    /// Owns auth-api (T-1); reports its progress.
    pub auth: String,
    /// Owns event-store (T-2); dies first, then crash-loops (the flapping agent).
    pub crasher: String,
    /// The two agents that alone can take data-model work (python + sql): its
    /// task bounces between them until a human must take it.
    pub data_a: String,
    pub data_b: String,
    /// Owns web-dashboard (T-4); raises the blocker.
    pub web: String,
    /// Owns ci-pipeline (T-5); reports the system failure.
    pub ops: String,
    /// Runs the quality gates (CI results).
    pub qa: String,
    /// Loses its connection to the coordination bus.
    pub comms: String,
    /// Confirms the completion criteria.
    pub docs: String,
    /// The standby backup.
    pub backup: String,
    /// Phase 2 owners.
    pub notify: String,
    pub mobile: String,
    pub deploy: String,
    /// Waits on a person now and then (`WAITS`); in fleets large enough.
    pub waiter: Option<String>,
}

/// The whole scenario for one seed and fleet size.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub agents: Vec<AgentSpec>,
    pub roles: Roles,
}

// ------------------------------------------------------------------------------------
// Randomness: SplitMix64, used as a hash of (seed, stream, index)
// ------------------------------------------------------------------------------------

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Streams of random draws, each independent of the others.
#[derive(Clone, Copy)]
enum Stream {
    HeartbeatPhase = 1,
    Heartbeat,
    Progress,
    TaskCycle,
    TaskPhase,
    Incident,
    Pick,
    Spend,
}

impl Scenario {
    /// A uniform draw in [0, 1) for (stream, a, b), fixed by the seed.
    fn rand(&self, stream: Stream, a: u64, b: u64) -> f64 {
        let mut h = splitmix(self.seed ^ splitmix(stream as u64));
        h = splitmix(h ^ a);
        h = splitmix(h ^ b.wrapping_mul(0x2545_F491_4F6C_DD1D));
        (h >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ------------------------------------------------------------------------------------
// The cast
// ------------------------------------------------------------------------------------

/// The core cast of twelve in the order parts are given up as the fleet
/// shrinks: the first six are needed by the story.
const CORE: [(&str, &str); 12] = [
    ("backend-1", "backend"),
    ("backend-2", "backend"),
    ("data-1", "data"),
    ("data-2", "data"),
    ("frontend-1", "frontend"),
    ("spare-1", "backup"),
    ("devops-1", "devops"),
    ("qa-1", "qa"),
    ("frontend-2", "frontend"),
    ("backend-3", "backend"),
    ("devops-2", "devops"),
    ("docs-1", "docs"),
];

/// Teams that extra agents (past twelve) join, in turn.
const EXTRA_TEAMS: [&str; 5] = ["backend", "frontend", "data", "devops", "qa"];

fn capabilities(team: &str, id: &str) -> Vec<&'static str> {
    match team {
        "backend" => vec!["rust"],
        "frontend" => vec!["typescript"],
        // Only the first two data agents know SQL: data-model's work can go to
        // no one else, which is what makes its task bounce.
        "data" if id == "data-1" || id == "data-2" => vec!["python", "sql"],
        "data" => vec!["python"],
        "devops" => vec!["devops"],
        "qa" => vec!["testing"],
        "docs" => vec!["docs"],
        // No python: the backup cannot take data-model's work.
        "backup" => vec!["rust", "typescript", "devops"],
        _ => vec![],
    }
}

/// The fleet's agents: the core cast cut to `n`, or extended past twelve.
fn cast(n: usize) -> Vec<AgentSpec> {
    let mut agents: Vec<AgentSpec> = CORE
        .iter()
        .take(n)
        .map(|&(id, team)| AgentSpec {
            id: id.to_string(),
            team,
            capabilities: capabilities(team, id),
            backup: team == "backup",
        })
        .collect();
    let mut counts = std::collections::HashMap::new();
    for a in &agents {
        *counts.entry(a.team).or_insert(0usize) += 1;
    }
    let mut i = 0;
    while agents.len() < n {
        let team = EXTRA_TEAMS[i % EXTRA_TEAMS.len()];
        i += 1;
        let k = counts.entry(team).or_insert(0);
        *k += 1;
        let id = format!("{team}-{k}");
        agents.push(AgentSpec {
            capabilities: capabilities(team, &id),
            id,
            team,
            backup: false,
        });
    }
    agents
}

fn roles(agents: &[AgentSpec]) -> Roles {
    let has = |id: &str| agents.iter().any(|a| a.id == id);
    let first = |ids: &[&str]| -> String {
        ids.iter()
            .find(|id| has(id))
            .map(|s| s.to_string())
            .unwrap_or_else(|| ids[ids.len() - 1].to_string())
    };
    Roles {
        auth: "backend-1".into(),
        crasher: "backend-2".into(),
        data_a: "data-1".into(),
        data_b: "data-2".into(),
        web: "frontend-1".into(),
        backup: "spare-1".into(),
        ops: first(&["devops-1", "backend-1"]),
        qa: first(&["qa-1", "backend-1"]),
        comms: first(&["frontend-2", "frontend-1"]),
        docs: first(&["docs-1", "qa-1", "backend-1"]),
        notify: first(&["backend-3", "backend-1"]),
        mobile: first(&["frontend-2", "frontend-1"]),
        deploy: first(&["devops-2", "devops-1", "backend-1"]),
        waiter: has("devops-2").then(|| "devops-2".to_string()),
    }
}

// ------------------------------------------------------------------------------------
// Plan and configuration
// ------------------------------------------------------------------------------------

/// A component of the plan: (id, weight, owner role, gates, capabilities, depends_on).
struct ComponentDef {
    id: &'static str,
    weight: f64,
    gates: &'static [&'static str],
    capabilities: &'static [&'static str],
    depends_on: &'static [&'static str],
}

const PHASE1: [ComponentDef; 5] = [
    ComponentDef {
        id: "auth-api",
        weight: 2.0,
        gates: &["unit_tests", "security_scan"],
        capabilities: &["rust"],
        depends_on: &[],
    },
    ComponentDef {
        id: "event-store",
        weight: 2.0,
        gates: &["unit_tests", "integration_tests"],
        capabilities: &["rust"],
        depends_on: &[],
    },
    ComponentDef {
        id: "data-model",
        weight: 1.5,
        gates: &["data_validation"],
        capabilities: &["python", "sql"],
        depends_on: &["event-store"],
    },
    ComponentDef {
        id: "web-dashboard",
        weight: 1.0,
        gates: &["unit_tests"],
        capabilities: &["typescript"],
        depends_on: &["auth-api"],
    },
    ComponentDef {
        id: "ci-pipeline",
        weight: 1.0,
        gates: &["pipeline_green"],
        capabilities: &["devops"],
        depends_on: &[],
    },
];

const PHASE2: [ComponentDef; 4] = [
    ComponentDef {
        id: "notification-service",
        weight: 2.0,
        gates: &["unit_tests", "integration_tests"],
        capabilities: &["rust"],
        depends_on: &["event-store"],
    },
    ComponentDef {
        id: "reporting",
        weight: 1.0,
        gates: &["data_validation"],
        capabilities: &["python", "sql"],
        depends_on: &["data-model"],
    },
    ComponentDef {
        id: "mobile-client",
        weight: 1.5,
        gates: &["unit_tests", "ui_review"],
        capabilities: &["typescript"],
        depends_on: &["auth-api"],
    },
    ComponentDef {
        id: "deployment",
        weight: 1.0,
        gates: &["staging_smoke_test"],
        capabilities: &["devops"],
        depends_on: &["ci-pipeline", "notification-service"],
    },
];

const PHASE1_CRITERIA: [(&str, &str); 4] = [
    ("technical", "integration tests"),
    ("process", "code review"),
    ("process", "documentation"),
    ("accountability", "audit trail complete"),
];

const PHASE2_CRITERIA: [(&str, &str); 4] = [
    ("technical", "end-to-end tests"),
    ("technical", "load test at 10x traffic"),
    ("process", "release notes"),
    ("accountability", "stakeholder sign-off"),
];

fn criteria(list: &[(&str, &str)]) -> Value {
    let mut m: Map<String, Value> = Map::new();
    for (kind, name) in list {
        m.entry(kind.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("an array")
            .push(json!(name));
    }
    Value::Object(m)
}

/// Scenario seconds as wall time after `start` at `speed`.
fn wall(start: DateTime<Utc>, speed: f64, at: f64) -> DateTime<Utc> {
    start + TimeDelta::milliseconds((at / speed * 1000.0).round() as i64)
}

/// Scenario seconds as the value of a coord.json key in `unit` seconds.
fn scaled(seconds: f64, unit: f64, speed: f64) -> f64 {
    let v = seconds / unit / speed;
    // Short decimals in the file: rounded to 6 significant places.
    let digits = 6 - v.abs().log10().ceil() as i32;
    let p = 10f64.powi(digits.clamp(0, 12));
    (v * p).round() / p
}

/// The demo's coord.json: the seed's configuration with every duration cut so
/// that the story fits in 90 s, then divided by the speed.
pub fn config(speed: f64) -> Value {
    let s = |secs: f64| scaled(secs, 1.0, speed);
    let m = |secs: f64| scaled(secs, 60.0, speed);
    let h = |secs: f64| scaled(secs, 3600.0, speed);
    json!({
        "crisis_response_config": {
            "critical_response_time_seconds": s(15.0),
            "high_response_time_seconds": s(60.0),
            "medium_response_time_seconds": s(90.0),
            "low_response_time_seconds": s(300.0),
            "escalation_timeout_minutes": m(60.0),
            "max_automated_reassignments": 2,
            "phase1_completion_threshold": 95,
            "communication_timeout_minutes": m(30.0),
            "blocker_escalation_hours": h(90.0),
            "eta_window_minutes": m(60.0)
        },
        "quality_config": {
            "quality_gate_failure_threshold": 2,
            "quality_recovery_timeout_minutes": m(60.0)
        },
        "heartbeat_config": {
            "late_after_seconds": s(LATE_AFTER),
            "agent_timeout_minutes": m(AGENT_TIMEOUT),
            "waiting_alert_minutes": m(WAITING_ALERT)
        },
        "crisis_matrix": {
            "agent_timeout": {"respond_within_seconds": s(60.0)},
            "quality_gate_failure": {"respond_within_seconds": s(30.0)},
            "blocker_detected": {"respond_within_seconds": s(90.0)},
            "system_failure": {"respond_within_seconds": s(15.0)},
            "communication_failure": {"respond_within_seconds": s(30.0)}
        }
    })
}

// ------------------------------------------------------------------------------------
// The timeline
// ------------------------------------------------------------------------------------

/// When an agent is up: regular heartbeats inside these spans, single
/// heartbeats at restarts that do not last.
struct Life {
    spans: &'static [(f64, f64)],
    blips: &'static [f64],
}

const ALWAYS: Life = Life {
    spans: &[(0.0, f64::INFINITY)],
    blips: &[],
};

/// The crash loop: up until 3.5 s, restarted four times for a heartbeat each
/// (every restart follows the previous timeout by 8 s), stable from 97 s.
/// Six open/close changes make it flap at the third restart (61 s).
const CRASHER: Life = Life {
    spans: &[(0.0, 3.5), (97.0, f64::INFINITY)],
    blips: &[25.0, 43.0, 61.0, 79.0, 97.0],
};
/// Dies at 12.5 s, restarted at 31 s, dies again at 54 s, back for good at 110 s.
const DATA_A: Life = Life {
    spans: &[(0.0, 12.5), (31.0, 54.0), (110.0, f64::INFINITY)],
    blips: &[31.0, 110.0],
};
/// Dies at 32.5 s, restarted at 51 s.
const DATA_B: Life = Life {
    spans: &[(0.0, 32.5), (51.0, f64::INFINITY)],
    blips: &[51.0],
};

impl Life {
    fn up(&self, t: f64) -> bool {
        self.spans.iter().any(|&(a, b)| t >= a && t < b)
    }
}

/// An event under construction.
fn ev(kind: &str, agent: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("agent".into(), json!(agent));
    m
}

trait With {
    fn with(self, key: &str, value: impl Into<Value>) -> Self;
}

impl With for Map<String, Value> {
    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.insert(key.into(), value.into());
        self
    }
}

/// Progress rounded to a tenth, clamped to 0–100.
fn pct(p: f64) -> f64 {
    (p.clamp(0.0, 100.0) * 10.0).round() / 10.0
}

/// One stretch of reports on a component: `agent` reports `task` from `t0` to
/// `t1`, progress going linearly from `p0` to `p1`.
struct Stretch<'a> {
    component: &'static str,
    agent: &'a str,
    task: &'a str,
    t0: f64,
    t1: f64,
    p0: f64,
    p1: f64,
}

impl Scenario {
    /// `agents` from `MIN_AGENTS` to `MAX_AGENTS`.
    pub fn new(seed: u64, agents: usize) -> Result<Scenario, String> {
        if !(MIN_AGENTS..=MAX_AGENTS).contains(&agents) {
            return Err(format!(
                "--agents must be between {MIN_AGENTS} and {MAX_AGENTS} (the story needs \
                 {MIN_AGENTS}: two backend agents, two data agents, a frontend agent and the \
                 backup); got {agents}"
            ));
        }
        let agents = cast(agents);
        let roles = roles(&agents);
        Ok(Scenario {
            seed,
            agents,
            roles,
        })
    }

    /// The plan.json of the Foundation Epic: two phases, their weighted
    /// components with gates, criteria, and the fleet with one backup. Phase
    /// targets are wall times: `start` plus the story's schedule at `speed`.
    pub fn plan(&self, start: DateTime<Utc>, speed: f64) -> Value {
        let r = &self.roles;
        let owner = |id: &str| -> &str {
            match id {
                "auth-api" => &r.auth,
                "event-store" => &r.crasher,
                "data-model" => &r.data_a,
                "web-dashboard" => &r.web,
                "ci-pipeline" => &r.ops,
                "notification-service" => &r.notify,
                "reporting" => &r.data_b,
                "mobile-client" => &r.mobile,
                _ => &r.deploy,
            }
        };
        let components = |defs: &[ComponentDef]| -> Vec<Value> {
            defs.iter()
                .map(|c| {
                    json!({"id": c.id, "weight": c.weight, "owner": owner(c.id),
                           "gates": c.gates, "capabilities": c.capabilities,
                           "depends_on": c.depends_on})
                })
                .collect()
        };
        let target = |at: f64| wall(start, speed, at).to_rfc3339_opts(SecondsFormat::Secs, true);
        let more = self.agents.len().saturating_sub(12) as f64;
        let budget = |p: usize| BUDGETS[p].0 + BUDGETS[p].1 * more;
        let agents: Vec<Value> = self
            .agents
            .iter()
            .map(|a| {
                let mut v = json!({"id": a.id, "capabilities": a.capabilities});
                if a.backup {
                    v["backup"] = json!(true);
                }
                if a.id == r.auth {
                    v["budget_usd"] = json!(AUTH_BUDGET);
                }
                v
            })
            .collect();
        json!({
            "epic": "Foundation Epic",
            "phases": [
                {"id": "phase-1", "name": "Phase 1: Foundation", "target": target(90.0),
                 "budget_usd": budget(0),
                 "components": components(&PHASE1), "criteria": criteria(&PHASE1_CRITERIA)},
                {"id": "phase-2", "name": "Phase 2: Integration", "target": target(PHASE2_DONE + 60.0),
                 "budget_usd": budget(1),
                 "components": components(&PHASE2), "criteria": criteria(&PHASE2_CRITERIA)}
            ],
            "agents": agents
        })
    }

    fn life(&self, agent: &str) -> &'static Life {
        let r = &self.roles;
        if agent == r.crasher {
            &CRASHER
        } else if agent == r.data_a {
            &DATA_A
        } else if agent == r.data_b {
            &DATA_B
        } else {
            &ALWAYS
        }
    }

    /// The waiter waits on a person at `t` (and sends nothing but that).
    fn waiting(&self, agent: &str, t: f64) -> bool {
        self.roles.waiter.as_deref() == Some(agent)
            && WAITS.iter().any(|&(a, b, _)| t >= a && t < b)
    }

    /// What a report of work cost: a few cents and a few thousand tokens.
    fn spend(&self, e: Map<String, Value>, a: u64, b: u64) -> Map<String, Value> {
        let x = self.rand(Stream::Spend, a, b);
        e.with("cost_usd", ((0.01 + 0.05 * x) * 1000.0).round() / 1000.0)
            .with("tokens", 800 + (4000.0 * x) as u64)
    }

    /// Every event of the timeline before scenario second `end`, in order.
    pub fn until(&self, end: f64) -> Vec<Timed> {
        let chunks = (end / WINDOW).ceil().max(0.0) as u64;
        let mut all: Vec<Timed> = (0..chunks).flat_map(|k| self.chunk(k)).collect();
        all.retain(|t| t.at < end);
        sort(&mut all);
        all
    }

    /// What starts in `[k·WINDOW, (k+1)·WINDOW)`, in time order.
    pub fn chunk(&self, k: u64) -> Vec<Timed> {
        let (from, to) = (k as f64 * WINDOW, (k + 1) as f64 * WINDOW);
        let mut out = Vec::new();
        let mut script = self.script();
        script.retain(|t| t.at >= from && t.at < to);
        out.extend(script);
        self.heartbeats(from, to, &mut out);
        self.progress(from, to, &mut out);
        self.task_cycles(from, to, &mut out);
        self.incidents(k, &mut out);
        sort(&mut out);
        out
    }

    /// Heartbeats whose nominal time falls in `[from, to)`: every agent, while up.
    fn heartbeats(&self, from: f64, to: f64, out: &mut Vec<Timed>) {
        for (i, a) in self.agents.iter().enumerate() {
            let life = self.life(&a.id);
            let phase = self.rand(Stream::HeartbeatPhase, i as u64, 0) * HEARTBEAT;
            let first = ((from - phase) / HEARTBEAT).ceil().max(0.0) as u64;
            let mut n = first;
            loop {
                let nominal = phase + n as f64 * HEARTBEAT;
                if nominal >= to {
                    break;
                }
                let jitter =
                    (self.rand(Stream::Heartbeat, i as u64, n) * 2.0 - 1.0) * HEARTBEAT_JITTER;
                let at = (nominal + jitter).max(0.0);
                if nominal >= from && life.up(at) && !self.waiting(&a.id, at) {
                    out.push(Timed {
                        at,
                        event: Value::Object(ev("agent_heartbeat", &a.id)),
                    });
                }
                n += 1;
            }
            for &b in life.blips {
                if b >= from && b < to {
                    out.push(Timed {
                        at: b,
                        event: Value::Object(
                            ev("agent_heartbeat", &a.id).with("message", "restarted"),
                        ),
                    });
                }
            }
        }
    }

    /// The component reports: who reports on what, when, from which progress to
    /// which. Reports come every 3–5 s.
    fn stretches(&self) -> Vec<Stretch<'_>> {
        let r = &self.roles;
        let mut v = vec![
            Stretch {
                component: "auth-api",
                agent: &r.auth,
                task: "T-1",
                t0: 2.0,
                t1: 68.0,
                p0: 4.0,
                p1: 100.0,
            },
            Stretch {
                component: "event-store",
                agent: &r.crasher,
                task: "T-2",
                t0: 1.0,
                t1: 3.0,
                p0: 4.0,
                p1: 8.0,
            },
            Stretch {
                component: "event-store",
                agent: &r.backup,
                task: "T-2",
                t0: 24.0,
                t1: 71.0,
                p0: 12.0,
                p1: 100.0,
            },
            Stretch {
                component: "data-model",
                agent: &r.data_a,
                task: "T-3",
                t0: 1.0,
                t1: 12.0,
                p0: 3.0,
                p1: 15.0,
            },
            Stretch {
                component: "data-model",
                agent: &r.data_b,
                task: "T-3",
                t0: 28.0,
                t1: 32.0,
                p0: 18.0,
                p1: 30.0,
            },
            Stretch {
                component: "data-model",
                agent: &r.data_a,
                task: "T-9",
                t0: 33.0,
                t1: 53.0,
                p0: 33.0,
                p1: 60.0,
            },
            Stretch {
                component: "data-model",
                agent: &r.data_b,
                task: "T-10",
                t0: 53.0,
                t1: 71.0,
                p0: 62.0,
                p1: 100.0,
            },
            Stretch {
                component: "web-dashboard",
                agent: &r.web,
                task: "T-4",
                t0: 2.0,
                t1: 44.0,
                p0: 3.0,
                p1: 55.0,
            },
            Stretch {
                component: "web-dashboard",
                agent: &r.web,
                task: "T-4",
                t0: 59.0,
                t1: 75.0,
                p0: 60.0,
                p1: 100.0,
            },
            Stretch {
                component: "ci-pipeline",
                agent: &r.ops,
                task: "T-5",
                t0: 2.0,
                t1: 19.0,
                p0: 5.0,
                p1: 40.0,
            },
            Stretch {
                component: "ci-pipeline",
                agent: &r.ops,
                task: "T-5",
                t0: 37.0,
                t1: 66.0,
                p0: 45.0,
                p1: 100.0,
            },
        ];
        let p2 = PHASE2_START + 2.0;
        v.extend([
            Stretch {
                component: "notification-service",
                agent: &r.notify,
                task: "T-11",
                t0: p2,
                t1: 900.0,
                p0: 1.0,
                p1: 100.0,
            },
            Stretch {
                component: "reporting",
                agent: &r.data_b,
                task: "T-12",
                t0: p2,
                t1: 700.0,
                p0: 1.0,
                p1: 100.0,
            },
            Stretch {
                component: "mobile-client",
                agent: &r.mobile,
                task: "T-13",
                t0: p2,
                t1: 950.0,
                p0: 1.0,
                p1: 100.0,
            },
            Stretch {
                component: "deployment",
                agent: &r.deploy,
                task: "T-14",
                t0: 300.0,
                t1: 975.0,
                p0: 2.0,
                p1: 100.0,
            },
        ]);
        v
    }

    /// Progress reports whose time falls in `[from, to)`; each stretch ends with
    /// a report at its last progress, exactly at `t1`.
    fn progress(&self, from: f64, to: f64, out: &mut Vec<Timed>) {
        for (si, s) in self.stretches().iter().enumerate() {
            if s.t1 < from || s.t0 >= to {
                continue;
            }
            let mut t = s.t0;
            let mut n = 0u64;
            loop {
                let last = t >= s.t1;
                let at = t.min(s.t1);
                if at >= from && at < to {
                    let p = s.p0 + (s.p1 - s.p0) * (at - s.t0) / (s.t1 - s.t0).max(1e-9);
                    out.push(Timed {
                        at,
                        event: Value::Object(
                            self.spend(
                                ev("progress_update", s.agent)
                                    .with("component", s.component)
                                    .with("task", s.task)
                                    .with("progress", pct(p)),
                                si as u64,
                                n,
                            ),
                        ),
                    });
                }
                if last || at >= to {
                    break;
                }
                t += 3.0 + 2.0 * self.rand(Stream::Progress, si as u64, n);
                n += 1;
            }
        }
    }

    /// The scripted story (and its Phase 2 milestones), whole; `chunk` cuts it.
    fn script(&self) -> Vec<Timed> {
        let r = &self.roles;
        let mut v: Vec<Timed> = Vec::new();
        let mut at = |t: f64, e: Map<String, Value>| {
            v.push(Timed {
                at: t,
                event: Value::Object(e),
            })
        };
        let assign = |agent: &str, task: &str, component: &str, what: &str| {
            ev("task_assigned", agent)
                .with("task", task)
                .with("component", component)
                .with("message", what)
        };
        // 0 s: the work of Phase 1 is handed out.
        at(
            0.5,
            assign(&r.auth, "T-1", "auth-api", "token service and sessions"),
        );
        at(
            0.5,
            assign(&r.crasher, "T-2", "event-store", "append-only store"),
        );
        at(
            0.5,
            assign(&r.data_a, "T-3", "data-model", "schema and migrations"),
        );
        at(
            0.5,
            assign(&r.web, "T-4", "web-dashboard", "login and overview pages"),
        );
        at(
            0.5,
            assign(&r.ops, "T-5", "ci-pipeline", "build and test pipeline"),
        );
        at(0.6, assign(&r.data_b, "T-8", "data-model", "seed data"));
        // The waiter asks a person, and is answered (WAITS).
        if let Some(w) = &r.waiter {
            for (from, to, what) in WAITS {
                at(
                    from,
                    ev("agent_heartbeat", w)
                        .with("status", "waiting")
                        .with("message", what),
                );
                at(
                    to,
                    ev("agent_heartbeat", w)
                        .with("status", "working")
                        .with("message", "answered; going on"),
                );
            }
        }
        // 20 s: the build farm goes down (Critical, straight to a human).
        at(
            20.0,
            ev("system_failure", &r.ops)
                .with("message", "build farm: runner pool unreachable")
                .with("data", json!({"system": "build-farm", "runners_down": 12})),
        );
        // 31 s: data-1 is back; new work for it.
        at(
            32.0,
            assign(&r.data_a, "T-9", "data-model", "indexes and constraints"),
        );
        // 33 s, 43 s: auth-api's unit tests fail twice (human on the second), pass at 55 s.
        let gate = |kind: &str, component: &str, gate: &str, msg: &str| {
            ev(kind, &r.qa)
                .with("component", component)
                .with("gate", gate)
                .with("message", msg)
        };
        at(
            33.0,
            gate(
                "quality_gate_failure",
                "auth-api",
                "unit_tests",
                "3 failing tests in token refresh",
            ),
        );
        at(
            36.0,
            ev("system_recovered", &r.ops)
                .with("message", "build farm: runners back")
                .with("data", json!({"system": "build-farm"})),
        );
        at(
            43.0,
            gate(
                "quality_gate_failure",
                "auth-api",
                "unit_tests",
                "token refresh still failing (1 test)",
            ),
        );
        // 45 s: web-dashboard waits on auth-api.
        at(
            45.0,
            ev("blocker_detected", &r.web)
                .with("component", "web-dashboard")
                .with("task", "T-4")
                .with(
                    "message",
                    "waiting on auth-api: token endpoint failing its tests",
                ),
        );
        at(
            52.0,
            assign(&r.data_b, "T-10", "data-model", "validation fixes"),
        );
        at(
            55.0,
            gate("quality_gate_passed", "auth-api", "unit_tests", "all green"),
        );
        at(
            58.0,
            ev("blocker_resolved", &r.web)
                .with("component", "web-dashboard")
                .with("task", "T-4")
                .with("message", "token endpoint fixed"),
        );
        // 60 s: an agent loses the coordination bus for ten seconds.
        at(
            60.0,
            ev("communication_failure", &r.comms).with(
                "message",
                "lost connection to the coordination bus; buffering locally",
            ),
        );
        at(
            64.0,
            gate(
                "quality_gate_passed",
                "event-store",
                "unit_tests",
                "all green",
            ),
        );
        at(
            67.0,
            gate(
                "quality_gate_passed",
                "ci-pipeline",
                "pipeline_green",
                "main is green",
            ),
        );
        at(
            69.0,
            gate(
                "quality_gate_passed",
                "auth-api",
                "security_scan",
                "no findings",
            ),
        );
        at(
            70.0,
            ev("communication_restored", &r.comms)
                .with("message", "reconnected; resynced 14 events"),
        );
        at(
            72.0,
            gate(
                "quality_gate_passed",
                "data-model",
                "data_validation",
                "row counts match",
            ),
        );
        at(
            73.0,
            gate(
                "quality_gate_passed",
                "event-store",
                "integration_tests",
                "all green",
            ),
        );
        let criterion = |phase: &str, kind: &str, name: &str| {
            ev("criterion_met", &r.docs)
                .with("phase", phase)
                .with("message", format!("{kind}: {name}"))
                .with("data", json!({"criterion": format!("{kind}: {name}")}))
        };
        for (i, (kind, name)) in PHASE1_CRITERIA[..3].iter().enumerate() {
            at(74.0 + i as f64, criterion("phase-1", kind, name));
        }
        at(
            76.0,
            gate(
                "quality_gate_passed",
                "web-dashboard",
                "unit_tests",
                "all green",
            ),
        );
        // Phase 1's last condition at 77.5 s.
        at(
            PHASE1_DONE,
            criterion("phase-1", "accountability", "audit trail complete"),
        );
        // Phase 2's work is handed out.
        at(
            PHASE2_START - 1.0,
            ev("epic_milestone", &r.docs).with("message", "Phase 1 handed off; Phase 2 kickoff"),
        );
        at(
            PHASE2_START,
            assign(
                &r.notify,
                "T-11",
                "notification-service",
                "delivery workers",
            ),
        );
        at(
            PHASE2_START,
            assign(&r.data_b, "T-12", "reporting", "weekly reports"),
        );
        at(
            PHASE2_START,
            assign(&r.mobile, "T-13", "mobile-client", "sign-in and feed"),
        );
        at(
            299.0,
            assign(&r.deploy, "T-14", "deployment", "staging and production"),
        );
        // Phase 2's gates and criteria, as its components finish.
        at(
            705.0,
            gate(
                "quality_gate_passed",
                "reporting",
                "data_validation",
                "row counts match",
            ),
        );
        at(
            905.0,
            gate(
                "quality_gate_passed",
                "notification-service",
                "unit_tests",
                "all green",
            ),
        );
        at(
            930.0,
            gate(
                "quality_gate_passed",
                "notification-service",
                "integration_tests",
                "all green",
            ),
        );
        at(
            952.0,
            gate(
                "quality_gate_passed",
                "mobile-client",
                "unit_tests",
                "all green",
            ),
        );
        at(
            960.0,
            gate(
                "quality_gate_passed",
                "mobile-client",
                "ui_review",
                "approved",
            ),
        );
        at(
            978.0,
            gate(
                "quality_gate_passed",
                "deployment",
                "staging_smoke_test",
                "smoke test green",
            ),
        );
        for (i, (kind, name)) in PHASE2_CRITERIA.iter().enumerate() {
            at(
                PHASE2_DONE - 6.0 + i as f64 * 2.0,
                criterion("phase-2", kind, name),
            );
        }
        at(
            PHASE2_DONE + 5.0,
            ev("epic_milestone", &r.docs).with("message", "Foundation Epic delivered"),
        );
        v
    }

    /// Agents outside the story take small tasks in turn: assigned, two
    /// progress reports, completed; on a component of their team in the phase
    /// under way. The story's agents join in once the story is over.
    fn task_cycles(&self, from: f64, to: f64, out: &mut Vec<Timed>) {
        let r = &self.roles;
        let story = [&r.auth, &r.crasher, &r.data_a, &r.data_b, &r.web];
        for (i, a) in self.agents.iter().enumerate() {
            // The waiter's only work is its own (deployment, from 299 s).
            if a.backup || r.waiter.as_ref() == Some(&a.id) {
                continue;
            }
            let joins = if story.contains(&&a.id) {
                STEADY_FROM
            } else {
                3.0
            };
            let len = 35.0 + 25.0 * self.rand(Stream::TaskCycle, i as u64, 0);
            let offset = joins + self.rand(Stream::TaskPhase, i as u64, 0) * len;
            let first = ((from - offset) / len).ceil().max(0.0) as u64;
            let mut k = first;
            loop {
                let start = offset + k as f64 * len;
                if start >= to {
                    break;
                }
                k += 1;
                if start < from {
                    continue;
                }
                let end = start + 0.9 * len;
                // Work only inside a phase, never across the hand-over.
                let phase1 = end < PHASE1_DONE - 3.0;
                let phase2 = start > PHASE2_START && end < PHASE2_DONE - 10.0;
                if !(phase1 || phase2) {
                    continue;
                }
                let Some(component) = team_component(a.team, phase1, k) else {
                    continue;
                };
                let task = format!("T-{}.{}", a.id, k);
                let mk = |kind: &str| ev(kind, &a.id).with("task", task.as_str());
                out.push(Timed {
                    at: start,
                    event: Value::Object(mk("task_assigned").with("component", component)),
                });
                for (j, (f, p)) in [(0.35, 30.0), (0.65, 70.0)].into_iter().enumerate() {
                    let e = mk("progress_update").with("progress", p);
                    out.push(Timed {
                        at: start + f * len,
                        event: Value::Object(self.spend(e, 1000 + i as u64, k * 2 + j as u64)),
                    });
                }
                out.push(Timed {
                    at: end,
                    event: Value::Object(mk("task_completed")),
                });
            }
        }
    }

    /// The steady state's occasional minor alert, at most one a chunk, each
    /// resolved by its agent within half a minute.
    fn incidents(&self, k: u64, out: &mut Vec<Timed>) {
        let start = k as f64 * WINDOW;
        if start < STEADY_FROM || self.rand(Stream::Incident, k, 0) < 0.4 {
            return;
        }
        let at = start + self.rand(Stream::Incident, k, 1) * (WINDOW - 5.0);
        let fix = at + 6.0 + self.rand(Stream::Incident, k, 2) * 18.0;
        let workers: Vec<&AgentSpec> = self.agents.iter().filter(|a| !a.backup).collect();
        let agent = &workers[(self.rand(Stream::Pick, k, 0) * workers.len() as f64) as usize].id;
        let in_phase2 = at < PHASE2_DONE;
        let components: &[ComponentDef] = if in_phase2 { &PHASE2 } else { &PHASE1 };
        let c = &components[(self.rand(Stream::Pick, k, 1) * components.len() as f64) as usize];
        let mut push = |t: f64, e: Map<String, Value>| {
            out.push(Timed {
                at: t,
                event: Value::Object(e),
            })
        };
        match (self.rand(Stream::Incident, k, 3) * 3.0) as u32 {
            0 => {
                push(
                    at,
                    ev("blocker_detected", agent)
                        .with("component", c.id)
                        .with("severity", "low")
                        .with("message", "waiting on a review"),
                );
                push(
                    fix,
                    ev("blocker_resolved", agent)
                        .with("component", c.id)
                        .with("message", "review done"),
                );
            }
            1 => {
                let gate = c.gates[(self.rand(Stream::Pick, k, 2) * c.gates.len() as f64) as usize];
                let qa = &self.roles.qa;
                push(
                    at,
                    ev("quality_gate_failure", qa)
                        .with("component", c.id)
                        .with("gate", gate)
                        .with("severity", "medium")
                        .with("message", "flaky test; re-running"),
                );
                push(
                    fix,
                    ev("quality_gate_passed", qa)
                        .with("component", c.id)
                        .with("gate", gate)
                        .with("message", "green on re-run"),
                );
            }
            _ => {
                push(
                    at,
                    ev("communication_failure", agent)
                        .with("severity", "medium")
                        .with("message", "connection reset; retrying"),
                );
                push(
                    fix.min(at + 10.0),
                    ev("communication_restored", agent).with("message", "reconnected"),
                );
            }
        }
    }
}

/// A component of the agent's team in Phase 1 or Phase 2, in turn with `k`.
fn team_component(team: &str, phase1: bool, k: u64) -> Option<&'static str> {
    let list: &[&'static str] = match (team, phase1) {
        ("backend", true) => &["auth-api", "event-store"],
        ("backend", false) => &["notification-service"],
        ("frontend", true) => &["web-dashboard"],
        ("frontend", false) => &["mobile-client"],
        ("data", true) => &["data-model"],
        ("data", false) => &["reporting"],
        ("devops", true) => &["ci-pipeline"],
        ("devops", false) => &["deployment"],
        ("qa", true) => &["auth-api", "web-dashboard"],
        ("qa", false) => &["notification-service", "mobile-client"],
        ("docs", true) => &["auth-api"],
        ("docs", false) => &["notification-service"],
        _ => return None,
    };
    Some(list[(k as usize) % list.len()])
}

/// Time order; events at the same second keep their order.
fn sort(v: &mut [Timed]) {
    v.sort_by(|a, b| a.at.total_cmp(&b.at));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_timeline() {
        let a = Scenario::new(7, 12).unwrap().until(300.0);
        let b = Scenario::new(7, 12).unwrap().until(300.0);
        assert_eq!(a, b);
        assert!(a.len() > 300, "{}", a.len());
        let c = Scenario::new(8, 12).unwrap().until(300.0);
        assert_ne!(a, c, "another seed moves the jitter");
    }

    #[test]
    fn a_prefix_does_not_depend_on_how_far_it_is_taken() {
        let s = Scenario::new(3, 20).unwrap();
        let long = s.until(400.0);
        let short = s.until(95.0);
        assert_eq!(&long[..short.len()], &short[..]);
        assert!(long[short.len()].at >= 95.0);
        assert!(long.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn fleet_sizes() {
        assert!(Scenario::new(1, 5).is_err());
        assert!(Scenario::new(1, MAX_AGENTS + 1).is_err());
        let small = Scenario::new(1, 6).unwrap();
        assert_eq!(small.roles.ops, "backend-1");
        assert_eq!(small.roles.comms, "frontend-1");
        let big = Scenario::new(1, 300).unwrap();
        assert_eq!(big.agents.len(), 300);
        let mut ids: Vec<&str> = big.agents.iter().map(|a| a.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 300, "agent ids are unique");
        assert_eq!(big.agents.iter().filter(|a| a.backup).count(), 1);
        // Only two agents know SQL, whatever the size.
        let sql = big
            .agents
            .iter()
            .filter(|a| a.capabilities.contains(&"sql"))
            .count();
        assert_eq!(sql, 2);
    }

    #[test]
    fn every_event_names_an_agent_of_the_fleet_and_is_valid() {
        for n in [6, 12, 40] {
            let s = Scenario::new(11, n).unwrap();
            let now = Utc::now();
            for t in s.until(1100.0) {
                let agent = t.event["agent"].as_str().unwrap();
                assert!(s.agents.iter().any(|a| a.id == agent), "{agent} in {n}");
                crate::model::event::parse_value(
                    t.event.clone(),
                    &crate::model::event::Origin {
                        source: "t",
                        line: 1,
                        offset: 0,
                        ident: "",
                    },
                    now,
                    &Default::default(),
                )
                .unwrap_or_else(|e| panic!("{}: {}", t.event, e.reason));
            }
        }
    }

    #[test]
    fn config_and_plan_are_valid() {
        use std::path::Path;
        for speed in [0.5, 1.0, 4.0, 10.0] {
            let cfg = config(speed);
            crate::config::parse_config(&cfg.to_string(), Path::new("coord.json"))
                .unwrap_or_else(|e| panic!("{speed}: {e}"));
        }
        let s = Scenario::new(1, 12).unwrap();
        let plan = s.plan(Utc::now(), 1.0);
        let p = crate::model::plan::parse_plan(&plan.to_string(), Path::new("plan.json")).unwrap();
        assert_eq!(p.phases.len(), 2);
        assert_eq!(p.agents.len(), 12);
    }
}
