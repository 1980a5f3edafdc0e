"""Overlap of predicted and true defect masks."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two boolean masks; 1.0 when both are empty."""
    p, t = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    union = np.logical_or(p, t).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(p, t).sum() / union)


def mean_iou(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> float:
    if not preds:
        return float("nan")
    return float(np.mean([iou(p, t) for p, t in zip(preds, truths)]))
