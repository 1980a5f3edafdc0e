"""The comparison of two revisions drawn: confusion matrices at k (labels against "has a region at k") and
the precision-recall curves of the image scores, on the labelled images both revisions were scored on."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.training.captioned_plot import CaptionedPlot
from core.metrics.decisions import ConfusionMatrix
from core.models.validation import ComparisonCurves, RevisionDecisions

COLORS = {"A": "#64b5f6", "B": "#ffb74d"}
RIGHT, WRONG = "rgba(76, 175, 80, 70)", "rgba(224, 80, 80, 70)"
ROWS = ("good", "defect")
COLUMNS = ("clear", "flagged")


class ConfusionGrid(QtWidgets.QWidget):
    """A 2 x 2 table: rows are the labels, columns the decision; right cells green, wrong ones red."""

    def __init__(self, side: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        self.title = QtWidgets.QLabel(side)
        self.title.setStyleSheet(f"color: {COLORS[side]}; font-weight: 600;")
        grid.addWidget(self.title, 0, 0, 1, 3)
        for col, name in enumerate(COLUMNS):
            grid.addWidget(self._head(name), 1, col + 1)
        self.cells: dict[tuple[str, str], QtWidgets.QLabel] = {}
        for row, truth in enumerate(ROWS):
            grid.addWidget(self._head(truth), row + 2, 0)
            for col, decision in enumerate(COLUMNS):
                cell = QtWidgets.QLabel("—")
                cell.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                cell.setMinimumWidth(44)
                right = (truth == "defect") == (decision == "flagged")
                cell.setStyleSheet(f"background: {RIGHT if right else WRONG}; padding: 2px 6px;")
                self.cells[(truth, decision)] = cell
                grid.addWidget(cell, row + 2, col + 1)
        self.rates = QtWidgets.QLabel("")
        self.rates.setStyleSheet("color: #9aa0a8;")
        grid.addWidget(self.rates, 4, 0, 1, 3)

    @staticmethod
    def _head(text: str) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setStyleSheet("color: #9aa0a8;")
        return label

    def set_matrix(self, title: str, m: ConfusionMatrix | None) -> None:
        self.title.setText(title)
        values = {} if m is None else {("good", "clear"): m.good_clear, ("good", "flagged"): m.good_flagged,
                                       ("defect", "clear"): m.defect_clear, ("defect", "flagged"): m.defect_flagged}
        for key, cell in self.cells.items():
            cell.setText(str(values[key]) if key in values else "—")
        if m is None:
            self.rates.setText("")
            return
        pct = lambda v: "—" if v is None else f"{100 * v:.0f} %"  # noqa: E731
        self.rates.setText(f"precision {pct(m.precision)} · recall {pct(m.recall)}")


class ComparisonPlot(CaptionedPlot):
    """Caption, the two confusion matrices side by side, then both precision-recall curves on one plot."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("recall (defect images found)", "precision", 170, parent)
        grids = QtWidgets.QHBoxLayout()
        self.grid_a, self.grid_b = ConfusionGrid("A"), ConfusionGrid("B")
        grids.addWidget(self.grid_a)
        grids.addSpacing(12)
        grids.addWidget(self.grid_b)
        grids.addStretch(1)
        self.box.insertLayout(1, grids)  # between the caption and the plot
        self.plot.setMaximumHeight(240)  # the tables below keep the rest of the dock
        self.plot.enableAutoRange(enable=False)  # recall and precision: always the unit square
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
        self.legend = self.plot.addLegend(offset=(-4, -4))
        self.chance = pg.InfiniteLine(angle=0, pen=pg.mkPen("#9aa0a8", width=1, style=QtCore.Qt.PenStyle.DashLine))
        self.plot.addItem(self.chance)
        self.curves = {side: self.plot.plot([], [], pen=pg.mkPen(COLORS[side], width=2), name=side) for side in COLORS}
        # The decision at k on the same axes: where "has a region at k" sits among the score thresholds.
        self.points = {side: self.plot.plot([], [], pen=None, symbol="o", symbolSize=9, symbolPen="#ffffff",
                                            symbolBrush=COLORS[side]) for side in COLORS}
        self.curves_shown: ComparisonCurves | None = None
        self.set_curves(None)

    def set_curves(self, curves: ComparisonCurves | None, pending: bool = False) -> None:
        self.curves_shown = curves
        self.setVisible(curves is not None or pending)
        if curves is None:
            for side in COLORS:
                self._show(side, None)
            self.caption.setText("Confusion matrices and precision-recall: computing..." if pending else "")
            self.chance.hide()
            return
        self._show("A", curves.a, curves.k)
        self._show("B", curves.b, curves.k)
        n = len(curves.image_ids)
        self.caption.setText(
            f"On {n} labelled images scored by both ({curves.n_good} good, {curves.n_defect} defect; training images "
            f"of either left out). Matrices: labels against a region at k = {curves.k:g}; curves: image scores, "
            "dots: the decision at k, dashed: a guess.")
        if curves.a.pr is not None:
            self.chance.setValue(curves.a.pr.prevalence)
            self.chance.show()
        else:
            self.chance.hide()

    def _show(self, side: str, rev: RevisionDecisions | None, k: float = 0.0) -> None:
        grid = self.grid_a if side == "A" else self.grid_b
        grid.set_matrix(f"{side}: #{rev.revision_id} at k = {k:g}" if rev else side, rev.confusion if rev else None)
        pr = rev.pr if rev is not None else None
        if pr is None:
            self.curves[side].setData([], [])
        else:
            self.curves[side].setData(pr.recall, pr.precision)
        self.legend.getLabel(self.curves[side]).setText(
            f"{side} #{rev.revision_id}" + (f"  AP {pr.average_precision:.2f}" if pr is not None else "") if rev else side)
        m = rev.confusion if rev is not None else None
        if m is not None and m.recall is not None and m.precision is not None:
            self.points[side].setData([m.recall], [m.precision])
        else:
            self.points[side].setData([], [])
