#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The committed-throughput cost of alert rules: fleetscope-sim (closed loop, back to back) against the headless
# fleetscope-gateway without rules and with the 100 rules of bench_alerts, alternated in one invocation
# (off, on, on, off, ...). Prints each run's committed req/s and gateway CPU per 1,000 requests, then the
# ratios of the medians. Gateway CPU per request is the steadier figure on a shared machine.
# Usage: tests/bench/alerts-cost.sh [--bin-dir DIR]   (default build/release/bin)
#   env: PAIRS=4 DURATION=5 CONNS=256; BENCH_NICE as in run-bench.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"
BIN_DIR=$ROOT/build/release/bin
if [[ ${1:-} == --bin-dir ]]; then BIN_DIR=$(cd "$2" && pwd); fi
PAIRS=${PAIRS:-4}
DURATION=${DURATION:-5}
CONNS=${CONNS:-256}
for p in fleetscope-gateway fleetscope-sim bench_alerts; do
    [[ -x $BIN_DIR/$p ]] || { echo "alerts-cost.sh: $BIN_DIR/$p is missing; build it first" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/fleetscope-alerts-cost.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$BIN_DIR/bench_alerts" --write-rules "$WORK/alerts.json"
TICK=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run INDEX RULES-FILE -> prints "req_s cpu_ms_per_1000 raised"
run() {
    local out=$WORK/gw$1.out
    "$BIN_DIR/fleetscope-gateway" --listen 127.0.0.1:0 --db "$WORK/run$1.db" --alert-rules "$2" >"$out" 2>"$WORK/gw$1.err" &
    local pid=$!
    for _ in $(seq 100); do grep -qs '^listening on ' "$out" && break; sleep 0.1; done
    local addr
    addr=$(sed -n 's/^listening on //p' "$out")
    local c0
    c0=$(cpu_ticks $pid)
    "$BIN_DIR/fleetscope-sim" --target "$addr" -c "$CONNS" -m closed -d "$DURATION" -k 4 --json -q >"$WORK/sim$1.json"
    local c1
    c1=$(cpu_ticks $pid)
    kill -INT $pid
    wait $pid
    # CPU from just before the simulator starts to just after it ends, against every sample committed in the
    # run (one sample per request), which the gateway reports on stderr as it stops.
    python3 - "$WORK/sim$1.json" "$c0" "$c1" "$TICK" "$out" "$WORK/gw$1.err" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))["requests"]
cpu_ms = (int(sys.argv[3]) - int(sys.argv[2])) * 1000.0 / int(sys.argv[4])
committed = int(re.search(r"stopped; (\d+) samples committed", open(sys.argv[6]).read()).group(1))
raised = sum(1 for line in open(sys.argv[5]) if " alert raised " in line)
print(f'{r["ok_rps"]:.0f} {cpu_ms * 1000.0 / max(committed, 1):.1f} {raised}')
PY
}

# "$WORK/none.json" is never created: a missing rules file is no rules.
declare -a OFF_RPS ON_RPS OFF_CPU ON_CPU
for ((i = 0; i < 2 * PAIRS; i++)); do
    if ((i % 4 == 1 || i % 4 == 2)); then rules=$WORK/alerts.json; name="100 rules"; else rules=$WORK/none.json; name="no rules"; fi
    read -r rps cpu raised < <(run "$i" "$rules")
    printf 'run %d %-9s %8s committed req/s  %6s ms gateway CPU per 1,000 requests  %s alerts raised\n' "$i" "$name" "$rps" "$cpu" "$raised"
    if [[ $name == "100 rules" ]]; then ON_RPS+=("$rps"); ON_CPU+=("$cpu"); else OFF_RPS+=("$rps"); OFF_CPU+=("$cpu"); fi
done
python3 - "${OFF_RPS[*]}" "${ON_RPS[*]}" "${OFF_CPU[*]}" "${ON_CPU[*]}" <<'PY'
import statistics, sys
off, on, coff, con = ([float(x) for x in a.split()] for a in sys.argv[1:5])
mo, mn, co, cn = (statistics.median(v) for v in (off, on, coff, con))
print(f"median committed req/s: {mo:.0f} without rules, {mn:.0f} with 100 rules: ratio {mn / mo:.3f} ({100 * (1 - mn / mo):+.1f}% cost)")
print(f"median gateway CPU per 1,000 requests: {co:.1f} ms without, {cn:.1f} ms with: ratio {cn / co:.3f} ({100 * (cn / co - 1):+.1f}% CPU)")
PY
