//! Hooks (SPEC 8): a channel's command from `coord.json`, run for each of its
//! notifications without a shell — the argv as configured, nothing from an
//! event's content in it — with the notification as JSON on stdin and a timeout.
//!
//! Each channel has a dispatcher thread of its own: a slow or failing hook is
//! logged and never blocks the outbox, the console, or another channel. A
//! channel runs up to `CONCURRENT` hooks at once, started in the order the
//! notifications came; one about an alert waits while an earlier one about the
//! same alert runs, so an alert's notifications reach the hook in order.
//!
//! Each run is a process group of its own: a timeout, and coord's exit, end the
//! whole group (SIGTERM, then SIGKILL after `KILL_GRACE`), so a hook that traps
//! SIGTERM or leaves children behind does not outlive coord.

use rustix::process::{kill_process_group, Pid, Signal};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// Notifications waiting for one channel's hook; more are dropped (and logged):
/// the outbox file keeps every one regardless.
const QUEUE: usize = 256;

/// Runs of one channel's hook at once.
pub const CONCURRENT: usize = 4;

/// How long a timed-out hook has to exit after SIGTERM before its group is
/// killed.
pub const KILL_GRACE: Duration = Duration::from_secs(1);

/// Every hook group running in this process: the last resort of a stop and a
/// panic end them all (`end_all`) before coord exits.
static ALL: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// SIGKILL to every hook group still running: for an exit that cannot wait.
pub fn end_all() {
    let groups: Vec<i32> = ALL
        .lock()
        .map(|g| g.iter().copied().collect())
        .unwrap_or_default();
    signal_all(&groups, Signal::KILL);
}

pub struct Hooks {
    runners: BTreeMap<String, (Sender<Msg>, JoinHandle<()>)>,
    running: Running,
}

/// The process groups of the runs in progress, for the exit to end.
#[derive(Clone, Default)]
struct Running {
    groups: Arc<Mutex<BTreeSet<i32>>>,
    /// Set when coord exits: nothing more is started.
    stopping: Arc<AtomicBool>,
}

enum Msg {
    /// A notification line, and the alerts it is about.
    Run(Vec<u8>, Vec<String>),
    /// A run ended: its number.
    Done(u64),
    /// coord is stopping: end once the queue is run.
    Close,
}

/// How one run of a hook ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed(String),
}

impl Hooks {
    /// A dispatcher for every configured hook.
    pub fn start(hooks: &BTreeMap<String, Vec<String>>, timeout: Duration) -> Hooks {
        let running = Running::default();
        let mut runners = BTreeMap::new();
        for (channel, argv) in hooks {
            if argv.is_empty() {
                continue;
            }
            let (tx, rx) = mpsc::channel::<Msg>();
            let (name, argv, done, running) =
                (channel.clone(), argv.clone(), tx.clone(), running.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("hook {channel}"))
                .spawn(move || dispatch(&name, &argv, timeout, &rx, &done, &running));
            match spawned {
                Ok(handle) => {
                    runners.insert(channel.clone(), (tx, handle));
                }
                Err(e) => tracing::warn!(%channel, "hook not started: {e}"),
            }
        }
        Hooks { runners, running }
    }

    /// Queues `json` for `channel`'s hook, if it has one; never waits.
    pub fn send(&self, channel: &str, json: &[u8]) {
        if let Some((tx, _)) = self.runners.get(channel) {
            let _ = tx.send(Msg::Run(json.to_vec(), alerts_of(json)));
        }
    }

    /// Lets the queued runs finish, for at most `grace`; then ends the groups
    /// still running (SIGTERM, then SIGKILL `grace` later): an exit is never
    /// held up by a hook for long, and leaves none behind (what was not run is
    /// in the outbox files).
    pub fn close(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let handles: Vec<JoinHandle<()>> = self
            .runners
            .into_values()
            .map(|(tx, handle)| {
                let _ = tx.send(Msg::Close);
                handle
            })
            .collect();
        let wait = |until: Instant| {
            while handles.iter().any(|h| !h.is_finished()) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        wait(deadline);
        self.running.stopping.store(true, Ordering::SeqCst);
        let groups = self.running.groups();
        if !groups.is_empty() {
            tracing::warn!(hooks = groups.len(), "hooks still running at exit: ended");
            signal_all(&groups, Signal::TERM);
            wait(Instant::now() + grace);
            signal_all(&self.running.groups(), Signal::KILL);
            wait(Instant::now() + Duration::from_millis(200));
        }
        for handle in handles.into_iter().filter(|h| h.is_finished()) {
            let _ = handle.join();
        }
    }
}

impl Running {
    fn groups(&self) -> Vec<i32> {
        self.groups
            .lock()
            .map(|g| g.iter().copied().collect())
            .unwrap_or_default()
    }

    fn track(&self, group: i32, on: bool) {
        for set in [&*self.groups, &ALL] {
            if let Ok(mut g) = set.lock() {
                if on {
                    g.insert(group);
                } else {
                    g.remove(&group);
                }
            }
        }
    }
}

fn signal_all(groups: &[i32], signal: Signal) {
    for &g in groups {
        if let Some(pid) = Pid::from_raw(g) {
            let _ = kill_process_group(pid, signal);
        }
    }
}

/// The alerts a notification line is about: its body's, or each digest item's.
fn alerts_of(json: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let alert = |v: &serde_json::Value| v["body"]["alert"].as_str().map(str::to_string);
    match v["items"].as_array() {
        Some(items) => items.iter().filter_map(alert).collect(),
        None => alert(&v).into_iter().collect(),
    }
}

/// One channel: starts runs in arrival order, up to `CONCURRENT` at once, none
/// while an earlier run about one of its alerts is going; ends once closed and
/// every run has ended (when coord stops, without starting what is queued).
fn dispatch(
    channel: &str,
    argv: &[String],
    timeout: Duration,
    rx: &Receiver<Msg>,
    done: &Sender<Msg>,
    running: &Running,
) {
    let mut queue: VecDeque<(Vec<u8>, Vec<String>)> = VecDeque::new();
    let mut busy: Vec<(u64, Vec<String>)> = Vec::new();
    let mut next = 0u64;
    let mut closing = false;
    // Never disconnected: this thread holds a sender for its runs.
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Run(json, alerts) if queue.len() < QUEUE => queue.push_back((json, alerts)),
            Msg::Run(..) => {
                tracing::warn!(%channel, "hook is behind; a notification was not handed to it (it is in the outbox)")
            }
            Msg::Done(n) => busy.retain(|(m, _)| *m != n),
            Msg::Close => closing = true,
        }
        if running.stopping.load(Ordering::SeqCst) {
            queue.clear();
        }
        while let Some((_, alerts)) = queue.front() {
            let blocked = busy
                .iter()
                .any(|(_, theirs)| theirs.iter().any(|a| alerts.contains(a)));
            if busy.len() >= CONCURRENT || blocked {
                break;
            }
            let (json, alerts) = queue.pop_front().expect("front");
            let (n, argv, done, running, name) = (
                next,
                argv.to_vec(),
                done.clone(),
                running.clone(),
                channel.to_string(),
            );
            next += 1;
            busy.push((n, alerts));
            let spawned = std::thread::Builder::new()
                .name(format!("hook {channel} run"))
                .spawn(move || {
                    if let Outcome::Failed(why) = run_tracked(&argv, &json, timeout, &running) {
                        tracing::warn!(channel = %name, "hook failed: {why}");
                    }
                    let _ = done.send(Msg::Done(n));
                });
            if let Err(e) = spawned {
                tracing::warn!(%channel, "hook not run: {e}");
                busy.retain(|(m, _)| *m != n);
            }
        }
        if closing && queue.is_empty() && busy.is_empty() {
            return;
        }
    }
}

/// Runs `argv` once with `input` on stdin in a process group of its own; ends
/// the group after `timeout` (SIGTERM, then SIGKILL after `KILL_GRACE`).
pub fn run(argv: &[String], input: &[u8], timeout: Duration) -> Outcome {
    run_tracked(argv, input, timeout, &Running::default())
}

fn run_tracked(argv: &[String], input: &[u8], timeout: Duration, running: &Running) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Failed("no command".into());
    };
    if running.stopping.load(Ordering::SeqCst) {
        return Outcome::Failed(format!("{program}: not started, coord is stopping"));
    }
    let mut child = match Command::new(program)
        .args(args)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(format!("{program}: {e}")),
    };
    let group = child.id() as i32;
    running.track(group, true);
    let outcome = finish(&mut child, program, input, timeout);
    running.track(group, false);
    outcome
}

fn finish(child: &mut Child, program: &str, input: &[u8], timeout: Duration) -> Outcome {
    // Written apart: a hook that does not read a line longer than the pipe
    // holds still times out. One that exits unread gets a broken pipe: no failure.
    if let Some(mut stdin) = child.stdin.take() {
        let line = [input, b"\n"].concat();
        let _ = std::thread::Builder::new()
            .name("hook stdin".into())
            .spawn(move || stdin.write_all(&line));
    }
    match child.wait_timeout(timeout) {
        Ok(Some(status)) if status.success() => Outcome::Ok,
        Ok(Some(status)) => Outcome::Failed(format!("{program}: {status}")),
        Ok(None) => {
            let group = [child.id() as i32];
            signal_all(&group, Signal::TERM);
            if !matches!(child.wait_timeout(KILL_GRACE), Ok(Some(_))) {
                let _ = child.kill();
            }
            // What the group left behind (a child that ignores SIGTERM) goes too.
            signal_all(&group, Signal::KILL);
            let _ = child.wait();
            Outcome::Failed(format!("{program}: ended after {timeout:?}"))
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

    /// Whether a process is still there (a zombie counts as gone).
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| !r.trim_start().starts_with('Z'))
        })
    }

    fn gone_within(pid: &str, limit: Duration) -> bool {
        let start = Instant::now();
        while alive(pid) {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// A hook that ignores SIGTERM and leaves a child that ignores it too:
    /// writes both pids to `pids`.
    fn stubborn(pids: &std::path::Path) -> Vec<String> {
        let script = format!(
            "trap '' TERM; sleep 60 & echo $$ $! > '{}'; wait",
            pids.display()
        );
        argv(&["sh", "-c", &script])
    }

    fn read_pids(path: &std::path::Path) -> Vec<String> {
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let pids: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            if pids.len() == 2 {
                return pids;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no pids written");
            std::thread::sleep(Duration::from_millis(20));
        }
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
        let start = Instant::now();
        let slow = run(&argv(&["sleep", "5"]), b"{}", t);
        assert!(matches!(slow, Outcome::Failed(ref m) if m.contains("ended after")));
        assert!(start.elapsed() < Duration::from_secs(3));
        // A hook that ignores its stdin is fine.
        assert_eq!(run(&argv(&["true"]), &[b'x'; 1 << 20], t * 10), Outcome::Ok);
        // One that never reads a line longer than a pipe holds still times out.
        let start = Instant::now();
        let unread = run(&argv(&["sleep", "5"]), &[b'x'; 1 << 20], t);
        assert!(matches!(unread, Outcome::Failed(ref m) if m.contains("ended after")));
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    /// On a timeout the whole group goes, even what ignores SIGTERM.
    #[test]
    fn a_timed_out_hook_leaves_no_process_behind() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let start = Instant::now();
        let r = run(&stubborn(&pids), b"{}", Duration::from_millis(300));
        assert!(
            matches!(r, Outcome::Failed(ref m) if m.contains("ended after")),
            "{r:?}"
        );
        assert!(start.elapsed() < Duration::from_millis(300) + KILL_GRACE * 3);
        for pid in read_pids(&pids) {
            assert!(
                gone_within(&pid, Duration::from_secs(2)),
                "{pid} still runs"
            );
        }
    }

    /// coord's exit ends the hooks still running, whatever they trap.
    #[test]
    fn closing_ends_running_hooks_and_their_children() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let mut hooks = BTreeMap::new();
        hooks.insert("ch".to_string(), stubborn(&pids));
        let h = Hooks::start(&hooks, Duration::from_secs(60));
        h.send("ch", br#"{"body":{"alert":"A-1"}}"#);
        let running = read_pids(&pids);
        let start = Instant::now();
        h.close(Duration::from_millis(100));
        assert!(start.elapsed() < Duration::from_millis(800));
        for pid in running {
            assert!(
                gone_within(&pid, Duration::from_secs(2)),
                "{pid} still runs"
            );
        }
    }

    /// Up to `CONCURRENT` runs at once; an alert's notifications one after
    /// another, in order.
    #[test]
    fn runs_overlap_across_alerts_and_keep_each_alerts_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        // Logs "start N" and "end N" around a 300 ms nap, N from the line.
        let script = format!(
            "n=$(sed 's/.*\"n\":\\([0-9]*\\).*/\\1/'); echo start $n >> '{0}'; sleep 0.3; echo end $n >> '{0}'",
            log.display()
        );
        let mut hooks = BTreeMap::new();
        hooks.insert("ch".to_string(), argv(&["sh", "-c", &script]));
        let h = Hooks::start(&hooks, Duration::from_secs(10));
        let start = Instant::now();
        // 0–3: alerts A-0..A-3; 4 and 5: A-0 again; 6: a digest holding A-1.
        for n in 0..4 {
            h.send(
                "ch",
                format!(r#"{{"n":{n},"body":{{"alert":"A-{n}"}}}}"#).as_bytes(),
            );
        }
        h.send("ch", br#"{"n":4,"body":{"alert":"A-0"}}"#);
        h.send("ch", br#"{"n":5,"body":{"alert":"A-0"}}"#);
        h.send(
            "ch",
            br#"{"n":6,"items":[{"body":{"alert":"A-9"}},{"body":{"alert":"A-1"}}]}"#,
        );
        h.close(Duration::from_secs(10));
        let elapsed = start.elapsed();
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let at = |what: &str| {
            lines
                .iter()
                .position(|l| *l == what)
                .unwrap_or_else(|| panic!("{what}: {text}"))
        };
        // A-0's three in order, each after the one before ended.
        assert!(
            at("end 0") < at("start 4") && at("end 4") < at("start 5"),
            "{text}"
        );
        // The digest waits for A-1's own run.
        assert!(at("end 1") < at("start 6"), "{text}");
        // Four at once: 0–3 all started before any ended.
        let first_end = lines.iter().position(|l| l.starts_with("end")).unwrap();
        for n in 0..4 {
            assert!(at(&format!("start {n}")) < first_end, "{text}");
        }
        // Three rounds of 300 ms (0–3; 4 and 6; 5), not seven.
        assert!(elapsed < Duration::from_millis(1800), "{elapsed:?}\n{text}");
    }

    #[test]
    fn a_slow_hook_does_not_block_the_sender() {
        let mut hooks = BTreeMap::new();
        hooks.insert("slow".to_string(), argv(&["sleep", "1"]));
        let h = Hooks::start(&hooks, Duration::from_millis(50));
        let start = Instant::now();
        for _ in 0..(QUEUE + 50) {
            h.send("slow", b"{}");
            h.send("no-hook", b"{}");
        }
        assert!(start.elapsed() < Duration::from_millis(500));
        h.close(Duration::ZERO); // the queued runs are abandoned
    }
}
