#!/usr/bin/env bash
# Sets up Contrario on a fresh Debian/Ubuntu x86-64 machine: the system libraries Qt needs (offscreen and
# in an X11 window), Xvfb and xdotool (the real-window test), the PostgreSQL server binaries (the tests start
# a throwaway server), a virtual environment in .venv with the pinned dependencies, and Contrario itself (editable).
set -euo pipefail
cd "$(dirname "$0")"

QT_DEBS="libgl1 libegl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0"
# What the xcb platform plugin (PySide6/Qt/plugins/platforms/libqxcb.so) links, from `ldd` on it.
XCB_DEBS="libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
 libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0
 libxcb-xkb1 libxkbcommon-x11-0"
TEST_DEBS="xvfb xauth xdotool"
QT_DEBS="$QT_DEBS $XCB_DEBS $TEST_DEBS"
missing=()
for deb in $QT_DEBS; do
    dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
# initdb/pg_ctl for tests/pg_server.py; PATH or Debian's /usr/lib/postgresql/N/bin is enough.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=("postgresql")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -e .
.venv/bin/contrario --version
XCB_PLUGIN=$(.venv/bin/python -c "from app.display_check import xcb_plugin_path as p; print(p() or '')")
if [ -n "$XCB_PLUGIN" ] && ldd "$XCB_PLUGIN" | grep -q "not found"; then
    echo "The Qt X11 plugin still lacks libraries (windows will not open):" >&2
    ldd "$XCB_PLUGIN" | grep "not found" >&2
    exit 1
fi
echo "Contrario is set up. Try: .venv/bin/contrario demo"
