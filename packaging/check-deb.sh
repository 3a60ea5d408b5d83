#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The packaging test (ctest -L integration -R packaging): builds the two .debs (fleetscope-gateway and fleetscope)
# and the .tar.gz with the documented `cpack -G DEB` / `cpack -G TGZ` in a built tree, checks each .deb's file
# list, control fields, dependencies (no Qt for the gateway; the monitor on the gateway), maintainer scripts,
# man pages, systemd unit and desktop metadata, unpacks both with `dpkg-deb -x` into one scratch root (never
# dpkg -i), and runs the unpacked executables there.
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
rm -f packages/fleetscope_"$version"-1_*.deb packages/fleetscope-gateway_"$version"-1_*.deb \
  packages/fleetscope-"$version"-Linux.tar.gz
cpack -G DEB >"$scratch/cpack-deb.log" 2>&1 || { cat "$scratch/cpack-deb.log" >&2; echo "FAIL: cpack -G DEB" >&2; exit 1; }
cpack -G TGZ >"$scratch/cpack-tgz.log" 2>&1 || { cat "$scratch/cpack-tgz.log" >&2; echo "FAIL: cpack -G TGZ" >&2; exit 1; }

shopt -s nullglob
arch=$(dpkg --print-architecture)
deb=packages/fleetscope_"$version"-1_"$arch".deb
gw_deb=packages/fleetscope-gateway_"$version"-1_"$arch".deb
for d in "$deb" "$gw_deb"; do
  [ -f "$d" ] || { echo "FAIL: cpack -G DEB did not write $d: $(ls packages)" >&2; exit 1; }
done
tgz=packages/fleetscope-"$version"-Linux.tar.gz
[ -f "$tgz" ] && pass "built $gw_deb, $deb and $tgz" || fail "cpack -G TGZ did not write $tgz"

# --- file lists ---
dpkg-deb -c "$gw_deb" | awk '{print $6}' | sed 's|^\./|/|' >"$scratch/gw-files"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$scratch/files"
gw_expected=(
  /usr/bin/fleetscope-gateway /usr/bin/fleetscope-sim
  /usr/share/man/man1/fleetscope-gateway.1.gz /usr/share/man/man1/fleetscope-sim.1.gz
  /usr/lib/systemd/system/fleetscope-gateway.service /usr/lib/sysusers.d/fleetscope-gateway.conf
  /etc/fleetscope/gateway.conf
  /usr/share/doc/fleetscope-gateway/copyright /usr/share/doc/fleetscope-gateway/LICENSE
)
expected=(
  /usr/bin/fleetscope /usr/share/man/man1/fleetscope.1.gz
  /usr/share/applications/$app_id.desktop
  /usr/share/metainfo/$app_id.metainfo.xml
  /usr/share/mime/packages/$app_id.xml
  /usr/share/icons/hicolor/scalable/apps/$app_id.svg
  /usr/share/doc/fleetscope/copyright /usr/share/doc/fleetscope/LICENSE
)
for n in 16 22 24 32 48 64 128 256 512; do
  expected+=("/usr/share/icons/hicolor/${n}x$n/apps/$app_id.png")
done
for f in "${gw_expected[@]}"; do
  grep -qxF "$f" "$scratch/gw-files" || fail "$gw_deb lacks $f"
done
for f in "${expected[@]}"; do
  grep -qxF "$f" "$scratch/files" || fail "$deb lacks $f"
done
# Each file in exactly one package: the monitor's package holds no gateway file and the other way round.
if comm -12 <(grep -v '/$' "$scratch/gw-files" | sort) <(grep -v '/$' "$scratch/files" | sort) | grep -q .; then
  fail "files in both packages: $(comm -12 <(grep -v '/$' "$scratch/gw-files" | sort) <(grep -v '/$' "$scratch/files" | sort) | tr '\n' ' ')"
fi
# Everything under /usr, but the gateway's conffile in /etc: nothing in /opt or a stray build path.
if grep -v -e '^/$' -e '^/usr/' -e '^/usr$' "$scratch/files" | grep -q .; then
  fail "$deb has files outside /usr: $(grep -v -e '^/$' -e '^/usr' "$scratch/files" | tr '\n' ' ')"
fi
if grep -v -e '^/$' -e '^/usr/' -e '^/usr$' -e '^/etc/$' -e '^/etc/fleetscope/' "$scratch/gw-files" | grep -q .; then
  fail "$gw_deb has files outside /usr and /etc/fleetscope: $(grep -v -e '^/$' -e '^/usr' -e '^/etc' "$scratch/gw-files" | tr '\n' ' ')"
fi
pass "file lists: $gw_deb $(grep -vc '/$' "$scratch/gw-files") files, $deb $(grep -vc '/$' "$scratch/files") files, all expected paths present"

# --- control fields ---
field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$gw_deb" Package)" = fleetscope-gateway ] || fail "Package is '$(field "$gw_deb" Package)', expected fleetscope-gateway"
[ "$(field "$deb" Package)" = fleetscope ] || fail "Package is '$(field "$deb" Package)', expected fleetscope"
for d in "$deb" "$gw_deb"; do
  [ "$(field "$d" Version)" = "$version-1" ] || fail "$d: Version is '$(field "$d" Version)', expected $version-1 (project version)"
  [ "$(field "$d" Architecture)" = "$arch" ] || fail "$d: Architecture is '$(field "$d" Architecture)'"
  [[ "$(field "$d" Maintainer)" =~ ^[^\<]+\ \<[^@\>]+@[^\>]+\>$ ]] || fail "$d: Maintainer '$(field "$d" Maintainer)' is not 'Name <address>'"
  if field "$d" Maintainer | grep -qi 'example'; then fail "$d: Maintainer is a placeholder: $(field "$d" Maintainer)"; fi
  [ -z "$(field "$d" Homepage)" ] || fail "$d: Homepage '$(field "$d" Homepage)' (the project has none)"
done
[[ "$(field "$gw_deb" Description | head -1)" == "FleetScope telemetry gateway"* ]] ||
  fail "$gw_deb: the summary line is '$(field "$gw_deb" Description | head -1)'"
[[ "$(field "$deb" Description | head -1)" == "FleetScope desktop fleet monitor"* ]] ||
  fail "$deb: the summary line is '$(field "$deb" Description | head -1)'"
gw_depends=$(field "$gw_deb" Depends)
depends=$(field "$deb" Depends)
for lib in libsqlite3-0 libssl3 libstdc++6; do
  grep -q "$lib" <<<"$gw_depends" || fail "$gw_deb Depends lacks $lib (dpkg-shlibdeps): $gw_depends"
done
# Qt's packages by name (libqt6..., qt6-...): a bare "qt" would match libpaho-mqtt.
if grep -qiE '(^|[ ,|])(libqt|qt6-)' <<<"$gw_depends"; then fail "$gw_deb depends on Qt: $gw_depends"; fi
for lib in libqt6core6 libqt6gui6 libqt6widgets6 libqt6network6 libqcustomplot libstdc++6 "fleetscope-gateway (= $version-1)"; do
  grep -qF "$lib" <<<"$depends" || fail "$deb Depends lacks $lib: $depends"
done
pass "control: fleetscope-gateway Depends: $gw_depends"
pass "control: fleetscope Depends: $depends"

# --- the gateway package's maintainer scripts and conffile ---
dpkg-deb -e "$gw_deb" "$scratch/gw-control"
grep -qxF /etc/fleetscope/gateway.conf "$scratch/gw-control/conffiles" ||
  fail "$gw_deb does not list /etc/fleetscope/gateway.conf as a conffile"
for script in postinst prerm postrm; do
  [ -x "$scratch/gw-control/$script" ] || { fail "$gw_deb has no executable $script"; continue; }
  sh -n "$scratch/gw-control/$script" || fail "$gw_deb: $script is not valid sh"
done
grep -q 'systemd-sysusers fleetscope-gateway.conf' "$scratch/gw-control/postinst" ||
  fail "postinst does not create the fleetscope user"
pass "fleetscope-gateway: conffile and maintainer scripts"

# --- desktop metadata (validators are optional tools; the XML must at least be well formed) ---
dpkg-deb -x "$gw_deb" "$scratch/root"
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
[ "$("$bin/fleetscope-sim" --version)" = "fleetscope-sim $version" ] ||
  fail "fleetscope-sim --version is not 'fleetscope-sim $version'"
[ "$(QT_QPA_PLATFORM=offscreen "$bin/fleetscope" --version)" = "fleetscope $version" ] ||
  fail "fleetscope --version is not 'fleetscope $version'"
"$bin/fleetscope-sim" --help >/dev/null 2>&1 || fail "fleetscope-sim --help exited non-zero"
pass "--version of all three, fleetscope-gateway --help and fleetscope-sim --help"

# The man pages, made from --help by help2man: a title and every flag of --help.
for exe in fleetscope fleetscope-gateway fleetscope-sim; do
  page=$share/man/man1/$exe.1.gz
  zcat "$page" | grep -q "^\.TH \"\?${exe^^}\"\? \"\?1\"\?" || fail "$page has no .TH ${exe^^} 1 title"
  zcat "$page" | grep -q "$version" || fail "$page does not name version $version"
done
zcat "$share/man/man1/fleetscope-gateway.1.gz" | grep -q 'config' || fail "fleetscope-gateway.1 lacks --config"
pass "man pages for the three programs, version $version"

# The packaged unit, with ExecStart adjusted to the unpacked binary, passes systemd-analyze verify silently.
if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=/usr/bin/fleetscope-gateway |ExecStart=$bin/fleetscope-gateway |" \
    "$root/usr/lib/systemd/system/fleetscope-gateway.service" >"$scratch/fleetscope-gateway.service"
  if systemd-analyze verify --man=no "$scratch/fleetscope-gateway.service" >"$scratch/verify.log" 2>&1 &&
    [ ! -s "$scratch/verify.log" ]; then
    pass "the packaged fleetscope-gateway.service passes systemd-analyze verify"
  else
    fail "systemd-analyze verify: $(cat "$scratch/verify.log")"
  fi
fi

# The installed gateway, with the installed config (as the unit runs it), serves and stops cleanly on SIGTERM
# (port 0: the kernel picks a free one).
"$bin/fleetscope-gateway" --config "$root/etc/fleetscope/gateway.conf" --listen 127.0.0.1:0 --db "$scratch/gw.db" \
  >"$scratch/gw.out" 2>"$scratch/gw.err" &
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
for f in bin/fleetscope bin/fleetscope-gateway bin/fleetscope-sim share/applications/$app_id.desktop \
  lib/systemd/system/fleetscope-gateway.service; do
  grep -q "^fleetscope-$version-Linux/$f\$" "$scratch/tgz-files" || fail "the .tar.gz lacks fleetscope-$version-Linux/$f"
done
# An archive cannot carry the absolute /etc path: it must not try (cpack would have written the build machine's /etc).
if grep -q '/etc/' "$scratch/tgz-files"; then fail "the .tar.gz holds an etc/ path: $(grep '/etc/' "$scratch/tgz-files")"; fi

if [ "$failures" -ne 0 ]; then
  echo "packaging: $failures check(s) failed" >&2
  exit 1
fi
echo "packaging: every check passed ($deb, $(du -h "$deb" | cut -f1))"
