#!/usr/bin/env bash
# Cold ingest of 1M events, side by side with lnav and jq (QUALITY.md, Performance).
#
#   bench/ingest.sh
#
# Environment: BENCH_EVENTS (default 1000000), BENCH_RUNS (default 3),
# BENCH_TMP (where the temporary directory goes; default $TMPDIR or /tmp — keep it on
# a real disk: coord fsyncs its journal), BENCH_COORD (a coord binary to measure
# instead of building this tree, e.g. one built from a clean checkout of a commit).
#
# 1. Generates BENCH_EVENTS JSON Lines events (~190 bytes each) with
#    bench/gen_events.py into a temporary directory's events/bench.jsonl.
# 2. cargo build --release; installs lnav, jq and GNU time with apt-get if missing.
# 3. Installs bench/lnav/coord_json.json under a temporary HOME and checks that lnav
#    recognises the file with that format and counts every event.
# 4. BENCH_RUNS times, alternating:
#      coord cold   `coord watch DIR --headless --once` on a fresh copy of events/
#                   (no journal; copied and synced before the clock starts)
#      coord replay the same command again on the same DIR: reads the newest
#                   snapshot and the journal after it, finds nothing new, exits
#                   (the restart figure)
#      coord replay small  the same on a directory of the first tenth of the
#                   events (ingested once, before the runs): restart after 1M
#                   events against restart after 100k (snapshots: the goal is
#                   at most 2x)
#      lnav         `lnav -n -q -c ';SELECT count(*) FROM coord_json' FILE`
#      jq           `jq -c . FILE > /dev/null`
#      cat          `cat FILE > /dev/null` (the memory-bandwidth reference)
#    Page cache warm throughout. Times are wall clock (bash $EPOCHREALTIME); peak
#    RSS from /usr/bin/time -v when it is there.
# 5. Prints every run, the medians, the ratios lnav/coord and jq/coord, and the
#    verdicts against the targets.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
N=${BENCH_EVENTS:-1000000}
RUNS=${BENCH_RUNS:-3}
WORK=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/coord-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
say() { echo "ingest: $*"; }

# --- tools -------------------------------------------------------------------
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
APT_UPDATED=
apt_install() {
    say "apt-get install -y $*"
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@" >"$WORK/apt.log" 2>&1; then
        if [ -z "$APT_UPDATED" ]; then
            say "apt-get update"
            $SUDO apt-get update -q >>"$WORK/apt.log" 2>&1 || true
            APT_UPDATED=1
        fi
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@" >>"$WORK/apt.log" 2>&1 || {
            tail -5 "$WORK/apt.log"
            return 1
        }
    fi
}
need() { # need COMMAND PACKAGE
    if command -v "$1" >/dev/null 2>&1; then
        say "$1: found $(command -v "$1")"
    else
        say "$1: not found; installing package $2"
        apt_install "$2"
        command -v "$1" >/dev/null || { say "$1 still missing"; exit 1; }
    fi
}
need lnav lnav
need jq jq
TIMEV=
if [ -x /usr/bin/time ]; then
    TIMEV=/usr/bin/time
    say "/usr/bin/time: found (peak RSS is measured)"
elif apt_install time && [ -x /usr/bin/time ]; then
    TIMEV=/usr/bin/time
else
    say "/usr/bin/time: not available; no peak RSS"
fi

if [ -n "${BENCH_COORD:-}" ]; then
    COORD=$BENCH_COORD
    say "BENCH_COORD: measuring $COORD (no build)"
else
    say "cargo build --release"
    cargo build --release --quiet
    COORD=$ROOT/target/release/coord
fi

# --- data --------------------------------------------------------------------
DATA=$WORK/data
mkdir -p "$DATA/events"
FILE=$DATA/events/bench.jsonl
say "python3 bench/gen_events.py $FILE $N"
python3 bench/gen_events.py "$FILE" "$N"
LINES=$(wc -l <"$FILE")
BYTES=$(wc -c <"$FILE")
[ "$LINES" -eq "$N" ] || { say "generated $LINES lines, expected $N"; exit 1; }
say "$LINES events, $BYTES bytes ($(awk -v b="$BYTES" -v n="$LINES" 'BEGIN{printf "%.1f", b/n}') bytes a line)"

say "machine: $(nproc) cores, $(uname -r); $WORK on $(df -T "$WORK" | awk 'NR==2{print $2}')"
say "versions: $("$COORD" --version); $(lnav -V); $(jq --version)"

# --- lnav format ---------------------------------------------------------------
LNAV_HOME=$WORK/lnav-home
mkdir -p "$LNAV_HOME"
say "lnav -i bench/lnav/coord_json.json (HOME=$LNAV_HOME)"
env HOME="$LNAV_HOME" lnav -i "$ROOT/bench/lnav/coord_json.json" >"$WORK/lnav-install.log" 2>&1 ||
    { cat "$WORK/lnav-install.log"; exit 1; }
check=$(env HOME="$LNAV_HOME" lnav -n -q \
    -c ';SELECT (SELECT format FROM lnav_file LIMIT 1) AS format, count(*) AS n FROM coord_json' \
    -c ':write-csv-to -' "$FILE" | tail -1)
say "lnav check: format,count = $check"
[ "$check" = "coord_json,$N" ] || { say "lnav did not read every event with coord_json"; exit 1; }

# --- runs ----------------------------------------------------------------------
T=0 RSS=0 CPU=0
# timed OUTFILE COMMAND...: runs it with stdout to OUTFILE; sets T (wall, s), and
# with /usr/bin/time RSS (peak, KiB) and CPU (user + system, s).
timed() {
    local out=$1 t0 t1
    shift
    if [ -n "$TIMEV" ]; then
        t0=$EPOCHREALTIME
        "$TIMEV" -v -o "$WORK/timev" "$@" >"$out"
        t1=$EPOCHREALTIME
        RSS=$(awk '/Maximum resident set size/ {print $NF}' "$WORK/timev")
        CPU=$(awk '/User time|System time/ {s += $NF} END {printf "%.2f", s}' "$WORK/timev")
    else
        t0=$EPOCHREALTIME
        "$@" >"$out"
        t1=$EPOCHREALTIME
        RSS=0 CPU=0
    fi
    T=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }
mb() { awk -v k="$1" 'BEGIN{printf "%.0f MB", k/1024}'; }
expect_summary() { # expect_summary OUTFILE WHAT [EVENTS]
    local last
    last=$(tail -1 "$1")
    case "$last" in
    "coord: ${3:-$N} events, 0 parse errors, 0 duplicates;"*) ;;
    *)
        say "$2: unexpected summary: $last"
        exit 1
        ;;
    esac
}

cat "$FILE" >/dev/null # warm the page cache
# The small directory: the first tenth of the events, ingested once.
NS=$((N / 10))
SMALL=$WORK/small
mkdir -p "$SMALL/events"
head -n "$NS" "$FILE" >"$SMALL/events/bench.jsonl"
"$COORD" watch "$SMALL" --headless --once >"$WORK/small.out"
expect_summary "$WORK/small.out" "coord cold (small)" "$NS"
C=() R=() S=() L=() J=() K=() CRSS=() RRSS=() LRSS=() CCPU=() RCPU=() LCPU=()
say "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (2-core machines: anything near 2 means contention)"
RUN=$WORK/run
for i in $(seq 1 "$RUNS"); do
    # (a) coord, cold: a fresh copy, no journal. Copy and sync outside the clock.
    rm -rf "$RUN"
    mkdir -p "$RUN"
    cp -r "$DATA/events" "$RUN/events"
    sync
    timed "$WORK/coord.out" "$COORD" watch "$RUN" --headless --once
    expect_summary "$WORK/coord.out" "coord cold"
    C+=("$T") CRSS+=("$RSS") CCPU+=("$CPU")
    if [ "$i" -eq 1 ]; then
        say "coord cold, run 1 summary: $(tail -1 "$WORK/coord.out")"
        say "coord cold, run 1 printed $(($(wc -l <"$WORK/coord.out") - 1)) other lines (alert transitions and actions from ticks; --once is meant to print one line)"
        JB=$(cat "$RUN"/journal/*.jsonl | wc -c)
        say "journal after cold ingest: $JB bytes in $(ls "$RUN"/journal/*.jsonl | wc -l) segments ($(awk -v j="$JB" -v b="$BYTES" 'BEGIN{printf "%.2f", j/b}')x the input, $(awk -v j="$JB" -v n="$N" 'BEGIN{printf "%.0f", j/n}') bytes an event); snapshots: $(du -cb "$RUN"/journal/snapshots/*.snap 2>/dev/null | tail -1 | cut -f1) bytes"
    fi
    # (a') coord again on the same directory: replay the journal, nothing new.
    sync
    timed "$WORK/replay.out" "$COORD" watch "$RUN" --headless --once
    expect_summary "$WORK/replay.out" "coord replay"
    R+=("$T") RRSS+=("$RSS") RCPU+=("$CPU")
    # (a'') the same restart after a tenth of the events.
    timed "$WORK/small.out" "$COORD" watch "$SMALL" --headless --once
    expect_summary "$WORK/small.out" "coord replay (small)" "$NS"
    S+=("$T")
    # (b) lnav headless with the coord_json format.
    timed "$WORK/lnav.out" env HOME="$LNAV_HOME" lnav -n -q -c ';SELECT count(*) FROM coord_json' "$FILE"
    L+=("$T") LRSS+=("$RSS") LCPU+=("$CPU")
    # (c) jq
    timed /dev/null jq -c . "$FILE"
    J+=("$T")
    # (d) cat
    timed /dev/null cat "$FILE"
    K+=("$T")
    say "run $i/$RUNS: coord cold ${C[-1]} s (cpu ${CCPU[-1]} s, $(mb "${CRSS[-1]}")) | coord replay ${R[-1]} s (cpu ${RCPU[-1]} s, $(mb "${RRSS[-1]}")), after $NS: ${S[-1]} s | lnav ${L[-1]} s (cpu ${LCPU[-1]} s, $(mb "${LRSS[-1]}")) | jq ${J[-1]} s | cat ${K[-1]} s"
done

MC=$(median "${C[@]}") MR=$(median "${R[@]}") MS=$(median "${S[@]}") ML=$(median "${L[@]}") MJ=$(median "${J[@]}") MK=$(median "${K[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a <= b)}'; }
verdict() { if "$@"; then echo met; else echo MISSED; fi; }
say "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
say "medians of $RUNS runs, $N events, $BYTES bytes, page cache warm:"
printf '  %-48s %8s s   cpu %6s s   peak RSS %s\n' "coord watch --headless --once (cold ingest)" "$MC" "$(median "${CCPU[@]}")" "$(mb "$(max "${CRSS[@]}")")"
printf '  %-48s %8s s   cpu %6s s   peak RSS %s\n' "coord watch --headless --once (replay, restart)" "$MR" "$(median "${RCPU[@]}")" "$(mb "$(max "${RRSS[@]}")")"
printf '  %-48s %8s s\n' "the same restart after $NS events" "$MS"
printf '  %-48s %8s s   cpu %6s s   peak RSS %s\n' "lnav -n -q -c ';SELECT count(*) ...'" "$ML" "$(median "${LCPU[@]}")" "$(mb "$(max "${LRSS[@]}")")"
printf '  %-48s %8s s\n' "jq -c . > /dev/null" "$MJ"
printf '  %-48s %8s s\n' "cat > /dev/null" "$MK"
say "ratios: lnav/coord $(ratio "$ML" "$MC")x   jq/coord $(ratio "$MJ" "$MC")x   coord/cat $(ratio "$MC" "$MK")x"
say "target cold ingest <= 0.8 s: $(verdict le "$MC" 0.8) ($MC s)"
say "target >= 2.5x faster than lnav: $(verdict le 2.5 "$(ratio "$ML" "$MC")") ($(ratio "$ML" "$MC")x)"
say "target restart (replay $N events) <= 1.5 s: $(verdict le "$MR" 1.5) ($MR s)"
say "target restart after $N <= 2x restart after $NS: $(verdict le "$(ratio "$MR" "$MS")" 2) ($(ratio "$MR" "$MS")x: $MR s against $MS s)"
if [ -n "$TIMEV" ]; then
    say "memory <= 350 MB RSS: $(verdict le "$(max "${CRSS[@]}" "${RRSS[@]}")" 358400) (coord peak $(mb "$(max "${CRSS[@]}" "${RRSS[@]}")"))"
fi
