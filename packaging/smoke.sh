#!/usr/bin/env bash
# Smoke test of a built application folder, run in a clean environment (env -i: no venv, no PYTHONPATH).
#
#   bash packaging/smoke.sh [APP_DIR] [MVTEC_CATEGORY]
#
# APP_DIR defaults to dist/contrario; MVTEC_CATEGORY (an MVTec-layout folder) to the MTD magnetic_tile set.
# Everything is written to a temporary HOME; the application folder must stay untouched.
# CONTRARIO_SMOKE_KEEP=DIR keeps eval.json, jobs.json and gui.png there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="$(cd "${1:-$ROOT/dist/contrario}" && pwd)"
SOURCE="${2:-/work/shared/data/mtd/magnetic_tile}"
WORK="$(mktemp -d /tmp/contrario-smoke.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

[ -x "$APP/contrario" ] || { echo "no executable $APP/contrario" >&2; exit 1; }
mkdir -p "$WORK/home"

# The same clean environment for every command: a fresh HOME, system PATH only, offscreen Qt.
run() {
    echo "\$ contrario $*"
    env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        "$APP/contrario" "$@"
}

# A tiny MVTec-layout category: 6 good training images, 2 good and 2 cracked test images with their masks.
# (The whole listing is read before slicing: `find | head` would end find with SIGPIPE under pipefail.)
first_files() {
    local files
    mapfile -t files < <(find "$1" -maxdepth 1 -type f | sort)
    printf '%s\n' "${files[@]:0:$2}"
}
CAT="$WORK/mtd_tiny"
mkdir -p "$CAT/train/good" "$CAT/test/good" "$CAT/test/crack" "$CAT/ground_truth/crack"
first_files "$SOURCE/train/good" 6 | xargs -I{} cp {} "$CAT/train/good/"
first_files "$SOURCE/test/good" 2 | xargs -I{} cp {} "$CAT/test/good/"
for image in $(first_files "$SOURCE/test/crack" 2); do
    stem="$(basename "${image%.*}")"
    cp "$image" "$CAT/test/crack/"
    cp "$SOURCE/ground_truth/crack/$stem"* "$CAT/ground_truth/crack/"
done

touch "$WORK/before"
sleep 1

run --version

run eval "$CAT" --steps 5 --input-size 64 --threads 2 --json "$WORK/eval.json"
env -i PATH=/usr/bin:/bin python3 -c "import json, sys; d = json.load(open(sys.argv[1])); \
print('eval.json keys:', ', '.join(sorted(d)))" "$WORK/eval.json"

PROJECT="$WORK/home/projects/smoke"
run init "$PROJECT"
run import "$PROJECT" "$CAT" --batch mtd
# Training and the chained inference job run in worker processes: the frozen app started as `contrario _worker`.
run train "$PROJECT" --steps 5 --input-size 64 --threads 2 --activate --score
run jobs "$PROJECT"
env -i HOME="$WORK/home" PATH=/usr/bin:/bin "$APP/contrario" jobs "$PROJECT" --json > "$WORK/jobs.json"
env -i PATH=/usr/bin:/bin python3 - "$WORK/jobs.json" <<'EOF'
import json, sys
jobs = json.load(open(sys.argv[1]))
jobs = jobs if isinstance(jobs, list) else jobs.get("jobs", jobs)
states = {(j.get("kind"), j.get("status") or j.get("state")) for j in jobs}
print("jobs:", sorted(states))
kinds_done = {kind for kind, state in states if state == "done"}
missing = {"train", "infer"} - kinds_done
if missing:
    sys.exit(f"jobs not done: {sorted(missing)}")
EOF
run info "$PROJECT"

run gui "$PROJECT" --screenshot "$WORK/gui.png"
size="$(stat -c %s "$WORK/gui.png")"
echo "screenshot: $size bytes"
[ "$size" -gt 10000 ] || { echo "the screenshot is suspiciously small" >&2; exit 1; }

# What the .desktop entry runs: the workbench stays open (killed by timeout) instead of failing at start.
echo "\$ contrario _desktop  (15 s)"
set +e
env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    timeout -k 5 15 "$APP/contrario" _desktop
status=$?
set -e
[ "$status" -eq 124 ] || { echo "contrario _desktop ended with status $status" >&2; exit 1; }

env -i HOME="$WORK/home" PATH=/usr/bin:/bin bash "$APP/install-desktop-entry.sh"
grep -q "^Exec=\"$APP/contrario\" _desktop" "$WORK/home/.local/share/applications/contrario.desktop"
[ -s "$WORK/home/.local/share/icons/hicolor/256x256/apps/contrario.png" ]

written="$(find "$APP" -newer "$WORK/before" -print)"
if [ -n "$written" ]; then
    echo "the application wrote inside its own folder:" >&2
    echo "$written" | head -20 >&2
    exit 1
fi
if [ -n "${CONTRARIO_SMOKE_KEEP:-}" ]; then
    mkdir -p "$CONTRARIO_SMOKE_KEEP"
    cp "$WORK/eval.json" "$WORK/jobs.json" "$WORK/gui.png" "$CONTRARIO_SMOKE_KEEP/"
fi
echo "user folders written: $(cd "$WORK/home" && find . -maxdepth 3 -type d | sort | tr '\n' ' ')"
echo "SMOKE OK"
