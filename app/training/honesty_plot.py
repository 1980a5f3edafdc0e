"""The honesty curve in the revisions panel: measured regions per labelled-good image against 10^-k."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from app.training.captioned_plot import CaptionedPlot
from core.models.honesty import HonestyCurve


class HonestyPlot(CaptionedPlot):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("k", "regions per good image", 150, parent)
        self.plot.setLogMode(x=False, y=True)
        self.plot.addLegend(offset=(-4, 4))
        self.nominal = self.plot.plot([], [], pen=pg.mkPen("#9aa0a8", width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                                      name="nominal 10^-k")
        self.measured = self.plot.plot([], [], pen=pg.mkPen("#39ff88", width=2), symbol="o", symbolSize=6,
                                       symbolBrush="#39ff88", name="measured")
        self.floor = pg.InfiniteLine(angle=0, pen=pg.mkPen("#fb8c00", width=1, style=pg.QtCore.Qt.PenStyle.DotLine))
        self.plot.addItem(self.floor)
        self.curve: HonestyCurve | None = None
        self.set_curve(None)

    def set_curve(self, curve: HonestyCurve | None, pending: bool = False) -> None:
        self.curve = curve
        if curve is None or not curve.n_good:
            self.nominal.setData([], [])
            self.measured.setData([], [])
            self.floor.hide()
            self.caption.setText("Honesty curve: computing..." if pending else
                                 "Honesty curve: no scored, labelled-good image outside the training set yet.")
            return
        ks = np.array(curve.ks, dtype=float)
        self.nominal.setData(ks, np.array(curve.nominal))
        measured = np.array(curve.regions_per_good_image)
        keep = measured > 0  # a log axis cannot show zero: the floor line marks "fewer than one region in all"
        self.measured.setData(ks[keep], measured[keep])
        self.floor.setValue(math.log10(curve.resolution()))
        self.floor.show()
        zero = [f"{k:g}" for k, m in zip(curve.ks, measured) if m == 0]
        self.caption.setText(
            f"Honesty curve on {curve.n_good} labelled-good images (training images left out); dotted: one region "
            f"in all of them" + (f"; no region at k = {', '.join(zero)}" if zero else ""))
