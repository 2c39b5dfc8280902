//! What the fuzz targets run on one input, shared by the targets in `fuzz/`
//! (which include this file by path) and by `tests/fuzz_regressions.rs`, which
//! replays the saved cases on stable without libFuzzer. Every check panics.

#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use coord::config::Config;
use coord::engine::alerts::Status;
use coord::engine::{Action, Effect, Engine, Input, OperatorAction};
use coord::ingest::lines::{Line, LineSplitter};
use coord::model::event::{parse_value, Origin, ParseOptions, EXCERPT_BYTES};
use coord::model::parse::parse_line;
use coord::model::plan::parse_plan;
use coord::model::{Escalation, Event, EventType, Level, ParseError, Plan};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Time = DateTime<Utc>;

fn t0() -> Time {
    "2026-11-24T12:00:00Z".parse().expect("t0")
}

// ---------------------------------------------------------------------------
// parse_line: bytes -> LineSplitter -> parse_line, both ParseOptions.
// ---------------------------------------------------------------------------

/// The first byte picks the splitter's limit (8 to 512 bytes) and the second
/// the size of the chunks the rest is fed in (1 to 64 bytes, or all at once).
pub fn parse_line_case(data: &[u8]) {
    let (max, chunk, stream) = match data {
        [m, c, rest @ ..] => (8 + (*m as usize % 64) * 8, *c as usize % 65, rest),
        _ => (64, 0, data),
    };
    let chunk = if chunk == 0 {
        stream.len().max(1)
    } else {
        chunk
    };

    // What the splitter must hand out: every complete line, in order.
    let mut want = Vec::new();
    let mut offset = 0usize;
    while let Some(i) = stream[offset..].iter().position(|&b| b == b'\n') {
        want.push((offset, &stream[offset..offset + i]));
        offset += i + 1;
    }
    let complete = offset;

    let mut splitter = LineSplitter::new(max, 0);
    let mut got = 0usize;
    let now = t0();
    let utc = ParseOptions::default();
    let local = ParseOptions {
        naive_offset: FixedOffset::east_opt(5 * 3600 + 1800).expect("offset"),
    };
    for piece in stream.chunks(chunk) {
        splitter.feed(piece, &mut |line| {
            let (at, raw) = want[got];
            got += 1;
            match line {
                Line::Text { bytes, offset, end } => {
                    assert!(raw.len() <= max, "a {}-byte line over {max}", raw.len());
                    assert_eq!(bytes, raw.strip_suffix(b"\r").unwrap_or(raw));
                    assert_eq!(offset, at as u64);
                    assert_eq!(end, (at + raw.len() + 1) as u64);
                    let origin = Origin {
                        source: "fuzz.jsonl",
                        line: got as u64,
                        offset,
                        ident: "",
                    };
                    let a = check_parse(bytes, &origin, now, &utc);
                    let b = check_parse(bytes, &origin, now, &local);
                    match (a, b) {
                        (Ok(mut a), Ok(b)) => {
                            // Only a time without a zone may read differently.
                            a.ts = b.ts;
                            assert_eq!(a, b, "the zone changed more than ts");
                        }
                        (Err(_), Err(_)) => {}
                        (a, b) => {
                            // The zone can only decide whether a local time
                            // exists (chrono's range at the extremes).
                            let err = a.as_ref().err().or(b.as_ref().err()).unwrap();
                            assert!(err.reason.starts_with("ts "), "{a:?} vs {b:?}");
                        }
                    }
                }
                Line::TooLong { offset, len, head } => {
                    assert!(
                        raw.len() > max,
                        "a {}-byte line skipped at {max}",
                        raw.len()
                    );
                    assert_eq!(offset, at as u64);
                    assert_eq!(len, raw.len() as u64);
                    assert_eq!(head, &raw[..max.min(EXCERPT_BYTES)]);
                }
            }
        });
        assert!(
            splitter.pending() <= max,
            "{} bytes held",
            splitter.pending()
        );
    }
    assert_eq!(got, want.len(), "lines handed out");
    assert_eq!(splitter.committed(), complete as u64);
    if complete == stream.len() || stream.len() - complete > max {
        assert_eq!(splitter.pending(), 0);
    } else {
        assert_eq!(splitter.pending(), stream.len() - complete);
    }
}

/// Parses one line and checks what the parser promises about its result.
fn check_parse(
    bytes: &[u8],
    origin: &Origin,
    now: Time,
    opts: &ParseOptions,
) -> Result<Event, ParseError> {
    match parse_line(bytes, origin, now, opts) {
        Ok(event) => {
            check_event(&event, now);
            // What an event serialises to parses back to the same event.
            let value = serde_json::to_value(&event).expect("an event serialises");
            let mut back = parse_value(value, origin, now, opts)
                .unwrap_or_else(|e| panic!("{event:?} does not parse back: {e}"));
            if event.ts_assumed {
                // `ts_assumed` is written out, and is an unknown field when read
                // (one the line's own `data` may hold too, and then that wins).
                let own = |e: &Event| {
                    e.data
                        .as_ref()
                        .is_some_and(|d| d.contains_key("ts_assumed"))
                };
                if !own(&event) {
                    if let Some(d) = back.data.as_mut() {
                        d.shift_remove("ts_assumed");
                    }
                    back.data = back.data.take().filter(|d| !d.is_empty());
                }
                back.ts_assumed = true;
            }
            assert_eq!(back, event, "the round trip changed the event");
            Ok(event)
        }
        Err(e) => {
            assert!(!e.reason.is_empty());
            assert_eq!((e.line, e.offset), (origin.line, origin.offset));
            assert_eq!(e.source, origin.source);
            assert!(e.excerpt.chars().count() <= EXCERPT_BYTES);
            let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
            assert_eq!(e.excerpt, String::from_utf8_lossy(cut));
            Err(e)
        }
    }
}

fn check_event(e: &Event, now: Time) {
    if let Some(p) = e.progress {
        assert!((0.0..=100.0).contains(&p), "progress {p}");
    }
    assert!(!e.id.is_empty(), "empty id");
    let name = e.kind.as_str();
    assert!(!name.is_empty() && name.len() <= 64, "type {name:?}");
    assert!(
        name.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b)),
        "type {name:?}"
    );
    for (field, v) in [
        ("agent", &e.agent),
        ("task", &e.task),
        ("component", &e.component),
        ("phase", &e.phase),
        ("gate", &e.gate),
        ("status", &e.status),
        ("message", &e.message),
    ] {
        assert!(v.as_deref() != Some(""), "{field} is empty, not absent");
    }
    if e.ts_assumed {
        assert_eq!(e.ts, now, "an assumed ts is the ingest time");
    }
}

// ---------------------------------------------------------------------------
// engine_inputs: a sequence of steps applied to an Engine.
// ---------------------------------------------------------------------------

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
const SNOOZE_MINUTES: [f64; 8] = [
    0.0,
    -5.0,
    0.01,
    15.0,
    10_081.0,
    1e300,
    f64::NAN,
    f64::INFINITY,
];
const LEVELS: [Level; 4] = [Level::Low, Level::Medium, Level::High, Level::Critical];

fn plan() -> Plan {
    let text = serde_json::json!({
        "epic": "Fuzz Epic",
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
    .to_string();
    parse_plan(&text, Path::new("plan.json")).expect("fuzz plan")
}

/// The whole input of `engine_inputs`.
#[derive(Arbitrary, Debug)]
pub struct EngineCase {
    with_plan: bool,
    /// Short timeouts (a minute), so that timers fire within a few steps.
    short_timeouts: bool,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Step {
    Event(EventSpec),
    ParseError,
    Tick,
    /// Seconds the clock moves forward (it never goes back).
    Advance(u16),
    Op(bool, OpSpec),
    /// The events that finish the current phase, so the cascade runs.
    FinishPhase,
}

/// Indices into the pools, reduced modulo their lengths.
#[derive(Arbitrary, Debug)]
struct EventSpec {
    /// Into `EventType::KNOWN`; past its end, an unknown type.
    kind: u8,
    agent: Option<u8>,
    component: Option<u8>,
    task: Option<u8>,
    gate: Option<u8>,
    severity: Option<u8>,
    /// Hundredths of a percent, modulo 10001.
    progress: Option<u16>,
    status: Option<u8>,
    phase: Option<u8>,
    criterion: Option<u8>,
    /// Seconds from now: events arrive late or early.
    dt: i16,
    /// Reuse the id of an earlier event.
    dup: Option<u8>,
}

#[derive(Arbitrary, Debug)]
enum OpSpec {
    Acknowledge(u8, bool),
    AcknowledgeAll(Vec<u8>),
    Escalate(u8),
    Reassign(u8, u8),
    Snooze(u8, u8),
    /// Any minutes at all.
    SnoozeRaw(u8, f64),
    Resolve(u8, bool),
    FalseAlarm(u8, bool),
    Note(u8, bool),
}

/// Makes steps concrete: ids, times and alert ids depend on what came before.
struct Driver {
    now: Time,
    ids: Vec<String>,
    seq: u64,
}

fn pick(i: Option<u8>, pool: &[&str]) -> Option<coord::model::event::Name> {
    i.map(|i| pool[i as usize % pool.len()].into())
}

impl Driver {
    fn event(&mut self, s: &EventSpec) -> Event {
        self.seq += 1;
        let id = match s.dup {
            Some(i) if !self.ids.is_empty() => self.ids[i as usize % self.ids.len()].clone(),
            _ => {
                let id = format!("e{}", self.seq);
                self.ids.push(id.clone());
                id
            }
        };
        let kind = EventType::KNOWN
            .get(s.kind as usize % (EventType::KNOWN.len() + 1))
            .cloned()
            .unwrap_or_else(|| EventType::from_name("deploy_started"));
        let mut e = Event::new(kind, self.now + TimeDelta::seconds(s.dt.into()), id);
        e.agent = pick(s.agent, &AGENTS);
        e.component = pick(s.component, &COMPONENTS);
        e.task = pick(s.task, &TASKS);
        e.gate = pick(s.gate, &GATES);
        e.status = pick(s.status, &STATUSES);
        e.phase = pick(s.phase, &PHASES);
        e.severity = s.severity.map(|i| LEVELS[i as usize % LEVELS.len()]);
        e.progress = s.progress.map(|p| f64::from(p % 10_001) / 100.0);
        if let Some(c) = s.criterion {
            let c = CRITERIA[c as usize % CRITERIA.len()];
            if self.seq.is_multiple_of(2) {
                e.data
                    .get_or_insert_default()
                    .insert("criterion".into(), c.into());
            } else {
                e.message = Some(c.into());
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
            source: "events/fuzz.jsonl",
            line: self.seq,
            offset: self.seq * 100,
            ident: "",
        };
        ParseError::new(&origin, "not valid JSON", b"{not json")
    }

    /// Alert ids 0..=N+2: 0 and the last two never exist.
    fn alert(engine: &Engine, raw: u8) -> u64 {
        (raw as usize % (engine.alerts.all().len() + 3)) as u64
    }

    fn op(&self, engine: &Engine, operator: bool, spec: &OpSpec) -> OperatorAction {
        let a = |raw: &u8| Driver::alert(engine, *raw);
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
                to: AGENTS
                    .get(*to as usize % 6)
                    .unwrap_or(&"nobody")
                    .to_string(),
            },
            OpSpec::Snooze(x, m) => Action::Snooze {
                alert: a(x),
                minutes: SNOOZE_MINUTES[*m as usize % SNOOZE_MINUTES.len()],
            },
            OpSpec::SnoozeRaw(x, minutes) => Action::Snooze {
                alert: a(x),
                minutes: *minutes,
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
            operator: OPERATORS[operator as usize].to_string(),
            action,
        }
    }
}

fn config(short: bool) -> Config {
    let mut cfg = Config::default();
    if short {
        cfg.crisis_response_config.escalation_timeout_minutes = 1.0;
        cfg.heartbeat_config.late_after_seconds = 20.0;
        cfg.heartbeat_config.agent_timeout_minutes = 1.0;
    }
    cfg
}

/// Decodes the bytes as libfuzzer-sys does for `fuzz_target!(|c: EngineCase|)`
/// and runs the case; undecodable bytes are no case at all. Returns the number
/// of steps run.
pub fn engine_case(data: &[u8]) -> usize {
    match EngineCase::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(case) => {
            run_engine_case(&case);
            case.steps.len()
        }
        Err(_) => 0,
    }
}

pub fn run_engine_case(case: &EngineCase) {
    let plan = case.with_plan.then(plan);
    let cfg = config(case.short_timeouts);
    let mut engine = Engine::new(cfg.clone(), plan.as_ref());
    let mut driver = Driver {
        now: t0(),
        ids: Vec::new(),
        seq: 0,
    };
    let mut seen = Seen::default();
    let mut applied: Vec<(Input, Time, Vec<Effect>)> = Vec::new();
    check_engine(&engine, &mut seen);
    for step in &case.steps {
        let inputs = match step {
            Step::Advance(secs) => {
                driver.now += TimeDelta::seconds((*secs).into());
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
            check_engine(&engine, &mut seen);
            applied.push((input, driver.now, fx));
        }
    }
    let summary = engine.summary(driver.now);
    assert_eq!(summary.counts.alerts_open, engine.alerts.open().count());
    assert_eq!(summary.counts.alerts_total, engine.alerts.all().len());
    assert_eq!(summary.counts.events, engine.counters.events);
    assert_eq!(summary.counts.parse_errors, seen.parse_errors);
    assert_eq!(summary.alerts.len(), engine.alerts.all().len());

    // Replay: the same inputs at the same times give the same effects.
    let mut twin = Engine::new(cfg, plan.as_ref());
    for (n, (input, at, want)) in applied.into_iter().enumerate() {
        let got = twin.apply(input, at);
        if got != want {
            // NaN minutes make equal effects unequal; their text is the test.
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "replay differs at {n}"
            );
        }
    }
    let json = |e: &Engine| serde_json::to_string(&e.summary(driver.now)).expect("summary");
    assert_eq!(json(&twin), json(&engine), "replayed summary differs");
}

#[derive(Default)]
struct Seen {
    escalation: BTreeMap<u64, Escalation>,
    events: u64,
    parse_errors: u64,
}

/// The invariants of `tests/engine_properties.rs`, as panics.
fn check_engine(engine: &Engine, seen: &mut Seen) {
    let mut open_by_key: BTreeMap<&str, u64> = BTreeMap::new();
    let mut expected_open: BTreeSet<u64> = BTreeSet::new();
    for (i, a) in engine.alerts.all().iter().enumerate() {
        assert_eq!(a.id, i as u64 + 1, "alert ids are dense");
        let resolved = a.status == Status::Resolved;
        assert_eq!(a.resolution.is_some(), resolved, "A-{}: resolution", a.id);
        assert_eq!(a.resolved_at.is_some(), resolved, "A-{}: resolved_at", a.id);
        assert!(a.count >= 1, "A-{}: count {}", a.id, a.count);
        assert!(a.first_seen <= a.last_seen, "A-{}: first/last seen", a.id);
        if !resolved {
            expected_open.insert(a.id);
            if let Some(other) = open_by_key.insert(a.key.as_str(), a.id) {
                panic!("A-{other} and A-{} are both open for {:?}", a.id, a.key);
            }
        }
        if let Some(before) = seen.escalation.insert(a.id, a.escalation) {
            assert!(a.escalation >= before, "A-{}: escalation went down", a.id);
        }
    }
    let open: BTreeSet<u64> = engine.alerts.open().map(|a| a.id).collect();
    assert_eq!(open, expected_open, "open set");
    assert!(engine.alerts.open().all(|a| a.status != Status::Resolved));
    assert_eq!(engine.alerts.open_count(), expected_open.len());
    for (key, ks) in &engine.alerts.keys {
        assert_eq!(
            ks.open,
            open_by_key.get(key.as_str()).copied(),
            "keys[{key:?}]"
        );
    }
    for (key, id) in &open_by_key {
        assert!(engine.alerts.keys.contains_key(*key), "A-{id}: key {key:?}");
    }

    let max = engine
        .config
        .crisis_response_config
        .max_automated_reassignments;
    for (id, t) in engine.closed.iter() {
        assert!(t.auto_reassignments <= max, "task {id} moved too often");
        assert!(!engine.tasks.contains_key(&id), "task {id} open and closed");
    }
    for (id, t) in &engine.tasks {
        assert!(t.auto_reassignments <= max, "task {id} moved too often");
        if let Some(owner) = &t.agent {
            let agent = engine
                .agents
                .get(owner)
                .unwrap_or_else(|| panic!("task {id} is owned by unknown agent {owner}"));
            assert!(agent.open_tasks.contains(id), "task {id} not in {owner}'s");
        }
    }
    for (name, agent) in &engine.agents {
        assert_eq!(&agent.id, name);
        for t in &agent.open_tasks {
            let task = engine.tasks.get(t);
            assert!(
                task.is_some_and(|task| task.agent.as_deref() == Some(name)),
                "{name} lists task {t} as open, but it is {task:?}"
            );
        }
    }

    assert!(engine.current < engine.phases.len(), "current phase");
    for (i, p) in engine.phases.iter().enumerate() {
        let c = p.completion();
        assert!(c.is_finite() && (0.0..=100.0).contains(&c), "{}: {c}", p.id);
        assert!(i >= engine.current || p.complete, "{} not complete", p.id);
        assert!(
            i <= engine.current || !p.complete,
            "{} complete early",
            p.id
        );
        assert_eq!(p.complete, p.completed_at.is_some(), "{}", p.id);
    }
    for c in engine.components.values() {
        assert!(
            c.progress.is_finite() && (0.0..=100.0).contains(&c.progress),
            "{}: progress {}",
            c.id,
            c.progress
        );
    }
    assert_eq!(
        engine.counters.events + engine.counters.duplicates,
        seen.events
    );
    assert_eq!(engine.counters.parse_errors, seen.parse_errors);
}
