"""Model revisions panel: lineage tree, calibration, figures on the project's labelled images, side-by-side
comparison of two revisions with the images whose decision changed, promote and roll back.

Figures are computed off the GUI thread (core.models.revisions reads stored results and annotations).
"""

from __future__ import annotations

from functools import partial

from PySide6 import QtCore, QtGui, QtWidgets

from app.training.comparison_plot import ComparisonPlot
from app.training.honesty_plot import HonestyPlot
from app.training.training_view import format_duration
from app.workers import TaskRunner
from core.errors import ContrarioError
from core.models import revisions as revs
from core.models.honesty import honesty_curve
from core.models.validation import comparison_with_curves


def _copies_text(info: revs.RevisionInfo) -> str:
    """The flipped or turned copies a revision learned: by name where stored, else how many."""
    if len(info.orientations) == 7:
        return "every flip and turn of the square (7 copies)"
    return ", ".join(info.orientations) if info.orientations else f"flipped {info.image_flips} ways"


def _layout_text(info: revs.RevisionInfo | revs.ViewInfo, u_shape: str = "") -> str:
    """The flow's layout (`u_shape` where it is the U shape), and why training chose one flow per scale."""
    if info.scale_context:
        return u_shape
    if not info.scale_context_chosen:
        return "one flow per scale"
    looked_at = {"tiles": "tile-sized windows of the images", "images": "a sample of the images"}.get(
        info.layout_sample, "the images")
    return f"one flow per scale (every flip and turn of {looked_at} looked normal)"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


VIEW_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1  # on the rows of a per-view revision's views

FIGURE_ROWS = (
    ("Image AUROC", lambda f: _fmt(f.image_auroc)),
    ("Pixel AUROC", lambda f: _fmt(f.pixel_auroc) + (f"  ({f.n_pixel_images} images)" if f.pixel_auroc is not None else "")),
    ("Regions per good image", lambda f: _fmt(f.regions_per_good_image, 2)),
    ("Good images flagged", lambda f: _pct(f.good_flagged)),
    ("Defect images flagged", lambda f: _pct(f.defect_flagged)),
    ("Labelled images used", lambda f: f"{f.n_evaluated} ({f.n_good} good, {f.n_defect} defect)"),
    ("Training images left out", lambda f: str(f.n_training_excluded)),
    ("Images scored", lambda f: str(f.n_scored)),
)


class RevisionsPanel(QtWidgets.QWidget):
    promoted = QtCore.Signal(int, object)  # new active revision, previously active (or None)
    rolledBack = QtCore.Signal(int)  # revision active again
    trainRequested = QtCore.Signal()
    imageActivated = QtCore.Signal(int)  # an image of the changed-decisions list was double-clicked
    figuresReady = QtCore.Signal(object)  # RevisionFigures
    comparisonReady = QtCore.Signal(object)  # Comparison
    curvesReady = QtCore.Signal(object)  # ComparisonCurves: confusion matrices at k and PR curves of A and B

    COLUMNS = ("Revision", "Trained on", "Calibration", "Scored", "Created")

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = None
        self.k = 0.0
        self.infos: dict[int, revs.RevisionInfo] = {}
        self.figures: revs.RevisionFigures | None = None
        self.comparison: revs.Comparison | None = None
        self.curves = None  # core.models.validation.ComparisonCurves of the comparison shown
        self.tasks = TaskRunner(max_threads=1, parent=self)
        self._request = 0
        self._honesty_request = 0
        self._build()
        self._update_buttons()

    # ------------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setMinimumHeight(140)
        self.tree.currentItemChanged.connect(lambda *_: self._on_selected())
        layout.addWidget(self.tree, 2)

        buttons = QtWidgets.QHBoxLayout()
        self.train_button = QtWidgets.QPushButton("Train...")
        self.promote_button = QtWidgets.QPushButton("Promote to active")
        self.rollback_button = QtWidgets.QPushButton("Roll back")
        self.rollback_button.setToolTip("Re-activate the revision that was active before the last promotion")
        for b in (self.train_button, self.promote_button, self.rollback_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        buttons = QtWidgets.QHBoxLayout()  # the decision k on its own row: the dock fits a 1280-pixel screen
        buttons.addWidget(QtWidgets.QLabel("Figures and comparison at"))
        buttons.addStretch(1)
        self.k_spin = QtWidgets.QDoubleSpinBox()
        self.k_spin.setRange(0.0, 10000.0)
        self.k_spin.setSingleStep(0.5)
        self.k_spin.setDecimals(1)
        self.k_spin.setPrefix("k = ")
        self.k_spin.setToolTip("Decision: an image is flagged when it has a region with NFA <= 10^-k")
        buttons.addWidget(self.k_spin)
        layout.addLayout(buttons)
        self.train_button.clicked.connect(self.trainRequested.emit)
        self.promote_button.clicked.connect(self.promote_selected)
        self.rollback_button.clicked.connect(self.rollback)
        self.k_spin.valueChanged.connect(self.set_k)

        self.details = QtWidgets.QLabel()
        self.details.setObjectName("revisionDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.details)
        self.honesty = HonestyPlot()
        layout.addWidget(self.honesty)

        compare_row = QtWidgets.QHBoxLayout()
        compare_row.addWidget(QtWidgets.QLabel("Compare with"))
        self.compare_box = QtWidgets.QComboBox()
        # Long revision names (a per-view revision lists its views) must not widen the dock: elide instead.
        self.compare_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.compare_box.setMinimumContentsLength(8)
        self.compare_button = QtWidgets.QPushButton("Compare")
        self.compare_button.clicked.connect(self.compare_selected)
        compare_row.addWidget(self.compare_box, 1)
        compare_row.addWidget(self.compare_button)
        layout.addLayout(compare_row)

        self.figure_table = QtWidgets.QTableWidget(len(FIGURE_ROWS), 2)
        self.figure_table.setVerticalHeaderLabels([name for name, _ in FIGURE_ROWS])
        self.figure_table.setHorizontalHeaderLabels(["selected", "—"])
        self.figure_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.figure_table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.figure_table, 2)
        self.comparison_plot = ComparisonPlot()
        layout.addWidget(self.comparison_plot)

        self.changed_label = QtWidgets.QLabel("")
        layout.addWidget(self.changed_label)
        self.changed_table = QtWidgets.QTableWidget(0, 5)
        self.changed_table.setHorizontalHeaderLabels(["Image", "Truth", "A", "B", "Score A → B"])
        self.changed_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changed_table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.changed_table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.changed_table.cellDoubleClicked.connect(self._on_changed_double_click)
        layout.addWidget(self.changed_table, 3)

    # ------------------------------------------------------------------------------------------ data
    def set_project(self, project) -> None:
        self.tasks.cancel_all()
        self.project = project
        self.figures = self.comparison = None
        self.refresh()

    def refresh(self, select: int | None = None) -> None:
        """Re-read the revisions; keeps (or moves to `select`) the selected one."""
        keep = select if select is not None else self.selected_id()
        self.tree.blockSignals(True)
        self.tree.clear()
        self.infos = {r.id: r for r in revs.list_revisions(self.project)} if self.project is not None else {}
        items: dict[int, QtWidgets.QTreeWidgetItem] = {}
        for info in self.infos.values():  # oldest first: a parent always exists before its children
            item = QtWidgets.QTreeWidgetItem(self._row_text(info))
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, info.id)
            item.setToolTip(2, "\n".join(info.calibration_warnings) or info.calibration_text)
            if info.active:
                font = item.font(0)
                font.setBold(True)
                for c in range(len(self.COLUMNS)):
                    item.setFont(c, font)
            if info.calibration_ok is False:
                item.setForeground(2, QtGui.QBrush(QtGui.QColor("#e0a030")))
            for view in info.per_view:  # a per-view revision: one row per view's model
                child = QtWidgets.QTreeWidgetItem(self._view_row_text(view))
                child.setData(0, QtCore.Qt.ItemDataRole.UserRole, info.id)
                child.setData(0, VIEW_ROLE, view.view)
                child.setToolTip(2, "\n".join(view.calibration_warnings) or view.calibration_text)
                if view.calibration_ok is False:
                    child.setForeground(2, QtGui.QBrush(QtGui.QColor("#e0a030")))
                item.addChild(child)
            parent = items.get(info.parent_id) if info.parent_id is not None else None
            (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
            items[info.id] = item
        self.tree.expandAll()
        for c in range(len(self.COLUMNS)):
            self.tree.resizeColumnToContents(c)
        self.tree.blockSignals(False)
        self.compare_box.clear()
        for info in sorted(self.infos.values(), key=lambda r: -r.id):
            self.compare_box.addItem(f"#{info.id} {info.name}" + (" (active)" if info.active else ""), info.id)
        target = keep if keep in items else next((i for i, r in self.infos.items() if r.active), None)
        if target is None and items:
            target = max(items)
        if target is not None:
            self.tree.setCurrentItem(items[target])
        self._on_selected()

    @staticmethod
    def _row_text(info: revs.RevisionInfo) -> list[str]:
        name = f"#{info.id} {info.name}" + ("  ● active" if info.active else "")
        trained = "no training" if info.kind != "uflow" else (f"{info.n_train} images" if info.n_train else "—")
        cal = {True: "ok", False: "off", None: "n/a"}[info.calibration_ok]
        created = info.created_at.strftime("%Y-%m-%d %H:%M") if info.created_at else ""
        return [name, trained, cal, str(info.n_results), created]

    @staticmethod
    def _view_row_text(view: revs.ViewInfo) -> list[str]:
        cal = {True: "ok", False: "off", None: "n/a"}[view.calibration_ok]
        return [f"view {view.view}", f"{view.n_train} images", cal, str(view.n_results), ""]

    def selected_id(self) -> int | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, QtCore.Qt.ItemDataRole.UserRole)

    def selected_view(self) -> str | None:
        """The view of the selected row when it is one view's model of a per-view revision."""
        item = self.tree.currentItem()
        return None if item is None else item.data(0, VIEW_ROLE)

    def select(self, revision_id: int) -> None:
        self.refresh(select=revision_id)

    def _on_selected(self) -> None:
        rev_id = self.selected_id()
        self._update_buttons()
        self.details.setText(self._details_html(rev_id) if rev_id is not None else "No model revision yet.")
        other = next((i for i, r in self.infos.items() if r.active and i != rev_id), None)
        if other is None:
            other = next((i for i in sorted(self.infos, reverse=True) if i != rev_id), None)
        if other is not None:
            self.compare_box.setCurrentIndex(self.compare_box.findData(other))
        self.comparison = self.curves = None
        self.comparison_plot.set_curves(None)
        self.changed_table.setRowCount(0)
        self.changed_label.setText("")
        if rev_id is not None:
            self.compute_figures(rev_id, self.selected_view())
        else:
            self._fill_figures([None, None], ["", ""])

    def _details_html(self, rev_id: int) -> str:
        info = self.infos[rev_id]
        chain = " ← ".join(f"#{i}" for i in revs.lineage(self.project, rev_id))
        lines = [f"<b>#{info.id} {info.name}</b>" + (" — <b>active</b>" if info.active else ""),
                 f"Lineage: {chain}" + ("" if info.parent_id else " (trained from scratch)" if info.kind == "uflow" else "")]
        if info.view_mode == "per_view":
            lines.append("One model per view: " + "; ".join(f"{v.view}, {_layout_text(v, 'U shape')}"
                                                            for v in info.per_view))
        elif info.view_mode == "stacked":
            lines.append(f"Views stacked along channels, in the order {' + '.join(info.views)}: one map and one set "
                         "of regions per item, shown on every view")
        if info.kind == "uflow":
            lines.append(f"Training set: {info.n_train or '—'} images (dataset revision #{info.dataset_revision_id}) · "
                         f"{info.backbone} at {info.input_size} px · {info.train_steps} steps · "
                         + (f"each image also learned {_copies_text(info)} · " if info.image_flips else "")
                         + (f"exposure evened out to mean grey {', '.join(f'{v:.0f}' for v in info.exposure_reference)} · "
                            if info.exposure_reference else "")
                         + ("" if info.view_mode == "per_view" or info.scale_context else f"{_layout_text(info)} · ")
                         + f"{format_duration(info.duration_s)}")
            if info.calibration_scales:
                per = "; ".join(f"{c} ch: mean z²/C {m:.2f}, KS {ks:.2f}" for c, m, ks in info.calibration_scales)
                verdict = "latents close to N(0, 1)" if info.calibration_ok else "latents NOT close to N(0, 1): NFA thresholds are off"
                lines.append(f"Calibration: {verdict} ({per})")
            if info.region_calibration:
                lines.append(f"Regions: {info.region_calibration}")
        else:
            lines.append("Training-free detector: nothing to calibrate.")
        return "<br>".join(lines)

    def _update_buttons(self) -> None:
        rev_id = self.selected_id()
        has = self.project is not None
        self.train_button.setEnabled(has)
        active = next((i for i, r in self.infos.items() if r.active), None)
        self.promote_button.setEnabled(has and rev_id is not None and rev_id != active)
        self.rollback_button.setEnabled(has and bool(revs.promotion_log(self.project)) if has else False)
        self.compare_button.setEnabled(has and len(self.infos) > 1)

    # ------------------------------------------------------------------------------------------ figures
    def set_k(self, k: float) -> None:
        if abs(k - self.k) < 1e-9:
            return
        self.k = float(k)
        self.k_spin.blockSignals(True)
        self.k_spin.setValue(self.k)
        self.k_spin.blockSignals(False)
        if self.selected_id() is not None:
            self._on_selected()

    def compute_figures(self, rev_id: int, view: str | None = None) -> None:
        """The revision's figures; of one view's images when `view` is given."""
        self._request += 1
        request = self._request
        self._fill_figures([None, None], [f"#{rev_id}", ""], pending=True)
        self.tasks.start(partial(revs.revision_figures, view=view), self.project, rev_id, self.k,
                         on_done=lambda f, r=request: self._on_figures(r, f),
                         on_error=lambda msg: self.details.setText(self.details.text() + f"<br>Figures failed: {msg}"))
        self.honesty.set_curve(None, pending=True)
        self._honesty_request += 1
        self.tasks.start(honesty_curve, self.project, rev_id,
                         on_done=lambda c, r=self._honesty_request: self._on_honesty(r, c),
                         on_error=lambda msg: self.honesty.caption.setText(f"Honesty curve failed: {msg}"))

    def _on_honesty(self, request: int, curve) -> None:
        if request == self._honesty_request:
            self.honesty.set_curve(curve)

    def _on_figures(self, request: int, figures: revs.RevisionFigures) -> None:
        if request != self._request:
            return
        self.figures = figures
        view = self.selected_view()
        self._fill_figures([figures, None], [f"#{figures.revision_id}" + (f" · view {view}" if view else ""), ""])
        self.figuresReady.emit(figures)

    def compare_selected(self) -> None:
        a, b = self.compare_box.currentData(), self.selected_id()
        if a is None or b is None or a == b:
            return
        self.compare(a, b)

    def compare(self, a: int, b: int) -> None:
        """Side by side: A (reference) and B; lists the images whose decision at k differs."""
        self._request += 1
        request = self._request
        self.changed_label.setText(f"Comparing #{a} and #{b} ...")
        self.curves = None
        self.comparison_plot.set_curves(None, pending=True)
        self.tasks.start(comparison_with_curves, self.project, a, b, self.k,
                         on_done=lambda both, r=request: (self._on_comparison(r, both[0]), self._on_curves(r, both[1])),
                         on_error=lambda msg: (self.changed_label.setText(f"Comparison failed: {msg}"),
                                               self.comparison_plot.caption.setText(f"Curves failed: {msg}")))

    def _on_curves(self, request: int, curves) -> None:
        if request != self._request:
            return
        self.curves = curves
        self.comparison_plot.set_curves(curves)
        self.curvesReady.emit(curves)

    def _on_comparison(self, request: int, comp: revs.Comparison) -> None:
        if request != self._request:
            return
        self.comparison = comp
        a, b = comp.a.revision_id, comp.b.revision_id
        self._fill_figures([comp.a, comp.b], [f"A: #{a}", f"B: #{b}"])
        self.changed_label.setText(
            f"{len(comp.changed)} of {comp.n_common} images change decision at k = {self.k:g} (A #{a} → B #{b})")
        self.changed_table.setRowCount(len(comp.changed))
        flag = lambda v: "flagged" if v else "clear"
        for row, ch in enumerate(comp.changed):
            cells = [ch.title, ch.truth or "unlabelled", flag(ch.flagged_a), flag(ch.flagged_b),
                     f"{ch.score_a:.3f} → {ch.score_b:.3f}"]
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, ch.image_id)
                if col == 3 and ch.better_in_b is not None:
                    item.setForeground(QtGui.QBrush(QtGui.QColor("#4caf50" if ch.better_in_b else "#e05050")))
                self.changed_table.setItem(row, col, item)
        self.comparisonReady.emit(comp)

    def _fill_figures(self, figures: list, headers: list[str], pending: bool = False) -> None:
        self.figure_table.setHorizontalHeaderLabels(headers)
        self.figure_table.setColumnHidden(1, figures[1] is None)
        for col, fig in enumerate(figures):
            for row, (_name, fmt) in enumerate(FIGURE_ROWS):
                text = "computing..." if pending and col == 0 else (fmt(fig) if fig is not None else "")
                self.figure_table.setItem(row, col, QtWidgets.QTableWidgetItem(text))

    def _on_changed_double_click(self, row: int, _col: int) -> None:
        item = self.changed_table.item(row, 0)
        if item is not None:
            self.imageActivated.emit(int(item.data(QtCore.Qt.ItemDataRole.UserRole)))

    # ------------------------------------------------------------------------------------------ actions
    def promote_selected(self) -> None:
        rev_id = self.selected_id()
        if rev_id is not None:
            self.promote(rev_id)

    def promote(self, rev_id: int) -> None:
        try:
            previous = revs.promote(self.project, rev_id)
        except ContrarioError as exc:
            QtWidgets.QMessageBox.warning(self, "Promote", str(exc))
            return
        self.refresh(select=rev_id)
        self.promoted.emit(rev_id, previous)

    def rollback(self) -> None:
        try:
            rev_id = revs.rollback(self.project)
        except ContrarioError as exc:
            QtWidgets.QMessageBox.information(self, "Roll back", str(exc))
            return
        self.refresh(select=rev_id)
        self.rolledBack.emit(rev_id)

    def wait(self, msecs: int = 60000) -> bool:
        """Block until the background computations have finished (tests, shutdown)."""
        return self.tasks.wait(msecs)
