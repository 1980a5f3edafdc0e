"""Thumbnail disk cache: small 8-bit PNGs keyed by image sha256 and size, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from core.errors import ImageError
from core.io.checked_files import read_checked_for_display
from core.io.display_pyramid import PREVIEW_SIDE, is_large
from core.io.pixels import to_uint8
from core.store.blobs import is_sha256

DEFAULT_SIZE = 160


def default_cache_dir(project_root: str | Path | None = None) -> Path:
    """`<project>/cache/thumbs` for a project, else the user cache folder of Contrario."""
    if project_root is not None:
        return Path(project_root) / "cache" / "thumbs"
    import platformdirs

    return Path(platformdirs.user_cache_dir("contrario")) / "thumbs"


def to_display_uint8(pixels: np.ndarray) -> np.ndarray:
    """Any decoded pixel array as uint8 grey (H x W) or RGB (H x W x 3), alpha dropped."""
    px = to_uint8(pixels)  # 16-bit scaled by the bits the image uses (core.io.pixels)
    if px.ndim == 3:
        px = px[:, :, 0] if px.shape[2] == 1 else px[:, :, :3]
    return np.ascontiguousarray(px)


class ThumbnailCache:
    """Thumbnails on disk under `folder/<sha[:2]>/<sha>_<size>.png`; safe to share between threads."""

    def __init__(self, folder: str | Path, size: int = DEFAULT_SIZE) -> None:
        self.folder = Path(folder)
        self.size = int(size)

    def path_for(self, sha256: str, size: int | None = None) -> Path:
        """The cache file for a hash; ImageError for a value that is not a sha256 (it never becomes a path)."""
        if not is_sha256(sha256):
            raise ImageError(f"thumbnail: the project records a malformed sha256 {str(sha256)[:80]!r}")
        size = self.size if size is None else int(size)
        return self.folder / sha256[:2] / f"{sha256}_{size}.png"

    def lookup(self, sha256: str, size: int | None = None) -> Path | None:
        """The cached thumbnail file, or None when it was never made."""
        path = self.path_for(sha256, size)
        return path if path.is_file() else None

    def get_or_create(self, source: str | Path, sha256: str, size: int | None = None) -> Path:
        """Return the thumbnail of `source`, decoding and writing it first if needed (raises ImageError)."""
        path = self.path_for(sha256, size)
        if path.is_file():
            return path
        size = self.size if size is None else int(size)
        # checked against its hash: it is cached under it
        info, decoded = read_checked_for_display(source, sha256, None, at_least=max(size, self.size, PREVIEW_SIDE))
        pixels = to_display_uint8(decoded.pixels)
        _write_png_atomic(make_thumbnail(pixels, size), path)
        if is_large(info.height, info.width):  # one decode of a large picture makes its gallery tile and preview
            for other in {self.size, PREVIEW_SIDE} - {size}:
                if not self.path_for(sha256, other).is_file():
                    _write_png_atomic(make_thumbnail(pixels, other), self.path_for(sha256, other))
        return path

    def preview(self, source: str | Path, sha256: str) -> np.ndarray:
        """The workbench's preview of a large picture (at most PREVIEW_SIDE a side), made on first use."""
        return self.load(source, sha256, PREVIEW_SIDE)

    def load(self, source: str | Path, sha256: str, size: int | None = None) -> np.ndarray:
        """The thumbnail as a uint8 array (grey or RGB), created on first use."""
        path = self.get_or_create(source, sha256, size)
        try:
            with PILImage.open(path) as im:
                return np.asarray(im).copy()
        except Exception:  # a damaged cache entry is rebuilt once
            path.unlink(missing_ok=True)
            path = self.get_or_create(source, sha256, size)
            with PILImage.open(path) as im:
                return np.asarray(im).copy()


def make_thumbnail(pixels: np.ndarray, size: int) -> np.ndarray:
    """Fit a uint8 image inside size x size keeping the aspect ratio."""
    im = PILImage.fromarray(pixels)
    im.thumbnail((size, size), PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(im)


def _write_png_atomic(pixels: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".thumb-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            PILImage.fromarray(pixels).save(fh, format="PNG", compress_level=1)
        os.replace(tmp, path)
    except Exception as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ImageError(f"{path}: cannot write thumbnail ({exc})") from None
