#!/usr/bin/env bash
# Install Honk's freedesktop entry and icon for the current user, so it shows in the
# application menu. Honors XDG_DATA_HOME. Run after `pip install .` (so `honk` is on PATH).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
install -Dm644 "$root/resources/honk.desktop" "$data/applications/honk.desktop"
install -Dm644 "$root/resources/icons/honk.svg" "$data/icons/hicolor/scalable/apps/honk.svg"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "installed $data/applications/honk.desktop"
