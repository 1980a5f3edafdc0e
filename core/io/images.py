"""Decoding and validating image files: every format Contrario accepts goes through read_image()."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps

from core.errors import ImageError

MAX_SIDE = 30000


@dataclass
class DecodedImage:
    pixels: np.ndarray  # H x W (grey) or H x W x C (C = 3 or 4); uint8 or uint16
    mode: str
    bit_depth: int

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else self.pixels.shape[2]


def read_image(path: str | Path) -> DecodedImage:
    """Decode a PNG/JPEG/BMP/TIFF file with EXIF orientation applied; raise ImageError naming the file."""
    path = Path(path)
    try:
        with PILImage.open(path) as im:
            if max(im.size) > MAX_SIDE:
                raise ImageError(f"{path}: absurd size {im.size[0]}x{im.size[1]} (more than {MAX_SIDE} px a side)")
            im = ImageOps.exif_transpose(im)
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                pixels = np.asarray(im).astype(np.uint16)
                return DecodedImage(pixels, "I;16", 16)
            if mode not in ("L", "RGB", "RGBA"):
                im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
            pixels = np.asarray(im)
            return DecodedImage(pixels, im.mode, 8)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{path}: file not found") from None
    except Exception as exc:  # Pillow raises many types for corrupt data
        raise ImageError(f"{path}: cannot decode image ({exc})") from None


def to_rgb_float(decoded: DecodedImage) -> np.ndarray:
    """H x W x 3 float32 in [0, 255], whatever the input depth and channels (alpha dropped)."""
    px = decoded.pixels.astype(np.float32)
    if decoded.bit_depth == 16:
        px = px / 257.0
    if px.ndim == 2:
        px = np.repeat(px[:, :, None], 3, axis=2)
    return np.ascontiguousarray(px[:, :, :3])
