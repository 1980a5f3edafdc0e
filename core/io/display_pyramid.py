"""Large pictures on screen: a preview of the whole frame, and levels that halve the sides for zoomed-in views.

Drawn as one texture, a 100-megapixel picture is resampled whole on every zoom. The workbench instead shows a
preview (at most PREVIEW_SIDE pixels a side) stretched over the whole frame and, where the view is zoomed in
past the preview's resolution, a window cut from the level whose pixels are closest to a screen pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage

PREVIEW_SIDE = 2048


def is_large(height: int, width: int) -> bool:
    """Pictures shown through a preview and a pyramid rather than whole."""
    return max(int(height), int(width)) > 2 * PREVIEW_SIDE


def halve(pixels: np.ndarray) -> np.ndarray:
    """2 x 2 box average of a uint8 grey or RGB picture; an odd side keeps its last row or column (averaged
    over what is there)."""
    return np.asarray(PILImage.fromarray(pixels).reduce(2))


@dataclass
class DisplayPyramid:
    """levels[i] is the frame with its sides divided by 2**i (rounded up)."""

    levels: list[np.ndarray]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.levels[0].shape[:2])

    def level_for(self, frame_px_per_screen_px: float) -> int:
        """The coarsest level whose pixels are no larger than a screen pixel."""
        if not frame_px_per_screen_px > 1.0:
            return 0
        return min(len(self.levels) - 1, int(math.floor(math.log2(frame_px_per_screen_px))))

    def window(self, level: int, x0: float, y0: float, x1: float, y1: float
               ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """Pixels of `level` covering the frame box [x0, x1) x [y0, y1), widened to whole level pixels and
        clipped to the frame, and the frame box (x0, y0, x1, y1) they cover (each level pixel is 2**level
        frame pixels a side)."""
        f = 2 ** level
        lv = self.levels[level]
        h, w = lv.shape[:2]
        xa = min(max(int(math.floor(x0 / f)), 0), w)
        xb = min(max(int(math.ceil(x1 / f)), xa), w)
        ya = min(max(int(math.floor(y0 / f)), 0), h)
        yb = min(max(int(math.ceil(y1 / f)), ya), h)
        return lv[ya:yb, xa:xb], (xa * f, ya * f, xb * f, yb * f)


def build_pyramid(pixels: np.ndarray, stop_side: int = PREVIEW_SIDE) -> DisplayPyramid:
    """Levels from the full frame down to the first one no larger than `stop_side` a side (a coarser one
    would be no sharper than the preview)."""
    levels = [np.ascontiguousarray(pixels)]
    while max(levels[-1].shape[:2]) > stop_side:
        levels.append(halve(levels[-1]))
    return DisplayPyramid(levels)
