"""Labels → Annotators: who labelled what and when (the audit trail), in the workbench.

The upper table has one row per annotator (revisions written, images labelled, their current verdicts and masks,
first and last edit); the lower one lists label revisions newest first, of the image on screen or of the whole
project. Both load off the GUI thread (core.store.audit, as `contrario annotators`), again when another image is
shown and when another annotator's revision arrives (app.labels.live_labels).

The window creates one `AnnotatorsView(window)`; it adds its action to the Labels menu.
"""

from __future__ import annotations

from datetime import timezone

from PySide6 import QtCore, QtGui, QtWidgets

from app.workers import TaskRunner
from core.store.audit import annotator_summaries, audit_trail

SUMMARY_COLUMNS = ("Annotator", "Revisions", "Images", "Good", "Defect", "Unsure", "Masks", "First edit", "Last edit")
TRAIL_COLUMNS = ("When (UTC)", "Annotator", "Image", "Rev.", "Verdict", "Class", "Mask", "Source")
PROJECT_TRAIL_LIMIT = 500


def _when(value) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def load_audit(project, image_id: int | None):
    """Worker-thread side: (summaries, trail of `image_id`, or the project's latest revisions when None)."""
    trail = audit_trail(project, image_id=image_id, limit=None if image_id is not None else PROJECT_TRAIL_LIMIT)
    return annotator_summaries(project), trail


class AnnotatorsDialog(QtWidgets.QDialog):
    loaded = QtCore.Signal()

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Annotators")
        self.setObjectName("annotatorsDialog")
        self.runner = TaskRunner(max_threads=1, parent=self)
        self._run = 0
        self.summary = self._table(SUMMARY_COLUMNS)
        self.trail = self._table(TRAIL_COLUMNS)
        self.scope = QtWidgets.QComboBox()
        self.scope.addItem("The image on screen", "image")
        self.scope.addItem(f"The whole project (latest {PROJECT_TRAIL_LIMIT})", "project")
        self.scope.currentIndexChanged.connect(lambda _i: self.refresh())
        self.status = QtWidgets.QLabel("")
        self.status.setStyleSheet("color: #9aa0a8;")
        refresh = QtWidgets.QPushButton("Refresh")
        refresh.clicked.connect(lambda _=False: self.refresh())
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Revisions of"))
        top.addWidget(self.scope)
        top.addStretch(1)
        top.addWidget(self.status)
        top.addWidget(refresh)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("Who labelled what (current labels per annotator)"))
        layout.addWidget(self.summary, 1)
        layout.addLayout(top)
        layout.addWidget(self.trail, 2)
        self.resize(980, 560)
        window.viewShown.connect(lambda _id: self.isVisible() and self.scope.currentData() == "image" and self.refresh())

    @staticmethod
    def _table(columns) -> QtWidgets.QTableWidget:
        table = QtWidgets.QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(list(columns))
        table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().hide()
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def refresh(self) -> None:
        w = self.window
        if w.project is None:
            self.summary.setRowCount(0)
            self.trail.setRowCount(0)
            self.status.setText("No project open")
            return
        image_id = w.current_image_id if self.scope.currentData() == "image" else None
        if self.scope.currentData() == "image" and image_id is None:
            self.trail.setRowCount(0)
        self._run += 1
        run = self._run
        self.status.setText("Loading ...")
        self.runner.start(load_audit, w.project, image_id,
                          on_done=lambda got: run == self._run and self._show(image_id, *got),
                          on_error=lambda msg: self.status.setText(f"Failed: {msg}"))

    def _show(self, image_id: int | None, summaries, trail) -> None:
        self._fill(self.summary, [
            (s.annotator + (f" (by {', '.join(s.by)})" if s.by else ""), s.revisions, s.images,
             s.current.get("good", 0), s.current.get("defect", 0), s.current.get("unsure", 0), s.masks,
             _when(s.first_at), _when(s.last_at)) for s in summaries])
        self._fill(self.trail, [
            (_when(e.created_at), e.who, f"{e.batch} / {e.item}" + (f" · {e.view}" if e.view else ""), e.revision,
             e.verdict or "", e.defect_class or "", "yes" if e.mask else "",
             e.source + (f" (cites {', '.join(f'#{c}' for c in e.cites)})" if e.cites else "")) for e in trail])
        row = self.window.model.row_by_image(image_id) if image_id is not None else None
        where = row.title if row is not None else "the project"
        self.status.setText(f"{len(summaries)} annotators · {len(trail)} revisions of {where}")
        self.loaded.emit()

    @staticmethod
    def _fill(table: QtWidgets.QTableWidget, rows) -> None:
        table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(str(value))
                if isinstance(value, int):
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)
        table.resizeColumnsToContents()


class AnnotatorsView(QtCore.QObject):
    """The Labels → Annotators action and its dialog (made on first use)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: AnnotatorsDialog | None = None
        self.action = QtGui.QAction("Annotators...", window)
        self.action.setObjectName("show_annotators")
        self.action.setToolTip("Who labelled what and when: each annotator's work and the label revisions")
        self.action.triggered.connect(lambda _=False: self.show())
        menu = getattr(getattr(window, "labels", None), "labels_menu", None)
        if menu is not None:
            menu.addAction(self.action)
        live = getattr(window, "live_labels", None)
        if live is not None:
            live.othersChanged.connect(lambda *_: self.dialog is not None and self.dialog.isVisible()
                                       and self.dialog.refresh())

    def show(self) -> AnnotatorsDialog | None:
        if self.window.project is None:
            return None
        if self.dialog is None:
            self.dialog = AnnotatorsDialog(self.window)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.refresh()
        return self.dialog
