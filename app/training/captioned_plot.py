"""The revisions panel's figures: a grey caption over a dark pyqtgraph plot that does not pan or zoom."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtWidgets


class CaptionedPlot(QtWidgets.QWidget):
    def __init__(self, x_label: str, y_label: str, min_height: int,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QtWidgets.QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.caption = QtWidgets.QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #9aa0a8;")
        self.plot = pg.PlotWidget(background="#1e2126")
        self.plot.setMinimumHeight(min_height)
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMouseEnabled(x=False, y=False)
        self.box.addWidget(self.caption)
        self.box.addWidget(self.plot)
