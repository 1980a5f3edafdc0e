import numpy as np
import pytest

from core.metrics.overlap import iou, mean_iou
from core.metrics.pro import aupro, pro_curve
from core.metrics.ranking import image_auroc, pixel_auroc


def test_image_auroc_hand_cases():
    assert image_auroc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert image_auroc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0
    # one of four (good, defect) pairs is mis-ordered -> 0.75
    assert image_auroc([0.1, 0.5, 0.4, 0.9], [False, False, True, True]) == pytest.approx(0.75)
    assert np.isnan(image_auroc([0.1, 0.2], [False, False]))


def test_pixel_auroc_pools_all_pixels():
    maps = [np.array([[0.0, 1.0]]), np.array([[0.5, 0.2]])]
    masks = [np.array([[False, True]]), np.array([[False, False]])]
    assert pixel_auroc(maps, masks) == 1.0
    masks = [np.array([[False, False]]), np.array([[True, False]])]
    # defect pixel scored 0.5: above 0.0 and 0.2, below 1.0 -> 2 of 3 pairs
    assert pixel_auroc(maps, masks) == pytest.approx(2 / 3)


def test_pro_curve_and_aupro_by_hand():
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = mask[0, 1] = True  # region A, 2 pixels
    mask[3, 3] = True  # region B, 1 pixel
    amap = np.zeros((4, 4))
    amap[0, 0] = 1.0
    amap[3, 3] = 0.5
    fpr, pro = pro_curve([amap], [mask])
    np.testing.assert_allclose(fpr, [0, 0, 0, 1])
    np.testing.assert_allclose(pro, [0, 0.25, 0.75, 1.0])
    # PRO at FPR 0.3 interpolates 0.75 -> 1.0: 0.825; area = 0.3 * (0.75 + 0.825) / 2, normalised by 0.3
    assert aupro([amap], [mask]) == pytest.approx((0.75 + 0.825) / 2)


def test_aupro_perfect_and_region_weighting():
    mask = np.zeros((10, 10), bool)
    mask[:5, :5] = True  # big region
    mask[9, 9] = True  # tiny region
    perfect = mask.astype(float)
    assert aupro([perfect], [mask]) == pytest.approx(1.0)
    # finding only the big region gives PRO 0.5 until normal pixels start to fire
    big_only = np.zeros((10, 10))
    big_only[:5, :5] = 1.0
    fpr, pro = pro_curve([big_only], [mask])
    assert pro[1] == pytest.approx(0.5) and fpr[1] == 0.0
    # normal pixels count across images; a defect-free image adds only false positives
    assert aupro([perfect, np.zeros((10, 10))], [mask, np.zeros((10, 10), bool)]) == pytest.approx(1.0)


def test_iou():
    a = np.array([[1, 1, 0, 0]], bool)
    b = np.array([[0, 1, 1, 0]], bool)
    assert iou(a, b) == pytest.approx(1 / 3)
    assert iou(np.zeros(3, bool), np.zeros(3, bool)) == 1.0
    assert mean_iou([a, a], [b, a]) == pytest.approx((1 / 3 + 1) / 2)
