#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Scale-out, in one invocation, with the same client (fleetscope-sim, 256 connections posting back to back):
#   sqlite  one gateway on SQLite (--db)
#   pg1     one gateway on PostgreSQL (--store postgresql://...)
#   pg3     three gateways on one PostgreSQL behind HAProxy (TCP, leastconn, /healthz checks)
# For each: committed req/s, p99, and CPU per 1,000 committed requests of the gateways, of PostgreSQL (the
# postmaster and all its backends and helpers), of HAProxy and of the client, over the simulator's run window
# (utime+stime from /proc/PID/stat), and how busy the whole machine was. A PostgreSQL 15 is set up for the run
# (initdb in a temporary folder, as the postgres user when run as root; fsync and synchronous_commit on, the
# defaults) and removed at the end; each scenario gets a fresh database.
# Usage: tests/bench/scale-out.sh [--no-build] [--rounds N] [--duration S] [--connections N] [--scenarios LIST]
#                                 [--bin-dir DIR] [--keep]
#   --rounds N     repeat every scenario N times, alternating the order; the table shows the range (default 1)
#   --duration S   seconds of each closed-loop run (default 10)
#   --connections  simulated devices, one connection each (default 256)
#   --scenarios    comma-separated subset of sqlite,pg1,pg3 (default: all)
#   --bin-dir      where fleetscope-gateway and fleetscope-sim are (default build/release/bin)
#   --keep         keep the scratch folder (databases, PostgreSQL's folder and logs)
# Environment: BENCH_NICE (see own-session.sh); FLEETSCOPE_PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"
# shellcheck source=tests/bench/bench-lib.sh
source "$ROOT/tests/bench/bench-lib.sh"

BUILD=1
KEEP=0
ROUNDS=1
DURATION=10
CONNS=256
SCENARIOS=sqlite,pg1,pg3
BIN_DIR=$ROOT/build/release/bin
while (($#)); do
    case $1 in
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --connections) CONNS=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --bin-dir) BIN_DIR=$(cd "$2" && pwd); shift ;;
    -h | --help)
        awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) say "scale-out.sh: unknown option '$1' (see --help)"; exit 2 ;;
    esac
    shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { say "scale-out.sh: --rounds takes a positive integer"; exit 2; }
want() { [[ ,$SCENARIOS, == *,$1,* ]]; }

PG_BIN=${FLEETSCOPE_PG_BIN:-/usr/lib/postgresql/15/bin}
for tool in jq haproxy; do
    command -v "$tool" >/dev/null 2>&1 || { say "scale-out.sh needs $tool (packaging/setup-debian.sh)"; exit 1; }
done
[[ -x $PG_BIN/initdb ]] || { say "scale-out.sh needs PostgreSQL 15 in $PG_BIN (packaging/setup-debian.sh)"; exit 1; }

LOG_DIR=$ROOT/build/release/bench/scale-out
mkdir -p "$LOG_DIR"
rm -f "$LOG_DIR"/*.json "$LOG_DIR"/*.log "$LOG_DIR"/summary.txt
WORK=$(mktemp -d /tmp/fleetscope-scale-out.XXXXXX)
chmod 711 "$WORK" # the postgres user reaches its own folder inside
PIDS=()
SIM_PID=
PG_UP=0
as_postgres() {
    if (($(id -u) == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
    local pid
    if [[ -n $SIM_PID ]]; then kill "$SIM_PID" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ((PG_UP)); then
        as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
        cp "$WORK/pg/server.log" "$LOG_DIR/postgresql.log" 2>/dev/null || true
    fi
    if ((KEEP)); then say "kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((BUILD)); then
    say "== building the gateway and the simulator (release preset)"
    (cd "$ROOT" && cmake --preset release >"$LOG_DIR/cmake-configure.log" 2>&1 &&
        cmake --build --preset release --target fleetscope-gateway fleetscope-sim >"$LOG_DIR/cmake-build.log" 2>&1) ||
        { say "build failed; see $LOG_DIR/cmake-*.log"; exit 1; }
fi
GATEWAY=$BIN_DIR/fleetscope-gateway
SIM=$BIN_DIR/fleetscope-sim
for exe in "$GATEWAY" "$SIM"; do
    [[ -x $exe ]] || { say "$exe is not built (or pass --bin-dir)"; exit 1; }
done

# --- PostgreSQL ----------------------------------------------------------------------------------------------
PG_PORT=$(free_port)
mkdir -p "$WORK/pg"
if (($(id -u) == 0)); then chown postgres: "$WORK/pg"; fi
say "== PostgreSQL: initdb and start on 127.0.0.1:$PG_PORT"
as_postgres "$PG_BIN/initdb" -D "$WORK/pg/data" -U fleetscope --auth=trust -E UTF8 --no-locale \
    >"$LOG_DIR/initdb.log" 2>&1 || { say "initdb failed; see $LOG_DIR/initdb.log"; exit 1; }
as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/pg -c max_connections=200" start >/dev/null ||
    { say "PostgreSQL did not start; its log:"; cat "$WORK/pg/server.log" >&2; exit 1; }
PG_UP=1
PG_PID=$(head -1 "$WORK/pg/data/postmaster.pid")
PG_VERSION=$("$PG_BIN/postgres" --version)
psql_do() { PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -qAt "postgresql://fleetscope@127.0.0.1:$PG_PORT/postgres" -c "$1"; }

# --- gateways ------------------------------------------------------------------------------------------------
# start_gateway LOG ARGS... : one gateway on a free port; sets GW_PID and GW_PORT.
start_gateway() {
    local log=$1 port
    shift
    port=$(free_port)
    "$GATEWAY" --listen "127.0.0.1:$port" --alert-rules "$WORK/no-rules.json" "$@" >"$log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    for _ in $(seq 300); do
        if grep -q "listening on" "$log"; then
            GW_PORT=$port
            return 0
        fi
        kill -0 "$GW_PID" 2>/dev/null || { say "a gateway exited before listening; its log:"; cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    say "a gateway did not listen within 30 s; its log:"
    cat "$log" >&2
    exit 1
}

# start_haproxy PORT... : HAProxy as the shipped example configures it, in front of the given ports; sets
# HA_PID and HA_PORT once it routes.
start_haproxy() {
    HA_PORT=$(free_port)
    {
        echo "global"
        echo "    maxconn 4096" # two descriptors per connection; haproxy raises its own limit to fit
        echo "defaults"
        echo "    mode tcp"
        echo "    timeout connect 3s"
        echo "    timeout client 330s"
        echo "    timeout server 330s"
        echo "    option redispatch"
        echo "    retries 2"
        echo "frontend devices"
        echo "    bind 127.0.0.1:$HA_PORT"
        echo "    default_backend gateways"
        echo "backend gateways"
        echo "    balance leastconn"
        echo "    option httpchk"
        echo "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host fleetscope"
        echo "    http-check expect status 200"
        echo "    default-server check inter 1s fall 2 rise 2"
        local i=0 p
        for p in "$@"; do
            i=$((i + 1))
            echo "    server gw$i 127.0.0.1:$p"
        done
    } >"$WORK/haproxy.cfg"
    cp "$WORK/haproxy.cfg" "$LOG_DIR/haproxy.cfg"
    haproxy -db -f "$WORK/haproxy.cfg" >"$LOG_DIR/haproxy.log" 2>&1 &
    HA_PID=$!
    PIDS+=("$HA_PID")
    # Every gateway answers /healthz through HAProxy once it routes: leastconn spreads the probes.
    local up=0
    for _ in $(seq 100); do
        up=0
        for _ in "$@"; do
            curl -sf --max-time 1 "http://127.0.0.1:$HA_PORT/healthz" >/dev/null 2>&1 && up=$((up + 1))
        done
        ((up == $#)) && return 0
        sleep 0.1
    done
    say "HAProxy did not see every gateway up within 10 s; its log:"
    cat "$LOG_DIR/haproxy.log" >&2
    exit 1
}

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

# Results, keyed "<scenario>.<round>.<figure>".
declare -A R

# measure SCEN ROUND TARGET GATEWAY-PIDS... : the simulator against TARGET; the CPU of the gateways, of
# PostgreSQL, of HAProxy (HA_PID, when set), of the client and of the machine over its run window.
measure() {
    local scen=$1 round=$2 target=$3
    shift 3
    local key=$scen.$round json=$LOG_DIR/$scen.$round.json err=$LOG_DIR/$scen.$round.sim.log pid
    : >"$err"
    "$SIM" --target "$target" --connections "$CONNS" --mode closed --duration "$DURATION" --json \
        >"$json" 2>>"$err" &
    SIM_PID=$!
    while kill -0 "$SIM_PID" 2>/dev/null && ! grep -qs "running" "$err"; do
        sleep 0.02
    done
    local g0=0 g1=0 p0 p1 h0=0 h1=0 m0 m1
    for pid in "$@"; do g0=$((g0 + $(cpu_ticks "$pid"))); done
    p0=$(tree_ticks "$PG_PID")
    [[ -n ${HA_PID:-} ]] && h0=$(cpu_ticks "$HA_PID")
    m0=$(machine_ticks)
    wait "$SIM_PID" || true
    SIM_PID=
    for pid in "$@"; do g1=$((g1 + $(cpu_ticks "$pid"))); done
    p1=$(tree_ticks "$PG_PID")
    [[ -n ${HA_PID:-} ]] && h1=$(cpu_ticks "$HA_PID")
    m1=$(machine_ticks)
    local ok run_s sim_cpu mb0 mt0 mb1 mt1 win_s
    ok=$(jnum "$json" .requests.ok)
    run_s=$(jnum "$json" .requests.run_s)
    sim_cpu=$(jnum "$json" .client.run_cpu_s)
    read -r mb0 mt0 <<<"$m0"
    read -r mb1 mt1 <<<"$m1"
    win_s=$(calc "printf \"%.6f\", ($mt1 - $mt0) / $HZ / $(nproc)")
    R[$key.rps]=$(jget "$json" .requests.ok_rps)
    R[$key.p99]=$(jget "$json" .latency_ms.p99)
    R[$key.errors]=$(($(jnum "$json" .errors.total) + $(jnum "$json" .connections.refused) +
        $(jnum "$json" .connections.failed) + $(jnum "$json" .requests.responses) - ok))
    if ((ok > 0)); then
        R[$key.gw_cpu]=$(calc "printf \"%.1f\", ($g1 - $g0) / $HZ * 1e6 / $ok")
        R[$key.pg_cpu]=$(calc "printf \"%.1f\", ($p1 - $p0) / $HZ * 1e6 / $ok")
        [[ -n ${HA_PID:-} ]] && R[$key.ha_cpu]=$(calc "printf \"%.1f\", ($h1 - $h0) / $HZ * 1e6 / $ok")
        R[$key.sim_cpu]=$(calc "printf \"%.1f\", $sim_cpu * 1e6 / $ok")
    fi
    if [[ $(calc "print ($run_s > 0 && $win_s > 0)") == 1 ]]; then
        R[$key.busy_pct]=$(calc "printf \"%.0f\", 100 * ($mb1 - $mb0) / $HZ / $win_s")
    fi
    say "   ${R[$key.rps]:-?} req/s committed, p99 ${R[$key.p99]:-?} ms; CPU per 1,000: gateways" \
        "${R[$key.gw_cpu]:-?} ms, PostgreSQL ${R[$key.pg_cpu]:-0} ms, HAProxy ${R[$key.ha_cpu]:--} ms," \
        "client ${R[$key.sim_cpu]:-?} ms; machine ${R[$key.busy_pct]:-?} % busy"
}

pg_uri() { echo "postgresql://fleetscope@127.0.0.1:$PG_PORT/$1"; }
fresh_db() { psql_do "DROP DATABASE IF EXISTS $1" && psql_do "CREATE DATABASE $1"; }

scenario_sqlite() {
    local round=$1
    rm -f "$WORK"/sqlite.db*
    HA_PID=
    start_gateway "$LOG_DIR/sqlite.$round.gateway.log" --db "$WORK/sqlite.db"
    sleep 1
    measure sqlite "$round" "127.0.0.1:$GW_PORT" "$GW_PID"
    stop_all
    rm -f "$WORK"/sqlite.db*
}

scenario_pg1() {
    local round=$1
    fresh_db bench_pg1
    HA_PID=
    start_gateway "$LOG_DIR/pg1.$round.gateway.log" --store "$(pg_uri bench_pg1)" --gateway-name gw1
    sleep 1
    measure pg1 "$round" "127.0.0.1:$GW_PORT" "$GW_PID"
    stop_all
}

scenario_pg3() {
    local round=$1 ports=() pids=() i
    fresh_db bench_pg3
    HA_PID=
    for i in 1 2 3; do
        start_gateway "$LOG_DIR/pg3.$round.gw$i.log" --store "$(pg_uri bench_pg3)" --gateway-name "gw$i"
        ports+=("$GW_PORT")
        pids+=("$GW_PID")
    done
    start_haproxy "${ports[@]}"
    sleep 1
    measure pg3 "$round" "127.0.0.1:$HA_PORT" "${pids[@]}"
    stop_all
    HA_PID=
}

START=$(date +%s)
LOAD_BEFORE=$(uptime)
ALL=(sqlite pg1 pg3)
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${ALL[@]}")
    ((round % 2 == 0)) && order=(pg3 pg1 sqlite)
    for scen in "${order[@]}"; do
        want "$scen" || continue
        say ""
        say "== round $round/$ROUNDS, $scen: $CONNS connections back to back for $DURATION s"
        "scenario_$scen" "$round"
    done
done
LOAD_AFTER=$(uptime)

# --- table ---------------------------------------------------------------------------------------------------
cell() { # SCEN FIGURE FORMAT: the range over the rounds
    local scen=$1 fig=$2 fmt=$3 vals=() r v lo hi
    for ((r = 1; r <= ROUNDS; r++)); do
        v=${R[$scen.$r.$fig]:-}
        [[ -n $v ]] && vals+=("$v")
    done
    ((${#vals[@]})) || { echo "-"; return; }
    lo=$(printf '%s\n' "${vals[@]}" | sort -g | head -1)
    hi=$(printf '%s\n' "${vals[@]}" | sort -g | tail -1)
    if [[ $($fmt "$lo") == "$($fmt "$hi")" ]]; then $fmt "$lo"; else echo "$($fmt "$lo")-$($fmt "$hi")"; fi
}
ratio() { # A B FIGURE: A/B within each round, as a range
    local vals=() r a b lo hi
    for ((r = 1; r <= ROUNDS; r++)); do
        a=${R[$1.$r.$3]:-}
        b=${R[$2.$r.$3]:-}
        [[ -n $a && -n $b ]] && [[ $(calc "print ($b != 0)") == 1 ]] && vals+=("$(calc "printf \"%.2f\", $a / $b")")
    done
    ((${#vals[@]})) || { echo "-"; return; }
    lo=$(printf '%s\n' "${vals[@]}" | sort -g | head -1)
    hi=$(printf '%s\n' "${vals[@]}" | sort -g | tail -1)
    if [[ $lo == "$hi" ]]; then echo "${lo}x"; else echo "${lo}-${hi}x"; fi
}
row() { # LABEL FIGURE FORMAT
    local line s
    line=$(printf '%-44s' "$1")
    for s in sqlite pg1 pg3; do line+=$(printf ' %16s' "$(cell "$s" "$2" "$3")"); done
    echo "$line"
}
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo ""
    echo "FleetScope scale-out benchmark, $ROUNDS round(s), $(date -u +%Y-%m-%dT%H:%MZ), $(($(date +%s) - START)) s"
    echo "machine: $(nproc) cores, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r); client, gateways, HAProxy and"
    echo "  PostgreSQL on the same host; $PG_VERSION, fsync and synchronous_commit on"
    echo "load before: ${LOAD_BEFORE#*load average: }; after: ${LOAD_AFTER#*load average: }"
    echo "scheduling: $BENCH_SCHEDULING"
    echo "closed loop, $CONNS connections back to back, $DURATION s; ranges are min-max over the rounds"
    echo ""
    printf '%-44s %16s %16s %16s\n' "" "SQLite, 1 gw" "PostgreSQL, 1 gw" "PG, 3 gw+HAProxy"
    row "committed req/s" rps num
    row "p99 latency, ms" p99 dec
    row "gateways' CPU per 1,000 requests, ms" gw_cpu dec
    row "PostgreSQL's CPU per 1,000 requests, ms" pg_cpu dec
    row "HAProxy's CPU per 1,000 requests, ms" ha_cpu dec
    row "client's CPU per 1,000 requests, ms" sim_cpu dec
    row "whole machine busy, % of one core (max $(($(nproc) * 100)))" busy_pct num
    row "errors, non-2xx" errors num
    echo "PostgreSQL/SQLite, 1 gateway, req/s: $(ratio pg1 sqlite rps); 3 gateways/1, req/s: $(ratio pg3 pg1 rps)"
    echo ""
    echo "logs and JSON reports: $LOG_DIR"
} | tee "$LOG_DIR/summary.txt"
