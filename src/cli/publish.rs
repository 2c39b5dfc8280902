//! `coord publish`: one event from flags or from JSON, through the library's
//! `publish`. Exit 0 published (the id on stdout), 1 the event was refused (the
//! parser's reason on stderr, nothing written), 2 any other error.

use crate::publish::{
    numbered, prepare_text, publish_many, publish_str, write_prepared, PublishError,
};
use crate::stream::sink::{publish_to, Publisher};
use crate::stream::StreamUrl;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::PathBuf;

/// The event as the command line gave it (`coord publish`'s flags).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Fields {
    /// The event type (e.g. progress_update)
    #[arg(long = "type", value_name = "TYPE", required_unless_present = "json")]
    pub kind: Option<String>,
    /// The agent (also names the file: events/<agent>.jsonl)
    #[arg(long)]
    pub agent: Option<String>,
    /// The task
    #[arg(long)]
    pub task: Option<String>,
    /// The component
    #[arg(long)]
    pub component: Option<String>,
    /// The phase
    #[arg(long)]
    pub phase: Option<String>,
    /// The quality gate
    #[arg(long)]
    pub gate: Option<String>,
    /// critical, high, medium or low
    #[arg(long)]
    pub severity: Option<String>,
    /// Free text
    #[arg(long)]
    pub message: Option<String>,
    /// 0–100
    // Read like a `--field` value, so a bad one is refused by the parser.
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub progress: Option<String>,
    /// Any other field; VALUE is JSON when it parses as JSON, else a string
    // In order; they override the named flags.
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = parse_field)]
    pub extra: Vec<(String, Value)>,
}

/// What to publish: the flags, or a whole JSON object (`-` reads stdin).
pub enum Source {
    Fields(Box<Fields>),
    Json(String),
}

/// A `--field` value: JSON when it parses as JSON (numbers, booleans, objects,
/// quoted strings), else the text itself.
pub fn field_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Parses `k=v` for clap.
pub fn parse_field(s: &str) -> Result<(String, Value), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), field_value(v))),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

impl Fields {
    pub fn to_event(&self) -> Value {
        let mut map = Map::new();
        let strings = [
            ("type", &self.kind),
            ("agent", &self.agent),
            ("task", &self.task),
            ("component", &self.component),
            ("phase", &self.phase),
            ("gate", &self.gate),
            ("severity", &self.severity),
            ("message", &self.message),
        ];
        for (key, value) in strings {
            if let Some(v) = value {
                map.insert(key.into(), Value::String(v.clone()));
            }
        }
        if let Some(p) = &self.progress {
            map.insert("progress".into(), field_value(p));
        }
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }
}

/// Where events go: a coordination directory or a Redis stream.
pub enum Target {
    Dir(PathBuf),
    Stream(StreamUrl),
}

/// Runs the command; returns the exit code. The ids go to stdout, a line each;
/// errors to stderr.
pub fn run(target: &Target, source: Source) -> u8 {
    match publish_source(target, source) {
        Ok(ids) => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for id in ids {
                let _ = writeln!(out, "{id}");
            }
            let _ = out.flush();
            0
        }
        Err(e) => {
            eprintln!("coord publish: {e}");
            e.exit_code()
        }
    }
}

fn publish_source(target: &Target, source: Source) -> Result<Vec<String>, PublishError> {
    let text = match source {
        Source::Fields(fields) => return publish_values(target, &[fields.to_event()]),
        Source::Json(text) if text == "-" => {
            let mut buf = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf).map_err(|source| {
                PublishError::Io {
                    path: "<stdin>".into(),
                    source,
                }
            })?;
            buf
        }
        Source::Json(text) => text,
    };
    // One object (pretty-printed or not) or several, as JSON Lines. Several are
    // read and checked one at a time (only their lines are kept), all before any
    // is written. A text that is not JSON is refused in the parser's own words.
    let mut values = serde_json::Deserializer::from_str(&text)
        .into_iter::<&RawValue>()
        .peekable();
    let first = match values.next() {
        Some(Ok(v)) if values.peek().is_some() => v,
        _ => {
            let text = text.trim_end_matches(['\n', '\r']);
            return match target {
                Target::Dir(dir) => Ok(vec![publish_str(dir, text)?.id]),
                Target::Stream(_) => {
                    crate::publish::check_str(text)?;
                    let value = serde_json::from_str(text)
                        .map_err(|e| PublishError::Invalid(e.to_string()))?;
                    publish_values(target, &[value])
                }
            };
        }
    };
    let now = chrono::Utc::now();
    let mut prepared = vec![prepare_text(first.get(), now).map_err(|e| numbered(0, e))?];
    for (i, v) in values.enumerate() {
        let v = v.map_err(|e| numbered(i + 1, PublishError::Invalid(format!("not JSON: {e}"))))?;
        prepared.push(prepare_text(v.get(), now).map_err(|e| numbered(i + 1, e))?);
    }
    let ids = prepared.iter().map(|p| p.id.clone()).collect();
    match target {
        Target::Dir(dir) => drop(write_prepared(dir, prepared)?),
        Target::Stream(url) => drop(Publisher::connect(url)?.send_prepared(prepared)?),
    }
    Ok(ids)
}

/// Every event checked before any is written; then appended in order.
pub fn publish_values(target: &Target, values: &[Value]) -> Result<Vec<String>, PublishError> {
    match target {
        Target::Stream(url) => Ok(publish_to(url, values)?.into_iter().map(|p| p.id).collect()),
        Target::Dir(dir) => Ok(publish_many(dir, values)?
            .into_iter()
            .map(|p| p.id)
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_values_are_json_when_they_parse() {
        assert_eq!(field_value("250"), json!(250));
        assert_eq!(field_value("true"), json!(true));
        assert_eq!(field_value(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(field_value(r#""42""#), json!("42"));
        assert_eq!(field_value("tests green"), json!("tests green"));
        assert_eq!(field_value(""), json!(""));
        assert_eq!(parse_field("a=b=c").unwrap(), ("a".into(), json!("b=c")));
        assert!(parse_field("novalue").is_err());
        assert!(parse_field("=v").is_err());
    }

    #[test]
    fn fields_make_an_event_and_extra_fields_win() {
        let f = Fields {
            kind: Some("progress_update".into()),
            agent: Some("be-1".into()),
            progress: Some("62.5".into()),
            extra: vec![("agent".into(), json!("be-2")), ("cpu".into(), json!(0.5))],
            ..Fields::default()
        };
        assert_eq!(
            f.to_event(),
            json!({"type": "progress_update", "agent": "be-2", "progress": 62.5, "cpu": 0.5})
        );
    }
}
