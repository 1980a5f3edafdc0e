"""16-bit images reach 8 bits by the bits they use: a 12-bit camera image is not nearly black."""

from __future__ import annotations

import hashlib

import numpy as np
import tifffile

from core.io.images import read_image, to_rgb_float
from core.io.pixels import significant_bits, to_uint8
from core.io.thumbnails import ThumbnailCache, to_display_uint8
from core.models.classic.inputs import image_channels


def _ramp(top: int) -> np.ndarray:
    return np.linspace(0, top, 64 * 48).reshape(48, 64).round().astype(np.uint16)


def test_significant_bits():
    assert significant_bits(np.zeros((2, 2), np.uint8)) == 8
    assert [significant_bits(_ramp(t)) for t in (1000, 4095, 4096, 16383, 65535)] == [10, 12, 14, 14, 16]


def test_a_12_bit_image_fills_the_8_bit_range_everywhere(tmp_path):
    path = tmp_path / "camera12.tiff"
    tifffile.imwrite(path, _ramp(4095))
    decoded = read_image(path)
    eight = _ramp(4095).astype(np.float64) * 255 / 4095
    for out in (to_uint8(decoded.pixels), to_display_uint8(decoded.pixels)):
        assert out.dtype == np.uint8 and out.max() == 255
        assert np.abs(out - eight).max() <= 0.5 + 1e-9
    np.testing.assert_allclose(to_rgb_float(decoded)[..., 0], eight, atol=1e-3)
    np.testing.assert_allclose(image_channels(decoded)[0], eight, atol=1e-3)
    thumb = ThumbnailCache(tmp_path / "thumbs", size=32).load(path, hashlib.sha256(path.read_bytes()).hexdigest())
    assert thumb.mean() > 100  # was ~8 with `>> 8`


def test_full_16_bit_and_8_bit_are_unchanged():
    full = _ramp(65535)
    assert np.array_equal(to_uint8(full), np.rint(full / 257.0).astype(np.uint8))
    eight = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert to_uint8(eight) is eight
