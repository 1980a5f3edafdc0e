"""Tail probabilities in log10 for the NFA: chi-square survival and the polyomino count.

The shared versions in core.nfa are used when that package provides them; the local ones below
compute the same quantities (exact, no underflow) so this package works on its own.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaincc, gammaln

POLYOMINO_ALPHA = 0.316915
POLYOMINO_BETA = 4.062570
_LN10 = math.log(10.0)


def _log_q_continued_fraction(a: np.ndarray, x: np.ndarray, iterations: int = 400) -> np.ndarray:
    """ln Q(a, x) (regularized upper gamma) by the Lentz continued fraction, valid for x > a + 1."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / np.where(np.abs(b) < tiny, tiny, b)
    h = d.copy()
    for i in range(1, iterations + 1):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) < 1e-12):
            break
    return -x + a * np.log(x) - gammaln(a) + np.log(h)


def local_log10_chi2_sf(x, dof) -> np.ndarray:
    """log10 P(chi2_dof >= x), elementwise, finite however small the probability."""
    x = np.asarray(x, dtype=np.float64)
    dof = np.asarray(dof, dtype=np.float64)
    x, dof = np.broadcast_arrays(x, dof)
    a = dof / 2.0
    z = np.maximum(x, 0.0) / 2.0
    q = gammaincc(a, z)
    out = np.empty(x.shape, dtype=np.float64)
    ok = q > 1e-250
    out[ok] = np.log10(q[ok])
    far = ~ok
    if np.any(far):
        out[far] = _log_q_continued_fraction(a[far], z[far]) / _LN10
    return out


try:  # the shared implementation, once core.nfa provides it
    from core.nfa import log10_chi2_sf as _shared_log10_chi2_sf  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the state of core.nfa
    _shared_log10_chi2_sf = None


def log10_chi2_sf(x, dof) -> np.ndarray:
    if _shared_log10_chi2_sf is not None:
        return np.asarray(_shared_log10_chi2_sf(x, dof), dtype=np.float64)
    return local_log10_chi2_sf(x, dof)


def log10_polyominoes(n) -> np.ndarray:
    """log10 of the approximate number of 4-connected shapes of n cells, alpha beta^n / n (n may be
    fractional: an effective number of independent cells)."""
    n = np.asarray(n, dtype=np.float64)
    return math.log10(POLYOMINO_ALPHA) + n * math.log10(POLYOMINO_BETA) - np.log10(n)
