"""The header above the canvas: the item's batch and title, its verdict badge, and the region summary label."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.gallery.filtering import shown_label
from app.gallery.gallery import VERDICT_COLORS
from app.store_access import ImageRow


class ItemHeader(QtCore.QObject):
    """Builds `layout` and its `title_label`, `verdict_label` and `region_label` (which `Regions` writes).
    Uses the window's `model`, `current_image_id`, `controls` and `regions`."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.layout = QtWidgets.QHBoxLayout()
        self.title_label = QtWidgets.QLabel("No project open")
        self.title_label.setObjectName("itemTitle")
        self.verdict_label = QtWidgets.QLabel("")
        self.verdict_label.setObjectName("verdictBadge")
        self.region_label = QtWidgets.QLabel("")
        self.region_label.setStyleSheet("color: #9aa0a8;")
        self.layout.addWidget(self.title_label)
        self.layout.addWidget(self.verdict_label)
        self.layout.addStretch(1)
        self.layout.addWidget(self.region_label)

    def show_row(self, row: ImageRow | None) -> None:
        if row is None:
            return
        w = self.window
        w.controls.score_histogram.set_current(row.score)
        self.title_label.setText(f"{row.batch_name}  /  {row.title}")
        v, who = shown_label(row, w.model.label_source)
        self.verdict_label.setText((v if who == "me" else f"{v} ({who})") if v else "unreviewed")
        color = VERDICT_COLORS.get(v or "", "#4a4f57")
        style = f"background: {color}; color: white;" if who == "me" or not v else f"border: 1px solid {color}; color: {color};"
        self.verdict_label.setStyleSheet(style)
        w.regions.update_summary()

    def refresh(self) -> None:
        """The header of the image on screen (its verdict, label, score and regions) read again from its row."""
        w = self.window
        if w.current_image_id is not None:
            self.show_row(w.model.row_by_image(w.current_image_id))

    def show_none(self, title: str) -> None:
        """No image on screen: `title` instead of one, no verdict, no score marked beside the slider."""
        self.title_label.setText(title)
        self.verdict_label.setText("")
        self.window.controls.score_histogram.set_current(None)
