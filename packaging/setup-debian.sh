#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs every build and test dependency of FleetScope on Debian 12 with apt-get.
# Idempotent: when everything is present it prints one line and touches nothing.
# Usage: setup-debian.sh [--bench] [--screenshots]
#   --bench        also Go and its SQLite driver, for the Go peer of tests/bench/run-bench.sh
#   --screenshots  also Xvfb and ImageMagick, for tests/ui/make-screenshots.sh
# Neither is needed to build, run or test (test.sh, CI), so they are not installed by default.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config lld
  qt6-base-dev qt6-base-dev-tools libgl-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  libboost1.81-dev libboost-fiber1.81-dev libboost-context1.81-dev libboost-json1.81-dev
  libboost-program-options1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3
  libpq-dev postgresql-15 haproxy
  libssl-dev zlib1g-dev
  fonts-dejavu-core
  clang libclang-rt-14-dev
  dpkg-dev file appstream desktop-file-utils shared-mime-info libxml2-utils
  prometheus python3-jsonschema
  libsystemd-dev systemd help2man python3 iproute2
  openssl jq
  libpaho-mqtt-dev mosquitto mosquitto-clients
)
for arg in "$@"; do
  case $arg in
    --bench) packages+=(golang-go golang-github-mattn-go-sqlite3-dev) ;;
    --screenshots) packages+=(xvfb xauth imagemagick) ;;
    *) echo "setup: unknown option $arg (usage: setup-debian.sh [--bench] [--screenshots])" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} build and test dependencies are installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
