"""Rendered leather hides: deterministic, five pixel-aligned lights, relief seen under grazing light, colour
under the diffuse one, and masks that hold exactly the pixels a defect changes."""

import numpy as np
import pytest
from scipy import ndimage

from core.demo.hides import DEFECT_KINDS, DIFFUSE, GRAZING, LIGHTS, RELIEF_KINDS, render_hide

SHAPE = (240, 320)


def _change(kind: str, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The planted mask and, per light, |with defect - without| (grey levels, mean over RGB)."""
    with_defect, without = render_hide(seed, SHAPE, defects=(kind,)), render_hide(seed, SHAPE)
    diff = {name: np.abs(with_defect.views[name].astype(np.int16) - without.views[name]).mean(axis=2)
            for name in LIGHTS}
    return with_defect.mask(), diff


def test_same_seed_same_hide_and_another_seed_another():
    a = render_hide(7, SHAPE, defects=("scratch", "stain"))
    b = render_hide(7, SHAPE, defects=("scratch", "stain"))
    c = render_hide(8, SHAPE, defects=("scratch", "stain"))
    for name in LIGHTS:
        assert np.array_equal(a.views[name], b.views[name])
        assert not np.array_equal(a.views[name], c.views[name])
    assert [(d.kind, d.box) for d in a.defects] == [(d.kind, d.box) for d in b.defects]
    assert np.array_equal(a.mask(), b.mask()) and not np.array_equal(a.mask(), c.mask())


def test_five_lights_of_one_size_and_grazing_lights_differ():
    hide = render_hide(1, SHAPE)
    assert list(hide.views) == list(LIGHTS) == [DIFFUSE, *GRAZING]
    assert {v.shape for v in hide.views.values()} == {(*SHAPE, 3)}
    assert {v.dtype for v in hide.views.values()} == {np.dtype(np.uint8)}
    grey = {n: v.mean(axis=2) for n, v in hide.views.items()}
    # opposite corners light opposite slopes of the same pebbles
    assert np.corrcoef(grey["grazing-nw"].ravel(), grey["grazing-se"].ravel())[0, 1] < -0.3
    assert grey[DIFFUSE].std() < 0.5 * grey["grazing-nw"].std()


@pytest.mark.parametrize("kind", RELIEF_KINDS)
def test_relief_defects_show_under_grazing_light_more_than_under_diffuse(kind):
    for seed in range(3):
        mask, diff = _change(kind, seed)
        grazing = max(diff[name][mask].mean() for name in GRAZING)
        assert grazing > 3 * diff[DIFFUSE][mask].mean()
        assert grazing > 20


def test_a_stain_changes_the_diffuse_image_and_leaves_the_relief_alone():
    for seed in range(3):
        mask, diff = _change("stain", seed)
        assert diff[DIFFUSE][mask].mean() > 8
        assert diff[DIFFUSE][mask].mean() >= 0.9 * np.mean([diff[name][mask].mean() for name in GRAZING])


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_the_mask_holds_the_pixels_the_defect_changes(kind):
    mask, diff = _change(kind, 4)
    changed = np.max(list(diff.values()), axis=0) > 2
    assert not (changed & ~ndimage.binary_dilation(mask, iterations=1)).any()
    assert changed[mask].mean() > 0.7


def test_defects_are_8_to_40_px_apart_from_each_other_and_away_from_the_edges():
    hide = render_hide(2, (600, 800), defects=DEFECT_KINDS * 3)
    assert [d.kind for d in hide.defects] == list(DEFECT_KINDS * 3)
    assert [d.relief for d in hide.defects] == [k in RELIEF_KINDS for k in DEFECT_KINDS * 3]
    labels, n = ndimage.label(hide.mask())
    assert n >= len(hide.defects)  # no two defects touch
    for d in hide.defects:
        ys, xs = np.nonzero(d.mask(hide.shape))
        extent = max(np.ptp(ys) + 1, np.ptp(xs) + 1)
        assert 8 <= extent <= 40, (d.kind, extent)
        assert ys.min() >= 48 and xs.min() >= 48 and ys.max() < 600 - 48 and xs.max() < 800 - 48


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="unknown defect kind 'hole'"):
        render_hide(0, SHAPE, defects=("hole",))
    with pytest.raises(ValueError, match="at least 144 px"):
        render_hide(0, (100, 400))
    with pytest.raises(ValueError, match="unknown light 'ring'"):
        render_hide(0, SHAPE, lights=("ring",))
    with pytest.raises(ValueError, match="no room for"):
        render_hide(0, (150, 150), defects=("wrinkle",) * 20)
