//! `coord wrap`: any command as an agent (SPEC 17). Heartbeats while it runs,
//! `task_assigned` at the start with `--task`, `task_completed` on exit 0 or
//! `task_failed` (the exit status or signal and the last stderr line), offline
//! at the end. stdin and stdout are the command's own; stderr passes through a
//! pipe (its last line is kept for `task_failed`). The command's status is
//! wrap's; a signal sent to wrap by a process is passed on (one from the
//! terminal, such as Ctrl-C, already reached the command, which shares the
//! terminal's process group). Wrap's own failures exit 125, a command that
//! cannot run 126, one not found 127, as `env` and `timeout` do.

use super::publish::{publish_values, Target};
use serde_json::{json, Value};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;
use signal_hook::low_level::siginfo::Cause;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Wrap's own failure (bad arguments, nowhere to publish).
pub const WRAP_FAILED: u8 = 125;
/// How long the end waits for stderr once the command is gone (a child of
/// the command may hold the pipe open).
const STDERR_GRACE: Duration = Duration::from_millis(300);
/// The signals passed on to the command.
const FORWARDED: [i32; 6] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

pub struct WrapOptions {
    pub target: Target,
    pub agent: String,
    pub task: Option<String>,
    pub component: Option<String>,
    pub every: Duration,
    pub command: Vec<String>,
}

/// Publishes the agent's events; a failure during the run is said once.
struct Agent {
    opts: WrapOptions,
    warned: AtomicBool,
}

impl Agent {
    fn event(&self, kind: &str, status: Option<&str>, message: &str) -> Value {
        let o = &self.opts;
        let mut e = json!({"type": kind, "agent": o.agent, "message": message});
        if let Some(s) = status {
            e["status"] = s.into();
        }
        if let Some(t) = &o.task {
            e["task"] = t.as_str().into();
        }
        if let Some(c) = &o.component {
            e["component"] = c.as_str().into();
        }
        e
    }

    fn send(&self, events: &[Value]) -> Result<(), String> {
        publish_values(&self.opts.target, events)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// During the run: a failure is said once on stderr, the command goes on.
    fn send_or_say(&self, events: &[Value]) {
        if let Err(e) = self.send(events) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!("coord wrap: events are not being published: {e}");
            }
        }
    }

    fn heartbeat(&self, status: &str, message: &str) -> Value {
        self.event("agent_heartbeat", Some(status), message)
    }
}

/// Runs the command; returns the exit code.
pub fn run(opts: WrapOptions) -> u8 {
    if opts.command.is_empty() {
        eprintln!("coord wrap: no command after --");
        return WRAP_FAILED;
    }
    if opts.every.is_zero() {
        eprintln!("coord wrap: --every must be more than 0 seconds");
        return WRAP_FAILED;
    }
    let shown = crate::adapter::first_words(&opts.command.join(" "), 8);
    let agent = Arc::new(Agent {
        opts,
        warned: AtomicBool::new(false),
    });
    let mut start = vec![agent.heartbeat("starting", &format!("running {shown}"))];
    if agent.opts.task.is_some() {
        start.push(agent.event("task_assigned", None, &format!("running {shown}")));
    }
    // Nowhere to publish is said before anything runs.
    if let Err(e) = agent.send(&start) {
        eprintln!("coord wrap: {e}");
        return WRAP_FAILED;
    }
    // Caught before the command starts, so none is lost in between.
    let mut signals = match SignalsInfo::<WithOrigin>::new(FORWARDED) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("coord wrap: cannot catch signals: {e}");
            return WRAP_FAILED;
        }
    };
    let argv = &agent.opts.command;
    let mut child = match Command::new(&argv[0])
        .args(&argv[1..])
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let why = format!("could not start {}: {e}", argv[0]);
            eprintln!("coord wrap: {why}");
            agent.send_or_say(&[
                agent.event("task_failed", None, &why),
                agent.heartbeat("offline", &why),
            ]);
            return code;
        }
    };
    let pid = child.id() as i32;
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            // From the terminal (the kernel), the command had it too.
            if origin.cause == Cause::Kernel {
                continue;
            }
            if let (Some(pid), Some(sig)) = (
                rustix::process::Pid::from_raw(pid),
                rustix::process::Signal::from_named_raw(origin.signal),
            ) {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    });
    let last_line = Arc::new(Mutex::new(String::new()));
    let (stderr_done, stderr_end) = mpsc::channel::<()>();
    if let Some(mut err) = child.stderr.take() {
        let last = last_line.clone();
        std::thread::spawn(move || {
            pass_stderr(&mut err, &last);
            let _ = stderr_done.send(());
        });
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let beats = {
        let agent = agent.clone();
        std::thread::spawn(move || {
            let began = std::time::Instant::now();
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(agent.opts.every)
            {
                let up = crate::text::fmt_span(chrono::TimeDelta::seconds(
                    began.elapsed().as_secs() as i64,
                ));
                agent.send_or_say(&[
                    agent.heartbeat("working", &format!("running {shown} for {up}"))
                ]);
            }
        })
    };
    let status = child.wait();
    drop(stop);
    let _ = beats.join();
    let _ = stderr_end.recv_timeout(STDERR_GRACE);
    handle.close();
    let _ = forwarder.join();
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            eprintln!("coord wrap: waiting for the command: {e}");
            return WRAP_FAILED;
        }
    };
    let said = describe(status);
    let last = last_line.lock().map(|l| l.clone()).unwrap_or_default();
    let mut end = Vec::new();
    if status.success() {
        if agent.opts.task.is_some() {
            end.push(agent.event("task_completed", None, &said));
        }
    } else {
        let message = if last.is_empty() {
            said.clone()
        } else {
            format!("{said}: {last}")
        };
        let mut failed = agent.event("task_failed", None, &crate::adapter::clip(&message));
        failed["exit_status"] = status.code().map_or(Value::Null, Value::from);
        failed["signal"] = status.signal().map_or(Value::Null, Value::from);
        end.push(failed);
    }
    end.push(agent.heartbeat("offline", &format!("finished: {said}")));
    agent.send_or_say(&end);
    exit_code(status)
}

/// "exit status 3", "killed by signal 9 (SIGKILL)".
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => match signal_name(s) {
            Some(name) => format!("killed by signal {s} ({name})"),
            None => format!("killed by signal {s}"),
        },
        _ => "ended".into(),
    }
}

fn signal_name(s: i32) -> Option<&'static str> {
    use signal_hook::consts::*;
    Some(match s {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGQUIT => "SIGQUIT",
        SIGABRT => "SIGABRT",
        SIGKILL => "SIGKILL",
        SIGSEGV => "SIGSEGV",
        SIGPIPE => "SIGPIPE",
        SIGTERM => "SIGTERM",
        SIGUSR1 => "SIGUSR1",
        SIGUSR2 => "SIGUSR2",
        _ => return None,
    })
}

/// The shell's convention: the status, or 128 + the signal.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => (128 + s) as u8,
        _ => WRAP_FAILED,
    }
}

/// Copies the command's stderr to ours as it comes, keeping its last line
/// that has text in it (at most 200 characters, sanitised when shown).
fn pass_stderr(from: &mut impl Read, last: &Mutex<String>) {
    let mut buf = [0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    let mut out = std::io::stderr();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let _ = out.write_all(&buf[..n]);
        for &b in &buf[..n] {
            if b == b'\n' {
                keep(&line, last);
                line.clear();
            } else if line.len() < 4096 {
                line.push(b);
            }
        }
    }
    keep(&line, last);
}

fn keep(line: &[u8], last: &Mutex<String>) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if !text.is_empty() {
        if let Ok(mut l) = last.lock() {
            *l = crate::text::clip(text, 200);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_words_and_codes() {
        let exited = ExitStatus::from_raw(3 << 8);
        assert_eq!(
            (describe(exited), exit_code(exited)),
            ("exit status 3".into(), 3)
        );
        let killed = ExitStatus::from_raw(9);
        assert_eq!(
            (describe(killed), exit_code(killed)),
            ("killed by signal 9 (SIGKILL)".into(), 137)
        );
    }

    #[test]
    fn the_last_line_with_text_is_kept() {
        let last = Mutex::new(String::new());
        pass_stderr(
            &mut &b"warming up\nerror: 3 tests failed\n\n  \n"[..],
            &last,
        );
        assert_eq!(*last.lock().unwrap(), "error: 3 tests failed");
        pass_stderr(&mut &b"no newline at the end"[..], &last);
        assert_eq!(*last.lock().unwrap(), "no newline at the end");
    }
}
