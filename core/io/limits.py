"""How large an image Contrario accepts: derived from a memory budget and what the pipeline needs per pixel.

Decoding and scoring hold, at their peak, the decoded frame and Pillow's buffers plus one float32 RGB copy
of it (12 bytes a pixel) before the model shrinks it to its input grid. Measured peaks on a 2000 x 2000 RGB
PNG, decoding included (tests/io/test_image_limits.py measures them on every run): U-Flow preprocessing 26
bytes a pixel, the training-free detector's channel stack 25 (37 before its channels were filled in place). With
PIPELINE_BYTES_PER_PIXEL = 32 and the default 2 GiB budget, the largest image is 67 MP (8192 x 8192).
Set CONTRARIO_MEMORY_BUDGET_MB to change the budget; when tiling lowers the per-pixel figure, lower
PIPELINE_BYTES_PER_PIXEL with it (the test fails when the pipeline needs more than it says).
"""

from __future__ import annotations

import os

PIPELINE_BYTES_PER_PIXEL = 32
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
