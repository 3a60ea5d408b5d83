#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# README's test command: installs the dependencies, builds the dev preset and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/setup-debian.sh
cmake --preset dev
cmake --build --preset dev -j "$(nproc)"
ctest --preset dev -j 2 "$@"
