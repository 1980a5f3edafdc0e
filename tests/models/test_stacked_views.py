"""Stacked views: each cell's features are the views' features side by side (tiles: tests/models/test_tiling.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ImageError
from core.models.backbones import build_backbone
from core.models.uflow import UFlowConfig, UFlowModel
from core.models.uflow.views import stack_views

SMALL = dict(input_size=64, hidden_ratio=0.25, flow_steps=2, strides=(8, 16), random_backbone=True)


@pytest.fixture(scope="module")
def backbone():
    torch.manual_seed(0)
    return build_backbone("tf_efficientnet_lite0", random_weights=True)


def _views(shape=(96, 80), n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, shape + (3,), dtype=np.uint8) for _ in range(n)]


def test_stacked_features_are_each_views_features_concatenated_along_channels(backbone):
    one = UFlowModel(UFlowConfig(**SMALL), backbone=backbone)
    stacked = UFlowModel(UFlowConfig(**SMALL, stack_views=3), backbone=backbone)
    assert stacked.channels == tuple(3 * c for c in one.channels)
    views = _views(n=3)
    batch = torch.from_numpy(stack_views(views, ["a", "b", "c"]).rgb).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        joined = stacked.raw_features(batch)
        apart = [one.raw_features(batch[:, 3 * v:3 * v + 3]) for v in range(3)]
    for level, field in enumerate(joined):
        assert torch.allclose(field, torch.cat([a[level] for a in apart], dim=1), atol=1e-4)


def test_stacking_refuses_views_of_different_sizes_naming_the_file():
    a, b = _views(shape=(40, 40), n=2)
    with pytest.raises(ImageError, match="b_grazing.png is 48x40 px but a_diffuse.png is 40x40"):
        stack_views([a, np.zeros((40, 48, 3), np.uint8)], ["a_diffuse.png", "b_grazing.png"])
