#!/usr/bin/env bash
# A/B of cold ingest between coord binaries (how the README's "against the tree
# before" figures were measured).
#
#   bench/ab.sh [--threads|--restart] EVENTS_FILE LABEL=BINARY [LABEL=BINARY ...]
#
# e.g. build two commits into two target directories, then
#   python3 bench/gen_events.py /tmp/ev.jsonl 1000000
#   bench/ab.sh /tmp/ev.jsonl before=/tmp/a/release/coord after=/tmp/b/release/coord
#
# Runs `BINARY watch DIR --headless --once` on a fresh copy of EVENTS_FILE, the
# binaries alternating, AB_RUNS rounds (default 10). Each run starts after a
# pause of AB_PAUSE seconds (default 10): memory freed a moment ago is still warm
# in the host on these virtual machines, and a quick loop of runs would measure
# something bench/ingest.sh's cold runs (between lnav and jq) never meet.
# Prints each label's medians: wall clock, CPU (user, sys), minor faults, peak RSS.
#
# --threads: under `perf sched record` instead, each thread's CPU (medians);
# perf slows every thread, so compare these figures with each other only.
# --restart: each binary first ingests its own copy once; each round is then a
# restart on it (the same command again: its snapshot, nothing new to read),
# wall clock from bash's $EPOCHREALTIME (GNU time's is in hundredths).
# AB_TMP: where the copies go (default $TMPDIR or /tmp; a real disk: coord fsyncs).
set -euo pipefail
export LC_ALL=C

THREADS=
RESTART=
if [ "${1:-}" = --threads ]; then
    THREADS=1
    shift
elif [ "${1:-}" = --restart ]; then
    RESTART=1
    shift
fi
[ $# -ge 2 ] || { sed -n '2,22p' "$0"; exit 2; }
EVENTS=$1
shift
[ -f "$EVENTS" ] || { echo "ab: no such file: $EVENTS" >&2; exit 2; }
for spec in "$@"; do
    bin=${spec#*=}
    [ "$bin" != "$spec" ] && [ -x "$bin" ] || { echo "ab: want LABEL=BINARY, got $spec" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "ab: needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }
if [ -n "$THREADS" ] && ! command -v perf >/dev/null; then
    echo "ab: --threads needs perf (apt-get install linux-perf)" >&2
    exit 2
fi
RUNS=${AB_RUNS:-10}
PAUSE=${AB_PAUSE:-10}
WORK=$(mktemp -d "${AB_TMP:-${TMPDIR:-/tmp}}/coord-ab.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results

if [ -n "$RESTART" ]; then
    for spec in "$@"; do
        label=${spec%%=*}
        mkdir -p "$WORK/r-$label/events"
        cp "$EVENTS" "$WORK/r-$label/events/"
        "${spec#*=}" watch "$WORK/r-$label" --headless --once >/dev/null 2>&1
        echo "ab: $label ingested" >&2
    done
fi

for round in $(seq "$RUNS"); do
    for spec in "$@"; do
        label=${spec%%=*}
        bin=${spec#*=}
        if [ -n "$RESTART" ]; then
            sync
            sleep "$PAUSE"
            start=$EPOCHREALTIME
            /usr/bin/time -o "$WORK/t" -f "%U %S %R %M" "$bin" watch "$WORK/r-$label" --headless --once >/dev/null 2>&1
            end=$EPOCHREALTIME
            echo "$label $(python3 -c "print(f'{$end - $start:.4f}')") $(cat "$WORK/t")" >>"$RESULTS"
            echo "ab: round $round/$RUNS $label done" >&2
            continue
        fi
        rm -rf "$WORK/d"
        mkdir -p "$WORK/d/events"
        cp "$EVENTS" "$WORK/d/events/"
        sync
        sleep "$PAUSE"
        if [ -n "$THREADS" ]; then
            # The shell's pid is the binary's once it execs: its threads are
            # told from everything else the machine ran meanwhile by it.
            perf sched record -q -o "$WORK/sched.data" \
                sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$WORK/pid" \
                "$bin" watch "$WORK/d" --headless --once >/dev/null 2>&1
            # The summary's run time (ms) of each thread of it, by name.
            perf sched timehist -i "$WORK/sched.data" -s 2>/dev/null |
                awk -v l="$label" -v pid="$(cat "$WORK/pid")" '/Terminated tasks/ {p = 1; next}
                    p && NF >= 9 && ($1 ~ "\\[" pid "\\]$" || $1 ~ "/" pid "\\]$") {
                        split($1, a, "["); n = a[1]; if (a[2] == pid "]") n = "main"; print l, n, $4
                    }' >>"$RESULTS"
        else
            /usr/bin/time -o "$WORK/t" -f "%e %U %S %R %M" "$bin" watch "$WORK/d" --headless --once >/dev/null 2>&1
            echo "$label $(cat "$WORK/t")" >>"$RESULTS"
        fi
        echo "ab: round $round/$RUNS $label done" >&2
    done
done

python3 - "$RESULTS" "$THREADS" <<'PY'
import collections, statistics, sys
path, threads = sys.argv[1], sys.argv[2]
med = statistics.median
rows = [l.split() for l in open(path)]
if threads:
    d, labels, names = collections.defaultdict(list), [], []
    for label, name, ms in rows:
        d[(label, name)].append(float(ms))
        labels += [label] if label not in labels else []
        names += [name] if name not in names else []
    print("ab: CPU ms a thread, medians")
    print("%-10s" % "", *["%12s" % n[:12] for n in names], "%10s" % "sum")
    for l in labels:
        row = [med(d[(l, n)]) if d[(l, n)] else 0 for n in names]
        print("%-10s" % l, *["%12.0f" % x for x in row], "%10.0f" % sum(row))
else:
    d = collections.defaultdict(list)
    for label, *v in rows:
        d[label].append([float(x) for x in v])
    for l, v in d.items():
        col = lambda i: med([x[i] for x in v])
        print(f"ab: {l:10s} n={len(v)} wall {col(0):.4f} s (min {min(x[0] for x in v):.4f})"
              f" cpu {med([x[1] + x[2] for x in v]):.2f} s (user {col(1):.2f}, sys {col(2):.2f})"
              f" minflt {col(3):.0f} rss {col(4) / 1024:.0f} MB")
PY
