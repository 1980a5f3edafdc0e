"""Chi-square tails in log10: the exact survival function and the paper's Chernoff bound."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaincc, gammaln

_LN10 = math.log(10.0)
# Below this value gammaincc is replaced by the log-space continued fraction (it underflows near 1e-308).
_UNDERFLOW_GUARD = 1e-280
_CF_MAX_ITER = 2000
_CF_EPS = 1e-15
_CF_TINY = 1e-300

TAILS = ("exact", "chernoff")


def _ln_upper_gamma_cf(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ln Q(a, y) by the Lentz continued fraction, valid for y > a + 1, any depth of tail."""
    b = y + 1.0 - a
    c = np.full_like(y, 1.0 / _CF_TINY)
    d = 1.0 / b
    h = d.copy()
    active = np.ones(y.shape, dtype=bool)
    for i in range(1, _CF_MAX_ITER + 1):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < _CF_TINY, _CF_TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _CF_TINY, _CF_TINY, c)
        d = 1.0 / d
        delta = d * c
        h = np.where(active, h * delta, h)
        active &= np.abs(delta - 1.0) > _CF_EPS
        if not active.any():
            break
    return -y + a * np.log(y) - gammaln(a) + np.log(h)


def log10_chi2_sf(x, dof):
    """Exact log10 P(chi2_dof >= x), accurate far into the tail (no underflow to -inf)."""
    x_arr, dof_arr = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(dof, dtype=np.float64))
    a = dof_arr / 2.0
    y = np.maximum(x_arr, 0.0) / 2.0
    q = np.atleast_1d(gammaincc(a, y))
    out = np.log10(np.maximum(q, np.finfo(np.float64).tiny))
    a, y = np.atleast_1d(a), np.atleast_1d(y)
    deep = q < _UNDERFLOW_GUARD
    if deep.any():
        out[deep] = _ln_upper_gamma_cf(a[deep], y[deep]) / _LN10
    out = np.where(x_arr <= 0.0, 0.0, out.reshape(x_arr.shape))
    return out if out.ndim else float(out)


def log10_chernoff(x, dof):
    """Chernoff bound of log10 P(chi2_dof >= x) (thesis eq. 5.6); 0 where x <= dof (the bound is 1 there)."""
    x_arr, dof_arr = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(dof, dtype=np.float64))
    ratio = np.maximum(x_arr, 1e-300) / dof_arr
    bound = dof_arr / (2.0 * _LN10) * (1.0 + np.log(ratio) - ratio)
    out = np.where(ratio > 1.0, bound, 0.0)
    return out if out.ndim else float(out)


def log10_level_pfa(levels, dof: int, tail: str = "exact") -> np.ndarray:
    """log10 P(chi2_dof >= level) per level, set to 0 where level <= dof (too normal to be significant)."""
    if tail not in TAILS:
        raise ValueError(f"tail must be one of {TAILS}, got {tail!r}")
    levels = np.asarray(levels, dtype=np.float64)
    out = np.zeros(levels.shape, dtype=np.float64)
    above = levels > dof
    if above.any():
        fn = log10_chi2_sf if tail == "exact" else log10_chernoff
        out[above] = np.minimum(fn(levels[above], float(dof)), 0.0)
    return out
