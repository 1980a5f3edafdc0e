"""Squared Mahalanobis distance of every pixel's feature vector to the image's own normality."""

from __future__ import annotations

import numpy as np


def mahalanobis_sq(features: np.ndarray, max_components: int | None = None, noise_floor: float = 0.0,
                   border: int = 0, rel_tol: float = 1e-6) -> tuple[np.ndarray, int]:
    """d^2 (H x W) and its degrees of freedom m: the features (F x H x W) are centred on their image mean
    and whitened with their image covariance, restricted to the top `max_components` principal
    directions (numerically null directions are dropped). Chi-square(m) under a Gaussian null.

    noise_floor: variance added to every principal variance (e.g. the 1/12 of 8-bit quantization for
    unit-norm filters), so that directions where the image holds only rounding noise cannot make
    false alarms. border: pixels this close to the image edge (where filters see padding) do not
    enter the statistics and get d^2 = 0."""
    f, h, w = features.shape
    inner = features
    if border > 0 and h > 2 * border + 1 and w > 2 * border + 1:
        inner = features[:, border:h - border, border:w - border]
    else:
        border = 0
    xi = inner.reshape(f, -1).astype(np.float32)
    mean = xi.mean(axis=1, dtype=np.float64).astype(np.float32)
    xi = xi - mean[:, None]
    cov = (xi @ xi.T).astype(np.float64) / max(xi.shape[1] - 1, 1)
    x = features.reshape(f, -1).astype(np.float32) - mean[:, None]
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    keep = values > rel_tol * max(values[0], 1e-300)
    if max_components is not None:
        keep[max_components:] = False
    m = int(keep.sum())
    if m == 0:
        return np.zeros(features.shape[1:], dtype=np.float64), 0
    whiten = (vectors[:, keep] / np.sqrt(values[keep] + noise_floor)).T.astype(np.float32)
    proj = whiten @ x
    d2 = np.einsum("ij,ij->j", proj, proj, dtype=np.float64).reshape(h, w)
    if border > 0:
        d2[:border] = 0.0
        d2[-border:] = 0.0
        d2[:, :border] = 0.0
        d2[:, -border:] = 0.0
    return d2, m



def tail_matched(d2: np.ndarray, dof: float, border: int = 0, q_low: float = 0.5,
                 q_high: float = 0.99) -> tuple[np.ndarray, float]:
    """Rescale d^2 to c^-1 d^2 ~ chi2(nu), c and nu fitted to two quantiles of the image's own d^2
    (the median and the 99th percentile: robust to anomalies covering under 1% of the image).
    Only ever makes the test more conservative than chi2(m): nu <= m, c >= 1 when the tail is
    heavier than chi-square (real textures are not Gaussian)."""
    from scipy.optimize import brentq
    from scipy.stats import chi2

    inner = d2[border:d2.shape[0] - border, border:d2.shape[1] - border] if border > 0 else d2
    if inner.size < 16:
        inner = d2
    lo, hi = np.quantile(inner, [q_low, q_high])
    if lo <= 0 or hi <= 0:
        return d2, float(dof)

    def ratio(nu: float) -> float:
        return float(chi2.ppf(q_high, nu) / chi2.ppf(q_low, nu))

    target = hi / lo
    nu = float(dof)
    if target > ratio(nu):
        floor = 0.05
        nu = floor if target >= ratio(floor) else brentq(lambda v: ratio(v) - target, floor, float(dof))
    c = max(1.0, float(lo / chi2.ppf(q_low, nu)))
    return d2 / c, nu
