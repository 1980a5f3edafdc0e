import json

import numpy as np
import pytest
import torch

from core.errors import JobCancelled, ModelError
from core.models.backbones import build_backbone
from core.models.uflow import UFlowConfig, UFlowModel, train
from core.models.uflow.flow import plan_layout
from core.progress import CancelToken

TINY = dict(input_size=64, train_steps=6, batch_size=2, hidden_ratio=0.25, flow_steps=2, tiling=False)


@pytest.fixture(scope="module")
def lite0():
    return build_backbone("tf_efficientnet_lite0")


@pytest.fixture(scope="module")
def mtd_pair(mtd_root):
    good = sorted((mtd_root / "train" / "good").iterdir())[:2]
    test = sorted((mtd_root / "test" / "good").iterdir())[:1] + sorted((mtd_root / "test" / "blowhole").iterdir())[:1]
    return good, test


@pytest.fixture(scope="module")
def trained(mtd_pair, lite0):
    good, _ = mtd_pair
    messages = []
    model = train(good, UFlowConfig(**TINY), progress=lambda f, m: messages.append((f, m)), backbone=lite0)
    return model, messages


def test_two_image_round_trip_on_real_images(trained, mtd_pair):
    model, messages = trained
    _, test = mtd_pair
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    preds = model.predict(test, batch_size=1)
    assert len(preds) == 2
    for p in preds:
        assert p.anomaly_map.dtype == np.float32 and p.anomaly_map.shape == (64, 64)
        assert 0.0 <= p.anomaly_map.min() and p.anomaly_map.max() <= 1.0
        assert p.score == pytest.approx(float(p.anomaly_map.max()))
        assert [z.shape for z in p.latents] == [(160, 2, 2), (76, 4, 4), (59, 8, 8)]
        assert set(p.timing_ms) == {"load", "backbone", "flow", "map"}
        assert p.map_at_original_size().shape == p.original_shape
    # the map is eq. 5.2 of the latents
    z = preds[0].latents
    cell = 1 - np.mean([np.exp(-0.5 * (lat ** 2).mean(0)).mean() for lat in z])
    assert preds[0].anomaly_map.mean() == pytest.approx(cell, abs=0.05)
    cal = model.calibration
    assert cal["source"].startswith("training") and len(cal["scales"]) == 3


def test_arrays_and_any_aspect_are_accepted(trained):
    model, _ = trained
    grey16 = (np.random.default_rng(0).random((50, 170)) * 65535).astype(np.uint16)
    colour = np.random.default_rng(1).integers(0, 255, (90, 40, 3), dtype=np.uint8)
    preds = model.predict([grey16, colour])
    assert [p.original_shape for p in preds] == [(50, 170), (90, 40)]


def test_keep_aspect_training_uses_crops(mtd_pair, lite0):
    good, test = mtd_pair
    config = UFlowConfig(**{**TINY, "input_size": 128, "resize": "keep_aspect", "crop_cells": 2})
    model = train(good, config, backbone=lite0)
    tall = np.zeros((300, 100), np.uint8)
    wide = np.zeros((100, 300), np.uint8)
    p_tall, p_wide = model.predict([tall, wide])
    assert p_tall.input_shape == (224, 64) and p_wide.input_shape == (64, 224)  # multiples of the stride 32
    assert p_tall.anomaly_map.shape == (224, 64)


def test_checkpoint_round_trip_gives_identical_results(trained, mtd_pair, tmp_path, lite0):
    model, _ = trained
    _, test = mtd_pair
    weights, description = model.to_bytes()
    json.dumps(description)  # JSON-able
    assert description["backbone"] == "tf_efficientnet_lite0" and description["fingerprint"]
    assert "torch" in description["versions"]
    again = UFlowModel.from_bytes(weights, description, expected_backbone="tf_efficientnet_lite0", backbone=lite0)
    a, b = model.predict(test[:1])[0], again.predict(test[:1])[0]
    np.testing.assert_array_equal(a.anomaly_map, b.anomaly_map)
    model.save(tmp_path / "ckpt")
    loaded = UFlowModel.load(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded.predict(test[:1])[0].anomaly_map, a.anomaly_map)
    assert loaded.calibration == model.calibration


def test_mismatched_backbone_is_refused(trained):
    model, _ = trained
    weights, description = model.to_bytes()
    with pytest.raises(ModelError, match="trained on backbone tf_efficientnet_lite0, not resnet18"):
        UFlowModel.from_bytes(weights, description, expected_backbone="resnet18")
    with pytest.raises(ModelError, match="not resnet18"):
        UFlowModel.from_bytes(weights, description, backbone=build_backbone("resnet18", random_weights=True))
    with pytest.raises(ModelError):
        UFlowModel.from_bytes(b"garbage", description)


def test_cancel_mid_training(mtd_pair, lite0):
    good, _ = mtd_pair
    token = CancelToken()
    steps_seen = []

    def progress(fraction, message):
        if message.startswith("step"):
            steps_seen.append(message)
            token.cancel()

    with pytest.raises(JobCancelled):
        train(good, UFlowConfig(**{**TINY, "train_steps": 50}), progress=progress, cancel=token, backbone=lite0)
    assert len(steps_seen) == 1


def test_training_is_reproducible_and_fine_tunes(mtd_pair, lite0, trained):
    good, _ = mtd_pair
    a = train(good[:1], UFlowConfig(**TINY), backbone=lite0)
    b = train(good[:1], UFlowConfig(**TINY), backbone=lite0)
    for (k, x), (_, y) in zip(a.flow.state_dict().items(), b.flow.state_dict().items()):
        assert torch.equal(x, y), k
    parent, _ = trained
    child = train(good[:1], UFlowConfig(**{**TINY, "train_steps": 2}), init_from=parent)
    assert child.meta["training"]["parent_fingerprint"] == parent.meta["fingerprint"]
    assert all(torch.equal(m, n) for m, n in zip(child.feature_mean, parent.feature_mean))
    with pytest.raises(ModelError, match="fine-tune"):
        train(good[:1], UFlowConfig(**{**TINY, "backbone": "resnet18", "random_backbone": True}), init_from=parent)


def test_latent_calibration_on_held_out_images(mtd_root, lite0):
    good = sorted((mtd_root / "train" / "good").iterdir())[:8]
    config = UFlowConfig(**{**TINY, "calibrate_latents": True, "holdout_fraction": 0.25, "map_smoothing": 2.0,
                            "crossfit_folds": 0})
    model = train(good, config, backbone=lite0)
    cal = model.calibration
    assert cal["source"].startswith("held-out normal images, the same") and model.meta["training"]["n_holdout"] == 2
    scale = cal["latent_scale"]
    assert len(scale) == 3 and all(s > 0 for s in scale) and any(abs(s - 1) > 1e-3 for s in scale)
    for level in cal["scales"]:  # the held-out images define the scale, so they are at mean z^2 / C = 1
        assert level["mean_z2"] == pytest.approx(1.0, abs=1e-3)
    for raw, s in zip(cal["raw_mean_z2"], scale):  # the report keeps the flow's own dispersion
        assert raw * s ** 2 == pytest.approx(1.0, rel=1e-3)
    pred = model.predict(good[:1])[0]
    with torch.no_grad():
        from core.models.preprocess import load_rgb

        raw, _ = model.run_flow(model.extract(model.prepared(load_rgb(good[0])).input_tensor(pred.input_shape)))
    for z, r, s in zip(pred.latents, raw, scale):
        np.testing.assert_allclose(z, r[0].numpy() * s, rtol=1e-4, atol=1e-4)  # float32 sums differ by CPU
    again = UFlowModel.from_bytes(*model.to_bytes(), backbone=lite0)
    np.testing.assert_array_equal(again.predict(good[:1])[0].anomaly_map, pred.anomaly_map)
    # without held-out images nothing is rescaled
    small = train(good[:2], config, backbone=lite0)
    assert small.calibration["latent_scale"] == [1.0, 1.0, 1.0]


def test_calibration_check_uses_images_that_did_not_set_the_scale(mtd_root, lite0):
    good = sorted((mtd_root / "train" / "good").iterdir())[:8]
    model = train(good, UFlowConfig(**{**TINY, "calibrate_latents": True, "holdout_fraction": 0.5, "crossfit_folds": 0}),
                  backbone=lite0)
    cal = model.calibration
    assert model.meta["training"]["n_holdout"] == 4 and cal["scale_images"] == 2 and cal["n_images"] == 2
    assert cal["source"] == "held-out normal images not used to set the latent scale"
    assert any(abs(level["mean_z2"] - 1.0) > 1e-4 for level in cal["scales"])  # an independent estimate


def test_automatic_budget_grows_with_the_training_set_and_an_explicit_one_is_kept():
    auto = UFlowConfig()
    assert auto.train_steps is None
    assert [auto.steps_for(n) for n in (1, 16, 100, 686, 5000)] == [200, 200, 400, 2744, 3000]
    assert UFlowConfig(train_steps=37).steps_for(5000) == 37
    assert auto.noise_for(16) == auto.feature_noise  # few images: the full smoothing
    assert auto.noise_for(64) == pytest.approx(auto.feature_noise / 2)  # four times the images: half the noise
    assert UFlowConfig(noise_reference_images=0).noise_for(5000) == auto.feature_noise


def test_a_run_on_the_automatic_budget_records_its_steps_and_noise(mtd_pair, lite0):
    good, _ = mtd_pair
    config = UFlowConfig(**{**TINY, "train_steps": None, "min_train_steps": 3, "steps_per_image": 2.0,
                            "noise_reference_images": 1})
    model = train(good, config, backbone=lite0)
    training = model.meta["training"]
    assert training["steps"] == 4 and len(training["loss_curve"]) == 4  # 2 images x 2 steps, above the minimum
    assert training["feature_noise"] == pytest.approx(config.feature_noise * (1 / 2) ** 0.5)


def test_flipped_copies_are_the_image_mirrored_and_belong_to_it():
    from core.models.preprocess import load_rgb
    from core.models.uflow.train import _flipped

    rng = np.random.default_rng(0)
    images = [load_rgb(rng.integers(0, 255, (5, 7, 3), dtype=np.uint8)) for _ in range(2)]
    out, copies = _flipped(images, 3)
    assert len(out) == 8 and copies == [[2, 3, 4], [5, 6, 7]]
    px = images[1].pixels
    assert [out[i].pixels.tolist() for i in copies[1]] == [px[:, ::-1].tolist(), px[::-1].tolist(),
                                                            px[::-1, ::-1].tolist()]
    assert _flipped(images, 0) == (images, [[], []])


def test_flips_add_examples_but_no_images_to_the_budget_or_to_a_fold(mtd_root, lite0, monkeypatch):
    """Each model trains on its images and their copies only: a cross-fitting model never sees a flipped copy
    of the images it scores for the calibration; the budget and the noise follow the distinct images."""
    import importlib

    train_module = importlib.import_module("core.models.uflow.train")  # the package exports the function train
    calls = []
    real = train_module._optimise

    def spy(model, train_feats, hold_feats, config, *args):
        calls.append((len(train_feats), args[-1]))
        return real(model, train_feats, hold_feats, config, *args)

    monkeypatch.setattr(train_module, "_optimise", spy)
    good = sorted((mtd_root / "train" / "good").iterdir())[:4]
    config = UFlowConfig(**{**TINY, "train_steps": None, "min_train_steps": 3, "steps_per_image": 2.0,
                            "noise_reference_images": 1, "image_flips": 3})
    model = train(good, config, backbone=lite0)
    assert calls == [(8, 2), (8, 2), (16, 4)]  # two folds of 2 images (+6 copies), then all 4 (+12 copies)
    training = model.meta["training"]
    assert training["image_flips"] == 3 and training["n_images"] == 4 and training["steps"] == 8
    assert training["feature_noise"] == pytest.approx(config.feature_noise * (1 / 4) ** 0.5)
    with pytest.raises(ModelError, match="image_flips"):
        UFlowConfig(image_flips=2)


def test_a_stride_4_scale_is_opt_in_and_sharpens_the_map_grid(mtd_pair, lite0):
    good, test = mtd_pair
    assert UFlowModel(UFlowConfig(**TINY), backbone=lite0).strides == (8, 16, 32)  # revisions without it load as before
    model = train(good, UFlowConfig(**TINY, strides=(4, 8, 16, 32)), backbone=lite0)
    assert model.strides == (4, 8, 16, 32)
    pred = model.predict(test[:1], batch_size=1)[0]
    assert [z.shape[1:] for z in pred.latents] == [(2, 2), (4, 4), (8, 8), (16, 16)]
    assert pred.latents[-1].shape[0] == model.layout.latent_channels[-1]
    assert len(model.calibration["scales"]) == 4


def test_border_factors_bring_each_ring_of_normal_latents_to_mean_one():
    """Latents wider near the top/bottom and the left/right borders (most at the corners, where both add up)
    are brought back to mean z^2 / C = 1 in every ring and corner; the interior keeps a factor near 1."""
    from core.models.uflow.calibration import border_distance, edge_profile, edge_weights

    rng = np.random.default_rng(0)
    row_var = np.array([3.0, 1.6, 1.2, 1.0, 1.0])  # variance by distance to the top or bottom border
    col_var = np.array([2.0, 1.3, 1.0, 1.0, 1.0])
    dy, dx = border_distance(30, 4), border_distance(40, 4)
    true_var = row_var[dy][:, None] * col_var[dx][None, :]
    images = [[rng.standard_normal((8, 30, 40)) * np.sqrt(true_var)] for _ in range(8)]
    ((rows, cols),) = edge_profile(images)
    w = edge_weights((30, 40), (rows, cols))
    assert w.shape == (30, 40)
    np.testing.assert_allclose(w ** 2 * true_var, 1.0, rtol=0.12)  # every cell's class, corners included
    assert w[0, 0] < w[0, 20] < w[15, 20] and w[0, 0] < w[15, 0] < w[15, 20]
    ring = np.concatenate([(img[0] * w)[:, 1, 4:-4].ravel() for img in images])  # second row, off the corners
    assert (ring ** 2).mean() == pytest.approx(1.0, abs=0.12)


def test_one_flow_per_scale_trains_saves_and_fine_tunes(mtd_pair, tmp_path, lite0):
    good, test = mtd_pair
    model = train(good, UFlowConfig(**TINY, scale_context=False), backbone=lite0)
    pred = model.predict(test[:1])[0]
    assert [z.shape for z in pred.latents] == [(320, 2, 2), (112, 4, 4), (40, 8, 8)]  # each scale's own features
    assert [sc["channels"] for sc in model.calibration["scales"]] == [320, 112, 40]
    model.save(tmp_path / "ckpt")
    loaded = UFlowModel.load(tmp_path / "ckpt")
    assert loaded.config.scale_context is False
    np.testing.assert_array_equal(loaded.predict(test[:1])[0].anomaly_map, pred.anomaly_map)
    child = train(good, UFlowConfig(**{**TINY, "train_steps": 2}), init_from=loaded, backbone=lite0)
    assert child.config.scale_context is False
    stored = {k: v for k, v in UFlowConfig().to_dict().items() if k != "scale_context"}
    old = UFlowModel(UFlowConfig.from_dict({**stored, **TINY}), backbone=lite0)  # a revision stored before
    assert old.layout == plan_layout(list(old.channels[::-1]), context=True)  # loads with the U shape
