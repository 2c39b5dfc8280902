#!/usr/bin/env python3
"""Deterministic JSON Lines event generator for coord's ingest benchmark.

    python3 bench/gen_events.py OUT.jsonl [COUNT]

Writes COUNT events (default 1,000,000) of about 190 bytes each: ~100 agents
working over ~30 components, a realistic mix of progress_update, agent_heartbeat,
task_assigned and task_completed, unique ids, RFC 3339 timestamps (microseconds,
UTC) strictly increasing from 2026-11-24T13:00:00Z. Same arguments, same bytes:
the random generator is seeded and nothing reads the clock.
"""
import datetime as dt
import random
import sys

AGENTS = 100
COMPONENTS = 30
BASE = dt.datetime(2026, 11, 24, 13, 0, 0, tzinfo=dt.timezone.utc)
STATUSES = ["working", "working", "working", "idle", "reviewing", "testing"]
STEPS = ["parsing inputs", "running unit tests", "applying schema migration",
         "building artifacts", "reviewing diff", "writing integration tests",
         "profiling hot path", "updating documentation", "fixing lint warnings"]


def main() -> None:
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rng = random.Random(20261124)
    comps = [f"{name}-{i:02d}" for i, name in enumerate(
        ["auth-api", "billing-svc", "search-idx", "web-frontend", "ingest-pipe",
         "notify-svc"] * 5)][:COMPONENTS]
    agents = [f"agent-{i:03d}" for i in range(AGENTS)]
    # Per agent: its component, its current task (None until assigned), progress.
    comp_of = {a: comps[i % COMPONENTS] for i, a in enumerate(agents)}
    task_of = {a: None for a in agents}
    prog_of = {a: 0.0 for a in agents}
    next_task = 1
    micros = 0
    buf = []
    with open(out, "w", encoding="ascii", newline="\n") as f:
        for n in range(count):
            micros += rng.randint(1000, 6200)  # ~3.6 ms apart: 1M events ~ 1 hour
            ts = (BASE + dt.timedelta(microseconds=micros)).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ")
            a = agents[rng.randrange(AGENTS)]
            c = comp_of[a]
            eid = f"ev-{n:08d}"
            r = rng.random()
            if task_of[a] is None:
                task_of[a] = f"T-{next_task:06d}"
                next_task += 1
                prog_of[a] = 0.0
                line = ('{"type":"task_assigned","ts":"%s","id":"%s","agent":"%s",'
                        '"component":"%s","task":"%s","message":"assigned by planner from backlog"}'
                        % (ts, eid, a, c, task_of[a]))
            elif r < 0.36:
                line = ('{"type":"agent_heartbeat","ts":"%s","id":"%s","agent":"%s",'
                        '"component":"%s","status":"%s","message":"alive cpu %d%% mem %dMB q=%d"}'
                        % (ts, eid, a, c, rng.choice(STATUSES), rng.randint(1, 99),
                           rng.randint(100, 4000), rng.randint(0, 40)))
            else:
                p = prog_of[a] + rng.choice([2.5, 5.0, 7.5, 10.0])
                if p >= 100.0:
                    line = ('{"type":"task_completed","ts":"%s","id":"%s","agent":"%s",'
                            '"component":"%s","task":"%s","progress":100,"message":"done, tests green"}'
                            % (ts, eid, a, c, task_of[a]))
                    task_of[a] = None
                else:
                    prog_of[a] = p
                    line = ('{"type":"progress_update","ts":"%s","id":"%s","agent":"%s",'
                            '"component":"%s","task":"%s","progress":%.1f,"message":"%s"}'
                            % (ts, eid, a, c, task_of[a], p, rng.choice(STEPS)))
            buf.append(line)
            if len(buf) >= 10000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
