"""Adjudication view: annotators side by side, the vote map, and the result being decided.

Actions: take one annotator, majority, union, intersection, then paint/erase on the result. Every action
is an undoable edit of the result; saving appends an "adjudicated" revision citing the annotations shown.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from scipy import ndimage

from app.labels.mask_layer import MaskEditor, MaskItem, Tool
from core.io.pixels import to_uint8
from core.labels.classes import ClassInfo, class_lut
from core.labels.findings import Comparison
from core.labels.mask_ops import combine_masks, diff_delta
from core.metrics.agreement import dice, iou

BACKGROUND = "#1e2126"
TITLE_COLOR = "#d0d4da"
VOTE_ALL = (57, 217, 138, 175)
VOTE_SOME = (255, 92, 138, 200)
MAX_ANNOTATORS = 4


def vote_lut(n: int) -> np.ndarray:
    """RGBA per vote count: none transparent, some orange, all green."""
    lut = np.zeros((256, 4), dtype=np.uint8)
    lut[1:n] = VOTE_SOME
    lut[n:] = VOTE_ALL
    return lut


def _picture(pixels: np.ndarray) -> np.ndarray:
    px = to_uint8(pixels)
    if px.ndim == 3:
        px = px[:, :, :3]
    return np.ascontiguousarray(px)


class AdjudicationView(QtWidgets.QWidget):
    """Decide one image's label from its annotators' current revisions."""

    saved = QtCore.Signal(int, int)  # image id, new annotation id

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.classes: list[ClassInfo] = []
        self.method = ""
        self.project = None
        self.user = "adjudicator"

        self.header = QtWidgets.QLabel()
        self.header.setObjectName("itemTitle")
        self.summary = QtWidgets.QLabel()
        self.summary.setStyleSheet("color:#aab2bd")
        self.plots = QtWidgets.QWidget()  # a grid of panels, one GraphicsLayoutWidget each
        self.plots.setAutoFillBackground(True)
        pal = self.plots.palette()
        pal.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(BACKGROUND))
        self.plots.setPalette(pal)
        self.grid = QtWidgets.QGridLayout(self.plots)
        self.grid.setContentsMargins(6, 6, 6, 6)
        self.grid.setSpacing(8)
        self._panels: list[QtWidgets.QWidget] = []

        self.actions_box = QtWidgets.QHBoxLayout()
        self.actions_box.setSpacing(6)
        self._take_buttons: list[QtWidgets.QPushButton] = []
        self.take_row = QtWidgets.QHBoxLayout()
        self.take_row.setSpacing(6)
        self.btn_majority = self._button("Majority", "M", lambda: self.apply_combination("majority"))
        self.btn_union = self._button("Union", "U", lambda: self.apply_combination("union"))
        self.btn_inter = self._button("Intersection", "I", lambda: self.apply_combination("intersection"))
        self.btn_paint = self._button("Paint", "B", lambda: self._set_tool(Tool.BRUSH), checkable=True)
        self.btn_erase = self._button("Erase", "E", lambda: self._set_tool(Tool.ERASER), checkable=True)
        self.btn_pan = self._button("Pan", "H", lambda: self._set_tool(Tool.PAN), checkable=True)
        self.tool_group = QtWidgets.QButtonGroup(self)
        for b in (self.btn_pan, self.btn_paint, self.btn_erase):
            self.tool_group.addButton(b)
        self.btn_pan.setChecked(True)
        self.btn_undo = self._button("Undo", "Ctrl+Z", lambda: self.editor and self.editor.undo_group.undo())
        self.btn_save = self._button("Save adjudication", "Ctrl+S", self.save)
        self.btn_save.setObjectName("verdict_good")
        self.class_box = QtWidgets.QComboBox()
        self.class_box.currentIndexChanged.connect(self._class_chosen)

        for w in (self.btn_majority, self.btn_union, self.btn_inter):
            self.actions_box.addWidget(w)
        self.actions_box.addSpacing(14)
        for w in (self.btn_pan, self.btn_paint, self.btn_erase, self.class_box, self.btn_undo):
            self.actions_box.addWidget(w)
        self.actions_box.addStretch(1)
        self.actions_box.addWidget(self.btn_save)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.header)
        top.addStretch(1)
        top.addWidget(self.summary)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.plots, 1)
        layout.addLayout(self.take_row)
        layout.addLayout(self.actions_box)
        self.editor: MaskEditor | None = None
        self.result_vb: pg.ViewBox | None = None

    def _button(self, text: str, shortcut: str, slot, checkable: bool = False) -> QtWidgets.QPushButton:
        b = QtWidgets.QPushButton(text)
        b.setCheckable(checkable)
        b.setToolTip(f"{text} ({shortcut})")
        b.setShortcut(QtGui.QKeySequence(shortcut))
        b.clicked.connect(lambda _=False: slot())
        return b

    # ---- content ---------------------------------------------------------------------------------------
    def set_comparison(self, pixels: np.ndarray, comparison: Comparison, classes: list[ClassInfo],
                       title: str = "", project=None, user: str | None = None) -> None:
        """Show one image's annotators; the result starts as the majority vote."""
        self.comparison = comparison
        self.classes = list(classes)
        self.project = project
        self.user = user or self.user
        anns = comparison.annotations[:MAX_ANNOTATORS]
        masks = comparison.masks[:MAX_ANNOTATORS]
        self.header.setText(title or f"Image {comparison.image_id}")
        self._fill_summary(masks)
        for w in self._panels:
            self.grid.removeWidget(w)
            w.deleteLater()
        self._panels = []
        picture = _picture(pixels)
        lut = class_lut(self.classes, 150)
        n = max(1, len(masks))
        count = len(anns) + 2
        self._cols = count if count <= 3 else (count + 1) // 2
        boxes = []
        for k, (ann, mask) in enumerate(zip(anns, masks)):
            what = ann.verdict or "no verdict"
            if ann.defect_class:
                what += f" · {ann.defect_class}"
            vb = self._panel(k, f"<b>{ann.annotator}</b>  r{ann.revision} · {what}", picture)
            vb.addItem(MaskItem(mask, lut))
            boxes.append(vb)
        vb = self._panel(len(anns), f"<b>Votes</b>  of {n}", picture)
        votes = pg.ImageItem(comparison.votes, axisOrder="row-major", levels=(0, 255), lut=vote_lut(n))
        votes.setZValue(4)
        vb.addItem(votes)
        boxes.append(vb)
        self.result_vb = self._panel(len(anns) + 1, "<b>Result</b>  adjudicated", picture)
        boxes.append(self.result_vb)
        rows = (count + self._cols - 1) // self._cols
        if count < rows * self._cols:
            legend = QtWidgets.QLabel(self._legend(anns, masks, n))
            legend.setStyleSheet(f"color:{TITLE_COLOR}; padding:24px 12px")
            legend.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(legend, *divmod(count, self._cols))
            self._panels.append(legend)
        for r in range(rows):
            self.grid.setRowStretch(r, 1)
        for c in range(self._cols):
            self.grid.setColumnStretch(c, 1)
        for other in boxes[1:]:
            other.setXLink(boxes[0])
            other.setYLink(boxes[0])
        self._boxes = boxes
        self.fit()
        self.editor = MaskEditor(self.result_vb, self.classes, parent=self)
        self.editor.open_image(comparison.image_id, np.zeros(comparison.shape, np.uint8))
        self.editor.set_radius(max(2.0, min(comparison.shape) / 80))
        self._fill_take_buttons(anns)
        self.class_box.blockSignals(True)
        self.class_box.clear()
        for c in self.classes:
            pix = QtGui.QPixmap(12, 12)
            pix.fill(QtGui.QColor(c.color))
            self.class_box.addItem(QtGui.QIcon(pix), c.name, c.id)
        self.class_box.blockSignals(False)
        self.apply_combination("majority" if len(masks) > 2 else "union" if len(masks) < 2 else "intersection")
        self.editor.undo_group.activeStack().clear()
        self.editor.undo_group.activeStack().setClean()

    def fit(self) -> None:
        """Show the whole image in every panel (they are linked)."""
        if getattr(self, "_boxes", None):
            self._boxes[0].autoRange(padding=0.01)

    def _panel(self, index: int, title: str, picture: np.ndarray) -> pg.ViewBox:
        panel = pg.GraphicsLayoutWidget()
        panel.setBackground(BACKGROUND)
        panel.ci.setContentsMargins(0, 0, 0, 0)
        panel.ci.setSpacing(2)
        panel.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored)
        panel.ci.addLabel(title, row=0, col=0, color=TITLE_COLOR, size="10pt")
        vb = panel.ci.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.grid.addWidget(panel, *divmod(index, self._cols))
        self._panels.append(panel)
        vb.setDefaultPadding(0.01)
        vb.addItem(pg.ImageItem(picture, axisOrder="row-major", levels=(0, 255)))
        return vb

    def _legend(self, anns, masks: list[np.ndarray], n: int) -> str:
        def swatch(rgb) -> str:
            return f"<span style='color:rgb({rgb[0]},{rgb[1]},{rgb[2]})'>&#9632;</span>"

        lines = [f"{swatch(VOTE_ALL)} marked by all {n}", f"{swatch(VOTE_SOME)} marked by some", ""]
        for ann, mask in zip(anns, masks):
            regions = ndimage.label(mask > 0, structure=np.ones((3, 3)))[1]
            lines.append(f"<b>{ann.annotator}</b>: {regions} region{'s' if regions != 1 else ''}, "
                         f"{int(np.count_nonzero(mask)):,} px")
        return "<br>".join(lines)

    def _fill_summary(self, masks: list[np.ndarray]) -> None:
        if len(masks) == 2:
            a, b = masks
            self.summary.setText(f"IoU {iou(a, b):.2f} · Dice {dice(a, b):.2f} · "
                                 f"{len(self.comparison.regions)} regions")
        elif len(masks) > 2:
            pairs = [(i, j) for i in range(len(masks)) for j in range(i + 1, len(masks))]
            mean_iou = float(np.mean([iou(masks[i], masks[j]) for i, j in pairs]))
            self.summary.setText(f"mean pairwise IoU {mean_iou:.2f} · {len(self.comparison.regions)} regions")
        else:
            self.summary.setText("")

    def _fill_take_buttons(self, anns) -> None:
        for b in self._take_buttons:
            self.take_row.removeWidget(b)
            b.deleteLater()
        self._take_buttons = []
        for n, ann in enumerate(anns):
            b = self._button(f"Take {ann.annotator}", f"Alt+{n + 1}", lambda k=n: self.take(k))
            self.take_row.addWidget(b)
            self._take_buttons.append(b)
        self.take_row.addStretch(1)

    # ---- actions ---------------------------------------------------------------------------------------
    def _replace_result(self, new: np.ndarray, method: str) -> None:
        current = self.editor.current.mask
        delta = diff_delta(current, np.asarray(new, dtype=np.uint8))
        if delta is not None:
            delta.redo(current)
            self.editor.commit(delta, method)
        self.method = method

    def take(self, index: int) -> None:
        ann = self.comparison.annotations[index]
        self._replace_result(self.comparison.masks[index], f"take {ann.annotator}")

    def apply_combination(self, how: str) -> None:
        masks = self.comparison.masks[:MAX_ANNOTATORS]
        if masks:
            self._replace_result(combine_masks(masks, how), how)

    def _set_tool(self, tool: Tool) -> None:
        if self.editor is not None:
            self.editor.set_tool(tool)

    def _class_chosen(self, index: int) -> None:
        if self.editor is not None and index >= 0:
            self.editor.set_class(int(self.class_box.itemData(index)))

    def result(self) -> np.ndarray:
        return self.editor.current.mask.copy()

    def result_method(self) -> str:
        painted = any(self.editor.current.stack.text(i) in ("brush stroke", "erase")
                      for i in range(self.editor.current.stack.index()))
        return self.method + (" + paint" if painted else "")

    def save(self) -> int | None:
        """Append the adjudicated revision (needs a project); returns its annotation id."""
        if self.project is None or self.comparison is None:
            return None
        from core.labels.editing import adjudicate

        ids = [a.id for a in self.comparison.annotations]
        ann_id = adjudicate(self.project, self.comparison.image_id, ids, self.result(), by=self.user,
                            method=self.result_method())
        self.editor.current.stack.setClean()
        self.saved.emit(self.comparison.image_id, ann_id)
        return ann_id
