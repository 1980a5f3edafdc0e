"""The gallery panel left of the canvas: batch, filter, label source and sort drop-downs, the thumbnails, the count."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.gallery.filtering import ANY, FILTERS, MINE, SORTS, label_sources, shown_label
from app.gallery.gallery import GalleryView


class GalleryPanel(QtCore.QObject):
    """Builds `widget` and its `batch_box`, `filter_box`, `label_box`, `sort_box`, `gallery` and `count_label`.
    Uses the window's `project`, `model`, `rows`, `session`, `current_image_id`, `views`, `controls`, `item_header`,
    `annotator`, `k`, `refresh_counts()`, `show_position()` and `focus_canvas()`."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.widget = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(self.widget)
        lv.setContentsMargins(6, 6, 0, 6)
        lv.setSpacing(4)
        self.batch_box = QtWidgets.QComboBox()
        self.filter_box = QtWidgets.QComboBox()
        for key, text in FILTERS.items():
            self.filter_box.addItem(text, key)
        self.sort_box = QtWidgets.QComboBox()
        for key, text in SORTS.items():
            self.sort_box.addItem(text, key)
        self.label_box = QtWidgets.QComboBox()
        self.label_box.setToolTip("Whose labels the gallery shows and filters on")
        form = QtWidgets.QFormLayout()
        form.setContentsMargins(0, 0, 6, 0)
        form.addRow("Batch", self.batch_box)
        form.addRow("Show", self.filter_box)
        form.addRow("Labels", self.label_box)
        form.addRow("Sort", self.sort_box)
        lv.addLayout(form)
        self.gallery = GalleryView()
        self.gallery.setMinimumWidth(self.gallery.gridSize().width() + 24)  # one column when a dock needs room
        lv.addWidget(self.gallery, 1)
        self.count_label = QtWidgets.QLabel("")
        self.count_label.setStyleSheet("color: #9aa0a8;")
        lv.addWidget(self.count_label)

        for box in (self.filter_box, self.sort_box, self.batch_box, self.label_box):
            box.currentIndexChanged.connect(self.apply_filter)
        # During review the canvas owns the keys: the drop-downs take focus only when clicked and give it
        # back once a choice is made, so Space, Enter and the letter keys never reach them by accident.
        for box in (self.batch_box, self.filter_box, self.label_box, self.sort_box):
            box.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
            # Long batch or annotator names elide in the box instead of widening the window.
            box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)
            box.activated.connect(lambda _i: window.focus_canvas())

    def apply_filter(self) -> None:
        w = self.window
        if w.project is None:
            return
        w.model.apply(self.filter_box.currentData(), self.sort_box.currentData(), self.batch_box.currentData(), w.k,
                      self.label_box.currentData() or ANY)
        w.session.set_order(w.model.row_at(pos).image_id for pos in range(w.model.rowCount()))
        w.refresh_counts()
        self.update_score_histogram()
        pos = w.session.kept_or_first()
        if pos is not None:
            w.show_position(pos)
        else:
            w.current_image_id = None
            w.views.clear_canvas()
            w.item_header.show_none("No image matches this filter")

    def set_filter(self, key: str) -> None:
        self.filter_box.setCurrentIndex(self.filter_box.findData(key))

    def set_batch(self, batch_id: int | None) -> None:
        """Show one batch in the gallery, or all of them (None)."""
        index = 0 if batch_id is None else self.batch_box.findData(batch_id)
        if index >= 0:
            self.batch_box.setCurrentIndex(index)

    def set_sort(self, key: str) -> None:
        self.sort_box.setCurrentIndex(self.sort_box.findData(key))

    def refresh_label_sources(self, keep: str | None = None) -> None:
        """The Labels drop-down: Any, Mine and every annotator of the rows (the choice is kept, or `keep`)."""
        box = self.label_box
        keep = keep or box.currentData() or ANY
        box.blockSignals(True)
        box.clear()
        box.addItem("Any", ANY)
        box.setItemData(0, "Mine, else adjudicated, else imported ground truth, else what the other "
                           "annotators agree on", QtCore.Qt.ItemDataRole.ToolTipRole)
        box.addItem(f"Mine ({self.window.annotator or 'no name yet'})", MINE)
        for who in label_sources(self.window.rows):
            box.addItem(who, who)
        box.setCurrentIndex(max(0, box.findData(keep)))
        box.blockSignals(False)

    def offers_label_source(self, annotator: str) -> bool:
        """Whether the Labels drop-down lists `annotator`."""
        return self.label_box.findData(annotator) >= 0

    def refresh_count(self) -> None:
        self.count_label.setText(f"{self.window.model.rowCount()} of {len(self.window.rows)} images shown")

    def update_score_histogram(self) -> None:
        """The distributions beside the slider: scores of the images labelled good and defect, by the label
        source the gallery shows (called when rows are read again, e.g. after scoring, and when labels change)."""
        source = self.label_box.currentData() or ANY
        by_label: dict[str, list[float]] = {"good": [], "defect": []}
        for r in self.window.rows:
            if r.score is not None:
                verdict, _who = shown_label(r, source)
                if verdict in by_label:
                    by_label[verdict].append(r.score)
        self.window.controls.score_histogram.set_scores(by_label["good"], by_label["defect"])
