import math

import mpmath
import numpy as np
import pytest
from scipy.stats import chi2

from core.nfa import log10_chernoff, log10_chi2_sf, log10_level_pfa


@pytest.mark.parametrize("dof", [1, 20, 56, 160, 192, 816])
def test_exact_tail_matches_scipy_where_scipy_is_finite(dof):
    x = np.linspace(0.1, 6 * dof + 50, 400)
    reference = chi2.logsf(x, dof) / math.log(10)
    finite = np.isfinite(reference) & (reference > -300)
    np.testing.assert_allclose(log10_chi2_sf(x, dof)[finite], reference[finite], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dof,x", [(816, 5000.0), (816, 1e5), (20, 3000.0), (192, 2500.0), (1, 1500.0), (56, 1e6)])
def test_exact_tail_far_beyond_float_underflow(dof, x):
    assert chi2.sf(x, dof) == 0.0  # scipy underflows here
    exact = float(mpmath.log10(mpmath.gammainc(dof / 2, x / 2, mpmath.inf, regularized=True)))
    assert log10_chi2_sf(x, dof) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("dof", [1, 20, 816])
def test_exact_tail_is_monotone_and_below_chernoff(dof):
    x = np.linspace(dof * 1.001, dof * 40, 5000)
    exact = log10_chi2_sf(x, dof)
    assert np.all(np.diff(exact) < 0)
    assert np.all(exact <= log10_chernoff(x, dof) + 1e-12)


def test_chernoff_matches_equation_and_is_zero_below_dof():
    dof, x = 816, 2000.0
    expected = dof / (2 * math.log(10)) * (1 + math.log(x / dof) - x / dof)
    assert log10_chernoff(x, dof) == pytest.approx(expected)
    assert log10_chernoff(0.95**2 * dof, dof) == 0.0


@pytest.mark.parametrize("tail", ["exact", "chernoff"])
def test_level_pfa_is_zero_for_too_normal_levels(tail):
    dof = 192
    levels = np.array([0.0, 0.5 * dof, dof, dof + 1e-9, 1.5 * dof])
    pfa = log10_level_pfa(levels, dof, tail)
    assert np.all(pfa[:3] == 0.0)
    assert pfa[4] < pfa[3] <= 0.0


def test_level_pfa_rejects_unknown_tail():
    with pytest.raises(ValueError):
        log10_level_pfa([1.0], 3, "gaussian")
