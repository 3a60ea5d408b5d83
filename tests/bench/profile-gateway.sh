#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Where a gateway's CPU per request goes under load: runs fleetscope-sim against a fresh gateway, records the
# gateway with `perf record -g` (software cpu-clock event: this machine has no hardware counters) over the run
# window, and prints perf_breakdown.py's tables: the whole process and each busy thread, by category (HTTP
# parsing, fiber or goroutine scheduling, JSON, SQLite, syscalls, allocation...), in % and in us per request.
# Usage: tests/bench/profile-gateway.sh [--go] [--gateway PATH] [--connections N] [--seconds S] [--freq HZ]
#                                       [--open-loop] [--dwarf] [--under REGEX]... [--bin-dir DIR] [--keep]
#   --go           profile the Go peer (build/release/go-gateway/go-gateway) instead of FleetScope's gateway
#   --gateway      the FleetScope gateway to profile (default BIN_DIR/fleetscope-gateway)
#   --connections  simulator connections (default 256, back to back)
#   --seconds      profiled seconds (default 10); the simulator runs 2 s longer
#   --freq         samples per second per CPU (default 1999)
#   --open-loop    15,000 devices posting every 2 s (or --connections N) instead of back to back
#   --dwarf        full user-space call chains (perf --call-graph dwarf; heavier, use --freq 499), so that
#   --under REGEX  can report the CPU spent under a function, e.g. 'Store::Impl::write_batch'; repeatable
#   --keep         keep perf.data (written to build/release/bench/profile-NAME.perf.data)
# BENCH_NICE as in run-bench.sh. Needs perf (linux-perf), jq and python3. The profile text goes to stdout and to
# build/release/bench/profile-NAME.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"
# shellcheck source=tests/bench/proc-helpers.sh
source "$ROOT/tests/bench/proc-helpers.sh"
BIN_DIR=$ROOT/build/release/bin
GATEWAY=
GO=0
CONNS=
SECONDS_=10
FREQ=1999
OPEN=0
KEEP=0
DWARF=0
UNDER=()
while (($#)); do
    case $1 in
    --go) GO=1 ;;
    --gateway) GATEWAY=$2; shift ;;
    --connections) CONNS=$2; shift ;;
    --seconds) SECONDS_=$2; shift ;;
    --freq) FREQ=$2; shift ;;
    --open-loop) OPEN=1 ;;
    --dwarf) DWARF=1 ;;
    --under) UNDER+=(--under "$2"); shift ;;
    --bin-dir) BIN_DIR=$(cd "$2" && pwd); shift ;;
    --keep) KEEP=1 ;;
    -h | --help)
        awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) echo "profile-gateway.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
command -v perf >/dev/null || { echo "profile-gateway.sh: perf not found (apt-get install linux-perf)" >&2; exit 1; }
SIM=$BIN_DIR/fleetscope-sim
[[ -x $SIM ]] || { echo "profile-gateway.sh: $SIM not built" >&2; exit 1; }

LOG_DIR=$ROOT/build/release/bench
mkdir -p "$LOG_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleetscope-profile.XXXXXX")
GW_PID=
SIM_PID=
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

PORT=$((20000 + RANDOM % 12000))
if ((GO)); then
    NAME=go
    GATEWAY=${GATEWAY:-$ROOT/build/release/go-gateway/go-gateway}
    [[ -x $GATEWAY ]] || { echo "profile-gateway.sh: $GATEWAY not built (run run-bench.sh once)" >&2; exit 1; }
    "$GATEWAY" -listen "127.0.0.1:$PORT" -db "$WORK/gw.db" >"$WORK/gw.out" 2>"$LOG_DIR/profile-$NAME.stderr.log" &
else
    NAME=fleetscope
    GATEWAY=${GATEWAY:-$BIN_DIR/fleetscope-gateway}
    [[ -x $GATEWAY ]] || { echo "profile-gateway.sh: $GATEWAY not built" >&2; exit 1; }
    "$GATEWAY" --listen "127.0.0.1:$PORT" --db "$WORK/gw.db" >"$WORK/gw.out" 2>"$LOG_DIR/profile-$NAME.stderr.log" &
fi
GW_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" "$WORK/gw.out" && break
    kill -0 "$GW_PID" 2>/dev/null || { echo "profile-gateway.sh: the gateway exited" >&2; exit 1; }
    sleep 0.1
done
sleep 1

if ((OPEN)); then
    SIM_ARGS=(--connections "${CONNS:-15000}" --mode open --interval 2000)
else
    SIM_ARGS=(--connections "${CONNS:-256}" --mode closed)
fi
"$SIM" --target "127.0.0.1:$PORT" "${SIM_ARGS[@]}" --duration $((SECONDS_ + 2)) --json >"$WORK/sim.json" \
    2>"$WORK/sim.err" &
SIM_PID=$!
while kill -0 "$SIM_PID" 2>/dev/null && ! grep -qs "running" "$WORK/sim.err"; do sleep 0.02; done
sleep 0.5 # past the first burst of the run

PERF_DATA=$LOG_DIR/profile-$NAME.perf.data
c0=$(cpu_ticks "$GW_PID")
t0=$(date +%s.%N)
CALL_GRAPH=(-g)
((DWARF)) && CALL_GRAPH=(--call-graph "dwarf,16384")
perf record -e cpu-clock -F "$FREQ" "${CALL_GRAPH[@]}" -p "$GW_PID" -o "$PERF_DATA" -- sleep "$SECONDS_" \
    >"$WORK/perf.log" 2>&1
t1=$(date +%s.%N)
c1=$(cpu_ticks "$GW_PID")
wait "$SIM_PID" || true
SIM_PID=
ok_rps=$(jq -r .requests.ok_rps "$WORK/sim.json")
# Requests in the window: the simulator's mean rate over its run times the window (its progress lines come only
# once a second).
requests=$(awk -v r="$ok_rps" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", r * (b - a) }')
cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }')

{
    echo "profile of $NAME: $GATEWAY"
    summary='"\(.requests.ok_rps) req/s 2xx, p99 \(.latency_ms.p99) ms, client \(.client.run_cpu_s) s CPU"'
    echo "load: fleetscope-sim ${SIM_ARGS[*]}; $(jq -r "$summary" "$WORK/sim.json")"
    window_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    per_request=$(awk -v c="$cpu_s" -v n="$requests" 'BEGIN { if (n > 0) printf "%.1f", c * 1e6 / n; else print "?" }')
    echo "window: $window_s s, about $requests requests, gateway CPU $cpu_s s by /proc, $per_request us per request"
    echo "machine load: $(uptime | sed 's/.*load average: //'); scheduling: $BENCH_SCHEDULING"
    echo "command: perf record -e cpu-clock -F $FREQ ${CALL_GRAPH[*]} -p PID -- sleep $SECONDS_"
    perf script -i "$PERF_DATA" -F tid,period,ip,sym,dso 2>/dev/null |
        python3 "$ROOT/tests/bench/perf_breakdown.py" --requests "$requests" --cpu-seconds "$cpu_s" "${UNDER[@]}"
} | tee "$LOG_DIR/profile-$NAME.txt"
((KEEP)) || rm -f "$PERF_DATA"
