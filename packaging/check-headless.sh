#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A headless build needs no Qt: configures the project with the headless preset, which disables find_package(Qt6)
# (as on a machine without Qt) and turns the monitor and the Qt Test suites off, and checks that nothing in the
# generated build refers to Qt.
# With --build it also builds everything, packages it with `cpack -G DEB` and checks that only the
# fleetscope-gateway package comes out, depending on no Qt library (test.sh's headless step).
# Usage: check-headless.sh SOURCE_DIR BUILD_DIR [--build]
set -euo pipefail

src=${1:?usage: check-headless.sh SOURCE_DIR BUILD_DIR [--build]}
build=${2:?usage: check-headless.sh SOURCE_DIR BUILD_DIR [--build]}
full=${3:-}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# The headless preset (CMakePresets.json), in BUILD_DIR: from scratch for the configure check, so that no cache
# of an earlier run can hide a dependency; kept for --build, which then builds incrementally.
[ "$full" = --build ] || rm -rf "$build"
(cd "$src" && cmake --preset headless -B "$build") >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; echo "FAIL: the headless configure failed" >&2; exit 1; }
pass "configured with CMAKE_DISABLE_FIND_PACKAGE_Qt6=ON, FLEETSCOPE_BUILD_UI=OFF, FLEETSCOPE_BUILD_TESTS=OFF"

if grep -E '^Qt6[A-Za-z]*_DIR:PATH=/' "$build/CMakeCache.txt"; then fail "the cache found a Qt package"; fi
if grep -q -i 'qt6' "$build/build.ninja"; then fail "build.ninja refers to Qt: $(grep -i -m3 -o '[^ ]*qt6[^ ]*' "$build/build.ninja" | tr '\n' ' ')"; fi
targets=$(ninja -C "$build" -t targets all)
for t in fleetscope-gateway fleetscope-sim; do
  grep -q "^$t: " <<<"$targets" || fail "no $t target"
done
if grep -q '^fleetscope: ' <<<"$targets"; then fail "the monitor target exists in a headless build"; fi
pass "the generated build has fleetscope-gateway and fleetscope-sim, no monitor and no Qt"

if [ "$full" = --build ]; then
  cmake --build "$build" -j "$(nproc)" >"$build.build.log" 2>&1 ||
    { tail -50 "$build.build.log" >&2; echo "FAIL: the headless build failed" >&2; exit 1; }
  "$build/bin/fleetscope-gateway" --version | grep -q '^fleetscope-gateway ' || fail "the built gateway does not run"
  for exe in fleetscope-gateway fleetscope-sim; do
    if ldd "$build/bin/$exe" | grep -qi 'libQt'; then fail "$exe links Qt: $(ldd "$build/bin/$exe" | grep -i qt)"; fi
  done
  rm -f "$build"/packages/*.deb
  (cd "$build" && cpack -G DEB >"$build.cpack.log" 2>&1) ||
    { cat "$build.cpack.log" >&2; echo "FAIL: cpack -G DEB" >&2; exit 1; }
  shopt -s nullglob
  debs=("$build"/packages/*.deb)
  if [ ${#debs[@]} -ne 1 ] || [[ "${debs[0]}" != */fleetscope-gateway_*.deb ]]; then
    fail "expected only fleetscope-gateway_*.deb, got: ${debs[*]}"
  else
    depends=$(dpkg-deb -f "${debs[0]}" Depends)
    # Qt's packages by name (libqt6..., qt6-...): a bare "qt" would match libpaho-mqtt.
    if grep -qiE '(^|[ ,|])(libqt|qt6-)' <<<"$depends"; then fail "fleetscope-gateway depends on Qt: $depends"; fi
    pass "built; ${debs[0]##*/} depends on: $depends"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "headless: $failures check(s) failed" >&2
  exit 1
fi
echo "headless: every check passed"
