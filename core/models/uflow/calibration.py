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


EDGE_RINGS = 4  # cells from a border with a factor of their own; the rest share one interior factor
MIN_RING_CELLS = 200  # fewer held-out cells in a ring (over all images): its factor stays 1
IPF_ROUNDS = 25


def border_distance(n: int, rings: int) -> np.ndarray:
    """Each of n cells' distance to the nearer end of its row or column, capped at `rings` (the interior)."""
    return np.minimum(np.minimum(np.arange(n), np.arange(n)[::-1]), rings)


def edge_profile(latents_per_image: Sequence[Sequence[np.ndarray]], rings: int = EDGE_RINGS
                 ) -> list[list[list[float]]]:
    """Per scale, [row factors, column factors]: factors by distance to the top or bottom border and to the
    left or right border (rings 0..rings-1, then the interior) whose product brings normal latents to mean
    z^2 / C = 1 there.

    The backbone sees zero padding beyond the image, so the cells next to its border carry features that the
    flow, trained mostly on inner cells (tiles of large images), maps to latents well above N(0, 1); without
    factors of their own the border of every normal image is one strong region, and a region calibration
    measured on such images then hides every real defect. Mean z^2 / C is modelled as a(row ring) b(column
    ring), fitted by iterative proportional fitting, so a corner (near two borders) gets both factors from the
    many cells of its two rings.
    """
    out = []
    for level in range(len(latents_per_image[0])):
        sums = np.zeros((rings + 1, rings + 1))
        counts = np.zeros((rings + 1, rings + 1))
        for img in latents_per_image:
            z = img[level]
            u = (z.astype(np.float64) ** 2).sum(0) / z.shape[0]
            dy, dx = border_distance(u.shape[0], rings), border_distance(u.shape[1], rings)
            cls = (dy[:, None] * (rings + 1) + dx[None, :]).ravel()
            sums += np.bincount(cls, weights=u.ravel(), minlength=(rings + 1) ** 2).reshape(sums.shape)
            counts += np.bincount(cls, minlength=(rings + 1) ** 2).reshape(counts.shape)
        a, b = np.ones(rings + 1), np.ones(rings + 1)
        for _ in range(IPF_ROUNDS):
            a = sums.sum(1) / np.maximum(counts @ b, 1e-12)
            b = sums.sum(0) / np.maximum(a @ counts, 1e-12)
        out.append([_factors(a, counts.sum(1)), _factors(b, counts.sum(0))])
    return out


def _factors(mean: np.ndarray, cells: np.ndarray) -> list[float]:
    """1 / sqrt(mean) per ring; a ring with too few cells to measure takes the innermost measured ring's."""
    measured = np.flatnonzero(cells >= MIN_RING_CELLS)
    if measured.size == 0:
        return [1.0] * mean.size
    filled = np.where(cells >= MIN_RING_CELLS, mean, mean[measured[-1]])
    return (1.0 / np.sqrt(np.maximum(filled, 1e-6))).tolist()


def edge_weights(shape: tuple[int, int], factors: Sequence[Sequence[float]]) -> np.ndarray:
    """The (H, W) field of one scale's edge factors ([row factors, column factors])."""
    rows, cols = (np.asarray(f, dtype=np.float32) for f in factors)
    return rows[border_distance(shape[0], len(rows) - 1)][:, None] * cols[border_distance(shape[1], len(cols) - 1)][None, :]
