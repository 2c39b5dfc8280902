//! Hooks (SPEC 8): a channel's command from `coord.json`, run for each of its
//! notifications without a shell — the argv as configured, nothing from an
//! event's content in it — with the notification as JSON on stdin and a timeout.
//! Each channel has a thread and a bounded queue of its own: a slow or failing
//! hook is logged and never blocks the outbox, the console, or another hook.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;
use wait_timeout::ChildExt;

/// Notifications waiting for one channel's hook; more are dropped (and logged):
/// the outbox file keeps every one regardless.
const QUEUE: usize = 256;

pub struct Hooks {
    runners: BTreeMap<String, (SyncSender<Vec<u8>>, JoinHandle<()>)>,
}

/// How one run of a hook ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed(String),
}

impl Hooks {
    /// A runner for every configured hook.
    pub fn start(hooks: &BTreeMap<String, Vec<String>>, timeout: Duration) -> Hooks {
        let mut runners = BTreeMap::new();
        for (channel, argv) in hooks {
            if argv.is_empty() {
                continue;
            }
            let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
            let (name, argv) = (channel.clone(), argv.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("hook {channel}"))
                .spawn(move || {
                    for input in rx {
                        if let Outcome::Failed(why) = run(&argv, &input, timeout) {
                            tracing::warn!(channel = %name, "hook failed: {why}");
                        }
                    }
                });
            match spawned {
                Ok(handle) => {
                    runners.insert(channel.clone(), (tx, handle));
                }
                Err(e) => tracing::warn!(%channel, "hook not started: {e}"),
            }
        }
        Hooks { runners }
    }

    /// Queues `json` for `channel`'s hook, if it has one; never waits.
    pub fn send(&self, channel: &str, json: &[u8]) {
        let Some((tx, _)) = self.runners.get(channel) else {
            return;
        };
        match tx.try_send(json.to_vec()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!(%channel, "hook is behind; a notification was not handed to it (it is in the outbox)")
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Lets the queued runs finish, for at most `grace`: an exit is never held
    /// up by a hook for long (what is left is in the outbox files).
    pub fn close(self, grace: Duration) {
        let deadline = std::time::Instant::now() + grace;
        let handles: Vec<JoinHandle<()>> = self
            .runners
            .into_values()
            .map(|(tx, handle)| {
                drop(tx);
                handle
            })
            .collect();
        for handle in handles {
            while !handle.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

/// Runs `argv` once with `input` on stdin; kills it after `timeout`.
pub fn run(argv: &[String], input: &[u8], timeout: Duration) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Failed("no command".into());
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(format!("{program}: {e}")),
    };
    // A hook that does not read its stdin gets a broken pipe: not a failure.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input).and_then(|_| stdin.write_all(b"\n"));
    }
    match child.wait_timeout(timeout) {
        Ok(Some(status)) if status.success() => Outcome::Ok,
        Ok(Some(status)) => Outcome::Failed(format!("{program}: {status}")),
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            Outcome::Failed(format!("{program}: killed after {timeout:?}"))
        }
        Err(e) => Outcome::Failed(format!("{program}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_hook_gets_the_notification_on_stdin_without_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let script = format!("cat > '{}'", out.display());
        let input = br#"{"kind":"alert_opened","message":"$(rm -rf /); `x`"}"#;
        let r = run(&argv(&["sh", "-c", &script]), input, Duration::from_secs(5));
        assert_eq!(r, Outcome::Ok);
        let got = std::fs::read(&out).unwrap();
        assert_eq!(
            &got[..input.len()],
            input,
            "content is data, never a command"
        );
    }

    #[test]
    fn failures_and_timeouts_are_reported_not_raised() {
        let t = Duration::from_millis(300);
        assert!(matches!(
            run(&argv(&["false"]), b"{}", t),
            Outcome::Failed(_)
        ));
        let missing = run(&argv(&["/nonexistent/hook"]), b"{}", t);
        assert!(matches!(missing, Outcome::Failed(ref m) if m.contains("/nonexistent/hook")));
        let start = std::time::Instant::now();
        let slow = run(&argv(&["sleep", "5"]), b"{}", t);
        assert!(matches!(slow, Outcome::Failed(ref m) if m.contains("killed")));
        assert!(start.elapsed() < Duration::from_secs(3));
        // A hook that ignores its stdin is fine.
        assert_eq!(run(&argv(&["true"]), &[b'x'; 1 << 20], t * 10), Outcome::Ok);
    }

    #[test]
    fn a_slow_hook_does_not_block_the_sender() {
        let mut hooks = BTreeMap::new();
        hooks.insert("slow".to_string(), argv(&["sleep", "1"]));
        let h = Hooks::start(&hooks, Duration::from_millis(50));
        let start = std::time::Instant::now();
        for _ in 0..(QUEUE + 50) {
            h.send("slow", b"{}");
            h.send("no-hook", b"{}");
        }
        assert!(start.elapsed() < Duration::from_millis(500));
        h.close(Duration::ZERO); // the queued runs are abandoned
    }
}
