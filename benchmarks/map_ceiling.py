"""What an anomaly map allows, per defect type: pixel AUROC, and the best IoU any threshold of it could reach.

    python benchmarks/map_ceiling.py /work/shared/data/mtd/magnetic_tile [--shots 16] [--set "strides=(4,8,16,32)"]

Trains U-Flow once per --set (cached backbone features, as benchmarks/uflow_sweep.py), scores the test images and
prints, for each defect type: image AUROC and pixel AUROC against the good images, the type's share of all
defective pixels, and two ceilings of the mean IoU of a thresholded map: one threshold for every image (chosen
on the test masks, the best a calibrated threshold such as the NFA's could do) and the best threshold of each
image (what no single rule can beat); the mean z^2 / C of each scale's latents on each type (1 on normal images);
and the defective images the image score (the map's maximum) finds at 1 % and 5 % of good images flagged, the most
any region test on this map could find at that false-alarm rate if it did no better than the map's maximum.
The figures are upper bounds read off test data: select nothing on them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import configurations, sweep_parser  # noqa: E402
from core.evaluation import _pixel_figures_per_defect, _read_mask, discover  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.ranking import image_auroc, pixel_auroc  # noqa: E402
from core.models.uflow import mean_z2_per_scale, train  # noqa: E402

GLOBAL_QUANTILES = np.linspace(0.80, 0.9995, 60)  # of all test pixels
IMAGE_QUANTILES = np.linspace(0.50, 0.999, 40)  # of each image's pixels


def iou(pred: np.ndarray, mask: np.ndarray) -> float:
    union = np.logical_or(pred, mask).sum()
    return float(np.logical_and(pred, mask).sum() / union) if union else 0.0


def ceilings(maps: list[np.ndarray], masks: list[np.ndarray], kinds: list[str]) -> dict:
    """Per type: mean IoU at the single best threshold over all images, and at each image's best threshold."""
    with_mask = [i for i, m in enumerate(masks) if m.any()]
    pixels = np.concatenate([m.ravel() for m in maps])
    best_level, best_miou = None, -1.0
    for q in GLOBAL_QUANTILES:
        level = float(np.quantile(pixels, q))
        value = float(np.mean([iou(maps[i] > level, masks[i]) for i in with_mask]))
        if value > best_miou:
            best_level, best_miou = level, value
    per_image = {i: max(iou(maps[i] > np.quantile(maps[i], q), masks[i]) for q in IMAGE_QUANTILES) for i in with_mask}
    out = {"all": {"images": len(with_mask), "miou_one_threshold": best_miou,
                   "miou_best_per_image": float(np.mean(list(per_image.values())))}}
    for kind in sorted(set(kinds) - {"good"}):
        idx = [i for i in with_mask if kinds[i] == kind]
        if idx:
            out[kind] = {"images": len(idx),
                         "miou_one_threshold": float(np.mean([iou(maps[i] > best_level, masks[i]) for i in idx])),
                         "miou_best_per_image": float(np.mean([per_image[i] for i in idx]))}
    return out


def found_at(scores: list[float], defective: list[bool], rate: float) -> float:
    """Fraction of defective images scoring above the level that flags `rate` of the good images."""
    good = np.sort([s for s, d in zip(scores, defective) if not d])[::-1]
    level = good[min(len(good) - 1, int(np.floor(rate * len(good))))]
    return float(np.mean([s > level for s, d in zip(scores, defective) if d]))


def main() -> None:
    parser = sweep_parser()
    parser.add_argument("--json", type=Path, default=None, help="write the figures of every --set here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = discover(args.category_dir, args.shots)
    if not data.has_masks:
        sys.exit(f"{args.category_dir}: no ground-truth masks, nothing to measure")
    kinds = list(data.defect_type)
    results = []
    for text, config, backbone in configurations(args.set, args.cache):
        t0 = time.perf_counter()
        model = train(data.train, config, backbone=backbone)
        train_s = time.perf_counter() - t0
        preds = model.predict(data.test, batch_size=8)
        pairs = [eval_pair(p.anomaly_map, _read_mask(m, p.original_shape), p.original_shape)
                 for p, m in zip(preds, data.masks)]
        maps, masks = [a for a, _ in pairs], [m for _, m in pairs]
        scores = [p.score for p in preds]
        defective = [k != "good" for k in kinds]
        per_defect = _pixel_figures_per_defect(kinds, maps, masks)
        row = {"set": text, "train_s": round(train_s, 1), "image_auroc": image_auroc(scores, defective),
               "pixel_auroc": pixel_auroc(maps, masks), **per_defect, "iou_ceiling": ceilings(maps, masks, kinds)}
        row["found_at_good_flagged"] = {str(r): found_at(scores, defective, r) for r in (0.01, 0.05)}
        row["mean_z2_per_scale"] = {kind: mean_z2_per_scale([p.latents for p, k in zip(preds, kinds) if k == kind])
                                    for kind in sorted(set(kinds))}  # coarsest scale first
        for kind in per_defect["pixel_auroc_per_defect"]:
            others = [i for i, k in enumerate(kinds) if k != kind]
            row.setdefault("pixel_auroc_without", {})[kind] = pixel_auroc([maps[i] for i in others],
                                                                         [masks[i] for i in others])
        results.append(row)
        print(f"--set {text!r}: image AUROC {row['image_auroc']:.3f}, pixel AUROC {row['pixel_auroc']:.3f}, "
              f"training {train_s:.0f} s")
        print(f"  {'type':<10} {'images':>6} {'pixel share':>11} {'pixel AUROC':>11} {'AUROC without':>13} "
              f"{'mIoU one threshold':>18} {'mIoU best per image':>19}")
        ceiling = row["iou_ceiling"]
        for kind, c in ceiling.items():
            share = per_defect["defect_pixel_share"].get(kind, 1.0)
            pix = per_defect["pixel_auroc_per_defect"].get(kind, row["pixel_auroc"])
            without = row["pixel_auroc_without"].get(kind, float("nan"))
            print(f"  {kind:<10} {c['images']:>6} {share:>11.3f} {pix:>11.3f} {without:>13.3f} "
                  f"{c['miou_one_threshold']:>18.3f} {c['miou_best_per_image']:>19.3f}")
        print("  defective images the map's maximum finds at 1 % / 5 % of good images flagged: "
              f"{row['found_at_good_flagged']['0.01']:.3f} / {row['found_at_good_flagged']['0.05']:.3f}")
        print("  mean z^2/C per scale (coarsest first): " + ", ".join(
            f"{kind} {' '.join(f'{v:.2f}' for v in values)}" for kind, values in row["mean_z2_per_scale"].items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
