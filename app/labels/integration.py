"""Label correction in the main window: label mode on the canvas, the Findings dock, Adjudicate, Export.

Label mode puts a MaskEditor on the active canvas view. Each image's mask is loaded (annotator's current
revision) and saved (a new revision via save_mask) on a one-thread worker, so saves and loads of one image
happen in order. Leaving a mask with unsaved edits (another image, label mode off, closing the window or the
project from the menus) asks Save / Discard / Cancel first, as labelme does; with Labels → Save masks
automatically (remembered) it saves without asking. Ctrl+Z and Ctrl+Shift+Z act on the mask undo stack while
the mode is on (the verdict undo is off meanwhile).
Findings and exports run on a second one-thread worker with progress in the status bar.

The window needs: `LabelIntegration(window)` once, `set_project(project)` on open and `set_project(None)` on
close, and `before_show(image_id)` when it starts showing another image. It uses the window's registry,
canvas, model, controls (its `kChanged`), `viewShown`, `current_image_id`, `annotator`, `ensure_annotator()`, `k`,
`model_revision_id`, `settings`, `status_label`, `show_error()`, `show_position()`, `reload()` and
`show_my_verdict()`; the window asks `confirm_leave()` before it leaves the image or closes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from app.layout import scrollable
from app.labels.adjudication import AdjudicationView
from app.labels.export_dialog import ExportDialog
from app.labels.findings_queue import FindingsQueue
from app.labels.label_io import (
    LoadedMask,
    SaveRequest,
    adjudication_input,
    load_current_mask,
    store_mask,
    verdict_for,
)
from app.labels.label_toolbar import TOOL_ACTIONS, LabelToolBar
from app.labels.mask_layer import MaskEditor, Tool
from app.workers import Task, TaskRunner
from core.errors import ContrarioError
from core.labels.classes import ClassInfo, add_class, list_classes
from core.labels.findings import FindingsReport

MODE_ACTIONS = [*TOOL_ACTIONS.values(), "brush_bigger", "brush_smaller", "mask_undo", "mask_redo", "save_labels"]
DEFAULT_CLASS = ("defect", "1")  # created when a project has no defect class yet
TEXT_INPUTS = (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QKeySequenceEdit, QtWidgets.QTextEdit)
AUTOSAVE_KEY = "labelsAutoSave"  # application setting: save masks on leaving them instead of asking


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
        self.project = None
        self.active = False
        self.classes: list[ClassInfo] = []
        self.tool = Tool.BRUSH
        self.radius = 8.0
        self.class_id: int | None = None
        self.editor: MaskEditor | None = None
        self._editors: list[MaskEditor] = []  # one per canvas view box that was edited on
        self._masks: dict[int, np.ndarray] = {}  # open masks, kept here so a save never needs the scene item
        self._started_from: dict[int, str] = {}  # image id -> reference annotator whose mask an edit starts from
        self._saving: dict[int, int] = {}  # image id -> undo index a save on the worker is storing
        self.io = TaskRunner(max_threads=1, parent=self)
        self.jobs = TaskRunner(max_threads=1, parent=self)
        self._findings_run = 0
        self.last_report: FindingsReport | None = None

        self.toolbar = LabelToolBar(self.registry, window)
        window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.toolbar.hide()
        self.toolbar.toolChosen.connect(self.set_tool)
        self.toolbar.radiusChanged.connect(self.set_radius)
        self.toolbar.classChosen.connect(self.set_class)
        self._build_findings_dock()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(140)
        self.progress.setRange(0, 100)
        self.progress.hide()
        window.statusBar().addPermanentWidget(self.progress)
        self._build_menus()
        self._bind()
        window.viewShown.connect(self._on_view_shown)
        window.controls.kChanged.connect(self._on_threshold)
        QtWidgets.QApplication.instance().installEventFilter(self)
        self._update_enabled()

    # ================================================================ construction
    def _build_findings_dock(self) -> None:
        self.findings = FindingsQueue()
        self.findings.findingActivated.connect(self._on_finding)
        run = QtWidgets.QPushButton("Find disagreements")
        run.setToolTip(self.registry.action("find_findings").toolTip())
        run.clicked.connect(lambda _=False: self.run_findings())
        self.findings_progress = QtWidgets.QProgressBar()
        self.findings_progress.setRange(0, 100)
        self.findings_progress.setMaximumWidth(220)
        self.findings_progress.hide()
        self.findings_status = QtWidgets.QLabel("Not run yet")
        self.findings_status.setStyleSheet("color: #9aa0a8;")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(run)
        top.addWidget(self.findings_progress)
        top.addWidget(self.findings_status, 1)
        box = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(box)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.findings, 1)
        self.findings_dock = QtWidgets.QDockWidget("Findings", self.window)
        self.findings_dock.setObjectName("findingsDock")
        self.findings_dock.setWidget(scrollable(box))
        self.window.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, self.findings_dock)
        self.findings_dock.hide()

    def _menu(self, title: str) -> QtWidgets.QMenu | None:
        for action in self.window.menuBar().actions():
            if action.menu() is not None and action.text().replace("&", "") == title:
                return action.menu()
        return None

    def _build_menus(self) -> None:
        a = self.registry.action
        project = self._menu("Project")
        if project is not None:
            project.insertAction(a("quit"), a("export"))
            project.insertSeparator(a("quit"))
        menu = QtWidgets.QMenu("&Labels", self.window)
        for i in ("label_mode", "save_labels", "mask_undo", "mask_redo", None):
            menu.addSeparator() if i is None else menu.addAction(a(i))
        tools = menu.addMenu("Tools")
        for i in (*TOOL_ACTIONS.values(), None, "brush_bigger", "brush_smaller"):
            tools.addSeparator() if i is None else tools.addAction(a(i))
        self.autosave_action = QtGui.QAction("Save masks automatically", menu)
        self.autosave_action.setCheckable(True)
        self.autosave_action.setChecked(str(self.window.settings.value(AUTOSAVE_KEY, "false")).lower() == "true")
        self.autosave_action.setToolTip("Save a mask with unsaved edits when you leave it, instead of asking")
        self.autosave_action.toggled.connect(lambda on: self.window.settings.setValue(AUTOSAVE_KEY, bool(on)))
        menu.addAction(self.autosave_action)
        menu.addSeparator()
        menu.addAction(a("find_findings"))
        dock_action = self.findings_dock.toggleViewAction()
        dock_action.setText("Findings panel")
        menu.addAction(dock_action)
        menu.addAction(a("adjudicate"))
        help_menu = self._menu("Help")
        bar = self.window.menuBar()
        if help_menu is not None:
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
        self.labels_menu = menu

    def _bind(self) -> None:
        r = self.registry
        mode = r.action("label_mode")
        mode.setCheckable(True)
        r.bind("label_mode", lambda: self.set_active(mode.isChecked(), ask=True))  # Ctrl+L: the user leaves
        r.bind("brush_bigger", lambda: self.toolbar.size_box.setValue(round(self.radius * 1.25 + 0.5)))
        r.bind("brush_smaller", lambda: self.toolbar.size_box.setValue(round(self.radius / 1.25)))
        r.bind("mask_undo", lambda: self.editor is not None and self.editor.undo_group.undo())
        r.bind("mask_redo", lambda: self.editor is not None and self.editor.undo_group.redo())
        r.bind("save_labels", lambda: self.save())
        r.bind("find_findings", lambda: self.run_findings())
        r.bind("adjudicate", lambda: self.adjudicate_current())
        r.bind("export", self.ask_export)

    def _update_enabled(self) -> None:
        r = self.registry
        has = self.project is not None
        r.action("label_mode").setEnabled(has)
        r.action("label_mode").setChecked(self.active)
        for action_id in MODE_ACTIONS:
            r.action(action_id).setEnabled(self.active)
        r.action("undo_verdict").setEnabled(not self.active)  # Ctrl+Z belongs to the mask while labelling
        for action_id in ("find_findings", "adjudicate", "export"):
            r.action(action_id).setEnabled(has)

    # ================================================================ project
    def set_project(self, project) -> None:
        """Follow the window's project; closing saves unsaved masks first (synchronously)."""
        if self.project is not None:
            self.set_active(False, wait=True)  # whoever closes the project from the GUI asked first
            self.jobs.cancel_all()
            self.jobs.wait()
            self.io.wait()
        self._saving.clear()
        self.project = project
        self.classes = []
        self.last_report = None
        self.findings.set_report(FindingsReport([], [], [], None))
        self.findings_status.setText("Not run yet")
        self._update_enabled()

    def load_classes(self) -> list[ClassInfo]:
        """The project's defect classes; a first class "defect" (key 1) is created when there is none."""
        with self.project.session() as s:
            classes = list_classes(s)
            if not classes:
                add_class(s, DEFAULT_CLASS[0], hotkey=DEFAULT_CLASS[1])
                classes = list_classes(s)
        self.classes = classes
        if self.class_id not in {c.id for c in classes}:
            self.class_id = classes[0].id
        self.toolbar.set_classes(classes, self.class_id)
        for editor in self._editors:
            editor.set_classes(classes)
            editor.set_class(self.class_id)
        return classes

    # ================================================================ label mode
    def set_active(self, on: bool, wait: bool = False, ask: bool = False) -> None:
        """Enter or leave label mode. Leaving saves unsaved edits; with `ask` (the user toggles the mode) it asks
        Save / Discard / Cancel first."""
        if on and (self.project is None or not self.window.ensure_annotator()):
            on = False
        if on == self.active:
            self._update_enabled()
            return
        if not on and ask and not self.confirm_leave("leaving label mode"):
            self._update_enabled()  # cancelled: the mode stays on, and its action checked
            return
        if not on:
            for image_id in list(self._masks):
                self.save(image_id, wait=wait)
            self._drop_editors()
        self.active = on
        self.toolbar.setVisible(on)
        self._update_enabled()
        if on:
            self.load_classes()
            self.set_tool(self.tool)
            self.open_current()
        self.window.status_label.setText("Label mode: paint on the active view" if on else "Label mode off")
        self.modeChanged.emit(on)

    def set_tool(self, tool: Tool | str) -> None:
        self.tool = Tool(tool)
        self.toolbar.show_tool(self.tool.value)
        if self.editor is not None:
            self.editor.set_tool(self.tool)

    def set_radius(self, radius: float) -> None:
        self.radius = float(radius)
        if self.toolbar.size_box.value() != int(radius):
            self.toolbar.size_box.setValue(int(radius))
        if self.editor is not None:
            self.editor.set_radius(self.radius)

    def set_class(self, class_id: int) -> None:
        self.class_id = int(class_id)
        self.toolbar.show_class(self.class_id)
        if self.editor is not None:
            self.editor.set_class(self.class_id)

    def active_panel(self):
        canvas = self.window.canvas
        if not canvas.panels:
            return None
        return canvas.panels[min(canvas.active_index, len(canvas.panels) - 1)]

    def open_current(self) -> None:
        """Make the window's current image editable on its canvas view (the mask loads off the GUI thread)."""
        image_id = self.window.current_image_id
        panel = self.active_panel()
        if not self.active or image_id is None or panel is None or panel.data is None:
            return
        if panel.data.image_id != image_id or panel.data.pixels is None:
            self._set_state("this image cannot be labelled (not readable)" if panel.data.pixels is None else "")
            return
        self._attach(panel.vb)
        if image_id in self.editor.edits:
            self._opened(self.editor.open_image(image_id, self._masks[image_id]), panel)
            return
        self._set_state("loading mask ...")
        self.io.start(load_current_mask, self.project, image_id, self.window.annotator,
                      on_done=self._on_mask_loaded,
                      on_error=lambda msg: self.window.show_error("Cannot open the mask", msg))

    def _on_mask_loaded(self, loaded: LoadedMask) -> None:
        panel = self.active_panel()
        if (not self.active or loaded.image_id != self.window.current_image_id or panel is None
                or panel.data is None or panel.data.image_id != loaded.image_id or self.editor is None
                or self.editor.vb is not panel.vb or loaded.image_id in self.editor.edits):
            return
        if panel.data.pixels is None or panel.data.size != loaded.mask.shape:
            self._set_state(f"stored mask {loaded.mask.shape} does not match the picture")
            return
        edit = self.editor.open_image(loaded.image_id, loaded.mask, loaded.annotation_id)
        self._masks[loaded.image_id] = edit.mask
        if loaded.started_from:
            self._started_from[loaded.image_id] = loaded.started_from
        self._opened(edit, panel)

    def _opened(self, edit, panel) -> None:
        self.editor.set_overlay(panel.data.overlay, self.window.model_revision_id, self.window.k)
        self._set_state()
        self.maskOpened.emit(edit.image_id)

    def _attach(self, vb) -> None:
        """Use (or create) the editor of view box `vb`; editors of deleted view boxes are dropped."""
        self._editors = [e for e in self._editors if shiboken6.isValid(e.vb)]
        editor = next((e for e in self._editors if e.vb is vb), None)
        if editor is None:
            editor = MaskEditor(vb, self.classes, parent=self)
            editor.changed.connect(lambda _id: self._set_state())
            self._editors.append(editor)
        self.editor = editor
        editor.set_tool(self.tool)
        editor.set_radius(self.radius)
        if self.class_id is not None:
            editor.set_class(self.class_id)

    def _close(self, image_id: int) -> None:
        self._masks.pop(image_id, None)
        for editor in self._editors:
            if image_id in editor.edits:
                if not shiboken6.isValid(editor.vb) and editor.current is not None \
                        and editor.current.image_id == image_id:
                    editor.current = None  # its view box is gone with the item in it
                editor.close_image(image_id)

    def _drop_editors(self) -> None:
        for image_id in list(self._masks):
            self._close(image_id)
        for editor in self._editors:
            if shiboken6.isValid(editor.vb):
                # the editor's brush cursor and polygon preview live in the canvas view box
                for item in (editor._cursor, editor._poly_item):
                    editor.vb.removeItem(item)
            editor.deleteLater()
        self._editors = []
        self.editor = None

    def before_show(self, image_id: int) -> None:
        """The window moves to another image: save (when the user chose so in `confirm_leave`, or when no one
        asked) and close the open mask of the previous one."""
        if not self.active:
            return
        unsaved = self.unsaved_images(keep=image_id)
        for open_id in list(self._masks):
            if open_id != image_id:
                if open_id in unsaved:
                    self.save(open_id)
                self._close(open_id)

    def _on_view_shown(self, image_id: int) -> None:
        if self.active:
            self.open_current()

    def _on_threshold(self, _k: float) -> None:
        if self.editor is not None:
            self.editor.k = self.window.k

    # ================================================================ saving
    def _edit_of(self, image_id: int):
        for editor in self._editors:
            if image_id in editor.edits:
                return editor, editor.edits[image_id]
        return None, None

    def has_unsaved_changes(self) -> bool:
        return bool(self.unsaved_images())

    def unsaved_images(self, keep: int | None = None) -> list[int]:
        """Open masks (but `keep`'s) with edits that are neither saved nor being saved."""
        dirty = []
        for image_id in self._masks:
            edit = self._edit_of(image_id)[1]
            if image_id != keep and edit is not None and not edit.stack.isClean() \
                    and self._saving.get(image_id) != edit.stack.index():
                dirty.append(image_id)
        return dirty

    def confirm_leave(self, what: str, keep: int | None = None) -> bool:
        """Before the masks being edited are left (`what`: "moving to another image", ...), ask Save / Discard /
        Cancel when one has unsaved edits; True when the caller may go on. With "Save masks automatically"
        nothing is asked: the caller's leaving saves them, as it does when no one asks."""
        dirty = self.unsaved_images(keep)
        if not dirty or self.autosave_action.isChecked():
            return True
        button = QtWidgets.QMessageBox.StandardButton
        names = []
        for image_id in dirty:
            row = self.window.model.row_by_image(image_id)
            names.append(row.title if row else f"image {image_id}")
        text = (f"The mask of {', '.join(names)} has unsaved edits.\n\nSave them before {what}?\n"
                "(Labels → Save masks automatically saves without asking.)")
        answer = QtWidgets.QMessageBox.question(self.window, "Unsaved mask edits", text,
                                                button.Save | button.Discard | button.Cancel, button.Save)
        self.window.activateWindow()  # the keys go back to the window (no window manager hands them back)
        self.window.focus_canvas()
        if answer == button.Save:
            return all(self.save(image_id, wait=True) is not None for image_id in dirty)
        if answer == button.Discard:
            for image_id in dirty:
                self.discard(image_id)
            return True
        return False

    def discard(self, image_id: int) -> None:
        """Drop the unsaved edits of one image: its mask is read from the store again when next opened."""
        self._close(image_id)
        self._started_from.pop(image_id, None)
        self.window.status_label.setText("Unsaved mask edits discarded")
        self._set_state()

    def save(self, image_id: int | None = None, wait: bool = False) -> Task | int | None:
        """Store the mask of `image_id` (default: the open one) as a new revision when it has edits.

        Runs on the label worker (returns its Task), or here when `wait` (returns the annotation id).
        """
        if image_id is None:
            image_id = self.editor.current.image_id if self.editor and self.editor.current else None
        editor, edit = self._edit_of(image_id) if image_id is not None else (None, None)
        if edit is None or edit.stack.isClean():
            if image_id is not None and image_id == self.window.current_image_id:
                self._set_state("nothing to save")
            return None
        if not self.window.ensure_annotator():
            return None
        row = self.window.model.row_by_image(image_id)
        mask = self._masks[image_id].copy()
        source, ref = editor.source_of(image_id)
        request = SaveRequest(image_id, self.window.annotator, mask,
                              verdict_for(mask, row.my_verdict if row else None), source, ref)
        mark = (edit.stack.index(), len(edit.accepted_regions))
        title = row.title if row else f"image {image_id}"
        if wait:
            try:
                ann_id = store_mask(self.project, request)
            except ContrarioError as exc:
                self.window.show_error("Mask not saved", f"{title}: {exc}")
                return None
            self._saved(request, mark, ann_id)
            return ann_id
        self._saving[image_id] = mark[0]

        def failed(msg: str) -> None:
            self._saving.pop(image_id, None)
            self.window.show_error("Mask not saved", f"{title}: {msg}")

        return self.io.start(store_mask, self.project, request,
                             on_done=lambda ann_id: self._saved(request, mark, ann_id), on_error=failed)

    def _saved(self, request: SaveRequest, mark: tuple[int, int], ann_id: int) -> None:
        self._saving.pop(request.image_id, None)
        _editor, edit = self._edit_of(request.image_id)
        if edit is not None:
            edit.base_annotation_id = ann_id
            del edit.accepted_regions[: mark[1]]
            if edit.stack.index() == mark[0]:
                edit.stack.setClean()
        row = self.window.model.row_by_image(request.image_id)
        self.window.show_my_verdict(request.image_id, request.verdict)
        what = "model-assisted" if request.source == "model" else "manual"
        self.window.status_label.setText(f"Saved {what} mask of {row.title if row else request.image_id} "
                                         f"({request.verdict})")
        self._set_state()
        self.maskSaved.emit(request.image_id, ann_id)

    def _set_state(self, text: str | None = None) -> None:
        if text is None:
            edit = self.editor.current if self.editor is not None else None
            if edit is None:
                text = ""
            elif not edit.stack.isClean():
                text = "● unsaved changes"
            else:
                origin = self._started_from.get(edit.image_id)
                text = ("saved" if edit.base_annotation_id else
                        f"{origin}'s mask (edit and save to make it yours)" if origin else "no mask yet")
        self.toolbar.state_label.setText(text)

    # ================================================================ findings
    def run_findings(self, batch: str | None = None) -> Task | None:
        """Show the Findings dock and fill it from find_findings on the worker."""
        if self.project is None:
            return None
        from core.labels.findings import find_findings

        self.findings_dock.show()
        self._findings_run += 1
        run = self._findings_run
        self.findings_progress.setValue(0)
        self.findings_progress.show()
        self.findings_status.setText("Checking labels ...")
        return self.jobs.start(
            find_findings, self.project, batch, with_progress=True,
            on_progress=lambda f, msg: run == self._findings_run and self._findings_progress(f, msg),
            on_done=lambda report: run == self._findings_run and self._on_findings(report),
            on_error=lambda msg: self._findings_failed(msg),
        )

    def _findings_progress(self, fraction: float, message: str) -> None:
        self.findings_progress.setValue(int(round(100 * fraction)))
        self.findings_status.setText(message)

    def _on_findings(self, report: FindingsReport) -> None:
        self.last_report = report
        self.findings.set_report(report)
        self.findings_progress.hide()
        kappas = [f"{a.batch}: κ {a.kappa:.2f}" for a in report.agreement if a.kappa is not None]
        self.findings_status.setText(f"{len(report.findings)} findings" + (" · " + ", ".join(kappas) if kappas else ""))
        self.findingsReady.emit(report)

    def _findings_failed(self, message: str) -> None:
        self.findings_progress.hide()
        self.findings_status.setText("Failed")
        self.window.show_error("Finding disagreements failed", message)

    def _on_finding(self, finding) -> None:
        if finding is not None and finding.image_ids:
            self.show_image_anywhere(finding.image_ids[0])

    def show_image_anywhere(self, image_id: int) -> None:
        """Select an image in the gallery, clearing the batch and filter when they hide it."""
        w = self.window
        if not self.confirm_leave("moving to another image", keep=image_id):
            return
        pos = w.model.position_of(image_id)
        if pos is None:
            w.batch_box.setCurrentIndex(0)
            w.set_filter("all")
            pos = w.model.position_of(image_id)
        if pos is not None:
            w.show_position(pos)

    # ================================================================ adjudication
    def adjudicate_current(self) -> Task | None:
        """Open the adjudication view of the current image (its inputs load on the worker)."""
        w = self.window
        row = w.model.row_by_image(w.current_image_id) if self.project and w.current_image_id is not None else None
        if row is None or row.failed:
            return None
        if self.active:
            self.save(row.image_id)
        return self.jobs.start(adjudication_input, self.project, row.image_id, row.path,
                               on_done=lambda got: self.open_adjudication(row.image_id, row.title, *got),
                               on_error=lambda msg: w.show_error("Cannot adjudicate", f"{row.title}: {msg}"))

    def open_adjudication(self, image_id: int, title: str, comparison, pixels) -> QtWidgets.QDialog | None:
        if len(comparison.annotations) < 2:
            self.window.status_label.setText(f"{title}: adjudication needs labels from two or more annotators "
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
        self.adjudicationOpened.emit(dialog)
        return dialog

    def _after_adjudication(self, dialog: QtWidgets.QDialog, image_id: int, annotation_id: int) -> None:
        self.window.reload()
        self.window.status_label.setText(f"Adjudication saved (annotation #{annotation_id})")
        if self.last_report is not None:
            self.run_findings()
        dialog.accept()

    # ================================================================ export
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
        self.window.status_label.setText(f"Exporting ({fmt}) to {out} ...")
        return self.jobs.start(
            export, self.project, fmt, out, batch, with_progress=True,
            on_progress=lambda f, msg: self._export_progress(fmt, f, msg),
            on_done=self._exported,
            on_error=lambda msg: self._export_failed(fmt, out, msg),
        )

    def _export_progress(self, fmt: str, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self.window.status_label.setText(f"Export ({fmt}): {message}")

    def _exported(self, summary) -> None:
        self.progress.hide()
        skipped = len(summary.skipped)
        self.window.status_label.setText(
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

    def _export_failed(self, fmt: str, out: Path, message: str) -> None:
        self.progress.hide()
        self.window.status_label.setText(f"Export to {out} failed")
        self.window.show_error("Export failed", f"The {fmt} export to {out} failed:\n\n{message}")
        self.exportFailed.emit(message)

    # ================================================================ events
    def eventFilter(self, obj, event) -> bool:
        """Class hotkeys, Enter/Escape of the polygon tool, while label mode is on."""
        if (event.type() != QtCore.QEvent.Type.KeyPress or not self.active or self.editor is None
                or self.editor.current is None or not self.window.isActiveWindow()):
            return False
        if isinstance(QtWidgets.QApplication.focusWidget(), TEXT_INPUTS):
            return False
        if self.editor.key_press(event):
            if self.editor.class_id != self.class_id:
                self.set_class(self.editor.class_id)
            return True
        return False

    def wait_idle(self, msecs: int = 30000) -> bool:
        """Block until label loads/saves, findings and exports have run (tests, shutdown)."""
        done = self.io.wait(msecs) and self.jobs.wait(msecs)
        QtCore.QCoreApplication.processEvents()
        return done
