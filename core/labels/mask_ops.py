"""Mask edits as pure numpy: brush dabs, polygons, flood fill, model regions, and undoable deltas.

A mask is a 2-D uint8 label image (0 background, else a DefectClass id). Every edit returns a MaskDelta:
the bounding box of the pixels it may have changed, with their values before and after, so an undo stack
keeps only small crops instead of whole masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from scipy import ndimage
from skimage.draw import polygon as draw_polygon


@dataclass(frozen=True)
class MaskDelta:
    """Pixels [y0:y0+h, x0:x0+w] of a mask before and after one edit."""

    y0: int
    x0: int
    before: np.ndarray
    after: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.before.shape

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 (exclusive) in mask pixels."""
        h, w = self.before.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    @property
    def nbytes(self) -> int:
        return int(self.before.nbytes + self.after.nbytes)

    def _slices(self) -> tuple[slice, slice]:
        h, w = self.before.shape
        return slice(self.y0, self.y0 + h), slice(self.x0, self.x0 + w)

    def undo(self, mask: np.ndarray) -> None:
        mask[self._slices()] = self.before

    def redo(self, mask: np.ndarray) -> None:
        mask[self._slices()] = self.after

    def changed_pixels(self) -> int:
        return int(np.count_nonzero(self.before != self.after))


def _box(shape: tuple[int, ...], y0: int, x0: int, y1: int, x1: int) -> tuple[int, int, int, int] | None:
    h, w = shape[:2]
    y0, x0, y1, x1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
    if y0 >= y1 or x0 >= x1:
        return None
    return y0, x0, y1, x1


def _paint(mask: np.ndarray, box: tuple[int, int, int, int], where: np.ndarray, value: int) -> MaskDelta | None:
    """Set `value` where `where` (shaped like the box) is true; None when nothing changed."""
    y0, x0, y1, x1 = box
    view = mask[y0:y1, x0:x1]
    hit = where & (view != value)
    if not hit.any():
        return None
    before = view.copy()
    view[hit] = value
    return MaskDelta(y0, x0, before, view.copy())


@lru_cache(maxsize=64)
def disk(radius: float) -> np.ndarray:
    """Boolean footprint of a round brush; side 2*ceil(radius)+1, centred."""
    r = max(0.5, float(radius))
    n = int(np.ceil(r - 0.5))
    yy, xx = np.ogrid[-n : n + 1, -n : n + 1]
    footprint = (yy * yy + xx * xx) <= r * r
    footprint.setflags(write=False)
    return footprint


def brush_dab(mask: np.ndarray, x: float, y: float, radius: float, value: int) -> MaskDelta | None:
    """Stamp a round brush of `value` (0 erases) centred on pixel (x, y)."""
    foot = disk(radius)
    n = foot.shape[0] // 2
    cx, cy = int(np.floor(x)), int(np.floor(y))
    box = _box(mask.shape, cy - n, cx - n, cy + n + 1, cx + n + 1)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    fy, fx = y0 - (cy - n), x0 - (cx - n)
    return _paint(mask, box, foot[fy : fy + (y1 - y0), fx : fx + (x1 - x0)], value)


def brush_line(
    mask: np.ndarray, start: tuple[float, float], end: tuple[float, float], radius: float, value: int
) -> list[MaskDelta]:
    """Dabs from `start` to `end` (x, y), spaced so the stroke has no gaps."""
    (xa, ya), (xb, yb) = start, end
    dist = float(np.hypot(xb - xa, yb - ya))
    steps = max(1, int(np.ceil(dist / max(0.5, radius * 0.5))))
    deltas = []
    for t in np.linspace(0.0, 1.0, steps + 1)[1:]:
        d = brush_dab(mask, xa + (xb - xa) * t, ya + (yb - ya) * t, radius, value)
        if d is not None:
            deltas.append(d)
    return deltas


def polygon_mask(shape: tuple[int, int],
                 points: Sequence[tuple[float, float]]) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """Rasterise a closed polygon of (x, y) vertices: (box y0, x0, y1, x1) and its boolean crop."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return None
    xs, ys = pts[:, 0], pts[:, 1]
    box = _box(shape, int(np.floor(ys.min())), int(np.floor(xs.min())), int(np.ceil(ys.max())) + 1, int(np.ceil(xs.max())) + 1)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    rr, cc = draw_polygon(ys - y0, xs - x0, shape=(y1 - y0, x1 - x0))
    crop = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    crop[rr, cc] = True
    return box, crop


def fill_polygon(mask: np.ndarray, points: Sequence[tuple[float, float]], value: int) -> MaskDelta | None:
    """Set every pixel inside the polygon to `value`."""
    got = polygon_mask(mask.shape, points)
    if got is None:
        return None
    box, crop = got
    return _paint(mask, box, crop, value)


def flood_fill(mask: np.ndarray, x: float, y: float, value: int, connectivity: int = 1) -> MaskDelta | None:
    """Fill the connected area of equal label around pixel (x, y) with `value` (connectivity 1: 4-neighbours)."""
    h, w = mask.shape
    cx, cy = int(np.floor(x)), int(np.floor(y))
    if not (0 <= cx < w and 0 <= cy < h) or mask[cy, cx] == value:
        return None
    structure = ndimage.generate_binary_structure(2, connectivity)
    labels, _ = ndimage.label(mask == mask[cy, cx], structure=structure)
    region = labels == labels[cy, cx]
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    return _paint(mask, box, region[box[0] : box[2], box[1] : box[3]], value)


def paint_where(mask: np.ndarray, where: np.ndarray, value: int, offset: tuple[int, int] = (0, 0)) -> MaskDelta | None:
    """Set `value` on a boolean crop placed at offset (y0, x0); value 0 subtracts."""
    y0, x0 = offset
    h, w = where.shape
    box = _box(mask.shape, y0, x0, y0 + h, x0 + w)
    if box is None:
        return None
    by0, bx0, by1, bx1 = box
    crop = where[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
    return _paint(mask, box, crop, value)


def subtract_where(mask: np.ndarray, where: np.ndarray, offset: tuple[int, int] = (0, 0)) -> MaskDelta | None:
    return paint_where(mask, where, 0, offset)


def region_crop(labels: np.ndarray, label: int, image_size: tuple[int, int]) -> tuple[tuple[int, int], np.ndarray] | None:
    """One region of a model label grid at image resolution (nearest): ((y0, x0), boolean crop).

    Image pixel (r, c) takes the grid cell containing its centre, the same mapping the canvas uses
    to pick the region under the cursor.
    """
    hh, ww = labels.shape
    big_h, big_w = image_size
    hit = labels == label
    rows = np.flatnonzero(hit.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(hit.any(axis=0))
    sy, sx = big_h / hh, big_w / ww
    y0, y1 = int(np.floor(rows[0] * sy)), min(big_h, int(np.ceil((rows[-1] + 1) * sy)))
    x0, x1 = int(np.floor(cols[0] * sx)), min(big_w, int(np.ceil((cols[-1] + 1) * sx)))
    ri = np.minimum(((np.arange(y0, y1) + 0.5) / sy).astype(np.intp), hh - 1)
    ci = np.minimum(((np.arange(x0, x1) + 0.5) / sx).astype(np.intp), ww - 1)
    crop = hit[np.ix_(ri, ci)]
    return (y0, x0), crop


def diff_delta(before: np.ndarray, after: np.ndarray, offset: tuple[int, int] = (0, 0)) -> MaskDelta | None:
    """The delta between two equally shaped crops, cropped to the pixels that differ."""
    changed = before != after
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed.any(axis=0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return MaskDelta(
        offset[0] + r0, offset[1] + c0, before[r0:r1, c0:c1].copy(), after[r0:r1, c0:c1].copy()
    )


def merge_deltas(deltas: Iterable[MaskDelta], mask: np.ndarray) -> MaskDelta | None:
    """One delta equivalent to `deltas` applied in order; `mask` is the state after the last one.

    The union box is read from `mask`, then the deltas are undone in reverse order on that crop to
    recover the state before the first; the result is cropped to the pixels that really changed.
    """
    deltas = list(deltas)
    if not deltas:
        return None
    y0 = min(d.y0 for d in deltas)
    x0 = min(d.x0 for d in deltas)
    y1 = max(d.y0 + d.shape[0] for d in deltas)
    x1 = max(d.x0 + d.shape[1] for d in deltas)
    after = mask[y0:y1, x0:x1].copy()
    before = after.copy()
    for d in reversed(deltas):
        h, w = d.shape
        before[d.y0 - y0 : d.y0 - y0 + h, d.x0 - x0 : d.x0 - x0 + w] = d.before
    return diff_delta(before, after, (y0, x0))


class StrokeRecorder:
    """Collects the dab deltas of one stroke; `finish` merges them into one tight delta."""

    def __init__(self) -> None:
        self.deltas: list[MaskDelta] = []
        self.box: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 touched so far

    def add(self, delta: MaskDelta | None) -> None:
        if delta is None:
            return
        self.deltas.append(delta)
        bx = delta.bbox
        if self.box is None:
            self.box = bx
        else:
            a = self.box
            self.box = (min(a[0], bx[0]), min(a[1], bx[1]), max(a[2], bx[2]), max(a[3], bx[3]))

    def extend(self, deltas: Iterable[MaskDelta]) -> None:
        for d in deltas:
            self.add(d)

    def finish(self, mask: np.ndarray) -> MaskDelta | None:
        merged = merge_deltas(self.deltas, mask)
        self.deltas = []
        self.box = None
        return merged


def combine_masks(masks: Sequence[np.ndarray], how: str) -> np.ndarray:
    """Adjudicate label masks: "union", "intersection" or "majority" (strictly more than half).

    A kept pixel takes the class most annotators gave it (ties: the lowest class id).
    """
    if not masks:
        raise ValueError("no masks to combine")
    stack = np.stack([np.asarray(m) for m in masks])
    votes = (stack > 0).sum(axis=0)
    n = len(masks)
    if how == "union":
        keep = votes >= 1
    elif how == "intersection":
        keep = votes == n
    elif how == "majority":
        keep = votes * 2 > n
    else:
        raise ValueError(f"unknown combination {how!r}")
    return np.where(keep, majority_class(stack), 0).astype(np.uint8)


def majority_class(stack: np.ndarray) -> np.ndarray:
    """Per pixel, the most frequent non-zero class among the stacked masks (0 where none)."""
    classes = np.unique(stack)
    classes = classes[classes > 0]
    if classes.size == 0:
        return np.zeros(stack.shape[1:], dtype=np.uint8)
    counts = np.stack([(stack == c).sum(axis=0) for c in classes])
    best = classes[np.argmax(counts, axis=0)]
    return np.where(counts.max(axis=0) > 0, best, 0).astype(np.uint8)


def vote_map(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Per pixel, how many annotators marked it as defect (any class)."""
    if not masks:
        raise ValueError("no masks")
    out = np.zeros(np.asarray(masks[0]).shape, dtype=np.uint8)
    for m in masks:
        out += np.asarray(m) > 0
    return out
