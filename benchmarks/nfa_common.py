"""Shared latent generators for the NFA benchmarks (pure noise, correlated noise, planted defects)."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

SHAPE_SETS = {
    "uflow 816x28x28+192x14x14": [(816, 28, 28), (192, 14, 14)],
    "lite2 20x32x32+56x16x16": [(20, 32, 32), (56, 16, 16)],
    "lite3 20x32x32+56x16x16+160x8x8": [(20, 32, 32), (56, 16, 16), (160, 8, 8)],
}


def white_latents(shapes, rng, std: float = 1.0) -> list[np.ndarray]:
    return [rng.standard_normal(s, dtype=np.float32) * np.float32(std) for s in shapes]


def correlated_latents(shapes, rng, sigma: float) -> list[np.ndarray]:
    """N(0,1) smoothed per channel by a Gaussian (circular, so stationary) and rescaled to unit variance."""
    out = []
    for c, h, w in shapes:
        z = rng.standard_normal((c, h, w))
        z = ndimage.gaussian_filter(z, sigma=(0, sigma, sigma), mode="wrap")
        impulse = np.zeros((h, w))
        impulse[h // 2, w // 2] = 1.0
        gain = np.sqrt((ndimage.gaussian_filter(impulse, sigma, mode="wrap") ** 2).sum())
        out.append((z / gain).astype(np.float32))
    return out


def plant(latents, y: int, x: int, size: int, factor: float, finest_hw) -> list[np.ndarray]:
    """Multiply the latents by factor over a size x size square of finest-scale cells, on every scale."""
    fh, fw = finest_hw
    out = []
    for z in latents:
        z = z.copy()
        sy, sx = fh / z.shape[1], fw / z.shape[2]
        y0, x0 = int(y // sy), int(x // sx)
        y1, x1 = int(-(-(y + size) // sy)), int(-(-(x + size) // sx))
        z[:, y0:y1, x0:x1] *= np.float32(factor)
        out.append(z)
    return out
