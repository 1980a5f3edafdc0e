"""Native-resolution U-Flow on large images: overlapping tiles, one stitched latent field per scale.

An image more than twice the model input on a side (`tiles_image`) is resized by the pixel scale
(input_size / tile_px: `tile_px` source pixels become one model input side) to a multiple of the coarsest
stride. Its grid of coarse cells is cut into tile interiors (TILE_INPUT_PX model-input pixels) that
partition it; each tile runs with a margin of context on every side (MARGIN_INPUT_PX; windows are shifted
inward at the image border, so every window of an image has one shape and they batch together) and only
its interior is kept:

1. the backbone runs on image windows; the standardised features of the interiors are stitched into one
   feature field per scale;
2. the flow runs on windows of that field; the latents of the interiors are stitched into one latent
   field per scale.

The anomaly map and the a contrario segmentation then run once on the stitched field: the count of tests
and the regions are per image. With a margin at least the receptive field of backbone and flow, the
stitched field equals the field of the image run whole; the default margin covers the effective receptive
field (benchmarks/tiled_texture.py prints the difference). Memory is bounded by the tile batch plus the
decoded image (as stored: 3 bytes a pixel for 8-bit RGB; each window's pixels are resized and made float on
their own) and its fields at cell resolution, whatever the image size.

Maps of tiled images are computed at the model-input grid divided by `map_factor` (a power of two, at most
the finest stride, so that every latent cell still covers at least one map pixel): the longer side stays
near MAP_SIDE and the regions keep the latent grid's full resolution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from core.models.preprocess import LoadedImage
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

TILE_INPUT_PX = 512  # side of a tile's interior in model-input pixels (several model inputs: fewer windows)
MARGIN_INPUT_PX = 192  # context per side in model-input pixels: exact for stride-16 backbones (receptive
# field ~190 px), a mean |dz| of a few % of a standard deviation at tf_efficientnet_lite0's stride 32
DEFAULT_TILE_BATCH = 1  # windows per backbone / flow call: the memory bound (a five-light 4000 x 3000 hide: a
# 2.43 GiB worker peak against 2.81 at 2 windows, and no slower: 17 s against 20 s for one such image on 2 cores)
MAP_SIDE = 2048  # longer side of a tiled image's stored map, at most (see map_factor)


@dataclass(frozen=True)
class Window:
    """One tile: the window run through the network and the interior kept from it (y0, x0, y1, x1 cells)."""

    window: tuple[int, int, int, int]
    interior: tuple[int, int, int, int]


def _axis(n: int, tile: int, margin: int) -> list[tuple[int, int, int, int]]:
    """(window start, window end, interior start, interior end) along one axis of n cells."""
    span = min(n, tile + 2 * margin)
    out = []
    for i0 in range(0, n, tile):
        i1 = min(i0 + tile, n)
        a = min(max(i0 - margin, 0), n - span)
        out.append((a, a + span, i0, i1))
    return out


@dataclass(frozen=True)
class TileGrid:
    """Tiles over a field of `cells` coarse cells: interiors of `tile` cells, `margin` cells of context."""

    cells: tuple[int, int]
    tile: int
    margin: int

    def windows(self) -> list[Window]:
        rows = _axis(self.cells[0], self.tile, self.margin)
        cols = _axis(self.cells[1], self.tile, self.margin)
        return [Window((wy0, wx0, wy1, wx1), (iy0, ix0, iy1, ix1))
                for wy0, wy1, iy0, iy1 in rows for wx0, wx1, ix0, ix1 in cols]

    def __len__(self) -> int:
        return len(_axis(self.cells[0], self.tile, self.margin)) * len(_axis(self.cells[1], self.tile, self.margin))


@dataclass(frozen=True)
class TilePlan:
    """How one image is scored in tiles."""

    original: tuple[int, int]
    scaled: tuple[int, int]  # model-input pixels covering the whole image, multiples of `unit`
    unit: int  # coarsest stride: input pixels per coarse cell
    grid: TileGrid
    map_factor: int

    @property
    def map_shape(self) -> tuple[int, int]:
        return self.scaled[0] // self.map_factor, self.scaled[1] // self.map_factor

    @property
    def n_tiles(self) -> int:
        return len(self.grid)


def pixel_scale(config) -> int:
    """Source pixels covered by one model input when tiling (the revision's recorded pixel scale)."""
    return int(config.tile_px or config.input_size)


def tiles_image(config, fixed_input: int | None, shape: tuple[int, int]) -> bool:
    """Whether an image of `shape` is scored in tiles: tiling on, a side over twice the model input, and a
    backbone that takes any input size (transformers with a fixed input are always resized whole)."""
    return bool(config.tiling) and fixed_input is None and max(shape) > 2 * config.input_size


def default_cells(unit: int) -> tuple[int, int]:
    """(tile interior, margin) in coarse cells of `unit` model-input pixels."""
    return max(1, TILE_INPUT_PX // unit), -(-MARGIN_INPUT_PX // unit)


def plan_tiles(model, shape: tuple[int, int], tile: int | None = None, margin: int | None = None) -> TilePlan:
    """Tiles of an image of `shape`; `tile` and `margin` in coarse cells (default: default_cells)."""
    config = model.config
    unit = model.multiple
    scale = config.input_size / pixel_scale(config)
    scaled = tuple(max(unit, int(round(side * scale / unit)) * unit) for side in shape)
    default_tile, default_margin = default_cells(unit)
    tile = tile or default_tile
    margin = default_margin if margin is None else margin
    factor = 1
    finest = min(model.strides)
    while max(scaled) // factor > MAP_SIDE and factor * 2 <= finest:
        factor *= 2
    return TilePlan(original=(int(shape[0]), int(shape[1])), scaled=scaled, unit=unit,
                    grid=TileGrid((scaled[0] // unit, scaled[1] // unit), tile, margin), map_factor=factor)


def _batches(windows: list[Window], size: int):
    for start in range(0, len(windows), size):
        yield windows[start:start + size]


def _paste(field: torch.Tensor, out: torch.Tensor, w: Window, k: int) -> None:
    """Copy the interior of window `w` from `out` (C x window) into `field` (C x whole), k cells per coarse cell."""
    wy0, wx0 = w.window[:2]
    iy0, ix0, iy1, ix1 = w.interior
    field[:, iy0 * k:iy1 * k, ix0 * k:ix1 * k] = out[:, (iy0 - wy0) * k:(iy1 - wy0) * k, (ix0 - wx0) * k:(ix1 - wx0) * k]


def _crop(field, w: Window, k: int) -> torch.Tensor:
    wy0, wx0, wy1, wx1 = w.window
    if isinstance(field, ImageWindows):
        return field.crop((wy0 * k, wx0 * k, wy1 * k, wx1 * k))
    return field[..., wy0 * k:wy1 * k, wx0 * k:wx1 * k]


TileReport = Callable[[int], None]


def stitched(run: Callable[[list[torch.Tensor]], list[torch.Tensor]], sources: Sequence[torch.Tensor],
             source_k: Sequence[int], out_k: Sequence[int], grid: TileGrid, batch: int, cancel: CancelToken,
             report: TileReport) -> list[torch.Tensor]:
    """Run `run` on batches of windows cropped from `sources` (each C x H x W, source_k[i] cells per coarse cell)
    and stitch its outputs' interiors (out_k[j] cells per coarse cell) into whole fields."""
    fields: list[torch.Tensor] | None = None
    done = 0
    for group in _batches(grid.windows(), batch):
        cancel.check()
        crops = [torch.stack([_crop(src, w, k) for w in group]) for src, k in zip(sources, source_k)]
        outs = run(crops)
        if fields is None:
            h, w = grid.cells
            fields = [torch.empty((o.shape[1], h * k, w * k), dtype=o.dtype) for o, k in zip(outs, out_k)]
        for j, win in enumerate(group):
            for field, o, k in zip(fields, outs, out_k):
                _paste(field, o[j], win, k)
        done += len(group)
        report(done)
    return fields  # type: ignore[return-value]


def _levels(model) -> list[int]:
    """Cells per coarse cell of each backbone scale, finest first."""
    return [model.multiple // s for s in model.strides]


def image_tensor(image: LoadedImage, plan: TilePlan) -> torch.Tensor:
    """3 x H x W model-input pixels of the whole image at the pixel scale."""
    return image.resized(plan.scaled)


@dataclass(frozen=True)
class ImageWindows:
    """The model-input pixels of an image at the pixel scale, made window by window from its decoded pixels:
    the float frame of the whole image at the pixel scale (12 bytes a pixel) never exists."""

    image: LoadedImage
    plan: TilePlan

    def crop(self, window: tuple[int, int, int, int]) -> torch.Tensor:
        return self.image.resized(self.plan.scaled, window)


def feature_field(model, image: torch.Tensor | ImageWindows, plan: TilePlan, extract: Callable, batch: int = DEFAULT_TILE_BATCH,
                  cancel: CancelToken = NEVER_CANCELLED, report: TileReport = lambda done: None) -> list[torch.Tensor]:
    """Backbone features (finest first, C x H_l x W_l) of the whole image from its tiles; `extract` maps an
    N x 3 x h x w batch to features finest first (model.extract: standardised; model.raw_features: raw)."""
    return stitched(lambda crops: extract(crops[0]), [image], [plan.unit], _levels(model), plan.grid, batch, cancel,
                    report)


@torch.no_grad()
def latent_field(model, features: Sequence[torch.Tensor], grid: TileGrid, batch: int = DEFAULT_TILE_BATCH,
                 cancel: CancelToken = NEVER_CANCELLED, report: TileReport = lambda done: None) -> list[torch.Tensor]:
    """Calibrated latents (coarsest first, C x H_l x W_l) of a standardised feature field, run in tiles."""
    levels = _levels(model)
    field = stitched(model.tile_latents, list(features), levels, levels[::-1], grid, batch, cancel, report)
    return model.edge_calibrated(field)


def field_grid(model, feature_fields: Sequence[torch.Tensor]) -> TileGrid:
    """The tile grid of a feature field (finest first) already at the model-input scale."""
    h, w = feature_fields[-1].shape[-2:]
    return TileGrid((int(h), int(w)), *default_cells(model.multiple))


@torch.no_grad()
def predict_tiled(model, image: LoadedImage, plan: TilePlan, progress: ProgressCallback = no_progress,
                  cancel: CancelToken = NEVER_CANCELLED, batch: int = DEFAULT_TILE_BATCH, keep_latents: bool = True):
    """One image's Prediction from its tiles. Progress counts tiles (each tile runs the backbone, then the flow)."""
    from core.models.uflow.model import Prediction

    n = plan.n_tiles
    t0 = time.perf_counter()
    pixels = ImageWindows(image, plan)
    t1 = time.perf_counter()
    feats = feature_field(model, pixels, plan, model.extract, batch, cancel,
                          lambda done: progress(0.9 * done / n, f"tile {done}/{n}: backbone"))
    del pixels
    t2 = time.perf_counter()
    latents = latent_field(model, feats, plan.grid, batch, cancel,
                           lambda done: progress(0.9 + 0.1 * done / n, f"tile {done}/{n}: flow"))
    del feats
    t3 = time.perf_counter()
    maps, scores = model.map_and_score([z[None] for z in latents], plan.map_shape, plan.map_factor)
    t4 = time.perf_counter()
    return Prediction(anomaly_map=maps[0].numpy().astype(np.float32, copy=False), score=float(scores[0]),
                      latents=[z.numpy() for z in latents] if keep_latents else [], input_shape=plan.map_shape,
                      original_shape=image.shape, tiles=n,
                      timing_ms={"load": 1000 * (t1 - t0), "backbone": 1000 * (t2 - t1), "flow": 1000 * (t3 - t2),
                                 "map": 1000 * (t4 - t3)})
