#!/usr/bin/env bash
# U-Flow on MTD magnetic_tile (default backbone, CPU, 2 threads): all training images, then the first 16.
# Prints the figures the quality targets are read from; JSON files go to ${OUT:-/tmp/contrario_eval}.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data/mtd/magnetic_tile}"
OUT="${OUT:-/tmp/contrario_eval}"
PY="${PY:-.venv/bin/python}"
mkdir -p "$OUT"
export OMP_NUM_THREADS=2
"$PY" -m core.commands.eval_cmd "$DATA" --threads 2 --json "$OUT/mtd_all.json" "${@:2}"
"$PY" -m core.commands.eval_cmd "$DATA" --threads 2 --shots 16 --json "$OUT/mtd_16.json" "${@:2}"
"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
keys = ["n_train", "image_auroc", "pixel_auroc", "aupro", "train_seconds", "backbone_ms_per_image",
        "infer_ms_per_image", "miou_nfa", "good_images_with_detection", "regions_per_good_image",
        "nfa_ms_per_image", "calibration"]
for name in ("mtd_all", "mtd_16"):
    r = json.loads((Path(sys.argv[1]) / f"{name}.json").read_text())
    print(name)
    for k in keys:
        v = r.get(k)
        print(f"  {k:28s} {v:.4f}" if isinstance(v, float) else f"  {k:28s} {v}")
    print(f"  {'infer / backbone':28s} {r['infer_ms_per_image'] / r['backbone_ms_per_image']:.2f}")
PY
