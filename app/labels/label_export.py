"""Project → Export labels: the export dialog, one export at a time on a worker with its progress in the status
bar, and a message naming the images left out. Uses the window's `statusBar()`, `show_status()` and
`show_error()`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.labels.export_dialog import ExportDialog
from app.workers import Task, TaskRunner


class LabelExport(QtCore.QObject):
    exported = QtCore.Signal(object)  # ExportSummary
    exportFailed = QtCore.Signal(str)

    def __init__(self, window: QtWidgets.QMainWindow, jobs: TaskRunner) -> None:
        super().__init__(window)
        self.window = window
        self.jobs = jobs
        self.project = None
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(140)
        self.progress.setRange(0, 100)
        self.progress.hide()
        window.statusBar().addPermanentWidget(self.progress)

    def ask_export(self) -> None:
        if self.project is None:
            return
        from app import store_access

        names = [name for _bid, name, _n in store_access.batches(self.project)]
        dialog = ExportDialog(self.project.root, self.project.name, names, self.window)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.export_to(*dialog.choice())

    def export_to(self, fmt: str, out: str | Path, batch: str | None = None) -> Task | None:
        """Run one export on the worker; progress in the status bar, errors in a message."""
        if self.project is None:
            return None
        from core.io.exports import export

        out = Path(out)
        self.progress.setValue(0)
        self.progress.show()
        self.window.show_status(f"Exporting ({fmt}) to {out} ...")
        return self.jobs.start(
            export, self.project, fmt, out, batch, with_progress=True,
            on_progress=lambda f, msg: self._on_progress(fmt, f, msg),
            on_done=self._exported,
            on_error=lambda msg: self._failed(fmt, out, msg),
        )

    def _on_progress(self, fmt: str, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self.window.show_status(f"Export ({fmt}): {message}")

    def _exported(self, summary) -> None:
        self.progress.hide()
        skipped = len(summary.skipped)
        self.window.show_status(
            f"Exported {summary.images} images, {summary.annotations} labels ({summary.format}) to {summary.out}"
            + (f"; {skipped} skipped" if skipped else ""))
        if skipped:
            lines = summary.skipped_lines()
            more = f"\n... and {skipped - 12} more" if skipped > 12 else ""
            box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Export: images skipped",
                                        f"{skipped} images were left out of {summary.out}:\n\n"
                                        + "\n".join(lines[:12]) + more, parent=self.window)
            box.setObjectName("exportSkipped")
            box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()
        self.exported.emit(summary)

    def _failed(self, fmt: str, out: Path, message: str) -> None:
        self.progress.hide()
        self.window.show_status(f"Export to {out} failed")
        self.window.show_error("Export failed", f"The {fmt} export to {out} failed:\n\n{message}")
        self.exportFailed.emit(message)
