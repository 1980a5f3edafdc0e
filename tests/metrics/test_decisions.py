"""Confusion matrix, precision-recall and score histograms of labelled images (core.metrics.decisions)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from core.metrics.decisions import confusion, precision_recall, score_histogram


def test_confusion_counts_labels_against_decisions():
    m = confusion([False, False, False, True, True], [False, True, False, True, False])
    assert (m.good_clear, m.good_flagged, m.defect_clear, m.defect_flagged) == (2, 1, 1, 1)
    assert m.n == 5 and m.precision == 0.5 and m.recall == 0.5
    none_flagged = confusion([True, False], [False, False])
    assert none_flagged.precision is None and none_flagged.recall == 0.0
    with pytest.raises(ValueError):
        confusion([True], [True, False])


def test_precision_recall_needs_both_labels():
    assert precision_recall([0.1, 0.2], [False, False]) is None
    scores, y = [0.1, 0.4, 0.35, 0.8, 0.7], [False, False, True, True, False]
    pr = precision_recall(scores, y)
    assert pr.average_precision == average_precision_score(y, scores)
    assert pr.recall[0] == 1.0 and pr.recall[-1] == 0.0 and pr.prevalence == 0.4


def test_score_histogram_shares_bins_between_good_and_defect():
    h = score_histogram([0.0, 0.1, 0.2, None, float("nan")], [0.9, 1.0], bins=10)
    assert len(h.edges) == 11 and h.edges[0] == 0.0 and h.edges[-1] == 1.0
    assert (h.n_good, h.n_defect) == (3, 2) and h.good[0] == 1 and h.defect[-1] == 2
    same = score_histogram([0.5, 0.5], [], bins=4)
    assert same.edges[0] < 0.5 < same.edges[-1] and same.n_good == 2
    empty = score_histogram([], [], bins=4)
    assert empty.n_good == empty.n_defect == 0 and np.all(np.diff(empty.edges) > 0)
