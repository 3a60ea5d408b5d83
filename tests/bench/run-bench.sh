#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# One command for FleetScope's benchmarks, side by side with the Go peer (tests/bench/peers/go-gateway):
#   (a) idle hold: gateway RSS before and while holding N keep-alive connections, as bytes per connection;
#   (b) closed loop: 256 connections posting back to back, committed req/s and p99;
#   (c) open loop: N devices each posting every 2 s, achieved rate against the target, p99;
#   (d) bench_store and bench_codec one-line figures, when those programs are built.
# Usage: tests/bench/run-bench.sh [--quick] [--no-build] [--bin-dir DIR] [--gateway PATH] [--keep]
#   --quick      2,000 connections and 4-6 s runs instead of 15,000 and 10-15 s
#   --no-build   use what is already built
#   --bin-dir    where fleetscope-sim, fleetscope-gateway, bench_* are (default build/release/bin)
#   --gateway    the FleetScope gateway to measure (default BIN_DIR/fleetscope-gateway)
#   --keep       keep the databases (logs and JSON reports always go to build/release/bench/)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
QUICK=0
BUILD=1
KEEP=0
BIN_DIR=$ROOT/build/release/bin
FS_GATEWAY=
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
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

if ((QUICK)); then
    HOLD_N=2000 HOLD_S=4 CLOSED_N=256 CLOSED_S=5 OPEN_N=2000 OPEN_MS=2000 OPEN_S=6
else
    HOLD_N=15000 HOLD_S=10 CLOSED_N=256 CLOSED_S=10 OPEN_N=15000 OPEN_MS=2000 OPEN_S=15
fi

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

HAVE_FS=1
[[ -x $FS_GATEWAY ]] || { say "FleetScope gateway skipped: $FS_GATEWAY not built"; HAVE_FS=0; }
HAVE_GO=0
if command -v go >/dev/null 2>&1; then
    mkdir -p "$(dirname "$GO_GATEWAY")"
    if ((BUILD)) || [[ ! -x $GO_GATEWAY ]]; then
        say "== building the Go peer (offline, Debian packages: GO111MODULE=off GOPATH=/usr/share/gocode)"
        if (cd "$ROOT/tests/bench/peers/go-gateway" &&
            GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS='' go build -o "$GO_GATEWAY" . \
                >"$LOG_DIR/go-build.log" 2>&1); then
            HAVE_GO=1
        else
            say "Go peer skipped: build failed (see $LOG_DIR/go-build.log; it needs golang-github-mattn-go-sqlite3-dev" \
                "and libsqlite3-dev)"
        fi
    else
        HAVE_GO=1
    fi
else
    say "Go peer skipped: golang-go not installed"
fi
((HAVE_FS || HAVE_GO)) || { say "nothing to benchmark"; exit 1; }

# --- helpers -----------------------------------------------------------------------------------------------
if command -v jq >/dev/null 2>&1; then
    jget() { jq -r "$2 // empty" "$1" 2>/dev/null || true; }
elif command -v python3 >/dev/null 2>&1; then
    jget() {
        python3 - "$1" "$2" <<'EOF' 2>/dev/null || true
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].lstrip('.').split('.'):
    v = v.get(k.strip('"')) if isinstance(v, dict) else None
print('' if v is None else v)
EOF
    }
else
    say "run-bench.sh needs jq or python3 to read the simulator's JSON report"
    exit 1
fi

jnum() { local v; v=$(jget "$1" "$2"); echo "${v:-0}"; } # numbers that take part in shell arithmetic

free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range 32768-60999, so no client port takes it
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
    say "no free port found in 20000-31999"
    exit 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# start_gateway NAME CMD... : starts it, waits for "listening on", sets GW_PID and GW_TARGET.
start_gateway() {
    local name=$1
    shift
    local out=$WORK/$name.out
    "$@" >"$out" 2>"$LOG_DIR/$name.stderr.log" &
    GW_PID=$!
    GATEWAY_PIDS+=("$GW_PID")
    for _ in $(seq 300); do
        if grep -q "listening on" "$out"; then
            GW_TARGET=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$out" | head -1)
            cp "$out" "$LOG_DIR/$name.stdout.log"
            return 0
        fi
        if ! kill -0 "$GW_PID" 2>/dev/null; then
            say "$name exited before listening; see $LOG_DIR/$name.stderr.log"
            cat "$out" "$LOG_DIR/$name.stderr.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    say "$name did not print 'listening on' within 30 s"
    return 1
}

stop_gateway() {
    kill -TERM "$GW_PID" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$GW_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
}

# Results, keyed "<peer>.<figure>".
declare -A R

# bench_peer NAME CMD... : the three scenarios against one freshly started gateway.
bench_peer() {
    local name=$1
    shift
    say ""
    say "== $name"
    start_gateway "$name" "$@" || return 0
    local pid=$GW_PID target=$GW_TARGET json
    sleep 1
    # (a) idle hold. RSS is sampled once the simulator says it holds them all, past the gateway's short quiet
    # period (an idle connection gives its fiber back after park-after).
    local rss0 rss1 fds
    rss0=$(rss_kb "$pid")
    json=$LOG_DIR/$name.hold.json
    say "-- (a) idle hold: $HOLD_N connections for $HOLD_S s"
    : >"$LOG_DIR/$name.hold.stderr.log" # exists and is empty before the simulator starts writing it
    "$SIM" --target "$target" --connections "$HOLD_N" --mode hold --hold "$HOLD_S" --json \
        >"$json" 2>>"$LOG_DIR/$name.hold.stderr.log" &
    local sim_pid=$!
    SIM_PID=$sim_pid
    while kill -0 "$sim_pid" 2>/dev/null && ! grep -qs "^fleetscope-sim: info: holding" "$LOG_DIR/$name.hold.stderr.log"; do
        sleep 0.2
    done
    sleep "$(awk -v h="$HOLD_S" 'BEGIN { print h * 0.6 }')"
    rss1=$(rss_kb "$pid" 2>/dev/null || echo 0)
    fds=$(fd_count "$pid")
    wait "$sim_pid" || true
    SIM_PID=
    local held
    held=$(jget "$json" .hold.held)
    R[$name.held]=${held:-0}
    R[$name.hold_answered]=$(jget "$json" .hold.answered)
    R[$name.hold_failed]=$(($(jnum "$json" .hold.failed) + $(jnum "$json" .connections.refused) + $(jnum "$json" .connections.failed)))
    R[$name.rss0]=$rss0
    R[$name.rss1]=$rss1
    R[$name.fds]=$fds
    if [[ ${held:-0} -gt 0 ]]; then
        R[$name.bytes_per_conn]=$(((rss1 - rss0) * 1024 / held))
    fi
    say "   held ${held:-0}, RSS ${rss0} kB -> ${rss1} kB, gateway fds $fds"

    # (b) closed loop.
    json=$LOG_DIR/$name.closed.json
    say "-- (b) closed loop: $CLOSED_N connections for $CLOSED_S s"
    local c0 c1
    c0=$(cpu_ticks "$pid")
    "$SIM" --target "$target" --connections "$CLOSED_N" --mode closed --duration "$CLOSED_S" --json \
        >"$json" 2>"$LOG_DIR/$name.closed.stderr.log" || true
    c1=$(cpu_ticks "$pid")
    R[$name.closed_rps]=$(jget "$json" .requests.ok_rps)
    R[$name.closed_p99]=$(jget "$json" .latency_ms.p99)
    R[$name.closed_errors]=$(jget "$json" .errors.total)
    R[$name.closed_sim_cpu]=$(jget "$json" .client.run_cpu_s)
    local ok
    ok=$(jget "$json" .requests.ok)
    if [[ -n $ok && $ok -gt 0 ]]; then
        # Gateway CPU per 1,000 committed requests, in ms: efficiency independent of how busy the machine was.
        R[$name.closed_cpu]=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$ok" \
            'BEGIN { printf "%.0f", t * 1000 / hz / n * 1000 }')
        R[$name.closed_sim_cpu]=$(awk -v c="${R[$name.closed_sim_cpu]:-0}" -v n="$ok" \
            'BEGIN { printf "%.0f", c * 1e6 / n }')
    fi
    say "   ${R[$name.closed_rps]:-?} req/s committed, p99 ${R[$name.closed_p99]:-?} ms"

    # (c) open loop.
    json=$LOG_DIR/$name.open.json
    say "-- (c) open loop: $OPEN_N devices every $OPEN_MS ms for $OPEN_S s"
    "$SIM" --target "$target" --connections "$OPEN_N" --mode open --interval "$OPEN_MS" --duration "$OPEN_S" \
        --json >"$json" 2>"$LOG_DIR/$name.open.stderr.log" || true
    R[$name.open_rps]=$(jget "$json" .requests.ok_rps)
    R[$name.open_target]=$(jget "$json" .requests.target_rps)
    R[$name.open_p99]=$(jget "$json" .latency_ms.p99)
    R[$name.open_errors]=$(jnum "$json" .errors.total)
    say "   ${R[$name.open_rps]:-?} of ${R[$name.open_target]:-?} req/s, p99 ${R[$name.open_p99]:-?} ms"

    if ! kill -0 "$pid" 2>/dev/null; then
        say "   $name died during the run; see $LOG_DIR/$name.stderr.log"
    fi
    stop_gateway
}

START=$(date +%s)
if ((HAVE_FS)); then
    bench_peer fleetscope "$FS_GATEWAY" --listen "127.0.0.1:$(free_port)" --db "$WORK/fleetscope.db"
fi
if ((HAVE_GO)); then
    bench_peer go "$GO_GATEWAY" -listen "127.0.0.1:$(free_port)" -db "$WORK/go.db"
fi

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
STORE_LINE=$(component bench_store)
CODEC_LINE=$(component bench_codec)

# --- table -------------------------------------------------------------------------------------------------
num() { # thousands separators; "-" when empty
    [[ -z ${1:-} ]] && { echo "-"; return; }
    LC_ALL=C awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); o = ""; n = length(s);
        for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n && substr(s, i, 1) != "-") o = o "," }
        print o }'
}
dec() {
    if [[ -z ${1:-} ]]; then echo "-"; else LC_ALL=C awk -v v="$1" 'BEGIN { printf "%.1f", v }'; fi
}
ratio() { # FleetScope / Go
    [[ -z ${1:-} || -z ${2:-} ]] && { echo "-"; return; }
    LC_ALL=C awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2fx", a / b }'
}
mib() {
    if [[ -z ${1:-} ]]; then echo "-"; else LC_ALL=C awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; fi
}
row() { printf '%-44s %14s %14s %9s  %s\n' "$1" "$2" "$3" "$4" "${5:-}"; }

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo ""
    echo "FleetScope benchmark ($( ((QUICK)) && echo quick || echo full)), $(date -u +%Y-%m-%dT%H:%MZ), $(($(date +%s) - START)) s"
    echo "machine: $(nproc) cores, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r), client and gateway on the same host"
    echo ""
    row "" "FleetScope" "Go" "ratio"
    row "(a) idle hold: connections held" "$(num "${R[fleetscope.held]:-}")" "$(num "${R[go.held]:-}")" ""
    row "    gateway file descriptors while holding" "$(num "${R[fleetscope.fds]:-}")" "$(num "${R[go.fds]:-}")" ""
    row "    RSS before, MiB" "$(mib "${R[fleetscope.rss0]:-}")" "$(mib "${R[go.rss0]:-}")" ""
    row "    RSS holding, MiB" "$(mib "${R[fleetscope.rss1]:-}")" "$(mib "${R[go.rss1]:-}")" ""
    row "    RSS per idle connection, bytes" "$(num "${R[fleetscope.bytes_per_conn]:-}")" \
        "$(num "${R[go.bytes_per_conn]:-}")" \
        "$(ratio "${R[fleetscope.bytes_per_conn]:-}" "${R[go.bytes_per_conn]:-}")" "lower is better"
    row "    check after the hold: failed" "$(num "${R[fleetscope.hold_failed]:-}")" \
        "$(num "${R[go.hold_failed]:-}")" ""
    row "(b) closed loop $CLOSED_N conns: committed req/s" "$(num "${R[fleetscope.closed_rps]:-}")" \
        "$(num "${R[go.closed_rps]:-}")" "$(ratio "${R[fleetscope.closed_rps]:-}" "${R[go.closed_rps]:-}")" \
        "higher is better"
    row "    p99 latency, ms" "$(dec "${R[fleetscope.closed_p99]:-}")" "$(dec "${R[go.closed_p99]:-}")" \
        "$(ratio "${R[fleetscope.closed_p99]:-}" "${R[go.closed_p99]:-}")" "lower is better"
    row "    gateway CPU per 1,000 requests, ms" "$(num "${R[fleetscope.closed_cpu]:-}")" \
        "$(num "${R[go.closed_cpu]:-}")" "$(ratio "${R[fleetscope.closed_cpu]:-}" "${R[go.closed_cpu]:-}")" \
        "lower is better"
    row "    simulator CPU per 1,000 requests, ms" "$(num "${R[fleetscope.closed_sim_cpu]:-}")" \
        "$(num "${R[go.closed_sim_cpu]:-}")" "" "the same client on both: did it saturate?"
    row "    errors" "$(num "${R[fleetscope.closed_errors]:-}")" "$(num "${R[go.closed_errors]:-}")" ""
    row "(c) open loop $(num "$OPEN_N") x 1/$((OPEN_MS / 1000)) s: target req/s" \
        "$(num "${R[fleetscope.open_target]:-}")" "$(num "${R[go.open_target]:-}")" ""
    row "    achieved 2xx req/s" "$(num "${R[fleetscope.open_rps]:-}")" "$(num "${R[go.open_rps]:-}")" \
        "$(ratio "${R[fleetscope.open_rps]:-}" "${R[go.open_rps]:-}")" ""
    row "    p99 latency from schedule, ms" "$(dec "${R[fleetscope.open_p99]:-}")" "$(dec "${R[go.open_p99]:-}")" \
        "$(ratio "${R[fleetscope.open_p99]:-}" "${R[go.open_p99]:-}")" "lower is better"
    row "    errors and refusals" "$(num "${R[fleetscope.open_errors]:-}")" "$(num "${R[go.open_errors]:-}")" ""
    echo "(d) store alone (bench_store):"
    echo "$STORE_LINE"
    echo "    JSON decode (bench_codec):"
    echo "$CODEC_LINE"
    echo ""
    echo "logs and JSON reports: $LOG_DIR"
} | tee "$LOG_DIR/summary.txt"
