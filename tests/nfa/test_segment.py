import numpy as np
import pytest

from core.nfa import Region, Segmentation, segment

UFLOW = [(816, 28, 28), (192, 14, 14)]
LITE = [(20, 32, 32), (56, 16, 16)]


def noise(shapes, rng, std=1.0):
    return [(std * rng.standard_normal(s)).astype(np.float32) for s in shapes]


def plant(latents, y, x, size, factor, image_shape):
    """Scale the latents by `factor` over an image-space square, on every scale it covers."""
    h, w = image_shape
    out = [z.copy() for z in latents]
    for z in out:
        fy, fx = h // z.shape[1], w // z.shape[2]
        y0, x0 = y // fy, x // fx
        y1, x1 = -(-(y + size) // fy), -(-(x + size) // fx)
        z[:, y0:y1, x0:x1] *= factor
    return out


def test_output_contract_on_a_planted_defect():
    rng = np.random.default_rng(3)
    latents = plant(noise(LITE, rng), 8, 12, 6, 5.0, (32, 32))
    seg = segment(latents, (256, 256), k=2.0)
    assert isinstance(seg, Segmentation)
    assert seg.log_nfa.shape == seg.mask.shape == seg.labels.shape == (256, 256)
    assert seg.log_nfa.dtype == np.float32 and seg.mask.dtype == bool and seg.labels.dtype == np.int32
    assert seg.regions and all(isinstance(r, Region) for r in seg.regions)
    nfas = [r.log10_nfa for r in seg.regions]
    assert nfas == sorted(nfas) and max(nfas) < 0
    for i, r in enumerate(seg.regions, start=1):
        assert r.label == i
        where = np.argwhere(seg.labels == i)
        assert r.area == len(where)
        assert r.bbox == (*where.min(0), *(where.max(0) + 1))
        np.testing.assert_allclose(seg.log_nfa[seg.labels == i], r.log10_nfa, rtol=1e-6)
    assert np.all(seg.log_nfa[seg.labels == 0] == 0)
    np.testing.assert_array_equal(seg.mask, seg.mask_at(2.0))
    assert seg.count_at(0.0) == len(seg.regions)


@pytest.mark.parametrize("tail", ["exact", "chernoff"])
def test_planted_4x4_anomaly_is_found_at_its_place(tail):
    rng = np.random.default_rng(7)
    image_shape = (224, 224)
    latents = plant(noise(UFLOW, rng), 96, 128, 32, 2.0, image_shape)  # 4x4 cells at 28x28
    seg = segment(latents, image_shape, k=2.0, tail=tail)
    assert seg.regions
    assert seg.regions[0].bbox == (96, 128, 128, 160)
    inside = seg.mask[96:128, 128:160].sum()
    assert inside == seg.mask.sum()  # nothing detected outside the defect
    assert inside >= 0.75 * 32 * 32  # the most significant level set may leave out a weak cell


def test_noise_gives_no_detection():
    rng = np.random.default_rng(11)
    counts = [len(segment(noise(shapes, rng), (64, 64)).regions) for shapes in [UFLOW, LITE] for _ in range(4)]
    assert sum(counts) <= len(counts)  # at most one false alarm per image on average


@pytest.mark.parametrize("tail", ["exact", "chernoff"])
def test_under_dispersed_latents_are_not_flagged(tail):
    rng = np.random.default_rng(5)
    for std in (0.9, 0.95):
        seg = segment(noise(UFLOW, rng, std), (224, 224), tail=tail)
        assert not seg.mask.any()


def test_raising_a_region_never_raises_its_nfa():
    rng = np.random.default_rng(2)
    base = noise(LITE, rng)
    previous = 0.0
    for factor in (1.5, 2.0, 3.0, 4.0, 5.0, 8.0):
        seg = segment(plant(base, 10, 10, 6, factor, (32, 32)), (32, 32))
        inside = float(seg.log_nfa[10:16, 10:16].min())
        assert inside <= previous
        previous = inside
    assert previous < -10


def test_regions_are_kept_for_live_rethresholding():
    rng = np.random.default_rng(4)
    latents = plant(noise(LITE, rng), 0, 0, 4, 1.6, (32, 32))
    latents = plant(latents, 20, 20, 8, 2.0, (32, 32))
    strict = segment(latents, (32, 32), k=50.0)
    loose = segment(latents, (32, 32), k=0.0)
    assert [r.log10_nfa for r in strict.regions] == [r.log10_nfa for r in loose.regions]
    np.testing.assert_array_equal(strict.mask_at(0.0), loose.mask)
    assert strict.mask.sum() <= loose.mask.sum()


def test_scale_labels_are_upsampled_not_values():
    rng = np.random.default_rng(9)
    latents = plant(noise([(20, 8, 8)], rng), 4, 4, 2, 4.0, (8, 8))
    seg = segment(latents, (40, 24))
    assert seg.regions
    assert set(np.unique(seg.log_nfa[seg.labels == 1]).tolist()) == {np.float32(seg.regions[0].log10_nfa)}
    assert seg.regions[0].area % 15 == 0  # each 8x8 cell becomes a 5x3 block


@pytest.mark.parametrize(
    "latents,shape,kwargs",
    [
        ([], (8, 8), {}),
        ([np.zeros((4, 4))], (8, 8), {}),
        ([np.zeros((1, 4, 4))], (0, 8), {}),
        ([np.zeros((1, 4, 4))], (8, 8), {"mode": "stratified"}),
        ([np.zeros((1, 4, 4))], (8, 8), {"tail": "normal"}),
        ([np.full((1, 4, 4), np.nan)], (8, 8), {}),
    ],
)
def test_rejects_bad_input(latents, shape, kwargs):
    with pytest.raises(ValueError):
        segment(latents, shape, **kwargs)


def _ring_case():
    """A strong 2 x 2-cell defect at the finest scale inside a weaker, wider excess at the coarser one."""
    rng = np.random.default_rng(11)
    latents = noise(LITE, rng)
    latents[1][:, 6:10, 6:10] *= 3.0  # the coarser scale (16 x 16 cells): pixels 96-160
    latents[0][:, 14:16, 14:16] *= 10.0  # the finer scale's strong core (32 x 32 cells): pixels 112-128
    return latents


def test_overlapping_regions_of_two_scales_leave_a_ring_unless_merged():
    latents = _ring_case()
    apart = segment(latents, (256, 256), k=0.0)
    merged = segment(latents, (256, 256), k=0.0, merge_scales=True)
    assert [r.scale for r in apart.regions] == [0, 1]
    ring = apart.labels == 2
    assert not ring[112:128, 112:128].any() and ring[96:160, 96:160].sum() > 0.8 * (64 * 64 - 16 * 16)  # a ring
    assert len(merged.regions) == 1 and merged.regions[0].scale == 0
    assert merged.regions[0].area == (apart.labels > 0).sum()
    # the merged region covers the union of both, at the better NFA
    np.testing.assert_array_equal(merged.labels > 0, apart.labels > 0)
    assert merged.regions[0].log10_nfa == min(r.log10_nfa for r in apart.regions)
    assert merged.count_at(0.0) <= apart.count_at(0.0)


def test_merging_never_joins_regions_of_one_scale_that_no_other_scale_links():
    rng = np.random.default_rng(5)
    latents = noise(LITE, rng)
    latents[0][:, 2:4, 2:4] *= 10.0
    latents[0][:, 26:28, 26:28] *= 10.0
    apart = segment(latents, (256, 256), k=0.0)
    merged = segment(latents, (256, 256), k=0.0, merge_scales=True)
    assert len(apart.regions) >= 2
    assert [r.log10_nfa for r in merged.regions] == [r.log10_nfa for r in apart.regions]
    np.testing.assert_array_equal(merged.labels, apart.labels)
