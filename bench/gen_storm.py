#!/usr/bin/env python3
"""A fleet that went quiet, for coord's storm benchmark.

    python3 bench/gen_storm.py OUT.jsonl QUIET [LIVE] [--age-minutes M]

Writes, for each of QUIET agents (`quiet-00000` …), a heartbeat and a task
assigned M minutes ago (default 30: past every timeout, so that coord's first
tick times them all out at once, reassigns their tasks and opens an alert for
each), and for each of LIVE agents (default 100, `live-000` …) a heartbeat from
now, who take the reassigned tasks. With --age-minutes 0 the same fleet is
calm: nothing times out (the control run). Timestamps are read from the clock;
everything else is the same for the same arguments.
"""
import datetime as dt
import json
import sys


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    age = 30.0
    if "--age-minutes" in sys.argv:
        age = float(sys.argv[sys.argv.index("--age-minutes") + 1])
        args.remove(sys.argv[sys.argv.index("--age-minutes") + 1])
    out, quiet = args[0], int(args[1])
    live = int(args[2]) if len(args) > 2 else 100
    now = dt.datetime.now(dt.timezone.utc)
    then = now - dt.timedelta(minutes=age)
    stamp = lambda t: t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    n = 0
    with open(out, "w", encoding="ascii", newline="\n") as f:
        def put(ev):
            nonlocal n
            n += 1
            ev["id"] = f"s{n}"
            f.write(json.dumps(ev, separators=(",", ":")) + "\n")
        for i in range(quiet):
            agent = f"quiet-{i:05d}"
            t = stamp(then + dt.timedelta(microseconds=i))
            put({"type": "agent_heartbeat", "ts": t, "agent": agent, "status": "working"})
            put({"type": "task_assigned", "ts": t, "agent": agent, "task": f"T{i:05d}",
                 "component": f"comp-{i % 20:02d}"})
        for i in range(live):
            put({"type": "agent_heartbeat", "ts": stamp(now), "agent": f"live-{i:03d}",
                 "status": "idle"})


if __name__ == "__main__":
    main()
