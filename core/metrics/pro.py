"""Per-region overlap (PRO) curve and its normalised area up to a false-positive rate (AUPRO).

For a threshold t: FPR(t) = fraction of normal pixels (outside every defect, over all images) with
score >= t; PRO(t) = mean over ground-truth connected components (8-connectivity, each image
separately) of the fraction of the component's pixels with score >= t. The curve is exact: every
distinct score is a threshold. AUPRO = integral of PRO d(FPR) from 0 to `max_fpr`, divided by max_fpr.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage


def pro_curve(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, pro) at every distinct score threshold, from the highest threshold down, starting at (0, 0)."""
    scores = []
    n_regions = 0
    region_sizes: list[np.ndarray] = []
    region_ids: list[np.ndarray] = []
    for amap, mask in zip(maps, masks):
        amap = np.asarray(amap, dtype=np.float64)
        mask = np.asarray(mask, dtype=bool)
        if amap.shape != mask.shape:
            raise ValueError(f"map {amap.shape} and mask {mask.shape} differ in shape")
        labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
        ids = np.where(labels > 0, labels + n_regions, 0).ravel()
        sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
        region_ids.append(ids)
        region_sizes.append(sizes)
        scores.append(amap.ravel())
        n_regions += count
    score = np.concatenate(scores)
    ids = np.concatenate(region_ids)
    sizes = np.concatenate(region_sizes) if region_sizes else np.zeros(0)
    normal = ids == 0
    n_normal = int(normal.sum())
    if n_regions == 0 or n_normal == 0:
        raise ValueError("the PRO curve needs at least one defect region and one normal pixel")
    fpr_step = normal / n_normal
    pro_step = np.zeros_like(score)
    pro_step[~normal] = 1.0 / (sizes[ids[~normal] - 1] * n_regions)
    order = np.argsort(-score, kind="stable")
    s_sorted = score[order]
    fpr = np.cumsum(fpr_step[order])
    pro = np.cumsum(pro_step[order])
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    return np.r_[0.0, fpr[last_of_tie]], np.r_[0.0, pro[last_of_tie]]


def aupro(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray], max_fpr: float = 0.3) -> float:
    """Normalised area under the PRO curve for FPR in [0, max_fpr] (1.0 = perfect)."""
    fpr, pro = pro_curve(maps, masks)
    fpr = np.clip(fpr, 0.0, 1.0)
    pro_at_max = np.interp(max_fpr, fpr, pro)
    keep = fpr <= max_fpr
    x = np.r_[fpr[keep], max_fpr]
    y = np.r_[pro[keep], pro_at_max]
    return float(np.trapezoid(y, x) / max_fpr)
