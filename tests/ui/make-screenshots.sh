#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Writes the README screenshots to resources/screenshots/*.png: the monitor runs under Xvfb with its embedded
# gateway, fleetscope-sim drives it (200 devices in open loop, one post per second each), and ImageMagick's
# `import -window root` captures the screen. One monitor run per screenshot, all on one database, so the
# device detail shows history read back from SQLite joined with the live tail.
#
# The last one, capture-replay, exports the recorded session as a capture with fleetscope-gateway and shows
# it offline (fleetscope --open): the views as the session ended, with the scrubber and replay controls.
#
#   tests/ui/make-screenshots.sh [BUILD_DIR [SHOT...]]   (default: build/dev, every shot)
#
# SHOT is one of overview-dark, devices, device-detail, overview-light, alerts, capture-replay.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build/dev}" && pwd)
out=$root/resources/screenshots
width=1500
height=940

if [[ "${FLEETSCOPE_SCREENSHOTS_INSIDE:-}" != 1 ]]; then
    for exe in fleetscope fleetscope-sim fleetscope-gateway; do
        if [[ ! -x "$build/bin/$exe" ]]; then
            echo "make-screenshots: $build/bin/$exe not found; build it first: cmake --build $build" >&2
            exit 2
        fi
    done
    for tool in xvfb-run import; do
        command -v "$tool" >/dev/null ||
            { echo "make-screenshots: $tool is required (./packaging/setup-debian.sh --screenshots)" >&2; exit 2; }
    done
    export FLEETSCOPE_SCREENSHOTS_INSIDE=1
    exec xvfb-run -a -s "-screen 0 ${width}x${height}x24" "$0" "$build" "${@:2}"
fi

work=$(mktemp -d)
app=""
sim=""
cleanup() {
    [[ -n "$sim" ]] && kill "$sim" 2>/dev/null || true
    [[ -n "$app" ]] && kill "$app" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Settings of these runs stay in the temporary folder, away from the user's own; a one-minute window shows
# the plots filled after a short run.
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
mkdir -p "$XDG_CONFIG_HOME/FleetScope" "$out"
printf '[ui]\nwindow=60\n[gateway]\nalert-rules=%s\n' "$work/alerts.json" \
    >"$XDG_CONFIG_HOME/FleetScope/fleetscope.conf"
# Alert rules that fire on the simulator's misbehaving devices (fleetscope-sim --faulty, 5 % by default:
# overheating, battery drop-outs, noisy RSSI, silences) and never on its healthy ones, a stale rule for a
# second, short-lived fleet, and gateway rules that a healthy gateway never raises.
cat >"$work/alerts.json" <<'EOF'
{"rules": [
  {"name": "overheat", "kind": "metric", "severity": "critical", "devices": "sim-*", "metric": "temp_c",
   "condition": "above", "threshold": 80, "clear": 75, "hold_ms": 0},
  {"name": "weak-signal", "kind": "metric", "severity": "warning", "devices": "sim-*", "metric": "rssi",
   "condition": "below", "threshold": -95, "clear": -90, "hold_ms": 0},
  {"name": "battery-low", "kind": "metric", "severity": "warning", "devices": "sim-*", "metric": "battery_v",
   "condition": "below", "threshold": 3.0, "clear": 3.2, "hold_ms": 0},
  {"name": "sim-silent", "kind": "stale", "severity": "info", "devices": "sim-*", "silence_ms": 10000},
  {"name": "tag-silent", "kind": "stale", "severity": "warning", "devices": "tag-*", "silence_ms": 5000},
  {"name": "store-backlog", "kind": "gateway", "severity": "critical", "signal": "store_queue",
   "threshold": 50000, "hold_ms": 2000},
  {"name": "client-errors", "kind": "gateway", "severity": "info", "signal": "http_4xx_rate",
   "threshold": 5, "hold_ms": 5000}
]}
EOF
port=$((20000 + RANDOM % 20000))

wait_listening() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "make-screenshots: the monitor did not listen on 127.0.0.1:$1" >&2
    return 1
}

simulate() { # runs the simulator in the background for $1 seconds
    "$build/bin/fleetscope-sim" --target "127.0.0.1:$port" --connections 200 --mode open --interval 1000 \
        --duration "$1" --quiet >>"$work/sim.log" 2>&1 &
    sim=$!
}

# shot NAME SECONDS MONITOR-ARGS...: starts the monitor, drives it for SECONDS (in runs of at most 20 s), then
# captures the screen while the last run is still posting.
shot() {
    local name=$1 seconds=$2
    shift 2
    port=$((port + 1))
    "$build/bin/fleetscope" --listen "127.0.0.1:$port" --db "$work/fleet.db" "$@" >"$work/$name.log" 2>&1 &
    app=$!
    wait_listening "$port"
    local left=$seconds
    while ((left > 20)); do
        simulate 20
        wait "$sim" || true
        left=$((left - 20))
    done
    simulate 20
    sleep "$left"
    import -window root "$out/$name.png"
    echo "make-screenshots: wrote $out/$name.png"
    wait "$sim" || true
    sim=""
    kill "$app"
    wait "$app" || true
    app=""
}


# capture_shot NAME MONITOR-ARGS...: exports the database as a capture, opens it offline, and captures the
# screen once it is shown. A run records first when no earlier shot did.
capture_shot() {
    local name=$1
    shift
    if [[ ! -f "$work/fleet.db" ]]; then
        port=$((port + 1))
        "$build/bin/fleetscope" --listen "127.0.0.1:$port" --db "$work/fleet.db" >"$work/record.log" 2>&1 &
        app=$!
        wait_listening "$port"
        simulate 40
        wait "$sim" || true
        sim=""
        kill "$app"
        wait "$app" || true
        app=""
    fi
    "$build/bin/fleetscope-gateway" export --db "$work/fleet.db" --format capture -o "$work/session.fleetscope"
    "$build/bin/fleetscope" --open "$work/session.fleetscope" "$@" >"$work/$name.log" 2>&1 &
    app=$!
    sleep 5
    import -window root "$out/$name.png"
    echo "make-screenshots: wrote $out/$name.png"
}

# alerts_shot: the Alerts page with live alerts. A second fleet ("tag-*") posts for 3 s and falls silent, so
# its devices go stale after the rule's 5 s; the main fleet keeps raising and clearing metric alerts.
alerts_shot() {
    port=$((port + 1))
    "$build/bin/fleetscope" --listen "127.0.0.1:$port" --db "$work/fleet.db" --theme dark --page alerts \
        >"$work/alerts.log" 2>&1 &
    app=$!
    wait_listening "$port"
    "$build/bin/fleetscope-sim" --target "127.0.0.1:$port" --connections 6 --mode open --interval 1000 \
        --duration 3 --device-prefix tag --quiet >>"$work/sim.log" 2>&1 || true
    simulate 20
    sleep 14
    import -window root "$out/alerts.png"
    echo "make-screenshots: wrote $out/alerts.png"
    wait "$sim" || true
    sim=""
    kill "$app"
    wait "$app" || true
    app=""
}

shots=("${@:2}")
want() { # no SHOT arguments: every shot
    ((${#shots[@]} == 0)) && return 0
    local s
    for s in "${shots[@]}"; do [[ "$s" == "$1" ]] && return 0; done
    return 1
}

if want overview-dark; then shot overview-dark 38 --theme dark --page overview; fi
if want devices; then shot devices 12 --theme dark --page devices; fi
if want device-detail; then shot device-detail 15 --theme dark --device sim-7; fi
if want overview-light; then shot overview-light 38 --theme light --page overview; fi
if want alerts; then alerts_shot; fi
if want capture-replay; then capture_shot capture-replay --theme dark --page overview; fi
