#!/usr/bin/env python3
"""Latency from an agent's append to the state change (QUALITY.md: p99 <= 5 ms).

    python3 bench/latency.py --coord target/release/coord [--events 2000] [--interval-ms 5]

What it does:

1. Makes a temporary coordination directory with events/lat.jsonl holding one
   warm-up event, and starts `coord watch DIR --headless` with its stdout piped to
   a reader process (this script with --reader), which stamps every line with the
   time it was read and writes both to a file. The writer (this process) has no
   other thread, so nothing delays it between taking its time stamp and writing.
2. Waits until coord has applied the warm-up event, then appends --events events,
   one every --interval-ms (+ a 0-1 ms dither), each with one unbuffered write(2) on an O_APPEND file
   descriptor; each event's `ts` is the wall-clock time (CLOCK_REALTIME,
   microseconds) taken just before its write.
3. Waits until every event is shown (or --timeout), stops coord with SIGTERM,
   and computes per event:
     apply latency    = coord's `at` (time of application, milliseconds) - ts
     observed latency = time the reader read coord's line (microseconds) - ts
   `at` is the application time truncated to the millisecond, so the true apply
   latency is in [apply, apply + 1 ms): the figures are quantised to 1 ms.

Both clocks are the same machine's CLOCK_REALTIME (coord's `at` comes from
chrono's Utc::now).
"""
import argparse
import calendar
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

AGENTS = 20


def rfc3339_us(t_ns: int) -> str:
    us_total = t_ns // 1000
    secs, us = divmod(us_total, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%06dZ" % us


def parse_at_ms(s: str) -> int:
    """'2026-11-24T15:20:05.101Z' -> milliseconds since the epoch."""
    base, frac = s.rstrip("Z").split(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000 + int(frac[:3].ljust(3, "0"))


def event_line(i: int, t_ns: int) -> bytes:
    agent = "lat-agent-%02d" % (i % AGENTS)
    ts = rfc3339_us(t_ns)
    if i % 3 == 0:
        s = ('{"type":"agent_heartbeat","ts":"%s","id":"lat-%06d","agent":"%s",'
             '"component":"latency","status":"working","message":"alive"}\n'
             % (ts, i, agent))
    else:
        s = ('{"type":"progress_update","ts":"%s","id":"lat-%06d","agent":"%s",'
             '"component":"latency","task":"LT-%02d","progress":%.1f,"message":"step"}\n'
             % (ts, i, agent, i % AGENTS, (i // AGENTS) % 100))
    return s.encode()


def reader(out_path: str) -> None:
    """Reads coord's stdout; writes '<read time ns> <line>' per line."""
    inp = sys.stdin.buffer
    with open(out_path, "wb") as out:
        for line in iter(inp.readline, b""):
            out.write(b"%d %s" % (time.time_ns(), line))
            out.flush()


def pct(sorted_vals, p):
    """Nearest-rank percentile."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--coord", default="target/release/coord")
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--interval-ms", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--reader", metavar="OUT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reader:
        reader(args.reader)
        return 0

    tmp = tempfile.mkdtemp(prefix="coord-latency.")
    events = os.path.join(tmp, "events")
    os.makedirs(events)
    path = os.path.join(events, "lat.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, event_line(0, time.time_ns()).replace(b"lat-000000", b"warmup-0"))
    recv_path = os.path.join(tmp, "coord-stdout.txt")
    cmd = [args.coord, "watch", tmp, "--headless"]
    print("latency: running: %s   (stdout -> %s)" % (" ".join(cmd), recv_path), flush=True)
    coord = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sys.stderr)
    rd = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--reader", recv_path],
                          stdin=coord.stdout)
    coord.stdout.close()

    def seen_ids():
        ids = set()
        try:
            with open(recv_path, "rb") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 5 and parts[2] == b"event" and parts[4].startswith(b"id="):
                        ids.add(parts[4][3:].decode())
        except FileNotFoundError:
            pass
        return ids

    # Wait for the warm-up event: coord is up and watching.
    deadline = time.monotonic() + args.timeout
    while "warmup-0" not in seen_ids():
        if time.monotonic() > deadline or coord.poll() is not None:
            print("latency: coord did not show the warm-up event", file=sys.stderr)
            coord.kill()
            return 2
        time.sleep(0.02)
    time.sleep(0.2)

    written = {}  # id -> ts in microseconds
    interval_ns = int(args.interval_ms * 1e6)
    start = time.monotonic_ns() + interval_ns
    # A fixed pseudo-random 0-1 ms offset per write spreads the writes over the
    # millisecond, so that `at`'s truncation error is uniform, not one constant phase.
    dither = random.Random(5)
    for i in range(1, args.events + 1):
        target = start + (i - 1) * interval_ns + dither.randrange(1_000_000)
        while True:
            d = target - time.monotonic_ns()
            if d <= 0:
                break
            time.sleep(d / 1e9 if d > 200_000 else 0)
        t = time.time_ns()
        os.write(fd, event_line(i, t))  # one unbuffered write(2), O_APPEND
        written["lat-%06d" % i] = t // 1000
    os.close(fd)
    wrote_s = (time.monotonic_ns() - start) / 1e9

    deadline = time.monotonic() + args.timeout
    while True:
        missing = set(written) - seen_ids()
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    coord.send_signal(signal.SIGTERM)
    try:
        coord.wait(timeout=10)
    except subprocess.TimeoutExpired:
        coord.kill()
    rd.wait(timeout=10)

    apply_us, observed_us, other = [], [], 0
    with open(recv_path, "rb") as f:
        for raw in f:
            parts = raw.decode(errors="replace").split()
            if len(parts) < 3:
                continue
            recv_ns, at = int(parts[0]), parts[1]
            if parts[2] != "event" or len(parts) < 5 or not parts[4].startswith("id="):
                other += 1
                continue
            ts = written.get(parts[4][3:])
            if ts is None:
                continue
            apply_us.append(parse_at_ms(at) * 1000 - ts)
            observed_us.append(recv_ns // 1000 - ts)
    missing = set(written) - seen_ids()

    print("latency: wrote %d events, one every %.1f ms, in %.2f s (one write(2) each, O_APPEND)"
          % (len(written), args.interval_ms, wrote_s))
    print("latency: coord showed %d of them; missing %d; other lines (alerts, sources, ...) %d"
          % (len(apply_us), len(missing), other))
    if not apply_us:
        return 1
    a, o = sorted(apply_us), sorted(observed_us)
    ms = lambda us: "%.3f" % (us / 1000)
    print("latency: append -> applied (coord's `at` - event's ts), ms; `at` is truncated to the")
    print("         millisecond, so each figure is quantised: the true value is in [x, x + 1 ms)")
    print("           min %s  p50 %s  p90 %s  p99 %s  max %s  mean %s"
          % (ms(a[0]), ms(pct(a, 50)), ms(pct(a, 90)), ms(pct(a, 99)), ms(a[-1]),
             ms(sum(a) / len(a))))
    print("latency: append -> line read from coord's stdout (includes output), ms, microsecond clock")
    print("           min %s  p50 %s  p90 %s  p99 %s  max %s  mean %s"
          % (ms(o[0]), ms(pct(o, 50)), ms(pct(o, 90)), ms(pct(o, 99)), ms(o[-1]),
             ms(sum(o) / len(o))))
    p99 = pct(a, 99)
    print("latency: target p99 <= 5 ms: measured p99 %s ms (upper bound %s ms) -> %s"
          % (ms(p99), ms(p99 + 1000),
             "MET" if p99 + 1000 <= 5000 else ("MET within quantisation" if p99 <= 5000 else "MISSED")))
    hist = {}
    for v in a:
        b = v // 1000
        hist[b] = hist.get(b, 0) + 1
    print("latency: distribution of apply latency (1 ms buckets, [x, x+1) ms):")
    for b in sorted(hist):
        if b >= 20:
            print("           >= 20 ms: %d" % sum(n for k, n in hist.items() if k >= 20))
            break
        print("           %3d ms: %d" % (b, hist[b]))
    if args.keep:
        print("latency: kept %s" % tmp)
    else:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if not missing else 1


if __name__ == "__main__":
    sys.exit(main())
