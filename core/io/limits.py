"""How large an image Contrario accepts: derived from a memory budget and what the pipeline needs per pixel.

Decoding holds, at its peak, Pillow's frame (4 bytes a pixel for RGB) and the numpy pixels (3), filled strip by
strip; after that only the stored pixels remain. The models never make a float copy of the whole frame: a
resized input is computed from the stored pixels (core.io.resample), and tiled scoring makes each window's
floats on its own. Measured peaks on a 2000 x 2000 RGB PNG, decoding included (tests/io/test_image_limits.py
measures them on every run): U-Flow input 7.8 bytes a pixel, tiled U-Flow input 7.6, the training-free
detector's channels 8.0 (26, -, 25 while a float frame was made first). RGBA and rotated (EXIF) files hold
one more channel or one more copy, hence PIPELINE_BYTES_PER_PIXEL = 12: with the default 2 GiB budget the
largest image is 179 MP (13377 x 13377). Set CONTRARIO_MEMORY_BUDGET_MB to change the budget; the test fails
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
