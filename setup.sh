#!/usr/bin/env bash
# Sets up Contrario on a fresh Debian/Ubuntu x86-64 machine: the system libraries headless Qt needs,
# a virtual environment in .venv with the pinned dependencies, and Contrario itself (editable).
set -euo pipefail
cd "$(dirname "$0")"

QT_DEBS="libgl1 libegl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0"
missing=()
for deb in $QT_DEBS; do
    dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing system libraries for Qt: ${missing[*]}"
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
echo "Contrario is set up. Try: .venv/bin/contrario demo"
