"""Label correction in the main window, one feature per module:

- app.labels.mask_session: label mode, the mask editors on the canvas, loading and saving masks, the
  Save / Discard / Cancel question before unsaved edits are left;
- app.labels.findings_panel: the Findings dock and its run;
- app.labels.adjudication_launcher: Labels → Adjudicate;
- app.labels.label_export: Project → Export labels;
- app.labels.label_menus: the Labels menu and which actions a project makes available.

LabelIntegration builds them, shares one worker between findings, adjudication inputs and exports (they run
one after another), and wires what one feature asks of another. The window needs: `LabelIntegration(window)`
once, `set_project(project)` on open and `set_project(None)` on close, and `before_show(image_id)` when it
starts showing another image; it asks `confirm_leave()` before it leaves the image or closes. The features
use only the window's public methods and attributes (each module names those it uses); showing the image of
a finding uses `confirm_leave()`, `model`, `set_batch()`, `set_filter()` and `show_position()`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.labels.adjudication_launcher import AdjudicationLauncher
from app.labels.findings_panel import FindingsPanel
from app.labels.label_export import LabelExport
from app.labels.label_menus import bind_label_actions, build_label_menus, update_project_actions
from app.labels.mask_layer import MaskEditor, Tool
from app.labels.mask_session import MaskSession
from app.workers import Task, TaskRunner
from core.labels.classes import ClassInfo
from core.labels.findings import FindingsReport


class LabelIntegration(QtCore.QObject):
    modeChanged = QtCore.Signal(bool)
    maskOpened = QtCore.Signal(int)  # image id now editable
    maskSaved = QtCore.Signal(int, int)  # image id, annotation id
    findingsReady = QtCore.Signal(object)  # FindingsReport
    exported = QtCore.Signal(object)  # ExportSummary
    exportFailed = QtCore.Signal(str)
    adjudicationOpened = QtCore.Signal(object)  # the dialog

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.registry = window.registry
        self.jobs = TaskRunner(max_threads=1, parent=self)
        self.masks = MaskSession(window)
        self.findings_panel = FindingsPanel(window, self.jobs)
        self.export = LabelExport(window, self.jobs)
        self.adjudication = AdjudicationLauncher(window, self.jobs, self._save_before_adjudicating)
        self.labels_menu = build_label_menus(window, self)
        bind_label_actions(self.registry, self)

        self.masks.modeChanged.connect(self.modeChanged)
        self.masks.maskOpened.connect(self.maskOpened)
        self.masks.maskSaved.connect(self.maskSaved)
        self.findings_panel.findingsReady.connect(self.findingsReady)
        self.findings_panel.imageWanted.connect(self.show_image_anywhere)
        self.export.exported.connect(self.exported)
        self.export.exportFailed.connect(self.exportFailed)
        self.adjudication.opened.connect(self.adjudicationOpened)
        self.adjudication.saved.connect(self._after_adjudication)
        self._update_enabled()

    def _update_enabled(self) -> None:
        self.masks.update_actions()
        update_project_actions(self.registry, self.project is not None)

    # ================================================================ project
    @property
    def project(self):
        return self.masks.project

    def set_project(self, project) -> None:
        """Follow the window's project; closing saves unsaved masks first (synchronously), then stops the jobs."""
        if self.project is not None:
            self.masks.set_active(False, wait=True)  # whoever closes the project from the GUI asked first
            self.jobs.cancel_all()
            self.jobs.wait()
        self.masks.set_project(project)
        self.findings_panel.set_project(project)
        self.export.project = project
        self.adjudication.project = project
        self._update_enabled()

    # ================================================================ label mode (MaskSession)
    @property
    def active(self) -> bool:
        return self.masks.active

    @property
    def editor(self) -> MaskEditor | None:
        return self.masks.editor

    @property
    def classes(self) -> list[ClassInfo]:
        return self.masks.classes

    @property
    def class_id(self) -> int | None:
        return self.masks.class_id

    @property
    def tool(self) -> Tool:
        return self.masks.tool

    @property
    def radius(self) -> float:
        return self.masks.radius

    @property
    def toolbar(self):
        return self.masks.toolbar

    @property
    def autosave_action(self):
        return self.masks.autosave_action

    @property
    def io(self) -> TaskRunner:
        return self.masks.io

    def load_classes(self) -> list[ClassInfo]:
        return self.masks.load_classes()

    def set_active(self, on: bool, wait: bool = False, ask: bool = False) -> None:
        self.masks.set_active(on, wait=wait, ask=ask)

    def set_tool(self, tool: Tool | str) -> None:
        self.masks.set_tool(tool)

    def set_radius(self, radius: float) -> None:
        self.masks.set_radius(radius)

    def set_class(self, class_id: int) -> None:
        self.masks.set_class(class_id)

    def active_panel(self):
        return self.masks.active_panel()

    def open_current(self) -> None:
        self.masks.open_current()

    def before_show(self, image_id: int) -> None:
        self.masks.before_show(image_id)

    def has_unsaved_changes(self) -> bool:
        return self.masks.has_unsaved_changes()

    def unsaved_images(self, keep: int | None = None) -> list[int]:
        return self.masks.unsaved_images(keep)

    def confirm_leave(self, what: str, keep: int | None = None) -> bool:
        return self.masks.confirm_leave(what, keep)

    def discard(self, image_id: int) -> None:
        self.masks.discard(image_id)

    def save(self, image_id: int | None = None, wait: bool = False) -> Task | int | None:
        return self.masks.save(image_id, wait=wait)

    # ================================================================ findings (FindingsPanel)
    @property
    def findings(self):
        return self.findings_panel.findings

    @property
    def findings_dock(self) -> QtWidgets.QDockWidget:
        return self.findings_panel.dock

    @property
    def findings_progress(self) -> QtWidgets.QProgressBar:
        return self.findings_panel.progress

    @property
    def findings_status(self) -> QtWidgets.QLabel:
        return self.findings_panel.status

    @property
    def last_report(self) -> FindingsReport | None:
        return self.findings_panel.last_report

    def run_findings(self, batch: str | None = None) -> Task | None:
        return self.findings_panel.run_findings(batch)

    def show_image_anywhere(self, image_id: int) -> None:
        """Select an image in the gallery, clearing the batch and filter when they hide it."""
        w = self.window
        if not self.confirm_leave("moving to another image", keep=image_id):
            return
        pos = w.model.position_of(image_id)
        if pos is None:
            w.set_batch(None)
            w.set_filter("all")
            pos = w.model.position_of(image_id)
        if pos is not None:
            w.show_position(pos)

    # ================================================================ adjudication (AdjudicationLauncher)
    def adjudicate_current(self) -> Task | None:
        return self.adjudication.adjudicate_current()

    def open_adjudication(self, image_id: int, title: str, comparison, pixels) -> QtWidgets.QDialog | None:
        return self.adjudication.open_adjudication(image_id, title, comparison, pixels)

    def _save_before_adjudicating(self, image_id: int) -> None:
        if self.active:
            self.save(image_id)

    def _after_adjudication(self, _image_id: int, _annotation_id: int) -> None:
        if self.last_report is not None:
            self.run_findings()

    # ================================================================ export (LabelExport)
    @property
    def progress(self) -> QtWidgets.QProgressBar:
        return self.export.progress

    def ask_export(self) -> None:
        self.export.ask_export()

    def export_to(self, fmt: str, out: str | Path, batch: str | None = None) -> Task | None:
        return self.export.export_to(fmt, out, batch)

    # ================================================================ waiting
    def wait_idle(self, msecs: int = 30000) -> bool:
        """Block until label loads/saves, findings and exports have run (tests, shutdown)."""
        done = self.io.wait(msecs) and self.jobs.wait(msecs)
        QtCore.QCoreApplication.processEvents()
        return done
