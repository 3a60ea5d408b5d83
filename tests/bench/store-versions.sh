#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The store's write path at several commits, in one invocation: builds today's bench_store.cpp against the
# store of each commit (a release build of `git archive COMMIT` under build/release/store-versions/), then runs
# them in turn, ROUNDS times, alternating the order, and prints each run's CPU per request. What one change
# bought is the difference between two columns of the same run.
#
# Usage: tests/bench/store-versions.sh [--rounds N] [--] COMMIT... [-- BENCH_STORE_ARGS...]
#   COMMIT     any commit; HEAD means the worktree as it is (build/release/bin/bench_store, built here)
#   --rounds   how many times each version runs (default 2)
# The bench_store arguments default to "3 256 256 --metrics 2": 3 s, 256 devices, 256 requests in flight.
# Commits before the Writer/Reader boundary (41b3f2f) construct store::Store directly; the script patches
# the one line that opens the store.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/own-session.sh
source "$ROOT/tests/bench/own-session.sh" "$@"

ROUNDS=2
COMMITS=()
ARGS=()
while (($#)); do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --) shift; ARGS=("$@"); break ;;
    *) COMMITS+=("$1") ;;
    esac
    shift
done
((${#COMMITS[@]})) || { echo "usage: $0 [--rounds N] COMMIT... [-- BENCH_STORE_ARGS...]" >&2; exit 2; }
((${#ARGS[@]})) || ARGS=(3 256 256 --metrics 2)

OUT=$ROOT/build/release/store-versions
mkdir -p "$OUT"
declare -A BIN
for c in "${COMMITS[@]}"; do
    if [[ $c == HEAD ]]; then
        (cd "$ROOT" && cmake --build --preset release --target bench_store >"$OUT/HEAD-build.log" 2>&1) ||
            { echo "building HEAD failed; see $OUT/HEAD-build.log" >&2; exit 1; }
        BIN[$c]=$ROOT/build/release/bin/bench_store
        continue
    fi
    sha=$(git -C "$ROOT" rev-parse --short "$c")
    src=$OUT/$sha
    if [[ ! -x $src/build/release/bin/bench_store ]]; then
        rm -rf "$src"
        mkdir -p "$src"
        git -C "$ROOT" archive "$sha" | tar -x -C "$src"
        cp "$ROOT/tests/bench/bench_store.cpp" "$src/tests/bench/bench_store.cpp"
        if ! grep -q 'open_store' "$src/core/store/store.hpp"; then
            python3 - "$src/tests/bench/bench_store.cpp" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
old = "        const auto opened = store::open_store(opt);\n        store::Writer& s = opened->writer();\n"
assert old in s, "bench_store.cpp no longer opens the store the way this script patches"
open(p, "w").write(s.replace(old, "        store::Store s(opt);\n"))
EOF
        fi
        echo "== building bench_store at $sha" >&2
        (cd "$src" && cmake --preset release >"$src/configure.log" 2>&1 &&
            cmake --build --preset release --target bench_store >"$src/build.log" 2>&1) ||
            { echo "building $sha failed; see $src/*.log" >&2; exit 1; }
    fi
    BIN[$c]=$src/build/release/bin/bench_store
done

echo "== $BENCH_SCHEDULING; load: $(cut -d' ' -f1-3 /proc/loadavg); bench_store ${ARGS[*]}"
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${COMMITS[@]}")
    if ((r % 2 == 0)); then
        mapfile -t order < <(printf '%s\n' "${COMMITS[@]}" | tac)
    fi
    for c in "${order[@]}"; do
        echo "-- round $r, $c ($(git -C "$ROOT" log -1 --format='%h %s' "$c" | cut -c1-80))"
        "${BIN[$c]}" "${ARGS[@]}" | sed 's/^/   /'
    done
done
