"""Turning any image (path or array, any size, depth and aspect) into the backbone's input grid.

Resize policies (the map always covers the whole image, nothing is cropped, so an anomaly map at the
model grid maps back to the original image by a plain resize to its height and width):
- "square": resize to S x S, whatever the aspect ratio (all images batch together);
- "keep_aspect": keep the aspect ratio, scale so the area is about S x S, each side rounded to a
  multiple of the backbone's coarsest stride (at least one coarse cell).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import ImageError
from core.io.images import DecodedImage, read_image, to_rgb_float

RESIZE_POLICIES = ("square", "keep_aspect")


@dataclass
class LoadedImage:
    rgb: np.ndarray  # H x W x 3 float32 in [0, 255] (3 per view when views are stacked)
    source: str

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.rgb.shape[0]), int(self.rgb.shape[1])


@dataclass(frozen=True)
class StackedViews:
    """Pixel-aligned views of one item, stacked along channels (3 per view, in this order) when loaded: scoring
    holds one item's float pixels at a time. `names` (e.g. file names) say which view breaks the alignment."""

    views: tuple
    names: tuple[str, ...]


ImageInput = Union[str, Path, np.ndarray, DecodedImage, LoadedImage, StackedViews]


def load_rgb(image: ImageInput) -> LoadedImage:
    """Decode a path or accept a decoded array (uint8, uint16 or float in [0, 255]; grey or colour); a LoadedImage
    is used as it is, StackedViews are stacked (stack_views)."""
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, StackedViews):
        return stack_views(image.views, image.names)
    if isinstance(image, (str, Path)):
        return LoadedImage(to_rgb_float(read_image(image)), str(image))
    if isinstance(image, DecodedImage):
        return LoadedImage(to_rgb_float(image), "<decoded>")
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise ImageError(f"array of shape {image.shape} is not an image")
        if image.dtype == np.uint16:
            decoded = DecodedImage(image, "I;16", 16)
        else:
            decoded = DecodedImage(image, "array", 8)
        if image.ndim == 3 and image.shape[2] == 1:
            decoded = DecodedImage(image[:, :, 0], decoded.mode, decoded.bit_depth)
        return LoadedImage(to_rgb_float(decoded), "<array>")
    raise ImageError(f"cannot use {type(image).__name__} as an image")


def stack_views(images, names) -> LoadedImage:
    """Pixel-aligned views of one item concatenated along channels (3 per view, in the given order); `names`
    (one per image) say which image breaks the alignment."""
    loaded = [load_rgb(im) for im in images]
    check_aligned([im.shape for im in loaded], names)
    return LoadedImage(np.concatenate([im.rgb for im in loaded], axis=2), " + ".join(names))


def check_aligned(shapes, names) -> None:
    """Refuses views of one item that differ in size (height, width), naming the first that does."""
    first = tuple(shapes[0])
    for shape, name in zip(shapes[1:], names[1:]):
        if tuple(shape) != first:
            raise ImageError(f"{name} is {shape[1]}x{shape[0]} px but {names[0]} is {first[1]}x{first[0]}: "
                             "stacked views must be pixel-aligned images of one size")


def target_shape(shape: tuple[int, int], size: int, policy: str, multiple: int) -> tuple[int, int]:
    """Model input (height, width) for an image of `shape` under a resize policy."""
    if policy == "square":
        side = max(multiple, int(round(size / multiple)) * multiple)
        return side, side
    if policy == "keep_aspect":
        h, w = shape
        scale = size / np.sqrt(h * w)
        th = max(multiple, int(round(h * scale / multiple)) * multiple)
        tw = max(multiple, int(round(w * scale / multiple)) * multiple)
        return th, tw
    raise ValueError(f"unknown resize policy {policy!r}; choose one of {RESIZE_POLICIES}")


def to_input_tensor(rgb: np.ndarray, out_shape: tuple[int, int]) -> torch.Tensor:
    """1 x 3 x h x w float tensor (values 0..255) resized with antialiasing."""
    t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
    if tuple(t.shape[-2:]) != tuple(out_shape):
        t = F.interpolate(t, size=out_shape, mode="bilinear", align_corners=False, antialias=True)
    return t


def fingerprint(images: list[LoadedImage]) -> str:
    """A content hash of a training set (order-independent)."""
    digests = sorted(hashlib.sha256(np.ascontiguousarray(im.rgb).tobytes()).hexdigest() for im in images)
    return hashlib.sha256("".join(digests).encode()).hexdigest()
