"""The threshold slider with the distribution of the images' strongest regions painted behind its groove."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.canvas.threshold_scale import STEPS, ThresholdScale


class ThresholdSlider(QtWidgets.QSlider):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(QtCore.Qt.Orientation.Horizontal, parent)
        self.setRange(0, STEPS)
        self.setMinimumHeight(24)
        self.counts = ThresholdScale().histogram()

    def set_scale(self, scale: ThresholdScale) -> None:
        self.counts = scale.histogram()
        self.setToolTip(
            "A contrario threshold: at k, a region is shown when its NFA is at most 10^-k,\n"
            "i.e. about one false alarm per 10^k images on defect-free parts.\n"
            f"Log scale from k = 0 to k = {scale.k_max:g}, the strongest region of the project;\n"
            "the bars count images by their strongest region."
        )
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        top = int(self.counts.max()) if self.counts.size else 0
        if top > 0:
            p = QtGui.QPainter(self)
            handle = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_SliderLength, None, self)
            left, width, height = handle / 2, self.width() - handle, self.height() - 2
            bar = width / len(self.counts)
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(QtGui.QColor(57, 255, 136, 45))
            for i, c in enumerate(self.counts):
                if c:
                    h = max(2.0, height * float(c) / top)
                    p.drawRect(QtCore.QRectF(left + i * bar, height - h + 1, max(1.0, bar - 1), h))
            p.end()
        super().paintEvent(event)
