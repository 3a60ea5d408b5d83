#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# README's test command (and CI's): installs the dependencies, then builds and tests three ways:
#   1. dev:      every test, GCC (arguments to this script go to this ctest);
#   2. dev-asan: every test but the benchmarks (not even built) and the packaging check, under AddressSanitizer
#                and UBSan (clang, Debug), with each libFuzzer target for FLEETSCOPE_FUZZ_SECONDS (20 s) among
#                them and the executions they ran.
#                Benchmarks gate speed, which a Debug ASan build does not have: bench_ui_frame misses its
#                33 ms frame bar there;
#   3. tsan:     the runtime, store, metrics, HTTP and token tests under ThreadSanitizer (clang);
#   4. headless: the gateway and the simulator configured, built and packaged with no Qt to be found (the
#                headless preset), and their package checked to depend on no Qt library.
# On request, fuzz: the fuzz targets alone in an optimised (-O1) build, for longer runs
# (FLEETSCOPE_TEST_STEPS="fuzz" and -DFLEETSCOPE_FUZZ_SECONDS=N on its configure).
# Each step prints what it does and its wall time. FLEETSCOPE_TEST_STEPS limits the steps, e.g.
# FLEETSCOPE_TEST_STEPS="dev tsan" ./packaging/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=${FLEETSCOPE_TEST_STEPS:-"dev dev-asan tsan headless"}
jobs=$(nproc)
started=$SECONDS

wants() { [[ " $steps " == *" $1 "* ]]; }
# timed NAME COMMAND...: runs COMMAND, then reports how long it took.
timed() {
  local name=$1 t0=$SECONDS
  shift
  echo "test.sh: ${name}..."
  "$@"
  echo "test.sh: ${name}: $((SECONDS - t0)) s"
}

# fuzz_executions BUILD_DIR: libFuzzer's final stat lines in that tree's last ctest log, the executions each
# fuzz target ran.
fuzz_executions() {
  awk '/^[0-9]+\/[0-9]+ Test: /{name=$3} /^stat::number_of_executed_units:/{print "test.sh: fuzz: " name ": " $2 " executions"}' \
    "$1/Testing/Temporary/LastTest.log"
}

timed "setup" ./packaging/setup-debian.sh

if wants dev; then
  # Line tables only (-g1): backtraces keep files and lines, and GCC compiles the tree in about two thirds of
  # the time. `cmake --preset dev` sets full debug information again.
  timed "dev: configure and build" \
    bash -c "cmake --preset dev -DFLEETSCOPE_DEBUG_INFO=lines >/dev/null && cmake --build --preset dev -j $jobs"
  timed "dev: every test" ctest --preset dev -j 2 "$@"
fi

if wants dev-asan; then
  timed "dev-asan: configure and build" \
    bash -c "cmake --preset dev-asan >/dev/null && cmake --build --preset dev-asan -j $jobs"
  # packaging_deb is checked in dev, and headless packages again: under ASan, cpack compresses Debug binaries
  # for 97 s and finds nothing a sanitizer would.
  timed "dev-asan: every test but bench and packaging, and the fuzzers, under ASan and UBSan" \
    ctest --preset dev-asan -j 2 -LE '^bench$' -E '^packaging_deb$'
  fuzz_executions build/dev-asan
fi

if wants tsan; then
  timed "tsan: configure and build" bash -c "cmake --preset tsan >/dev/null && cmake --build --preset tsan -j $jobs"
  timed "tsan: runtime, store, metrics, HTTP and token tests under ThreadSanitizer" ctest --preset tsan -j 2
fi

if wants headless; then
  timed "headless: configure, build and package with no Qt" \
    ./packaging/check-headless.sh "$PWD" "$PWD/build/headless" --build
fi

if wants fuzz; then
  timed "fuzz: configure and build (clang)" \
    bash -c "cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j $jobs"
  timed "fuzz: each target for a bounded time" ctest --preset fuzz
  fuzz_executions build/fuzz
fi

echo "test.sh: all steps passed in $((SECONDS - started)) s"
