"""U-Flow alone against an ensemble of U-Flows trained with different seeds (maps averaged), same images.

    python benchmarks/uflow_seed_ensemble.py /work/shared/data/mtd/magnetic_tile --shots 16 --seeds 4

Every member uses the defaults (or --set overrides) with its own seed; the ensemble's map is the mean of the
members' eq. 5.2 maps and its image score the maximum of that mean. Prints image / pixel AUROC of each member
and of the ensemble of the first 2, 3, ... members, and the training and scoring time per member. Backbone
features are cached on disk (benchmarks/uflow_sweep.py), so timings are not those of a fresh run.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import configurations  # noqa: E402
from core.evaluation import _read_mask, discover  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.ranking import image_auroc, pixel_auroc  # noqa: E402
from core.models.uflow import train  # noqa: E402


def _figures(maps, masks, preds, defective) -> tuple[float, float]:
    pairs = [eval_pair(a, m, p.original_shape) for a, m, p in zip(maps, masks, preds)]
    return (image_auroc([float(a.max()) for a in maps], defective),
            pixel_auroc([a for a, _ in pairs], [m for _, m in pairs]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("category_dir", type=Path)
    parser.add_argument("--shots", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--set", default="")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/contrario_feature_cache"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = discover(args.category_dir, args.shots)
    defective = [d != "good" for d in data.defect_type]
    _, config, backbone = next(configurations([args.set], args.cache))
    masks, member_maps = None, []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        model = train(data.train, dataclasses.replace(config, seed=seed), backbone=backbone)
        t1 = time.perf_counter()
        preds = model.predict(data.test, batch_size=8, keep_latents=False)
        t2 = time.perf_counter()
        if masks is None:
            masks = [_read_mask(m, p.original_shape) for m, p in zip(data.masks, preds)]
        member_maps.append([p.anomaly_map for p in preds])
        img, pix = _figures(member_maps[-1], masks, preds, defective)
        print(f"seed {seed}: image AUROC {img:.4f}, pixel AUROC {pix:.4f}, training {t1 - t0:.0f} s, "
              f"scoring {1000 * (t2 - t1) / len(preds):.1f} ms per image", flush=True)
        if seed:
            mean_maps = [np.mean([m[i] for m in member_maps], axis=0) for i in range(len(preds))]
            img, pix = _figures(mean_maps, masks, preds, defective)
            print(f"ensemble of {seed + 1}: image AUROC {img:.4f}, pixel AUROC {pix:.4f}", flush=True)


if __name__ == "__main__":
    main()
