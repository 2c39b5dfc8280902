#!/usr/bin/env bash
# How long `coord status --at T` takes for a time in the past (SPEC 18: the
# goal is at most 0.5 s on a 1M-event journal).
#
#   bench/past.sh [BINARY]      (default: target/release/coord, built if missing)
#
# Generates PAST_EVENTS events (default 1000000) with bench/gen_events.py,
# ingests them once (`watch --headless --once`: a past snapshot every 100,000
# records, a run's snapshot at the end), then times `status DIR --at T --json`
# PAST_RUNS times (default 5) for T at 20 %, 50 % and 99 % of the journal's span,
# and just before the second newest past snapshot (the most a view of the
# past replays: from the one before it), and prints the medians with the
# number of events the state at T holds.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
BIN=${1:-target/release/coord}
N=${PAST_EVENTS:-1000000}
RUNS=${PAST_RUNS:-5}
[ -x "$BIN" ] || cargo build --release
dir=$(mktemp -d "${TMPDIR:-/tmp}/coord-past.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/events"
python3 bench/gen_events.py "$dir/events/bench.jsonl" "$N" > /dev/null
"$BIN" watch "$dir" --headless --once > /dev/null
# The first and last records' times, in epoch milliseconds.
span=$(python3 - "$dir/journal" <<'PY'
import json, os, sys, datetime
d = sys.argv[1]
segs = sorted(f for f in os.listdir(d) if f.endswith(".jsonl"))
def at(line):
    t = json.loads(line)["at"].replace("Z", "+00:00")
    return int(datetime.datetime.fromisoformat(t).timestamp() * 1000)
with open(os.path.join(d, segs[0])) as f:
    first = at(f.readline())
with open(os.path.join(d, segs[-1]), "rb") as f:
    last = at(f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1])
print(first, last)
PY
)
read -r first last <<< "$span"
# The last time before the second newest past snapshot's (the newest is at the
# end, with the run's snapshot): a view then starts from the one before it.
worst=$(python3 - "$dir/journal" <<'PY'
import json, os, sys
d = sys.argv[1]
target = sorted(int(f.split(".")[0]) for f in os.listdir(os.path.join(d, "snapshots", "past")))[-2]
before, current = None, None
for seg in sorted(f for f in os.listdir(d) if f.endswith(".jsonl")):
    with open(os.path.join(d, seg), "rb") as f:
        for line in f:
            at = line.split(b'"at":"', 1)[1].split(b'"', 1)[0].decode()
            if at != current:
                before, current = current, at
            if line.startswith(b'{"seq":%d,' % target):
                print(before)
                sys.exit(0)
PY
)
for pct in 20 50 99 worst; do
    if [ "$pct" = worst ]; then
        t=$worst
    else
        ms=$(( first + (last - first) * pct / 100 ))
        t=$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp($ms/1000, datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00','Z'))")
    fi
    times=()
    for _ in $(seq 1 "$RUNS"); do
        t0=$EPOCHREALTIME
        "$BIN" status "$dir" --at "$t" --json > "$dir/out.json" || true
        t1=$EPOCHREALTIME
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
    done
    events=$(python3 -c "import json; print(json.load(open('$dir/out.json'))['counts']['events'])")
    median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    what="$pct % of the span"
    [ "$pct" = worst ] && what="just before a past snapshot"
    printf 'past: --at %s: median %.3f s over %d runs (%d events in the state)\n' \
        "$what" "$median" "$RUNS" "$events"
done
