"""Filter banks applied to one channel as 'same'-size correlations with reflected borders."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

_FFT_FROM_SIZE = 13  # kernels at least this wide go through the FFT


def _pad(image: torch.Tensor, r: int) -> torch.Tensor:
    h, w = image.shape[-2:]
    mode = "reflect" if r < min(h, w) else "replicate"
    return F.pad(image[None, None], (r, r, r, r), mode=mode)[0, 0]


def correlate_bank(image: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Responses K x H x W of an H x W image to K square odd kernels (K x s x s): inner products of
    each kernel with the patch centred on every pixel."""
    k, s, s2 = kernels.shape
    if s != s2 or s % 2 == 0:
        raise ValueError("kernels must be square with an odd side")
    r = s // 2
    h, w = image.shape
    img = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    ker = torch.from_numpy(np.ascontiguousarray(kernels, dtype=np.float32))
    padded = _pad(img, r)
    with torch.no_grad():
        if s < _FFT_FROM_SIZE:
            out = F.conv2d(padded[None, None], ker[:, None])[0]
        else:
            ph, pw = padded.shape
            spec = torch.fft.rfft2(padded, s=(ph, pw))
            kspec = torch.fft.rfft2(torch.flip(ker, dims=(-2, -1)), s=(ph, pw))
            full = torch.fft.irfft2(spec[None] * kspec, s=(ph, pw))
            out = full[:, s - 1:s - 1 + h, s - 1:s - 1 + w]
    return out.numpy()


def correlate_mixed(image: np.ndarray, kernels: list[np.ndarray]) -> np.ndarray:
    """Like correlate_bank for kernels of several sizes (grouped by size, order kept)."""
    out = np.empty((len(kernels),) + image.shape, dtype=np.float32)
    by_size: dict[int, list[int]] = {}
    for i, kern in enumerate(kernels):
        by_size.setdefault(kern.shape[0], []).append(i)
    for idx in by_size.values():
        out[idx] = correlate_bank(image, np.stack([kernels[i] for i in idx]))
    return out
