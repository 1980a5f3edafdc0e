"""Image pyramid: each level halves the sides of the previous one (antialiased)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def resize(channels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize C x H x W float channels to C x shape (bilinear, antialiased when shrinking)."""
    if tuple(channels.shape[-2:]) == tuple(shape):
        return channels
    t = torch.from_numpy(np.ascontiguousarray(channels, dtype=np.float32))[None]
    shrink = shape[0] < channels.shape[-2] or shape[1] < channels.shape[-1]
    out = F.interpolate(t, size=tuple(shape), mode="bilinear", align_corners=False, antialias=shrink)
    return out[0].numpy()


def build_pyramid(channels: np.ndarray, n_scales: int, min_side: int = 16) -> list[np.ndarray]:
    """Levels finest first; stops before a side would drop under `min_side`."""
    levels = [np.asarray(channels, dtype=np.float32)]
    while len(levels) < n_scales:
        h, w = levels[-1].shape[-2:]
        nh, nw = (h + 1) // 2, (w + 1) // 2
        if min(nh, nw) < min_side:
            break
        levels.append(resize(levels[-1], (nh, nw)))
    return levels
