//! Property tests of the engine: random sequences of events of every type, ticks,
//! clock jumps, parse errors and operator actions, with and without a plan. After
//! every step the engine's invariants hold; a second engine fed the same inputs
//! produces the same effects and the same summary (replay is exact). And the same
//! sequences applied live through the runtime's core, journaled, then replayed from
//! the journal into a fresh engine give exactly the same state.

use chrono::{DateTime, TimeDelta, Utc};
use coord::config::Config;
use coord::engine::agents::Task;
use coord::engine::alerts::Status;
use coord::engine::{Action, Engine, Input, OperatorAction};
use coord::model::event::{Origin, ParseError};
use coord::model::plan::parse_plan;
use coord::model::{Escalation, Event, EventType, Level, Plan};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Time = DateTime<Utc>;

const AGENTS: [&str; 5] = ["a0", "a1", "a2", "spare", "zed"];
const COMPONENTS: [&str; 4] = ["c0", "c1", "c2", "c3"];
const TASKS: [&str; 5] = ["t0", "t1", "t2", "t3", "t4"];
const GATES: [&str; 3] = ["unit", "sec", "lint"];
const STATUSES: [&str; 4] = ["offline", "STOPPING", "online", "busy"];
const PHASES: [&str; 3] = ["phase-1", "phase-2", "phase-9"];
const CRITERIA: [&str; 4] = [
    "integration tests",
    "technical:integration tests",
    "process: Review",
    "bogus",
];
const OPERATORS: [&str; 2] = ["ops", "pm"];
const SNOOZE_MINUTES: [f64; 11] = [
    0.0,
    -5.0,
    0.01,
    15.0,
    60.0,
    240.0,
    10_080.0,
    10_081.0,
    1e300,
    f64::NAN,
    f64::INFINITY,
];
const LEVELS: [Level; 4] = [Level::Low, Level::Medium, Level::High, Level::Critical];

fn t0() -> Time {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn plan() -> Plan {
    parse_plan(&plan_text(), Path::new("plan.json")).expect("test plan")
}

fn plan_text() -> String {
    serde_json::json!({
        "epic": "Property Epic",
        "phases": [
            {"id": "phase-1", "name": "Phase 1", "target": "2026-11-25T00:00:00Z",
             "components": [
                {"id": "c0", "weight": 2, "owner": "a0", "gates": ["unit", "sec"],
                 "capabilities": ["rust"]},
                {"id": "c1", "weight": 1, "owner": "a1", "gates": ["unit"],
                 "capabilities": ["ts"]}],
             "criteria": {"technical": ["integration tests"], "process": ["review"]}},
            {"id": "phase-2", "components": [
                {"id": "c2", "gates": ["unit"], "capabilities": ["rust"],
                 "depends_on": ["c0"]}]}],
        "agents": [
            {"id": "a0", "capabilities": ["rust"]},
            {"id": "a1", "capabilities": ["rust", "ts"]},
            {"id": "spare", "capabilities": ["rust", "ts"], "backup": true}]
    })
    .to_string()
}

/// One event, as indices into the pools; made concrete when it is applied.
#[derive(Clone, Debug)]
struct EventSpec {
    /// Index into `EventType::KNOWN`; `KNOWN.len()` is an unknown type.
    kind: usize,
    agent: Option<usize>,
    component: Option<usize>,
    task: Option<usize>,
    gate: Option<usize>,
    severity: Option<usize>,
    progress: Option<f64>,
    status: Option<usize>,
    phase: Option<usize>,
    criterion: Option<usize>,
    /// Seconds from the virtual now (out-of-order events).
    dt: i64,
    /// Reuse the id of an earlier event (index modulo the ids so far).
    dup: Option<usize>,
}

#[derive(Clone, Debug)]
enum OpSpec {
    Acknowledge(usize, bool),
    AcknowledgeAll(Vec<usize>),
    Escalate(usize),
    Reassign(usize, usize),
    Snooze(usize, usize),
    Resolve(usize, bool),
    FalseAlarm(usize, bool),
    Note(usize, bool),
}

#[derive(Clone, Debug)]
enum Step {
    Event(EventSpec),
    ParseError,
    Tick,
    Advance(i64),
    Op(usize, OpSpec),
    /// A burst of events that finishes the current phase: every component done,
    /// every gate passed, every criterion met (so the cascade runs).
    FinishPhase,
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    let progress = prop_oneof![
        Just(0.0),
        Just(95.0),
        Just(100.0),
        (0u8..=100).prop_map(f64::from),
        0.0..=100.0f64,
    ];
    (
        (
            0..=EventType::KNOWN.len(),
            proptest::option::weighted(0.9, 0..AGENTS.len()),
            proptest::option::weighted(0.7, 0..COMPONENTS.len()),
            proptest::option::weighted(0.5, 0..TASKS.len()),
            proptest::option::weighted(0.5, 0..GATES.len()),
            proptest::option::weighted(0.2, 0..LEVELS.len()),
        ),
        (
            proptest::option::weighted(0.5, progress),
            proptest::option::weighted(0.15, 0..STATUSES.len()),
            proptest::option::weighted(0.3, 0..PHASES.len()),
            proptest::option::weighted(0.6, 0..CRITERIA.len()),
            -300i64..=300,
            proptest::option::weighted(0.1, any::<usize>()),
        ),
    )
        .prop_map(
            |(
                (kind, agent, component, task, gate, severity),
                (progress, status, phase, criterion, dt, dup),
            )| EventSpec {
                kind,
                agent,
                component,
                task,
                gate,
                severity,
                progress,
                status,
                phase,
                criterion,
                dt,
                dup,
            },
        )
}

fn op_spec() -> impl Strategy<Value = OpSpec> {
    let alert = any::<usize>();
    prop_oneof![
        3 => (alert, any::<bool>()).prop_map(|(a, n)| OpSpec::Acknowledge(a, n)),
        1 => proptest::collection::vec(alert, 0..5).prop_map(OpSpec::AcknowledgeAll),
        2 => alert.prop_map(OpSpec::Escalate),
        2 => (alert, 0..=AGENTS.len()).prop_map(|(a, to)| OpSpec::Reassign(a, to)),
        2 => (alert, 0..SNOOZE_MINUTES.len()).prop_map(|(a, m)| OpSpec::Snooze(a, m)),
        2 => (alert, any::<bool>()).prop_map(|(a, n)| OpSpec::Resolve(a, n)),
        2 => (alert, any::<bool>()).prop_map(|(a, r)| OpSpec::FalseAlarm(a, r)),
        1 => (alert, any::<bool>()).prop_map(|(a, t)| OpSpec::Note(a, t)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => event_spec().prop_map(Step::Event),
        1 => Just(Step::ParseError),
        4 => Just(Step::Tick),
        3 => prop_oneof![Just(0i64), 0i64..=900].prop_map(Step::Advance),
        4 => (0..OPERATORS.len(), op_spec()).prop_map(|(o, a)| Step::Op(o, a)),
        1 => Just(Step::FinishPhase),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(step(), 0..200)
}

/// Makes the steps concrete: ids, times and alert ids depend on what came before.
struct Driver {
    now: Time,
    ids: Vec<String>,
    seq: u64,
}

impl Driver {
    fn new() -> Driver {
        Driver {
            now: t0(),
            ids: Vec::new(),
            seq: 0,
        }
    }

    fn event(&mut self, s: &EventSpec) -> Event {
        self.seq += 1;
        let id = match s.dup {
            Some(i) if !self.ids.is_empty() => self.ids[i % self.ids.len()].clone(),
            _ => {
                let id = format!("e{}", self.seq);
                self.ids.push(id.clone());
                id
            }
        };
        let kind = EventType::KNOWN
            .get(s.kind)
            .cloned()
            .unwrap_or_else(|| EventType::from_name("deploy_started"));
        let mut e = Event::new(kind, self.now + TimeDelta::seconds(s.dt), id);
        let pick = |i: Option<usize>, pool: &[&str]| i.map(|i| pool[i].into());
        e.agent = pick(s.agent, &AGENTS);
        e.component = pick(s.component, &COMPONENTS);
        e.task = pick(s.task, &TASKS);
        e.gate = pick(s.gate, &GATES);
        e.status = pick(s.status, &STATUSES);
        e.phase = pick(s.phase, &PHASES);
        e.severity = s.severity.map(|i| LEVELS[i]);
        e.progress = s.progress;
        if let Some(c) = s.criterion {
            // Alternate between the two places a criterion can be named.
            if self.seq.is_multiple_of(2) {
                e.data
                    .get_or_insert_default()
                    .insert("criterion".into(), CRITERIA[c].into());
            } else {
                e.message = Some(CRITERIA[c].into());
            }
        }
        e
    }

    fn fresh(&mut self, kind: EventType) -> Event {
        self.seq += 1;
        let id = format!("e{}", self.seq);
        self.ids.push(id.clone());
        Event::new(kind, self.now, id)
    }

    /// The events that would finish the engine's current phase.
    fn finish_phase(&mut self, engine: &Engine) -> Vec<Event> {
        let Some(phase) = engine.current_phase() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for c in &phase.components {
            let mut e = self.fresh(EventType::ComponentCompletion);
            e.component = Some(c.as_str().into());
            out.push(e);
            let gates = engine.components.get(c).map(|c| c.gates.keys());
            for g in gates.into_iter().flatten() {
                let mut e = self.fresh(EventType::QualityGatePassed);
                e.component = Some(c.as_str().into());
                e.gate = (!g.is_empty()).then(|| g.as_str().into());
                out.push(e);
            }
        }
        for c in &phase.criteria {
            let mut e = self.fresh(EventType::CriterionMet);
            e.data
                .get_or_insert_default()
                .insert("criterion".into(), format!("{}:{}", c.kind, c.name).into());
            out.push(e);
        }
        out
    }

    fn parse_error(&mut self) -> ParseError {
        self.seq += 1;
        let origin = Origin {
            source: "events/prop.jsonl",
            line: self.seq,
            offset: self.seq * 100,
            ident: "",
        };
        ParseError::new(&origin, "not valid JSON", b"{not json")
    }

    /// Alert ids 0..=N+2: 0 and the last two never exist.
    fn alert(engine: &Engine, raw: usize) -> u64 {
        (raw % (engine.alerts.all().len() + 3)) as u64
    }

    fn op(&self, engine: &Engine, operator: usize, spec: &OpSpec) -> OperatorAction {
        let a = |raw: &usize| Driver::alert(engine, *raw);
        let action = match spec {
            OpSpec::Acknowledge(x, note) => Action::Acknowledge {
                alert: a(x),
                note: note.then(|| "looking".to_string()),
            },
            OpSpec::AcknowledgeAll(xs) => Action::AcknowledgeAll {
                alerts: xs.iter().map(a).collect(),
            },
            OpSpec::Escalate(x) => Action::Escalate { alert: a(x) },
            OpSpec::Reassign(x, to) => Action::Reassign {
                alert: a(x),
                to: AGENTS.get(*to).unwrap_or(&"nobody").to_string(),
            },
            OpSpec::Snooze(x, m) => Action::Snooze {
                alert: a(x),
                minutes: SNOOZE_MINUTES[*m],
            },
            OpSpec::Resolve(x, note) => Action::Resolve {
                alert: a(x),
                note: note.then(|| "fixed it".to_string()),
            },
            OpSpec::FalseAlarm(x, reason) => Action::FalseAlarm {
                alert: a(x),
                reason: if *reason { "noise" } else { "  " }.to_string(),
            },
            OpSpec::Note(x, text) => Action::Note {
                alert: a(x),
                text: if *text { "a note" } else { "" }.to_string(),
            },
        };
        OperatorAction {
            operator: OPERATORS[operator].to_string(),
            action,
        }
    }
}

/// What the checks remember between steps.
#[derive(Default)]
struct Seen {
    escalation: BTreeMap<u64, Escalation>,
    events: u64,
    parse_errors: u64,
}

fn check(engine: &Engine, seen: &mut Seen) -> Result<(), TestCaseError> {
    // Alerts: status, resolution, counts, times.
    let mut open_by_key: BTreeMap<&str, u64> = BTreeMap::new();
    let mut expected_open: BTreeSet<u64> = BTreeSet::new();
    for (i, a) in engine.alerts.all().iter().enumerate() {
        prop_assert_eq!(a.id, i as u64 + 1, "alert ids are dense");
        let resolved = a.status == Status::Resolved;
        prop_assert!(
            matches!(
                a.status,
                Status::Triggered | Status::Acknowledged | Status::Resolved
            ),
            "A-{}: status",
            a.id
        );
        prop_assert_eq!(a.resolution.is_some(), resolved, "A-{}: resolution", a.id);
        prop_assert_eq!(a.resolved_at.is_some(), resolved, "A-{}: resolved_at", a.id);
        prop_assert!(a.count >= 1, "A-{}: count {}", a.id, a.count);
        prop_assert!(
            a.first_seen <= a.last_seen,
            "A-{}: first_seen {} after last_seen {}",
            a.id,
            a.first_seen,
            a.last_seen
        );
        if !resolved {
            expected_open.insert(a.id);
            if let Some(other) = open_by_key.insert(a.key.as_str(), a.id) {
                prop_assert!(
                    false,
                    "A-{} and A-{} are both open for key {:?}",
                    other,
                    a.id,
                    a.key
                );
            }
        }
        // Escalation never goes down.
        if let Some(before) = seen.escalation.insert(a.id, a.escalation) {
            prop_assert!(
                a.escalation >= before,
                "A-{}: escalation went down from {} to {}",
                a.id,
                before,
                a.escalation
            );
        }
    }
    let open: BTreeSet<u64> = engine.alerts.open().map(|a| a.id).collect();
    prop_assert_eq!(&open, &expected_open, "open set");
    prop_assert_eq!(engine.alerts.open_count(), expected_open.len());
    for (key, ks) in &engine.alerts.keys {
        prop_assert_eq!(
            ks.open,
            open_by_key.get(key.as_str()).copied(),
            "keys[{:?}].open",
            key
        );
    }
    for (key, id) in &open_by_key {
        prop_assert!(
            engine.alerts.keys.contains_key(*key),
            "A-{} is open but its key {:?} is not in the book",
            id,
            key
        );
    }

    // Tasks: one owner, mirrored in the owner's open_tasks, within the move limit.
    let max = engine
        .config
        .crisis_response_config
        .max_automated_reassignments;
    let closed: Vec<(String, Task)> = engine.closed.iter().collect();
    prop_assert_eq!(closed.len(), engine.closed.len());
    for (id, t) in &closed {
        prop_assert!(engine.closed.contains(id));
        prop_assert!(
            !engine.tasks.contains_key(id),
            "task {} open and closed",
            id
        );
        prop_assert!(t.auto_reassignments <= max);
    }
    for (id, t) in &engine.tasks {
        prop_assert!(
            t.auto_reassignments <= max,
            "task {} moved automatically {} times (max {})",
            id,
            t.auto_reassignments,
            max
        );
        if let Some(owner) = &t.agent {
            let Some(agent) = engine.agents.get(owner) else {
                return Err(TestCaseError::fail(format!(
                    "task {id} is owned by unknown agent {owner}"
                )));
            };
            prop_assert!(
                agent.open_tasks.contains(id),
                "task {} is owned by {} but not in its open_tasks {:?}",
                id,
                owner,
                agent.open_tasks
            );
        }
    }
    for (name, agent) in &engine.agents {
        prop_assert_eq!(&agent.id, name);
        for t in &agent.open_tasks {
            let task = engine.tasks.get(t);
            prop_assert!(
                task.is_some_and(|task| task.agent.as_deref() == Some(name)),
                "{} lists task {} as open, but the task is {:?}",
                name,
                t,
                task
            );
        }
    }

    // Phases: completion in range, completed strictly in order.
    prop_assert!(
        engine.current < engine.phases.len(),
        "current {} of {}",
        engine.current,
        engine.phases.len()
    );
    for (i, p) in engine.phases.iter().enumerate() {
        let c = p.completion();
        prop_assert!(
            c.is_finite() && (0.0..=100.0).contains(&c),
            "{}: completion {}",
            p.id,
            c
        );
        if i < engine.current {
            prop_assert!(
                p.complete,
                "{} is before the current phase but not complete",
                p.id
            );
        }
        if i > engine.current {
            prop_assert!(
                !p.complete,
                "{} is after the current phase but complete",
                p.id
            );
        }
        prop_assert_eq!(
            p.complete,
            p.completed_at.is_some(),
            "{}: completed_at",
            p.id
        );
    }
    for c in engine.components.values() {
        prop_assert!(
            c.progress.is_finite() && (0.0..=100.0).contains(&c.progress),
            "{}: progress {}",
            c.id,
            c.progress
        );
    }

    // Counters.
    prop_assert_eq!(
        engine.counters.events + engine.counters.duplicates,
        seen.events,
        "events + duplicates"
    );
    prop_assert_eq!(engine.counters.parse_errors, seen.parse_errors);
    Ok(())
}

fn run(steps: &[Step], plan: Option<&Plan>) -> Result<(), TestCaseError> {
    let mut engine = Engine::new(Config::default(), plan);
    let mut driver = Driver::new();
    let mut seen = Seen::default();
    let mut applied: Vec<(Input, Time, String)> = Vec::new();
    check(&engine, &mut seen)?;
    for (n, step) in steps.iter().enumerate() {
        let inputs = match step {
            Step::Advance(secs) => {
                driver.now += TimeDelta::seconds(*secs);
                continue;
            }
            Step::Event(spec) => vec![Input::Event(driver.event(spec))],
            Step::ParseError => vec![Input::ParseError(driver.parse_error())],
            Step::Tick => vec![Input::Tick],
            Step::Op(operator, spec) => vec![Input::Operator(driver.op(&engine, *operator, spec))],
            Step::FinishPhase => driver
                .finish_phase(&engine)
                .into_iter()
                .map(Input::Event)
                .collect(),
        };
        for input in inputs {
            match &input {
                Input::Event(_) => seen.events += 1,
                Input::ParseError(_) => seen.parse_errors += 1,
                _ => {}
            }
            let fx = engine.apply(input.clone(), driver.now);
            check(&engine, &mut seen)
                .map_err(|e| TestCaseError::fail(format!("after step {n} ({input:?}): {e}")))?;
            applied.push((input, driver.now, format!("{fx:?}")));
        }
    }

    // Replay: the same inputs at the same times give the same effects and state.
    let mut twin = Engine::new(Config::default(), plan);
    for (n, (input, at, want)) in applied.into_iter().enumerate() {
        let got = format!("{:?}", twin.apply(input, at));
        prop_assert_eq!(got, want, "replay differs at input {}", n);
    }
    let summary = |e: &Engine| serde_json::to_value(e.summary(driver.now)).expect("summary");
    prop_assert_eq!(summary(&twin), summary(&engine), "replayed summary differs");
    Ok(())
}

/// Everything the engine holds that a view or a command reads, in a stable order.
fn state(engine: &Engine, now: Time) -> String {
    let sorted = |m: Vec<(String, String)>| m.into_iter().collect::<BTreeMap<_, _>>();
    let agents = sorted(
        engine
            .agents
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v:?}")))
            .collect(),
    );
    let tasks = sorted(
        engine
            .tasks
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v:?}")))
            .collect(),
    );
    let comps = sorted(
        engine
            .components
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v:?}")))
            .collect(),
    );
    format!(
        "summary {}\nalerts {:?}\nagents {agents:?}\ntasks {tasks:?}\ncomponents {comps:?}\nphases {:?} current {}\ncounters {:?}\ndegraded {}",
        serde_json::to_value(engine.summary(now)).expect("summary"),
        engine.alerts.all(),
        engine.phases,
        engine.current,
        engine.counters,
        engine.degraded,
    )
}

/// The steps applied live through the runtime's core (events as raw lines, parse
/// errors, ticks, operator actions — each journaled as the console does), then the
/// directory opened again: the journal replayed into a fresh engine.
fn run_journaled(steps: &[Step], with_plan: bool) -> Result<(), TestCaseError> {
    run_snapshotted(steps, with_plan, &[])
}

/// The engine's state as JSON with every object's keys in order: its maps
/// iterate in an order that depends on how they grew, which nothing the engine
/// decides depends on (it sorts wherever order matters).
fn canonical(json: &[u8]) -> Vec<u8> {
    fn sort(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let sorted: std::collections::BTreeMap<String, serde_json::Value> =
                    m.into_iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    let v: serde_json::Value = serde_json::from_slice(json).expect("the state is JSON");
    serde_json::to_vec(&sort(v)).expect("serialises")
}

/// `run_journaled`, with a snapshot taken after each step of `snap_after`;
/// then the directory is opened from its newest snapshot and the records after
/// it, from the one before it, and from the records alone: the same state each
/// time, the live one (SPEC 16: snapshot + tail == full replay).
fn run_snapshotted(
    steps: &[Step],
    with_plan: bool,
    snap_after: &[usize],
) -> Result<(), TestCaseError> {
    use coord::ingest::tailer::{Item, Pos};
    use coord::journal::JournalWriter;
    use coord::model::event::ParseOptions;
    use coord::model::parse::parse_line;
    use coord::runtime::{open, Core};
    use std::sync::Arc;

    let dir = tempfile::tempdir().expect("tempdir");
    if with_plan {
        std::fs::write(dir.path().join("plan.json"), plan_text()).expect("plan");
    }
    let opened = open(dir.path(), true).expect("open");
    let journal =
        JournalWriter::open(&dir.path().join("journal"), opened.segment, None).expect("journal");
    let mut core = Core::new(
        opened.engine,
        Some(journal),
        opened.last_seq,
        coord::runtime::Printer::new(std::io::sink(), false),
    );
    let mut driver = Driver::new();
    let (src, file): (Arc<str>, Arc<str>) = (Arc::from("events/prop.jsonl"), Arc::from("1:2:3"));
    let mut off = 0;
    let mut line = |raw: Vec<u8>, parsed: Option<Event>, now: Time| {
        let pos = Pos {
            src: src.clone(),
            file: file.clone(),
            off,
            end: off + raw.len() as u64 + 1,
            line: off / 100 + 1,
            entry: None,
        };
        off = pos.end;
        let origin = Origin {
            source: "events/prop.jsonl",
            line: pos.line,
            offset: pos.off,
            ident: "",
        };
        let parsed = match parsed {
            Some(_) => parse_line(&raw, &origin, now, &ParseOptions::default())
                .map(Box::new)
                .map_err(Box::new),
            None => Err(Box::new(ParseError::new(&origin, "not valid JSON", &raw))),
        };
        Item::Line { pos, raw, parsed }
    };
    for (i, step) in steps.iter().enumerate() {
        let now = driver.now;
        match step {
            Step::Advance(secs) => driver.now += TimeDelta::seconds(*secs),
            Step::Event(spec) => {
                let e = driver.event(spec);
                let raw = serde_json::to_vec(&e).expect("an event serialises");
                core.apply_batch(vec![line(raw, Some(e), now)], now);
            }
            Step::ParseError => {
                core.apply_batch(vec![line(b"{not json".to_vec(), None, now)], now);
            }
            Step::Tick => core.tick(now),
            Step::Op(operator, spec) => {
                let op = driver.op(&core.engine, *operator, spec);
                core.operator(op, now).unwrap();
            }
            Step::FinishPhase => {
                let items = driver
                    .finish_phase(&core.engine)
                    .into_iter()
                    .map(|e| line(serde_json::to_vec(&e).expect("serialises"), Some(e), now))
                    .collect();
                core.apply_batch(items, now);
            }
        }
        if snap_after.contains(&i) {
            core.snapshot();
        }
    }
    core.flush();
    let live = state(&core.engine, driver.now);
    drop(core);
    let journal = dir.path().join("journal");
    let snapshots = coord::journal::snapshot::list(&journal).expect("snapshots");
    let mut taken: Vec<usize> = snap_after
        .iter()
        .copied()
        .filter(|i| *i < steps.len())
        .collect();
    taken.dedup();
    prop_assert!(snapshots.len() <= taken.len().min(3));
    // From the newest snapshot, then each older one, then none. Besides the
    // state views read (`state`), the whole state, to the byte, is the full
    // replay's (the live engine also counts inputs the journal leaves out,
    // such as ticks that changed nothing).
    let mut whole = Vec::new();
    for left in (0..=snapshots.len()).rev() {
        let replayed = open(dir.path(), true).expect("reopen");
        prop_assert_eq!(
            state(&replayed.engine, driver.now),
            live.clone(),
            "the journal replays to another state from {} snapshots",
            left
        );
        let saved = replayed.engine.save();
        let ids: Vec<Vec<u8>> = saved.ids.iter().map(<[u8]>::to_vec).collect();
        let closed: Vec<u8> = saved.closed.rows().flatten().copied().collect();
        whole.push((canonical(&saved.state), ids, closed));
        if let Some((_, newest)) = coord::journal::snapshot::list(&journal)
            .expect("list")
            .first()
        {
            std::fs::remove_file(newest).expect("remove");
        }
    }
    let full = whole.last().expect("a full replay");
    for w in &whole {
        let at = w.0.iter().zip(&full.0).position(|(a, b)| a != b);
        let near = |s: &[u8], at: usize| {
            String::from_utf8_lossy(&s[at.saturating_sub(120)..(at + 80).min(s.len())]).into_owned()
        };
        prop_assert!(
            w == full,
            "a snapshot + tail differs from the full replay: {} vs {}",
            at.map_or_else(
                || "(ids, closed tasks or length)".into(),
                |at| near(&w.0, at)
            ),
            at.map_or_else(String::new, |at| near(&full.0, at))
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_journal_replays_to_the_live_state_without_a_plan(steps in steps()) {
        run_journaled(&steps, false)?;
    }

    #[test]
    fn the_journal_replays_to_the_live_state_with_a_plan(steps in steps()) {
        run_journaled(&steps, true)?;
    }

    #[test]
    fn a_snapshot_and_the_records_after_it_replay_to_the_live_state(
        steps in steps(),
        snap_after in proptest::collection::vec(0usize..60, 1..4),
        with_plan in any::<bool>(),
    ) {
        let mut snap_after = snap_after;
        snap_after.sort_unstable();
        run_snapshotted(&steps, with_plan, &snap_after)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_without_a_plan(steps in steps()) {
        run(&steps, None)?;
    }

    #[test]
    fn invariants_hold_with_a_plan(steps in steps()) {
        run(&steps, Some(&plan()))?;
    }
}
