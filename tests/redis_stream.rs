//! Redis Streams as source and sink (SPEC 13), against a real `redis-server`
//! started by each test on loopback, on a free port:
//! - 4 publishers put 100k events into a stream while the consuming console is
//!   killed with SIGKILL and restarted several times: exactly 100k, each id once;
//! - Redis down when the console starts, and restarted mid-stream: a visible
//!   "disconnected" state, reconnection, nothing lost;
//! - two consoles on one stream: an ack in one (keys in a real terminal) shows
//!   in the other's `coord status --json`;
//! - a malformed entry is a parse error, like a bad line;
//! - a stream trimmed past a console's checkpoint is said, with how many
//!   entries may be missing;
//! - `rediss://`: TLS to a `redis-server` with a certificate of its own,
//!   trusted through `SSL_CERT_FILE` (and refused without it).
//!
//! Without `redis-server` on the PATH these tests say so loudly and pass; under
//! `CI=true` they fail instead (`.ci/run` installs it).

mod ingest_support;
mod pty_support;

use coord::stream::sink::Publisher;
use coord::stream::StreamUrl;
use ingest_support::*;
use serde_json::{json, Value};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `redis-server` of the test's own, with an append-only file so that a
/// restart keeps the stream.
struct Redis {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
}

impl Redis {
    /// `None` (after saying so) when `redis-server` is not installed, unless CI.
    fn start() -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server is not installed: under CI=true the Redis tests must run"
            );
            eprintln!(
                "\n*** SKIPPED: redis-server is not installed; the Redis Streams tests did not run. ***\n\
                 *** Install it (apt-get install redis-server) to run them.                         ***\n"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut redis = Redis {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            port,
        };
        redis.up();
        Some(redis)
    }

    fn url(&self, stream: &str) -> String {
        format!("redis://127.0.0.1:{}/{stream}", self.port)
    }

    fn up(&mut self) {
        let log = File::create(self.dir.path().join("redis.log")).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        // Listening is not enough: while it loads its append-only file, Redis
        // answers every command with LOADING.
        wait_for(Duration::from_secs(20), "redis-server to answer", || {
            answers_ping(&addr)
        });
    }

    /// A clean shutdown (SIGTERM: Redis writes its append-only file and exits).
    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `coord watch URL --headless --state DIR`, output appended to `log`.
fn spawn_stream_watch(url: &str, state: &Path, log: &Path) -> Child {
    let args = [
        "watch",
        url,
        "--headless",
        "--state",
        state.to_str().unwrap(),
    ];
    spawn_coord(&args, state, log)
}

/// Redis at `addr` answers a PING with PONG.
fn answers_ping(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut conn) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reply = [0u8; 5];
    conn.write_all(b"PING\r\n").is_ok() && conn.read_exact(&mut reply).is_ok() && &reply == b"+PONG"
}

fn event(id: &str, agent: &str, n: u64) -> Value {
    json!({"type": "progress_update", "id": id, "agent": agent, "task": format!("T-{agent}"),
           "progress": n % 100, "message": format!("event {n}")})
}

/// Publishes `ids` in batches of `batch`, pausing `pause` between batches.
fn publish_all(url: &str, ids: &[String], agent: &str, batch: usize, pause: Duration) {
    let url = StreamUrl::parse(url).unwrap();
    let mut p = Publisher::connect(&url).expect("connect a publisher");
    for (k, chunk) in ids.chunks(batch).enumerate() {
        let events: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| event(id, agent, (k * batch + i) as u64))
            .collect();
        let sent = p.publish(&events).expect("publish a batch");
        assert_eq!(sent.len(), chunk.len());
        std::thread::sleep(pause);
    }
}

fn stream_status(url: &str, state: &Path) -> Value {
    let out = coord(&["status", url, "--state", state.to_str().unwrap(), "--json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "coord status {url}: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status --json")
}

fn state_dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join(name)
}

#[test]
fn kill_9_while_four_publishers_write_100k_events_loses_and_repeats_nothing() {
    let Some(redis) = Redis::start() else { return };
    let started = Instant::now();
    let url = redis.url("fleet");
    let tmp = tempfile::tempdir().unwrap();
    let state = state_dir(&tmp, "state");
    let log = tmp.path().join("watch.log");
    let mut rng = Rng::new("redis_stream");
    let (publishers, per) = (4usize, 25_000u64);

    let mut child = spawn_stream_watch(&url, &state, &log);
    let done = Arc::new(AtomicUsize::new(0));
    let all: Vec<Vec<String>> = (1..=publishers)
        .map(|p| (1..=per).map(|n| format!("p{p}-{n:06}")).collect())
        .collect();
    let threads: Vec<_> = all
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, ids)| {
            let (url, done) = (url.clone(), done.clone());
            std::thread::spawn(move || {
                publish_all(
                    &url,
                    &ids,
                    &format!("p{}", i + 1),
                    250,
                    Duration::from_millis(40),
                );
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();

    let kills = rng.range(4, 7);
    for k in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.range(300, 1200)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        eprintln!(
            "kill {} at {:?}: {} event records journaled",
            k + 1,
            started.elapsed(),
            journal_event_count(&state)
        );
        child = spawn_stream_watch(&url, &state, &log);
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(done.load(Ordering::SeqCst), publishers);
    let total = publishers as u64 * per;
    wait_for(Duration::from_secs(120), "the console to catch up", || {
        journal_event_count(&state) >= total as usize
    });
    assert_eq!(terminate(child), Some(0), "SIGTERM: a clean exit");

    // A last one-shot pass finds nothing new.
    let out = coord(&["watch", &url, "--state", state.to_str().unwrap(), "--once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!(
            "coord: {total} events, 0 parse errors, 0 duplicates"
        )),
        "{}",
        text(&out.stdout)
    );
    let want: Vec<String> = all.into_iter().flatten().collect();
    assert_ids_once(&state, &want);
    let c = &stream_status(&url, &state)["counts"];
    assert_eq!(
        (
            c["events"].as_u64(),
            c["parse_errors"].as_u64(),
            c["duplicates"].as_u64()
        ),
        (Some(total), Some(0), Some(0)),
        "status after {kills} kills: {c}"
    );
    // `coord audit` on the stream says the same: each id once.
    let audit = coord(&["audit", &url, "--state", state.to_str().unwrap(), "--json"]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));
    let mut seen = std::collections::HashMap::<String, u32>::new();
    for line in text(&audit.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "event" {
            assert!(
                v["entry"].is_string(),
                "an event record names its entry: {v}"
            );
            *seen
                .entry(v["event"]["id"].as_str().unwrap().into())
                .or_default() += 1;
        }
    }
    assert_eq!(seen.len(), want.len());
    assert!(seen.values().all(|&n| n == 1));
    eprintln!("{kills} kills, {total} events, {:?}", started.elapsed());
}

#[test]
fn redis_down_at_start_and_restarted_mid_stream_loses_nothing() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let url = redis.url("fleet");
    let tmp = tempfile::tempdir().unwrap();
    let state = state_dir(&tmp, "state");
    let log = tmp.path().join("watch.log");
    let ids =
        |from: u64, to: u64| -> Vec<String> { (from..=to).map(|n| format!("e-{n:05}")).collect() };

    // Down when the console starts: it says so and keeps trying.
    redis.down();
    let child = spawn_stream_watch(&url, &state, &log);
    wait_for(Duration::from_secs(20), "a disconnected line", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("source disconnected"))
    });
    redis.up();
    wait_for(Duration::from_secs(20), "a connected line", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("source connected"))
    });
    publish_all(&url, &ids(1, 3000), "a1", 500, Duration::ZERO);
    wait_for(Duration::from_secs(60), "3000 events", || {
        journal_event_count(&state) >= 3000
    });

    // Restarted mid-stream, with publishing going on around it.
    let before = std::fs::read_to_string(&log)
        .unwrap()
        .matches("source disconnected")
        .count();
    let writer = {
        let url = url.clone();
        std::thread::spawn(move || publish_all(&url, &ids(3001, 4000), "a1", 100, Duration::ZERO))
    };
    writer.join().unwrap();
    redis.down();
    wait_for(
        Duration::from_secs(20),
        "a second disconnected line",
        || {
            std::fs::read_to_string(&log)
                .unwrap()
                .matches("source disconnected")
                .count()
                > before
        },
    );
    redis.up();
    publish_all(&url, &ids(4001, 6000), "a1", 500, Duration::ZERO);
    wait_for(Duration::from_secs(60), "6000 events", || {
        journal_event_count(&state) >= 6000
    });
    assert_eq!(terminate(child), Some(0));
    // The system channel heard of each disconnection and reconnection.
    let outbox = std::fs::read_to_string(state.join("outbox/log.jsonl")).unwrap();
    assert_eq!(
        outbox.matches("\"stream_disconnected\"").count(),
        2,
        "{outbox}"
    );
    assert_eq!(
        outbox.matches("\"stream_connected\"").count(),
        2,
        "{outbox}"
    );
    assert_ids_once(&state, &ids(1, 6000));
    let c = &stream_status(&url, &state)["counts"];
    assert_eq!(c["events"].as_u64(), Some(6000), "{c}");
    assert_eq!(c["duplicates"].as_u64(), Some(0), "{c}");
}

/// 10 entries read, 10 more added, then the stream trimmed to its last 3
/// before the console comes back: it reads the 3, and a `trimmed` source record
/// and the log say that 7 entries may be missing.
#[test]
fn a_stream_trimmed_past_the_checkpoint_is_said() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url("trim");
    let tmp = tempfile::tempdir().unwrap();
    let state = state_dir(&tmp, "state");
    let ids: Vec<String> = (1..=20).map(|n| format!("t-{n:02}")).collect();
    let once = |state: &Path| {
        let out = coord(&["watch", &url, "--state", state.to_str().unwrap(), "--once"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    publish_all(&url, &ids[..10], "a", 10, Duration::ZERO);
    once(&state);
    assert!(source_records(&state, "trimmed").is_empty());
    publish_all(&url, &ids[10..], "a", 10, Duration::ZERO);
    let mut con = StreamUrl::parse(&url)
        .unwrap()
        .client()
        .unwrap()
        .get_connection()
        .unwrap();
    let trimmed: u64 = redis::cmd("XTRIM")
        .arg("trim")
        .arg("MAXLEN")
        .arg(3)
        .query(&mut con)
        .unwrap();
    assert_eq!(trimmed, 17);
    once(&state);
    assert_ids_once(&state, &[&ids[..10], &ids[17..]].concat());
    let t = source_records(&state, "trimmed");
    assert_eq!(t.len(), 1, "{t:?}");
    let log = std::fs::read_to_string(state.join("coord.log")).unwrap();
    assert!(
        log.contains("trimmed past the checkpoint") && log.contains("7 entries may be missing"),
        "{log}"
    );
    // Said once: the next start finds nothing more missing.
    once(&state);
    assert_eq!(source_records(&state, "trimmed").len(), 1);
}

/// `rediss://`: a TLS-only `redis-server` on loopback with a self-signed
/// certificate (made by `openssl`). Trusted through `SSL_CERT_FILE`, events
/// published and watched go through; without it the certificate is refused.
#[test]
fn rediss_publishes_and_watches_over_tls() {
    if Redis::start().is_none() {
        return; // said why
    }
    let tmp = tempfile::tempdir().unwrap();
    // A CA, and the server's certificate for 127.0.0.1 signed by it.
    let at = |name: &str| tmp.path().join(name);
    let (ca, cert, key) = (at("ca.pem"), at("cert.pem"), at("key.pem"));
    std::fs::write(
        at("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl (installed by .ci/run)")
            .success();
        assert!(ok, "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=coord-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let server = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .arg("--tls-cert-file")
        .arg(&cert)
        .arg("--tls-key-file")
        .arg(&key)
        .args(["--tls-auth-clients", "no", "--save", ""])
        .arg("--dir")
        .arg(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server with TLS");
    // Stopped with the test, whatever its outcome.
    let _server = KillOnDrop(server);
    wait_for(Duration::from_secs(20), "the TLS port to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let url = format!("rediss://127.0.0.1:{port}/secure");
    let state = state_dir(&tmp, "state");
    let run = |args: &[&str], trust: bool| {
        let mut cmd = Command::new(COORD);
        cmd.args(args).env_remove("SSL_CERT_DIR");
        if trust {
            cmd.env("SSL_CERT_FILE", &ca);
        } else {
            cmd.env("SSL_CERT_FILE", tmp.path().join("none.pem"));
        }
        cmd.output().unwrap()
    };
    let publish = [
        "publish",
        "--to",
        &url,
        "--type",
        "agent_heartbeat",
        "--agent",
        "a",
    ];
    // Not trusted: refused, with the address (its scheme kept) and exit 2.
    let out = run(&publish, false);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rediss://127.0.0.1"),
        "{}",
        text(&out.stderr)
    );
    // Trusted: through.
    let out = run(&publish, true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = state.to_str().unwrap();
    let out = run(&["watch", &url, "--state", s, "--once"], true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("coord: 1 event"),
        "{}",
        text(&out.stdout)
    );
}

/// A child process killed when the value goes.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The journal's `source` records of one kind.
fn source_records(state: &Path, what: &str) -> Vec<Value> {
    records(state)
        .into_iter()
        .filter(|r| r["kind"] == "source" && r["what"] == what)
        .collect()
}

#[test]
fn malformed_entries_are_parse_errors_and_lose_nothing_after_them() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url("odd");
    let tmp = tempfile::tempdir().unwrap();
    let state = state_dir(&tmp, "state");
    let u = StreamUrl::parse(&url).unwrap();
    let client = u.client().unwrap();
    let mut con = client.get_connection().unwrap();
    let xadd = |con: &mut redis::Connection, field: &str, value: &[u8]| {
        redis::cmd("XADD")
            .arg("odd")
            .arg("*")
            .arg(field)
            .arg(value)
            .query::<String>(con)
            .unwrap();
    };
    xadd(&mut con, "event", b"not json");
    xadd(&mut con, "something", b"{}");
    xadd(&mut con, "event", b"{\"type\":\"x\",\"id\":\"bad\xff\"}");
    xadd(&mut con, "action", b"{\"operator\":\"eve\"}");
    // Pretty-printed JSON is one event (the journal keeps it on one line).
    xadd(
        &mut con,
        "event",
        b"{\n  \"type\": \"agent_heartbeat\",\n  \"id\": \"ok-1\",\n  \"agent\": \"a\"\n}",
    );
    let out = coord(&["watch", &url, "--state", state.to_str().unwrap(), "--once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("coord: 1 event, 4 parse errors"),
        "{stdout}"
    );
    assert!(
        stdout.contains("has no `event` or `action` field"),
        "{stdout}"
    );
    assert!(stdout.contains("bad action"), "{stdout}");
    assert_ids_once(&state, &["ok-1".to_string()]);
    // A publisher refuses what ingestion would refuse, and sends nothing of a
    // batch with one bad event.
    let mut p = Publisher::connect(&u).unwrap();
    let err = p
        .publish(&[
            event("fine", "a", 1),
            json!({"type": "progress_update", "progress": 250}),
        ])
        .unwrap_err();
    assert!(err.to_string().contains("event 2"), "{err}");
    let len: u64 = redis::cmd("XLEN").arg("odd").query(&mut con).unwrap();
    assert_eq!(len, 5);
    // Redis not there: publishing is an error with the address, exit 2.
    let out = coord(&[
        "publish",
        "--to",
        "redis://127.0.0.1:1/x",
        "--type",
        "agent_heartbeat",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("redis://127.0.0.1:1/x"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn two_consoles_on_one_stream_see_each_others_acknowledgements() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url("ops");
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (state_dir(&tmp, "a"), state_dir(&tmp, "b"));
    let log = tmp.path().join("b.log");
    // Console B, headless; console A, the operator's, in a terminal.
    let b_child = spawn_stream_watch(&url, &b, &log);
    let mut pty = pty_support::Pty::start(
        &[
            "watch",
            &url,
            "--state",
            a.to_str().unwrap(),
            "--operator",
            "ann",
        ],
        tmp.path(),
        120,
        30,
    );
    pty.wait_for_text("stream ok");
    // A blocker, published through the CLI.
    let out = coord(&[
        "publish",
        "--to",
        &url,
        "--type",
        "blocker_detected",
        "--component",
        "api",
        "--agent",
        "be-1",
        "--message",
        "schema missing",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    pty.wait_for_text("blocker");
    pty.keys("3");
    pty.keys("a");
    // B applies A's acknowledgement, read from the stream.
    wait_for(Duration::from_secs(20), "B to see the ack", || {
        let v = stream_status(&url, &b);
        v["alerts"].as_array().is_some_and(|l| {
            l.iter()
                .any(|x| x["status"] == "acknowledged" && x["acknowledged_by"] == "ann")
        })
    });
    // And A itself applied it once, from the stream, journaled with its entry.
    pty.keys("q");
    pty.wait_exit();
    let recs = records(&a);
    // The ack, from the stream; and A's own mark of what ann saw (q), which
    // stays in A's journal.
    let actions: Vec<_> = recs.iter().filter(|r| r["kind"] == "action").collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(actions[0]["entry"].is_string());
    assert!(actions[1]["entry"].is_null(), "{actions:?}");
    assert_eq!(terminate(b_child), Some(0));
    // Both applied the same entries, in the same order.
    let inputs = |dir: &Path| -> Vec<String> {
        records(dir)
            .iter()
            .filter(|r| r["kind"] == "event" || (r["kind"] == "action" && r["entry"].is_string()))
            .map(|r| format!("{} {}", r["kind"], r["entry"]))
            .collect()
    };
    assert_eq!(inputs(&a), inputs(&b));
    assert_eq!(inputs(&a).len(), 2);
}
