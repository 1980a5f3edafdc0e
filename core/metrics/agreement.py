"""Agreement between annotators: Cohen's and Fleiss' kappa on verdicts, IoU and Dice on masks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
from scipy import ndimage


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters over the same subjects; 1.0 when both used one identical category."""
    if len(a) != len(b):
        raise ValueError("both raters must rate the same subjects")
    n = len(a)
    if n == 0:
        return float("nan")
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if pe >= 1.0:
        return 1.0
    return float((po - pe) / (1.0 - pe))


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa; `ratings[i]` holds the labels the raters gave subject i.

    Subjects rated fewer than twice are skipped; subjects may have different numbers of raters (each
    subject's agreement is computed over its own rater pairs). 1.0 when every rating is one category.
    """
    subjects = [list(r) for r in ratings if len(r) >= 2]
    if not subjects:
        return float("nan")
    totals: Counter = Counter()
    p_i = []
    for r in subjects:
        counts = Counter(r)
        totals.update(counts)
        n = len(r)
        p_i.append((sum(c * c for c in counts.values()) - n) / (n * (n - 1)))
    all_ratings = sum(totals.values())
    pe = sum((c / all_ratings) ** 2 for c in totals.values())
    po = float(np.mean(p_i))
    if pe >= 1.0:
        return 1.0
    return float((po - pe) / (1.0 - pe))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks (non-zero = set); 1.0 when both are empty."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else float(np.count_nonzero(a & b) / union)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient 2|A∩B| / (|A|+|B|); 1.0 when both are empty."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    total = np.count_nonzero(a) + np.count_nonzero(b)
    return 1.0 if total == 0 else float(2 * np.count_nonzero(a & b) / total)


@dataclass(frozen=True)
class RegionOverlap:
    """One connected region of the union of several masks, and how well the masks agree on it."""

    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    area: int  # pixels of the union
    covered_by: tuple[int, ...]  # indices of the masks that mark part of it
    iou: float  # intersection over union of all the masks inside the region
    dice: float  # mean pairwise Dice inside the region
    classes: tuple[int, ...]  # per mask, its most frequent class inside the region (0 = not marked)


def region_overlaps(masks: Sequence[np.ndarray]) -> list[RegionOverlap]:
    """Split the union of the masks into 8-connected regions and score the agreement on each."""
    stack = np.stack([np.asarray(m) for m in masks])
    marked = stack > 0
    union = marked.any(axis=0)
    labels, n = ndimage.label(union, structure=np.ones((3, 3), dtype=bool))
    out = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        inside = labels[sl] == idx
        parts = marked[(slice(None),) + sl] & inside
        vals = stack[(slice(None),) + sl]
        inter = np.logical_and.reduce(parts, axis=0).sum()
        area = int(inside.sum())
        pair = [dice(parts[i], parts[j]) for i in range(len(masks)) for j in range(i + 1, len(masks))]
        classes = []
        for k in range(len(masks)):
            v = vals[k][parts[k]]
            classes.append(int(np.bincount(v).argmax()) if v.size else 0)
        out.append(
            RegionOverlap(
                bbox=(sl[1].start, sl[0].start, sl[1].stop, sl[0].stop),
                area=area,
                covered_by=tuple(k for k in range(len(masks)) if parts[k].any()),
                iou=float(inter / area),
                dice=float(np.mean(pair)) if pair else 1.0,
                classes=tuple(classes),
            )
        )
    return out
