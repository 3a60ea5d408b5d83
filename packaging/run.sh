#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# README's run command: installs the dependencies, builds the release preset and starts the FleetScope monitor
# with its embedded gateway on the defaults (127.0.0.1:8080, database in the user's data directory).
# Arguments are passed to fleetscope (e.g. --listen 0.0.0.0:8080 --db /tmp/lab.db).
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/setup-debian.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target fleetscope fleetscope-gateway fleetscope-sim
exec ./build/release/bin/fleetscope "$@"
