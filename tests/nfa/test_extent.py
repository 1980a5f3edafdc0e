"""A detected region's pixels follow the anomaly map: grown along the defect, shed where the map is normal."""
import numpy as np
import pytest
from scipy import ndimage

from core.errors import ModelError
from core.models.uflow import UFlowConfig, UFlowModel, train
from core.nfa.extent import map_level, refine_extent, surprise
from core.nfa.segmentation import Region, Segmentation


def _segmentation(labels: np.ndarray, nfas: list[float], k: float = 0.0) -> Segmentation:
    regions = [Region(label=i + 1, area=int((labels == i + 1).sum()),
                      bbox=(b[0].start, b[1].start, b[0].stop, b[1].stop), log10_nfa=v, scale=0)
               for i, (v, b) in enumerate(zip(nfas, ndimage.find_objects(labels)))]
    table = np.concatenate([[0.0], nfas]).astype(np.float32)
    log_nfa = table[labels]
    return Segmentation(log_nfa=log_nfa, mask=(labels > 0) & (log_nfa <= -k), labels=labels, regions=regions, k=k)


def test_region_grows_along_a_crack_and_sheds_normal_pixels_of_its_cells():
    amap = np.zeros((64, 64), dtype=np.float32)
    amap[30:32, 4:60] = 1.0  # a thin crack, much longer than the detected cells
    labels = np.zeros((64, 64), dtype=np.int32)
    labels[24:40, 24:40] = 1  # the cells found by the test: 16 x 16 pixels around part of the crack
    out = refine_extent(_segmentation(labels, [-3.0]), amap, level=0.5)
    assert out.labels.max() == 1 and len(out.regions) == 1
    np.testing.assert_array_equal(out.labels == 1, amap >= 0.5)
    assert out.regions[0].area == 2 * 56 and out.regions[0].bbox == (30, 4, 32, 60)
    assert out.regions[0].log10_nfa == -3.0 and out.count_at(2) == 1  # the test's decision is unchanged
    assert out.mask_at(3).sum() == 112 and out.mask_at(4).sum() == 0


def test_component_reached_from_two_regions_goes_to_the_more_significant_one():
    amap = np.zeros((32, 32), dtype=np.float32)
    amap[10:12, 2:30] = 1.0
    labels = np.zeros((32, 32), dtype=np.int32)
    labels[8:14, 4:10] = 1  # most significant first, as segment orders them
    labels[8:14, 20:26] = 2
    out = refine_extent(_segmentation(labels, [-5.0, -1.0]), amap, level=0.5)
    assert [r.label for r in out.regions] == [1] and out.regions[0].log10_nfa == -5.0
    assert set(np.unique(out.labels)) == {0, 1}  # labels stay 1..n


def test_region_without_a_pixel_above_the_level_keeps_its_cells():
    amap = np.zeros((32, 32), dtype=np.float32)
    amap[0:4, 0:4] = 1.0
    labels = np.zeros((32, 32), dtype=np.int32)
    labels[20:28, 20:28] = 1
    labels[0:8, 0:8] = 2
    out = refine_extent(_segmentation(labels, [-2.0, -1.0]), amap, level=0.5)
    assert (out.labels == 1).sum() == 64 and (out.labels == 2).sum() == 16
    assert [r.area for r in out.regions] == [64, 16]


def _blurred_square(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros((96, 96), dtype=bool)
    truth[36:60, 30:54] = True  # 24 x 24 defect
    return 0.1 + 0.8 * ndimage.gaussian_filter(truth.astype(np.float64), sigma), truth


def test_half_maximum_cuts_a_blurred_defect_at_its_edge_where_one_level_keeps_the_blur():
    amap, truth = _blurred_square(sigma=4.0)
    labels = np.zeros(amap.shape, dtype=np.int32)
    labels[24:72, 16:64] = 1  # coarse cells around the defect
    seg = _segmentation(labels, [-4.0])
    one_level = refine_extent(seg, amap, level=0.15)
    half = refine_extent(seg, amap, level=0.15, fraction=0.5)
    inside = half.labels == 1
    # the half-maximum contour of a blurred step lies on the step (the square's corners come out rounded)
    assert inside[40:56, 34:50].all() and not inside[~ndimage.binary_dilation(truth)].any()
    assert (inside & truth).sum() / (inside | truth).sum() > 0.85  # 0.875: the corners
    assert (one_level.labels == 1).sum() > 2 * truth.sum()  # the fixed level keeps most of the blur
    assert half.regions[0].log10_nfa == -4.0 and half.count_at(3) == 1


def test_half_maximum_keeps_the_cells_of_a_region_whose_peak_is_normal_and_checks_the_fraction():
    amap, _ = _blurred_square(sigma=4.0)
    labels = np.zeros(amap.shape, dtype=np.int32)
    labels[0:8, 0:8] = 1  # far from the defect: the map there stays at the background
    out = refine_extent(_segmentation(labels, [-1.0]), amap, level=0.5, fraction=0.5)
    assert (out.labels == 1).sum() == 64
    with pytest.raises(ValueError, match="fraction"):
        refine_extent(_segmentation(labels, [-1.0]), amap, level=0.5, fraction=1.0)


def test_map_level_is_the_quantile_of_normal_pixels_and_checks_its_input():
    maps = [np.arange(100, dtype=np.float32).reshape(10, 10)]
    assert map_level(maps, 0.99) == pytest.approx(np.quantile(np.arange(100), 0.99))
    with pytest.raises(ValueError, match="quantile"):
        map_level(maps, 1.0)
    with pytest.raises(ValueError, match="map of shape"):
        refine_extent(_segmentation(np.ones((4, 4), dtype=np.int32), [-1.0]), np.zeros((5, 5)), 0.5)


TINY = dict(input_size=64, train_steps=4, batch_size=2, hidden_ratio=0.25, flow_steps=2, random_backbone=True)


def _textures(n, seed=0):
    rng = np.random.default_rng(seed)
    return [(128 + 20 * rng.standard_normal((64, 64, 3))).clip(0, 255).astype(np.uint8) for _ in range(n)]


def test_trained_model_stores_the_level_and_its_regions_follow_the_map():
    model = train(_textures(8), UFlowConfig(**TINY, extent_fraction=0.0))
    extent = model.calibration["extent"]
    assert extent["quantile"] == 0.99 and np.isfinite(extent["level"])
    image = _textures(1, seed=3)[0]
    image[20:44, 20:44] = 255  # a bright square defect
    pred = model.predict([image])[0]
    seg = model.segment(pred, k=0.0)
    again = UFlowModel.from_bytes(*model.to_bytes(), backbone=model.backbone)
    np.testing.assert_array_equal(again.segment(pred).labels, seg.labels)  # the level travels with the revision
    above = pred.anomaly_map >= extent["level"]
    for region in seg.regions:
        pixels = seg.labels == region.label
        assert pixels.any() and (above[pixels].all() or not (above & pixels).any())
    off = train(_textures(8), UFlowConfig(**TINY, extent_quantile=0.0))
    assert "extent" not in off.calibration


def test_the_half_maximum_fraction_travels_with_the_revision():
    model = train(_textures(8), UFlowConfig(**TINY, extent_otsu=False))  # the 0.99 quantile and half maximum
    extent = model.calibration["extent"]
    assert extent["quantile"] == 0.99 and extent["fraction"] == 0.5 and extent["otsu"] is False
    image = _textures(1, seed=3)[0]
    image[20:44, 20:44] = 255
    pred = model.predict([image])[0]
    seg = model.segment(pred, k=0.0)
    again = UFlowModel.from_bytes(*model.to_bytes(), backbone=model.backbone)
    np.testing.assert_array_equal(again.segment(pred).labels, seg.labels)
    for region in seg.regions:  # each region's pixels are at or above its own half-maximum level
        pixels = seg.labels == region.label
        peak = pred.anomaly_map[pixels].max()
        if peak > extent["level"]:
            assert pred.anomaly_map[pixels].min() >= extent["level"] + 0.5 * (peak - extent["level"]) - 1e-6
    with pytest.raises(ModelError, match="extent_fraction"):
        UFlowConfig(extent_fraction=1.5)


def test_merging_scales_travels_with_the_revision():
    model = train(_textures(8), UFlowConfig(**TINY, merge_scales=True))
    image = _textures(1, seed=3)[0]
    image[20:44, 20:44] = 255
    pred = model.predict([image])[0]
    again = UFlowModel.from_bytes(*model.to_bytes(), backbone=model.backbone)
    assert again.config.merge_scales
    merged = model.segment(pred)
    np.testing.assert_array_equal(again.segment(pred).labels, merged.labels)
    again.config.merge_scales = False
    apart = again.segment(pred)
    assert merged.count_at(0.0) <= apart.count_at(0.0)  # merging can only join regions
    assert UFlowConfig().merge_scales and UFlowConfig().extent_otsu  # the defaults
    stored = model.config.to_dict()
    del stored["merge_scales"]  # a revision stored before the option existed keeps each scale's regions apart
    assert not UFlowConfig.from_dict(stored).merge_scales


def test_otsu_of_the_surprise_cuts_a_saturated_defect_where_the_half_maximum_keeps_its_halo():
    truth = np.zeros((128, 128), dtype=bool)
    truth[52:76, 52:76] = True
    energy = 0.5 + 60.0 * ndimage.gaussian_filter(truth.astype(np.float64), 6.0)  # mean z^2 of a blurred defect
    amap = 1.0 - np.exp(-energy / 2.0)  # one scale's map: saturated at 1 over the defect and much of its halo
    labels = np.zeros(amap.shape, dtype=np.int32)
    labels[32:96, 32:96] = 1
    seg = _segmentation(labels, [-6.0])
    half = refine_extent(seg, amap, level=0.5, fraction=0.5).labels == 1
    otsu = refine_extent(seg, amap, level=0.5, otsu=True).labels == 1
    assert half.sum() > 1.8 * truth.sum()
    assert (otsu & truth).sum() / (otsu | truth).sum() > 0.8
    np.testing.assert_array_equal(refine_extent(seg, amap, level=0.5, fraction=0.5, otsu=True).labels == 1, otsu)
    np.testing.assert_allclose(surprise(amap), energy / 2.0, rtol=1e-4)  # 1 - map loses digits near 1


def test_otsu_never_leaves_a_region_without_the_part_holding_its_peak():
    amap = np.full((64, 64), 0.05)
    amap[10:20, 10:20] = 0.999999  # a strong defect sets Otsu's threshold of the shared window
    amap[10:20, 40:50] = 0.6  # a weaker one, in the same window at the normal level (joined by a bridge)
    amap[14:16, 20:40] = 0.3
    labels = np.zeros(amap.shape, dtype=np.int32)
    labels[40:50, 40:50] = 1  # the most significant region elsewhere, to order the two below
    labels[8:22, 38:52] = 2  # the weaker defect's region
    amap[42:48, 42:48] = 0.9
    out = refine_extent(_segmentation(labels, [-8.0, -3.0]), amap, level=0.2, otsu=True)
    assert len(out.regions) == 2
    weak = out.labels == 2
    assert weak[10:20, 40:50].all() and not weak[10:20, 10:20].any()


def test_the_otsu_rule_travels_with_the_revision_and_older_revisions_keep_the_half_maximum():
    model = train(_textures(8), UFlowConfig(**TINY, extent_otsu=True))
    assert model.calibration["extent"]["otsu"] is True
    image = _textures(1, seed=3)[0]
    image[20:44, 20:44] = 255
    pred = model.predict([image])[0]
    again = UFlowModel.from_bytes(*model.to_bytes(), backbone=model.backbone)
    np.testing.assert_array_equal(again.segment(pred).labels, model.segment(pred).labels)
    del again.meta["calibration"]["extent"]["otsu"]  # a revision stored before the rule existed
    extent = model.calibration["extent"]
    expected = refine_extent(_cells_of(again, pred), pred.anomaly_map, extent["level"], extent["fraction"])
    np.testing.assert_array_equal(again.segment(pred).labels, expected.labels)


def _cells_of(model, pred):
    """The model's regions before any extent rule."""
    from core.nfa import segment

    return segment(pred.latents, pred.input_shape, mode="calibrated", null=model.region_null)
