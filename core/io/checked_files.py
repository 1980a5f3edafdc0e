"""An image file of the project, read only while it still holds the bytes that were imported.

Which file that is (the project's copy, else the original path) is core.domain.images.image_source; this
module checks it against the size and sha256 recorded at import. Scoring, training and exports go through it:
a file that was replaced, edited or truncated since its import is an error for that image (ChangedFileError),
never silently used in its place.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from core.errors import ImageError
from core.io.images import DecodedImage, ImageInfo, open_regular_file, read_image, read_image_bytes, read_image_for_display
from core.store.blobs import is_sha256

IN_MEMORY_BELOW = 64 << 20  # smaller files are read once: the bytes hashed are the bytes decoded
_CHUNK = 1 << 20


class ChangedFileError(ImageError):
    """The file no longer holds what was imported."""


def _check_recorded(path: Path, sha256: str | None, size: int | None, actual_size: int) -> None:
    if not is_sha256(sha256):
        raise ChangedFileError(f"{path}: the project records no valid sha256 for this image; re-import it")
    if size is not None and actual_size != size:
        raise ChangedFileError(f"{path}: changed since its import ({actual_size} bytes, {size} when imported)")


def _hash_rest(fh, out=None) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: fh.read(_CHUNK), b""):
        h.update(chunk)
        if out is not None:
            out.write(chunk)
    return h.hexdigest()


def _mismatch(path: Path) -> ChangedFileError:
    return ChangedFileError(f"{path}: changed since its import (its content no longer matches the recorded sha256)")


def read_checked_bytes(path: str | Path, sha256: str | None, size: int | None) -> bytes | None:
    """The file's bytes after checking size and hash; None for a big file that was checked by streaming."""
    path = Path(path)
    with open_regular_file(path) as fh:
        actual = os.fstat(fh.fileno()).st_size
        _check_recorded(path, sha256, size, actual)
        if actual < IN_MEMORY_BELOW:
            data = fh.read()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise _mismatch(path)
            return data
        digest = _hash_rest(fh)
    if digest != sha256:
        raise _mismatch(path)
    return None


def check_recorded_size(path: str | Path, sha256: str | None, size: int | None) -> None:
    """The quick half of the check (a valid hash recorded, the same size), for a display that verifies the
    hash later, off the path to the first paint."""
    path = Path(path)
    with open_regular_file(path) as fh:
        _check_recorded(path, sha256, size, os.fstat(fh.fileno()).st_size)


def verify_file(path: str | Path, sha256: str | None, size: int | None) -> None:
    """Raise ChangedFileError (or ImageError when unreadable) unless the file is the one imported."""
    path = Path(path)
    with open_regular_file(path) as fh:
        _check_recorded(path, sha256, size, os.fstat(fh.fileno()).st_size)
        digest = _hash_rest(fh)
    if digest != sha256:
        raise _mismatch(path)


def read_checked_image(path: str | Path, sha256: str | None, size: int | None) -> DecodedImage:
    """Decode the file only if it is still the one imported."""
    data = read_checked_bytes(path, sha256, size)
    return read_image(path) if data is None else read_image_bytes(data, name=str(path))


def read_checked_for_display(path: str | Path, sha256: str | None, size: int | None, at_least: int
                             ) -> tuple[ImageInfo, DecodedImage]:
    """core.io.images.read_image_for_display, only if the file is still the one imported."""
    data = read_checked_bytes(path, sha256, size)
    return read_image_for_display(path if data is None else data, at_least, name=str(path))


def copy_checked(path: str | Path, dest: str | Path, sha256: str | None, size: int | None) -> None:
    """Copy the file to `dest`, hashing what is copied; nothing is left at `dest` when it does not match."""
    path, dest = Path(path), Path(dest)
    with open_regular_file(path) as fh:
        _check_recorded(path, sha256, size, os.fstat(fh.fileno()).st_size)
        try:
            with open(dest, "wb") as out:
                digest = _hash_rest(fh, out)
        except OSError as exc:
            dest.unlink(missing_ok=True)
            raise ImageError(f"{dest}: cannot write ({exc.strerror or exc})") from None
    if digest != sha256:
        dest.unlink(missing_ok=True)
        raise _mismatch(path)

