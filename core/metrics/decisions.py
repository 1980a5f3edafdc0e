"""Figures of a detector's decisions on labelled images: the confusion matrix of "flagged" against the
labels, the precision-recall curve of the image scores (scikit-learn), and the score distributions of the
good and defect images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve


@dataclass(frozen=True)
class ConfusionMatrix:
    """Labels (good / defect) against the decision (flagged: has a region at the chosen k)."""

    good_clear: int  # true negatives
    good_flagged: int  # false alarms
    defect_clear: int  # missed defects
    defect_flagged: int  # found defects

    @property
    def n(self) -> int:
        return self.good_clear + self.good_flagged + self.defect_clear + self.defect_flagged

    @property
    def precision(self) -> float | None:
        flagged = self.good_flagged + self.defect_flagged
        return self.defect_flagged / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        defects = self.defect_clear + self.defect_flagged
        return self.defect_flagged / defects if defects else None


def confusion(is_defective: Sequence[bool], flagged: Sequence[bool]) -> ConfusionMatrix:
    y = np.asarray(is_defective, dtype=bool)
    f = np.asarray(flagged, dtype=bool)
    if y.shape != f.shape:
        raise ValueError(f"{y.size} labels for {f.size} decisions")
    return ConfusionMatrix(int(np.sum(~y & ~f)), int(np.sum(~y & f)), int(np.sum(y & ~f)), int(np.sum(y & f)))


@dataclass(frozen=True)
class PrecisionRecall:
    """Precision against recall as the image-score threshold sweeps (recall decreasing, as scikit-learn)."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    average_precision: float
    prevalence: float  # fraction of defect images: the precision of a detector that guesses


def precision_recall(scores: Sequence[float], is_defective: Sequence[bool]) -> PrecisionRecall | None:
    """None unless both good and defect images are present (the curve needs both)."""
    y = np.asarray(is_defective, dtype=bool)
    if y.all() or not y.any():
        return None
    s = np.asarray(scores, dtype=np.float64)
    precision, recall, thresholds = precision_recall_curve(y, s)
    return PrecisionRecall(precision, recall, thresholds, float(average_precision_score(y, s)), float(y.mean()))


@dataclass(frozen=True)
class ScoreHistogram:
    """Counts of the good and of the defect images per score bin (shared edges)."""

    edges: np.ndarray  # bins + 1 values
    good: np.ndarray
    defect: np.ndarray

    @property
    def n_good(self) -> int:
        return int(self.good.sum())

    @property
    def n_defect(self) -> int:
        return int(self.defect.sum())


def score_histogram(good: Sequence[float], defect: Sequence[float], bins: int = 30) -> ScoreHistogram:
    """Both distributions on the same bins, spanning every finite score given (one unit wide when all equal)."""
    g = np.asarray([v for v in good if v is not None and np.isfinite(v)], dtype=np.float64)
    d = np.asarray([v for v in defect if v is not None and np.isfinite(v)], dtype=np.float64)
    both = np.concatenate([g, d])
    if not both.size:
        return ScoreHistogram(np.linspace(0.0, 1.0, bins + 1), np.zeros(bins, np.int64), np.zeros(bins, np.int64))
    lo, hi = float(both.min()), float(both.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return ScoreHistogram(edges, np.histogram(g, edges)[0], np.histogram(d, edges)[0])
