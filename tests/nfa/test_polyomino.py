import math

import pytest

from core.nfa import log10_polyomino_nt
from core.nfa.polyomino import POLYOMINO_ALPHA, POLYOMINO_BETA


def brute_force_log10_nt(shapes):
    total = 0.0
    for h, w in shapes:
        n = h * w
        total += n * sum(POLYOMINO_ALPHA * POLYOMINO_BETA**r / r for r in range(1, n + 1))
    return math.log10(total)


@pytest.mark.parametrize("shapes", [[(1, 1)], [(2, 3)], [(5, 5)], [(8, 8), (4, 4)], [(12, 10), (6, 5), (3, 3)]])
def test_matches_brute_force_sum(shapes):
    assert log10_polyomino_nt(shapes) == pytest.approx(brute_force_log10_nt(shapes), rel=1e-12)


def test_uflow_shape_and_channel_axis_is_ignored():
    # dominated by the last term of the finest scale: n log10(beta) + log10(alpha / (1 - 1/beta))
    n = 28 * 28
    approx = n * math.log10(POLYOMINO_BETA) + math.log10(POLYOMINO_ALPHA / (1 - 1 / POLYOMINO_BETA))
    value = log10_polyomino_nt([(816, 28, 28), (192, 14, 14)])
    assert value == pytest.approx(approx, abs=1e-3)
    assert value == log10_polyomino_nt([(28, 28), (14, 14)])


def test_large_scale_stays_finite():
    assert math.isfinite(log10_polyomino_nt([(192, 192)]))


def test_rejects_empty():
    with pytest.raises(ValueError):
        log10_polyomino_nt([])
    with pytest.raises(ValueError):
        log10_polyomino_nt([(0, 4)])
