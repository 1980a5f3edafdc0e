"""The controls under the canvas, in two rows so the window fits a 1280-pixel-wide screen: the threshold k
(slider on the scale of the project's scores, its label, the score histograms) above; the overlay switches,
opacity and verdict buttons below. Overlay and opacity act on the canvas directly; the window hears of a new
k (`kChanged`) and of a verdict button (`verdictClicked`)."""

from __future__ import annotations

from typing import Iterable

from PySide6 import QtCore, QtWidgets

from app.canvas.canvas import ImageCanvas
from app.canvas.score_histogram import ScoreHistogramView
from app.canvas.threshold_scale import ThresholdScale, label_text
from app.canvas.threshold_slider import ThresholdSlider
from app.review.actions import ActionRegistry
from core.domain.enums import Verdict

DEFAULT_K = 2.0
KEY_STEP = 25  # slider positions per [ or ] press (of 1000, log scale)


class ReviewControls(QtWidgets.QWidget):
    kChanged = QtCore.Signal(float)
    verdictClicked = QtCore.Signal(str)

    def __init__(self, canvas: ImageCanvas, registry: ActionRegistry, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        rows = QtWidgets.QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        top = QtWidgets.QHBoxLayout()
        top.setSpacing(8)
        h = QtWidgets.QHBoxLayout()
        h.setSpacing(8)
        rows.addLayout(top)
        rows.addLayout(h)
        self.threshold_scale = ThresholdScale()
        self._k = DEFAULT_K
        self._exact_k: float | None = None
        self.threshold_slider = ThresholdSlider()
        self.threshold_slider.set_scale(self.threshold_scale)
        self.threshold_slider.setValue(self.threshold_scale.to_position(DEFAULT_K))
        self.threshold_slider.setMinimumWidth(160)
        self.threshold_label = QtWidgets.QLabel()
        self._fit_threshold_label()
        self.score_histogram = ScoreHistogramView()
        self.opacity_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(55)
        self.opacity_slider.setFixedWidth(110)
        self.overlay_check = QtWidgets.QCheckBox("Anomaly map")
        self.overlay_check.setChecked(True)
        self.outline_check = QtWidgets.QCheckBox("Regions")
        self.outline_check.setChecked(True)
        self.truth_check = QtWidgets.QCheckBox("Label masks")
        self.truth_check.setChecked(True)
        self.truth_check.setToolTip("Dashed outline of the reference mask (adjudicated, else imported ground truth)")
        top.addWidget(QtWidgets.QLabel("Threshold"))
        top.addWidget(self.threshold_slider, 2)
        top.addWidget(self.threshold_label)
        top.addWidget(self.score_histogram, 1)
        h.addWidget(self.overlay_check)
        h.addWidget(QtWidgets.QLabel("Opacity"))
        h.addWidget(self.opacity_slider)
        h.addWidget(self.outline_check)
        h.addWidget(self.truth_check)
        h.addStretch(1)
        self.verdict_buttons: dict[str, QtWidgets.QPushButton] = {}
        for verdict in Verdict:
            action_id = f"verdict_{verdict}"
            button = QtWidgets.QPushButton(verdict.capitalize())
            button.setObjectName(action_id)
            keys = registry.keys(action_id)
            button.setToolTip(f"{registry.specs[action_id].text} ({', '.join(keys)})")
            button.clicked.connect(lambda _=False, v=verdict.value: self.verdictClicked.emit(v))
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            self.verdict_buttons[verdict.value] = button
            h.addWidget(button)
        self.threshold_slider.valueChanged.connect(self._on_threshold)
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.set_opacity(v / 100.0))
        self.overlay_check.toggled.connect(self.canvas.set_overlays_visible)
        self.outline_check.toggled.connect(self.canvas.set_outlines_visible)
        self.truth_check.toggled.connect(self.canvas.set_truth_visible)
        for w in (self.threshold_slider, self.opacity_slider, self.overlay_check, self.outline_check, self.truth_check):
            w.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self._on_threshold(self.threshold_slider.value())
        self.canvas.set_opacity(self.opacity_slider.value() / 100.0)

    # ---- threshold -----------------------------------------------------------------------------------
    @property
    def k(self) -> float:
        return self._k

    def set_k(self, k: float) -> None:
        """Set the threshold to exactly k (the slider shows the nearest position)."""
        k = min(max(float(k), 0.0), self.threshold_scale.k_max)
        position = self.threshold_scale.to_position(k)
        self._exact_k = k
        if self.threshold_slider.value() == position:
            self._on_threshold(position)
        else:
            self.threshold_slider.setValue(position)

    def restore_k(self, k: float) -> None:
        """The k a project was left at; applied, quietly, by the next `set_scale`."""
        self._k = float(k)

    def set_scale(self, strengths: Iterable[float]) -> None:
        """Fit the slider's scale to the region strengths (−log10 NFA) of the project; k is kept (quietly), within
        the new scale."""
        self.threshold_scale = ThresholdScale(strengths)
        self.threshold_slider.set_scale(self.threshold_scale)
        self._fit_threshold_label()
        k = min(self._k, self.threshold_scale.k_max)
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(self.threshold_scale.to_position(k))
        self.threshold_slider.blockSignals(False)
        self._k = k
        self.threshold_label.setText(label_text(k))
        self.canvas.set_threshold(k)

    def nudge_threshold(self, steps: int) -> None:
        self.threshold_slider.setValue(self.threshold_slider.value() + steps * KEY_STEP)

    def nudge_opacity(self, percent: int) -> None:
        self.opacity_slider.setValue(self.opacity_slider.value() + percent)

    def _fit_threshold_label(self) -> None:
        """Wide enough for the longest text of the current scale: never cut, never jumping."""
        longest = label_text(self.threshold_scale.k_max + 0.5)
        self.threshold_label.setMinimumWidth(self.threshold_label.fontMetrics().horizontalAdvance(longest) + 8)

    def _on_threshold(self, value: int) -> None:
        exact, self._exact_k = self._exact_k, None
        k = exact if exact is not None else self.threshold_scale.to_k(value)
        self._k = k
        self.threshold_label.setText(label_text(k))
        self.canvas.set_threshold(k)
        self.kChanged.emit(k)
