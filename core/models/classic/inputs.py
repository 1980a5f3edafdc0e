"""Turning an image, or the views of one item, into float channels C x H x W in [0, 255]."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import numpy as np

from core.errors import ImageError
from core.io.images import DecodedImage, read_image
from core.io.pixels import scale_to_255
from core.io.resample import resized

ImageLike = Union[str, Path, np.ndarray, DecodedImage]


def image_array(image: ImageLike) -> np.ndarray:
    """The decoded pixels, checked: H x W or H x W x C (C = 1..4), as stored (no float copy yet)."""
    if isinstance(image, (str, Path)):
        image = read_image(image)
    if isinstance(image, DecodedImage):
        image = image.pixels
    if not isinstance(image, np.ndarray):
        raise ImageError(f"cannot use {type(image).__name__} as an image")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
        raise ImageError(f"array of shape {image.shape} is not an image")
    return image


def _to_float(planes: list[np.ndarray], image: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """len(planes) x H x W float32 in [0, 255], filled plane by plane: the only float frame allocated. With
    `shape`, each plane is resized to it from its stored values first (core.io.resample: antialiased bilinear).

    8/16-bit planes are scaled by the depth `image` uses (core.io.pixels); float input is taken as it is."""
    shape = tuple(shape or planes[0].shape)
    out = np.empty((len(planes),) + shape, dtype=np.float32)
    for c, plane in enumerate(planes):
        out[c] = plane if shape == plane.shape else resized(plane, shape)
    if image.dtype == np.uint16:
        out *= scale_to_255(image)
    return out


def _pixels(image: ImageLike) -> np.ndarray:
    """H x W or H x W x C (C = 1 or 3) float32 in [0, 255]."""
    arr = image_array(image)
    if arr.ndim == 2:
        return _to_float([arr], arr)[0]
    keep = 3 if arr.shape[2] >= 3 else 1
    return np.moveaxis(_to_float([arr[:, :, c] for c in range(keep)], arr), 0, 2)


def image_channels(image: ImageLike, shape: tuple[int, int] | None = None) -> np.ndarray:
    """C x H x W: one channel for grey images (or colour images whose channels are equal), else RGB; with
    `shape`, resized to it (H x W = shape) without a float copy at the stored size."""
    arr = image_array(image)
    if arr.ndim == 2:
        return _to_float([arr], arr, shape)
    if arr.shape[2] < 3 or (np.array_equal(arr[:, :, 0], arr[:, :, 1]) and np.array_equal(arr[:, :, 0], arr[:, :, 2])):
        return _to_float([arr[:, :, 0]], arr, shape)
    return _to_float([arr[:, :, c] for c in range(3)], arr, shape)


def grey_views(views: Sequence[ImageLike]) -> np.ndarray:
    """V x H x W luminance of views of equal size."""
    out = []
    for view in views:
        px = _pixels(view)
        if px.ndim == 3:
            px = px[:, :, 0] if px.shape[2] == 1 else px @ np.array([0.299, 0.587, 0.114], np.float32)
        out.append(px)
    if len({p.shape for p in out}) != 1:
        raise ImageError("the views of one item must all have the same size: "
                         + ", ".join(f"{p.shape[1]}x{p.shape[0]}" for p in out))
    return np.stack(out)
