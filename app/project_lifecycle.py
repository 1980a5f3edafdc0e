"""A project from open to close: opening a folder, reading its rows, batches and active model again, the
view remembered per project (threshold, filter, sort, label source), and the questions before the window
closes (jobs still running, unsaved mask edits)."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from app import store_access
from app.gallery.gallery import GalleryDelegate, GalleryModel
from app.gallery.thumbs import ThumbnailLoader
from core.errors import ContrarioError
from core.io.thumbnails import ThumbnailCache, default_cache_dir

VIEW_SETTINGS_KEY = "workbench_view"  # project setting: threshold, filter, sort, label source


class ProjectLifecycle(QtCore.QObject):
    """Sets the window's `project`, `loader`, `model`, `model_revision_id`, `rows` and `item_images`. Uses its
    `gallery`, `filter_box`, `sort_box`, `label_box`, `batch_box`, `controls`, `views`, `session`, `runner`,
    `thumb_pool`, `job_monitor`, `files`, `training`, `labels`, `annotator`, `k`, `show_position()`,
    `refresh_label_sources()`, `apply_filter()`, `update_enabled()`, `focus_canvas()`, `show_error()` and
    `ask_quit()`."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._label_source: str | None = None  # the remembered one, until the Labels drop-down is filled
        self._quit_confirmed = False

    # ---- open and close ----------------------------------------------------------------------------------
    def open_project(self, folder: str | Path) -> bool:
        """Open a project folder; shows a message box and returns False when it is not usable."""
        from core.store.project import Project

        w = self.window
        if not w.labels.confirm_leave("opening another project"):
            return False
        try:
            project = Project.open(folder)
        except ContrarioError as exc:
            w.show_error("Cannot open project", str(exc))
            return False
        self.set_project(project)
        return True

    def set_project(self, project) -> None:
        w = self.window
        self.close_project()
        w.project = project
        w.loader = ThumbnailLoader(ThumbnailCache(default_cache_dir(project.root)), w.thumb_pool, parent=w)
        w.model = GalleryModel(w.loader, w)
        w.gallery.setModel(w.model)
        w.gallery.setItemDelegate(GalleryDelegate(w.loader, w.gallery))
        w.gallery.selectionModel().currentChanged.connect(lambda cur, _prev: w.show_position(cur.row()))
        w.setWindowTitle(f"Contrario — {project.name}")
        w.files.remember(str(project.root))
        w.job_monitor.set_project(project)
        w.training.set_project(project)
        w.labels.set_project(project)
        self._restore_view_settings()
        self.reload()
        w.focus_canvas()

    def close_project(self) -> None:
        w = self.window
        w.training.set_project(None)
        w.labels.set_project(None)
        if w.loader is not None:
            w.loader.close()
        w.runner.cancel_all()
        w.runner.wait()
        w.thumb_pool.waitForDone(10000)
        if w.project is not None:
            self._save_view_settings()
            w.job_monitor.set_project(None)
            w.project.close()
        w.project = None
        w.views.clear()
        w.session.reset()

    def reload(self) -> None:
        """Re-read rows, batches and the active model from the store; keeps the current image if possible."""
        w = self.window
        if w.project is None:
            return
        w.model_revision_id = store_access.active_model_revision_id(w.project)
        w.rows = store_access.load_rows(w.project, w.annotator, w.model_revision_id)
        w.session.load_verdicts({r.image_id: r.my_verdict for r in w.rows})
        w.controls.set_scale(-r.best_log10_nfa for r in w.rows if r.best_log10_nfa is not None)
        w.item_images = {}
        for r in w.rows:
            w.item_images.setdefault(r.item_id, []).append(r.image_id)
        w.batch_box.blockSignals(True)
        w.batch_box.clear()
        w.batch_box.addItem(f"All batches ({len(w.rows)})", None)
        for bid, name, n in store_access.batches(w.project):
            w.batch_box.addItem(f"{name} ({n})", bid)
        w.batch_box.blockSignals(False)
        keep, self._label_source = self._label_source, None
        w.refresh_label_sources(keep)
        w.views.set_source(w.project, w.model_revision_id, w.model.row_by_image,
                           w.loader.cache if w.loader is not None else None)
        w.model.set_rows(w.rows)
        w.apply_filter()
        w.update_enabled()

    # ---- the view remembered per project -----------------------------------------------------------------
    def _restore_view_settings(self) -> None:
        """Threshold, filter, sort and label source as they were when this project was last closed."""
        w = self.window
        saved = w.project.get_setting(VIEW_SETTINGS_KEY) or {}
        if not isinstance(saved, dict):
            return
        for box, key in ((w.filter_box, "filter"), (w.sort_box, "sort")):
            index = box.findData(saved.get(key))
            if index >= 0:
                box.blockSignals(True)
                box.setCurrentIndex(index)
                box.blockSignals(False)
        if isinstance(saved.get("k"), (int, float)):
            w.controls.restore_k(saved["k"])
        self._label_source = saved.get("labels")

    def _save_view_settings(self) -> None:
        w = self.window
        try:
            w.project.set_setting(VIEW_SETTINGS_KEY, {
                "k": w.k, "filter": w.filter_box.currentData(), "sort": w.sort_box.currentData(),
                "labels": w.label_box.currentData()})
        except ContrarioError:
            pass  # a read-only or vanished project: the view is simply not remembered

    # ---- quitting ----------------------------------------------------------------------------------------
    def confirm_quit(self) -> bool:
        """Asked when jobs are queued or running; they stop now and resume at the next open."""
        w = self.window
        if w.project is None:
            return True
        jobs = w.job_monitor.refresh().active()
        if not jobs:
            return True
        names = ", ".join(f"#{j.id} {j.kind} ({j.status})" for j in jobs[:4])
        return w.ask_quit("Jobs are running",
                          f"{len(jobs)} job{'s are' if len(jobs) != 1 else ' is'} not finished: {names}.\n\n"
                          "Quit anyway? They stop now and resume when the project is opened again.")

    def confirm_close(self) -> bool:
        """Jobs still running, then unsaved mask edits (Save / Discard / Cancel): may the window close?"""
        return self.confirm_quit() and self.window.labels.confirm_leave("closing the window")

    def request_quit(self) -> None:
        """Project → Quit (Ctrl+Q)."""
        if self.confirm_close():
            self._quit_confirmed = True
            self.window.close()

    def may_close(self, event: QtGui.QCloseEvent) -> bool:
        """The window's close button asks too; a close() from code (screenshots, tests) does not."""
        return not event.spontaneous() or self._quit_confirmed or self.confirm_close()
