#!/usr/bin/env bash
# How long a Claude Code hook takes (SPEC 17: "well under 100 ms"): the wall
# time of `coord hook claude-code DIR` with a PostToolUse payload on stdin,
# from the start of the process to its exit, HOOK_RUNS times (default 200).
#
#   bench/hook.sh [BINARY]      (default: target/release/coord, built if missing)
#
# Prints the median, p90 and max in milliseconds, and checks every run
# published its event.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
BIN=${1:-target/release/coord}
RUNS=${HOOK_RUNS:-200}
[ -x "$BIN" ] || cargo build --release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/events"
payload='{"session_id":"00893aaf-19fa-41d2-8238-13269b9b3ca0","transcript_path":"/tmp/t.jsonl","cwd":"/home/ann/src/api","permission_mode":"default","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"cargo test token"},"tool_response":{"stdout":"ok","stderr":""},"tool_use_id":"toolu_01"}'
times=()
for _ in $(seq 1 "$RUNS"); do
    t0=$EPOCHREALTIME
    printf '%s' "$payload" | "$BIN" hook claude-code "$dir"
    t1=$EPOCHREALTIME
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) * 1000 }')")
done
n=$(cat "$dir"/events/*.jsonl | wc -l)
[ "$n" -eq "$RUNS" ] || { echo "hook: $n of $RUNS events published"; exit 1; }
printf '%s\n' "${times[@]}" | sort -g | awk -v runs="$RUNS" '
    { v[NR] = $1 }
    END { printf "hook: %d runs, median %.1f ms, p90 %.1f ms, max %.1f ms (all %d published)\n",
          runs, v[int((NR + 1) / 2)], v[int(NR * 0.9)], v[NR], runs }'
