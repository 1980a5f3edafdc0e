"""Turning an image, or the views of one item, into float channels C x H x W in [0, 255]."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import numpy as np

from core.errors import ImageError
from core.io.images import DecodedImage, read_image
from core.io.pixels import to_float255

ImageLike = Union[str, Path, np.ndarray, DecodedImage]


def _pixels(image: ImageLike) -> np.ndarray:
    if isinstance(image, (str, Path)):
        image = read_image(image)
    if isinstance(image, DecodedImage):
        image = image.pixels
    if not isinstance(image, np.ndarray):
        raise ImageError(f"cannot use {type(image).__name__} as an image")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
        raise ImageError(f"array of shape {image.shape} is not an image")
    px = to_float255(image) if image.dtype in (np.uint8, np.uint16) else image.astype(np.float32)
    if px.ndim == 3:
        px = px[:, :, :3] if px.shape[2] >= 3 else px[:, :, :1]
    return px


def image_channels(image: ImageLike) -> np.ndarray:
    """C x H x W: one channel for grey images (or colour images whose channels are equal), else RGB."""
    px = _pixels(image)
    if px.ndim == 2:
        return px[None]
    chans = np.moveaxis(px, 2, 0)
    if chans.shape[0] == 1 or (np.array_equal(chans[0], chans[1]) and np.array_equal(chans[0], chans[2])):
        return np.ascontiguousarray(chans[:1])
    return np.ascontiguousarray(chans)


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
