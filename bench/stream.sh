#!/usr/bin/env bash
# End to end, publishers to engine: events per second through a Redis stream on
# loopback, beside the same through a coordination directory, in the same run.
#
#   bench/stream.sh
#
# Environment: BENCH_EVENTS (default 200000), BENCH_PUBLISHERS (default 4),
# BENCH_RUNS (default 3), BENCH_TMP (where the temporary directory goes).
#
# 1. Generates BENCH_EVENTS events (~190 bytes each, bench/gen_events.py) and
#    splits them into one file per publisher. Installs redis-server with apt-get
#    if missing; starts it on a free loopback port (no persistence).
# 2. BENCH_RUNS times, alternating:
#      stream     `coord watch redis://127.0.0.1:PORT/bench-K --headless` is
#                 started and waits; the clock starts; BENCH_PUBLISHERS × `coord
#                 publish --to redis://… --json - < part` run in parallel (each
#                 checks its events, then XADDs them in pipelines of 1,000); the
#                 clock stops when the console has printed its line for the last
#                 event (each event is journaled, fsynced and applied before).
#      directory  the same with `coord watch DIR --headless` and `coord publish
#                 DIR --json - < part` (each event one O_APPEND write to
#                 DIR/events/<agent>.jsonl).
#    Then, on what that run left, the console alone: `coord watch --once` with a
#    fresh state on the filled stream, and on a fresh copy of the directory's
#    events/ (read, parse, engine, journal with fsync; no publishers).
# 3. Prints every run, the medians in events/s, and the ratio stream/directory.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
N=${BENCH_EVENTS:-200000}
P=${BENCH_PUBLISHERS:-4}
RUNS=${BENCH_RUNS:-3}
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/coord-stream-bench.XXXXXX")
REDIS_PID=
WATCH_PID=
cleanup() {
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "stream: $*"; }

if ! command -v redis-server >/dev/null; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    say "redis-server: not found; apt-get install redis-server"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

say "cargo build --release"
cargo build --release --quiet
COORD=$ROOT/target/release/coord

# --- data ----------------------------------------------------------------------
python3 bench/gen_events.py "$WORK/all.jsonl" "$N"
split -n "l/$P" -d "$WORK/all.jsonl" "$WORK/part."
say "$N events in $P parts, $(wc -c <"$WORK/all.jsonl") bytes"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK" >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.05
done
say "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | cut -d' ' -f1-3)"

# The id of the last line of each part: the console is done when it printed all.
LAST_IDS=()
for f in "$WORK"/part.*; do
    LAST_IDS+=("$(tail -1 "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
done

# run KIND K: prints the seconds from the first publisher's start to the console's
# line for the last event of every part.
run() {
    local kind=$1 k=$2 target out t0 t1
    out=$WORK/$kind-$k.out
    if [ "$kind" = stream ]; then
        target=redis://127.0.0.1:$PORT/bench-$k
        "$COORD" watch "$target" --headless --state "$WORK/state-$k" >"$out" 2>&1 &
        WATCH_PID=$!
        for _ in $(seq 200); do grep -q "console_started\|started" "$WORK/state-$k/coord.log" 2>/dev/null && break; sleep 0.05; done
        pub=(--to "$target")
    else
        target=$WORK/dir-$k
        mkdir -p "$target/events"
        "$COORD" watch "$target" --headless >"$out" 2>&1 &
        WATCH_PID=$!
        for _ in $(seq 200); do [ -e "$target/journal/LOCK" ] && break; sleep 0.05; done
        pub=("$target")
    fi
    sleep 0.5
    t0=$EPOCHREALTIME
    local pids=()
    for f in "$WORK"/part.*; do
        "$COORD" publish "${pub[@]}" --json - <"$f" >/dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    local done_=0
    while [ "$done_" -eq 0 ]; do
        done_=1
        for id in "${LAST_IDS[@]}"; do
            grep -qE "id=$id( |$)" "$out" || { done_=0; break; }
        done
        [ "$done_" -eq 1 ] || sleep 0.02
    done
    t1=$EPOCHREALTIME
    kill "$WATCH_PID"
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=
    local got
    got=$(grep -c " event " "$out" || true)
    [ "$got" -eq "$N" ] || { say "$kind run $k: the console printed $got events, expected $N"; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}'
}
# once KIND K: seconds for `coord watch --once` on run K's stream or events.
once() {
    local kind=$1 k=$2 t0 t1 args
    if [ "$kind" = stream ]; then
        args=(redis://127.0.0.1:$PORT/bench-$k --state "$WORK/once-$k")
    else
        mkdir -p "$WORK/once-dir-$k"
        cp -r "$WORK/dir-$k/events" "$WORK/once-dir-$k/"
        sync
        args=("$WORK/once-dir-$k")
    fi
    t0=$EPOCHREALTIME
    "$COORD" watch "${args[@]}" --once >"$WORK/once-$kind-$k.out"
    t1=$EPOCHREALTIME
    grep -q "^coord: $N events, 0 parse errors, 0 duplicates" "$WORK/once-$kind-$k.out" ||
        { say "once $kind $k: $(tail -1 "$WORK/once-$kind-$k.out")"; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

rate() { awk -v n="$N" -v t="$1" 'BEGIN{printf "%.0f", n/t}'; }
S=() D=() OS=() OD=()
for k in $(seq "$RUNS"); do
    s=$(run stream "$k")
    d=$(run directory "$k")
    os=$(once stream "$k")
    od=$(once directory "$k")
    S+=("$s") D+=("$d") OS+=("$os") OD+=("$od")
    say "run $k: end to end: stream $s s ($(rate "$s") events/s), directory $d s ($(rate "$d") events/s); console alone (--once): stream $os s, directory $od s"
done
ms=$(median "${S[@]}")
md=$(median "${D[@]}")
say "median over $RUNS runs, $N events from $P publishers:"
say "  stream     $ms s  $(awk -v n="$N" -v t="$ms" 'BEGIN{printf "%.0f", n/t}') events/s"
say "  directory  $md s  $(awk -v n="$N" -v t="$md" 'BEGIN{printf "%.0f", n/t}') events/s"
say "  stream / directory throughput: $(awk -v a="$ms" -v b="$md" 'BEGIN{printf "%.2f", b/a}')×"
mos=$(median "${OS[@]}")
mod=$(median "${OD[@]}")
say "console alone, coord watch --once on what a run left:"
say "  stream     $mos s  $(rate "$mos") events/s"
say "  directory  $mod s  $(rate "$mod") events/s"
