#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The packaging test (ctest -L integration -R packaging): builds the .deb and the .tar.gz with the documented
# `cpack -G DEB` / `cpack -G TGZ` in a built tree, checks the .deb's file list, control fields and desktop metadata,
# unpacks it with `dpkg-deb -x` into a scratch root (never dpkg -i), and runs the unpacked executables there.
# Usage: check-deb.sh BUILD_DIR PROJECT_VERSION
set -euo pipefail

build_dir=${1:?usage: check-deb.sh BUILD_DIR PROJECT_VERSION}
version=${2:?usage: check-deb.sh BUILD_DIR PROJECT_VERSION}
app_id=dev.fleetscope.FleetScope
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

scratch=$(mktemp -d /tmp/fleetscope-deb.XXXXXX)
gateway_pid=""
cleanup() {
  [ -n "$gateway_pid" ] && kill -KILL "$gateway_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

cd "$build_dir"
rm -f packages/fleetscope_"$version"-1_*.deb packages/fleetscope-"$version"-Linux.tar.gz
cpack -G DEB >"$scratch/cpack-deb.log" 2>&1 || { cat "$scratch/cpack-deb.log" >&2; echo "FAIL: cpack -G DEB" >&2; exit 1; }
cpack -G TGZ >"$scratch/cpack-tgz.log" 2>&1 || { cat "$scratch/cpack-tgz.log" >&2; echo "FAIL: cpack -G TGZ" >&2; exit 1; }

shopt -s nullglob
debs=(packages/fleetscope_"$version"-1_*.deb)
[ ${#debs[@]} -eq 1 ] || { echo "FAIL: expected one packages/fleetscope_${version}-1_<arch>.deb, found ${#debs[@]}" >&2; exit 1; }
deb=${debs[0]}
tgz=packages/fleetscope-"$version"-Linux.tar.gz
[ -f "$tgz" ] && pass "built $deb and $tgz" || fail "cpack -G TGZ did not write $tgz"

# --- file list ---
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$scratch/files"
expected=(
  /usr/bin/fleetscope /usr/bin/fleetscope-gateway /usr/bin/fleetscope-sim
  /usr/share/applications/$app_id.desktop
  /usr/share/metainfo/$app_id.metainfo.xml
  /usr/share/mime/packages/$app_id.xml
  /usr/share/icons/hicolor/scalable/apps/$app_id.svg
  /usr/share/doc/fleetscope/copyright /usr/share/doc/fleetscope/LICENSE
)
for n in 16 22 24 32 48 64 128 256 512; do
  expected+=("/usr/share/icons/hicolor/${n}x$n/apps/$app_id.png")
done
for f in "${expected[@]}"; do
  grep -qxF "$f" "$scratch/files" || fail "the .deb lacks $f"
done
# Everything lives under /usr: nothing in /etc, /opt or a stray build path.
if grep -v -e '^/$' -e '^/usr/' -e '^/usr$' "$scratch/files" | grep -q .; then
  fail "files outside /usr: $(grep -v -e '^/$' -e '^/usr' "$scratch/files" | tr '\n' ' ')"
fi
pass "file list: $(grep -vc '/$' "$scratch/files") files, all ${#expected[@]} expected paths present"

# --- control fields ---
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = fleetscope ] || fail "Package is '$(field Package)', expected fleetscope"
[ "$(field Version)" = "$version-1" ] || fail "Version is '$(field Version)', expected $version-1 (project version)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(field Architecture)'"
[ -n "$(field Maintainer)" ] || fail "Maintainer is empty"
depends=$(field Depends)
for lib in libqt6core6 libqt6gui6 libqt6widgets6 libsqlite3-0 libqcustomplot libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (dpkg-shlibdeps): $depends"
done
pass "control: $(field Package) $(field Version) $(field Architecture); Depends: $depends"

# --- desktop metadata (validators are optional tools; the XML must at least be well formed) ---
dpkg-deb -x "$deb" "$scratch/root"
root=$scratch/root
share=$root/usr/share
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$share/applications/$app_id.desktop" || fail "desktop-file-validate"
fi
grep -q '^MimeType=.*application/x-fleetscope-capture;' "$share/applications/$app_id.desktop" ||
  fail "the desktop entry does not claim application/x-fleetscope-capture"
grep -q '^Exec=fleetscope ' "$share/applications/$app_id.desktop" || fail "the desktop entry does not run fleetscope"
if command -v appstreamcli >/dev/null; then
  appstreamcli validate --no-net "$share/metainfo/$app_id.metainfo.xml" >"$scratch/as.log" 2>&1 ||
    { cat "$scratch/as.log" >&2; fail "appstreamcli validate"; }
fi
if command -v xmllint >/dev/null; then
  xmllint --noout "$share/metainfo/$app_id.metainfo.xml" "$share/mime/packages/$app_id.xml" ||
    fail "the metainfo or the MIME XML is not well formed"
fi
grep -q "<release version=\"$version\"" "$share/metainfo/$app_id.metainfo.xml" ||
  fail "the metainfo has no <release version=\"$version\"> for the project version"
grep -q 'glob pattern="\*\.fleetscope"' "$share/mime/packages/$app_id.xml" || fail "the MIME XML lacks *.fleetscope"
if command -v update-mime-database >/dev/null; then
  mkdir -p "$scratch/mime/packages"
  cp "$share/mime/packages/$app_id.xml" "$scratch/mime/packages/"
  update-mime-database "$scratch/mime" >/dev/null 2>&1
  grep -q '^application/x-fleetscope-capture:\*\.fleetscope$' <(cut -d: -f2- "$scratch/mime/globs2") ||
    fail "update-mime-database did not register *.fleetscope"
fi
pass "desktop entry, metainfo and MIME type validate"

# --- the unpacked executables ---
bin=$root/usr/bin
for exe in fleetscope fleetscope-gateway fleetscope-sim; do
  [ -x "$bin/$exe" ] || { fail "$exe is not executable in the package"; continue; }
  if ldd "$bin/$exe" | grep -q 'not found'; then fail "$exe: $(ldd "$bin/$exe" | grep 'not found' | tr -s ' \t' ' ')"; fi
done

export HOME=$scratch/home XDG_DATA_HOME=$scratch/home/data XDG_CONFIG_HOME=$scratch/home/config
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"

"$bin/fleetscope-gateway" --help >"$scratch/gw-help" 2>&1 || fail "fleetscope-gateway --help exited $?"
grep -q -- '--listen' "$scratch/gw-help" || fail "fleetscope-gateway --help does not list --listen"
[ "$("$bin/fleetscope-gateway" --version)" = "fleetscope-gateway $version" ] ||
  fail "fleetscope-gateway --version is not 'fleetscope-gateway $version'"
"$bin/fleetscope-sim" --help >/dev/null 2>&1 || fail "fleetscope-sim --help exited non-zero"
pass "fleetscope-gateway --help, --version and fleetscope-sim --help"

# The installed gateway serves and stops cleanly on SIGTERM (port 0: the kernel picks a free one).
"$bin/fleetscope-gateway" --listen 127.0.0.1:0 --db "$scratch/gw.db" >"$scratch/gw.out" 2>"$scratch/gw.err" &
gateway_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$scratch/gw.out" && break
  kill -0 "$gateway_pid" 2>/dev/null || break
  sleep 0.1
done
if grep -q '^listening on ' "$scratch/gw.out"; then
  kill -TERM "$gateway_pid"
  rc=0
  wait "$gateway_pid" || rc=$?
  gateway_pid=""
  [ "$rc" -eq 0 ] && pass "installed gateway: $(head -1 "$scratch/gw.out"), exit 0 on SIGTERM" ||
    fail "installed gateway exited $rc on SIGTERM"
else
  fail "installed gateway never printed 'listening on' in 10 s: $(cat "$scratch/gw.err")"
fi

# The GUI under the offscreen platform: it must still be running after 4 s (timeout's 124), not crash at start.
rc=0
QT_QPA_PLATFORM=offscreen timeout -s TERM 4 "$bin/fleetscope" --listen 127.0.0.1:0 --db "$scratch/gui.db" \
  >"$scratch/gui.out" 2>"$scratch/gui.err" || rc=$?
if [ "$rc" -eq 124 ]; then
  pass "installed fleetscope ran 4 s under QT_QPA_PLATFORM=offscreen"
else
  fail "installed fleetscope exited $rc within 4 s: $(head -c 2000 "$scratch/gui.err")"
fi
grep -qi 'could not load the qt platform plugin' "$scratch/gui.err" && fail "fleetscope found no Qt platform plugin"
[ -f "$scratch/gui.db" ] || fail "fleetscope's embedded gateway did not create its database --db $scratch/gui.db"

# --- the TGZ holds the same tree, relative ---
tar -tzf "$tgz" >"$scratch/tgz-files"
for f in bin/fleetscope bin/fleetscope-gateway bin/fleetscope-sim share/applications/$app_id.desktop; do
  grep -q "^fleetscope-$version-Linux/$f\$" "$scratch/tgz-files" || fail "the .tar.gz lacks fleetscope-$version-Linux/$f"
done

if [ "$failures" -ne 0 ]; then
  echo "packaging: $failures check(s) failed" >&2
  exit 1
fi
echo "packaging: every check passed ($deb, $(du -h "$deb" | cut -f1))"
