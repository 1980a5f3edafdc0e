"""A null model for regions that holds on real latents: what a normal image's regions look like.

The paper's test (eq. 5.8) assumes every latent cell is an independent chi-square with C degrees of
freedom. Real flow latents break both halves of that: neighbouring cells share receptive fields (they are
correlated), and the per-cell law of u = sum_k z_k^2 is wider than chi-square. This module replaces the
assumption by three things measured on held-out normal images of the model (images the flow never saw):

1. Cell moments. Per scale, the mean `mu` and variance `var` of u over normal cells.
2. Correlation area. `rho` = sum over lags of the positive part of the autocorrelation of u, averaged over
   the held-out images: how many cells carry the information of one independent cell (the "resel" of
   random field theory).
3. Region calibration. The whole segmentation is run on the held-out images; the region scores it finds
   there give the measured number of false alarms per normal image above each score, with an exponential
   tail fitted beyond the largest score seen (peaks over threshold).

Region statistic (the parametric part): a region R of r cells at one scale with energy S = sum_R u.
Under normality E[S] = r mu and Var[S] ~ r var min(r, rho) (correlated cells add their covariances, up to
the correlation area). S is given the gamma law of that mean and variance (Welch-Satterthwaite), so its
tail is log10 PFA(R) = log10 P(Gamma >= S). The count of tests is stratified by size in effective cells
r_e = max(1, r / rho): the polyominoes of r_e cells at H W / rho positions, times the number of strata
(scales x sizes). log10 NFA_model = log10 N_T(r) + log10 PFA(R).

Calibration (the empirical part): with n held-out images whose regions have model scores t_i = -log10
NFA_model, the expected number of false alarms per normal image at score t is estimated as
(#{t_i >= t} + 1) / (n + 1) up to the tail threshold t0, and beyond it as that value at t0 times
10^-(t - t0) / (beta ln 10). beta is not the mean excess over t0 itself but its upper confidence bound at
TAIL_CONFIDENCE (for m exponential excesses of mean b, 2 m mean / b is chi-square with 2 m degrees of freedom):
a tail fitted on the few regions of a few normal images is often too light, and a false alarm promised at
1 in 100 images must not rest on 5-10 points; with many images the bound and the mean meet. The reported NFA
is the larger of this and the model's: never more significant than the measured normal images allow, nor than
the model claims. Assumption: the test images' normal regions behave like the held-out normal images' (same
product, same acquisition); the tail beyond the held-out sample is exponential in -log10 NFA.

Per-scale calibration (`fit_region_null(per_scale=True)`): the gamma law fits each scale's region sums
differently (MTD, all images: held-out region scores up to 56.9 at the finest scale, 3.7 and 13.0 at the coarser
ones), so one curve for every scale lets the heaviest-tailed scale set the threshold of all of them. With one
curve per scale, fitted on that scale's held-out regions, a region of scale l out of L gets log10 NFA = log10 L +
log10 rate_l(t): the false alarms per normal image summed over the scales stay at most 10^-k (a union bound). Each
curve then rests on its own scale's regions only, so it is used only where every scale has at least
MIN_SCALE_SCORES held-out region scores: with fewer, a scale's tail is fitted on a handful of points, its upper
confidence bound is wide, and the curves lose more than one curve does (MTD, 16 images: 24 scores at the
coarsest scale, defects found at k = 2 0.309 -> 0.281; all 762 images: 148 or more per scale, 0.587 -> 0.612
with good images flagged 0.053 -> 0.037).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from core.nfa.polyomino import POLYOMINO_ALPHA, POLYOMINO_BETA
from core.nfa.tails import log10_chi2_sf

MAX_LAG = 3  # autocorrelation lags |dy|, |dx| <= MAX_LAG cells enter rho
MIN_TAIL_POINTS = 5  # fewest held-out region scores beyond t0 to fit the exponential tail
TAIL_FRACTION = 0.2  # t0 leaves this fraction of the held-out region scores above it (at least MIN_TAIL_POINTS)
TAIL_CONFIDENCE = 0.95  # confidence that the tail used is not lighter than the held-out regions show
MIN_SCALE_SCORES = 100  # per-scale curves need this many held-out region scores at every scale (20 tail points:
# the tail's upper confidence bound within 1.5 times its mean, against 2.5 times with the minimum of 5)
_LN10 = math.log(10.0)
_LOG10_BETA = math.log10(POLYOMINO_BETA)


@dataclass
class ScaleNull:
    """Normal-cell statistics of one latent scale."""

    channels: int
    mu: float  # mean of u = sum_k z^2 per cell
    var: float  # variance of u per cell
    rho: float  # correlation area in cells (>= 1)


@dataclass
class RegionCalibration:
    """Measured false alarms per normal image against the model score t = -log10 NFA_model."""

    n_images: int
    scores: list[float]  # held-out region scores, sorted descending (the empirical part)
    t0: float | None = None  # tail threshold
    beta: float | None = None  # upper confidence bound of the mean excess over t0 (in -log10 NFA units)
    fitted: bool = True  # False: too few scores, the tail beyond them follows the model's slope

    def log10_nfa(self, model_log10_nfa: np.ndarray, log10_factor: float = 0.0) -> np.ndarray:
        """Calibrated log10 NFA for model values (vectorised, monotone); `log10_factor` multiplies the measured
        rate (the number of curves a union bound runs over)."""
        m = np.asarray(model_log10_nfa, dtype=np.float64)
        t = -m
        desc = np.asarray(self.scores, dtype=np.float64)
        asc = desc[::-1]
        above = asc.size - np.searchsorted(asc, t, side="left")  # #{scores >= t}
        empirical = np.log10((above + 1.0) / (self.n_images + 1.0))
        if self.t0 is not None and self.beta is not None and self.beta > 0:
            at_t0 = math.log10((int(np.sum(desc >= self.t0)) + 1.0) / (self.n_images + 1.0))
            tail = at_t0 - (t - self.t0) / (self.beta * _LN10)
            empirical = np.where(t > self.t0, tail, empirical)
        return np.maximum(m, empirical + log10_factor)

    @classmethod
    def fit(cls, scores: Sequence[float], n_images: int) -> "RegionCalibration":
        s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
        n_tail = max(MIN_TAIL_POINTS, int(TAIL_FRACTION * s.size))
        if s.size > n_tail and s[0] > s[n_tail]:
            t0 = float(s[n_tail])
            return cls(n_images=int(n_images), scores=s.tolist(), t0=t0, beta=upper_mean_excess(s[:n_tail] - t0))
        # Too few scores to fit a tail: beyond the largest one seen, fall at the model's own rate.
        return cls(n_images=int(n_images), scores=s.tolist(), t0=float(s[0]) if s.size else 0.0,
                   beta=1.0 / _LN10, fitted=False)


def upper_mean_excess(excesses: np.ndarray, confidence: float = TAIL_CONFIDENCE) -> float:
    """Upper confidence bound of the mean of exponential excesses: 2 m mean / chi2_{1 - confidence}(2 m)."""
    from scipy.stats import chi2

    m = len(excesses)
    return float(2.0 * m * np.mean(excesses) / chi2.ppf(1.0 - confidence, 2 * m))


@dataclass
class RegionNull:
    """Everything the calibrated region test needs, stored with the model revision."""

    scales: list[ScaleNull]
    calibration: RegionCalibration | None = None  # one curve for the regions of every scale
    source: str = "held-out normal images"
    warnings: list[str] = field(default_factory=list)
    scale_calibrations: list[RegionCalibration] | None = None  # one curve per scale; used when present
    notes: list[str] = field(default_factory=list)  # how the calibration was chosen (not a problem)

    @property
    def calibrated(self) -> bool:
        if self.scale_calibrations is not None:
            return all(c.n_images > 0 for c in self.scale_calibrations)
        return self.calibration is not None and self.calibration.n_images > 0

    def calibrated_log10_nfa(self, scale: int, model_log10_nfa: np.ndarray) -> np.ndarray:
        """The reported log10 NFA of regions of one scale from their model values (needs `calibrated`)."""
        if self.scale_calibrations is not None:
            return self.scale_calibrations[scale].log10_nfa(model_log10_nfa, math.log10(len(self.scale_calibrations)))
        return self.calibration.log10_nfa(model_log10_nfa)

    def log10_strata(self, shapes: Sequence[tuple[int, int]]) -> float:
        """log10 of the number of (scale, size) strata: sum over scales of H W / rho."""
        return math.log10(sum(h * w / s.rho for (h, w), s in zip(shapes, self.scales)))

    def node_log10_nfa(self, scale: int, shape: tuple[int, int], area: np.ndarray, energy: np.ndarray,
                       log10_strata: float) -> np.ndarray:
        """Model log10 NFA of nodes of `area` cells and summed energy `energy` at one scale."""
        st = self.scales[scale]
        h, w = shape
        r = np.asarray(area, dtype=np.float64)
        s = np.asarray(energy, dtype=np.float64)
        mean = r * st.mu
        variance = r * st.var * np.minimum(r, st.rho)
        shape_k = mean * mean / variance  # gamma shape
        theta = variance / mean  # gamma scale
        pfa = np.zeros_like(r)
        above = s > mean
        if above.any():
            pfa[above] = np.minimum(log10_chi2_sf(2.0 * s[above] / theta[above], 2.0 * shape_k[above]), 0.0)
        r_eff = np.maximum(1.0, r / st.rho)
        log10_count = (log10_strata + math.log10(max(h * w / st.rho, 1.0)) + math.log10(POLYOMINO_ALPHA)
                       + r_eff * _LOG10_BETA - np.log10(r_eff))
        return np.where(above, log10_count + pfa, np.inf)

    def to_dict(self) -> dict[str, Any]:
        out = {"scales": [asdict(s) for s in self.scales],
               "calibration": asdict(self.calibration) if self.calibration is not None else None,
               "source": self.source, "warnings": list(self.warnings)}
        if self.scale_calibrations is not None:
            out["scale_calibrations"] = [asdict(c) for c in self.scale_calibrations]
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RegionNull":
        cal = d.get("calibration")
        per_scale = d.get("scale_calibrations")  # absent from revisions stored before: one curve
        return cls(scales=[ScaleNull(**s) for s in d["scales"]],
                   calibration=RegionCalibration(**cal) if cal else None,
                   source=d.get("source", ""), warnings=list(d.get("warnings", [])),
                   scale_calibrations=[RegionCalibration(**c) for c in per_scale] if per_scale else None,
                   notes=list(d.get("notes", [])))


def correlation_area(fields: np.ndarray | Sequence[np.ndarray], max_lag: int = MAX_LAG) -> float:
    """Sum over lags |dy|, |dx| <= max_lag of the positive part of the normalised autocorrelation of u.

    `fields`: one 2-D field or several of the same law, of any sizes (each centred on its own mean). The autocorrelation
    is pooled over the fields before its positive part is taken: per field, the sampling noise of each
    lag's estimate would add up over the lags into a spurious correlation area (3.8 instead of 1 for white
    8 x 8 fields).
    """
    single = isinstance(fields, np.ndarray) and fields.ndim == 2
    fields = [np.asarray(f, dtype=np.float64) for f in ([fields] if single else fields)]
    centred = [f - f.mean() for f in fields]
    var = sum(float((v * v).sum()) for v in centred) / sum(v.size for v in centred)
    if var <= 0:
        return 1.0
    total = 0.0
    for dy in range(-max_lag, max_lag + 1):
        for dx in range(-max_lag, max_lag + 1):
            products, pairs = 0.0, 0
            for v in centred:
                h, w = v.shape
                if abs(dy) >= h or abs(dx) >= w:
                    continue
                a = v[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)]
                b = v[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
                products += float((a * b).sum())
                pairs += a.size
            if pairs:
                total += max(0.0, products / pairs / var)
    return max(1.0, total)


def estimate_scales(latents_per_image: Sequence[Sequence[np.ndarray]]) -> list[ScaleNull]:
    """Cell moments and correlation area per scale from normal images' (C, H, W) latents."""
    from core.nfa.segmentation import chi2_energy

    out = []
    for level in range(len(latents_per_image[0])):
        us = [chi2_energy(img[level]) for img in latents_per_image]
        cells = np.concatenate([u.ravel() for u in us])
        rho = correlation_area(us)
        c = int(np.shape(latents_per_image[0][level])[0])
        out.append(ScaleNull(channels=c, mu=float(cells.mean()), var=float(max(cells.var(), 1e-12)), rho=rho))
    return out


def fit_region_null(latents_per_image: Sequence[Sequence[np.ndarray]], source: str = "held-out normal images",
                    per_scale: bool = False, min_scale_scores: int | None = None) -> RegionNull:
    """Cell statistics and the region calibration from the same normal images: one curve for every scale, and
    with `per_scale` also one curve per scale (used when present) where every scale has `min_scale_scores`
    (default MIN_SCALE_SCORES) held-out region scores.

    The calibration counts the regions of these images, so with one or two images it is coarse; the
    returned warnings say when a tail could not be fitted.
    """
    from core.nfa.segmentation import region_scores_by_scale

    if not latents_per_image:
        raise ValueError("need at least one normal image to fit a region null")
    n = len(latents_per_image)
    null = RegionNull(scales=estimate_scales(latents_per_image), source=source)
    by_scale: list[list[float]] = [[] for _ in null.scales]
    for latents in latents_per_image:
        for level, found in enumerate(region_scores_by_scale(latents, null)):
            by_scale[level].extend(found)
    null.calibration = RegionCalibration.fit([t for found in by_scale for t in found], n)
    fewest = min(len(found) for found in by_scale)
    min_scale_scores = MIN_SCALE_SCORES if min_scale_scores is None else min_scale_scores
    if per_scale and fewest >= min_scale_scores:
        null.scale_calibrations = [RegionCalibration.fit(found, n) for found in by_scale]
    elif per_scale:
        null.notes.append(f"one curve for every scale: a scale has only {fewest} held-out region scores, a curve of "
                          f"its own needs {min_scale_scores}")
    curves = null.scale_calibrations or [null.calibration]
    for level, cal in enumerate(curves):
        if not cal.fitted:
            which = f"scale {level}: " if null.scale_calibrations else ""
            null.warnings.append(f"{which}only {len(cal.scores)} region scores on {n} normal images: no tail fitted, "
                                 "thresholds beyond them follow the model")
    return null
