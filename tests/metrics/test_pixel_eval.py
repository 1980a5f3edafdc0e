"""The one evaluation geometry equals torch's interpolate (the benchmark's former resampler)."""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics.pixel_eval import EVAL_SIDE, eval_pair, eval_shape, resize_map, resize_mask

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("src,dst", [((32, 32), (256, 171)), ((17, 23), (9, 40)), ((64, 64), (64, 30)),
                                     ((100, 80), (37, 29))])
def test_map_resize_is_torch_bilinear(src, dst):
    a = np.random.default_rng(0).random(src).astype(np.float32)
    ref = F.interpolate(torch.from_numpy(a)[None, None], size=dst, mode="bilinear", align_corners=False)[0, 0]
    np.testing.assert_allclose(resize_map(a, dst), ref.numpy(), atol=1e-5)


@pytest.mark.parametrize("src,dst", [((300, 200), (256, 171)), ((100, 77), (37, 29)), ((30, 30), (60, 45))])
def test_mask_resize_is_torch_area_above_one_half(src, dst):
    m = np.random.default_rng(1).random(src) > 0.6
    frac = F.interpolate(torch.from_numpy(m.astype(np.float32))[None, None], size=dst, mode="area")[0, 0].numpy()
    ours = resize_mask(m, dst)
    differ = ours != (frac > 0.5)
    assert np.allclose(frac[differ], 0.5, atol=1e-6)  # only exact half-covered cells, by float rounding


def test_eval_pair_keeps_the_aspect_and_bounds_the_side():
    assert eval_shape((1024, 512)) == (EVAL_SIDE, EVAL_SIDE // 2) and eval_shape((100, 60)) == (100, 60)
    amap, mask = eval_pair(np.zeros((8, 8), np.float32), None, (600, 300))
    assert amap.shape == mask.shape == (256, 128) and not mask.any()
