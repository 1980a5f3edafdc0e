"""Which pixels a detected region should cover: the extent rules compared on the same model and regions.

    python benchmarks/region_extent.py /work/shared/data/mtd/magnetic_tile [--shots 16] [--set ...]

Trains U-Flow once (cached backbone features, as benchmarks/uflow_sweep.py), segments the test images at k = 0
and gives each region's pixels by every rule below; prints, per rule, the defective images whose mask at k
overlaps the defect and the mIoU of the mask at k (k = 0 and 2), and the median ratio of mask to defect area.
The regions, their NFA and their count are the same for every rule but the merged ones: only their pixels differ.

Rules: the region's cells; one level (the 99th percentile of the held-out normal images' map); a level of each
region's own, a fraction of the way from that level to its peak on the map (0.5: half maximum, the default
before Otsu's threshold; 0.7, 0.8); the same on the cells' standardised energy (u - mu) / sigma of the finest
scale and of all scales averaged, from a level of 2.33 (the normal 99th percentile); and the best threshold of
each image's map, read off its mask (an oracle no rule can use).

Otsu's threshold of the map's surprise -log(1 - map) in each region's window (`UFlowConfig.extent_otsu`). Two rules
change the regions themselves: regions of different scales that overlap merged into one (`merge_scales`), with the
half maximum or with Otsu's threshold (the default). For these and the half maximum the good test images' regions
at k = 0 and 2 are counted too, as regions and as connected parts of the mask (what a reviewer sees as separate
marks).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import configurations, sweep_parser  # noqa: E402
from core.evaluation import _read_mask, discover  # noqa: E402
from core.metrics.overlap import iou  # noqa: E402
from core.models.uflow import train  # noqa: E402
from core.models.uflow.model import resize_map  # noqa: E402
from core.nfa.extent import refine_extent  # noqa: E402
from core.nfa.segmentation import chi2_energy  # noqa: E402

NORMAL_Z = 2.326  # the 99th percentile of a standard normal


def _energy(latents, null, shape) -> list[np.ndarray]:
    """Standardised cell energy (u - mu) / sigma of each scale, finest first, at `shape`."""
    out = []
    for z, sc in zip(latents[::-1], null.scales[::-1]):
        out.append(resize_map((chi2_energy(z) - sc.mu) / np.sqrt(sc.var), shape))
    return out


def rules_of(model, pred, shape, level: float, all_rules: bool = True) -> dict:
    seg = model.segment(pred, shape, k=0.0)
    amap = resize_map(pred.anomaly_map, shape)
    model.config.merge_scales = True
    merged = model.segment(pred, shape, k=0.0)
    model.config.merge_scales = False
    new = {"merged scales, half maximum": refine_extent(merged, amap, level, 0.5),
           "Otsu of the surprise -log(1 - map)": refine_extent(seg, amap, level, otsu=True),
           "merged scales, Otsu of the surprise (default)": refine_extent(merged, amap, level, otsu=True)}
    if not all_rules:
        return {"half maximum": refine_extent(seg, amap, level, 0.5), **new}
    energy = _energy(pred.latents, model.region_null, shape)
    return {"region cells": seg,
            "one level (q 0.99)": refine_extent(seg, amap, level),
            "half maximum": refine_extent(seg, amap, level, 0.5),
            "0.7 of the way": refine_extent(seg, amap, level, 0.7),
            "0.8 of the way": refine_extent(seg, amap, level, 0.8),
            "energy, finest, half": refine_extent(seg, energy[0], NORMAL_Z, 0.5),
            "energy, all scales, half": refine_extent(seg, sum(energy) / len(energy), NORMAL_Z, 0.5), **new}


def main() -> None:
    args = sweep_parser().parse_args()
    torch.set_num_threads(args.threads)
    data = discover(args.category_dir, args.shots)
    if not data.has_masks:
        sys.exit(f"{args.category_dir}: no ground-truth masks, nothing to compare the extents with")
    for text, config, backbone in configurations(args.set, args.cache):
        if config.extent_quantile <= 0:
            sys.exit("the rules need the normal map level: leave extent_quantile above 0")
        model = train(data.train, config, backbone=backbone)
        level = model.calibration["extent"]["level"]
        model.meta["calibration"].pop("extent")  # segment() gives the cells; each rule refines them here
        model.config.merge_scales = False
        preds = model.predict(data.test, batch_size=8)
        rows: dict[tuple[str, int], list] = {}
        good: dict[tuple[str, int], list] = {}
        oracle = []
        for p, kind, mask_path in zip(preds, data.defect_type, data.masks):
            if kind == "good":
                for name, seg in rules_of(model, p, p.original_shape, level, all_rules=False).items():
                    for k in (0, 2):
                        good.setdefault((name, k), []).append((seg.count_at(k), ndimage.label(seg.mask_at(k))[1]))
                continue
            truth = _read_mask(mask_path, p.original_shape)
            if not truth.any():
                continue
            for name, seg in rules_of(model, p, p.original_shape, level).items():
                for k in (0, 2):
                    m = seg.mask_at(k)
                    rows.setdefault((name, k), []).append((bool((m & truth).any()), iou(m, truth),
                                                           m.sum() / truth.sum()))
            amap = resize_map(p.anomaly_map, p.original_shape)
            oracle.append(max(iou(amap >= t, truth) for t in np.quantile(amap, np.linspace(0.5, 0.9999, 80))))
        print(f"{args.category_dir} shots={args.shots} set={text!r}: {len(oracle)} defective images with a mask")
        _table("found at k = 0 / 2 | mIoU at k = 0 / 2 | median mask / defect area at k = 2", rows,
               lambda a0, a2: f"{a0[:, 0].mean():.3f} / {a2[:, 0].mean():.3f} | {a0[:, 1].mean():.3f} / "
                              f"{a2[:, 1].mean():.3f} | {np.median(a2[:, 2]):.2f}")
        print(f"| best threshold of each image (oracle) | | {np.mean(oracle):.3f} | |")
        print(f"{len(good.get(('half maximum', 0), []))} good images")
        _table("regions per good image at k = 0 / 2 | marks per good image at k = 0 / 2 | good images flagged at k = 2",
               good, lambda g0, g2: f"{g0[:, 0].mean():.3f} / {g2[:, 0].mean():.3f} | {g0[:, 1].mean():.3f} / "
                                    f"{g2[:, 1].mean():.3f} | {(g2[:, 0] > 0).mean():.3f}")


def _table(columns: str, figures: dict[tuple[str, int], list], cells) -> None:
    """One markdown row per rule: `cells(at k = 0, at k = 2)` of its figures as arrays."""
    print(f"| rule | {columns} |")
    print("|---" * (columns.count("|") + 2) + "|")
    for name in dict.fromkeys(n for n, _ in figures):
        at0, at2 = (np.asarray(figures[(name, k)], dtype=float) for k in (0, 2))
        print(f"| {name} | {cells(at0, at2)} |", flush=True)

if __name__ == "__main__":
    main()
