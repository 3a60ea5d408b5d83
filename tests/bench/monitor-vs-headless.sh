#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The monitor's embedded gateway against the headless one under the same fleetscope-sim load, alternated twice in
# one invocation (issue bar: within 10 % of headless with 15,000 devices posting every 2 s). Prints each run, then
# the monitor/headless ratios of the 2xx rate, of the p99 and of the process CPU per 1,000 requests (the monitor's
# process holds the GUI thread too, so its extra CPU is what the monitor costs).
# Usage: tests/bench/monitor-vs-headless.sh [BIN_DIR]   (default build/release/bin)
#   MODE=open CONNS=15000 INTERVAL=2000 DUR=15 ROUNDS=2 (defaults); MODE=closed CONNS=256 for the saturated case;
#   BENCH_NICE as in run-bench.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"
BIN=$(cd "${1:-$ROOT/build/release/bin}" && pwd)
MODE=${MODE:-open} CONNS=${CONNS:-15000} INTERVAL=${INTERVAL:-2000} DUR=${DUR:-15} ROUNDS=${ROUNDS:-2}
for exe in fleetscope-gateway fleetscope fleetscope-sim; do
    [[ -x $BIN/$exe ]] || { echo "monitor-vs-headless.sh: $BIN/$exe is not built" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleetscope-mvh.XXXXXX")
PID=
cleanup() {
    if [[ -n $PID ]]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range, so no client port takes it
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
    echo "monitor-vs-headless.sh: no free port in 20000-31999" >&2
    exit 1
}
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

run() { # NAME ROUND CMD... (the command takes --listen HOST:PORT appended)
    local name=$1 round=$2 port
    shift 2
    port=$(free_port)
    "$@" --listen "127.0.0.1:$port" >"$WORK/$name.$round.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        kill -0 "$PID" 2>/dev/null || { echo "$name exited; its log:" >&2; cat "$WORK/$name.$round.log" >&2; exit 1; }
        sleep 0.2
    done
    local c0 c1
    c0=$(cpu_ticks "$PID")
    "$BIN/fleetscope-sim" -t "127.0.0.1:$port" -c "$CONNS" -m "$MODE" -i "$INTERVAL" -d "$DUR" --json -q \
        >"$WORK/$name.$round.json" 2>/dev/null || true
    c1=$(cpu_ticks "$PID")
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
    python3 - "$WORK/$name.$round.json" "$name" $((c1 - c0)) "$(getconf CLK_TCK)" "$WORK/results" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
name, ticks, hz = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ok, rps, p99 = r['requests']['ok'], r['requests']['ok_rps'], r['latency_ms']['p99']
cpu = ticks / hz * 1e6 / ok if ok else float('nan')
print('%-9s %8.0f req/s 2xx  p99 %7.1f ms  process CPU %6.1f ms per 1,000 requests' % (name, rps, p99, cpu))
with open(sys.argv[5], 'a') as f:
    f.write('%s %f %f %f\n' % (name, rps, p99, cpu))
EOF
}

echo "mode $MODE, $CONNS connections, interval $INTERVAL ms, $DUR s, $ROUNDS rounds"
echo "load $(uptime | sed 's/.*average: //')"
echo "scheduling: $BENCH_SCHEDULING"
for ((round = 1; round <= ROUNDS; round++)); do
    run headless "$round" "$BIN/fleetscope-gateway" --db "$WORK/h$round.db"
    run monitor "$round" env QT_QPA_PLATFORM=offscreen "$BIN/fleetscope" --db "$WORK/m$round.db"
done
python3 - "$WORK/results" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
def mean(name, i):
    v = [float(r[i]) for r in rows if r[0] == name]
    return sum(v) / len(v)
h = [mean('headless', i) for i in (1, 2, 3)]
m = [mean('monitor', i) for i in (1, 2, 3)]
print('monitor / headless (means over the rounds): req/s %.2fx, p99 %.2fx, CPU per request %.2fx'
      % (m[0] / h[0], m[1] / h[1], m[2] / h[2]))
EOF
