"""core.io.resample gives torch's antialiased bilinear resize from the stored pixels, whole or window by window."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.io.resample import resized
from core.models.preprocess import load_rgb, to_input_tensor


def _torch(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)[None]
    return F.interpolate(t, size=shape, mode="bilinear", align_corners=False, antialias=True)[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("size,shape", [((500, 733), (256, 256)), ((200, 180), (256, 256)), ((704, 768), (704, 768)),
                                        ((1000, 1000), (1024, 992)), ((3001, 2000), (97, 300))])
def test_the_resize_is_torchs_and_a_window_is_the_crop_of_the_whole(size, shape):
    pixels = np.random.default_rng(0).integers(0, 256, size + (3,), dtype=np.uint8)
    expected = _torch(pixels, shape)
    np.testing.assert_allclose(resized(pixels, shape), expected, atol=1e-2)
    np.testing.assert_allclose(resized(pixels, shape, (10, 20, 60, 90)), expected[10:60, 20:90], atol=1e-2)


def test_a_16_bit_grey_image_reaches_the_model_as_its_float_frame_would():
    pixels = np.random.default_rng(1).integers(0, 4096, (300, 420), dtype=np.uint16)  # 12 bits used
    image = load_rgb(pixels)
    assert image.pixels.dtype == np.uint16  # kept as stored
    np.testing.assert_allclose(image.input_tensor((128, 160)).numpy(), to_input_tensor(image.rgb, (128, 160)).numpy(),
                               atol=1e-2)
