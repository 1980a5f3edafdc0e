"""Labels → Adjudicate: the adjudication view of the image on screen, in a dialog of its own.

Its inputs (every annotator's mask and the picture) load on a worker; saving the adjudicated mask reloads the
window's rows and closes the dialog (`saved`). Uses the window's `model`, `current_image_id`, `annotator`,
`show_status()`, `show_error()` and `reload()`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from app.labels.adjudication import AdjudicationView
from app.labels.label_io import adjudication_input
from app.workers import Task, TaskRunner
from core.labels.classes import list_classes


class AdjudicationLauncher(QtCore.QObject):
    opened = QtCore.Signal(object)  # the dialog
    saved = QtCore.Signal(int, int)  # image id, annotation id of the adjudicated mask

    def __init__(self, window: QtWidgets.QMainWindow, jobs: TaskRunner,
                 before_adjudicating: Callable[[int], object]) -> None:
        """`before_adjudicating(image_id)` runs first (label mode saves the user's edits of the image there)."""
        super().__init__(window)
        self.window = window
        self.jobs = jobs
        self.before_adjudicating = before_adjudicating
        self.project = None

    def adjudicate_current(self) -> Task | None:
        """Open the adjudication view of the current image (its inputs load on the worker)."""
        w = self.window
        row = w.model.row_by_image(w.current_image_id) if self.project and w.current_image_id is not None else None
        if row is None or row.failed:
            return None
        self.before_adjudicating(row.image_id)
        return self.jobs.start(adjudication_input, self.project, row.image_id, row.path,
                               on_done=lambda got: self.open_adjudication(row.image_id, row.title, *got),
                               on_error=lambda msg: w.show_error("Cannot adjudicate", f"{row.title}: {msg}"))

    def open_adjudication(self, image_id: int, title: str, comparison, pixels) -> QtWidgets.QDialog | None:
        if len(comparison.annotations) < 2:
            self.window.show_status(f"{title}: adjudication needs labels from two or more annotators "
                                    f"(has {len(comparison.annotations)})")
            return None
        with self.project.session(readonly=True) as s:
            classes = list_classes(s)
        dialog = QtWidgets.QDialog(self.window)
        dialog.setWindowTitle(f"Adjudicate — {title}")
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        view = AdjudicationView(dialog)
        layout = QtWidgets.QVBoxLayout(dialog)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(view)
        view.set_comparison(pixels, comparison, classes, title=title, project=self.project,
                            user=self.window.annotator or "adjudicator")
        view.saved.connect(lambda iid, aid: self._after_adjudication(dialog, iid, aid))
        dialog.view = view
        dialog.resize(1200, 820)
        dialog.show()
        view.fit()
        self.opened.emit(dialog)
        return dialog

    def _after_adjudication(self, dialog: QtWidgets.QDialog, image_id: int, annotation_id: int) -> None:
        self.window.reload()
        self.window.show_status(f"Adjudication saved (annotation #{annotation_id})")
        self.saved.emit(image_id, annotation_id)
        dialog.accept()
