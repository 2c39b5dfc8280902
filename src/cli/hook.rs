//! `coord hook claude-code|codex`: an agent's own hook, published as a coord
//! event (SPEC 17). It must never fail or stall the agent that runs it: exit 0
//! always, nothing on stdout, errors on stderr and in `DIR/coord.log` (when
//! DIR exists), and gone within `DEADLINE` whatever blocks (a stream that does
//! not answer).

use super::publish::{publish_values, Target};
use crate::adapter::{claude_code, codex};
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

/// However the publish goes, the hook is gone by then.
pub const DEADLINE: Duration = Duration::from_secs(1);

/// The largest payload read from stdin (a tool's response can be large).
const MAX_PAYLOAD: u64 = 64 << 20;

/// Whose hook it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    ClaudeCode,
    Codex,
}

impl Agent {
    fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
        }
    }
}

/// Runs the hook; the exit code is always 0. `dir` is where problems are
/// logged, `target` where events go (or why it cannot be used), `agent` is
/// `--agent`, `args` Codex's arguments.
pub fn run(
    kind: Agent,
    dir: &Path,
    target: Result<Target, String>,
    agent: Option<String>,
    args: &[String],
) -> u8 {
    let dir = dir.to_path_buf();
    let say = move |msg: &str| report(kind, &dir, msg);
    let watchdog_say = say.clone();
    std::thread::spawn(move || {
        std::thread::sleep(DEADLINE);
        watchdog_say(&format!(
            "gave up after {} s: the event may be lost",
            DEADLINE.as_secs()
        ));
        std::process::exit(0);
    });
    let result = target.and_then(|target| {
        let env = std::env::var("COORD_AGENT").ok();
        let event = match kind {
            Agent::ClaudeCode => {
                let bytes = read_stdin()?;
                claude_code::event(
                    &claude_code::parse(&bytes)?,
                    agent.as_deref(),
                    env.as_deref(),
                )
            }
            Agent::Codex => {
                let payload = args.last().ok_or("no notify JSON argument")?;
                codex::event(payload, agent.as_deref(), env.as_deref())?
            }
        };
        publish_values(&target, &[event])
            .map(drop)
            .map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        say(&e);
    }
    0
}

/// The hook's JSON, from stdin (never from a terminal: nothing would end it).
fn read_stdin() -> Result<Vec<u8>, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err("expects the hook's JSON on stdin, not a terminal".into());
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading stdin: {e}"))?;
    if bytes.len() as u64 > MAX_PAYLOAD {
        return Err(format!(
            "the payload on stdin is over {} MiB",
            MAX_PAYLOAD >> 20
        ));
    }
    Ok(bytes)
}

/// Says a problem on stderr and, when the directory exists, in its coord.log.
fn report(kind: Agent, dir: &Path, msg: &str) {
    let line = format!("coord hook {}: {msg}", kind.name());
    eprintln!("{line}");
    if dir.is_dir() {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let _ = crate::logging::append_line(dir, &format!("{now}  WARN {line}"));
    }
}
