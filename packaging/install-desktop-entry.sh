#!/usr/bin/env bash
# Add Contrario to the desktop's application menu for the current user (run from the unpacked folder).
# Writes ~/.local/share/applications/contrario.desktop and the icon under ~/.local/share/icons; nothing here.
set -euo pipefail

APP="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$DATA/applications" "$DATA/icons/hicolor/256x256/apps" "$DATA/icons/hicolor/scalable/apps"
cp "$APP/_internal/resources/icons/contrario.png" "$DATA/icons/hicolor/256x256/apps/contrario.png"
cp "$APP/_internal/resources/icons/contrario.svg" "$DATA/icons/hicolor/scalable/apps/contrario.svg"
sed -e "s|^Exec=contrario |Exec=\"$APP/contrario\" |" "$APP/contrario.desktop" > "$DATA/applications/contrario.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "installed $DATA/applications/contrario.desktop (runs $APP/contrario)"
