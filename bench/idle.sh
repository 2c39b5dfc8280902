#!/usr/bin/env bash
# What an idle watcher costs with many files in events/ (QUALITY: at most 1 %
# of a core with 2,000 files).
#
#   bench/idle.sh [FILES] [BINARY]      (defaults: 2000, target/release/coord)
#
# Writes FILES event files of one line each, starts `BINARY watch DIR
# --headless`, waits until every event is journaled and 5 s more, then reads
# the process's CPU time (utime + stime from /proc) over IDLE_WINDOWS windows of
# IDLE_SECONDS seconds (defaults 5 and 10) with nothing written. Prints each
# window and the median, as % of one core.
set -euo pipefail
export LC_ALL=C
FILES=${1:-2000}
BIN=${2:-target/release/coord}
WINDOWS=${IDLE_WINDOWS:-5}
SECONDS_EACH=${IDLE_SECONDS:-10}
TICKS=$(getconf CLK_TCK)

dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/events"
for i in $(seq 1 "$FILES"); do
    printf '{"type":"agent_heartbeat","id":"hb-%d","agent":"a%d"}\n' "$i" "$i" > "$dir/events/f$i.jsonl"
done
"$BIN" watch "$dir" --headless > /dev/null 2>&1 &
pid=$!
# Every event journaled, then the start-up work done.
for _ in $(seq 1 600); do
    n=$(cat "$dir"/journal/*.jsonl 2>/dev/null | grep -c '"kind":"event"' || true)
    [ "$n" -ge "$FILES" ] && break
    sleep 0.1
done
sleep 5
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
results=()
for w in $(seq 1 "$WINDOWS"); do
    a=$(cpu)
    sleep "$SECONDS_EACH"
    b=$(cpu)
    pct=$(awk -v d=$((b - a)) -v t="$TICKS" -v s="$SECONDS_EACH" 'BEGIN { printf "%.2f", 100 * d / t / s }')
    echo "window $w: $pct % of a core"
    results+=("$pct")
done
median=$(printf '%s\n' "${results[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
echo "idle with $FILES files: median $median % of a core ($WINDOWS windows of $SECONDS_EACH s)"
