"""What one detection returns: the same map/regions contract as U-Flow's a contrario segmentation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.nfa import Region


@dataclass
class ClassicResult:
    """anomaly_map is -log10 NFA per pixel (float32, the working grid `map_shape`): positive where a
    pixel is significant at k = 0, larger is rarer; it may be negative where nothing is significant.
    `labels` numbers the regions whose log10 NFA <= 0 (0 = background); keep those with
    log10_nfa <= -k to re-threshold at k >= 0."""

    anomaly_map: np.ndarray
    score: float  # max of anomaly_map = -log10 of the image's smallest NFA
    labels: np.ndarray  # int32, map_shape
    regions: list[Region]
    map_shape: tuple[int, int]
    input_shape: tuple[int, int]  # the image (or views) as given; resize the map to it to overlay
    timing_ms: dict[str, float] = field(default_factory=dict)

    def detected(self, k: float = 0.0) -> list[Region]:
        """Regions significant at NFA <= 10^-k (k >= 0)."""
        return [r for r in self.regions if r.log10_nfa <= -k]

    def mask(self, k: float = 0.0) -> np.ndarray:
        keep = [r.label for r in self.detected(k)]
        return np.isin(self.labels, keep)
