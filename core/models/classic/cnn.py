"""Activations of the offline pretrained backbone (core.models.backbones) for one channel."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from core.models.backbones import FeatureExtractor, build_backbone
from core.models.classic.pyramid import resize


@lru_cache(maxsize=2)
def extractor(name: str) -> FeatureExtractor:
    return build_backbone(name)


def cnn_input_shape(shape: tuple[int, int], side: int, multiple: int = 32) -> tuple[int, int]:
    h, w = shape
    scale = side / np.sqrt(h * w)
    return (max(multiple, int(round(h * scale / multiple)) * multiple),
            max(multiple, int(round(w * scale / multiple)) * multiple))


def cnn_features(image: np.ndarray, name: str, side: int, stages: tuple[int, ...]) -> list[np.ndarray]:
    """C x h x w maps (finest first) of a grey H x W image in [0, 255], replicated to RGB."""
    model = extractor(name)
    grid = cnn_input_shape(image.shape, side)
    rgb = np.repeat(resize(image[None], grid), 3, axis=0)
    with torch.no_grad():
        maps = model(torch.from_numpy(np.ascontiguousarray(rgb))[None])
    strides = model.spec.model_strides
    return [maps[model.spec.strides.index(strides[s])][0].numpy() for s in stages]
