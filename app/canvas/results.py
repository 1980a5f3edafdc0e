"""Stored inference results made ready to draw (Qt-free): uint8 map, region outlines, live threshold.

Format agreed with the jobs side: InferenceResult.map_blob is a 2-D uint8 (or float) array at model
resolution, labels_blob an integer image on the same grid whose values are Region.label, and
map_info = {"shape": [h, w], "image_size": [H, W], ...}. A region is shown at threshold k when
log10_nfa <= -k ("one false alarm per 10^k images").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage import measure


@dataclass(frozen=True)
class RegionInfo:
    label: int
    log10_nfa: float
    area: int
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels

    @property
    def strength(self) -> float:
        """-log10 NFA: the k up to which this region stays visible."""
        return -self.log10_nfa


@dataclass
class ResultOverlay:
    """One image's anomaly map and regions, with outlines pre-traced in image coordinates."""

    score: float
    map_u8: np.ndarray  # h x w uint8
    image_size: tuple[int, int]  # H, W
    labels: np.ndarray | None = None  # h x w int
    regions: list[RegionInfo] = field(default_factory=list)
    contours: dict[int, list[np.ndarray]] = field(default_factory=dict)  # label -> [N x 2 (x, y)]

    def __post_init__(self) -> None:
        self._by_label = {r.label: r for r in self.regions}
        self._strength = np.array([r.strength for r in self.regions], dtype=np.float64)

    @property
    def scale_xy(self) -> tuple[float, float]:
        h, w = self.map_u8.shape
        return self.image_size[1] / w, self.image_size[0] / h

    def visible_regions(self, k: float) -> list[RegionInfo]:
        return [r for r in self.regions if r.log10_nfa <= -k]

    def max_strength(self) -> float | None:
        return float(self._strength.max()) if self._strength.size else None

    def outline_arrays(self, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, y and `connect` arrays (1 = joined to the next point) of every outline visible at k."""
        parts = [c for r in self.visible_regions(k) for c in self.contours.get(r.label, ())]
        if not parts:
            empty = np.zeros(0, dtype=np.float64)
            return empty, empty, np.zeros(0, dtype=np.int32)
        xy = np.concatenate(parts, axis=0)
        connect = np.ones(len(xy), dtype=np.int32)
        ends = np.cumsum([len(c) for c in parts]) - 1
        connect[ends] = 0
        return xy[:, 0], xy[:, 1], connect

    def region_at(self, x: float, y: float, k: float | None = None) -> RegionInfo | None:
        """The region under image point (x, y), if any (and visible at k when given)."""
        if self.labels is None:
            return None
        sx, sy = self.scale_xy
        col, row = int(x / sx), int(y / sy)
        h, w = self.labels.shape
        if not (0 <= row < h and 0 <= col < w):
            return None
        region = self._by_label.get(int(self.labels[row, col]))
        if region is None or (k is not None and region.log10_nfa > -k):
            return None
        return region


def map_to_uint8(values: np.ndarray, info: dict | None = None) -> np.ndarray:
    """A stored map as uint8; float maps use map_info["range"] = [lo, hi] when given, else their min/max."""
    values = np.asarray(values)
    if values.ndim == 3:
        values = values[..., 0]
    if values.dtype == np.uint8:
        return np.ascontiguousarray(values)
    values = values.astype(np.float32)
    rng = (info or {}).get("range")
    lo, hi = (float(rng[0]), float(rng[1])) if rng else (float(np.nanmin(values)), float(np.nanmax(values)))
    scaled = (values - lo) * (255.0 / max(hi - lo, 1e-12))
    return np.clip(np.nan_to_num(scaled), 0, 255).astype(np.uint8)


def trace_contours(labels: np.ndarray, wanted: list[int], scale_xy: tuple[float, float]) -> dict[int, list[np.ndarray]]:
    """Outline of each wanted label as closed polygons in image coordinates (x, y)."""
    out: dict[int, list[np.ndarray]] = {}
    if labels is None or not wanted:
        return out
    sx, sy = scale_xy
    slices = ndimage.find_objects(labels.astype(np.int32, copy=False))
    for lab in wanted:
        if lab <= 0 or lab > len(slices) or slices[lab - 1] is None:
            continue
        rs, cs = slices[lab - 1]
        crop = np.pad(labels[rs, cs] == lab, 1).astype(np.float32)
        polys = []
        for c in measure.find_contours(crop, 0.5):
            rows = c[:, 0] - 1 + rs.start
            cols = c[:, 1] - 1 + cs.start
            polys.append(np.column_stack(((cols + 0.5) * sx, (rows + 0.5) * sy)))
        out[lab] = polys
    return out


def build_overlay(
    score: float,
    map_array: np.ndarray,
    map_info: dict | None,
    image_size: tuple[int, int],
    labels: np.ndarray | None,
    regions: list[RegionInfo],
) -> ResultOverlay:
    """Assemble a ResultOverlay and trace its outlines (run off the GUI thread)."""
    map_u8 = map_to_uint8(map_array, map_info)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != map_u8.shape:
            raise ValueError(f"labels grid {labels.shape} differs from map grid {map_u8.shape}")
    h, w = map_u8.shape
    scale_xy = (image_size[1] / w, image_size[0] / h)
    contours = trace_contours(labels, [r.label for r in regions], scale_xy) if labels is not None else {}
    return ResultOverlay(float(score), map_u8, tuple(image_size), labels, list(regions), contours)
