"""Resizing decoded pixels to float32 without a float copy of the whole frame.

The filter is torch.nn.functional.interpolate's bilinear with antialias=True and align_corners=False (Pillow's
triangle filter: its support widens with the shrink factor), applied as two separable passes of gathers that
read the stored uint8/uint16 pixels directly. Only the output, or one window of it, and the first pass's rows
at output width for one block of output rows are ever float: a 67 MP image shrunk to 256 x 256 allocates a
few MB of floats instead of 800 MB. Values are not scaled: uint16 callers multiply by
core.io.pixels.scale_to_255 afterwards.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

Window = tuple[int, int, int, int]  # y0, x0, y1, x1 in output pixels, end exclusive
_BLOCK_ROWS = 64


@lru_cache(maxsize=64)
def taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), both n_out x K: output[i] = sum over k of weights[i, k] * input[indices[i, k]]."""
    if n_in == n_out:
        return np.arange(n_in)[:, None], np.ones((n_in, 1), np.float32)
    scale = n_in / n_out
    support, inverse = (scale, 1.0 / scale) if scale >= 1.0 else (1.0, 1.0)
    centers = scale * (np.arange(n_out) + 0.5)
    lo = np.maximum((centers - support + 0.5).astype(np.int64), 0)  # truncation toward zero, as torch's
    size = np.minimum((centers + support + 0.5).astype(np.int64), n_in) - lo
    k = np.arange(int(size.max()))
    weights = np.clip(1.0 - np.abs((k + lo[:, None] - centers[:, None] + 0.5) * inverse), 0.0, None)
    weights[k >= size[:, None]] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    return np.minimum(lo[:, None] + k, n_in - 1), weights.astype(np.float32)


def _pass(pixels: np.ndarray, axis: int, index: np.ndarray, weights: np.ndarray) -> np.ndarray:
    shape = [1] * pixels.ndim
    shape[axis] = -1
    out = None
    for k in range(index.shape[1]):
        part = np.take(pixels, index[:, k], axis=axis).astype(np.float32, copy=False)
        if weights.shape[1] > 1:
            part *= weights[:, k].reshape(shape)
        if out is None:
            out = part
        else:
            out += part
    return out


def resized(pixels: np.ndarray, out_shape: tuple[int, int], window: Window | None = None) -> np.ndarray:
    """float32 h x w (x C) of `pixels` (H x W or H x W x C, any numeric type) resized to `out_shape`; with
    `window`, only that part of the resized image (the same values as cropping the whole resized image)."""
    height, width = pixels.shape[:2]
    y0, x0, y1, x1 = window or (0, 0, *out_shape)
    iy, wy = (a[y0:y1] for a in taps(height, int(out_shape[0])))
    ix, wx = (a[x0:x1] for a in taps(width, int(out_shape[1])))
    out = np.empty((len(iy), len(ix)) + pixels.shape[2:], np.float32)
    for start in range(0, len(iy), _BLOCK_ROWS):  # the first pass's float rows only for a block of output rows
        biy, bwy = iy[start:start + _BLOCK_ROWS], wy[start:start + _BLOCK_ROWS]
        top, bottom = int(biy.min()), int(biy.max()) + 1
        out[start:start + len(biy)] = _pass(_pass(pixels[top:bottom], 1, ix, wx), 0, biy - top, bwy)
    return out
