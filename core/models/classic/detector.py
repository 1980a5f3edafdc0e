"""detect(): the training-free multi-scale a contrario detector of thesis chapter 3."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage

from core.models.classic.config import ClassicConfig
from core.models.classic.distance import mahalanobis_sq, tail_matched
from core.models.classic.features import gabor_bank, gabor_features, patch_pca_features
from core.models.classic.inputs import ImageLike, grey_views, image_array, image_channels
from core.models.classic.lighting import lighting_components
from core.models.classic.pyramid import build_pyramid, resize
from core.models.classic.result import ClassicResult, Region
from core.models.classic.significance import correlation_area, grow_regions, pixel_log10_pfa
from core.progress import NEVER_CANCELLED, CancelToken

QUANTIZATION_VARIANCE = 1.0 / 12.0  # of 8-bit rounding, in grey levels^2, seen through a unit-norm filter


@dataclass
class ScaleDistance:
    """d^2 ~ chi2(dof) under the null, for one channel at one scale."""

    d2: np.ndarray
    dof: float
    scale: int
    channel: int
    correlation_radius: int  # lags (in this scale's pixels) over which d^2 may be correlated


def load_channels(image_or_views: ImageLike | Sequence[ImageLike], config: ClassicConfig
                  ) -> tuple[np.ndarray, tuple[int, int]]:
    """(C x H x W channels at the working grid, input (height, width)): an image's channels, or the last
    lighting components of several views. A single image is shrunk to the grid from its stored pixels."""
    if isinstance(image_or_views, (list, tuple)):
        if len(image_or_views) == 0:
            raise ValueError("no image given")
        if len(image_or_views) > 1:
            channels = lighting_components(grey_views(image_or_views), config.lighting_keep_last)[0]
            shape = (int(channels.shape[1]), int(channels.shape[2]))
            return resize(channels, working_shape(shape, config.max_side)), shape
        image_or_views = image_or_views[0]
    arr = image_array(image_or_views)
    shape = (int(arr.shape[0]), int(arr.shape[1]))
    return image_channels(arr, working_shape(shape, config.max_side)), shape


def working_shape(shape: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    h, w = shape
    if max_side is None or max(h, w) <= max_side:
        return h, w
    f = max_side / max(h, w)
    return max(1, round(h * f)), max(1, round(w * f))


def scale_distances(channels: np.ndarray, config: ClassicConfig, cancel: CancelToken) -> list[ScaleDistance]:
    rng = np.random.default_rng(config.seed)
    out: list[ScaleDistance] = []
    for c, channel in enumerate(channels):
        if config.variant == "cnn":
            from core.models.classic.cnn import cnn_features

            for s, fmap in enumerate(cnn_features(channel, config.cnn_backbone, config.cnn_input_side,
                                                  config.cnn_stages)):
                border = 1 if config.skip_border else 0
                d2, dof = mahalanobis_sq(fmap, config.n_components, border=border)
                if config.tail_match and dof > 0:
                    d2, dof = tail_matched(d2, dof, border)
                out.append(ScaleDistance(d2, dof, s, c, 3))
            continue
        for s, level in enumerate(build_pyramid(channel[None], config.n_scales, config.min_side)):
            cancel.check()
            img = level[0]
            if config.variant == "patch_pca":
                feats = patch_pca_features(img, config.patch_size, config.n_components, config.pca_samples, rng)
                side = config.patch_size
            else:
                feats = gabor_features(img, config.gabor_orientations, config.gabor_wavelengths)
                side = max(k.shape[0] for k in gabor_bank(config.gabor_orientations, config.gabor_wavelengths))
            border = side // 2 if config.skip_border else 0
            d2, dof = mahalanobis_sq(feats, noise_floor=QUANTIZATION_VARIANCE, border=border)
            if config.tail_match and dof > 0:
                d2, dof = tail_matched(d2, dof, border)
            out.append(ScaleDistance(d2, dof, s, c, side))
    return [t for t in out if t.dof > 0]


def _regions_from_map(log_nfa: np.ndarray, scale_of_min: np.ndarray) -> tuple[np.ndarray, list[Region]]:
    """4-connected components of {log10 NFA <= 0}, each with its smallest log10 NFA."""
    labels, n = ndimage.label(log_nfa <= 0.0)
    if n == 0:
        return labels.astype(np.int32), []
    index = np.arange(1, n + 1)
    mins = ndimage.minimum(log_nfa, labels, index)
    where = ndimage.minimum_position(log_nfa, labels, index)
    areas = ndimage.sum_labels(np.ones_like(labels), labels, index)
    regions = []
    for lab, sl, v, pos, area in zip(index, ndimage.find_objects(labels), mins, where, areas):
        bbox = (sl[0].start, sl[1].start, sl[0].stop, sl[1].stop)
        regions.append(Region(label=int(lab), area=int(area), bbox=tuple(int(b) for b in bbox),
                              log10_nfa=float(v), scale=int(scale_of_min[pos])))
    return labels.astype(np.int32), regions


def detect(image_or_views: ImageLike | Sequence[ImageLike], config: ClassicConfig | None = None,
           cancel: CancelToken = NEVER_CANCELLED) -> ClassicResult:
    """Detect anomalies in one image (path, array or DecodedImage) or in the views of one item taken
    under several lightings (a list), using nothing but the image itself."""
    config = config or ClassicConfig()
    t0 = time.perf_counter()
    channels, input_shape = load_channels(image_or_views, config)
    grid = (int(channels.shape[1]), int(channels.shape[2]))
    t_load = time.perf_counter()

    tests = scale_distances(channels, config, cancel)
    t_feat = time.perf_counter()

    region_mode = config.nfa_mode == "region"
    families = math.log10(2.0) if region_mode else 0.0
    log10_pixel_tests = math.log10(sum(t.d2.size for t in tests)) + families
    cell_areas = []
    for t in tests:
        if config.receptive_field is not None:
            cell_areas.append(max(1.0, float(config.receptive_field) ** 2))
        else:
            cell_areas.append(correlation_area(t.d2, t.correlation_radius))
    log10_positions = math.log10(sum(t.d2.size / a for t, a in zip(tests, cell_areas))) + families

    final = np.full(grid, np.inf)
    scale_of_min = np.zeros(grid, dtype=np.int32)
    for t, area in zip(tests, cell_areas):
        cancel.check()
        log_nfa = log10_pixel_tests + pixel_log10_pfa(t.d2, t.dof)
        if region_mode:
            region_map, _ = grow_regions(t.d2, t.dof, area, config.candidate_pvalue, log10_positions)
            log_nfa = np.minimum(log_nfa, region_map)
        up = resize(log_nfa[None].astype(np.float32), grid)[0].astype(np.float64)
        better = up < final
        final[better] = up[better]
        scale_of_min[better] = t.scale
    labels, regions = _regions_from_map(final, scale_of_min)
    t_nfa = time.perf_counter()

    amap = (-final).astype(np.float32)
    return ClassicResult(
        anomaly_map=amap, score=float(amap.max()), labels=labels, regions=regions, map_shape=grid,
        input_shape=input_shape,
        timing_ms={"load": 1e3 * (t_load - t0), "features": 1e3 * (t_feat - t_load),
                   "nfa": 1e3 * (t_nfa - t_feat), "total": 1e3 * (t_nfa - t0)})
