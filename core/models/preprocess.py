"""Turning any image (path or array, any size, depth and aspect) into the backbone's input grid.

Resize policies (the map always covers the whole image, nothing is cropped, so an anomaly map at the
model grid maps back to the original image by a plain resize to its height and width):
- "square": resize to S x S, whatever the aspect ratio (all images batch together);
- "keep_aspect": keep the aspect ratio, scale so the area is about S x S, each side rounded to a
  multiple of the backbone's coarsest stride (at least one coarse cell).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Union

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import ImageError
from core.io.images import DecodedImage, read_image
from core.io.pixels import scale_to_255
from core.io.resample import Window, resized

RESIZE_POLICIES = ("square", "keep_aspect")
MAX_GAIN = 4.0  # exposure gains (with_exposure) stay within [1 / MAX_GAIN, MAX_GAIN]


@dataclass
class LoadedImage:
    """A decoded image kept as stored (8/16-bit, or float in [0, 255]); float RGB is made only at the size and
    window the model needs (core.io.resample), never for the whole frame before it is resized."""

    pixels: np.ndarray  # H x W (grey) or H x W x C (C >= 3, RGB first; alpha ignored)
    source: str
    scale: float = 1.0  # factor to [0, 255] (core.io.pixels.scale_to_255)
    views: int = 1  # > 1: pixel-aligned views stacked along channels, 3 each (stack_views)
    gains: tuple[float, ...] | None = None  # per view, applied to the model input only (with_exposure)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    def _rgb(self, px: np.ndarray) -> np.ndarray:
        if self.views > 1:
            return px
        return px[:, :, :3] if px.ndim == 3 else px

    def rgb_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop as H x W x 3 float32 in [0, 255] (3 per view when views are stacked)."""
        px = self._rgb(self.pixels[start:stop])
        out = np.empty(px.shape[:2] + (3 * self.views,), dtype=np.float32)
        out[...] = px[:, :, None] if px.ndim == 2 else px
        if self.scale != 1.0:
            out *= np.float32(self.scale)
        return out

    @property
    def rgb(self) -> np.ndarray:
        """The whole frame as H x W x 3 float32 in [0, 255] (12 bytes a pixel a view: not for the scoring path)."""
        return self.rgb_rows(0, self.shape[0])

    def resized(self, out_shape: tuple[int, int], window: Window | None = None) -> torch.Tensor:
        """3 x h x w float tensor (3 per view; values 0..255) of the image resized to `out_shape` with antialiasing, or of
        `window` (y0, x0, y1, x1) of it; the same values as to_input_tensor on the whole float frame."""
        px = resized(self._rgb(self.pixels), tuple(out_shape), window)
        if self.scale != 1.0:
            px *= np.float32(self.scale)
        if self.gains is not None:
            if px.ndim == 2:
                px *= np.float32(self.gains[0])
            else:
                px *= np.repeat(np.asarray(self.gains, dtype=np.float32), 3)[:px.shape[2]]
            np.clip(px, 0.0, 255.0, out=px)
        t = torch.from_numpy(px)
        return t[None].expand(3, -1, -1).contiguous() if px.ndim == 2 else t.permute(2, 0, 1).contiguous()

    def input_tensor(self, out_shape: tuple[int, int]) -> torch.Tensor:
        """1 x 3 x h x w model input."""
        return self.resized(out_shape)[None]


def _loaded(pixels: np.ndarray, source: str) -> LoadedImage:
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    scale = float(scale_to_255(pixels)) if pixels.dtype == np.uint16 else 1.0
    return LoadedImage(pixels, source, scale)


@dataclass(frozen=True)
class StackedViews:
    """Pixel-aligned views of one item, stacked along channels (3 per view, in this order) when loaded: scoring
    holds one item's pixels at a time. `names` (e.g. file names) say which view breaks the alignment."""

    views: tuple
    names: tuple[str, ...]


ImageInput = Union[str, Path, np.ndarray, DecodedImage, LoadedImage, StackedViews]


def mean_levels(image: LoadedImage, max_pixels: int = 1_000_000) -> list[float]:
    """Mean grey level (0..255) of each view, over a regular subsample of at most `max_pixels` pixels."""
    h, w = image.shape
    step = max(1, int(np.ceil(np.sqrt(h * w / max_pixels))))
    px = image._rgb(image.pixels[::step, ::step])
    if px.ndim == 2:
        return [float(px.mean(dtype=np.float64)) * image.scale]
    px = px[:, :, :3 * image.views]
    return [float(px[:, :, 3 * v:3 * v + 3].mean(dtype=np.float64)) * image.scale for v in range(image.views)]


def median_levels(levels: list[list[float]]) -> list[float]:
    """The median of each view's mean_levels over images: the reference that with_exposure brings inputs to."""
    if len({len(v) for v in levels}) > 1:
        raise ImageError("the training images have different numbers of views; train one model per kind of image")
    return [float(v) for v in np.median(np.array(levels), axis=0)]


def with_exposure(image: LoadedImage, reference: list[float], levels: list[float] | None = None) -> LoadedImage:
    """`image` with a gain per view that brings its mean grey level (`levels`, measured when not given) to
    `reference` (one level per view), at most MAX_GAIN either way. The gain is what a camera's exposure or a lamp's
    intensity changes between images of one product; local defects keep their contrast to their surroundings
    (saturated pixels clip at 255, as in a camera)."""
    levels = mean_levels(image) if levels is None else levels
    if len(levels) != len(reference):
        raise ImageError(f"{image.source} has {len(levels)} views but the model expects {len(reference)}")
    gains = tuple(float(np.clip(r / max(m, 1e-3), 1.0 / MAX_GAIN, MAX_GAIN)) for r, m in zip(reference, levels))
    return replace(image, gains=gains)


def load_rgb(image: ImageInput) -> LoadedImage:
    """Decode a path or accept a decoded array (uint8, uint16 or float in [0, 255]; grey or colour); a LoadedImage
    is used as it is, StackedViews are stacked (stack_views)."""
    if isinstance(image, LoadedImage):
        return image
    if isinstance(image, StackedViews):
        return stack_views(image.views, image.names)
    if isinstance(image, (str, Path)):
        return _loaded(read_image(image).pixels, str(image))
    if isinstance(image, DecodedImage):
        return _loaded(image.pixels, "<decoded>")
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise ImageError(f"array of shape {image.shape} is not an image")
        return _loaded(image, "<array>")
    raise ImageError(f"cannot use {type(image).__name__} as an image")


def stack_views(images, names) -> LoadedImage:
    """Pixel-aligned views of one item concatenated along channels (3 per view, in the given order); `names`
    (one per image) say which image breaks the alignment. 8-bit views stay 8-bit (3 bytes a pixel a view)."""
    loaded = [load_rgb(im) for im in images]
    check_aligned([im.shape for im in loaded], names)
    if all(im.pixels.dtype == np.uint8 and im.views == 1 for im in loaded):
        parts = [im._rgb(im.pixels) if im.pixels.ndim == 3 else np.repeat(im.pixels[:, :, None], 3, axis=2)
                 for im in loaded]
    else:
        parts = [im.rgb for im in loaded]
    return LoadedImage(np.concatenate(parts, axis=2), " + ".join(names), views=sum(im.views for im in loaded))


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


def _rgb_digest(image: LoadedImage, rows: int = 256) -> str:
    h = hashlib.sha256()
    for start in range(0, image.shape[0], rows):
        h.update(image.rgb_rows(start, start + rows).tobytes())
    return h.hexdigest()


def fingerprint(images: list[LoadedImage]) -> str:
    """A content hash of a training set (order-independent)."""
    digests = sorted(_rgb_digest(im) for im in images)
    return hashlib.sha256("".join(digests).encode()).hexdigest()
