"""The calibrated region null: fitted on normal latents, honest on fresh ones, finds planted blobs whole."""
import json

import numpy as np
import pytest
from scipy import ndimage

from core.nfa import segment
from core.nfa.region_null import (
    RegionCalibration,
    RegionNull,
    correlation_area,
    fit_region_null,
    upper_mean_excess,
)

SHAPES = [(40, 8, 8), (30, 16, 16), (20, 32, 32)]  # coarsest first, as U-Flow gives them
SIGMA = 1.5


def correlated(rng, shapes=SHAPES, sigma=SIGMA):
    """N(0, 1) per channel, Gaussian-smoothed (circular) and rescaled to unit variance."""
    from scipy import ndimage

    out = []
    for c, h, w in shapes:
        z = ndimage.gaussian_filter(rng.standard_normal((c, h, w)), sigma=(0, sigma, sigma), mode="wrap")
        impulse = np.zeros((h, w))
        impulse[h // 2, w // 2] = 1.0
        gain = np.sqrt((ndimage.gaussian_filter(impulse, sigma, mode="wrap") ** 2).sum())
        out.append((z / gain).astype(np.float32))
    return out


@pytest.fixture(scope="module")
def null():
    rng = np.random.default_rng(1)
    return fit_region_null([correlated(rng) for _ in range(40)])


def test_correlation_area_of_white_and_smooth_fields():
    rng = np.random.default_rng(0)
    assert correlation_area(rng.standard_normal((64, 64))) < 1.6
    smooth = ndimage.gaussian_filter(rng.standard_normal((64, 64)), 2.0, mode="wrap")
    assert correlation_area(smooth) > 8  # a Gaussian of std 2 spreads one cell over ~4 pi sigma^2 / 2 cells


def test_correlation_area_pooled_over_small_fields_has_no_noise_bias():
    rng = np.random.default_rng(4)
    small = [rng.standard_normal((8, 8)) for _ in range(76)]  # a coarse scale over a held-out set
    assert np.mean([correlation_area(f) for f in small]) > 3  # per field, sampling noise adds up
    assert correlation_area(small) < 1.5


def test_correlation_area_pools_fields_of_different_shapes():
    rng = np.random.default_rng(5)
    mixed = [rng.standard_normal(shape) for shape in [(12, 20), (20, 12), (16, 16), (9, 30)] * 10]
    assert correlation_area(mixed) < 1.5
    smooth = [ndimage.gaussian_filter(rng.standard_normal((s[0] + 16, s[1] + 16)), 2)[8:-8, 8:-8] for s in
              [(24, 40), (40, 24), (32, 32)] * 4]
    assert correlation_area(smooth) > 8


def test_fitted_statistics_describe_the_field(null):
    for sc, (c, _, _) in zip(null.scales, SHAPES):
        assert sc.channels == c and sc.mu == pytest.approx(c, rel=0.05)
        assert sc.rho > 3  # smoothed latents: correlated neighbours
    assert null.calibrated and null.calibration.n_images == 40 and null.calibration.fitted


def test_calibration_is_monotone_and_never_beats_the_model():
    cal = RegionCalibration.fit(np.linspace(-2.5, 6.0, 60).tolist(), n_images=20)
    model = -np.linspace(-3, 30, 200)
    out = cal.log10_nfa(model)
    assert np.all(np.diff(out) <= 1e-12) and np.all(out >= model - 1e-12)
    assert out[-1] < -5  # the fitted tail carries on beyond the largest score seen


def test_fresh_correlated_fields_stay_near_the_nominal_rate(null):
    rng = np.random.default_rng(2)
    counts = np.array([[segment(z, (32, 32), mode="calibrated", null=null).count_at(k) for k in (0, 1, 2)]
                       for z in (correlated(rng) for _ in range(100))])
    means = counts.mean(0)
    # 100 fields: the nominal 1, 0.1, 0.01 with generous sampling margins (the benchmark uses 1000+)
    assert means[0] <= 2.0 and means[1] <= 0.4 and means[2] <= 0.1
    assert means[0] >= means[1] >= means[2]


def test_planted_blob_is_found_with_its_extent(null):
    rng = np.random.default_rng(3)
    ious = []
    for _ in range(10):
        z = correlated(rng)
        y, x = rng.integers(4, 20, size=2)
        truth = np.zeros((32, 32), dtype=bool)
        truth[y:y + 8, x:x + 8] = True
        for level, (c, h, w) in enumerate(SHAPES):
            f = 32 // h
            z[level][:, y // f:-(-(y + 8) // f), x // f:-(-(x + 8) // f)] *= 2.0
        seg = segment(z, (32, 32), k=2, mode="calibrated", null=null)
        mask = seg.mask
        ious.append((mask & truth).sum() / max((mask | truth).sum(), 1))
    assert np.mean(ious) >= 0.5


def test_round_trip_through_json(null):
    again = RegionNull.from_dict(json.loads(json.dumps(null.to_dict())))
    assert again.to_dict() == null.to_dict()
    z = correlated(np.random.default_rng(4))
    a = segment(z, (32, 32), mode="calibrated", null=null)
    b = segment(z, (32, 32), mode="calibrated", null=again)
    np.testing.assert_array_equal(a.log_nfa, b.log_nfa)


def test_calibrated_mode_needs_a_matching_null(null):
    z = correlated(np.random.default_rng(5))
    with pytest.raises(ValueError, match="region null"):
        segment(z, (32, 32), mode="calibrated")
    with pytest.raises(ValueError, match="region null"):
        segment(z[:2], (32, 32), mode="calibrated", null=null)


def test_the_tail_scale_is_an_upper_bound_that_covers_the_true_mean_at_its_confidence():
    rng = np.random.default_rng(4)
    for m in (5, 20):
        bounds = np.array([upper_mean_excess(rng.exponential(2.0, m)) for _ in range(4000)])
        assert 0.93 <= np.mean(bounds >= 2.0) <= 0.97  # TAIL_CONFIDENCE = 0.95
    few, many = upper_mean_excess(np.full(5, 1.0)), upper_mean_excess(np.full(500, 1.0))
    assert few > 1.5 and 1.0 < many < 1.1  # wide with few regions, the mean excess with many


def _with_spikes(rng):
    """Correlated latents whose coarsest scale has a heavy tail: now and then a cell 2-3 times as energetic."""
    z = correlated(rng)
    _, h, w = SHAPES[0]
    for _ in range(rng.poisson(1.0)):
        z[0][:, rng.integers(0, h), rng.integers(0, w)] *= rng.uniform(2.0, 3.0)
    return z


@pytest.fixture(scope="module")
def spiky_nulls():
    held = [_with_spikes(np.random.default_rng([7, i])) for i in range(40)]
    return fit_region_null(held), fit_region_null(held, per_scale=True, min_scale_scores=10)


def test_per_scale_curves_keep_a_heavy_tailed_scale_from_hiding_the_others(spiky_nulls):
    pooled, per_scale = spiky_nulls
    assert pooled.scale_calibrations is None and len(per_scale.scale_calibrations) == len(SHAPES)
    assert per_scale.scale_calibrations[0].scores[0] == pooled.calibration.scores[0]  # the spikes' scale
    rng = np.random.default_rng(8)
    found = np.zeros(2, dtype=int)
    for _ in range(20):
        z = _with_spikes(rng)
        y, x = rng.integers(4, 24, size=2)
        z[2][:, y:y + 6, x:x + 6] *= 1.5  # a moderate defect seen by the finest scale only
        for i, null in enumerate(spiky_nulls):
            found[i] += segment(z, (32, 32), k=2, mode="calibrated", null=null).mask[y:y + 6, x:x + 6].any()
    assert found[1] >= found[0] + 5  # measured 11 of 20 against 1


def test_per_scale_curves_need_enough_held_out_regions_at_every_scale():
    held = [_with_spikes(np.random.default_rng([7, i])) for i in range(40)]
    few = fit_region_null(held, per_scale=True)  # the default needs 100 scores per scale: these give fewer
    assert few.scale_calibrations is None and few.calibrated
    assert "one curve for every scale: a scale has only" in few.notes[0] and not few.warnings
    assert RegionNull.from_dict(json.loads(json.dumps(few.to_dict()))).notes == few.notes


def test_per_scale_curves_keep_the_nominal_rate(spiky_nulls):
    rng = np.random.default_rng(9)
    fresh = [_with_spikes(rng) for _ in range(100)]
    counts = np.array([[segment(z, (32, 32), mode="calibrated", null=spiky_nulls[1]).count_at(k) for k in (0, 1, 2)]
                       for z in fresh])
    means = counts.mean(0)
    assert means[0] <= 2.0 and means[1] <= 0.4 and means[2] <= 0.1


def test_per_scale_curves_round_trip_and_older_nulls_keep_one_curve(spiky_nulls):
    pooled, per_scale = spiky_nulls
    again = RegionNull.from_dict(json.loads(json.dumps(per_scale.to_dict())))
    assert again.to_dict() == per_scale.to_dict() and again.scale_calibrations is not None
    stored_before = per_scale.to_dict()
    del stored_before["scale_calibrations"]
    older = RegionNull.from_dict(stored_before)
    assert older.scale_calibrations is None and older.calibrated
    z = _with_spikes(np.random.default_rng(10))
    np.testing.assert_array_equal(segment(z, (32, 32), mode="calibrated", null=older).log_nfa,
                                  segment(z, (32, 32), mode="calibrated", null=pooled).log_nfa)
