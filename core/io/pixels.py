"""Decoded pixels to 8-bit range: the one conversion for display, thumbnails, masks and model input.

A 16-bit container often holds fewer bits (10-, 12- or 14-bit cameras). Scaling by 1/257 would leave a
12-bit image nearly black, so a uint16 image is scaled by the bits it actually uses: the smallest of
10, 12, 14 or 16 whose range holds its largest value.
"""

from __future__ import annotations

import numpy as np

CONTAINER_DEPTHS = (10, 12, 14, 16)


def significant_bits(pixels: np.ndarray) -> int:
    """8 for uint8; for uint16, the smallest of CONTAINER_DEPTHS whose range holds the largest value."""
    if pixels.dtype != np.uint16:
        return 8
    top = int(pixels.max()) if pixels.size else 0
    return next(d for d in CONTAINER_DEPTHS if top < (1 << d))


def scale_to_255(pixels: np.ndarray) -> np.float32:
    """The factor taking uint8 (1) or uint16 pixels (by their significant bits) to [0, 255].

    For callers that fill their own float frame and scale it in place (no whole-frame temporary)."""
    px = np.asarray(pixels)
    if px.dtype == np.uint16:
        return np.float32(255.0 / ((1 << significant_bits(px)) - 1))
    if px.dtype == np.uint8:
        return np.float32(1.0)
    raise ValueError(f"no 8/16-bit scale for pixels of type {px.dtype}")


def to_float255(pixels: np.ndarray) -> np.ndarray:
    """float32 in [0, 255], channels unchanged: uint8 as is, uint16 scaled by its significant bits."""
    px = np.asarray(pixels)
    if px.dtype in (np.uint8, np.uint16):
        out = px.astype(np.float32)
        out *= scale_to_255(px)
        return out
    if px.dtype == bool:
        return px.astype(np.float32) * 255.0
    out = px.astype(np.float32)
    lo, hi = (float(out.min()), float(out.max())) if out.size else (0.0, 0.0)
    return (out - lo) * np.float32(255.0 / max(hi - lo, 1e-12))


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint8, channels unchanged (see to_float255); uint8 input is returned as it is."""
    px = np.asarray(pixels)
    if px.dtype == np.uint8:
        return px
    return np.clip(np.rint(to_float255(px)), 0, 255).astype(np.uint8)
