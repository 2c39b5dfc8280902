#!/usr/bin/env bash
# Latency from an agent's append to the state change (QUALITY.md: p99 <= 5 ms).
#
#   bench/latency.sh [EVENTS [INTERVAL_MS]]      (defaults: 2000 events, 5 ms apart)
#
# Builds coord in release, then runs bench/latency.py: a writer appends one event
# at a time (one write(2) on an O_APPEND descriptor, `ts` = its wall-clock write
# time in microseconds) to DIR/events/lat.jsonl while `coord watch DIR --headless`
# runs; the latency is coord's `at` (time of application, milliseconds) minus `ts`.
# BENCH_COORD=path measures that binary instead of building this tree.
set -euo pipefail

cd "$(dirname "$0")/.."
EVENTS=${1:-2000}
INTERVAL_MS=${2:-5}

if [ -n "${BENCH_COORD:-}" ]; then
    COORD=$BENCH_COORD
    echo "latency: BENCH_COORD: measuring $COORD (no build)"
else
    echo "latency: cargo build --release"
    cargo build --release --quiet
    COORD=target/release/coord
fi
echo "latency: load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "latency: python3 bench/latency.py --coord $COORD --events $EVENTS --interval-ms $INTERVAL_MS"
python3 bench/latency.py --coord "$COORD" --events "$EVENTS" --interval-ms "$INTERVAL_MS"
