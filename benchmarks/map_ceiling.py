"""What an anomaly map allows, per defect type: pixel AUROC, and the best IoU any threshold of it could reach.

    python benchmarks/map_ceiling.py /work/shared/data/mtd/magnetic_tile [--shots 16] [--set "strides=(4,8,16,32)"]

Trains U-Flow once per --set (cached backbone features, as benchmarks/uflow_sweep.py), scores the test images and
prints, for each defect type: image AUROC and pixel AUROC against the good images, the type's share of all
defective pixels, and two ceilings of the mean IoU of a thresholded map: one threshold for every image (chosen
on the test masks, the best a calibrated threshold such as the NFA's could do) and the best threshold of each
image (what no single rule can beat); the mean z^2 / C of each scale's latents on each type (1 on normal images);
and the defective images the image score (the map's maximum) finds at 1, 5 and 10 % of good images flagged, the most
any region test on this map could find at that false-alarm rate if it did no better than the map's maximum.
The figures are upper bounds read off test data: select nothing on them.

Also printed, to see where the figures are lost:
- the pixel AUROC of each type's defective pixels against the normal pixels of each type's images and of the good
  images (200,000 pixels drawn from each set): the pooled pixel AUROC weighs every pair, so normal pixels of
  defective images that outscore the defects of other images cost it, whatever each type's own AUROC;
- per scale, the median mean z^2 / C of the cells at least a quarter of the grid away from the defect (1 on
  normal images): how far a defect shifts the latents of the rest of its image;
- per type, the share of normal pixels above the good images' 99th percentile by distance to the defect (px on the
  evaluation grid): the halo of the map around a defect;
- the pooled pixel AUROC of maps drawn from one scale's sum z^2 / C alone, and from the mean over scales;
- the image AUROC of each scale's mean z^2 / C over the whole image (a global score, against the map's maximum);
- the a contrario regions at k = 0 per type, at the image's own size: mIoU, and the median over images of the
  mask's area over the defect's, of the share of the defect it covers and of the share of the mask on the defect.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import configurations, sweep_parser  # noqa: E402
from core.evaluation import _pixel_figures_per_defect, _read_mask, discover  # noqa: E402
from core.metrics.overlap import iou  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.ranking import image_auroc, pixel_auroc  # noqa: E402
from core.models.uflow import mean_z2_per_scale, train  # noqa: E402

CROSS_SAMPLE = 200_000  # pixels drawn from each set for the cross-type pixel AUROC

GLOBAL_QUANTILES = np.linspace(0.80, 0.9995, 60)  # of all test pixels
IMAGE_QUANTILES = np.linspace(0.50, 0.999, 40)  # of each image's pixels


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


def cross_pixel_auroc(maps: list[np.ndarray], masks: list[np.ndarray], kinds: list[str], seed: int = 0) -> dict:
    """{defect type: {type of the images whose normal pixels it is ranked against: pixel AUROC}}."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)

    def drawn(values: list[np.ndarray]) -> np.ndarray:
        v = np.concatenate(values)
        return v if len(v) <= CROSS_SAMPLE else rng.choice(v, CROSS_SAMPLE, replace=False)

    types = sorted(set(kinds) - {"good"})
    defect = {t: drawn([maps[i][masks[i]] for i, k in enumerate(kinds) if k == t]) for t in types}
    normal = {t: drawn([maps[i][~masks[i]] for i, k in enumerate(kinds) if k == t]) for t in types + ["good"]}
    out = {}
    for t, pos in defect.items():
        out[t] = {}
        for u, neg in normal.items():
            y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
            out[t][u] = float(roc_auc_score(y, np.r_[pos, neg]))
    return out


HALO_BANDS = (0, 8, 16, 32, 64, 10_000)  # px on the evaluation grid


def halo(maps: list[np.ndarray], masks: list[np.ndarray], kinds: list[str]) -> dict:
    """{type: {band: share of the normal pixels in that distance band above the good pixels' 99th percentile}}."""
    from scipy import ndimage

    level = float(np.quantile(np.concatenate([m.ravel() for m, k in zip(maps, kinds) if k == "good"]), 0.99))
    out: dict[str, dict[str, float]] = {}
    for kind in sorted(set(kinds) - {"good"}):
        above = {b: [0, 0] for b in zip(HALO_BANDS, HALO_BANDS[1:])}
        for m, mask, k in zip(maps, masks, kinds):
            if k != kind or not mask.any():
                continue
            dist = ndimage.distance_transform_edt(~mask)
            for lo, hi in above:
                band = (dist > lo) & (dist <= hi)
                above[(lo, hi)][0] += int((m[band] > level).sum())
                above[(lo, hi)][1] += int(band.sum())
        out[kind] = {f"{lo}-{hi}": n / total for (lo, hi), (n, total) in above.items() if total}
    return out


def cell_energy(preds) -> list[list[np.ndarray]]:
    """Per image, per scale (coarsest first): each cell's sum z^2 / C."""
    return [[(z.astype(np.float64) ** 2).mean(0) for z in p.latents] for p in preds]


def scale_maps_pixel_auroc(energy: list[list[np.ndarray]], masks: list[np.ndarray]) -> dict:
    """Pooled pixel AUROC of the map of each scale's sum z^2 / C alone (coarsest first) and of their mean."""

    def upsampled(u: np.ndarray, shape) -> np.ndarray:
        t = torch.from_numpy(u.astype(np.float32))[None, None]
        return F.interpolate(t, size=shape, mode="bilinear", align_corners=False)[0, 0].numpy()

    per_scale = [[upsampled(e[level], m.shape) for e, m in zip(energy, masks)] for level in range(len(energy[0]))]
    out = {f"scale {level}": pixel_auroc(maps, masks) for level, maps in enumerate(per_scale)}
    out["mean over scales"] = pixel_auroc([np.mean(stack, 0) for stack in zip(*per_scale)], masks)
    return out


def far_cells_mean_z2(energy: list[list[np.ndarray]], masks: list[np.ndarray], kinds: list[str]) -> dict:
    """{type: per scale (coarsest first), the median over images of the median sum z^2 / C of the cells at least a
    quarter of the grid from the defect}; the good images' cells all count."""
    from scipy import ndimage

    out: dict[str, list[float]] = {}
    for kind in sorted(set(kinds)):
        per_scale = []
        for level in range(len(energy[0])):
            medians = []
            for e, m, k in zip(energy, masks, kinds):
                if k != kind:
                    continue
                u = e[level]
                on_grid = F.interpolate(torch.from_numpy(m.astype(np.float32))[None, None], size=u.shape,
                                        mode="area")[0, 0].numpy() > 0
                if on_grid.any():
                    far = ndimage.distance_transform_edt(~on_grid) >= max(2, min(u.shape) // 4)
                else:
                    far = np.ones(u.shape, dtype=bool)
                if far.any():
                    medians.append(float(np.median(u[far])))
            per_scale.append(float(np.median(medians)) if medians else float("nan"))
        out[kind] = per_scale
    return out


def region_figures(model, preds, truths: list[np.ndarray], kinds: list[str], k: float = 0.0) -> dict:
    """Per type: the regions' mIoU at k and the medians of mask / defect area, of recall and of precision."""
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    for p, truth, kind in zip(preds, truths, kinds):
        if kind == "good" or not truth.any():
            continue
        mask = model.segment(p, p.original_shape, k=k).mask_at(k)
        hit = float(np.logical_and(mask, truth).sum())
        rows.setdefault(kind, []).append((iou(mask, truth), mask.sum() / truth.sum(), hit / truth.sum(),
                                          hit / max(int(mask.sum()), 1)))
    rows["all"] = [r for kind_rows in list(rows.values()) for r in kind_rows]
    out = {}
    for kind, r in rows.items():
        a = np.array(r)
        out[kind] = {"images": len(a), "miou": float(a[:, 0].mean()), "area_ratio_median": float(np.median(a[:, 1])),
                     "recall_median": float(np.median(a[:, 2])), "precision_median": float(np.median(a[:, 3]))}
    return out


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
        row["found_at_good_flagged"] = {str(r): found_at(scores, defective, r) for r in (0.01, 0.05, 0.1)}
        row["mean_z2_per_scale"] = {kind: mean_z2_per_scale([p.latents for p, k in zip(preds, kinds) if k == kind])
                                    for kind in sorted(set(kinds))}  # coarsest scale first
        for kind in per_defect["pixel_auroc_per_defect"]:
            others = [i for i, k in enumerate(kinds) if k != kind]
            row.setdefault("pixel_auroc_without", {})[kind] = pixel_auroc([maps[i] for i in others],
                                                                         [masks[i] for i in others])
        row["pixel_auroc_across_types"] = cross_pixel_auroc(maps, masks, kinds)
        energy = cell_energy(preds)
        row["far_cells_mean_z2"] = far_cells_mean_z2(energy, masks, kinds)
        row["halo_above_good_q99"] = halo(maps, masks, kinds)
        row["pixel_auroc_of_scale_maps"] = scale_maps_pixel_auroc(energy, masks)
        row["image_auroc_of_mean_z2"] = [image_auroc([float(e[level].mean()) for e in energy], defective)
                                         for level in range(len(energy[0]))]
        truths = [_read_mask(m, p.original_shape) for p, m in zip(preds, data.masks)]
        row["regions_at_k0"] = region_figures(model, preds, truths, kinds)
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
        print("  defective images the map's maximum finds at 1 % / 5 % / 10 % of good images flagged: "
              + " / ".join(f"{v:.3f}" for v in row["found_at_good_flagged"].values()))
        print("  mean z^2/C per scale (coarsest first): " + ", ".join(
            f"{kind} {' '.join(f'{v:.2f}' for v in values)}" for kind, values in row["mean_z2_per_scale"].items()))
        cross = row["pixel_auroc_across_types"]
        columns = list(next(iter(cross.values())))
        print("  pixel AUROC of each type's defects (rows) against the normal pixels of each type's images:")
        print("  " + " " * 10 + "".join(f"{c:>10}" for c in columns))
        for kind, values in cross.items():
            print(f"  {kind:<10}" + "".join(f"{values[c]:>10.3f}" for c in columns))
        print("  median z^2/C of cells a quarter of the grid from the defect, per scale (coarsest first): " + ", ".join(
            f"{kind} {' '.join(f'{v:.2f}' for v in values)}" for kind, values in row["far_cells_mean_z2"].items()))
        print("  normal pixels above the good pixels' 99th percentile, by distance to the defect (px): " + "; ".join(
            f"{kind} " + " ".join(f"{band} {v:.2f}" for band, v in bands.items())
            for kind, bands in row["halo_above_good_q99"].items()))
        print("  pooled pixel AUROC of one scale's z^2/C map (coarsest first) and of their mean: " + ", ".join(
            f"{name} {v:.3f}" for name, v in row["pixel_auroc_of_scale_maps"].items()) + f" (eq. 5.2 {row['pixel_auroc']:.3f})")
        print("  image AUROC of each scale's mean z^2/C (coarsest first): "
              + " ".join(f"{v:.3f}" for v in row["image_auroc_of_mean_z2"]) + f" (map maximum {row['image_auroc']:.3f})")
        print(f"  {'regions k=0':<12} {'images':>6} {'mIoU':>6} {'mask/defect area':>16} {'recall':>7} {'precision':>9}")
        for kind, r in row["regions_at_k0"].items():
            print(f"  {kind:<12} {r['images']:>6} {r['miou']:>6.3f} {r['area_ratio_median']:>16.2f} "
                  f"{r['recall_median']:>7.2f} {r['precision_median']:>9.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
