#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FleetScope's gateway side by side with the lean Go peer (tests/bench/peers/go-gateway), in one invocation, with
# the same client (fleetscope-sim) on the same host:
#   (a) idle hold: gateway RSS before and while holding N keep-alive connections, as bytes per connection;
#   (b) closed loop: 256 connections posting back to back: committed req/s, p99, gateway CPU per 1,000 requests;
#   (c) open loop: 15,000 devices each posting every 2 s for 16 s: offered, done, p99 from the scheduled time;
#   (d) bench_store and bench_codec one-line figures, when those programs are built.
# Every scenario starts a fresh gateway on a fresh database. CPU figures are utime+stime from /proc/PID/stat
# over the simulator's run window (after its connections are open); the client's own CPU and the CPU taken by
# everything else on the machine (/proc/stat) are printed beside them, because client and gateways share the cores.
# Usage: tests/bench/run-bench.sh [--quick] [--no-build] [--rounds N] [--scenarios LIST] [--also NAME=PATH]
#                                 [--bin-dir DIR] [--gateway PATH] [--keep]
#   --quick      2,000 connections and 4-6 s runs instead of 15,000 and 10-16 s
#   --no-build   use what is already built
#   --rounds N   repeat every scenario N times, alternating which gateway goes first; the table shows the range
#   --scenarios  comma-separated subset of hold,closed,open,components (default: all of them)
#   --also NAME=PATH  one more gateway taking the Go peer's flags (-listen, -db), e.g. an older peer
#   --bin-dir    where fleetscope-sim, fleetscope-gateway, bench_* are (default build/release/bin)
#   --gateway    the FleetScope gateway to measure (default BIN_DIR/fleetscope-gateway)
#   --keep       keep the databases (logs and JSON reports always go to build/release/bench/)
# Environment: BENCH_NICE (default -10): the nice value of the benchmark's own scheduler autogroup, 0 to run in the
# caller's session (see own-session.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"
# shellcheck source=tests/bench/proc-helpers.sh
source "$ROOT/tests/bench/proc-helpers.sh"
QUICK=0
BUILD=1
KEEP=0
ROUNDS=1
SCENARIOS=hold,closed,open,components
BIN_DIR=$ROOT/build/release/bin
FS_GATEWAY=
EXTRA_NAMES=()
EXTRA_PATHS=()
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    --rounds)
        ROUNDS=$2
        shift
        ;;
    --scenarios)
        SCENARIOS=$2
        shift
        ;;
    --also)
        [[ $2 == *=* ]] || { echo "run-bench.sh: --also takes NAME=PATH" >&2; exit 2; }
        EXTRA_NAMES+=("${2%%=*}")
        EXTRA_PATHS+=("$(realpath "${2#*=}")")
        shift
        ;;
    --bin-dir)
        BIN_DIR=$(cd "$2" && pwd)
        shift
        ;;
    --gateway)
        FS_GATEWAY=$2
        shift
        ;;
    -h | --help)
        awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "run-bench.sh: unknown option '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "run-bench.sh: --rounds takes a positive integer" >&2; exit 2; }
want() { [[ ,$SCENARIOS, == *,$1,* ]]; }

if ((QUICK)); then
    HOLD_N=2000 HOLD_S=4 CLOSED_N=256 CLOSED_S=5 OPEN_N=2000 OPEN_MS=2000 OPEN_S=6
else
    HOLD_N=15000 HOLD_S=10 CLOSED_N=256 CLOSED_S=10 OPEN_N=15000 OPEN_MS=2000 OPEN_S=16
fi
# Every device of the open loop posts at start + offset + k * interval while that is before the end.
OPEN_OFFERED=$((OPEN_N * ((OPEN_S * 1000 + OPEN_MS - 1) / OPEN_MS)))

LOG_DIR=$ROOT/build/release/bench
mkdir -p "$LOG_DIR"
# Stale logs would mislead: the hold scenario waits for a line in a fresh log.
rm -f "$LOG_DIR"/*.json "$LOG_DIR"/*.log "$LOG_DIR"/summary.txt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleetscope-bench.XXXXXX")
GATEWAY_PIDS=()
SIM_PID=

cleanup() {
    local pid
    if [[ -n $SIM_PID ]]; then kill "$SIM_PID" 2>/dev/null || true; fi
    for pid in "${GATEWAY_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${GATEWAY_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if ((KEEP)); then
        echo "kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }

# --- build -------------------------------------------------------------------------------------------------
if ((BUILD)); then
    # The Go peer is the baseline: its toolchain comes with the bench dependencies.
    "$ROOT/packaging/setup-debian.sh" --bench
    say "== building the release preset (cmake --preset release && cmake --build --preset release)"
    (cd "$ROOT" && cmake --preset release >"$LOG_DIR/cmake-configure.log" 2>&1) ||
        { say "configure failed; see $LOG_DIR/cmake-configure.log"; exit 1; }
    if ! (cd "$ROOT" && cmake --build --preset release >"$LOG_DIR/cmake-build.log" 2>&1); then
        # A half-finished part of the tree (the UI, a test) must not stop the benchmark of the parts it needs.
        say "full build failed (see $LOG_DIR/cmake-build.log); building only the gateway and the simulator"
        (cd "$ROOT" && cmake --build --preset release --target fleetscope-gateway fleetscope-sim \
            >"$LOG_DIR/cmake-build-targets.log" 2>&1) ||
            say "building fleetscope-gateway/fleetscope-sim failed too; see $LOG_DIR/cmake-build-targets.log"
    fi
fi

SIM=$BIN_DIR/fleetscope-sim
FS_GATEWAY=${FS_GATEWAY:-$BIN_DIR/fleetscope-gateway}
GO_GATEWAY=$ROOT/build/release/go-gateway/go-gateway
[[ -x $SIM ]] || { say "fleetscope-sim not found at $SIM: build it first (or pass --bin-dir)"; exit 1; }

PEERS=()
PEER_LABELS=()
declare -A PEER_CMD
if [[ -x $FS_GATEWAY ]]; then
    PEERS+=(fleetscope)
    PEER_LABELS+=(FleetScope)
    PEER_CMD[fleetscope]="$FS_GATEWAY --listen 127.0.0.1:@PORT@ --db @DB@"
else
    say "FleetScope gateway skipped: $FS_GATEWAY not built"
fi
if command -v go >/dev/null 2>&1; then
    mkdir -p "$(dirname "$GO_GATEWAY")"
    if ((BUILD)) || [[ ! -x $GO_GATEWAY ]]; then
        say "== building the Go peer (offline, Debian packages: GO111MODULE=off GOPATH=/usr/share/gocode)"
        (cd "$ROOT/tests/bench/peers/go-gateway" &&
            GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS='' go build -o "$GO_GATEWAY" . \
                >"$LOG_DIR/go-build.log" 2>&1) ||
            say "Go peer build failed (see $LOG_DIR/go-build.log; it needs golang-github-mattn-go-sqlite3-dev" \
                "and libsqlite3-dev)"
    fi
else
    say "Go peer skipped: golang-go is not installed (./packaging/setup-debian.sh --bench installs it)"
fi
if [[ -x $GO_GATEWAY ]]; then
    PEERS+=(go)
    PEER_LABELS+=(Go)
    PEER_CMD[go]="$GO_GATEWAY -listen 127.0.0.1:@PORT@ -db @DB@"
fi
for i in "${!EXTRA_NAMES[@]}"; do
    [[ -x ${EXTRA_PATHS[$i]} ]] || { say "--also ${EXTRA_NAMES[$i]}: ${EXTRA_PATHS[$i]} is not executable"; exit 2; }
    PEERS+=("${EXTRA_NAMES[$i]}")
    PEER_LABELS+=("${EXTRA_NAMES[$i]}")
    PEER_CMD[${EXTRA_NAMES[$i]}]="${EXTRA_PATHS[$i]} -listen 127.0.0.1:@PORT@ -db @DB@"
done
((${#PEERS[@]})) || { say "nothing to benchmark"; exit 1; }

# --- helpers -----------------------------------------------------------------------------------------------
command -v jq >/dev/null 2>&1 || { say "run-bench.sh needs jq to read the simulator's JSON report"; exit 1; }
jget() { jq -r "$2 // empty" "$1" 2>/dev/null || true; }
jnum() { local v; v=$(jget "$1" "$2"); echo "${v:-0}"; } # numbers that take part in shell arithmetic

# Busy and total ticks of the whole machine (all cores): busy excludes idle and iowait.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# start_gateway NAME : starts a fresh instance of peer NAME on a fresh database, waits for "listening on",
# sets GW_PID and GW_TARGET.
start_gateway() {
    local name=$1 tag=$2 port cmd
    port=$(free_port)
    # Every file of the store: the database, its -recent file, and their -wal and -shm.
    rm -f "$WORK/$name.db" "$WORK/$name.db-"* "$WORK/$name".*.db*
    cmd=${PEER_CMD[$name]//@PORT@/$port}
    cmd=${cmd//@DB@/$WORK/$name.db}
    local out=$WORK/$name.$tag.out
    : >"$out" # before the gateway starts, so that the first look for "listening on" finds the file
    # shellcheck disable=SC2086 # the command line is split on purpose; paths come from this script
    $cmd >"$out" 2>"$LOG_DIR/$name.$tag.gateway.log" &
    GW_PID=$!
    GATEWAY_PIDS+=("$GW_PID")
    for _ in $(seq 300); do
        if grep -q "listening on" "$out"; then
            GW_TARGET=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$out" | head -1)
            cp "$out" "$LOG_DIR/$name.$tag.stdout.log"
            return 0
        fi
        if ! kill -0 "$GW_PID" 2>/dev/null; then
            say "$name exited before listening; see $LOG_DIR/$name.$tag.gateway.log"
            cat "$out" "$LOG_DIR/$name.$tag.gateway.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    say "$name did not print 'listening on' within 30 s"
    return 1
}

stop_gateway() {
    if ! kill -0 "$GW_PID" 2>/dev/null; then
        say "   the gateway died during the run; see its .gateway.log in $LOG_DIR"
    fi
    kill -TERM "$GW_PID" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$GW_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
    rm -f "$WORK"/*.db "$WORK"/*.db-*
}

# Results, keyed "<peer>.<round>.<figure>".
declare -A R

# run_loaded NAME ROUND SCENARIO SIM-ARGS... : runs the simulator against the gateway in GW_PID/GW_TARGET and
# records the CPU of the gateway, of the client and of the rest of the machine over the simulator's run window.
run_loaded() {
    local name=$1 round=$2 scen=$3
    shift 3
    local key=$name.$round.$scen json=$LOG_DIR/$name.$round.$scen.json err=$LOG_DIR/$name.$round.$scen.sim.log
    : >"$err"
    # --faulty 0: a healthy fleet, so that every slot offered is sent (the simulator's silent devices would
    # count as offered and never done).
    "$SIM" --target "$GW_TARGET" --faulty 0 "$@" --json >"$json" 2>>"$err" &
    SIM_PID=$!
    # The run window opens when the simulator has its connections and says "running".
    while kill -0 "$SIM_PID" 2>/dev/null && ! grep -qs "running" "$err"; do
        sleep 0.02
    done
    local g0 m0 g1 m1
    g0=$(cpu_ticks "$GW_PID")
    m0=$(machine_ticks)
    wait "$SIM_PID" || true
    SIM_PID=
    g1=$(cpu_ticks "$GW_PID")
    m1=$(machine_ticks)
    local run_s ok sim_cpu
    run_s=$(jnum "$json" .requests.run_s)
    ok=$(jnum "$json" .requests.ok)
    sim_cpu=$(jnum "$json" .client.run_cpu_s)
    R[$key.ok]=$ok
    R[$key.rps]=$(jget "$json" .requests.ok_rps)
    R[$key.p99]=$(jget "$json" .latency_ms.p99)
    # Transport errors, refused or failed connections, and answers other than 2xx.
    R[$key.errors]=$(($(jnum "$json" .errors.total) + $(jnum "$json" .connections.refused) +
        $(jnum "$json" .connections.failed) + $(jnum "$json" .requests.responses) - ok))
    read -r mb0 mt0 <<<"$m0"
    read -r mb1 mt1 <<<"$m1"
    local gw_s
    gw_s=$(calc "printf \"%.6f\", ($g1 - $g0) / $HZ")
    # The window measured by the script is a little longer than the simulator's run_s (it includes the drain
    # after the run and the polling delay); the per-request figures use the whole window.
    local win_s ncpu
    ncpu=$(nproc)
    win_s=$(calc "printf \"%.6f\", ($mt1 - $mt0) / $HZ / $ncpu")
    if ((ok > 0)); then
        R[$key.gw_cpu]=$(calc "printf \"%.1f\", $gw_s * 1e6 / $ok")
        R[$key.sim_cpu]=$(calc "printf \"%.1f\", $sim_cpu * 1e6 / $ok")
    fi
    if [[ $(calc "print ($run_s > 0 && $win_s > 0)") == 1 ]]; then
        R[$key.gw_pct]=$(calc "printf \"%.0f\", 100 * $gw_s / $win_s")
        R[$key.sim_pct]=$(calc "printf \"%.0f\", 100 * $sim_cpu / $run_s")
        R[$key.busy_pct]=$(calc "printf \"%.0f\", 100 * ($mb1 - $mb0) / $HZ / $win_s")
        R[$key.other_pct]=$(calc "v = 100 * (($mb1 - $mb0) / $HZ - $gw_s) / $win_s - 100 * $sim_cpu / $run_s; \
            printf \"%.0f\", v < 0 ? 0 : v")
    fi
}

scenario_hold() {
    local name=$1 round=$2
    start_gateway "$name" "$round.hold" || return 0
    local pid=$GW_PID json=$LOG_DIR/$name.$round.hold.json err=$LOG_DIR/$name.$round.hold.sim.log
    sleep 1
    # RSS is sampled once the simulator says it holds them all, past the gateway's short quiet period (an idle
    # connection gives its fiber back after park-after).
    local rss0 rss1 fds
    rss0=$(rss_kb "$pid")
    say "-- (a) idle hold: $HOLD_N connections for $HOLD_S s"
    : >"$err"
    "$SIM" --target "$GW_TARGET" --connections "$HOLD_N" --mode hold --hold "$HOLD_S" --json >"$json" 2>>"$err" &
    SIM_PID=$!
    while kill -0 "$SIM_PID" 2>/dev/null && ! grep -qs "^fleetscope-sim: info: holding" "$err"; do
        sleep 0.2
    done
    sleep "$(calc "print $HOLD_S * 0.6")"
    rss1=$(rss_kb "$pid" 2>/dev/null || echo 0)
    fds=$(fd_count "$pid")
    wait "$SIM_PID" || true
    SIM_PID=
    local key=$name.$round.hold held
    held=$(jnum "$json" .hold.held)
    R[$key.held]=$held
    R[$key.failed]=$(($(jnum "$json" .hold.failed) + $(jnum "$json" .connections.refused) +
        $(jnum "$json" .connections.failed)))
    R[$key.rss0]=$(calc "printf \"%.1f\", $rss0 / 1024")
    R[$key.rss1]=$(calc "printf \"%.1f\", $rss1 / 1024")
    R[$key.fds]=$fds
    if ((held > 0)); then
        R[$key.bytes_per_conn]=$(((rss1 - rss0) * 1024 / held))
    fi
    say "   held $held, RSS $rss0 kB -> $rss1 kB, gateway fds $fds"
    stop_gateway
}

scenario_closed() {
    local name=$1 round=$2 key=$1.$2.closed
    start_gateway "$name" "$round.closed" || return 0
    sleep 1
    say "-- (b) closed loop: $CLOSED_N connections for $CLOSED_S s"
    run_loaded "$name" "$round" closed --connections "$CLOSED_N" --mode closed --duration "$CLOSED_S"
    say "   ${R[$key.rps]:-?} req/s committed, p99 ${R[$key.p99]:-?} ms, gateway ${R[$key.gw_cpu]:-?} ms CPU" \
        "per 1,000 (${R[$key.gw_pct]:-?} % of a core), client ${R[$key.sim_pct]:-?} %, others ${R[$key.other_pct]:-?} %"
    stop_gateway
}

scenario_open() {
    local name=$1 round=$2 key=$1.$2.open
    start_gateway "$name" "$round.open" || return 0
    sleep 1
    say "-- (c) open loop: $OPEN_N devices every $OPEN_MS ms for $OPEN_S s ($OPEN_OFFERED requests offered)"
    R[$key.offered]=$OPEN_OFFERED
    run_loaded "$name" "$round" open --connections "$OPEN_N" --mode open --interval "$OPEN_MS" \
        --duration "$OPEN_S"
    say "   ${R[$key.ok]:-?} of $OPEN_OFFERED done, p99 ${R[$key.p99]:-?} ms from the schedule," \
        "gateway ${R[$key.gw_pct]:-?} % of a core, client ${R[$key.sim_pct]:-?} %"
    stop_gateway
}

START=$(date +%s)
LOAD_BEFORE=$(uptime)
for ((round = 1; round <= ROUNDS; round++)); do
    # Alternate the order, so that neither gateway always runs on the warmer or the quieter machine.
    order=("${PEERS[@]}")
    if ((round % 2 == 0)); then
        order=()
        for ((i = ${#PEERS[@]} - 1; i >= 0; i--)); do order+=("${PEERS[$i]}"); done
    fi
    for scen in hold closed open; do
        want "$scen" || continue
        for name in "${order[@]}"; do
            say ""
            say "== round $round/$ROUNDS, $name"
            "scenario_$scen" "$name" "$round"
        done
    done
done
LOAD_AFTER=$(uptime)

# (d) component benchmarks written by other parts of the project: their figures, the last few lines of their
# output. They run in the scratch directory, where any file they create is cleaned up.
component() {
    local exe=$BIN_DIR/$1
    if [[ -x $exe ]]; then
        (cd "$WORK" && timeout 120 "$exe" 2>&1) | tee "$LOG_DIR/$1.log" | grep -v '^[[:space:]]*$' | tail -4 |
            sed 's/^/        /' || true
    else
        echo "        not built ($exe)"
    fi
}
if want components; then
    STORE_LINE=$(component bench_store)
    CODEC_LINE=$(component bench_codec)
fi

# --- table -------------------------------------------------------------------------------------------------
num() { # thousands separators, no decimals
    LC_ALL=C awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); neg = s ~ /^-/; if (neg) s = substr(s, 2); o = "";
        n = length(s); for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," }
        print (neg ? "-" : "") o }'
}
dec() { LC_ALL=C awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }

# cell PEER SCEN FIGURE FORMAT : the figure over the rounds, "min-max" when it varies.
cell() {
    local peer=$1 scen=$2 fig=$3 fmt=$4 vals=() r v
    for ((r = 1; r <= ROUNDS; r++)); do
        v=${R[$peer.$r.$scen.$fig]:-}
        [[ -n $v ]] && vals+=("$v")
    done
    ((${#vals[@]})) || { echo "-"; return; }
    local lo hi
    read -r lo hi < <(span "${vals[@]}")
    if [[ $($fmt "$lo") == "$($fmt "$hi")" ]]; then $fmt "$lo"; else echo "$($fmt "$lo")-$($fmt "$hi")"; fi
}
# ratio SCEN FIGURE : FleetScope / Go within each round, as a range over the rounds.
ratio() {
    local scen=$1 fig=$2 vals=() r a b
    for ((r = 1; r <= ROUNDS; r++)); do
        a=${R[fleetscope.$r.$scen.$fig]:-}
        b=${R[go.$r.$scen.$fig]:-}
        [[ -n $a && -n $b ]] && [[ $(calc "print ($b != 0)") == 1 ]] && vals+=("$(calc "printf \"%.2f\", $a / $b")")
    done
    ((${#vals[@]})) || { echo "-"; return; }
    local lo hi
    read -r lo hi < <(span "${vals[@]}")
    if [[ $lo == "$hi" ]]; then echo "${lo}x"; else echo "${lo}-${hi}x"; fi
}
row() { # LABEL SCEN FIGURE FORMAT [RATIO-NOTE]
    local label=$1 scen=$2 fig=$3 fmt=$4 note=${5:-} line p
    want "$scen" || return 0
    line=$(printf '%-46s' "$label")
    for p in "${PEERS[@]}"; do line+=$(printf ' %17s' "$(cell "$p" "$scen" "$fig" "$fmt")"); done
    if [[ -n $note ]]; then
        line+=$(printf ' %11s  %s' "$(ratio "$scen" "$fig")" "$note")
    fi
    echo "$line"
}
heading() {
    local line p
    line=$(printf '%-46s' "$1")
    for p in "${PEER_LABELS[@]}"; do line+=$(printf ' %17s' "$p"); done
    echo "$line $(printf '%11s' 'FS/Go')"
}

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo ""
    echo "FleetScope benchmark ($( ((QUICK)) && echo quick || echo full), $ROUNDS round(s))," \
        "$(date -u +%Y-%m-%dT%H:%MZ), $(($(date +%s) - START)) s"
    echo "machine: $(nproc) cores, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r), client and gateway on the same host"
    echo "load before: ${LOAD_BEFORE#*load average: }; after: ${LOAD_AFTER#*load average: }"
    echo "scheduling: $BENCH_SCHEDULING"
    echo "ranges are min-max over the rounds; FS/Go is the ratio within each round"
    echo ""
    heading ""
    row "(a) idle hold: connections held" hold held num
    row "    gateway file descriptors while holding" hold fds num
    row "    RSS before, MiB" hold rss0 dec
    row "    RSS holding, MiB" hold rss1 dec
    row "    RSS per idle connection, bytes" hold bytes_per_conn num "lower is better"
    row "    failed the check after the hold" hold failed num
    row "(b) closed loop, $CLOSED_N conns: committed req/s" closed rps num "higher is better"
    row "    p99 latency, ms" closed p99 dec "lower is better"
    row "    gateway CPU per 1,000 requests, ms" closed gw_cpu dec "lower is better"
    row "    gateway CPU, % of one core" closed gw_pct num
    row "    client CPU per 1,000 requests, ms" closed sim_cpu dec
    row "    client CPU, % of one core" closed sim_pct num
    row "    other processes, % of one core" closed other_pct num
    row "    whole machine busy, % of one core (max $(($(nproc) * 100)))" closed busy_pct num
    row "    errors, non-2xx" closed errors num
    row "(c) open loop, $(num "$OPEN_N") x 1/$(calc "print $OPEN_MS / 1000") s x $OPEN_S s: offered" open offered num
    row "    done (2xx)" open ok num
    row "    p99 latency from the schedule, ms" open p99 dec "lower is better"
    row "    gateway CPU per 1,000 requests, ms" open gw_cpu dec "lower is better"
    row "    gateway CPU, % of one core" open gw_pct num
    row "    client CPU, % of one core" open sim_pct num
    row "    other processes, % of one core" open other_pct num
    row "    whole machine busy, % of one core (max $(($(nproc) * 100)))" open busy_pct num
    row "    errors, non-2xx" open errors num
    if want components; then
        echo "(d) store alone (bench_store):"
        echo "$STORE_LINE"
        echo "    JSON decode (bench_codec):"
        echo "$CODEC_LINE"
    fi
    echo ""
    echo "logs and JSON reports: $LOG_DIR"
} | tee "$LOG_DIR/summary.txt"
