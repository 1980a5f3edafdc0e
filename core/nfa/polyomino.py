"""Number of tests N_T: every 4-connected region (polyomino) at every position of every scale (eq. 5.8)."""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from scipy.special import logsumexp

POLYOMINO_ALPHA = 0.316915
POLYOMINO_BETA = 4.062570


def _ln_polyomino_sum(n_cells: int) -> float:
    """ln sum_{r=1}^{n} alpha beta^r / r."""
    r = np.arange(1, n_cells + 1, dtype=np.float64)
    return math.log(POLYOMINO_ALPHA) + float(logsumexp(r * math.log(POLYOMINO_BETA) - np.log(r)))


@lru_cache(maxsize=256)
def _log10_nt_cached(shapes: tuple[tuple[int, int], ...]) -> float:
    per_scale = [math.log(h * w) + _ln_polyomino_sum(h * w) for h, w in shapes]
    return float(logsumexp(per_scale)) / math.log(10.0)


def log10_polyomino_nt(shapes: Iterable[Sequence[int]]) -> float:
    """log10 N_T = log10 sum_l H_l W_l sum_{r=1}^{H_l W_l} alpha beta^r / r.

    Each shape is (H, W) or (C, H, W); only the spatial size counts.
    """
    key = tuple((int(s[-2]), int(s[-1])) for s in shapes)
    if not key or any(h <= 0 or w <= 0 for h, w in key):
        raise ValueError(f"need at least one non-empty scale, got {key}")
    return _log10_nt_cached(key)
