#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# HTTPS on two gateway builds side by side, a baseline and a candidate, in one invocation, with the same client
# (the candidate's fleetscope-sim --tls) on the same host and a certificate made for the run:
#   (a) idle hold: gateway RSS before and while holding N HTTPS keep-alive connections, as bytes per connection
#       (as run-bench.sh measures plain connections: sampled once all are held and past park-after);
#   (b) handshakes: N connections opened as fast as the simulator opens them (closed mode, whose ramp is TCP
#       connect and TLS handshake): handshakes per second, and gateway CPU per handshake over the ramp;
#   (c) closed loop: 256 HTTPS connections posting back to back: committed req/s, p99, gateway CPU per request.
# Every scenario starts a fresh gateway on a fresh database; every round runs both gateways, alternating which
# goes first. The table gives min-max over the rounds and the candidate/baseline ratio within each round.
# Usage: tests/bench/tls-bench.sh --baseline PATH [--gateway PATH] [--sim PATH] [--rounds N]
#                                 [--connections N] [--duration S] [--hold S] [--scenarios LIST]
#   --baseline     the gateway to compare against, e.g. one built at main:
#                    git worktree add /tmp/fs-main main && cd /tmp/fs-main &&
#                    cmake --preset release && cmake --build --preset release --target fleetscope-gateway
#   --gateway      the candidate (default build/release/bin/fleetscope-gateway)
#   --sim          the client (default build/release/bin/fleetscope-sim)
#   --rounds N     rounds (default 3)
#   --connections  connections held in (a) and opened in (b) (default 3000)
#   --duration S   seconds of the closed loop (default 10)
#   --hold S       seconds the connections of (a) are held (default 8)
#   --scenarios    comma-separated subset of hold,handshake,closed (default: all)
# Environment: BENCH_NICE, as run-bench.sh (see own-session.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"
# shellcheck source=tests/bench/proc-helpers.sh
source "$ROOT/tests/bench/proc-helpers.sh"
BASELINE=
CANDIDATE=$ROOT/build/release/bin/fleetscope-gateway
SIM=$ROOT/build/release/bin/fleetscope-sim
ROUNDS=3
CONNS=3000
DURATION=10
HOLD_S=8
SCENARIOS=hold,handshake,closed
while (($#)); do
    case $1 in
    --baseline) BASELINE=$2; shift ;;
    --gateway) CANDIDATE=$2; shift ;;
    --sim) SIM=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --connections) CONNS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --hold) HOLD_S=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    -h | --help)
        awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "tls-bench.sh: unknown option '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
say() { printf '%s\n' "$*" >&2; }
[[ -n $BASELINE ]] || { say "tls-bench.sh: --baseline PATH is required (see --help)"; exit 2; }
for exe in "$BASELINE" "$CANDIDATE" "$SIM"; do
    [[ -x $exe ]] || { say "tls-bench.sh: $exe is not an executable"; exit 2; }
done
for n in "$ROUNDS" "$CONNS" "$DURATION" "$HOLD_S"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { say "tls-bench.sh: rounds, connections, duration and hold take positive integers"; exit 2; }
done
command -v jq >/dev/null 2>&1 || { say "tls-bench.sh needs jq to read the simulator's JSON report"; exit 1; }
command -v openssl >/dev/null 2>&1 || { say "tls-bench.sh needs the openssl command for its certificate"; exit 1; }
want() { [[ ,$SCENARIOS, == *,$1,* ]]; }

LOG_DIR=$ROOT/build/release/tls-bench
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/*.json "$LOG_DIR"/*.log "$LOG_DIR"/summary.txt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleetscope-tls-bench.XXXXXX")
GW_PID=
SIM_PID=
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

jnum() { local v; v=$(jq -r "$2 // empty" "$1" 2>/dev/null || true); echo "${v:-0}"; }

# start_gateway EXE TAG : a fresh gateway with HTTPS on a fresh database; sets GW_PID and TARGET.
start_gateway() {
    local exe=$1 tag=$2 port out=$WORK/$2.out
    port=$(free_port)
    rm -f "$WORK"/gw.db*
    "$exe" --listen "127.0.0.1:$port" --db "$WORK/gw.db" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" \
        >"$out" 2>"$LOG_DIR/$tag.gateway.log" &
    GW_PID=$!
    for _ in $(seq 300); do
        grep -qs "listening on" "$out" && { TARGET=127.0.0.1:$port; return 0; }
        kill -0 "$GW_PID" 2>/dev/null || { say "$tag: the gateway exited; see $LOG_DIR/$tag.gateway.log"; exit 1; }
        sleep 0.1
    done
    say "$tag: no 'listening on' within 30 s"
    exit 1
}
stop_gateway() {
    kill -0 "$GW_PID" 2>/dev/null || say "   the gateway died during the run; see its log in $LOG_DIR"
    kill -TERM "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
    GW_PID=
}
# sim TAG ARGS... : runs the client in the background, its JSON to TAG.json, its progress to TAG.sim.log.
sim() {
    local tag=$1
    shift
    : >"$LOG_DIR/$tag.sim.log"
    "$SIM" --tls --target "$TARGET" "$@" --json >"$LOG_DIR/$tag.json" 2>>"$LOG_DIR/$tag.sim.log" &
    SIM_PID=$!
}
# await_line TAG REGEX : until the client's progress shows REGEX, or it ended.
await_line() {
    while kill -0 "$SIM_PID" 2>/dev/null && ! grep -qsE "$2" "$LOG_DIR/$1.sim.log"; do sleep 0.05; done
}
sim_wait() {
    wait "$SIM_PID" || true
    SIM_PID=
}

declare -A R # "<which>.<round>.<figure>"

scenario_hold() {
    local which=$1 round=$2 tag=$1.$2.hold
    start_gateway "${EXE[$which]}" "$tag"
    sleep 1
    local rss0 rss1 held
    rss0=$(rss_kb "$GW_PID")
    sim "$tag" --connections "$CONNS" --mode hold --hold "$HOLD_S"
    await_line "$tag" '^holding'
    sleep "$(calc "print $HOLD_S * 0.6")"
    rss1=$(rss_kb "$GW_PID")
    sim_wait
    held=$(jnum "$LOG_DIR/$tag.json" .hold.held)
    R[$which.$round.held]=$held
    R[$which.$round.hold_failed]=$(jnum "$LOG_DIR/$tag.json" .hold.failed)
    ((held > 0)) && R[$which.$round.bytes_per_conn]=$(((rss1 - rss0) * 1024 / held))
    say "   (a) held $held, RSS $rss0 kB -> $rss1 kB: ${R[$which.$round.bytes_per_conn]:-?} bytes each"
    stop_gateway
}

scenario_handshake() {
    local which=$1 round=$2 tag=$1.$2.handshake
    start_gateway "${EXE[$which]}" "$tag"
    sleep 1
    local c0 c1 opened ramp_s
    c0=$(cpu_ticks "$GW_PID")
    sim "$tag" --connections "$CONNS" --mode closed --duration 1
    await_line "$tag" 'running'
    c1=$(cpu_ticks "$GW_PID")
    sim_wait
    opened=$(jnum "$LOG_DIR/$tag.json" .connections.opened)
    ramp_s=$(jnum "$LOG_DIR/$tag.json" .connections.ramp_s)
    if ((opened > 0)) && [[ $(calc "print ($ramp_s > 0)") == 1 ]]; then
        R[$which.$round.hs_rate]=$(calc "printf \"%.0f\", $opened / $ramp_s")
        R[$which.$round.hs_cpu]=$(calc "printf \"%.0f\", ($c1 - $c0) / $HZ * 1e6 / $opened")
    fi
    R[$which.$round.hs_failed]=$(($(jnum "$LOG_DIR/$tag.json" .connections.failed) +
        $(jnum "$LOG_DIR/$tag.json" .connections.refused)))
    say "   (b) $opened handshakes in $ramp_s s: ${R[$which.$round.hs_rate]:-?}/s," \
        "${R[$which.$round.hs_cpu]:-?} us of gateway CPU each"
    stop_gateway
}

scenario_closed() {
    local which=$1 round=$2 tag=$1.$2.closed json
    json=$LOG_DIR/$1.$2.closed.json
    start_gateway "${EXE[$which]}" "$tag"
    sleep 1
    local c0 c1 ok
    sim "$tag" --connections 256 --mode closed --duration "$DURATION"
    await_line "$tag" 'running'
    c0=$(cpu_ticks "$GW_PID")
    sim_wait
    c1=$(cpu_ticks "$GW_PID")
    ok=$(jnum "$json" .requests.ok)
    R[$which.$round.rps]=$(jnum "$json" .requests.ok_rps)
    R[$which.$round.p99]=$(jnum "$json" .latency_ms.p99)
    R[$which.$round.errors]=$(($(jnum "$json" .errors.total) + $(jnum "$json" .requests.responses) - ok))
    ((ok > 0)) && R[$which.$round.req_cpu]=$(calc "printf \"%.1f\", ($c1 - $c0) / $HZ * 1e6 / $ok")
    say "   (c) ${R[$which.$round.rps]} req/s committed, p99 ${R[$which.$round.p99]} ms," \
        "${R[$which.$round.req_cpu]:-?} us of gateway CPU per request"
    stop_gateway
}

declare -A EXE=([baseline]=$BASELINE [candidate]=$CANDIDATE)
START=$(date +%s)
LOAD_BEFORE=$(uptime)
for ((round = 1; round <= ROUNDS; round++)); do
    order=(baseline candidate)
    ((round % 2 == 0)) && order=(candidate baseline)
    for scen in hold handshake closed; do
        want "$scen" || continue
        for which in "${order[@]}"; do
            say "== round $round/$ROUNDS, $scen, $which"
            "scenario_$scen" "$which" "$round"
        done
    done
done
LOAD_AFTER=$(uptime)

# cell WHICH FIGURE : min-max over the rounds.
cell() {
    local vals=() r v
    for ((r = 1; r <= ROUNDS; r++)); do
        v=${R[$1.$r.$2]:-}
        [[ -n $v ]] && vals+=("$v")
    done
    ((${#vals[@]})) || { echo "-"; return; }
    local lo hi
    read -r lo hi < <(span "${vals[@]}")
    [[ $lo == "$hi" ]] && echo "$lo" || echo "$lo-$hi"
}
# ratio FIGURE : candidate / baseline within each round, min-max.
ratio() {
    local vals=() r a b
    for ((r = 1; r <= ROUNDS; r++)); do
        a=${R[candidate.$r.$1]:-}
        b=${R[baseline.$r.$1]:-}
        [[ -n $a && -n $b ]] && [[ $(calc "print ($b != 0)") == 1 ]] && vals+=("$(calc "printf \"%.2f\", $a / $b")")
    done
    ((${#vals[@]})) || { echo "-"; return; }
    local lo hi
    read -r lo hi < <(span "${vals[@]}")
    [[ $lo == "$hi" ]] && echo "${lo}x" || echo "${lo}-${hi}x"
}
row() { # SCEN LABEL FIGURE [NOTE]
    want "$1" || return 0
    printf '%-44s %15s %15s %13s  %s\n' "$2" "$(cell baseline "$3")" "$(cell candidate "$3")" "$(ratio "$3")" "${4:-}"
}
{
    echo ""
    echo "FleetScope HTTPS benchmark, $ROUNDS round(s), $(date -u +%Y-%m-%dT%H:%MZ), $(($(date +%s) - START)) s"
    echo "baseline:  $BASELINE"
    echo "candidate: $CANDIDATE"
    echo "machine: $(nproc) cores, Linux $(uname -r), client and gateway on the same host; $BENCH_SCHEDULING"
    echo "load before: ${LOAD_BEFORE#*load average: }; after: ${LOAD_AFTER#*load average: }"
    echo ""
    printf '%-44s %15s %15s %13s\n' "" baseline candidate "cand./base"
    row hold "(a) idle HTTPS connections held" held
    row hold "    RSS per idle connection, bytes" bytes_per_conn "lower is better"
    row hold "    failed the check after the hold" hold_failed
    row handshake "(b) handshakes per second" hs_rate "higher is better"
    row handshake "    gateway CPU per handshake, us" hs_cpu "lower is better"
    row handshake "    connections failed or refused" hs_failed
    row closed "(c) 256 conns: committed req/s" rps "higher is better"
    row closed "    p99 latency, ms" p99 "lower is better"
    row closed "    gateway CPU per request, us" req_cpu "lower is better"
    row closed "    errors, non-2xx" errors
    echo ""
    echo "logs and JSON reports: $LOG_DIR"
} | tee "$LOG_DIR/summary.txt"
