"""Tiles at native resolution vs the whole image resized: a large grain texture with small planted defects.

    OMP_NUM_THREADS=2 python benchmarks/tiled_texture.py            # 3000 x 2000, 16 px spots, 4 px scratches
    OMP_NUM_THREADS=2 python benchmarks/tiled_texture.py --small    # 750 x 500, a quick check that it runs

The same generated good images train two U-Flow models with the default configuration (offline
tf_efficientnet_lite0, input 256): one tiled (pixel scale 256, native resolution), one with every image
resized whole (`--no-tile`). Both score the same good and defective test images. Printed per mode: planted
defects found at k = 2 (a region at k overlaps the defect), good test images with a region at k = 2, pixel
AUROC (maps and masks on an evaluation grid with the longer side EVAL_SIDE, and at the default 256), train
and score seconds. Also the largest latent difference between the default tile margin and a margin 6
coarse cells wider on one image, and the NFA time per image.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import parse_set  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.ranking import pixel_auroc  # noqa: E402
from core.models.uflow import (  # noqa: E402
    UFlowConfig,
    tiling,  # noqa: E402
    train,
)

EVAL_SIDE = 1500


def grain(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A stationary leather-like grain: fine and medium noise, soft highlights, grey, float32 0..255."""
    fine = ndimage.gaussian_filter(rng.standard_normal((h, w)), 1.2)
    medium = ndimage.gaussian_filter(rng.standard_normal((h, w)), 3.5)
    g = 10.0 * fine / fine.std() + 7.0 * medium / medium.std()
    return np.repeat((120.0 + g)[:, :, None], 3, axis=2).astype(np.float32)


def plant(rng: np.random.Generator, img: np.ndarray, spots: int, scratches: int) -> list[np.ndarray]:
    """Dark 16 px spots and bright 4 px scratches; returns one mask per defect."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    masks = []
    for _ in range(spots):
        cy, cx = rng.integers(40, h - 40), rng.integers(40, w - 40)
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        m = d2 <= 8 ** 2
        img[m] -= 40.0
        masks.append(m)
    for _ in range(scratches):
        length = rng.integers(min(h, w) // 12, min(h, w) // 6)
        angle = rng.uniform(0, np.pi)
        cy, cx = rng.integers(length, h - length), rng.integers(length, w - length)
        dy, dx = np.sin(angle), np.cos(angle)
        t = (yy - cy) * dy + (xx - cx) * dx
        n = -(yy - cy) * dx + (xx - cx) * dy
        m = (np.abs(t) <= length / 2) & (np.abs(n) <= 2.0)
        img[m] += 35.0
        masks.append(m)
    np.clip(img, 0, 255, out=img)
    return masks


def dataset(seed: int, h: int, w: int, n_train: int, n_good: int, n_bad: int, spots: int, scratches: int):
    rng = np.random.default_rng(seed)
    train_images = [grain(rng, h, w) for _ in range(n_train)]
    good = [grain(rng, h, w) for _ in range(n_good)]
    bad, defects = [], []
    for _ in range(n_bad):
        img = grain(rng, h, w)
        defects.append(plant(rng, img, spots, scratches))
        bad.append(img)
    return train_images, good, bad, defects


def _nearest(n_out: int, n_in: int) -> np.ndarray:
    return np.minimum(((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64), n_in - 1)


def evaluate(model, good, bad, defects, k: float) -> dict:
    t0 = time.perf_counter()
    preds = model.predict(good + bad, batch_size=4)
    score_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    segs = [model.segment(p, k=k) for p in preds]
    nfa_s = time.perf_counter() - t1
    flagged = sum(1 for s in segs[:len(good)] if s.count_at(k) > 0)
    found = total = 0
    for seg, pred, masks in zip(segs[len(good):], preds[len(good):], defects):
        h, w = pred.original_shape
        at_k = seg.mask_at(k)
        full = at_k[_nearest(h, at_k.shape[0])][:, _nearest(w, at_k.shape[1])]
        for m in masks:
            total += 1
            found += bool((full & m).any())
    union = [np.zeros(p.original_shape, dtype=bool) for p in preds[:len(good)]]
    union += [np.logical_or.reduce(m) for m in defects]
    auroc = {}
    for side in (EVAL_SIDE, 256):
        pairs = [eval_pair(p.anomaly_map, m, p.original_shape, side=side) for p, m in zip(preds, union)]
        auroc[side] = pixel_auroc([a for a, _ in pairs], [m for _, m in pairs])
    n = len(preds)
    return {"defects_found_at_k": f"{found}/{total}", "found_fraction": found / max(total, 1),
            "good_flagged_at_k": f"{flagged}/{len(good)}", f"pixel_auroc_{EVAL_SIDE}": round(auroc[EVAL_SIDE], 4),
            "pixel_auroc_256": round(auroc[256], 4), "tiles_per_image": preds[0].tiles,
            "map_shape": list(preds[0].anomaly_map.shape), "score_s_per_image": round(score_s / n, 2),
            "nfa_s_per_image": round(nfa_s / n, 3),
            "regions_per_good_image": float(np.mean([s.count_at(k) for s in segs[:len(good)]])),
            "regions_per_good_image_by_k": {kk: round(float(np.mean([s.count_at(kk) for s in segs[:len(good)]])), 3)
                                            for kk in (0, 1, 2, 3)},
            "good_region_log10_nfa": [[round(r.log10_nfa, 2) for r in s.regions if r.log10_nfa <= -k]
                                      for s in segs[:len(good)] if s.count_at(k)]}


def margin_error(model, image: np.ndarray) -> dict:
    """Mean and largest |z| difference between the default margin and one 6 cells wider (closer to exact)."""
    from core.models.preprocess import load_rgb

    loaded = model.prepared(load_rgb(image))
    default = tiling.predict_tiled(model, loaded, tiling.plan_tiles(model, loaded.shape))
    margin = tiling.default_cells(model.multiple)[1]
    wide = tiling.predict_tiled(model, loaded, tiling.plan_tiles(model, loaded.shape, margin=margin + 6))
    diffs = [np.abs(a - b) for a, b in zip(default.latents, wide.latents)]
    return {"margin_cells": margin, "mean_abs_dz": [round(float(d.mean()), 4) for d in diffs],
            "max_abs_dz": [round(float(d.max()), 3) for d in diffs],
            "max_abs_dmap": round(float(np.abs(default.anomaly_map - wide.anomaly_map).max()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="750 x 500 images, fewer of them, shorter training")
    parser.add_argument("--k", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the model's)")
    parser.add_argument("--modes", default="tiles,whole")
    parser.add_argument("--extra-good", type=int, default=0,
                        help="more good test images, drawn after the others (the same defective images)")
    parser.add_argument("--set", default="", help='UFlowConfig overrides, e.g. "feature_pool=1"')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.small:
        size, counts = (500, 750), dict(n_train=4, n_good=2, n_bad=3, spots=2, scratches=1)
    else:
        size, counts = (2000, 3000), dict(n_train=8, n_good=4, n_bad=4, spots=3, scratches=2)
    train_images, good, bad, defects = dataset(args.seed, *size, **counts)
    extra = np.random.default_rng([args.seed, 1])
    good += [grain(extra, *size) for _ in range(args.extra_good)]
    print(json.dumps({"image": f"{size[1]}x{size[0]}", **counts, "k": args.k}), flush=True)
    for mode in args.modes.split(","):
        overrides = {"seed": args.seed, "tiling": mode == "tiles", **parse_set(args.set)}
        if args.steps:
            overrides["train_steps"] = args.steps
        config = UFlowConfig(**overrides)
        t0 = time.perf_counter()
        model = train(train_images, config)
        out = {"mode": mode, "train_s": round(time.perf_counter() - t0, 1),
               "calibrated_regions": model.regions_calibrated,
               "layout": "U shape" if model.config.scale_context else "one flow per scale",
               **evaluate(model, good, bad, defects, args.k)}
        if model.region_null is not None and model.region_null.calibration is not None:
            cal = model.region_null.calibration
            out["region_calibration"] = {"images": cal.n_images, "scores": len(cal.scores), "fitted": cal.fitted,
                                         "t0": cal.t0, "beta": cal.beta, "top_scores": cal.scores[:5]}
        if mode == "tiles":
            out["margin_check"] = margin_error(model, bad[0])
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
