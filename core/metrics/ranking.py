"""ROC-based figures, computed with scikit-learn."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score


def image_auroc(scores: Sequence[float], is_defective: Sequence[bool]) -> float:
    """Area under the ROC curve of image scores; NaN when only one class is present."""
    y = np.asarray(is_defective, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.asarray(scores, dtype=np.float64)))


def pixel_auroc(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> float:
    """AUROC over all pixels of all images (maps and boolean masks of equal shapes, pairwise)."""
    y = np.concatenate([np.asarray(m, dtype=bool).ravel() for m in masks])
    if y.all() or not y.any():
        return float("nan")
    s = np.concatenate([np.asarray(a, dtype=np.float32).ravel() for a in maps])
    return float(roc_auc_score(y, s))
