"""The geometry of pixel figures: an anomaly map and its mask brought to one evaluation grid.

The grid keeps the image's aspect with its longer side at most EVAL_SIDE. The map is resized bilinearly
(half-pixel centres, no antialiasing) and the mask by area average, then more than half covered = defect;
both match torch.nn.functional.interpolate ("bilinear", align_corners=False; "area"), in numpy, so the
benchmark (`contrario eval`) and the revisions panel compute the same figures without torch.
"""

from __future__ import annotations

import numpy as np

EVAL_SIDE = 256


def eval_shape(image_size: tuple[int, int], side: int = EVAL_SIDE) -> tuple[int, int]:
    h, w = image_size
    scale = min(1.0, side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def _linear_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def resize_map(amap: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a score map covering the whole image to (h, w), float32."""
    a = np.asarray(amap, dtype=np.float32)
    if a.shape == tuple(shape):
        return a.copy()
    y0, y1, wy = _linear_axis(a.shape[0], shape[0])
    x0, x1, wx = _linear_axis(a.shape[1], shape[1])
    rows = a[y0] * (1 - wy)[:, None] + a[y1] * wy[:, None]
    return (rows[:, x0] * (1 - wx)[None] + rows[:, x1] * wx[None]).astype(np.float32)


def _area_axis(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    n_in = a.shape[axis]
    starts = (np.arange(n_out) * n_in) // n_out
    ends = -((-(np.arange(1, n_out + 1)) * n_in) // n_out)  # ceil
    csum = np.concatenate([np.zeros_like(np.take(a, [0], axis=axis)), np.cumsum(a, axis=axis)], axis=axis)
    total = np.take(csum, ends, axis=axis) - np.take(csum, starts, axis=axis)
    shape = [1] * a.ndim
    shape[axis] = n_out
    return total / (ends - starts).reshape(shape)


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Area-average resize of a mask (nonzero = defect) to (h, w), then more than half covered = defect."""
    m = np.asarray(mask) > 0
    if m.shape == tuple(shape):
        return m
    frac = _area_axis(_area_axis(m.astype(np.float64), shape[0], 0), shape[1], 1)
    return frac > 0.5


def eval_pair(amap: np.ndarray, mask: np.ndarray | None, image_size: tuple[int, int],
              side: int = EVAL_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """Map and mask on the evaluation grid of an image of `image_size`; no mask = all good."""
    shape = eval_shape(image_size, side)
    emask = resize_mask(mask, shape) if mask is not None else np.zeros(shape, dtype=bool)
    return resize_map(amap, shape), emask
