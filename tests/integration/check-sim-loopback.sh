#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# fleetscope-sim on a host whose loopback interface has 127.0.0.1 alone (as macOS and Windows have by default):
# in a network namespace of its own, with 127.0.0.1/32 in place of 127.0.0.0/8, a gateway and the simulator
# asked for 3 source addresses. The simulator must find that 127.0.0.2 and up cannot be bound and connect every
# device from 127.0.0.1. Exits 77 (skipped) where a network namespace cannot be made (not root, no unshare).
# Usage: check-sim-loopback.sh BIN_DIR
set -euo pipefail
bin=${1:?usage: check-sim-loopback.sh BIN_DIR}
command -v unshare >/dev/null && command -v ip >/dev/null && unshare -n true 2>/dev/null ||
  { echo "skipped: cannot make a network namespace here (unshare -n as root, and ip, are needed)"; exit 77; }

scratch=$(mktemp -d /tmp/fleetscope-loopback.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# Everything below runs inside the namespace; the gateway dies with it at the latest.
unshare -n bash -euo pipefail -c '
bin=$1 scratch=$2
ip link set lo up
ip addr del 127.0.0.1/8 dev lo
ip addr add 127.0.0.1/32 dev lo
"$bin/fleetscope-gateway" --listen 127.0.0.1:0 --db "$scratch/sim.db" --workers 1 >"$scratch/gw.out" 2>"$scratch/gw.err" &
gw=$!
trap "kill -KILL $gw 2>/dev/null || true" EXIT
for _ in $(seq 100); do grep -q "^listening on " "$scratch/gw.out" && break; sleep 0.1; done
port=$(sed -n "s/^listening on 127.0.0.1:\([0-9]*\)$/\1/p" "$scratch/gw.out")
[ -n "$port" ] || { cat "$scratch/gw.err" >&2; exit 1; }
rc=0
"$bin/fleetscope-sim" --target "127.0.0.1:$port" --connections 20 --mode closed --duration 1 --sources 3 \
  --threads 1 --json --quiet >"$scratch/sim.json" 2>"$scratch/sim.err" || rc=$?
kill -TERM $gw
wait $gw || true
echo "$rc" >"$scratch/sim.rc"
' bash "$bin" "$scratch"

python3 - "$scratch/sim.json" "$(cat "$scratch/sim.rc")" "$scratch/sim.err" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
sources = [s["address"] for s in report["sources"]]
problems = []
if sources != ["127.0.0.1"]:
    problems.append(f"sources {sources}, expected only 127.0.0.1")
if report["connections"]["opened"] != 20:
    problems.append(f"{report['connections']['opened']} of 20 connections opened")
if report["requests"]["ok"] == 0:
    problems.append("no request answered 2xx")
if rc != 0:
    problems.append(f"fleetscope-sim exited {rc}: {open(sys.argv[3]).read()}")
if problems:
    print("FAIL: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"ok: every device connected from {sources[0]} ({report['sources'][0]['connects']} connects), "
      f"{report['requests']['ok']} requests answered 2xx")
PY
