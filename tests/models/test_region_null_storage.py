"""The region null is fitted at training time, stored with the revision, and old revisions still load."""
import numpy as np
import pytest

from core.models.uflow import UFlowConfig, UFlowModel, train

TINY = dict(input_size=64, train_steps=4, batch_size=2, hidden_ratio=0.25, flow_steps=2, random_backbone=True)


def _textures(n, seed=0):
    rng = np.random.default_rng(seed)
    return [(128 + 20 * rng.standard_normal((64, 64, 3))).clip(0, 255).astype(np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def model():
    return train(_textures(10), UFlowConfig(**TINY))


def test_training_with_held_out_images_stores_a_region_null(model):
    null = model.region_null
    assert model.regions_calibrated and null is not None
    assert len(null.scales) == len(model.channels) and null.calibration.n_images == 1
    pred = model.predict(_textures(1, seed=5))[0]
    assert model.segment(pred).log10_nt == 0.0  # calibrated mode: the count of tests is per region size


def test_region_null_round_trips_with_the_checkpoint(model):
    again = UFlowModel.from_bytes(*model.to_bytes(), backbone=model.backbone)
    assert again.region_null.to_dict() == model.region_null.to_dict()
    pred = again.predict(_textures(1, seed=6))[0]
    np.testing.assert_array_equal(again.segment(pred).log_nfa, model.segment(model.predict(_textures(1, seed=6))[0]).log_nfa)


def test_old_revision_without_a_region_null_loads_and_says_uncalibrated(model):
    weights, description = model.to_bytes()
    description = dict(description)
    description["calibration"] = {k: v for k, v in description["calibration"].items() if k != "regions"}
    old = UFlowModel.from_bytes(weights, description, backbone=model.backbone)
    assert old.region_null is None and not old.regions_calibrated
    pred = old.predict(_textures(1, seed=7))[0]
    from core.nfa import log10_polyomino_nt

    assert old.segment(pred).log10_nt == log10_polyomino_nt([z.shape for z in pred.latents])  # eq. 5.8


def test_few_images_fall_back_to_the_paper_count_and_say_so():
    small = train(_textures(3), UFlowConfig(**TINY))
    assert small.region_null is None
    assert any("uncalibrated" in w for w in small.calibration["warnings"])
