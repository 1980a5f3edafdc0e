"""Leather hides rendered under one diffuse and four grazing lights, with planted relief and colour defects.

A hide is a height field (pebbled grain: domes around jittered seeds, creases between them, fine noise) and
an albedo; relief defects (scratch: thin groove, bite: small pit, wrinkle: elongated fold) change the height,
colour defects (stain) the albedo only. Each light shades the same surface normals (Lambertian), so the five
images of a hide are pixel-aligned: grazing light reveals relief, the diffuse light (straight above, where
shading varies only to second order with the slope) reveals colour.

Deterministic for a seed: the texture, the defects and each light's sensor noise draw from separate streams,
so a hide rendered without its defects is the same hide. float32 throughout; a 4000 x 3000 hide peaks near
1 GB (the seeds' distance transform and the gradient fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

HIDE_SHAPE = (3000, 4000)  # rows, columns
DIFFUSE = "diffuse"
GRAZING = ("grazing-nw", "grazing-ne", "grazing-se", "grazing-sw")
LIGHTS = (DIFFUSE, *GRAZING)
RELIEF_KINDS = ("scratch", "bite", "wrinkle")
COLOUR_KINDS = ("stain",)
DEFECT_KINDS = RELIEF_KINDS + COLOUR_KINDS
GRAZING_ELEVATION_DEG = 20.0
LEATHER_RGB = np.array([150.0, 96.0, 58.0], dtype=np.float32)
BORDER = 48  # px kept free of defects along the hide's edges


@dataclass
class PlantedDefect:
    """One defect: its kind and its mask, stored as a box of the hide (`y0`, `x0`) and the mask inside it."""

    kind: str
    y0: int
    x0: int
    patch: np.ndarray = field(repr=False)  # bool

    @property
    def relief(self) -> bool:
        return self.kind in RELIEF_KINDS

    @property
    def box(self) -> tuple[int, int, int, int]:
        """y0, x0, y1, x1 (exclusive)."""
        return self.y0, self.x0, self.y0 + self.patch.shape[0], self.x0 + self.patch.shape[1]

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        y0, x0, y1, x1 = self.box
        out[y0:y1, x0:x1] = self.patch
        return out


@dataclass
class Hide:
    views: dict[str, np.ndarray]  # light name -> uint8 H x W x 3, pixel-aligned
    defects: list[PlantedDefect]

    @property
    def shape(self) -> tuple[int, int]:
        return next(iter(self.views.values())).shape[:2]

    def mask(self, kinds: tuple[str, ...] = DEFECT_KINDS) -> np.ndarray:
        """Union of the masks of the planted defects of these kinds."""
        out = np.zeros(self.shape, dtype=bool)
        for d in self.defects:
            if d.kind in kinds:
                y0, x0, y1, x1 = d.box
                out[y0:y1, x0:x1] |= d.patch
        return out


def _streams(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng([seed, i]) for i in range(n)]


def _smooth(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Unit-variance Gaussian noise smoothed at `sigma` px; coarse scales are drawn small and zoomed."""
    factor = max(1, int(sigma // 3))
    small = (max(shape[0] // factor, 4), max(shape[1] // factor, 4))
    n = ndimage.gaussian_filter(rng.standard_normal(small, dtype=np.float32), sigma / factor)
    if factor > 1:
        n = ndimage.zoom(n, (shape[0] / small[0], shape[1] / small[1]), order=1)
        n = n[:shape[0], :shape[1]]
        if n.shape != shape:
            n = np.pad(n, ((0, shape[0] - n.shape[0]), (0, shape[1] - n.shape[1])), mode="edge")
    n -= n.mean()
    n /= n.std() + 1e-6
    return n


def pebble_height(rng: np.random.Generator, shape: tuple[int, int], cell: float = 13.0) -> np.ndarray:
    """Leather grain: a dome around each seed of a jittered grid, creases where the domes meet (float32)."""
    h, w = shape
    gh, gw = int(np.ceil(h / cell)), int(np.ceil(w / cell))
    sy = (np.arange(gh)[:, None] + rng.uniform(0.1, 0.9, (gh, gw))) * cell
    sx = (np.arange(gw)[None, :] + rng.uniform(0.1, 0.9, (gh, gw))) * cell
    keep = (sy < h) & (sx < w)
    seeds = np.ones(shape, dtype=bool)
    seeds[sy[keep].astype(np.int64), sx[keep].astype(np.int64)] = False
    d = ndimage.distance_transform_edt(seeds).astype(np.float32)
    np.minimum(d, cell, out=d)
    d *= d
    d *= -1.0 / cell
    return d


def _base_surface(rng: np.random.Generator, shape: tuple[int, int], cell: float = 13.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Height (px units) and grey albedo of a defect-free hide; the finish is mottled and darker in the creases,
    so the diffuse image has a grain of its own."""
    pebbles = pebble_height(rng, shape, cell)
    albedo = pebbles / cell
    albedo *= albedo
    albedo *= -0.08
    albedo += 0.62
    albedo += 0.035 * _smooth(rng, shape, 50.0)
    albedo += 0.03 * _smooth(rng, shape, 4.0)
    albedo += 0.015 * _smooth(rng, shape, 1.5)
    pebbles *= 0.24 * (1.0 + 0.25 * _smooth(rng, shape, 60.0))  # pebbles deeper in some areas
    height = ndimage.gaussian_filter(pebbles, 0.9)
    del pebbles
    height += 0.12 * _smooth(rng, shape, 0.8)
    height += 6.0 * _smooth(rng, shape, 120.0)  # gentle undulation of the hide
    return height, albedo


def _curve(rng: np.random.Generator, length: float, bend: float, n: int = 200) -> np.ndarray:
    """Points (y, x) of a gently bent segment centred on 0."""
    t = np.linspace(-0.5, 0.5, n)
    a = rng.uniform(0, np.pi)
    d = np.array([np.sin(a), np.cos(a)])
    nrm = np.array([d[1], -d[0]])
    return t[:, None] * length * d[None] + ((1 - 4 * t ** 2) * bend)[:, None] * nrm[None]


def _distance_to(points: np.ndarray, size: int) -> np.ndarray:
    """Distance (px) from each pixel of a size x size patch (centre at size // 2) to a polyline."""
    canvas = np.ones((size, size), dtype=bool)
    r = np.clip(np.round(points + size // 2).astype(np.int64), 0, size - 1)
    canvas[r[:, 0], r[:, 1]] = False
    return ndimage.distance_transform_edt(canvas).astype(np.float32)


def _bump(x: np.ndarray) -> np.ndarray:
    """1 at 0, falling smoothly to 0 at |x| = 1 and 0 beyond: every defect's change stays inside its mask."""
    return np.clip(1 - x * x, 0, None) ** 2


def _scratch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    length = rng.uniform(16, 30)
    size = int(length) + 12
    d = _distance_to(_curve(rng, length, rng.uniform(-4, 4)), size)
    half_width = rng.uniform(2.5, 3.5)
    dz = -rng.uniform(1.3, 1.9) * _bump(d / half_width)
    return dz, d < half_width


def _bite(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = rng.uniform(4, 10)
    stretch = rng.uniform(0.75, 1.0)
    size = int(2 * radius / stretch) + 8
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size // 2
    r = np.sqrt(yy ** 2 + (xx * stretch) ** 2) / radius
    dz = -radius * rng.uniform(0.25, 0.35) * _bump(r)
    return dz, r < 1.0


def _wrinkle(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    length = rng.uniform(20, 34)
    half_width = rng.uniform(5.0, 8.0)
    size = int(length + 2 * half_width) + 6
    a = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size // 2
    t = yy * np.sin(a) + xx * np.cos(a)
    n = -yy * np.cos(a) + xx * np.sin(a) - 0.004 * rng.uniform(-1, 1) * t ** 2
    along, across = _bump(2 * t / length), _bump(n / half_width)
    ridge = across - 0.8 * _bump((np.abs(n) - 0.6 * half_width) / (0.4 * half_width))  # a fold: ridge between furrows
    dz = rng.uniform(2.0, 3.0) * along * ridge
    return dz, (along > 0) & (across > 0)


def _stain(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    ry, rx = rng.uniform(5, 16, 2)
    size = int(2.5 * max(ry, rx)) + 6
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size // 2
    edge = np.clip(1.0 + 0.25 * _smooth(rng, (size, size), size / 6), 0.8, 1.2)
    blob = _bump(np.sqrt((yy / ry) ** 2 + (xx / rx) ** 2) / edge)
    factor = 1.0 - rng.uniform(0.3, 0.45) * blob  # multiplies the albedo
    return factor, blob > 0.02


_SHAPES = {"scratch": _scratch, "bite": _bite, "wrinkle": _wrinkle, "stain": _stain}


def _place(rng: np.random.Generator, shape: tuple[int, int], size: tuple[int, int],
           taken: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    """Top-left corner of a box of `size` inside the border, away from the boxes already taken."""
    h, w = shape
    for _ in range(200):
        y0 = int(rng.integers(BORDER, max(BORDER + 1, h - BORDER - size[0])))
        x0 = int(rng.integers(BORDER, max(BORDER + 1, w - BORDER - size[1])))
        if all(y0 + size[0] + 16 < a or b + 16 < y0 or x0 + size[1] + 16 < c or d + 16 < x0
               for a, c, b, d in ((t[0], t[1], t[2], t[3]) for t in taken)):
            return y0, x0
    raise ValueError(f"no room for {len(taken) + 1} defects on a {w}x{h} hide")


def plant_defects(rng: np.random.Generator, height: np.ndarray, albedo: np.ndarray,
                  kinds: tuple[str, ...] | list[str]) -> list[PlantedDefect]:
    """Plant one defect per entry of `kinds` (changing `height` or `albedo` in place); returns them."""
    out, taken = [], []
    for kind in kinds:
        if kind not in _SHAPES:
            raise ValueError(f"unknown defect kind {kind!r}; choose from {', '.join(DEFECT_KINDS)}")
        change, patch = _SHAPES[kind](rng)
        y0, x0 = _place(rng, height.shape, patch.shape, taken)
        y1, x1 = y0 + patch.shape[0], x0 + patch.shape[1]
        if kind in COLOUR_KINDS:
            albedo[y0:y1, x0:x1] *= change
        else:
            height[y0:y1, x0:x1] += change
        taken.append((y0, x0, y1, x1))
        out.append(PlantedDefect(kind, y0, x0, patch))
    return out


def light_direction(name: str) -> np.ndarray:
    """Unit vector towards the light in image coordinates (x right, y down, z towards the camera)."""
    if name == DIFFUSE:
        return np.array([0.0, 0.0, 1.0], dtype=np.float32)
    corner = {"nw": (-1, -1), "ne": (1, -1), "se": (1, 1), "sw": (-1, 1)}[name.rsplit("-", 1)[1]]
    elev = np.deg2rad(GRAZING_ELEVATION_DEG)
    lx, ly = np.array(corner, dtype=np.float32) / np.sqrt(2.0) * np.cos(elev)
    return np.array([lx, ly, np.sin(elev)], dtype=np.float32)


def _falloff(name: str, shape: tuple[int, int]) -> np.ndarray:
    """Grazing lights sit at the corners: 15 % brighter near their corner than at the opposite one."""
    if name == DIFFUSE:
        return np.ones((1, 1), dtype=np.float32)
    cx, cy = {"nw": (0, 0), "ne": (1, 0), "se": (1, 1), "sw": (0, 1)}[name.rsplit("-", 1)[1]]
    y = np.linspace(0, 1, shape[0], dtype=np.float32)[:, None]
    x = np.linspace(0, 1, shape[1], dtype=np.float32)[None, :]
    return 1.075 - 0.075 * (np.abs(x - cx) + np.abs(y - cy))


def shade(height: np.ndarray, albedo: np.ndarray, lights: tuple[str, ...], noise: list[np.random.Generator],
          noise_std: float = 2.0) -> dict[str, np.ndarray]:
    """Lambertian images (uint8 RGB) of the surface under each light; `noise`: one generator per light."""
    gy, gx = np.gradient(height)
    inv = gx * gx
    inv += gy * gy
    inv += 1.0
    np.sqrt(inv, out=inv)
    np.reciprocal(inv, out=inv)
    gx *= inv
    gy *= inv
    views = {}
    for name, rng in zip(lights, noise):
        lx, ly, lz = light_direction(name)
        lum = gx * -lx
        lum -= gy * ly
        lum += inv * lz
        np.maximum(lum, 0.0, out=lum)
        lum *= albedo
        lum *= _falloff(name, height.shape) * (1.3 if name == DIFFUSE else 2.2 / (lz + 0.35))
        out = np.empty((*height.shape, 3), dtype=np.uint8)
        for c in range(3):
            chan = lum * LEATHER_RGB[c]
            chan += rng.standard_normal(height.shape, dtype=np.float32) * noise_std
            np.clip(chan, 0, 255, out=chan)
            out[..., c] = chan
        views[name] = out
    return views


def render_hide(seed: int, shape: tuple[int, int] = HIDE_SHAPE, defects: tuple[str, ...] | list[str] = (),
                lights: tuple[str, ...] = LIGHTS) -> Hide:
    """A hide of `shape` (rows, columns) with one planted defect per entry of `defects`, under `lights`."""
    if min(shape) < 2 * BORDER + 48:
        raise ValueError(f"a hide needs at least {2 * BORDER + 48} px on a side, got {shape[1]}x{shape[0]}")
    unknown = [name for name in lights if name not in LIGHTS]
    if unknown:
        raise ValueError(f"unknown light {unknown[0]!r}; choose from {', '.join(LIGHTS)}")
    texture, planting, *noise = _streams(seed, 2 + len(LIGHTS))
    height, albedo = _base_surface(texture, shape)
    planted = plant_defects(planting, height, albedo, tuple(defects))
    noise = [noise[LIGHTS.index(name)] for name in lights]
    return Hide(shade(height, albedo, lights, noise), planted)
