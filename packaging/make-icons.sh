#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerates every raster icon from the one SVG source and writes them into the tree, where they are committed
# (they are our own artwork; the build never needs these tools). Run it after editing the SVG.
# Needs: rsvg-convert (librsvg2-bin), ImageMagick's convert (imagemagick) and png2icns (icnsutils).
set -euo pipefail
cd "$(dirname "$0")/.."

id=dev.fleetscope.FleetScope
hicolor=resources/linux/icons/hicolor
svg=$hicolor/scalable/apps/$id.svg
for tool in rsvg-convert convert png2icns; do
  command -v "$tool" >/dev/null || { echo "make-icons: $tool is missing (apt-get install librsvg2-bin imagemagick icnsutils)" >&2; exit 1; }
done

# Freedesktop hicolor sizes, 16 to 512 px.
for n in 16 22 24 32 48 64 128 256 512; do
  mkdir -p "$hicolor/${n}x$n/apps"
  rsvg-convert -w "$n" -h "$n" "$svg" -o "$hicolor/${n}x$n/apps/$id.png"
done

# Windows: one .ico holding the sizes Explorer and the taskbar ask for (256 is stored PNG-compressed).
convert $(for n in 16 24 32 48 64 128 256; do echo "$hicolor/${n}x$n/apps/$id.png"; done) packaging/windows/fleetscope.ico

# macOS: png2icns picks the icns type from each PNG's size (16, 32, 48, 128, 256, 512).
png2icns packaging/macos/FleetScope.icns $(for n in 16 32 48 128 256 512; do echo "$hicolor/${n}x$n/apps/$id.png"; done) >/dev/null
echo "make-icons: wrote $hicolor/*/apps/$id.png, packaging/windows/fleetscope.ico, packaging/macos/FleetScope.icns"
