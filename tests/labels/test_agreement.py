import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from core.metrics.agreement import cohen_kappa, dice, fleiss_kappa, iou, region_overlaps


def test_cohen_kappa_matches_scikit_learn():
    rng = np.random.default_rng(0)
    a = rng.choice(["good", "defect", "unsure"], 200).tolist()
    b = [x if rng.random() < 0.7 else "good" for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_cohen_kappa_degenerate_and_opposite():
    assert cohen_kappa(["good"] * 5, ["good"] * 5) == 1.0
    assert cohen_kappa(["good", "defect"], ["defect", "good"]) == pytest.approx(-1.0)


def test_fleiss_kappa_textbook_example():
    # Fleiss (1971) style example: 10 subjects, 14 raters, 5 categories -> kappa 0.210
    table = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
    ratings = [[cat for cat, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(ratings) == pytest.approx(0.2099, abs=5e-4)


def test_fleiss_equals_one_when_all_agree():
    assert fleiss_kappa([["a", "a", "a"], ["b", "b", "b"]]) == pytest.approx(1.0)


def test_iou_dice():
    a = np.zeros((10, 10), np.uint8)
    b = np.zeros((10, 10), np.uint8)
    assert iou(a, b) == 1.0 and dice(a, b) == 1.0
    a[0:4, 0:5] = 1  # 20 px
    b[2:6, 0:5] = 3  # 20 px, overlap 10
    assert iou(a, b) == pytest.approx(10 / 30)
    assert dice(a, b) == pytest.approx(20 / 40)


def test_region_overlaps_splits_union_into_regions():
    a = np.zeros((20, 20), np.uint8)
    b = np.zeros((20, 20), np.uint8)
    a[1:5, 1:5] = 1
    b[1:5, 3:7] = 2
    a[12:15, 12:15] = 1  # only a
    regions = sorted(region_overlaps([a, b]), key=lambda r: r.bbox)
    assert len(regions) == 2
    shared, lonely = regions
    assert shared.bbox == (1, 1, 7, 5) and shared.covered_by == (0, 1)
    assert shared.iou == pytest.approx(8 / 24) and shared.classes == (1, 2)
    assert lonely.covered_by == (0,) and lonely.iou == 0.0 and lonely.area == 9
