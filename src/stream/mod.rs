//! Beyond one machine (SPEC 13): a Redis Streams stream as the source of events
//! and the way operator actions reach every console watching it.
//!
//! An entry holds one field: `event` (an event's JSON line, exactly what a line
//! of `events/` holds) or `action` (an operator's action, published by a
//! console; every console applies it when it reads it back, so all of them
//! apply the same inputs in the same order). The entry's id is the checkpoint,
//! as a file's offset is for the directory source.

pub mod sink;
pub mod source;

use crate::engine::{Engine, OperatorAction};
use std::fmt;
use std::path::PathBuf;

/// The entry field of an event.
pub const EVENT_FIELD: &str = "event";
/// The entry field of an operator action.
pub const ACTION_FIELD: &str = "action";

/// `redis://[USER:PASSWORD@]HOST[:PORT]/STREAM`, or `rediss://…` for TLS.
#[derive(Clone, PartialEq, Eq)]
pub struct StreamUrl {
    /// `rediss://`: TLS, the server's certificate checked against the system's
    /// roots (or `SSL_CERT_FILE`).
    pub tls: bool,
    /// `USER:PASSWORD@` or `:PASSWORD@` as given, never shown.
    auth: String,
    pub host: String,
    pub port: u16,
    pub stream: String,
}

impl StreamUrl {
    /// Whether a command's DIR argument names a stream rather than a directory.
    pub fn is_stream(arg: &str) -> bool {
        arg.starts_with("redis://") || arg.starts_with("rediss://")
    }

    fn scheme(&self) -> &'static str {
        if self.tls {
            "rediss"
        } else {
            "redis"
        }
    }

    pub fn parse(url: &str) -> Result<StreamUrl, String> {
        let bad = |why: &str| format!("{url:?}: {why} (expected redis://HOST[:PORT]/STREAM)");
        let (tls, rest) = match (url.strip_prefix("redis://"), url.strip_prefix("rediss://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(bad("not a redis:// or rediss:// address")),
        };
        let (authority, stream) = rest.split_once('/').ok_or_else(|| bad("no stream"))?;
        let (auth, hostport) = match authority.rsplit_once('@') {
            Some((a, h)) => (format!("{a}@"), h),
            None => (String::new(), authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (format!("[{h}]"), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None => 6379,
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(bad("no host"));
        }
        if stream.is_empty() || stream.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(bad("the stream name is empty or holds spaces"));
        }
        Ok(StreamUrl {
            tls,
            auth,
            host,
            port,
            stream: stream.to_string(),
        })
    }

    /// The client for the server (the stream is a key on it, not a database).
    pub fn client(&self) -> redis::RedisResult<redis::Client> {
        let (scheme, auth, host, port) = (self.scheme(), &self.auth, &self.host, self.port);
        redis::Client::open(format!("{scheme}://{auth}{host}:{port}/"))
    }

    /// Where a console on this stream keeps its journal, lock and outbox unless
    /// `--state` says: `$XDG_STATE_HOME/coord/redis-HOST-PORT-STREAM`, else under
    /// `~/.local/state`. The stream's name is made safe for a file name.
    pub fn default_state_dir(&self) -> Option<PathBuf> {
        let base = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
        let name = format!("redis-{}-{}-{}", self.host, self.port, self.stream);
        Some(base.join("coord").join(crate::publish::file_stem(&name)))
    }
}

/// The address without its password: what the journal, logs and screen show.
impl fmt::Display for StreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}/{}",
            self.scheme(),
            self.host,
            self.port,
            self.stream
        )
    }
}

impl fmt::Debug for StreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The dedup keys of the alerts an action names, as this console knows them.
pub fn alert_keys(op: &OperatorAction, engine: &Engine) -> Vec<String> {
    op.action
        .alerts()
        .into_iter()
        .map(|id| {
            engine
                .alerts
                .get(id)
                .map(|a| a.key.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Points an action read from the stream at this console's alerts. Consoles
/// number alerts in the order they raise them, and alerts raised by timers can
/// come a moment apart between consoles: an id whose alert here has another key
/// is replaced by this console's alert of the key (open, else the last one).
pub fn resolve_alerts(op: &mut OperatorAction, keys: &[String], engine: &Engine) {
    for (id, key) in op.action.alerts_mut().into_iter().zip(keys) {
        if key.is_empty() || engine.alerts.get(*id).is_some_and(|a| &a.key == key) {
            continue;
        }
        if let Some(ks) = engine.alerts.keys.get(key) {
            if let Some(local) = ks.open.or(ks.last) {
                *id = local;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print_without_password() {
        let u = StreamUrl::parse("redis://box:7000/fleet").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.stream.as_str()),
            ("box", 7000, "fleet")
        );
        let u = StreamUrl::parse("redis://:s3cret@10.0.0.2/coord:events").unwrap();
        assert_eq!(u.port, 6379);
        assert_eq!(u.stream, "coord:events");
        assert_eq!(u.to_string(), "redis://10.0.0.2:6379/coord:events");
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = StreamUrl::parse("redis://[::1]:6380/s").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 6380));
        assert!(!u.tls);
        // TLS: said in the address, kept when printed; the password still not.
        let u = StreamUrl::parse("rediss://:s3cret@box:7000/fleet").unwrap();
        assert!(u.tls);
        assert_eq!(u.to_string(), "rediss://box:7000/fleet");
        assert!(StreamUrl::is_stream("rediss://box/fleet"));
    }

    #[test]
    fn bad_addresses_say_why() {
        for bad in [
            "http://box/s",
            "redisss://box/s",
            "rediss://box",
            "redis://box",
            "redis://box/",
            "redis://:6379/s",
            "redis://box:port/s",
            "redis://box:99999/s",
            "redis://box/a b",
            "redis://[::1/s",
        ] {
            let e = StreamUrl::parse(bad).unwrap_err();
            assert!(e.contains("redis://HOST[:PORT]/STREAM"), "{bad}: {e}");
        }
    }

    /// Two consoles that numbered the same two alerts the other way round: an
    /// acknowledgement made in one lands on the same alert in the other.
    #[test]
    fn an_action_names_its_alert_by_key_whatever_its_number() {
        use crate::engine::{Action, Input};
        use crate::model::event::{Origin, ParseOptions};
        use crate::model::parse::parse_line;
        let now = chrono::Utc::now();
        let blocker = |c: &str| {
            let line = format!(r#"{{"type":"blocker_detected","component":"{c}","id":"b-{c}"}}"#);
            let origin = Origin {
                source: "t",
                line: 1,
                offset: 0,
                ident: "",
            };
            Input::Event(
                parse_line(line.as_bytes(), &origin, now, &ParseOptions::default()).unwrap(),
            )
        };
        let engine = |order: [&str; 2]| {
            let mut e = Engine::new(crate::config::Config::default(), None);
            for c in order {
                e.apply(blocker(c), now);
            }
            e
        };
        let (a, mut b) = (engine(["api", "db"]), engine(["db", "api"]));
        let op = OperatorAction {
            operator: "ann".into(),
            action: Action::Acknowledge {
                alert: 1,
                note: None,
            },
        };
        let keys = alert_keys(&op, &a);
        assert_eq!(keys, [a.alerts.get(1).unwrap().key.clone()]);
        let mut theirs = op.clone();
        resolve_alerts(&mut theirs, &keys, &b);
        assert_eq!(
            theirs.action,
            Action::Acknowledge {
                alert: 2,
                note: None
            }
        );
        b.apply(Input::Operator(theirs), now);
        let acked = b.alerts.get(2).unwrap();
        assert_eq!(acked.component.as_deref(), Some("api"));
        assert_eq!(acked.ack_owner.as_deref(), Some("ann"));
        // Where the numbers agree, or the key is unknown, the id stays.
        let mut same = op.clone();
        resolve_alerts(&mut same, &keys, &a);
        assert_eq!(same, op);
        let mut unknown = op.clone();
        resolve_alerts(&mut unknown, &["nothing".into()], &b);
        assert_eq!(unknown, op);
    }

    #[test]
    fn the_default_state_directory_is_named_after_the_stream() {
        let u = StreamUrl::parse("redis://box:7000/team/fleet").unwrap();
        let d = u.default_state_dir().unwrap();
        let name = d.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("redis-box-7000-team"), "{name}");
        assert!(!name.contains('/'));
    }
}
