#!/usr/bin/env bash
# A storm: 10,000 agents time out in one tick (QUALITY.md: storms are cheap).
#
#   bench/storm.sh
#
# Environment: BENCH_QUIET (default 10000), BENCH_LIVE (default 100), BENCH_RUNS
# (default 5), BENCH_TMP (where the temporary directory goes), BENCH_COORD (a coord
# binary to measure instead of building this tree).
#
# 1. bench/gen_storm.py writes two directories of the same fleet: in `storm` the
#    BENCH_QUIET agents (a heartbeat and a task each) were last heard 30 minutes
#    ago, in `calm` just now; BENCH_LIVE agents beat now in both.
# 2. BENCH_RUNS times, alternating, on fresh copies (no journal, no outbox):
#    `coord watch DIR --headless --once`. In `storm` its one tick times out every
#    quiet agent, opens an alert for each and moves their tasks to the live ones;
#    in `calm` the same tick finds nothing to do.
# 3. Prints every run, the medians of wall time and peak RSS (GNU time), their
#    difference (what the storm itself costs), and what the storm left: alerts
#    open, journal records, outbox lines (digests).
# 4. Once each, a live `coord watch DIR --headless`: its resident memory 5 s after
#    start, once the storm is over (what a console keeps for the rest of its run).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
QUIET=${BENCH_QUIET:-10000}
LIVE=${BENCH_LIVE:-100}
RUNS=${BENCH_RUNS:-5}
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/coord-storm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
say() { echo "storm: $*"; }

if [ ! -x /usr/bin/time ]; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    say "installing GNU time (peak RSS)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q time >/dev/null 2>&1 ||
        { $SUDO apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q time >/dev/null; }
fi
if [ -n "${BENCH_COORD:-}" ]; then
    COORD=$BENCH_COORD
else
    cargo build --release --quiet
    COORD=$PWD/target/release/coord
fi

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

for kind in storm calm; do
    mkdir -p "$WORK/$kind.src/events"
done
# Generated just before the runs: "now" must still be now when they read it.
gen() {
    python3 bench/gen_storm.py "$WORK/storm.src/events/fleet.jsonl" "$QUIET" "$LIVE"
    python3 bench/gen_storm.py "$WORK/calm.src/events/fleet.jsonl" "$QUIET" "$LIVE" --age-minutes 0
}
gen
say "$QUIET quiet agents, $LIVE live; $(wc -l <"$WORK/storm.src/events/fleet.jsonl") events a run; $RUNS runs each, alternating"

declare -A T M
for run in $(seq 1 "$RUNS"); do
    # Live agents must not time out between generation and the run.
    gen
    for kind in storm calm; do
        rm -rf "$WORK/$kind"
        cp -r "$WORK/$kind.src" "$WORK/$kind"
        sync
        /usr/bin/time -f "%e %M" -o "$WORK/time" "$COORD" watch "$WORK/$kind" --headless --once >"$WORK/$kind.out"
        read -r secs kb <"$WORK/time"
        T[$kind]+="$secs "
        M[$kind]+="$kb "
        say "run $run $kind: ${secs} s, $((kb / 1024)) MB peak RSS; $(cat "$WORK/$kind.out")"
    done
done

for kind in storm calm; do
    t=$(tr ' ' '\n' <<<"${T[$kind]}" | grep . | median)
    m=$(tr ' ' '\n' <<<"${M[$kind]}" | grep . | median)
    printf -v "med_t_$kind" %s "$t"
    printf -v "med_m_$kind" %s "$m"
    say "median $kind: $t s, $(awk -v k="$m" 'BEGIN {printf "%.0f", k/1024}') MB peak RSS"
done
# What stays resident once the storm is over: a live console (headless), its RSS
# read 5 s after start (the storm's tick comes within the first 2 s).
for kind in storm calm; do
    gen
    rm -rf "$WORK/$kind"
    cp -r "$WORK/$kind.src" "$WORK/$kind"
    "$COORD" watch "$WORK/$kind" --headless >/dev/null &
    pid=$!
    sleep 5
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" || true
    printf -v "live_$kind" %s "$rss"
    say "live $kind: resident 5 s after start: $((rss / 1024)) MB"
done
# shellcheck disable=SC2154
say "the storm itself (storm - calm): $(awk -v a="$med_t_storm" -v b="$med_t_calm" 'BEGIN {printf "%.3f", a-b}') s, $(awk -v a="$med_m_storm" -v b="$med_m_calm" 'BEGIN {printf "%.0f", (a-b)/1024}') MB"
say "journal records of the last storm run: $(cat "$WORK"/storm/journal/*.jsonl | wc -l); alerts opened: $(grep -c '"kind":"transition","effect":{"effect":"transition","alert":[0-9]*,"at":"[^"]*","what":"opened"' "$WORK"/storm/journal/*.jsonl || true)"
say "outbox lines of the last storm run (one digest per channel and kind):"
for f in "$WORK"/storm/outbox/*.jsonl; do
    say "  $(basename "$f"): $(wc -l <"$f") lines; $(python3 -c 'import json,sys; print("; ".join(json.loads(l).get("summary", json.loads(l)["kind"])[:70] for l in open(sys.argv[1])))' "$f")"
done
