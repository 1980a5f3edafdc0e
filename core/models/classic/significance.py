"""Per-scale a contrario tests on a squared-distance map d^2 ~ chi2(m) under the null (thesis 3.3.4).

Every function returns log10 of a probability of false alarm (PFA); the detector adds log10 of the
number of tests of its whole family (all scales and channels) to turn them into log10 NFA.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from scipy.special import gammaincc, gammaln

from core.nfa.polyomino import POLYOMINO_ALPHA, POLYOMINO_BETA
from core.nfa.tails import log10_chi2_sf

_LN10 = math.log(10.0)
_LOG10_ALPHA = math.log10(POLYOMINO_ALPHA)
_LOG10_BETA = math.log10(POLYOMINO_BETA)


def pixel_log10_pfa(d2: np.ndarray, dof: float) -> np.ndarray:
    """log10 P(chi2_m >= d^2) per pixel."""
    return log10_chi2_sf(d2, dof).reshape(d2.shape)


def correlation_area(d2: np.ndarray, radius: int) -> float:
    """Area (in pixels) of an independent cell: the sum of the positive autocorrelation of d^2 over
    lags up to `radius`, i.e. N / (effective number of independent samples) for sums over regions."""
    h, w = d2.shape
    radius = int(max(0, min(radius, h - 1, w - 1)))
    x = d2 - d2.mean()
    var = float((x * x).mean())
    if var <= 0 or radius == 0:
        return 1.0
    fh, fw = h + radius, w + radius
    spec = np.fft.rfft2(x, s=(fh, fw))
    acf = np.fft.irfft2(spec * np.conj(spec), s=(fh, fw))
    lags_y = np.r_[0:radius + 1, -radius:0]
    lags_x = np.r_[0:radius + 1, -radius:0]
    block = acf[np.ix_(lags_y % fh, lags_x % fw)]
    counts = np.outer(h - np.abs(lags_y), w - np.abs(lags_x))
    rho = block / counts / var
    return float(max(1.0, np.clip(rho, 0.0, None).sum()))


def _log10_q(a: float, z: float) -> float:
    """log10 of the regularized upper incomplete gamma Q(a, z), scalar, finite in the far tail."""
    if z <= 0.0:
        return 0.0
    q = float(gammaincc(a, z))
    if q > 1e-250:
        return math.log10(q)
    tiny = 1e-300
    b = z + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b if abs(b) > tiny else 1.0 / tiny
    h = d
    for i in range(1, 2000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = d if abs(d) > tiny else tiny
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-12:
            break
    return (-z + a * math.log(z) - float(gammaln(a)) + math.log(h)) / _LN10


def region_log10_pfa(n_pixels: int, sum_d2: float, dof: float, cell_area: float) -> float:
    """Thesis 3.3.4, NFA by regions, without the count of positions: log10 of (polyominoes of
    n = N / s^2 independent cells) x P(chi2_{m n} >= sum d^2 / s^2)."""
    n = n_pixels / cell_area
    log_shapes = _LOG10_ALPHA + n * _LOG10_BETA - math.log10(n)
    return log_shapes + _log10_q(0.5 * dof * n, 0.5 * sum_d2 / cell_area)


def grow_regions(d2: np.ndarray, dof: float, cell_area: float, candidate_pvalue: float,
                 log10_positions: float) -> tuple[np.ndarray, list[tuple[np.ndarray, float]]]:
    """Greedy region growing (4-connected) on the candidates d^2 > tau (p-value `candidate_pvalue`):
    from the strongest unused candidate, add the strongest neighbouring candidate while it lowers the
    region's NFA. Returns a map of log10 NFA (+inf outside regions) and (flat pixels, log10 NFA) per
    region; `log10_positions` is log10 of the number of tested positions of the whole family."""
    from scipy.stats import chi2

    h, w = d2.shape
    tau = float(chi2.isf(candidate_pvalue, dof))
    flat = d2.ravel()
    candidate = flat > tau
    used = np.zeros(flat.shape, dtype=bool)
    seeds = np.flatnonzero(candidate)
    seeds = seeds[np.argsort(flat[seeds])[::-1]]
    out = np.full(flat.shape, np.inf)
    regions: list[tuple[np.ndarray, float]] = []
    values = flat.tolist()
    cand = candidate.tolist()
    for seed in seeds.tolist():
        if used[seed]:
            continue
        members = [seed]
        used[seed] = True
        total = values[seed]
        best = log10_positions + region_log10_pfa(1, total, dof, cell_area)
        frontier: list[tuple[float, int]] = []
        queued = {seed}

        def push(p: int) -> None:
            y, x = divmod(p, w)
            for q, ok in ((p - w, y > 0), (p + w, y < h - 1), (p - 1, x > 0), (p + 1, x < w - 1)):
                if ok and cand[q] and not used[q] and q not in queued:
                    queued.add(q)
                    heapq.heappush(frontier, (-values[q], q))

        push(seed)
        while frontier:
            _, q = heapq.heappop(frontier)
            if used[q]:
                continue
            trial = log10_positions + region_log10_pfa(len(members) + 1, total + values[q], dof, cell_area)
            if trial >= best:
                break  # the strongest neighbour does not help, so no weaker one does
            best = trial
            total += values[q]
            members.append(q)
            used[q] = True
            push(q)
        pixels = np.asarray(members, dtype=np.int64)
        out[pixels] = best
        regions.append((pixels, best))
    return out.reshape(h, w), regions
