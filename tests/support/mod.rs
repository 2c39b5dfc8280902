//! A virtual clock around the engine, for timeline tests written as data:
//! `sim.at(60).push(json!({...}))`, `sim.at(300).tick()`, then look at the state and
//! the effects. No sleeps, no real clock.
#![allow(dead_code)]

use chrono::{DateTime, TimeDelta, Utc};
use coord::config::{parse_config, Config};
use coord::engine::alerts::Alert;
use coord::engine::{Action, Effect, Engine, Input, NotifyClass, OperatorAction};
use coord::model::event::{parse_value, Origin, ParseOptions};
use coord::model::plan::parse_plan;
use serde_json::Value;
use std::path::Path;

pub struct Sim {
    pub engine: Engine,
    pub t0: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Effects of the last step.
    pub fx: Vec<Effect>,
    /// Every effect since the start.
    pub all: Vec<Effect>,
    seq: u64,
}

pub fn t0() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with(Config::default(), None)
    }

    pub fn with_plan(plan: Value) -> Sim {
        Sim::with(Config::default(), Some(plan))
    }

    pub fn with_config(config: Value, plan: Option<Value>) -> Sim {
        let cfg = parse_config(&config.to_string(), Path::new("coord.json")).expect("test config");
        Sim::with(cfg, plan)
    }

    pub fn with(config: Config, plan: Option<Value>) -> Sim {
        let plan =
            plan.map(|p| parse_plan(&p.to_string(), Path::new("plan.json")).expect("test plan"));
        Sim {
            engine: Engine::new(config, plan.as_ref()),
            t0: t0(),
            now: t0(),
            fx: Vec::new(),
            all: Vec::new(),
            seq: 0,
        }
    }

    /// Moves the virtual clock to `secs` seconds after t0.
    pub fn at(&mut self, secs: i64) -> &mut Sim {
        self.now = self.t0 + TimeDelta::seconds(secs);
        self
    }

    fn step(&mut self, input: Input) -> &mut Sim {
        self.fx = self.engine.apply(input, self.now);
        self.all.extend(self.fx.iter().cloned());
        self
    }

    /// An event, stamped `now` unless it has a `ts`, with a fresh id unless given.
    pub fn push(&mut self, mut event: Value) -> &mut Sim {
        self.seq += 1;
        let obj = event.as_object_mut().expect("an object");
        obj.entry("ts")
            .or_insert_with(|| Value::String(self.now.to_rfc3339()));
        obj.entry("id")
            .or_insert_with(|| Value::String(format!("e{}", self.seq)));
        let origin = Origin {
            source: "test",
            line: self.seq,
            offset: 0,
            ident: "",
        };
        let e = parse_value(event, &origin, self.now, &ParseOptions::default())
            .expect("valid test event");
        self.step(Input::Event(e))
    }

    pub fn tick(&mut self) -> &mut Sim {
        self.step(Input::Tick)
    }

    pub fn op(&mut self, operator: &str, action: Action) -> &mut Sim {
        self.step(Input::Operator(OperatorAction {
            operator: operator.into(),
            action,
        }))
    }

    /// Heartbeats from each agent at the current time.
    pub fn beat(&mut self, agents: &[&str]) -> &mut Sim {
        for a in agents {
            self.push(serde_json::json!({"type": "agent_heartbeat", "agent": a}));
        }
        self
    }

    pub fn alert(&self, id: u64) -> &Alert {
        self.engine
            .alerts
            .get(id)
            .unwrap_or_else(|| panic!("no alert A-{id}"))
    }

    pub fn open_alerts(&self) -> Vec<&Alert> {
        self.engine.alerts.open().collect()
    }

    /// The one open alert of a trigger type.
    pub fn open_of(&self, trigger: &str) -> &Alert {
        let found: Vec<&Alert> = self
            .engine
            .alerts
            .open()
            .filter(|a| a.trigger.as_str() == trigger)
            .collect();
        assert_eq!(found.len(), 1, "open {trigger} alerts: {found:#?}");
        found[0]
    }

    /// The `what` of each transition in the last step, for an alert.
    pub fn transitions(&self, alert: u64) -> Vec<&'static str> {
        self.fx
            .iter()
            .filter_map(|f| match f {
                Effect::Transition(t) if t.alert == alert => Some(t.what),
                _ => None,
            })
            .collect()
    }

    /// Notification kinds of the last step.
    pub fn notified(&self) -> Vec<(NotifyClass, String)> {
        self.fx
            .iter()
            .filter_map(|f| match f {
                Effect::Notify(n) => Some((n.class, n.kind.to_string())),
                _ => None,
            })
            .collect()
    }

    pub fn rejected(&self) -> Option<String> {
        self.fx.iter().find_map(|f| match f {
            Effect::Rejected { reason } => Some(reason.clone()),
            _ => None,
        })
    }

    pub fn task_agent(&self, task: &str) -> Option<String> {
        self.engine.tasks.get(task).and_then(|t| t.agent.clone())
    }

    pub fn secs(&self, t: DateTime<Utc>) -> i64 {
        (t - self.t0).num_seconds()
    }
}
