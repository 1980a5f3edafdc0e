"""Orange-like fruit seen by three cameras around it, with planted peel defects and their mask per view.

The peel lives on the unit sphere: dimples around random points (a 3-D nearest-point query, so every camera
sees the same peel), a smooth colour variation, and defects given as a centre direction and an angular size:
spots (small, dark), bruises (larger, soft, slightly sunken) and scars (elongated, pale, raised). Each camera
looks at the fruit horizontally from its azimuth (orthographic, lit from above its own left shoulder); a defect
faces one camera, so it is visible in that view and hidden from the other two. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

CAMERAS = ("cam-0", "cam-1", "cam-2")
FRUIT_SIZE = 512
FRUIT_DEFECTS = ("spot", "bruise", "scar")
FRUIT_RELIEF_KINDS = ("bruise", "scar")  # sunken or raised as well as coloured; a spot is colour only
PEEL_RGB = np.array([236.0, 128.0, 28.0], dtype=np.float32)
BACKGROUND = 24.0
DIMPLES = 9000


@dataclass
class FruitDefect:
    kind: str
    camera: str  # the view that shows it
    centre: np.ndarray = field(repr=False)  # unit vector
    axis: np.ndarray = field(repr=False)  # unit vector tangent at the centre (a scar's direction)
    radius: float = 0.0  # angular half-size (radians) across
    length: float = 0.0  # angular half-size along `axis`


@dataclass
class Fruit:
    views: dict[str, np.ndarray]  # camera -> uint8 H x W x 3
    masks: dict[str, np.ndarray]  # camera -> bool H x W, union of the defects seen there
    defects: list[FruitDefect]


def camera_axes(index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(right, up, towards the camera) of camera `index`, the cameras evenly spaced around the vertical axis."""
    az = 2 * np.pi * index / len(CAMERAS)
    towards = np.array([np.sin(az), 0.0, np.cos(az)])
    right = np.array([np.cos(az), 0.0, -np.sin(az)])
    return right, np.array([0.0, 1.0, 0.0]), towards


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _random_defect(rng: np.random.Generator, kind: str, cam: int) -> FruitDefect:
    right, up, towards = camera_axes(cam)
    az, el = rng.uniform(-0.3, 0.3), rng.uniform(-0.45, 0.45)  # radians off the camera's axis
    centre = _unit(np.cos(el) * (np.cos(az) * towards + np.sin(az) * right) + np.sin(el) * up)
    t = rng.uniform(0, np.pi)
    axis = np.cos(t) * right + np.sin(t) * up
    axis = _unit(axis - axis.dot(centre) * centre)
    radius = {"spot": rng.uniform(0.025, 0.05), "bruise": rng.uniform(0.06, 0.1),
              "scar": rng.uniform(0.015, 0.025)}[kind]
    length = rng.uniform(0.08, 0.14) if kind == "scar" else radius
    return FruitDefect(kind, CAMERAS[cam], centre, axis, float(radius), float(length))


def _defect_field(d: FruitDefect, pts: np.ndarray) -> np.ndarray:
    """Strength of the defect (1 at its centre, 0 outside) at surface points `pts` (N x 3)."""
    side = np.cross(d.centre, d.axis)
    a = pts @ d.axis
    b = pts @ side
    facing = pts @ d.centre > 0
    r2 = (a / d.length) ** 2 + (b / d.radius) ** 2
    return np.where(facing, np.clip(1 - r2, 0, None), 0.0)


def _peel_colour(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random low-frequency waves on the sphere: directions, frequencies and phases of a smooth shade."""
    return _unit(rng.standard_normal((6, 3))), rng.uniform(1.0, 3.0, 6), rng.uniform(0, 2 * np.pi, 6)


def render_fruit(seed: int, size: int = FRUIT_SIZE, defects: tuple[str, ...] | list[str] = (),
                 first_camera: int = 0) -> Fruit:
    """One fruit seen by the three cameras, with one defect per entry of `defects`, facing the cameras in
    turn from `first_camera` on."""
    if size < 64:
        raise ValueError(f"a fruit view needs at least 64 px on a side, got {size}")
    unknown = [k for k in defects if k not in FRUIT_DEFECTS]
    if unknown:
        raise ValueError(f"unknown fruit defect {unknown[0]!r}; choose from {', '.join(FRUIT_DEFECTS)}")
    cameras = len(CAMERAS)
    peel_rng, defect_rng, *noise = [np.random.default_rng([seed, i]) for i in range(2 + cameras)]
    dimples = cKDTree(_unit(peel_rng.standard_normal((DIMPLES, 3))))
    dimple_depth = peel_rng.uniform(0.6, 1.0, DIMPLES)
    waves = _peel_colour(peel_rng)
    radius_px = peel_rng.uniform(0.40, 0.45) * size
    planted = [_random_defect(defect_rng, kind, (first_camera + i) % cameras) for i, kind in enumerate(defects)]

    views, masks = {}, {}
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    u = (xx - size / 2 + 0.5) / radius_px
    w = -(yy - size / 2 + 0.5) / radius_px
    inside = u * u + w * w < 0.999
    z = np.sqrt(np.clip(1 - u * u - w * w, 0, None))
    for cam in range(cameras):
        right, up, towards = camera_axes(cam)
        pts = (u[inside, None] * right + w[inside, None] * up + z[inside, None] * towards)
        dist, idx = dimples.query(pts, k=1)
        cell = np.sqrt(4 * np.pi / DIMPLES)
        height = -dimple_depth[idx] * np.exp(-((dist / (0.35 * cell)) ** 2))
        dirs, freq, phase = waves
        tone = 1.0 + 0.05 * np.sin((pts @ dirs.T) * freq * np.pi + phase).sum(axis=1) / 2.5
        mask = np.zeros(pts.shape[0], dtype=bool)
        rgb = np.repeat(tone[:, None], 3, axis=1) * PEEL_RGB
        for d in planted:
            s = _defect_field(d, pts)
            mask |= s > 0.05
            if d.kind == "spot":
                dark = np.clip(3 * s, 0, 1)[:, None]
                rgb = rgb * (1 - dark) + dark * np.array([80.0, 50.0, 22.0])
            elif d.kind == "bruise":
                rgb *= 1 - np.sqrt(s)[:, None] * np.array([0.35, 0.45, 0.42])
                height -= 3.0 * s
            else:
                pale = np.clip(2.5 * s, 0, 1)[:, None]
                rgb = rgb * (1 - pale) + pale * np.array([205.0, 170.0, 110.0])
                height += 1.5 * np.sqrt(s)
        field_h = np.zeros((size, size), dtype=np.float32)
        field_h[inside] = height
        field_h = ndimage.gaussian_filter(field_h, 0.7)
        gy, gx = np.gradient(field_h)
        normal = np.stack([u, w, z], axis=-1)[inside]
        normal[:, 0] -= 0.6 * gx[inside]
        normal[:, 1] += 0.6 * gy[inside]
        normal = _unit(normal)
        light = _unit(np.array([-0.45, 0.55, 0.7]))
        lum = 0.2 + 0.85 * np.clip(normal @ light, 0, None)
        img = np.full((size, size, 3), BACKGROUND, dtype=np.float32)
        img[inside] = rgb * lum[:, None]
        img += noise[cam].standard_normal(img.shape, dtype=np.float32) * 2.0
        views[CAMERAS[cam]] = np.clip(img, 0, 255).astype(np.uint8)
        full = np.zeros((size, size), dtype=bool)
        full[inside] = mask
        masks[CAMERAS[cam]] = full
    return Fruit(views, masks, planted)
