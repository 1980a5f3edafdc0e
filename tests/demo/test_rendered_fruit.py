"""Rendered fruit: three cameras, a defect seen by the camera it faces only, masks per view."""

import numpy as np
import pytest

from core.demo.fruit import CAMERAS, FRUIT_DEFECTS, render_fruit


def test_same_seed_same_fruit():
    a, b = render_fruit(3, 96, defects=("spot",)), render_fruit(3, 96, defects=("spot",))
    assert all(np.array_equal(a.views[c], b.views[c]) and np.array_equal(a.masks[c], b.masks[c]) for c in CAMERAS)
    assert not np.array_equal(a.views["cam-0"], render_fruit(4, 96, defects=("spot",)).views["cam-0"])


@pytest.mark.parametrize("kind", FRUIT_DEFECTS)
@pytest.mark.parametrize("camera", range(3))
def test_a_defect_shows_in_the_view_it_faces_only_and_inside_its_mask(kind, camera):
    fruit = render_fruit(5, 128, defects=(kind,), first_camera=camera)
    clean = render_fruit(5, 128)
    assert list(fruit.views) == list(CAMERAS) and {v.shape for v in fruit.views.values()} == {(128, 128, 3)}
    assert [d.camera for d in fruit.defects] == [CAMERAS[camera]]
    for view in CAMERAS:
        diff = np.abs(fruit.views[view].astype(np.int16) - clean.views[view]).max(axis=2)
        if view == CAMERAS[camera]:
            mask = fruit.masks[view]
            assert 10 <= mask.sum() < 0.05 * 128 * 128
            assert diff[mask].mean() > 10
            assert diff[~mask].mean() < 0.5
        else:
            assert not fruit.masks[view].any()
            assert diff.max() <= 3


def test_unknown_fruit_defect_is_refused():
    with pytest.raises(ValueError, match="unknown fruit defect 'rot'"):
        render_fruit(0, 96, defects=("rot",))
