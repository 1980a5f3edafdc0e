"""Per-scale features of one channel: Patch-PCA, a fixed Gabor bank, or CNN activations."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core.models.classic.filtering import correlate_bank, correlate_mixed


def sample_patches(image: np.ndarray, size: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """N x size^2 patches at random positions fully inside the image (all of them if fewer)."""
    windows = sliding_window_view(image, (size, size))
    ny, nx = windows.shape[:2]
    total = ny * nx
    if total <= n_samples:
        return windows.reshape(total, size * size).astype(np.float64)
    flat = rng.choice(total, size=n_samples, replace=False)
    return windows[flat // nx, flat % nx].reshape(n_samples, size * size).astype(np.float64)


def patch_pca_filters(image: np.ndarray, size: int, n_components: int, n_samples: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The image's own filters: the top principal directions of its size x size patches, as
    m x size x size kernels (orthonormal), with their variances (descending)."""
    patches = sample_patches(image, size, n_samples, rng)
    centred = patches - patches.mean(axis=0)
    cov = centred.T @ centred / max(len(centred) - 1, 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][: min(n_components, size * size)]
    return vectors[:, order].T.reshape(-1, size, size), values[order]


def patch_pca_features(image: np.ndarray, size: int, n_components: int, n_samples: int,
                       rng: np.random.Generator) -> np.ndarray:
    filters, _ = patch_pca_filters(image, size, n_components, n_samples, rng)
    return correlate_bank(image, filters)


def _odd(n: float) -> int:
    n = int(math.ceil(n))
    return n if n % 2 == 1 else n + 1


@lru_cache(maxsize=16)
def gabor_bank(orientations: int, wavelengths: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Even (zero-mean) and odd Gabor kernels, one-octave bandwidth, unit L2 norm."""
    kernels = []
    for lam in wavelengths:
        sigma = 0.56 * lam
        size = _odd(6 * sigma)
        r = size // 2
        y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
        envelope = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
        for k in range(orientations):
            theta = math.pi * k / orientations
            u = x * math.cos(theta) + y * math.sin(theta)
            for phase in (np.cos, np.sin):
                kern = envelope * phase(2 * math.pi * u / lam)
                kern -= envelope * (kern.sum() / envelope.sum())  # no response to flat areas
                kernels.append(kern / np.linalg.norm(kern))
    return tuple(kernels)


def gabor_features(image: np.ndarray, orientations: int, wavelengths: tuple[float, ...]) -> np.ndarray:
    return correlate_mixed(image, list(gabor_bank(orientations, tuple(wavelengths))))
