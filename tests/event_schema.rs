//! `assets/event.schema.json` (the JSON Schema of one event) agrees with the
//! parser: every known type is listed, the bounds are the parser's, every seed
//! alias is documented, and the schema's own examples are events the parser reads.
//! (No JSON Schema validator is used: the schema is checked as data.)

use coord::model::event::{parse_value, Origin, ParseOptions};
use coord::model::EventType;
use serde_json::Value;

fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/event.schema.json");
    let text = std::fs::read_to_string(path).expect("assets/event.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn property<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["properties"]
        .get(name)
        .unwrap_or_else(|| panic!("no property {name:?}"))
}

/// Where the events parsed here come from, and when.
const ORIGIN: Origin = Origin {
    source: "assets/event.schema.json",
    line: 1,
    offset: 0,
    ident: "",
};

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn description(v: &Value) -> &str {
    v["description"].as_str().expect("a description")
}

#[test]
fn is_a_draft_2020_12_object_schema() {
    let s = schema();
    assert!(s.is_object());
    assert_eq!(
        s["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "$schema"
    );
    assert_eq!(s["type"], "object");
    assert_eq!(
        s["additionalProperties"], true,
        "unknown fields are kept in data"
    );
    // `type` is required, or the seed's `event_type` in its place.
    let any_of: Vec<&Value> = s["anyOf"].as_array().expect("anyOf").iter().collect();
    let required: Vec<&Value> = any_of.iter().map(|a| &a["required"]).collect();
    assert!(
        required.contains(&&serde_json::json!(["type"])),
        "{any_of:?}"
    );
    assert!(
        required.contains(&&serde_json::json!(["event_type"])),
        "{any_of:?}"
    );
}

#[test]
fn every_known_type_is_listed() {
    let s = schema();
    let ty = property(&s, "type");
    assert_eq!(ty["type"], "string");
    assert_eq!(ty["pattern"], "^[A-Za-z0-9_.-]{1,64}$");
    let examples: Vec<&str> = ty["examples"]
        .as_array()
        .expect("type.examples")
        .iter()
        .map(|v| v.as_str().expect("a type name"))
        .collect();
    let text = description(ty);
    for t in EventType::KNOWN {
        let name = t.as_str();
        assert!(examples.contains(&name), "{name} in type.examples");
        assert!(text.contains(name), "{name} in type.description");
    }
    // Only type names, each one the parser knows.
    for name in examples {
        assert!(
            !matches!(EventType::from_name(name), EventType::Other(_)),
            "{name} is not a known type"
        );
    }
    assert!(text.contains("milestone_update"), "the seed's type alias");
}

#[test]
fn progress_is_bounded_0_to_100() {
    let s = schema();
    for name in ["progress", "progress_percentage", "completion_percentage"] {
        let p = property(&s, name);
        assert_eq!(p["minimum"].as_f64(), Some(0.0), "{name}.minimum");
        assert_eq!(p["maximum"].as_f64(), Some(100.0), "{name}.maximum");
        assert_eq!(p["type"], serde_json::json!(["number", "null"]), "{name}");
    }
}

#[test]
fn every_field_and_seed_alias_is_documented() {
    let s = schema();
    for name in [
        "type",
        "ts",
        "id",
        "agent",
        "task",
        "component",
        "phase",
        "gate",
        "message",
        "status",
        "progress",
        "severity",
        "cost_usd",
        "tokens",
        "data",
    ] {
        assert!(!description(property(&s, name)).is_empty(), "{name}");
    }
    assert_eq!(property(&s, "data")["type"], "object");
    let aliases = [
        ("event_type", "`type`"),
        ("event_id", "`id`"),
        ("timestamp", "`ts`"),
        ("agent_id", "`agent`"),
        ("progress_percentage", "`progress`"),
        ("completion_percentage", "`progress`"),
        ("blocker_description", "`message`"),
        ("current_task", "`task`"),
        ("milestone_name", "`message`"),
    ];
    for (alias, field) in aliases {
        let text = description(property(&s, alias));
        assert!(
            text.contains("alias") && text.contains(field),
            "{alias} should say it aliases {field}: {text}"
        );
    }
    // The severities the parser accepts.
    let severity = serde_json::to_string(property(&s, "severity")).unwrap();
    for word in [
        "critical", "high", "medium", "low", "info", "warning", "error",
    ] {
        assert!(severity.contains(&format!("\"{word}\"")), "severity {word}");
    }
}

/// Spend is bounded as the parser bounds it: a non-negative amount and a
/// non-negative whole number, at the top level or in `data`.
#[test]
fn spend_is_bounded_as_the_parser_bounds_it() {
    let s = schema();
    assert_eq!(property(&s, "cost_usd")["minimum"], 0);
    assert_eq!(property(&s, "tokens")["minimum"], 0);
    let parse = |text: &str| {
        let v: Value = serde_json::from_str(text).unwrap();
        parse_value(v, &ORIGIN, now(), &ParseOptions::default()).map_err(|e| e.reason)
    };
    let e = parse(r#"{"type":"progress_update","cost_usd":0.25,"tokens":900}"#).unwrap();
    assert_eq!(e.spend(), (0.25, 900));
    let e = parse(r#"{"type":"progress_update","data":{"cost_usd":1,"tokens":2}}"#).unwrap();
    assert_eq!(e.spend(), (1.0, 2));
    for bad in [
        r#"{"type":"x","cost_usd":-1}"#,
        r#"{"type":"x","cost_usd":"3"}"#,
        r#"{"type":"x","tokens":1.5}"#,
        r#"{"type":"x","tokens":-2}"#,
        r#"{"type":"x","data":{"tokens":"many"}}"#,
    ] {
        let err = parse(bad).expect_err(bad);
        assert!(
            err.contains("cost_usd") || err.contains("tokens"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn the_schema_examples_are_events_the_parser_reads() {
    let s = schema();
    let examples = s["examples"].as_array().expect("examples");
    assert!(!examples.is_empty());
    for example in examples {
        let e = parse_value(example.clone(), &ORIGIN, now(), &ParseOptions::default())
            .unwrap_or_else(|err| panic!("{example}: {err}"));
        assert!(!e.ts_assumed, "{example}: ts given");
        assert!(e.agent.is_some() && e.progress.is_some() && e.task.is_some());
    }
}
