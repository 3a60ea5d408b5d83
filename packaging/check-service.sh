#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The service test (ctest -R service_unit): fleetscope-gateway.service as configured in a build tree is accepted
# by `systemd-analyze verify` (with ExecStart pointed at the built binary, since the packaged one is not
# installed here) without a single warning, carries the sandboxing and limits the issue asks for, and its
# sysusers.d entry creates the user in a scratch root. Then the built gateway is run the way the unit runs it:
# under a service manager's environment (no HOME, STATE_DIRECTORY set, the journal's JOURNAL_STREAM, and
# NOTIFY_SOCKET for Type=notify) and with no environment at all.
# Usage: check-service.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=${1:?usage: check-service.sh BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: check-service.sh BUILD_DIR SOURCE_DIR}
unit=$build/packaging/fleetscope-gateway.service
gateway=$build/bin/fleetscope-gateway
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

scratch=$(mktemp -d /tmp/fleetscope-service.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

[ -f "$unit" ] || { echo "FAIL: $unit is not configured" >&2; exit 1; }
[ -x "$gateway" ] || { echo "FAIL: $gateway is not built" >&2; exit 1; }

# --- the unit ---
sed "s|^ExecStart=/usr/bin/fleetscope-gateway |ExecStart=$gateway |" "$unit" >"$scratch/fleetscope-gateway.service"
grep -q "^ExecStart=$gateway --config /etc/fleetscope/gateway.conf\$" "$scratch/fleetscope-gateway.service" ||
  fail "ExecStart is not '/usr/bin/fleetscope-gateway --config /etc/fleetscope/gateway.conf'"
# verify exits 0 on unknown keys and unparsable values (it only warns), so any output is a failure.
if ! systemd-analyze verify --man=no "$scratch/fleetscope-gateway.service" >"$scratch/verify.log" 2>&1 ||
  [ -s "$scratch/verify.log" ]; then
  fail "systemd-analyze verify: $(cat "$scratch/verify.log")"
else
  pass "systemd-analyze verify accepts the unit, without a warning"
fi
for directive in 'User=fleetscope' 'StateDirectory=fleetscope' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
  'ProtectHome=yes' 'PrivateTmp=yes' 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qxF "$directive" "$unit" || fail "the unit lacks $directive"
done
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
[ "${nofile:-0}" -ge 65536 ] || fail "LimitNOFILE is '${nofile}', expected at least 65536"
type=$(sed -n 's/^Type=//p' "$unit")
[ "$type" = notify ] || [ "$type" = exec ] || fail "Type is '$type', expected notify or exec"
pass "unit: Type=$type, LimitNOFILE=$nofile, sandboxing present"

# --- the system user ---
mkdir -p "$scratch/root/etc"
systemd-sysusers --root="$scratch/root" "$source_dir/packaging/linux/fleetscope-gateway.sysusers" >/dev/null 2>&1 ||
  fail "systemd-sysusers refused packaging/linux/fleetscope-gateway.sysusers"
grep -q '^fleetscope:x:[0-9]*:[0-9]*:FleetScope gateway:/var/lib/fleetscope:' "$scratch/root/etc/passwd" ||
  fail "systemd-sysusers did not create the fleetscope user: $(cat "$scratch/root/etc/passwd" 2>/dev/null)"
grep -q '^fleetscope:' "$scratch/root/etc/group" || fail "systemd-sysusers did not create the fleetscope group"
pass "sysusers.d creates user and group fleetscope"

# --- the gateway under a service manager's environment ---
state=$scratch/state
mkdir -p "$state"
: >"$scratch/journal.err"
journal_stream=$(stat -c '%d:%i' "$scratch/journal.err")
notify=$scratch/notify.sock
notices=$scratch/notices
# The service manager's end of NOTIFY_SOCKET: every datagram, one per line.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1)
while True:
    out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
' "$notify" "$notices" &
pids+=($!)
for _ in $(seq 50); do [ -S "$notify" ] && break; sleep 0.1; done

# stderr is the file whose device and inode JOURNAL_STREAM names, as systemd connects it to the journal.
(cd / && exec env -i STATE_DIRECTORY="$state" JOURNAL_STREAM="$journal_stream" NOTIFY_SOCKET="$notify" \
  "$gateway" --config "$source_dir/packaging/linux/gateway.conf" --listen 127.0.0.1:0 --workers 2 \
  >"$scratch/service.out" 2>>"$scratch/journal.err") &
service_pid=$!
pids+=("$service_pid")
for _ in $(seq 100); do grep -q '^listening on ' "$scratch/service.out" && break; sleep 0.1; done
if grep -q '^listening on ' "$scratch/service.out"; then
  [ -f "$state/fleetscope.db" ] && pass "default database in STATE_DIRECTORY: $state/fleetscope.db" ||
    fail "no database in STATE_DIRECTORY ($state): $(ls "$state")"
  grep -q "^<6>version .*; database $state/fleetscope.db;" "$scratch/journal.err" &&
    pass "log lines carry journal priority prefixes: $(head -1 "$scratch/journal.err")" ||
    fail "expected '<6>version ...' lines for the journal: $(cat "$scratch/journal.err")"
  for _ in $(seq 50); do grep -q 'READY=1' "$notices" 2>/dev/null && break; sleep 0.1; done
  if [ "$type" = notify ]; then
    grep -q '^READY=1 STATUS=listening on 127.0.0.1:' "$notices" && pass "sd_notify: $(head -1 "$notices")" ||
      fail "no READY=1 on NOTIFY_SOCKET: $(cat "$notices" 2>/dev/null)"
  fi
  kill -HUP "$service_pid"
  for _ in $(seq 50); do grep -q 'SIGHUP: reloaded alert rules' "$scratch/journal.err" && break; sleep 0.1; done
  grep -q '^<6>SIGHUP: reloaded alert rules ' "$scratch/journal.err" || fail "no reload line after SIGHUP"
  [ "$type" != notify ] || grep -q '^RELOADING=1' "$notices" || fail "no RELOADING=1 on SIGHUP: $(cat "$notices")"
  kill -TERM "$service_pid"
  rc=0
  wait "$service_pid" || rc=$?
  [ "$rc" -eq 0 ] || fail "the gateway exited $rc on SIGTERM"
  [ "$type" != notify ] || grep -q '^STOPPING=1' "$notices" || fail "no STOPPING=1 on SIGTERM: $(cat "$notices")"
  grep -q '^<6>stopped; ' "$scratch/journal.err" || fail "no '<6>stopped' line: $(cat "$scratch/journal.err")"
  pass "SIGHUP reloads and SIGTERM stops with exit 0, each announced"
else
  fail "the gateway did not start under a service environment: $(cat "$scratch/journal.err")"
fi

# No HOME and no STATE_DIRECTORY: a clear error, and no database in the working directory (/).
rc=0
# (Bounded: a gateway that does start here would otherwise serve until killed.)
(cd "$scratch" && timeout 10 env -i "$gateway" --listen 127.0.0.1:0 --workers 1 >"$scratch/nohome.out" \
  2>"$scratch/nohome.err") || rc=$?
if [ "$rc" -ne 0 ] && grep -q 'fleetscope-gateway: error: .*HOME.*--db' "$scratch/nohome.err" &&
  [ ! -e "$scratch/fleetscope" ] && [ ! -e "$scratch/fleetscope.db" ]; then
  pass "without HOME or STATE_DIRECTORY: exit $rc, '$(cat "$scratch/nohome.err")'"
else
  fail "without HOME: exit $rc, stderr '$(cat "$scratch/nohome.err")', files: $(ls "$scratch")"
fi

if [ "$failures" -ne 0 ]; then
  echo "service: $failures check(s) failed" >&2
  exit 1
fi
echo "service: every check passed"
