#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The monitor's embedded gateway against the headless one under the same fleetscope-sim load, alternated twice in
# one invocation (issue bar: within 10 % of headless with 15,000 devices posting every 2 s).
# Each line also gives the server process's CPU while the sim ran (utime+stime from /proc/PID/stat), so the
# monitor's own cost is the difference between the two lines (issue bar: under 15 % of a core).
# Usage: tests/bench/monitor-vs-headless.sh [BIN_DIR]   (default build/release/bin)
#   MODE=open CONNS=15000 INTERVAL=2000 DUR=15 (defaults); MODE=closed CONNS=256 for the saturated case.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(cd "${1:-$ROOT/build/release/bin}" && pwd)
MODE=${MODE:-open} CONNS=${CONNS:-15000} INTERVAL=${INTERVAL:-2000} DUR=${DUR:-15}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleetscope-mvh.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; } # utime + stime, after the name
HZ=$(getconf CLK_TCK)

run() { # NAME PORT CMD...
    local name=$1 port=$2
    shift 2
    "$@" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    local t0 c0
    t0=$(date +%s.%N) c0=$(cpu_ticks "$pid")
    "$BIN/fleetscope-sim" -t "127.0.0.1:$port" -c "$CONNS" -m "$MODE" -i "$INTERVAL" -d "$DUR" --json -q \
        >"$WORK/$name.json" 2>/dev/null || true
    local cpu
    cpu=$(awk -v c0="$c0" -v c1="$(cpu_ticks "$pid")" -v t0="$t0" -v t1="$(date +%s.%N)" -v hz="$HZ" \
        'BEGIN { printf "%.1f", 100 * (c1 - c0) / hz / (t1 - t0) }')
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print('%-10s %8.0f req/s  p99 %7.1f ms  server CPU %5s %% of a core' % (sys.argv[2], r['requests']['ok_rps'], \
r['latency_ms']['p99'], sys.argv[3]))" "$WORK/$name.json" "$name" "$cpu"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

echo "mode $MODE, $CONNS connections, interval $INTERVAL ms, $DUR s"
for round in 1 2; do
    run "headless" 18281 "$BIN/fleetscope-gateway" --listen 127.0.0.1:18281 --db "$WORK/h$round.db"
    run "monitor" 18282 env QT_QPA_PLATFORM=offscreen "$BIN/fleetscope" --listen 127.0.0.1:18282 --db "$WORK/m$round.db"
done
