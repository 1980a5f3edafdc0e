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
from core.io.images import DecodedImage, read_image
from core.io.pixels import scale_to_255
from core.io.resample import Window, resized

ImageInput = Union[str, Path, np.ndarray, DecodedImage]
RESIZE_POLICIES = ("square", "keep_aspect")


@dataclass
class LoadedImage:
    """A decoded image kept as stored (8/16-bit, or float in [0, 255]); float RGB is made only at the size and
    window the model needs (core.io.resample), never for the whole frame before it is resized."""

    pixels: np.ndarray  # H x W (grey) or H x W x C (C >= 3, RGB first; alpha ignored)
    source: str
    scale: float = 1.0  # factor to [0, 255] (core.io.pixels.scale_to_255)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    def _rgb(self, px: np.ndarray) -> np.ndarray:
        return px[:, :, :3] if px.ndim == 3 else px

    def rgb_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop as H x W x 3 float32 in [0, 255]."""
        px = self._rgb(self.pixels[start:stop])
        out = np.empty(px.shape[:2] + (3,), dtype=np.float32)
        out[...] = px[:, :, None] if px.ndim == 2 else px
        if self.scale != 1.0:
            out *= np.float32(self.scale)
        return out

    @property
    def rgb(self) -> np.ndarray:
        """The whole frame as H x W x 3 float32 in [0, 255] (12 bytes a pixel: not for the scoring path)."""
        return self.rgb_rows(0, self.shape[0])

    def resized(self, out_shape: tuple[int, int], window: Window | None = None) -> torch.Tensor:
        """3 x h x w float tensor (values 0..255) of the image resized to `out_shape` with antialiasing, or of
        `window` (y0, x0, y1, x1) of it; the same values as to_input_tensor on the whole float frame."""
        px = resized(self._rgb(self.pixels), tuple(out_shape), window)
        if self.scale != 1.0:
            px *= np.float32(self.scale)
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


def load_rgb(image: ImageInput) -> LoadedImage:
    """Decode a path or accept a decoded array (uint8, uint16 or float in [0, 255]; grey or colour)."""
    if isinstance(image, (str, Path)):
        return _loaded(read_image(image).pixels, str(image))
    if isinstance(image, DecodedImage):
        return _loaded(image.pixels, "<decoded>")
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise ImageError(f"array of shape {image.shape} is not an image")
        return _loaded(image, "<array>")
    raise ImageError(f"cannot use {type(image).__name__} as an image")


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
