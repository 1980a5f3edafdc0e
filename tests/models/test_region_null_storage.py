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
    assert len(null.scales) == len(model.channels) and null.calibration.n_images == 10  # every image, cross-fitted
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


def test_few_images_are_cross_fitted_each_scored_by_a_model_trained_without_it(model):
    training, cal = model.meta["training"], model.calibration
    assert training["crossfit_folds"] == 2 and training["n_holdout"] == 0 and training["n_images"] == 10
    assert cal["source"] == "training images scored by models trained without them (2 folds)"
    assert cal["scale_images"] == 5 and cal["n_images"] == 5  # half sets the latent scale, half checks it


def test_calibration_split_folds_cover_every_image_once():
    from core.models.uflow.train import _calibration_split

    hold, folds = _calibration_split(16, UFlowConfig())
    assert hold == [] and len(folds) == 2 and sorted(i for f in folds for i in f) == list(range(16))
    assert _calibration_split(3, UFlowConfig()) == ([], [])  # too few: uncalibrated
    hold, folds = _calibration_split(4, UFlowConfig(crossfit_folds=4))  # one model per image, trained on the others
    assert hold == [] and sorted(folds) == [[0], [1], [2], [3]]
    hold, folds = _calibration_split(400, UFlowConfig())  # many images: a held-out tenth, no extra models
    assert folds == [] and len(hold) == 40
    hold, folds = _calibration_split(16, UFlowConfig(crossfit_folds=0))
    assert folds == [] and len(hold) == 2
    assert _calibration_split(400, UFlowConfig(holdout_fraction=0.0)) == ([], [])


def test_few_images_fall_back_to_the_paper_count_and_say_so():
    small = train(_textures(3), UFlowConfig(**TINY))
    assert small.region_null is None
    assert any("uncalibrated" in w for w in small.calibration["warnings"])


def test_few_held_out_regions_keep_one_curve_and_say_why(model):
    null = model.region_null  # ten tiny images: far fewer held-out regions per scale than a curve of its own needs
    assert model.config.calibrate_per_scale and null.scale_calibrations is None
    assert "one curve for every scale: a scale has only" in null.notes[0]


def test_new_revisions_calibrate_each_scale_and_older_ones_keep_one_curve(monkeypatch):
    import core.nfa.region_null

    monkeypatch.setattr(core.nfa.region_null, "MIN_SCALE_SCORES", 1)
    model = train(_textures(10), UFlowConfig(**TINY))
    null = model.region_null
    assert len(null.scale_calibrations) == len(model.channels) and not null.notes
    assert null.calibration is not None  # the single curve is stored too
    pred = model.predict(_textures(1, seed=8))[0]
    weights, description = model.to_bytes()
    description = dict(description)
    stored = dict(description["calibration"])
    stored["regions"] = {k: v for k, v in stored["regions"].items() if k != "scale_calibrations"}
    description["calibration"] = stored
    description["config"] = {k: v for k, v in description["config"].items() if k != "calibrate_per_scale"}
    old = UFlowModel.from_bytes(weights, description, backbone=model.backbone)
    assert old.region_null.scale_calibrations is None and old.regions_calibrated
    assert not old.config.calibrate_per_scale  # as stored before the option existed
    one_curve = model.region_null
    one_curve.scale_calibrations = None
    np.testing.assert_array_equal(old.segment(pred).log_nfa, model.segment(pred, null=one_curve).log_nfa)


def test_revision_text_says_how_the_regions_were_calibrated(model):
    from core.models.revisions import region_calibration_text

    text = region_calibration_text(model.calibration)
    assert text.startswith("false alarms measured on 10 held-out normal images, one curve for every latent scale; "
                           "a scale has only ")
    assert region_calibration_text({}).startswith("uncalibrated")
    per_view = region_calibration_text({"views": {"diffuse": model.calibration, "grazing": {}}})
    assert per_view.startswith("diffuse: false alarms measured on 10") and "; grazing: uncalibrated" in per_view


def test_eval_figures_report_the_region_calibration(model):
    from core.evaluation import _nfa_figures
    from core.progress import no_progress

    preds = model.predict(_textures(3, seed=9))
    null = _nfa_figures(model, preds, [False, False, True], None, 0.0, no_progress)["region_null"]
    assert null["n_images"] == 10 and null["per_scale"] is None
    assert "a curve of its own needs" in null["notes"][0]
