"""Start the workbench: QApplication, theme, main window; optional one-shot screenshot."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app.resources import resource_path
from core.errors import ProjectError

ORGANIZATION = "Contrario"
APPLICATION = "Contrario"


def ensure_app() -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance()
    if app is None:
        QtCore.QCoreApplication.setOrganizationName(ORGANIZATION)
        QtCore.QCoreApplication.setApplicationName(APPLICATION)
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setDesktopFileName("contrario")
        app.setWindowIcon(QtGui.QIcon(str(resource_path("icons", "contrario.png"))))
        from app.theme import apply_theme

        apply_theme(app)
    return app


def first_scored_position(window) -> int:
    """Gallery position of the first image that has a score; 0 when nothing is scored."""
    model = window.model
    for pos in range(model.rowCount()):
        if model.row_at(pos).score is not None:
            return pos
    return 0


def save_screenshot(window, path: str | Path, timeout_ms: int = 30000) -> Path:
    """Show the first scored image, wait for every load to finish, and save the window as PNG."""
    path = Path(path)
    if window.project is not None and window.model.rowCount():
        window.show_position(first_scored_position(window))
    window.wait_idle(timeout_ms)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        raise ProjectError(f"{path}: cannot write the screenshot")
    return path


def drain_background_work(window) -> None:
    """Let every pool thread finish and its queued signals arrive, then delete the window, so that no thread
    emits into a deleted object while the interpreter tears Qt down at exit."""
    for pool in window.findChildren(QtCore.QThreadPool) + [QtCore.QThreadPool.globalInstance()]:
        pool.waitForDone(10000)
    QtCore.QCoreApplication.processEvents()
    window.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)
    QtCore.QCoreApplication.processEvents()


def run_gui(project: str | Path | None = None, annotator: str | None = None, screenshot: str | Path | None = None,
            project_obj=None, sort: str | None = None) -> int:
    """Open the workbench on a project folder (or an open Project); with `screenshot`, save a PNG and exit.
    `sort` is a gallery sort key (app.gallery.filtering), e.g. "score_desc"."""
    from core.store.project import Project

    app = ensure_app()
    if project_obj is None and project is not None:
        project_obj = Project.open(project)  # ProjectError -> one-line CLI error
    from app.main_window import MainWindow

    window = MainWindow(annotator=annotator)
    if project_obj is not None:
        window.set_project(project_obj)
        if sort:
            window.set_sort(sort)
    window.show()
    if screenshot:
        out = save_screenshot(window, screenshot)
        print(f"screenshot saved to {out}")
        window.close()
        drain_background_work(window)
        return 0
    return int(app.exec())
