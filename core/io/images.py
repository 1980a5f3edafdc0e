"""Decoding and validating image files: every format Contrario accepts goes through this module.

Formats: PNG, JPEG, BMP (Pillow) and TIFF (tifffile for 8/16-bit grey/RGB/RGBA, first page of multi-page
files; Pillow for what tifffile cannot decode without extra codecs). EXIF/TIFF orientation is applied.
Sizes are checked from the header before any pixel is decoded. Pixels come out as uint8 or uint16,
H x W (grey) or H x W x C (C = 3 RGB or 4 RGBA). Known limit: 16-bit RGB PNGs are read as 8-bit (Pillow).
"""

from __future__ import annotations

import io
import math
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image as PILImage

from core.errors import ImageError
from core.io.limits import MAX_SIDE, max_pixels, memory_budget_bytes
from core.io.pixels import scale_to_255

SUPPORTED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
FORMATS = ("PNG", "JPEG", "BMP", "TIFF")

# Our own limits (core.io.limits) are checked from the header before any pixel is decoded; Pillow's
# pixel-count guard (an error at twice this) only catches what is beyond our per-side limit anyway.
PILImage.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE

_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_SWAPS_SIDES = (5, 6, 7, 8)  # EXIF orientations that rotate by 90 degrees


@dataclass
class DecodedImage:
    pixels: np.ndarray  # H x W (grey) or H x W x C (C = 3 or 4); uint8 or uint16
    mode: str
    bit_depth: int

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else self.pixels.shape[2]


@dataclass(frozen=True)
class ImageInfo:
    """What the header (and, when checked, a full decode) says about a file; sizes after orientation."""

    format: str
    width: int
    height: int
    mode: str  # as read_image returns it: "L", "RGB", "RGBA", "I;16", "RGB;16", "RGBA;16"
    bit_depth: int
    channels: int


def _mode_for(channels: int, bit_depth: int) -> str:
    base = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    if bit_depth == 16:
        return "I;16" if channels == 1 else f"{base};16"
    return base


def _check_side(name: str, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: invalid size {width}x{height}")
    if max(width, height) > MAX_SIDE:
        raise ImageError(f"{name}: absurd size {width}x{height} (more than {MAX_SIDE} px a side)")
    limit = max_pixels()
    if width * height > limit:
        raise ImageError(
            f"{name}: too large to process: {width}x{height} = {width * height / 1e6:.0f} MP, the limit is "
            f"{limit / 1e6:.0f} MP for a memory budget of {memory_budget_bytes() >> 20} MiB "
            f"(CONTRARIO_MEMORY_BUDGET_MB)")


# ---- Pillow path -------------------------------------------------------------------------------------------
def _pil_target(im: PILImage.Image) -> tuple[str, int, int]:
    """(mode after conversion, bit depth, channels) that read_image produces for a Pillow image."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        return "I;16", 16, 1
    if mode in ("L", "RGB", "RGBA"):
        return mode, 8, len(mode) if mode != "L" else 1
    if mode == "1":
        return "L", 8, 1
    if "A" in mode or "transparency" in im.info:
        return "RGBA", 8, 4
    return "RGB", 8, 3


_STRIP_PIXELS = 1 << 18


def _pil_array(im: PILImage.Image, target: str | None) -> np.ndarray:
    """np.asarray(im.convert(target)) strip by strip: np.asarray on a whole image goes through tobytes and a
    join (two more copies of the frame), and a conversion would be a third."""
    width, height = im.size
    rows = max(1, _STRIP_PIXELS // max(1, width))
    out = None
    for y in range(0, height, rows):
        strip = im.crop((0, y, width, min(height, y + rows)))
        if target is not None and strip.mode != target:
            strip = strip.convert(target)
        part = np.asarray(strip)
        if out is None:
            out = np.empty((height,) + part.shape[1:], part.dtype)
        out[y:y + len(part)] = part
    return out


def _pil_pixels(im: PILImage.Image, name: str) -> DecodedImage:
    target, depth, _ = _pil_target(im)
    if depth == 16:
        arr = _pil_array(im, None)
        if arr.dtype != np.uint16:
            if arr.size and (arr.min() < 0 or arr.max() > 65535):
                raise ImageError(f"{name}: unsupported pixel values outside 16 bits")
            arr = arr.astype(np.uint16)
        return DecodedImage(arr, "I;16", 16)
    return DecodedImage(_pil_array(im, target), target, 8)


def _open_pil(fh: BinaryIO, name: str) -> PILImage.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im = PILImage.open(fh)
    except PILImage.DecompressionBombError as exc:
        raise ImageError(f"{name}: absurd size ({exc})") from None
    except PILImage.UnidentifiedImageError:
        raise ImageError(f"{name}: not an image (unknown or unsupported format)") from None
    if im.format not in FORMATS:
        fmt = im.format
        im.close()
        raise ImageError(f"{name}: unsupported format {fmt} (Contrario reads {', '.join(FORMATS)})")
    return im


def _pil_orientation(im: PILImage.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception:
        return 1


def _pil_oriented_size(im: PILImage.Image) -> tuple[int, int]:
    w, h = im.size
    return (h, w) if _pil_orientation(im) in _SWAPS_SIDES else (w, h)


# ---- tifffile path -----------------------------------------------------------------------------------------
class _TiffFallback(Exception):
    """tifffile cannot decode this TIFF by itself; let Pillow try."""


def _tiff_page(tf):
    page = tf.pages.first if hasattr(tf.pages, "first") else tf.pages[0]
    return page


def _tiff_layout(page, name: str) -> tuple[int, int, int, int]:
    """(width, height, channels, bit_depth) of a tifffile page, or _TiffFallback."""
    import tifffile

    photometric = page.photometric
    if photometric not in (tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB):
        raise _TiffFallback(f"photometric {photometric!r}")
    if page.dtype is None:
        raise _TiffFallback("unknown sample type")
    dtype = np.dtype(page.dtype)
    if dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        if dtype.kind in "fiu" and dtype.itemsize >= 2:
            raise ImageError(f"{name}: unsupported pixel type {dtype} (Contrario reads 8- and 16-bit images)")
        raise _TiffFallback(f"sample type {dtype}")
    width, height = int(page.imagewidth), int(page.imagelength)
    _check_side(name, width, height)
    spp = int(page.samplesperpixel)
    if spp not in (1, 2, 3, 4):
        raise ImageError(f"{name}: unsupported TIFF with {spp} samples per pixel")
    if getattr(page, "imagedepth", 1) not in (1, None):
        raise _TiffFallback("volumetric TIFF")
    channels = {1: 1, 2: 4, 3: 3, 4: 4}[spp]
    return width, height, channels, dtype.itemsize * 8


def _tiff_orientation(page) -> int:
    try:
        return int(page.orientation)
    except Exception:
        return 1


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """EXIF/TIFF orientation 1..8 applied to an H x W (x C) array."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1, :],
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(arr)) if op else arr


def _tiff_decode(page, name: str, channels: int, bit_depth: int) -> DecodedImage:
    try:
        arr = page.asarray()
    except ImageError:
        raise
    except Exception as exc:
        text = str(exc)
        if "imagecodecs" in text or "not supported" in text.lower() or "compression" in text.lower():
            raise _TiffFallback(text) from None
        raise ImageError(f"{name}: cannot decode TIFF ({text})") from None
    axes = page.axes
    arr = np.asarray(arr)
    if "S" in axes and axes.index("S") < axes.index("Y"):  # planar configuration: S Y X
        arr = np.moveaxis(arr, axes.index("S"), -1)
    arr = np.squeeze(arr)
    if arr.ndim == 3 and arr.shape[2] == 2:  # grey + alpha -> RGBA
        arr = np.concatenate([arr[:, :, :1]] * 3 + [arr[:, :, 1:]], axis=2)
    if arr.ndim not in (2, 3):
        raise _TiffFallback(f"shape {arr.shape}")
    arr = _apply_orientation(arr, _tiff_orientation(page))
    return DecodedImage(np.ascontiguousarray(arr), _mode_for(channels, bit_depth), bit_depth)


def _tiff_probe_or_read(fh: BinaryIO, name: str, decode: bool) -> tuple[ImageInfo, DecodedImage | None]:
    import tifffile

    try:
        tf = tifffile.TiffFile(fh)
    except ImageError:
        raise
    except Exception as exc:
        raise _TiffFallback(str(exc)) from None
    with tf:
        page = _tiff_page(tf)
        width, height, channels, bit_depth = _tiff_layout(page, name)
        if _tiff_orientation(page) in _SWAPS_SIDES:
            width, height = height, width
        info = ImageInfo("TIFF", width, height, _mode_for(channels, bit_depth), bit_depth, channels)
        decoded = _tiff_decode(page, name, channels, bit_depth) if decode else None
        if decoded is not None and decoded.pixels.shape[:2] != (height, width):
            raise ImageError(f"{name}: TIFF data does not match its header")
        return info, decoded


def _check_png_chunks(data: bytes, name: str) -> None:
    """Walk the PNG chunks: every CRC must match and IEND must be there (Pillow skips IDAT CRCs)."""
    import zlib

    pos, n = 8, len(data)
    while True:
        if pos + 8 > n:
            raise ImageError(f"{name}: truncated file (PNG ends before its IEND chunk)")
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > n:
            raise ImageError(f"{name}: truncated file (PNG chunk {kind.decode('latin-1')} is cut off)")
        if zlib.crc32(data[pos + 4:pos + 8 + length]) != int.from_bytes(data[end - 4:end], "big"):
            raise ImageError(f"{name}: corrupt PNG (checksum mismatch in chunk {kind.decode('latin-1')})")
        if kind == b"IEND":
            return
        pos = end


# ---- public ------------------------------------------------------------------------------------------------
def open_regular_file(path: str | Path) -> BinaryIO:
    """Open a file for reading, or raise ImageError naming it; a folder, FIFO or device (which could block
    or never end) is refused before it is opened."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ImageError(f"{path}: is a folder, not an image file")
        if not stat.S_ISREG(mode):
            raise ImageError(f"{path}: not a regular file")
        return open(path, "rb")
    except FileNotFoundError:
        raise ImageError(f"{path}: file not found") from None
    except PermissionError:
        raise ImageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _source(source: str | Path | bytes) -> tuple[BinaryIO, str, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return io.BytesIO(data), "<bytes>", data[:8]
    path = Path(source)
    fh = open_regular_file(path)
    head = fh.read(8)
    fh.seek(0)
    return fh, str(path), head


def _probe_or_read(
    source: str | Path | bytes, decode: bool, name: str | None, pixels: bool = True, at_least: int | None = None
) -> tuple[ImageInfo, DecodedImage | None]:
    fh, label, head = _source(source)
    label = name or label
    try:
        if not head:
            raise ImageError(f"{label}: empty file (0 bytes)")
        if decode and head.startswith(b"\x89PNG\r\n\x1a\n"):
            _check_png_chunks(fh.read(), label)
            fh.seek(0)
        if head[:4] in _TIFF_MAGICS:
            try:
                return _tiff_probe_or_read(fh, label, decode)
            except _TiffFallback:
                fh.seek(0)
        im = _open_pil(fh, label)
        with im:
            _check_side(label, *im.size)
            width, height = _pil_oriented_size(im)
            target, depth, channels = _pil_target(im)
            info = ImageInfo(im.format, width, height, target, depth, channels)
            if not decode:
                return info, None
            if at_least is not None and im.format == "JPEG":  # DCT scaling: 1/2, 1/4 or 1/8 of the sides
                fit = min(1.0, at_least / max(im.size))
                im.draft(im.mode, (math.ceil(im.size[0] * fit), math.ceil(im.size[1] * fit)))
            im.load()  # decodes everything: catches truncated and corrupt data
            if not pixels:
                return info, None
            orientation = _pil_orientation(im)
            decoded = _pil_pixels(im, label)
        decoded.pixels = _apply_orientation(decoded.pixels, orientation)
        return info, decoded
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(f"{label}: too large to decode in memory") from None
    except Exception as exc:  # Pillow and tifffile raise many types for corrupt data
        text = str(exc) or type(exc).__name__
        if "truncated" in text or "end of file" in text.lower() or "EOF" in text:
            raise ImageError(f"{label}: truncated file ({text})") from None
        raise ImageError(f"{label}: corrupt or unreadable image ({text})") from None
    finally:
        fh.close()


def probe_image(source: str | Path | bytes, decode: bool = True, name: str | None = None) -> ImageInfo:
    """Header facts of an image; with `decode` the pixels are decoded too (and dropped) to catch damage."""
    return _probe_or_read(source, decode, name, pixels=False)[0]


def read_image(path: str | Path) -> DecodedImage:
    """Decode a PNG/JPEG/BMP/TIFF file with EXIF orientation applied; raise ImageError naming the file."""
    return _probe_or_read(path, True, None)[1]


def read_image_bytes(data: bytes, name: str = "<bytes>") -> DecodedImage:
    return _probe_or_read(data, True, name)[1]


def read_image_for_display(source: str | Path | bytes, at_least: int, name: str | None = None
                           ) -> tuple[ImageInfo, DecodedImage]:
    """(header facts of the full frame, pixels) for a picture that will be shown at most `at_least` pixels a
    side: a JPEG is decoded at the smallest of its DCT scales (1/2, 1/4, 1/8) that keeps its longer side at
    least that long, other formats whole."""
    return _probe_or_read(source, True, name, at_least=at_least)


def to_rgb_float(decoded: DecodedImage) -> np.ndarray:
    """H x W x 3 float32 in [0, 255], whatever the input depth (core.io.pixels) and channels (alpha dropped).

    The result is the only float frame allocated (12 bytes a pixel): no whole-frame temporaries."""
    px = decoded.pixels
    out = np.empty(px.shape[:2] + (3,), dtype=np.float32)
    out[...] = px[:, :, None] if px.ndim == 2 else px[:, :, :3]
    if px.dtype == np.uint16:
        out *= scale_to_255(px)
    return out
