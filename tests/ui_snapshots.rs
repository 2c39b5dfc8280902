//! The console on ratatui's TestBackend: whole-screen snapshots of a scripted
//! scenario on a fixed clock (80×24, 160×48, 20×5, NO_COLOR), every size from
//! 1×1 to 130×40 without a panic, and every operator key producing the right
//! `UiAction` and, applied, the right engine transition.

use chrono::{DateTime, TimeDelta, Utc};
use coord::config::Config;
use coord::engine::alerts::{Resolution, Status};
use coord::engine::{Action, Effect, Engine, Input};
use coord::model::event::{parse_value, Origin, ParseOptions};
use coord::model::plan::parse_plan;
use coord::model::{Escalation, Level, ParseError};
use coord::ui::app::Page;
use coord::ui::dialogs::Dialog;
use coord::ui::theme::Theme;
use coord::ui::{draw, App, Pane, UiAction};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

/// The engine and the view, fed as the console's loop feeds them.
struct World {
    engine: Engine,
    app: App,
    now: DateTime<Utc>,
    seq: u64,
}

impl World {
    fn new() -> World {
        let plan = json!({
            "epic": "Foundation Epic",
            "phases": [
                {"id": "phase-1", "name": "Phase 1", "target": "2026-11-24T18:00:00Z",
                 "components": [
                    {"id": "auth-api", "weight": 2, "owner": "backend-1",
                     "gates": ["unit_tests", "integration_tests", "security_scan"],
                     "capabilities": ["rust"]},
                    {"id": "web-ui", "weight": 1, "gates": ["unit_tests"]},
                    {"id": "data-pipeline", "weight": 1},
                    {"id": "docs", "weight": 1}],
                 "criteria": {"technical": ["integration tests", "performance benchmarks"],
                              "process": ["documentation"]}},
                {"id": "phase-2", "name": "Phase 2",
                 "components": [{"id": "billing", "weight": 1}]}],
            "agents": [
                {"id": "backend-1", "capabilities": ["rust"]},
                {"id": "backend-2", "capabilities": ["rust"]},
                {"id": "frontend-1"}, {"id": "data-1"}, {"id": "qa-1"},
                {"id": "spare-1", "capabilities": ["rust"], "backup": true}]
        });
        let plan = parse_plan(&plan.to_string(), Path::new("plan.json")).unwrap();
        let config = Config::default();
        let engine = Engine::new(config.clone(), Some(&plan));
        let mut app = App::new(&config, "alice");
        app.theme = Theme::default();
        World {
            engine,
            app,
            now: t0(),
            seq: 0,
        }
    }

    fn at(&mut self, secs: i64) -> &mut World {
        self.now = t0() + TimeDelta::seconds(secs);
        self
    }

    fn push(&mut self, mut v: Value) -> &mut World {
        self.seq += 1;
        let obj = v.as_object_mut().unwrap();
        obj.entry("ts")
            .or_insert_with(|| Value::String(self.now.to_rfc3339()));
        obj.entry("id")
            .or_insert_with(|| Value::String(format!("e{}", self.seq)));
        let agent = obj
            .get("agent")
            .and_then(Value::as_str)
            .unwrap_or("misc")
            .to_string();
        let source = format!("events/{agent}.jsonl");
        let origin = Origin {
            source: &source,
            line: self.seq,
            offset: self.seq * 180,
            ident: "",
        };
        let e = parse_value(v, &origin, self.now, &ParseOptions::default()).unwrap();
        let mut fx = Vec::new();
        let level = self.engine.apply_event_into(&e, self.now, &mut fx);
        self.app.push_event(
            &e,
            level,
            Arc::from(source.as_str()),
            origin.line,
            origin.offset,
        );
        self.app.push_effects(&fx);
        self
    }

    fn tick(&mut self) -> &mut World {
        let fx = self.engine.apply(Input::Tick, self.now);
        self.app.push_effects(&fx);
        self
    }

    fn beat(&mut self, agents: &[&str]) -> &mut World {
        for a in agents {
            self.push(json!({"type": "agent_heartbeat", "agent": a}));
        }
        self
    }

    /// Applies an operator action as the loop does; returns its effects.
    fn operate(&mut self, action: Action) -> Vec<Effect> {
        let input = self.app.operator_input(action);
        let fx = self.engine.apply(input, self.now);
        self.app.push_effects(&fx);
        self.app.sync(&self.engine, self.now);
        fx
    }

    fn key(&mut self, code: KeyCode) -> Option<UiAction> {
        self.key_mod(code, KeyModifiers::NONE)
    }

    fn key_mod(&mut self, code: KeyCode, m: KeyModifiers) -> Option<UiAction> {
        let a = self.app.handle_key(KeyEvent::new(code, m));
        self.app.sync(&self.engine, self.now);
        a
    }

    fn typed(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn sync(&mut self) {
        self.app.sync(&self.engine, self.now);
    }

    /// Draws a frame and hands its geometry back to the view, as the loop does.
    fn render(&mut self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut drawn = None;
        term.draw(|f| drawn = Some(draw(f, &self.app, &self.engine, self.now)))
            .unwrap();
        self.app.view = drawn.expect("a frame");
        term
    }

    fn screen(&mut self, w: u16, h: u16) -> String {
        self.render(w, h).backend().to_string()
    }

    fn alert_of(&self, trigger: &str) -> u64 {
        self.engine
            .alerts
            .open()
            .find(|a| a.trigger.as_str() == trigger)
            .unwrap_or_else(|| panic!("no open {trigger}"))
            .id
    }

    fn select_alert(&mut self, id: u64) {
        self.app.focus = Pane::Alerts;
        self.app.sel.alerts = self
            .app
            .sel
            .alert_order
            .iter()
            .position(|r| r.id == id)
            .expect("alert in view");
    }
}

const ALL_AGENTS: [&str; 5] = ["backend-1", "backend-2", "frontend-1", "data-1", "qa-1"];

/// A fleet at work, seven minutes in: every level of alert open, backend-2
/// timed out (its task moved to the backup), auth-api blocked by a failed gate,
/// a parse error in the stream, one alert acknowledged and one snoozed.
fn scenario() -> World {
    let mut w = World::new();
    w.at(0).beat(&ALL_AGENTS);
    for (agent, task, comp) in [
        ("backend-1", "T-11", "auth-api"),
        ("backend-2", "T-12", "auth-api"),
        ("frontend-1", "T-21", "web-ui"),
        ("data-1", "T-31", "data-pipeline"),
        ("qa-1", "T-41", "docs"),
    ] {
        w.push(json!({"type": "task_assigned", "agent": agent, "task": task, "component": comp}));
    }
    for (i, (p_auth, p_web, p_data, p_docs)) in [
        (10.0, 5.0, 0.0, 10.0),
        (20.0, 15.0, 10.0, 20.0),
        (35.0, 30.0, 20.0, 40.0),
        (45.0, 40.0, 35.0, 55.0),
    ]
    .into_iter()
    .enumerate()
    {
        let t = 20 + i as i64 * 40;
        w.at(t);
        w.push(
            json!({"type": "progress_update", "agent": "backend-1", "task": "T-11",
                      "component": "auth-api", "progress": p_auth, "message": "tests green"}),
        );
        w.push(
            json!({"type": "progress_update", "agent": "frontend-1", "task": "T-21",
                      "component": "web-ui", "progress": p_web}),
        );
        w.push(
            json!({"type": "progress_update", "agent": "data-1", "task": "T-31",
                      "component": "data-pipeline", "progress": p_data}),
        );
        w.push(
            json!({"type": "progress_update", "agent": "qa-1", "task": "T-41",
                      "component": "docs", "progress": p_docs}),
        );
    }
    w.at(150)
        .push(json!({"type": "quality_gate_failure", "agent": "backend-1",
        "component": "auth-api", "gate": "unit_tests", "message": "3 tests failing"}));
    w.at(170)
        .push(json!({"type": "system_failure", "component": "build-farm",
        "message": "runner pool unreachable"}));
    w.at(180)
        .push(json!({"type": "blocker_detected", "agent": "data-1",
        "component": "billing", "message": "schema not agreed"}));
    w.at(190).push(
        json!({"type": "coordination_alert", "agent": "qa-1", "severity": "low",
        "message": "style guide out of date"}),
    );
    w.at(200).push(
        json!({"type": "communication_failure", "agent": "frontend-1",
        "message": "socket closed\u{1b}[2J"}),
    );
    w.at(210)
        .push(json!({"type": "criterion_met", "data": {"criterion": "documentation"}}));
    w.app.push_parse_error(
        &ParseError {
            source: "events/backend-1.jsonl".into(),
            line: 42,
            offset: 7731,
            reason: "expected `,` or `}` at line 1 column 31".into(),
            excerpt: "{\"type\":\"progress_update\" \"agent\"".into(),
        },
        w.now,
    );
    w.at(300)
        .beat(&["backend-1", "frontend-1", "data-1", "qa-1"]);
    w.at(330).push(
        json!({"type": "progress_update", "agent": "backend-1", "task": "T-11",
        "component": "auth-api", "progress": 60.0}),
    );
    w.at(400).tick(); // backend-2: no heartbeat for 5 minutes
    w.at(405).beat(&["backend-1", "qa-1"]);
    w.sync();
    let low = w.alert_of("coordination_alert");
    let blocker = w.alert_of("blocker_detected");
    w.operate(Action::Acknowledge {
        alert: low,
        note: None,
    });
    w.operate(Action::Snooze {
        alert: blocker,
        minutes: 60.0,
    });
    w.at(420).tick();
    w.sync();
    w
}

#[test]
fn scenario_has_what_the_screens_show() {
    let w = scenario();
    let levels: Vec<Level> = w.engine.alerts.open().map(|a| a.level).collect();
    for l in Level::ALL {
        assert!(levels.contains(&l), "no open {l} alert: {levels:?}");
    }
    assert_eq!(
        w.engine.liveness_of("backend-2"),
        Some(coord::engine::agents::Liveness::TimedOut)
    );
    assert!(w.engine.components["auth-api"].blocked());
    // Worst first: the timed-out agent leads the grid, Critical leads the matrix.
    assert_eq!(w.app.sel.agent_order[0], "backend-2");
    let first = w.app.sel.alert_order[0].id;
    assert_eq!(w.engine.alerts.get(first).unwrap().level, Level::Critical);
}

#[test]
fn snapshot_160x48() {
    insta::assert_snapshot!(scenario().screen(160, 48));
}

#[test]
fn snapshot_80x24() {
    insta::assert_snapshot!(scenario().screen(80, 24));
}

#[test]
fn snapshot_80x24_events_focused() {
    let mut w = scenario();
    w.key(KeyCode::Char('1'));
    insta::assert_snapshot!(w.screen(80, 24));
}

#[test]
fn snapshot_120x30_smallest_dashboard() {
    insta::assert_snapshot!(scenario().screen(120, 30));
}

/// The incident page at the three sizes the operator uses: every transition
/// with who and why, notifications sent or held, actions, notes.
#[test]
fn snapshot_incident_page() {
    let mut w = scenario();
    let blocker = w.alert_of("blocker_detected");
    w.operate(Action::Note {
        alert: blocker,
        text: "asked data-1 for the schema".into(),
    });
    w.sync();
    w.select_alert(blocker);
    w.key(KeyCode::Enter);
    assert_eq!(w.app.page, Some(Page::Incident(blocker)));
    for (width, height) in [(80, 24), (120, 40), (200, 50)] {
        let text = w.screen(width, height);
        for want in ["Incident A-", "History", "opened", "snoozed", "alice"] {
            assert!(text.contains(want), "{want} at {width}x{height}:\n{text}");
        }
        insta::assert_snapshot!(format!("incident_page_{width}x{height}"), text);
    }
}

/// On the incident page the alert keys act on its alert, whatever is
/// selected in the Alerts pane underneath; Esc goes back to the panes.
#[test]
fn alert_keys_act_on_the_incident_page_alert() {
    let mut w = scenario();
    let gate = w.alert_of("quality_gate_failure");
    w.select_alert(gate);
    w.key(KeyCode::Enter);
    // The order underneath changes: another alert sits where the cursor was.
    w.app.sel.alerts = 0;
    assert_eq!(
        op(w.key(KeyCode::Char('a'))),
        Action::Acknowledge {
            alert: gate,
            note: None
        }
    );
    w.key(KeyCode::Char('x'));
    assert!(matches!(w.app.dialog, Some(Dialog::Input { alert, .. }) if alert == gate));
    w.key(KeyCode::Esc);
    assert!(w.app.dialog.is_none());
    assert_eq!(w.app.page, Some(Page::Incident(gate)), "the page stays");
    // Keys of the panes do nothing on a page, nor do clicks; the wheel scrolls it.
    assert_eq!(w.key(KeyCode::Char('3')), None);
    let at = |kind| MouseEvent {
        kind,
        column: 5,
        row: 5,
        modifiers: KeyModifiers::NONE,
    };
    let sel = w.app.sel.alerts;
    assert_eq!(
        w.app
            .handle_mouse(at(MouseEventKind::Down(MouseButton::Left))),
        None
    );
    assert_eq!(w.app.sel.alerts, sel);
    w.app.handle_mouse(at(MouseEventKind::ScrollDown));
    assert_eq!(w.app.page_scroll, 3);
    w.key(KeyCode::Esc);
    assert_eq!(w.app.page, None);
}

#[test]
fn snapshot_agent_and_component_pages() {
    let mut w = scenario();
    w.key(KeyCode::Char('2'));
    w.app.sel.agents = w
        .app
        .sel
        .agent_order
        .iter()
        .position(|a| a == "backend-2")
        .unwrap();
    w.key(KeyCode::Enter);
    assert_eq!(w.app.page, Some(Page::Agent("backend-2".into())));
    for (width, height) in [(80, 24), (120, 40)] {
        let text = w.screen(width, height);
        for want in [
            "Agent backend-2",
            "TIMED OUT",
            "Liveness history",
            "agent timeout",
        ] {
            assert!(text.contains(want), "{want} at {width}x{height}:\n{text}");
        }
        insta::assert_snapshot!(format!("agent_page_{width}x{height}"), text);
    }
    // Enter shows its events: the stream filtered by it.
    w.key(KeyCode::Enter);
    assert_eq!(w.app.page, None);
    assert_eq!(w.app.filter_text, "agent:backend-2");
    assert_eq!(w.app.focus, Pane::Events);

    let mut w = scenario();
    w.key(KeyCode::Char('4'));
    assert_eq!(w.app.sel.component_order[0], "auth-api");
    w.key(KeyCode::Enter);
    assert_eq!(w.app.page, Some(Page::Component("auth-api".into())));
    let text = w.screen(120, 40);
    for want in ["BLOCKED", "unit_tests", "✗ failed", "gate failure", "T-11"] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    insta::assert_snapshot!("component_page_120x40", text);
}

#[test]
fn snapshot_20x5() {
    insta::assert_snapshot!(scenario().screen(20, 5));
}

#[test]
fn snapshot_200x50_zoomed_alerts_wide_columns() {
    let mut w = scenario();
    w.key(KeyCode::Char('z'));
    insta::assert_snapshot!(w.screen(200, 50));
}

#[test]
fn snapshot_help_and_dialogs() {
    let mut w = scenario();
    w.key(KeyCode::Char('?'));
    insta::assert_snapshot!("help_120x40", w.screen(120, 40));
    w.key(KeyCode::Esc);
    w.select_alert(w.alert_of("agent_timeout"));
    w.key(KeyCode::Char('r'));
    insta::assert_snapshot!("reassign_120x30", w.screen(120, 30));
    w.key(KeyCode::Esc);
    w.key(KeyCode::Char('1'));
    w.key(KeyCode::Char('k'));
    w.key(KeyCode::Char('k'));
    w.key(KeyCode::Enter);
    insta::assert_snapshot!("event_detail_120x30", w.screen(120, 30));
}

#[test]
fn no_color_carries_meaning_in_modifiers_and_words() {
    let mut w = scenario();
    w.app.theme = Theme::mono();
    let term = w.render(160, 48);
    let buf = term.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "a colour under NO_COLOR: {cell:?}");
        assert_eq!(cell.bg, Color::Reset, "a colour under NO_COLOR: {cell:?}");
    }
    // The critical alert's level word is reversed and bold.
    let text = term.backend().to_string();
    assert!(text.contains("CRIT"));
    let area = buf.area;
    let mut found = false;
    for y in 0..area.height {
        for x in 0..area.width.saturating_sub(4) {
            let word: String = (0..4).map(|i| buf[(x + i, y)].symbol()).collect();
            if word == "CRIT" && buf[(x, y)].modifier.contains(Modifier::REVERSED) {
                found = true;
            }
        }
    }
    assert!(found, "CRIT is not reversed under NO_COLOR");
    assert!(text.contains("TIMED OUT"));
    assert!(text.contains("BLOCKED"));
    // The phase gauge in blocks: half done at 50 %, so the fill can be read.
    let gauge = text
        .lines()
        .find(|l| l.contains("Phase 1 50.0% "))
        .expect("the gauge line");
    let (done, todo) = (gauge.matches('█').count(), gauge.matches('░').count());
    assert!(done > 0 && done.abs_diff(todo) <= 1, "{gauge}");
    insta::assert_snapshot!("no_color_80x24", w.screen(80, 24));
}

#[test]
fn never_panics_at_any_size() {
    let mut w = scenario();
    // Every size with the default view; zoom, log pane and a dialog on a
    // sparser grid (a debug-build frame costs milliseconds).
    for (zoom, log, dialog, step) in [(false, false, false, 1), (true, true, true, 3)] {
        w.app.zoom = zoom;
        w.app.show_log = log;
        w.app.tui_logger = log;
        w.app.dialog = dialog.then_some(Dialog::Help { scroll: 0 });
        let mut term = Terminal::new(TestBackend::new(1, 1)).unwrap();
        for width in (1..=130u16).filter(|x| x % step == 0 || *x < 10) {
            for height in (1..=40u16).filter(|y| y % step == 0 || *y < 10) {
                term.backend_mut().resize(width, height);
                term.draw(|f| {
                    draw(f, &w.app, &w.engine, w.now);
                })
                .unwrap();
            }
        }
    }
}

/// Every pane focused, zoomed and not, at every small size: a pane drawn one or
/// two columns wide (the Agents grid panicked there) is still drawn.
#[test]
fn never_panics_at_any_small_size_with_any_pane_focused() {
    let mut w = scenario();
    let mut term = Terminal::new(TestBackend::new(1, 1)).unwrap();
    // A few random larger sizes too (a fixed seed: a failure can be replayed).
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    let large: Vec<(u16, u16)> = (0..12)
        .map(|_| (41 + random(260) as u16, 13 + random(90) as u16))
        .collect();
    let sizes: Vec<(u16, u16)> = (1..=40u16)
        .flat_map(|w| (1..=12u16).map(move |h| (w, h)))
        .chain(large)
        .collect();
    let mut draw_all = |w: &World| {
        for &(width, height) in &sizes {
            term.backend_mut().resize(width, height);
            term.draw(|f| {
                draw(f, &w.app, &w.engine, w.now);
            })
            .unwrap();
        }
    };
    for pane in Pane::ALL {
        for zoom in [false, true] {
            w.app.focus_pane(pane);
            w.app.zoom = zoom;
            w.app.show_log = pane == Pane::Log;
            draw_all(&w);
        }
    }
    // Every page, and a dialog over a page.
    let seq = w.app.newest().next().unwrap().seq;
    for page in [
        Page::Event(seq),
        Page::Incident(1),
        Page::Agent("backend-2".into()),
        Page::Component("auth-api".into()),
        Page::Agent("nobody".into()),
    ] {
        w.app.page = Some(page);
        draw_all(&w);
    }
    w.app.dialog = Some(Dialog::Confirm {
        action: Action::Escalate { alert: 1 },
        question: "Resolve A-1? This cannot be undone.".into(),
    });
    draw_all(&w);
}

/// Heartbeats never move the selection off its agent, and the grid's order is
/// liveness, then name: an agent that goes late moves up, the cursor with it.
#[test]
fn the_selected_agent_stays_selected_through_heartbeats_and_re_sorts() {
    let mut w = World::new();
    w.at(0);
    for a in ["backend-1", "backend-2", "data-1", "frontend-1", "qa-1"] {
        w.push(json!({"type": "agent_heartbeat", "agent": a}));
    }
    w.app.focus_pane(Pane::Agents);
    w.app.sync(&w.engine, w.now);
    let i = w
        .app
        .sel
        .agent_order
        .iter()
        .position(|a| a == "data-1")
        .unwrap();
    w.app.sel.agents = i;
    let mut by_name = w.app.sel.agent_order.clone();
    by_name.sort();
    assert_eq!(w.app.sel.agent_order, by_name, "healthy agents by name");
    // Ten seconds of heartbeats, the others' newest: the order holds.
    for s in 1..=10 {
        w.at(s);
        for a in ["backend-1", "backend-2", "frontend-1", "qa-1", "data-1"] {
            w.push(json!({"type": "agent_heartbeat", "agent": a}));
        }
        w.app.sync(&w.engine, w.now);
        assert_eq!(w.app.sel.agent_order, by_name, "at {s} s");
        assert_eq!(
            w.app.sel.agent_order[w.app.sel.agents], "data-1",
            "at {s} s"
        );
    }
    // data-1 falls silent and goes late: it moves to the top, the selection with it.
    w.at(130);
    for a in ["backend-1", "backend-2", "frontend-1", "qa-1"] {
        w.push(json!({"type": "agent_heartbeat", "agent": a}));
    }
    w.tick();
    w.app.sync(&w.engine, w.now);
    assert_ne!(w.app.sel.agent_order, by_name, "a late agent sorts first");
    assert_eq!(w.app.sel.agent_order[w.app.sel.agents], "data-1");
}

#[test]
fn sanitised_on_screen() {
    let mut w = scenario();
    let text = w.screen(160, 48);
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("socket closed\\x1b[2J"), "{text}");
}

// ----- operator keys ---------------------------------------------------------

fn op(a: Option<UiAction>) -> Action {
    match a {
        Some(UiAction::Operator(action)) => action,
        other => panic!("expected an operator action, got {other:?}"),
    }
}

fn transitions(fx: &[Effect], alert: u64) -> Vec<&'static str> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Transition(t) if t.alert == alert => Some(t.what),
            _ => None,
        })
        .collect()
}

fn by_operator(fx: &[Effect], who: &str) -> bool {
    fx.iter().any(|f| {
        matches!(f, Effect::Transition(t)
            if t.by == coord::engine::Actor::Operator(who.to_string()))
    })
}

#[test]
fn a_acknowledges_the_selected_alert() {
    let mut w = scenario();
    let id = w.alert_of("system_failure");
    w.select_alert(id);
    let action = op(w.key(KeyCode::Char('a')));
    assert_eq!(
        action,
        Action::Acknowledge {
            alert: id,
            note: None
        }
    );
    let fx = w.operate(action);
    assert_eq!(transitions(&fx, id), vec!["acknowledged"]);
    assert!(by_operator(&fx, "alice"));
    let a = w.engine.alerts.get(id).unwrap();
    assert_eq!(a.status, Status::Acknowledged);
    assert_eq!(a.ack_owner.as_deref(), Some("alice"));
    // The screen answers, at every width from 40 columns: on the status line.
    let said = format!("A-{id} acknowledged by alice");
    assert_eq!(w.app.status.as_deref(), Some(said.as_str()));
    for width in [40, 80, 120, 200] {
        let screen = w.screen(width, 24);
        let last = screen.lines().last().unwrap();
        assert!(last.contains(&said), "{width} columns: {last}");
    }
}

/// The selected alert resolved away under the cursor (here by the system's
/// recovery): nothing is selected — `a` acts on no other alert and says why —
/// until the operator moves, and then on the row the cursor is on.
#[test]
fn a_key_after_the_selected_alert_left_acts_on_nothing() {
    let mut w = scenario();
    let gone = w.alert_of("system_failure");
    w.select_alert(gone);
    w.sync();
    let index = w.app.sel.alerts;
    w.push(json!({"type": "system_recovered", "component": "build-farm"}));
    w.sync();
    assert!(w.engine.alerts.get(gone).unwrap().resolved_at.is_some());
    assert_eq!(w.app.selected_alert(), None);
    assert_eq!(w.key(KeyCode::Char('a')), Some(UiAction::Redraw));
    let said = w.app.status.clone().unwrap_or_default();
    assert!(said.contains(&format!("A-{gone} left the list")), "{said}");
    // Enter opens no page and says why, rather than nothing at all.
    w.app.status = None;
    w.key(KeyCode::Enter);
    assert!(w.app.page.is_none());
    let said = w.app.status.clone().unwrap_or_default();
    assert!(said.contains(&format!("A-{gone} left the list")), "{said}");
    // No alert row is drawn selected.
    let selected_rows = |w: &mut World| {
        let screen = w.render(120, 40);
        let buf = screen.backend().buffer().clone();
        // (The status bar, on the last line, may say an id.)
        (0..buf.area.height - 1)
            .filter(|&y| {
                let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
                row.contains(" A-")
                    && (0..buf.area.width).any(|x| {
                        buf[(x, y)]
                            .modifier
                            .contains(ratatui::style::Modifier::REVERSED)
                    })
            })
            .count()
    };
    assert_eq!(selected_rows(&mut w), 0, "an alert row is drawn selected");
    // `j` picks the row in place: the alert that took the row, shown selected.
    w.key(KeyCode::Char('j'));
    let now_on = w.app.sel.alert_order[index.min(w.app.sel.alert_order.len() - 1)].id;
    assert_eq!(w.app.selected_alert().map(|r| r.id), Some(now_on));
    assert_eq!(selected_rows(&mut w), 1);
    assert_eq!(
        op(w.key(KeyCode::Char('a'))),
        Action::Acknowledge {
            alert: now_on,
            note: None
        }
    );
}

#[test]
fn e_escalates() {
    let mut w = scenario();
    let id = w.alert_of("quality_gate_failure");
    w.select_alert(id);
    let before = w.engine.alerts.get(id).unwrap().escalation;
    let action = op(w.key(KeyCode::Char('e')));
    assert_eq!(action, Action::Escalate { alert: id });
    let fx = w.operate(action);
    assert!(by_operator(&fx, "alice"));
    assert!(w.engine.alerts.get(id).unwrap().escalation > before);
}

#[test]
fn r_opens_a_picker_of_healthy_agents_by_load() {
    let mut w = scenario();
    let id = w.alert_of("agent_timeout");
    w.select_alert(id);
    assert_eq!(w.key(KeyCode::Char('r')), Some(UiAction::Redraw));
    let Some(Dialog::Reassign { choices, .. }) = &w.app.dialog else {
        panic!("no picker: {:?}", w.app.dialog);
    };
    let names: Vec<&str> = choices.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.contains(&"backend-2"), "timed-out agent offered");
    // Fewest open tasks first.
    let loads: Vec<usize> = choices.iter().map(|c| c.1).collect();
    let mut sorted = loads.clone();
    sorted.sort();
    assert_eq!(loads, sorted);
    let second = choices[1].0.clone();
    w.key(KeyCode::Char('j'));
    let action = op(w.key(KeyCode::Enter));
    assert_eq!(
        action,
        Action::Reassign {
            alert: id,
            to: second.clone()
        }
    );
    assert!(w.app.dialog.is_none());
    let fx = w.operate(action);
    assert_eq!(transitions(&fx, id), vec!["reassigned"]);
    assert_eq!(
        w.engine.alerts.get(id).unwrap().assignee.as_deref(),
        Some(second.as_str())
    );
}

#[test]
fn s_snoozes_with_choices_and_custom() {
    let mut w = scenario();
    let id = w.alert_of("quality_gate_failure");
    w.select_alert(id);
    w.key(KeyCode::Char('s'));
    assert!(matches!(w.app.dialog, Some(Dialog::Snooze { .. })));
    let action = op(w.key(KeyCode::Char('2')));
    assert_eq!(
        action,
        Action::Snooze {
            alert: id,
            minutes: 60.0
        }
    );
    w.key(KeyCode::Char('s'));
    w.key(KeyCode::Char('4'));
    w.typed("nope");
    assert_eq!(w.key(KeyCode::Enter), Some(UiAction::Redraw));
    assert!(matches!(
        &w.app.dialog,
        Some(Dialog::Input { error: Some(_), .. })
    ));
    for _ in 0..4 {
        w.key(KeyCode::Backspace);
    }
    w.typed("90m");
    let action = op(w.key(KeyCode::Enter));
    assert_eq!(
        action,
        Action::Snooze {
            alert: id,
            minutes: 90.0
        }
    );
    let fx = w.operate(action);
    assert_eq!(transitions(&fx, id), vec!["snoozed"]);
    assert!(w.engine.alerts.get(id).unwrap().snoozed_until.is_some());
}

#[test]
fn x_resolves_with_a_note_after_confirmation() {
    let mut w = scenario();
    let id = w.alert_of("communication_failure");
    w.select_alert(id);
    w.key(KeyCode::Char('x'));
    w.typed("restarted the proxy");
    assert_eq!(w.key(KeyCode::Enter), Some(UiAction::Redraw));
    assert!(matches!(w.app.dialog, Some(Dialog::Confirm { .. })));
    // `n` cancels: nothing happens.
    assert_eq!(w.key(KeyCode::Char('n')), Some(UiAction::Redraw));
    assert!(w.app.dialog.is_none());
    w.key(KeyCode::Char('x'));
    w.typed("restarted the proxy");
    w.key(KeyCode::Enter);
    let action = op(w.key(KeyCode::Char('y')));
    assert_eq!(
        action,
        Action::Resolve {
            alert: id,
            note: Some("restarted the proxy".into())
        }
    );
    let fx = w.operate(action);
    assert_eq!(transitions(&fx, id), vec!["resolved"]);
    let a = w.engine.alerts.get(id).unwrap();
    assert_eq!(a.resolution, Some(Resolution::Fixed));
    assert_eq!(a.notes[0].author, "alice");
}

#[test]
fn f_false_alarm_requires_a_reason() {
    let mut w = scenario();
    let id = w.alert_of("system_failure");
    w.select_alert(id);
    w.key(KeyCode::Char('f'));
    // Empty (or blank) reason: refused in the dialog, no action.
    assert_eq!(w.key(KeyCode::Enter), Some(UiAction::Redraw));
    assert!(matches!(
        &w.app.dialog,
        Some(Dialog::Input { error: Some(_), .. })
    ));
    w.typed("   ");
    assert_eq!(w.key(KeyCode::Enter), Some(UiAction::Redraw));
    assert!(matches!(
        &w.app.dialog,
        Some(Dialog::Input { error: Some(_), .. })
    ));
    let screen = w.screen(80, 24);
    assert!(screen.contains("a reason is required"), "{screen}");
    w.typed("maintenance window");
    w.key(KeyCode::Enter);
    assert!(matches!(w.app.dialog, Some(Dialog::Confirm { .. })));
    let action = op(w.key(KeyCode::Char('y')));
    assert_eq!(
        action,
        Action::FalseAlarm {
            alert: id,
            reason: "maintenance window".into()
        }
    );
    let fx = w.operate(action);
    assert_eq!(transitions(&fx, id), vec!["false_alarm"]);
    assert!(by_operator(&fx, "alice"));
    assert_eq!(w.engine.resolution_of(id), Some(Resolution::FalseAlarm));
}

#[test]
fn n_adds_a_note_and_refuses_an_empty_one() {
    let mut w = scenario();
    let id = w.alert_of("blocker_detected");
    w.select_alert(id);
    w.key(KeyCode::Char('n'));
    w.key(KeyCode::Enter);
    assert!(matches!(
        &w.app.dialog,
        Some(Dialog::Input { error: Some(_), .. })
    ));
    w.typed("asked data-1 for the schema");
    let action = op(w.key(KeyCode::Enter));
    assert_eq!(
        action,
        Action::Note {
            alert: id,
            text: "asked data-1 for the schema".into()
        }
    );
    let fx = w.operate(action);
    assert_eq!(transitions(&fx, id), vec!["noted"]);
}

#[test]
fn shift_a_acknowledges_every_alert_in_view() {
    let mut w = scenario();
    w.key(KeyCode::Char('3'));
    // Only what the filter shows.
    w.key(KeyCode::Char('/'));
    w.typed("level:high");
    w.key(KeyCode::Enter);
    let want: Vec<u64> = w
        .engine
        .alerts
        .open()
        .filter(|a| a.level == Level::High)
        .map(|a| a.id)
        .collect();
    assert!(want.len() >= 2);
    // Asked first, with the count; `y` acts.
    w.key_mod(KeyCode::Char('A'), KeyModifiers::SHIFT);
    let Some(Dialog::Confirm { question, .. }) = &w.app.dialog else {
        panic!("no confirmation: {:?}", w.app.dialog)
    };
    let asked = format!(
        "Acknowledge {} alerts in view (filtered), as alice?",
        want.len()
    );
    assert_eq!(question, &asked);
    let action = op(w.key(KeyCode::Char('y')));
    let Action::AcknowledgeAll { mut alerts } = action.clone() else {
        panic!("{action:?}")
    };
    alerts.sort();
    assert_eq!(alerts, want);
    let fx = w.operate(action);
    for id in want {
        assert_eq!(transitions(&fx, id), vec!["acknowledged"]);
    }
    assert!(w
        .engine
        .alerts
        .open()
        .any(|a| a.level != Level::High && a.status == Status::Triggered));
}

#[test]
fn a_resolved_alert_takes_no_action() {
    let mut w = scenario();
    let id = w.alert_of("communication_failure");
    w.operate(Action::Resolve {
        alert: id,
        note: None,
    });
    w.key(KeyCode::Char('3'));
    w.key_mod(KeyCode::Char('R'), KeyModifiers::SHIFT);
    assert!(w.app.show_resolved);
    w.select_alert(id);
    assert_eq!(w.key(KeyCode::Char('a')), Some(UiAction::Redraw));
    assert!(w.app.status.as_deref().unwrap().contains("resolved"));
}

#[test]
fn view_keys() {
    let mut w = scenario();
    assert_eq!(w.key(KeyCode::Char('q')), Some(UiAction::Quit));
    assert_eq!(
        w.key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL),
        Some(UiAction::Quit)
    );
    w.key(KeyCode::Tab);
    assert_eq!(w.app.focus, Pane::Progress);
    w.key(KeyCode::BackTab);
    assert_eq!(w.app.focus, Pane::Alerts);
    // Follow: scrolling up turns it off, F turns it back on.
    w.key(KeyCode::Char('1'));
    assert!(w.app.follow);
    w.key(KeyCode::Char('k'));
    assert!(!w.app.follow);
    let kept = w.app.events_selected();
    // (A heartbeat would not do: heartbeats are folded out of the pane.)
    w.at(430).push(
        json!({"type": "progress_update", "agent": "qa-1", "component": "docs", "progress": 5}),
    );
    assert_eq!(
        w.app.events_selected(),
        kept + 1,
        "selection moved with new events"
    );
    w.key_mod(KeyCode::Char('F'), KeyModifiers::SHIFT);
    assert!(w.app.follow);
    assert_eq!(w.app.events_selected(), 0);
    // l shows the log pane and focuses it.
    w.key(KeyCode::Char('l'));
    assert!(w.app.show_log);
    assert_eq!(w.app.focus, Pane::Log);
    // Filter: typed live, Esc restores, Enter keeps.
    w.key(KeyCode::Char('/'));
    w.typed("type:parse");
    assert_eq!(w.app.filter.want.types, vec!["parse"]);
    w.key(KeyCode::Esc);
    assert!(w.app.filter.is_empty());
    w.key(KeyCode::Char('/'));
    w.typed("agent:qa-1");
    w.key(KeyCode::Enter);
    assert_eq!(w.app.filter_text, "agent:qa-1");
    assert_eq!(w.app.sel.agent_order, vec!["qa-1"]);
    w.key(KeyCode::Esc);
    assert!(w.app.filter_text.is_empty());
}

#[test]
fn enter_on_an_event_shows_all_fields_and_its_source() {
    let mut w = scenario();
    w.key(KeyCode::Char('1'));
    w.key(KeyCode::Char('/'));
    w.typed("type:quality_gate");
    w.key(KeyCode::Enter);
    w.key(KeyCode::Enter);
    assert!(matches!(w.app.page, Some(Page::Event(_))));
    let text = w.screen(120, 30);
    for want in [
        "quality_gate_failure",
        "auth-api",
        "unit_tests",
        "3 tests failing",
        "events/backend-1.jsonl",
        "byte ",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
}

#[test]
fn mouse_click_focuses_and_selects_wheel_scrolls() {
    let mut w = scenario();
    let _ = w.render(160, 48);
    let view_alerts = {
        let v = &w.app.view;
        v.panes.iter().find(|p| p.0 == Pane::Alerts).unwrap().1
    };
    w.app.focus = Pane::Events;
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: view_alerts.x + 2,
        row: view_alerts.y + 2, // header, then the second row
        modifiers: KeyModifiers::NONE,
    };
    assert_eq!(w.app.handle_mouse(click), Some(UiAction::Redraw));
    assert_eq!(w.app.focus, Pane::Alerts);
    assert_eq!(w.app.sel.alerts, 1);
    let events = {
        let v = &w.app.view;
        v.panes.iter().find(|p| p.0 == Pane::Events).unwrap().1
    };
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: events.x + 1,
        row: events.y + 1,
        modifiers: KeyModifiers::NONE,
    };
    w.app.handle_mouse(wheel);
    assert!(!w.app.follow);
    assert_eq!(w.app.events_selected(), 3);
}

#[test]
fn bad_key_config_is_reported_not_fatal() {
    let mut config = Config::default();
    config.ui.keys.insert("acknowledge".into(), "ctrl-".into());
    config.ui.keys.insert("teleport".into(), "t".into());
    let app = App::new(&config, "bob");
    assert_eq!(app.key_errors.len(), 2);
    assert!(app.status.as_deref().unwrap().contains("ui.keys"));
    // Escalation level names stay words on screen.
    assert_eq!(Escalation::Human.as_str(), "human");
}

#[test]
fn refusals_show_then_fade() {
    let mut w = scenario();
    let id = w.alert_of("quality_gate_failure");
    // An action the engine refuses (a false alarm without a reason, as another
    // client might send it) shows its reason in the status bar.
    w.operate(Action::FalseAlarm {
        alert: id,
        reason: " ".into(),
    });
    let msg = w.app.status.clone().expect("a message");
    assert!(msg.contains("needs a reason"), "{msg}");
    assert!(w.screen(160, 48).contains("needs a reason"));
    w.at(430).sync();
    assert!(w.app.status.is_some());
    w.at(440).sync();
    assert!(w.app.status.is_none());
}

#[test]
fn a_zoom_taken_for_room_goes_when_the_terminal_grows_and_a_chosen_one_stays() {
    let mut w = scenario();
    w.screen(80, 24); // the last frame was stacked: a number key zooms
    w.key(KeyCode::Char('3'));
    assert!(w.app.zoom);
    assert!(w.screen(80, 24).contains("3 Alerts [zoom]"));
    w.app.on_resize(100, 30); // still too small for four panes
    assert!(w.app.zoom);
    w.app.on_resize(160, 48);
    assert!(!w.app.zoom);
    assert!(w.screen(160, 48).contains("1 Events"));

    w.key(KeyCode::Char('z'));
    w.app.on_resize(60, 20);
    w.app.on_resize(160, 48);
    assert!(w.app.zoom, "a zoom the operator chose is kept");
}

#[test]
fn the_tab_bar_sets_the_focused_pane_note_apart_from_the_numbers() {
    let mut w = scenario();
    let screen = w.screen(40, 12);
    let tabs = screen.lines().next().unwrap();
    assert!(tabs.contains(" 3 Alerts  4 │ 6 open"), "{tabs}");
}

/// From 200 columns the ACTIONS column shows; it and the message are cut to
/// their own widths, with an ellipsis.
#[test]
fn actions_show_from_200_columns_cut_with_an_ellipsis() {
    let mut w = scenario();
    w.key(KeyCode::Char('z'));
    let text = w.screen(230, 20);
    assert!(text.contains("ACTIONS"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("agent timeout"))
        .expect("the timeout's row");
    assert!(row.contains("spare-1"), "{row}");
    let narrow = w.screen(203, 20);
    let row = narrow
        .lines()
        .find(|l| l.contains("agent timeout"))
        .expect("the timeout's row");
    assert!(
        row.trim_end_matches(['┃', ' ', '"']).ends_with('…'),
        "{row}"
    );
}

/// The Alerts pane with its message and owner at the three sizes the operator
/// uses (80×24 stacked, 120×40 dashboard, 200×50 zoomed): the acknowledged
/// Low alert shows who owns it, every row its message.
#[test]
fn snapshot_alerts_pane_with_message_and_owner() {
    let mut w = scenario();
    w.key(KeyCode::Char('3'));
    for (width, height, zoom) in [(80, 24, false), (120, 40, false), (200, 50, true)] {
        w.app.zoom = zoom;
        let text = w.screen(width, height);
        let low = text
            .lines()
            .find(|l| l.contains("LOW") && l.contains("A-"))
            .unwrap_or_else(|| panic!("no Low row at {width}x{height}:\n{text}"));
        assert!(low.contains("alice"), "owner at {width}x{height}: {low}");
        assert!(
            low.contains("style guide"),
            "message at {width}x{height}: {low}"
        );
        insta::assert_snapshot!(format!("alerts_pane_{width}x{height}"), text);
    }
}

/// An agent waiting on a person has its own symbol and word, with how long
/// it has waited; spend shows on the agent's cell and against the phase's
/// budget in Progress.
#[test]
fn a_waiting_agent_and_spend_are_on_the_screen() {
    let mut w = scenario();
    let t = (w.now - t0()).num_seconds();
    w.push(
        json!({"type": "agent_heartbeat", "agent": "frontend-1", "status": "waiting",
        "message": "Claude needs your permission to use Bash"}),
    );
    w.push(
        json!({"type": "progress_update", "agent": "backend-1", "task": "T-11",
        "component": "auth-api", "progress": 40, "cost_usd": 1.25, "tokens": 5000}),
    );
    w.at(t + 45);
    w.sync();
    let screen = w.screen(200, 50);
    assert!(screen.contains("◆ frontend-1"), "{screen}");
    assert!(screen.contains("WAITING · 45 s"), "{screen}");
    assert!(screen.contains("$1.25"), "{screen}");
    assert!(screen.contains("spent $1.25 · 5000 tokens"), "{screen}");
    assert!(
        screen.contains("1 waiting"),
        "the Agents title counts it: {screen}"
    );
}
