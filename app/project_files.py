"""Project → New, Open, Open recent and Import folder: the dialogs, the list of recent projects (in the
application's settings) and importing off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from core.errors import ContrarioError

RECENT_KEY = "recentProjects"
MAX_RECENT = 8


class ProjectFiles(QtCore.QObject):
    """Needs of the window: `open_project`, `set_project`, `project`, `reload`, `show_error`, `status_label`,
    `runner`, `settings` and `labels.confirm_leave`."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.recent_menu: QtWidgets.QMenu | None = None

    # ---- recent projects ---------------------------------------------------------------------------------
    def set_recent_menu(self, menu: QtWidgets.QMenu) -> None:
        self.recent_menu = menu
        self.refresh_recent_menu()

    def remember(self, folder: str) -> None:
        recent = [f for f in self.recent_projects() if f != folder]
        self.window.settings.setValue(RECENT_KEY, [folder] + recent[: MAX_RECENT - 1])
        self.refresh_recent_menu()

    def recent_projects(self) -> list[str]:
        value = self.window.settings.value(RECENT_KEY) or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def refresh_recent_menu(self) -> None:
        if self.recent_menu is None:
            return
        self.recent_menu.clear()
        recent = self.recent_projects()
        for folder in recent:
            act = self.recent_menu.addAction(folder)
            act.triggered.connect(lambda _=False, f=folder: self.window.open_project(f))
        self.recent_menu.setEnabled(bool(recent))

    # ---- dialogs -----------------------------------------------------------------------------------------
    def ask_open_project(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Open project")
        if folder:
            self.window.open_project(folder)

    def ask_new_project(self) -> None:
        from core.store.project import Project

        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "New project folder")
        if not folder or not self.window.labels.confirm_leave("opening another project"):
            return
        try:
            project = Project.create(folder)
        except ContrarioError as exc:
            self.window.show_error("Cannot create project", str(exc))
            return
        self.window.set_project(project)

    def ask_import_folder(self) -> None:
        if self.window.project is None:
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Import a folder of images")
        if folder:
            self.import_folder(folder)

    def import_folder(self, folder: str | Path, batch_name: str | None = None):
        """Import image files off the GUI thread; the gallery reloads when done."""
        from core.io.importer import import_paths

        w = self.window
        folder = Path(folder)
        w.status_label.setText(f"Importing {folder} ...")

        def done(report) -> None:
            failed = len(getattr(report, "failed", []) or [])
            added = getattr(report, "added", 0)
            w.status_label.setText(f"Imported {added} images from {folder.name}"
                                   + (f", {failed} unreadable" if failed else ""))
            w.reload()

        return w.runner.start(
            import_paths, w.project, [folder], batch_name or folder.name, with_progress=True,
            on_done=done, on_error=lambda msg: w.show_error("Import failed", msg),
            on_progress=lambda f, msg: w.status_label.setText(f"Importing {folder.name}: {f:.0%} {msg}"),
        )
