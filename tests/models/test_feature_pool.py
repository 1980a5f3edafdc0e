"""Averaging each cell's features over its 3 x 3 neighbourhood before the flow: the finest scale by default."""
import numpy as np
import torch
import torch.nn.functional as F

from core.models.uflow import UFlowConfig, UFlowModel, train

SMALL = dict(input_size=64, hidden_ratio=0.25, flow_steps=2, strides=(8, 16, 32), random_backbone=True)


def _image_batch() -> torch.Tensor:
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.uniform(0, 255, (1, 3, 64, 64)).astype(np.float32))


def test_the_default_averages_the_finest_scale_only():
    model = UFlowModel(UFlowConfig(**SMALL))
    batch = _image_batch()
    with torch.no_grad():
        backbone = model.backbone(batch)
        pooled = model.raw_features(batch)
    plain = [backbone[i] for i in model.scale_index]
    assert model.strides == (8, 16, 32)
    torch.testing.assert_close(pooled[0], F.avg_pool2d(plain[0], 3, 1, 1, count_include_pad=False))
    assert not torch.allclose(pooled[0], plain[0])
    for ours, theirs in zip(pooled[1:], plain[1:]):
        torch.testing.assert_close(ours, theirs)


def test_without_averaging_the_features_are_the_backbones():
    model = UFlowModel(UFlowConfig(**SMALL, feature_pool=1))
    batch = _image_batch()
    with torch.no_grad():
        backbone = model.backbone(batch)
        features = model.raw_features(batch)
    for ours, i in zip(features, model.scale_index):
        torch.testing.assert_close(ours, backbone[i])


def test_revisions_stored_before_the_option_do_not_average():
    stored = {k: v for k, v in UFlowConfig().to_dict().items() if k not in ("feature_pool", "pool_strides")}
    assert UFlowConfig.from_dict(stored).feature_pool == 1
    assert UFlowConfig.from_dict(UFlowConfig().to_dict()).feature_pool == 3
    assert UFlowConfig.from_dict(UFlowConfig().to_dict()).pool_strides == (8,)


def test_fine_tuning_keeps_the_parents_features():
    rng = np.random.default_rng(1)
    goods = [rng.uniform(60, 200, (64, 64, 3)).astype(np.float32) for _ in range(2)]
    tiny = dict(SMALL, train_steps=2, batch_size=2)
    parent = train(goods, UFlowConfig(**tiny, feature_pool=1))
    child = train(goods, UFlowConfig(**tiny), init_from=parent)
    assert child.config.feature_pool == 1
    pooled_parent = train(goods, UFlowConfig(**tiny, pool_strides=(8, 16)))
    assert train(goods, UFlowConfig(**tiny), init_from=pooled_parent).config.pool_strides == (8, 16)
