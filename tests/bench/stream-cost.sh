#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# What GET /v1/stream subscribers cost the gateway: fleetscope-sim (closed loop, back to back) against the
# headless fleetscope-gateway with no stream open and with STREAMS readers (curl -N, each reading every event:
# snapshots and every committed sample), alternated in one invocation (none, streams, streams, none, ...).
# Prints each run's committed req/s and gateway CPU per 1,000 requests, then the ratios of the medians.
# Usage: tests/bench/stream-cost.sh [--bin-dir DIR]   (default build/release/bin)
#   env: PAIRS=3 DURATION=5 CONNS=256 STREAMS=2; BENCH_NICE as in run-bench.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"
BIN_DIR=$ROOT/build/release/bin
if [[ ${1:-} == --bin-dir ]]; then BIN_DIR=$(cd "$2" && pwd); fi
PAIRS=${PAIRS:-3}
DURATION=${DURATION:-5}
CONNS=${CONNS:-256}
STREAMS=${STREAMS:-2}
for p in fleetscope-gateway fleetscope-sim; do
    [[ -x $BIN_DIR/$p ]] || { echo "stream-cost.sh: $BIN_DIR/$p is missing; build it first" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "stream-cost.sh: needs curl (Debian: curl) for the stream readers" >&2; exit 2; }

WORK=$(mktemp -d /tmp/fleetscope-stream-cost.XXXXXX)
READERS=()
cleanup() {
    for r in "${READERS[@]}"; do kill "$r" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
TICK=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run INDEX READERS -> prints "req_s cpu_ms_per_1000 stream_bytes"
run() {
    local out=$WORK/gw$1.out
    "$BIN_DIR/fleetscope-gateway" --listen 127.0.0.1:0 --db "$WORK/run$1.db" --alert-rules "$WORK/none.json" \
        >"$out" 2>"$WORK/gw$1.err" &
    local pid=$!
    for _ in $(seq 100); do grep -qs '^listening on ' "$out" && break; sleep 0.1; done
    local addr
    addr=$(sed -n 's/^listening on //p' "$out")
    READERS=()
    for ((s = 0; s < $2; s++)); do
        curl -sN "http://$addr/v1/stream" >"$WORK/stream$1.$s" &
        READERS+=("$!")
    done
    sleep 0.5 # the readers are subscribed before the load starts
    local c0
    c0=$(cpu_ticks $pid)
    "$BIN_DIR/fleetscope-sim" --target "$addr" -c "$CONNS" -m closed -d "$DURATION" -k 4 --json -q >"$WORK/sim$1.json"
    local c1
    c1=$(cpu_ticks $pid)
    for r in "${READERS[@]}"; do kill "$r" 2>/dev/null || true; wait "$r" 2>/dev/null || true; done
    READERS=()
    kill -INT $pid
    wait $pid
    local bytes=0
    for f in "$WORK"/stream"$1".*; do [[ -e $f ]] && bytes=$((bytes + $(stat -c %s "$f"))); done
    python3 - "$WORK/sim$1.json" "$c0" "$c1" "$TICK" "$WORK/gw$1.err" "$bytes" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))["requests"]
cpu_ms = (int(sys.argv[3]) - int(sys.argv[2])) * 1000.0 / int(sys.argv[4])
committed = int(re.search(r"stopped; (\d+) samples committed", open(sys.argv[5]).read()).group(1))
print(f'{r["ok_rps"]:.0f} {cpu_ms * 1000.0 / max(committed, 1):.1f} {sys.argv[6]}')
PY
}

declare -a OFF_RPS ON_RPS OFF_CPU ON_CPU
for ((i = 0; i < 2 * PAIRS; i++)); do
    if ((i % 4 == 1 || i % 4 == 2)); then n=$STREAMS; else n=0; fi
    read -r rps cpu bytes < <(run "$i" "$n")
    printf 'run %d %d streams %8s committed req/s  %6s ms gateway CPU per 1,000 requests  %s stream bytes read\n' \
        "$i" "$n" "$rps" "$cpu" "$bytes"
    if ((n > 0)); then ON_RPS+=("$rps"); ON_CPU+=("$cpu"); else OFF_RPS+=("$rps"); OFF_CPU+=("$cpu"); fi
done
python3 - "${OFF_RPS[*]}" "${ON_RPS[*]}" "${OFF_CPU[*]}" "${ON_CPU[*]}" "$STREAMS" <<'PY'
import statistics, sys
off, on, coff, con = ([float(x) for x in a.split()] for a in sys.argv[1:5])
mo, mn, co, cn = (statistics.median(v) for v in (off, on, coff, con))
print(f"median committed req/s: {mo:.0f} without streams, {mn:.0f} with {sys.argv[5]}: ratio {mn / mo:.3f}")
print(f"median gateway CPU per 1,000 requests: {co:.1f} ms without, {cn:.1f} ms with: ratio {cn / co:.3f}")
PY
