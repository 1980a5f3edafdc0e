"""The adjudication view shows a 12-bit camera image in a 16-bit container at full range, as every other view does."""

import numpy as np

from app.labels.adjudication import _picture


def test_a_12_bit_image_is_not_nearly_black_in_the_adjudication_view():
    ramp = np.linspace(0, 4095, 64 * 64).reshape(64, 64).astype(np.uint16)
    shown = _picture(ramp)
    assert shown.dtype == np.uint8 and shown.max() == 255  # `>> 8` gave at most 15
    assert np.abs(shown - ramp.astype(np.float64) * 255 / 4095).max() <= 0.5 + 1e-9


def test_colour_pictures_keep_three_channels():
    rgba = np.full((8, 8, 4), 200, np.uint8)
    shown = _picture(rgba)
    assert shown.shape == (8, 8, 3) and shown.flags.c_contiguous and (shown == 200).all()
