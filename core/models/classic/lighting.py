"""Views of one surface under several lightings -> the last principal components across lightings
(thesis 3.5.1): the first components carry colour and texture, local relief stands out in the last."""

from __future__ import annotations

import numpy as np


def lighting_components(views: np.ndarray, keep_last: int) -> tuple[np.ndarray, np.ndarray]:
    """V x H x W grey views -> (keep_last x H x W components, least variance last, each rescaled to
    mean 128 and standard deviation 32; the variance of every component, descending)."""
    v = views.shape[0]
    if v < 2:
        raise ValueError("the lighting PCA needs at least two views")
    keep_last = int(min(max(keep_last, 1), v))
    x = views.reshape(v, -1).astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    cov = x @ x.T / max(x.shape[1] - 1, 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    proj = vectors[:, v - keep_last:].T @ x
    std = proj.std(axis=1, keepdims=True)
    proj = 128.0 + 32.0 * proj / np.where(std > 0, std, 1.0)
    return proj.reshape((keep_last,) + views.shape[1:]).astype(np.float32), values
