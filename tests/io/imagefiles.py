"""Real image files of every accepted format, and broken ones, written on the spot."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image as PILImage


def pattern(h: int = 24, w: int = 36, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels == 1 else (h, w, channels)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def write_png(path: Path, arr: np.ndarray) -> Path:
    PILImage.fromarray(arr).save(path)
    return path


def write_jpeg_exif(path: Path, arr: np.ndarray, orientation: int) -> Path:
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    PILImage.fromarray(arr).save(path, quality=95, exif=exif.tobytes())
    return path


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height (grey) with almost no data: decoding it would be absurd."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + _chunk(b"IEND", b""))
    return path


def write_every_format(folder: Path) -> dict[str, Path]:
    """One file per accepted format and mode: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = pattern()
    grey16 = (pattern(channels=1).astype(np.uint16) * 257) + 3
    out = {
        "png_l": write_png(folder / "grey.png", pattern(channels=1)),
        "png_rgb": write_png(folder / "rgb.png", rgb),
        "png_rgba": write_png(folder / "rgba.png", pattern(channels=4)),
        "jpeg_exif6": write_jpeg_exif(folder / "rotated.jpg", rgb, 6),
        "bmp": folder / "plain.bmp",
        "tiff8": folder / "grey8.tif",
        "tiff16": folder / "grey16.tiff",
        "tiff16_rgb": folder / "rgb16.tif",
    }
    PILImage.fromarray(rgb).save(out["bmp"])
    tifffile.imwrite(out["tiff8"], pattern(channels=1))
    tifffile.imwrite(out["tiff16"], grey16)
    tifffile.imwrite(out["tiff16_rgb"], rgb.astype(np.uint16) * 257, photometric="rgb")
    return out


def write_bad_files(folder: Path) -> dict[str, Path]:
    """One file per kind of bad input: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    good = write_png(folder / "_good_source.png", pattern(48, 64))
    data = good.read_bytes()
    big = pattern(200, 300)
    PILImage.fromarray(big).save(folder / "_jpeg_source.jpg", quality=90)
    jpeg = (folder / "_jpeg_source.jpg").read_bytes()
    corrupt = bytearray(data)
    mid = len(corrupt) // 2
    corrupt[mid:mid + 16] = bytes(16)
    out = {
        "zero": folder / "zero.png",
        "truncated_png": folder / "truncated.png",
        "truncated_jpeg": folder / "truncated.jpg",
        "corrupt_png": folder / "corrupt.png",
        "not_image": folder / "notes.png",
        "absurd": write_png_header_only(folder / "absurd.png", 40000, 8),
    }
    out["zero"].write_bytes(b"")
    out["truncated_png"].write_bytes(data[: len(data) // 2])
    out["truncated_jpeg"].write_bytes(jpeg[: len(jpeg) * 2 // 3])
    out["corrupt_png"].write_bytes(bytes(corrupt))
    out["not_image"].write_text("this is a text file, not an image\n")
    (folder / "_good_source.png").unlink()
    (folder / "_jpeg_source.jpg").unlink()
    return out
