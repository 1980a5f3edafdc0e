"""Synthetic test scenes: a textured surface with a relief defect seen under several lightings."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def rough_height(shape: tuple[int, int], rng: np.random.Generator, sigma: float = 1.5) -> np.ndarray:
    h = ndimage.gaussian_filter(rng.normal(size=shape), sigma)
    return h / h.std()


def render_lightings(height: np.ndarray, albedo: np.ndarray, elevation_deg: float = 20.0) -> list[np.ndarray]:
    """1 diffuse view (albedo only, no shading) + 4 grazing views from the four corners, uint8."""
    gy, gx = np.gradient(height)
    normal = np.stack([-gx, -gy, np.ones_like(height)])
    normal /= np.linalg.norm(normal, axis=0)
    views = [albedo]
    el = np.deg2rad(elevation_deg)
    for az in np.deg2rad([45.0, 135.0, 225.0, 315.0]):
        light = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        shade = np.clip(np.tensordot(light, normal, axes=1), 0.0, None)
        views.append(albedo * shade / np.sin(el))
    return [np.clip(v * 110.0, 0, 255).astype(np.uint8) for v in views]


def relief_scene(size: int = 192, seed: int = 0, margin: int = 16) -> tuple[list[np.ndarray], tuple[int, int]]:
    """Views of a leather-like surface with a small bump; returns the views and the bump centre.
    Rendered on a larger canvas and cropped, so that no view has edge effects."""
    rng = np.random.default_rng(seed)
    full = size + 2 * margin
    height = 0.3 * rough_height((full, full), rng)
    cy, cx = int(size * 0.62), int(size * 0.35)
    yy, xx = np.mgrid[:full, :full]
    height += 3.0 * np.exp(-((yy - cy - margin) ** 2 + (xx - cx - margin) ** 2) / (2 * 4.0 ** 2))
    albedo = 1.0 + 0.15 * rough_height((full, full), rng, sigma=3.0)
    crop = (slice(margin, margin + size), slice(margin, margin + size))
    return [v[crop] for v in render_lightings(height, albedo)], (cy, cx)
