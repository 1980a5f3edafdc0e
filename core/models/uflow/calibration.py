"""Is the latent really N(0, 1)? Checks on held-out normal images, stored with the model.

Per scale, u = sum_k z_k^2 at each cell should follow chi-square with C degrees of freedom: the NFA
relies on it. We report mean(u / C) (1 when calibrated), var(u) / 2C (1), the Kolmogorov-Smirnov
distance between the empirical law of u and chi2(C), and a histogram of u / C with the reference
density, for plotting.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy import stats

MEAN_TOLERANCE = 0.2
KS_TOLERANCE = 0.1


def calibration_report(latents_per_image: Sequence[Sequence[np.ndarray]], max_samples: int = 200_000,
                       seed: int = 0) -> dict[str, Any]:
    """`latents_per_image[i][l]` is image i's (C_l, H_l, W_l) latent at scale l (coarsest first)."""
    if not latents_per_image:
        return {"scales": [], "ok": False, "warnings": ["no held-out images to check the calibration"]}
    rng = np.random.default_rng(seed)
    scales = []
    warnings = []
    for level in range(len(latents_per_image[0])):
        c = int(latents_per_image[0][level].shape[0])
        u = np.concatenate([(img[level].astype(np.float64) ** 2).sum(0).ravel() for img in latents_per_image])
        sample = u if u.size <= max_samples else rng.choice(u, max_samples, replace=False)
        ks = float(stats.kstest(sample, stats.chi2(c).cdf).statistic)
        mean_ratio = float(u.mean() / c)
        var_ratio = float(u.var() / (2 * c))
        edges = np.linspace(0.0, 3.0, 61)
        counts, _ = np.histogram(u / c, bins=edges, density=True)
        centres = 0.5 * (edges[1:] + edges[:-1])
        reference = c * stats.chi2(c).pdf(c * centres)
        scales.append({"channels": c, "mean_z2": mean_ratio, "var_ratio": var_ratio, "ks": ks,
                       "n_cells": int(u.size), "hist_edges": edges.tolist(), "hist_density": counts.tolist(),
                       "chi2_density": reference.tolist()})
        if abs(mean_ratio - 1) > MEAN_TOLERANCE or ks > KS_TOLERANCE:
            warnings.append(f"scale {level} ({c} channels): mean z^2 = {mean_ratio:.2f}, KS = {ks:.2f}; "
                            "latents are not N(0,1), NFA thresholds will be off")
    return {"scales": scales, "ok": not warnings, "warnings": warnings, "n_images": len(latents_per_image)}


def mean_z2_per_scale(latents_per_image: Sequence[Sequence[np.ndarray]]) -> list[float]:
    """mean over cells and images of sum_k z^2 / C, per scale."""
    if not latents_per_image:
        return []
    out = []
    for level in range(len(latents_per_image[0])):
        total = sum(float((img[level].astype(np.float64) ** 2).mean()) * img[level][0].size for img in latents_per_image)
        cells = sum(img[level][0].size for img in latents_per_image)
        out.append(total / cells)
    return out
