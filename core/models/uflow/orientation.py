"""Which flips and turns of the training images still look normal: the copies training may add.

With few training images the flow sees few examples of each local look, and a flipped or turned copy of an image
is one more normal example only when the product's normal look does not depend on that orientation: leather
grain, a stone or metal surface, a fruit's skin; not a part photographed in a fixed pose, a texture with a grain
direction or a lamp that lights one side.

The training images answer it themselves. Each image's backbone cells are scored by their mean distance to the
nearest cell of the other training images (a memory bank, one image left out at a time), as the image and as
each of its seven transformed copies (the symmetries of the square). A transform is normal when, at every
scale, the median over the images of (copy's score - image's score) is at most MAX_SHIFT_IQR interquartile
ranges of the images' own scores: the copies lie about as far from the other images as the images themselves.
`benchmarks/orientation_check.py` prints the shifts on a category and on generated textures of known
orientation: copies that keep the look shifted by at most 1.15 (a backbone is not exactly symmetric, and the
images of a regular texture score alike), copies that change it (a turned grain, a flipped layout or light, a
turned MTD tile) by 2.9 to 490 at one scale at least; 2 lies in between.
Assumption: the training images are normal and vary as the product does.
"""

from __future__ import annotations

import numpy as np
import torch

TRANSFORMS = ("flip left-right", "flip up-down", "turn 180°", "transpose", "turn 90° clockwise",
              "turn 90° anticlockwise", "anti-transpose")
MAX_SHIFT_IQR = 2.0
MIN_IMAGES = 4  # an interquartile range of fewer scores says nothing
MAX_IMAGES = 32  # images the test scores (their banks hold the others' cells)
MAX_BANK = 8192  # cells per bank, drawn at random
MAX_QUERY = 512  # cells per image and scale scored, drawn at random

_FLIP = ((slice(None), slice(None, None, -1)), (slice(None, None, -1), slice(None)),
         (slice(None, None, -1), slice(None, None, -1)))


def transformed(pixels: np.ndarray, index: int) -> np.ndarray:
    """`pixels` (H x W or H x W x C) under TRANSFORMS[index]."""
    if not 0 <= index < len(TRANSFORMS):
        raise ValueError(f"transform index must lie in [0, {len(TRANSFORMS)}), got {index}")
    if index < 3:
        return pixels[_FLIP[index]]
    swapped = np.swapaxes(pixels, 0, 1)
    return swapped if index == 3 else swapped[_FLIP[index - 4]]


def _cells(f: torch.Tensor) -> torch.Tensor:
    return f.reshape(f.shape[0], -1).T.float()


def _pick(rows: torch.Tensor, most: int, gen: torch.Generator) -> torch.Tensor:
    return rows if rows.shape[0] <= most else rows[torch.randperm(rows.shape[0], generator=gen)[:most]]


@torch.no_grad()
def orientation_shifts(originals: list[list[torch.Tensor]], copies: list[list[list[torch.Tensor]]],
                       seed: int = 0) -> np.ndarray:
    """(transforms, scales) median shift of the copies' scores over the images' scores, in interquartile ranges
    of the images' scores. `originals[i]`: image i's features per scale (C, h, w); `copies[i][t]`: those of its
    copy under transform t."""
    n, n_scales, n_transforms = len(originals), len(originals[0]), len(copies[0])
    gen = torch.Generator().manual_seed(seed)
    shifts = np.zeros((n_transforms, n_scales))
    for s in range(n_scales):
        cells = [_cells(feats[s]) for feats in originals]
        every = torch.cat(cells)
        mean, std = every.mean(0), every.std(0) + 1e-6
        cells = [(c - mean) / std for c in cells]
        scores = np.zeros((n, 1 + n_transforms))
        for i in range(n):
            bank = _pick(torch.cat([c for j, c in enumerate(cells) if j != i]), MAX_BANK, gen)
            for t, query in enumerate([cells[i]] + [(_cells(c[s]) - mean) / std for c in copies[i]]):
                scores[i, t] = torch.cdist(_pick(query, MAX_QUERY, gen), bank).min(1).values.mean().item()
        spread = float(np.subtract(*np.quantile(scores[:, 0], [0.75, 0.25])))
        shift = np.median(scores[:, 1:] - scores[:, :1], axis=0)
        shifts[:, s] = shift / spread if spread > 0 else np.where(shift > 0, np.inf, 0.0)
    return shifts


def normal_transforms(originals: list[list[torch.Tensor]], copies: list[list[list[torch.Tensor]]],
                      seed: int = 0) -> tuple[list[int], np.ndarray]:
    """Indices of the transforms whose copies look normal at every scale, and the shifts they were judged on
    (MAX_IMAGES images at most, drawn at random; none with fewer than MIN_IMAGES)."""
    if len(originals) < MIN_IMAGES:
        return [], np.zeros((len(copies[0]) if copies else 0, 0))
    pick = np.random.default_rng(seed).permutation(len(originals))[:MAX_IMAGES]
    shifts = orientation_shifts([originals[i] for i in pick], [copies[i] for i in pick], seed)
    return [t for t in range(shifts.shape[0]) if (shifts[t] <= MAX_SHIFT_IQR).all()], shifts
