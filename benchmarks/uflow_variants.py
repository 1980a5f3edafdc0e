"""Train U-Flow once per configuration (cached backbone features) and compare map/score variants.

    python benchmarks/uflow_variants.py /work/shared/data/mtd/magnetic_tile --shots 16 --set "feature_noise=0.2"

Variants are computed from the same latents: the eq. 5.2 map raw or smoothed, image score = max or the mean
of the top 1 % of the map. Prints one JSON line per configuration and variant. Select nothing on these
figures that is not a fixed rule: they come from test data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import configurations  # noqa: E402
from core.evaluation import _read_mask, discover  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.pro import aupro  # noqa: E402
from core.metrics.ranking import image_auroc, pixel_auroc  # noqa: E402
from core.models.uflow import mean_z2_per_scale, train  # noqa: E402
from core.models.uflow.model import anomaly_map_from_latents, smooth_map  # noqa: E402


def _map(latents: list[np.ndarray], shape: tuple[int, int], sigma: float) -> np.ndarray:
    z = [torch.from_numpy(lat)[None] for lat in latents]
    return smooth_map(anomaly_map_from_latents(z, shape), sigma)[0].numpy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("category_dir", type=Path)
    parser.add_argument("--shots", type=int, default=None)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--sigmas", default="0,4")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/contrario_feature_cache"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--aupro", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = discover(args.category_dir, args.shots)
    defective = [d != "good" for d in data.defect_type]
    masks_full = None
    for text, config, backbone in configurations(args.set, args.cache):
        t0 = time.perf_counter()
        model = train(data.train, config, backbone=backbone)
        train_s = time.perf_counter() - t0
        preds = model.predict(data.test, batch_size=8)
        if masks_full is None:
            masks_full = [_read_mask(m, p.original_shape) for m, p in zip(data.masks, preds)]
        good_z2 = mean_z2_per_scale([p.latents for p, d in zip(preds, defective) if not d])
        hold = [s["mean_z2"] for s in model.calibration.get("scales", [])]
        for sigma in [float(s) for s in args.sigmas.split(",")]:
            maps = [_map(p.latents, p.input_shape, sigma) for p in preds]
            pairs = [eval_pair(a, m, p.original_shape) for a, m, p in zip(maps, masks_full, preds)]
            row = {"set": text, "sigma": sigma,
                   "img_max": round(image_auroc([a.max() for a in maps], defective), 4),
                   "img_top1": round(image_auroc([np.sort(a.ravel())[-max(1, a.size // 100):].mean() for a in maps],
                                                 defective), 4),
                   "pix": round(pixel_auroc([a for a, _ in pairs], [m for _, m in pairs]), 4)}
            if args.aupro:
                row["aupro"] = round(aupro([a for a, _ in pairs], [m for _, m in pairs], max_fpr=0.3), 4)
            row.update({"hold_z2": [round(v, 2) for v in hold], "good_z2": [round(v, 2) for v in good_z2],
                        "train_s": round(train_s, 1), "sel_step": model.meta["training"].get("selected_step")})
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
