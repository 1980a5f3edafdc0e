"""Patch-PCA filters, Gabor bank and the Mahalanobis distance on real and synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from skimage import data

from core.models.classic.distance import mahalanobis_sq
from core.models.classic.features import gabor_features, patch_pca_features, patch_pca_filters
from core.models.classic.filtering import correlate_bank
from core.nfa.tails import log10_chi2_sf


def test_patch_pca_filters_are_orthonormal_and_ordered():
    image = data.brick()[:200, :200].astype(np.float32)
    filters, variances = patch_pca_filters(image, 9, 20, 5000, np.random.default_rng(0))
    assert filters.shape == (20, 9, 9)
    flat = filters.reshape(20, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(20), atol=1e-6)
    assert np.all(np.diff(variances) <= 0)


def test_patch_pca_responses_are_inner_products_with_centred_patches():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(40, 50)).astype(np.float32)
    kernels = rng.normal(size=(3, 5, 5)).astype(np.float32)
    out = correlate_bank(image, kernels)
    y, x = 17, 23
    expected = (kernels * image[y - 2:y + 3, x - 2:x + 3]).sum(axis=(1, 2))
    np.testing.assert_allclose(out[:, y, x], expected, rtol=1e-4, atol=1e-4)
    big = rng.normal(size=(2, 15, 15)).astype(np.float32)  # goes through the FFT
    out = correlate_bank(image, big)
    expected = (big * image[y - 7:y + 8, x - 7:x + 8]).sum(axis=(1, 2))
    np.testing.assert_allclose(out[:, y, x], expected, rtol=1e-3, atol=1e-3)


def _independent_samples(d2: np.ndarray, step: int) -> np.ndarray:
    return d2[step:-step:step, step:-step:step].ravel()


@pytest.mark.parametrize("variant", ["patch_pca", "gabor"])
def test_distance_is_chi_square_on_gaussian_noise(variant):
    rng = np.random.default_rng(2)
    image = (128 + 20 * rng.normal(size=(256, 256))).astype(np.float32)
    if variant == "patch_pca":
        feats, step = patch_pca_features(image, 7, 8, 10000, rng), 7
    else:
        feats, step = gabor_features(image, 4, (4.0,)), 15
    d2, dof = mahalanobis_sq(feats)
    assert dof == feats.shape[0]
    samples = _independent_samples(d2, step)
    assert len(samples) > 200
    assert stats.kstest(samples, stats.chi2(dof).cdf).pvalue > 0.01
    # the same test does reject a wrong number of degrees of freedom
    assert stats.kstest(samples, stats.chi2(dof + 3).cdf).pvalue < 1e-4


def test_log10_chi2_sf_is_exact_and_finite_in_the_far_tail():
    x = np.array([1.0, 10.0, 50.0, 200.0])
    np.testing.assert_allclose(log10_chi2_sf(x, 16), stats.chi2(16).logsf(x) / np.log(10), rtol=1e-9)
    far = log10_chi2_sf(np.array([2000.0, 5000.0, 20000.0]), 16)  # x = 2 z
    assert np.all(np.isfinite(far)) and np.all(np.diff(far) < 0)
    # leading behaviour of the tail: log Q(a, z) ~ -z + (a - 1) ln z - ln Gamma(a)
    z, a = 10000.0, 8.0
    approx = -z + (a - 1) * np.log(z) - np.log(5040.0)  # Gamma(8) = 7!
    assert abs(far[2] - approx / np.log(10)) < 0.01
