//! Resource bounds on hostile lines (SPEC 3.4, QUALITY.md "Security and bad
//! input"): a 100 MB line, 100k-deep nesting (arrays, objects, and inside an
//! event's field), a 10k-field object, NUL bytes and invalid UTF-8, each followed
//! by a good line. Each bad line is one `parse_error`, nothing panics, the good
//! line after it is read, a restart reads none of it again, and the peak RSS of
//! `coord watch --headless` (`VmHWM` of `/proc/PID/status`) stays far below the
//! line's size, both when it finds the 100 MB line at start and when it sees it
//! arrive in pieces.

mod ingest_support;

use ingest_support::*;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Peak RSS allowed, in KiB: the default `max_line_bytes` is 1 MiB, a line
/// buffered whole would be 100 MB.
const RSS_LIMIT_KIB: u64 = 64 * 1024;

const LINE_100MB: usize = 100 * 1024 * 1024;

fn good(id: &str) -> String {
    format!("{{\"type\":\"agent_heartbeat\",\"id\":\"{id}\",\"agent\":\"good-agent\"}}\n")
}

/// A 100 MB line that looks like an event, written in 1 MiB pieces.
fn write_huge_line(f: &mut impl Write) {
    let head = b"{\"type\":\"progress_update\",\"agent\":\"big\",\"message\":\"";
    f.write_all(head).unwrap();
    let piece = vec![b'x'; 1024 * 1024];
    let mut left = LINE_100MB - head.len() - 3;
    while left > 0 {
        let n = left.min(piece.len());
        f.write_all(&piece[..n]).unwrap();
        left -= n;
    }
    f.write_all(b"\"}\n").unwrap();
}

/// The bad lines other than the 100 MB one: name, bytes (with the newline).
fn bad_lines() -> Vec<(&'static str, Vec<u8>)> {
    const DEEP: usize = 100_000;
    let mut arrays = "[".repeat(DEEP);
    arrays.push_str(&"]".repeat(DEEP));
    let mut objects = "{\"a\":".repeat(DEEP);
    objects.push('1');
    objects.push_str(&"}".repeat(DEEP));
    let mut in_field = String::from("{\"type\":\"progress_update\",\"agent\":\"deep\",\"extra\":");
    in_field.push_str(&"[".repeat(DEEP));
    in_field.push_str(&"]".repeat(DEEP));
    in_field.push('}');
    let mut fields = String::from("{");
    for i in 0..10_000 {
        if i > 0 {
            fields.push(',');
        }
        fields.push_str(&format!("\"field{i}\":{i}"));
    }
    fields.push('}');
    let mut out = vec![
        ("100k-deep arrays", arrays.into_bytes()),
        ("100k-deep objects", objects.into_bytes()),
        ("100k-deep nesting in a field", in_field.into_bytes()),
        ("a 10k-field object without a type", fields.into_bytes()),
        (
            "NUL bytes",
            b"{\"type\":\"agent_heartbeat\",\"agent\":\"n\0l\"}\0\0".to_vec(),
        ),
        ("only NUL bytes", vec![0u8; 4096]),
        (
            "invalid UTF-8",
            b"{\"type\":\"agent_heartbeat\",\"agent\":\"\xff\xfe\xc3\x28\"}".to_vec(),
        ),
        ("a lone continuation byte", b"\x80\x80\x80".to_vec()),
    ];
    for (_, line) in &mut out {
        line.push(b'\n');
    }
    out
}

/// `VmHWM` (peak RSS) of a running process, in KiB. (Not `wait4`'s
/// `ru_maxrss`: on Linux that keeps the RSS of the test process the child was
/// spawned from, before its `exec`.)
fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// Event and error records in the journal so far (a record being written, not
/// yet whole, is not counted).
fn journaled(dir: &Path) -> (u64, u64) {
    let (mut events, mut errors) = (0, 0);
    for seg in segments(dir) {
        let bytes = std::fs::read(&seg).unwrap_or_default();
        for line in bytes.split(|&b| b == b'\n') {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            match v["kind"].as_str() {
                Some("event") => events += 1,
                Some("error") => errors += 1,
                _ => {}
            }
        }
    }
    (events, errors)
}

/// `dir` holds `bad` bad lines, each before one good line. `coord watch
/// --headless` reads them all (its peak RSS is measured before it stops), then
/// `coord watch --once` finds nothing new (the checkpoints are past every line),
/// and `coord status --json` counts each line once. Returns the peak RSS in KiB.
/// `1 event`, `2 events`: the summary line's counts.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn check(what: &str, dir: &Path, bad: u64, good: u64) -> u64 {
    let log = dir.join("watch.log");
    let watch = spawn_watch(dir, &log);
    let pid = watch.id();
    let _guard = KillOnPanic(pid);
    wait_for(
        Duration::from_secs(60),
        &format!("{what}: every line read"),
        || journaled(dir) == (good, bad),
    );
    let rss = vm_hwm(pid);
    assert_eq!(terminate(watch), Some(0), "{what}: SIGTERM ends it with 0");
    let out = std::fs::read_to_string(&log).unwrap();
    assert!(!out.contains("panick"), "{what}: {out}");
    assert_eq!(
        out.lines().filter(|l| l.contains(" parse_error ")).count() as u64,
        bad,
        "{what}: one parse_error line each\n{out}"
    );
    let again = once(dir);
    assert!(
        again.starts_with(&format!(
            "coord: {}, {}, 0 duplicates",
            plural(good, "event", "events"),
            plural(bad, "parse error", "parse errors")
        )),
        "{what}: nothing read twice after a restart\n{again}"
    );
    assert_eq!(
        counts(dir),
        counts_of(good, bad),
        "{what}: coord status --json"
    );
    assert!(
        rss < RSS_LIMIT_KIB,
        "{what}: peak RSS {rss} KiB (limit {RSS_LIMIT_KIB} KiB)"
    );
    eprintln!("{what}: peak RSS {rss} KiB");
    rss
}

#[test]
fn each_bad_line_is_one_parse_error_and_the_next_line_is_read() {
    for (i, (what, line)) in bad_lines().into_iter().enumerate() {
        let tmp = coord_dir();
        let mut f = std::fs::File::create(tmp.path().join("events/x.jsonl")).unwrap();
        f.write_all(&line).unwrap();
        f.write_all(good(&format!("good-{i}")).as_bytes()).unwrap();
        drop(f);
        check(what, tmp.path(), 1, 1);
        // The good event itself, with its id.
        assert!(
            journal_ids(tmp.path()).contains_key(&format!("good-{i}")),
            "{what}: the good line after it"
        );
    }
    // All of them in one file, one after another.
    let tmp = coord_dir();
    let mut f = std::fs::File::create(tmp.path().join("events/all.jsonl")).unwrap();
    let lines = bad_lines();
    for (i, (_, line)) in lines.iter().enumerate() {
        f.write_all(line).unwrap();
        f.write_all(good(&format!("good-{i}")).as_bytes()).unwrap();
    }
    drop(f);
    let n = lines.len() as u64;
    check("every bad line in one file", tmp.path(), n, n);
}

#[test]
fn a_100mb_line_is_skipped_with_bounded_memory() {
    let tmp = coord_dir();
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(tmp.path().join("events/big.jsonl")).unwrap(),
    );
    write_huge_line(&mut f);
    f.write_all(good("after-big").as_bytes()).unwrap();
    f.flush().unwrap();
    drop(f);
    let rss = check("a 100 MB line", tmp.path(), 1, 1);
    assert!(journal_ids(tmp.path()).contains_key("after-big"));
    let log = std::fs::read_to_string(tmp.path().join("watch.log")).unwrap();
    assert!(
        log.contains(&format!(
            "line of {} bytes is over max_line_bytes",
            LINE_100MB - 1
        )),
        "the line's whole length is reported: {log}"
    );
    // The journal keeps the report, not the line.
    let journal: u64 = segments(tmp.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(journal < 1024 * 1024, "journal of {journal} bytes");
    eprintln!("a 100 MB line, read at start: peak RSS {rss} KiB");
}

/// The live console: the 100 MB line arrives in 1 MiB pieces with no newline
/// for a while (the tailer sees a growing unfinished line), then its end and a
/// good line.
#[test]
fn a_100mb_line_arriving_live_is_skipped_with_bounded_memory() {
    let tmp = coord_dir();
    let dir = tmp.path();
    let path = dir.join("events/live.jsonl");
    std::fs::write(&path, good("before")).unwrap();
    let watch = spawn_watch(dir, &dir.join("watch.log"));
    let pid = watch.id();
    let _guard = KillOnPanic(pid);
    wait_events(dir, 1, Duration::from_secs(20));

    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let head = b"{\"type\":\"progress_update\",\"agent\":\"big\",\"message\":\"";
    f.write_all(head).unwrap();
    let piece = vec![b'y'; 1024 * 1024];
    for i in 0..100 {
        f.write_all(&piece).unwrap();
        if i % 10 == 9 {
            // Let the tailer read the unfinished line as it grows.
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    f.write_all(b"\"}\n").unwrap();
    f.write_all(good("after").as_bytes()).unwrap();
    drop(f);
    wait_for(
        Duration::from_secs(60),
        "the line after the big one",
        || journaled(dir) == (2, 1),
    );
    let rss = vm_hwm(pid);
    assert_eq!(terminate(watch), Some(0));
    assert_eq!(counts(dir), counts_of(2, 1));
    assert!(journal_ids(dir).contains_key("after"));
    let again = once(dir);
    assert!(
        again.starts_with("coord: 2 events, 1 parse error, 0 duplicates"),
        "nothing read twice after a restart\n{again}"
    );
    assert!(
        rss < RSS_LIMIT_KIB,
        "live: peak RSS {rss} KiB (limit {RSS_LIMIT_KIB} KiB)"
    );
    eprintln!("a 100 MB line, live: peak RSS {rss} KiB");
}

fn counts_of(events: u64, parse_errors: u64) -> Counts {
    Counts {
        events,
        parse_errors,
        duplicates: 0,
    }
}
