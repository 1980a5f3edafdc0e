"""The threshold slider's scale (Qt-free): k from 0 to the strongest region of the project, log-spaced.

Region strengths (−log10 NFA) run from about 1 to thousands on real data, so a linear k = 0–10 slider leaves
nearly every region on one side of it. Positions map through log(1 + k): fine steps near the nominal
k = 0–4, where a false-alarm rate means something, and the strongest regions still within reach.
"""

from __future__ import annotations

import math

import numpy as np

STEPS = 1000  # slider positions
MIN_TOP = 4.0  # the scale reaches at least k = 4 (one false alarm per 10^4 images)


class ThresholdScale:
    def __init__(self, strengths=()) -> None:
        """`strengths`: −log10 NFA of each image's strongest region (any iterable; empty is fine)."""
        values = np.asarray([s for s in strengths if s is not None and math.isfinite(s)], dtype=np.float64)
        self.strengths = values
        top = float(values.max()) if values.size else 0.0
        top *= 1.05
        self.k_max = max(MIN_TOP, math.ceil(top * 10) / 10 if top < 10 else float(math.ceil(top)))

    def to_k(self, position: int) -> float:
        if position >= STEPS:
            return self.k_max
        t = max(position, 0) / STEPS * math.log1p(self.k_max)
        k = math.expm1(t)
        return round(k, 1) if k < 10 else float(round(k))

    def to_position(self, k: float) -> int:
        k = min(max(float(k), 0.0), self.k_max)
        return int(round(math.log1p(k) / math.log1p(self.k_max) * STEPS))

    def histogram(self, bins: int = 40) -> np.ndarray:
        """Counts of images per slider bin of their strongest region (the distribution beside the slider)."""
        if not self.strengths.size:
            return np.zeros(bins, dtype=np.int64)
        t = np.log1p(np.clip(self.strengths, 0, None)) / math.log1p(self.k_max)
        return np.bincount(np.minimum((t * bins).astype(int), bins - 1), minlength=bins)


def label_text(k: float) -> str:
    return f"k = {k:g}  ·  1 false alarm per 10^{k:g} images"
