"""How large an image Contrario accepts: derived from a memory budget and what the pipeline needs per pixel.

Decoding holds, at its peak, Pillow's frame (4 bytes a pixel for RGB) and the numpy pixels (3), filled strip by
strip; after that only the stored pixels remain. The models never make a float copy of the whole frame: a
resized input is computed from the stored pixels (core.io.resample), and tiled scoring makes each window's
floats on its own. Measured peaks on 2000 x 2000 files, decoding included (tests/io/test_image_limits.py
measures them on every run), for U-Flow's resized input / tiled input / the training-free detector's
channels: RGB PNG 7.7 / 7.7 / 7.7 bytes a pixel (26 / - / 25 while a float frame was made first), RGBA PNG
8.5 / 8.8 / 9.1, EXIF-rotated JPEG 10.0 / 10.0 / 10.1 (one more copy of the frame), 16-bit RGB TIFF 7.2 / 6.4
/ 7.5. Hence PIPELINE_BYTES_PER_PIXEL = 12: with the default 2 GiB budget the largest image is 179 MP
(13377 x 13377). Set CONTRARIO_MEMORY_BUDGET_MB to change the budget; the test fails
when the pipeline needs more than PIPELINE_BYTES_PER_PIXEL says.
"""

from __future__ import annotations

import os

PIPELINE_BYTES_PER_PIXEL = 12
DEFAULT_MEMORY_BUDGET_MB = 2048
MAX_SIDE = 30000  # no side longer than this, whatever the budget (also bounds the header sanity checks)


def memory_budget_bytes() -> int:
    text = os.environ.get("CONTRARIO_MEMORY_BUDGET_MB", "")
    try:
        mb = int(text) if text.strip() else DEFAULT_MEMORY_BUDGET_MB
    except ValueError:
        mb = DEFAULT_MEMORY_BUDGET_MB
    return max(64, mb) << 20


def max_pixels() -> int:
    """The most pixels (width x height) an image may have to be decoded and scored within the budget."""
    return memory_budget_bytes() // PIPELINE_BYTES_PER_PIXEL
