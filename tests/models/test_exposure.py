"""Evening out exposure: each model input is brought to the training images' median mean grey level."""

import numpy as np
import pytest

from core.errors import ImageError
from core.models.preprocess import MAX_GAIN, load_rgb, mean_levels, stack_views, with_exposure
from core.models.uflow import UFlowConfig, UFlowModel
from core.models.uflow.train import train

TINY = dict(input_size=64, train_steps=4, batch_size=2, hidden_ratio=0.25, flow_steps=2, random_backbone=True,
            tiling=False, crossfit_folds=0)


def _textures(n, level, seed=0, shape=(64, 64, 3)):
    rng = np.random.default_rng(seed)
    return [(level + 12 * rng.standard_normal(shape)).clip(0, 255).astype(np.uint8) for _ in range(n)]


def test_gain_brings_the_mean_level_to_the_reference_per_view_and_stays_bounded():
    dark = load_rgb(_textures(1, 50)[0])
    assert mean_levels(dark)[0] == pytest.approx(50, abs=1)
    evened = with_exposure(dark, [100.0])
    assert evened.gains[0] == pytest.approx(100 / mean_levels(dark)[0])
    assert float(evened.input_tensor((64, 64)).mean()) == pytest.approx(100, abs=1)
    assert dark.gains is None and float(dark.input_tensor((64, 64)).mean()) == pytest.approx(50, abs=1)
    black = with_exposure(load_rgb(np.zeros((32, 32), np.uint8)), [100.0])
    assert black.gains == (MAX_GAIN,)
    bright = with_exposure(load_rgb(_textures(1, 200)[0]), [100.0])
    assert float(bright.input_tensor((64, 64)).max()) <= 255.0  # clipped like a saturated camera
    views = stack_views([_textures(1, 40, seed=1)[0], _textures(1, 160, seed=2)[0]], ["diffuse.png", "grazing.png"])
    levels = mean_levels(views)
    assert levels == [pytest.approx(40, abs=1), pytest.approx(160, abs=1)]
    even = with_exposure(views, [80.0, 80.0]).input_tensor((64, 64))[0]
    assert [float(even[:3].mean()), float(even[3:].mean())] == [pytest.approx(80, abs=1), pytest.approx(80, abs=1)]
    with pytest.raises(ImageError, match="2 views but the model expects 1"):
        with_exposure(views, [80.0])


def test_large_images_measure_their_level_on_a_subsample():
    big = load_rgb(np.full((3000, 2000), 77, np.uint8))
    assert mean_levels(big, max_pixels=10_000) == [pytest.approx(77)]


def test_a_model_scores_a_darker_copy_of_an_image_as_the_image(tmp_path):
    good = _textures(4, 100)
    test = _textures(1, 100, seed=9)[0]
    darker = (test.astype(np.float32) * 0.6).round().astype(np.uint8)
    model = train(good, UFlowConfig(**TINY))
    reference = model.meta["training"]["exposure_reference"]
    levels = [mean_levels(load_rgb(g))[0] for g in good]  # the median of the images trained on (held-out ones aside)
    assert len(reference) == 1 and min(levels) <= reference[0] <= max(levels)
    a, b = model.predict([test, darker])
    assert abs(a.score - b.score) < 0.02 * max(a.score, 1e-6) + 1e-3
    plain = train(good, UFlowConfig(**TINY, exposure_gain=False))
    assert plain.meta["training"]["exposure_reference"] is None and plain.exposure_reference is None
    c, d = plain.predict([test, darker])
    assert abs(c.score - d.score) > 10 * abs(a.score - b.score)
    again = UFlowModel.from_bytes(*model.to_bytes(), backbone=model.backbone)  # a random backbone: the same one
    assert again.exposure_reference == reference
    np.testing.assert_allclose(again.predict([darker])[0].anomaly_map, b.anomaly_map, atol=1e-5)  # batch of 1, not 2


def test_revisions_stored_before_the_option_see_images_as_stored():
    assert UFlowConfig.from_dict({}).exposure_gain is False
    assert UFlowConfig().exposure_gain is True


def test_fine_tuning_keeps_the_parents_reference():
    parent = train(_textures(4, 90), UFlowConfig(**TINY))
    child = train(_textures(2, 150, seed=3), UFlowConfig(**{**TINY, "train_steps": 2}), init_from=parent)
    assert child.exposure_reference == parent.exposure_reference
