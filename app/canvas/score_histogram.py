"""Beside the threshold slider: the image scores of the labelled images, good and defect in two colours,
with the image on screen marked, so the engineer sees how well the scores separate the labels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from core.metrics.decisions import ScoreHistogram, score_histogram

GOOD_COLOR = (76, 175, 80)
DEFECT_COLOR = (224, 80, 80)
BINS = 24


class ScoreHistogramView(pg.PlotWidget):
    """A small plot without axes: two step histograms over shared bins, each scaled to its own peak (the
    tooltip gives the counts), and a line at the current score."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="#1e2126")
        self.setFixedHeight(40)
        self.setMinimumWidth(90)  # shrinks before the slider's row overflows a 1280-pixel screen
        self.setMaximumWidth(220)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.getPlotItem().setContentsMargins(0, 0, 0, 0)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.good = pg.PlotDataItem([0, 1], [0], stepMode="center", fillLevel=0,
                                    pen=pg.mkPen(GOOD_COLOR, width=1), brush=pg.mkBrush(*GOOD_COLOR, 110))
        self.defect = pg.PlotDataItem([0, 1], [0], stepMode="center", fillLevel=0,
                                      pen=pg.mkPen(DEFECT_COLOR, width=1), brush=pg.mkBrush(*DEFECT_COLOR, 110))
        self.current = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ffffff", width=1))
        self.current.hide()
        for item in (self.good, self.defect, self.current):
            self.addItem(item)
        self.histogram: ScoreHistogram = score_histogram([], [], BINS)
        self.set_scores([], [])

    def set_scores(self, good, defect) -> None:
        """Scores of the images labelled good and of those labelled defect (None entries are skipped)."""
        h = self.histogram = score_histogram(good, defect, BINS)
        # each class to its own height: a few defects beside thousands of good images still show their shape
        self.good.setData(h.edges, h.good / max(1, int(h.good.max(initial=0))))
        self.defect.setData(h.edges, h.defect / max(1, int(h.defect.max(initial=0))))
        self._fit_x()
        self.setYRange(0, 1, padding=0.05)
        if h.n_good + h.n_defect:
            text = (f"Image scores of the labelled images: {h.n_good} good (green), {h.n_defect} defect (red), "
                    f"from {h.edges[0]:.3g} to {h.edges[-1]:.3g}.\nThe white line is the image on screen.")
        else:
            text = "Image scores of the labelled images (good in green, defect in red): none labelled and scored yet."
        self.setToolTip(text)

    def set_current(self, score: float | None) -> None:
        visible = score is not None and np.isfinite(score)
        self.current.setVisible(bool(visible))
        if visible:
            self.current.setValue(float(score))
        self._fit_x()

    def _fit_x(self) -> None:
        """The labelled images' scores, widened to the image on screen when its score lies outside them."""
        lo, hi = float(self.histogram.edges[0]), float(self.histogram.edges[-1])
        if self.current.isVisible():
            lo, hi = min(lo, self.current.value()), max(hi, self.current.value())
        self.setXRange(lo, hi, padding=0.02)
