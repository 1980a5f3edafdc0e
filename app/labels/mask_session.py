"""Label mode: a MaskEditor on the active canvas view, the masks open in it, their loading and saving.

Each image's mask is loaded (annotator's current revision) and saved (a new revision via save_mask) on a
one-thread worker, so saves and loads of one image happen in order. Leaving a mask with unsaved edits (another
image, label mode off, closing the window or the project from the menus) asks Save / Discard / Cancel first, as
labelme does; with Labels → Save masks automatically (remembered) it saves without asking. Ctrl+Z and
Ctrl+Shift+Z act on the mask undo stack while the mode is on (the verdict undo is off meanwhile).

Uses the window's `registry`, `canvas` (its `active_panel()`), `model`, `controls` (its `kChanged`),
`viewShown`, `current_image_id`, `annotator`, `ensure_annotator()`, `k`, `model_revision_id`, `settings`,
`show_status()`, `show_error()`, `show_my_verdict()` and `focus_canvas()`.
"""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from app.labels.label_io import LoadedMask, SaveRequest, load_current_mask, store_mask, verdict_for
from app.labels.label_toolbar import TOOL_ACTIONS, LabelToolBar
from app.labels.mask_layer import MaskEditor, Tool
from app.workers import Task, TaskRunner
from core.errors import ContrarioError
from core.labels.classes import ClassInfo, add_class, list_classes

MODE_ACTIONS = [*TOOL_ACTIONS.values(), "brush_bigger", "brush_smaller", "mask_undo", "mask_redo", "save_labels"]
DEFAULT_CLASS = ("defect", "1")  # created when a project has no defect class yet
TEXT_INPUTS = (QtWidgets.QLineEdit, QtWidgets.QAbstractSpinBox, QtWidgets.QKeySequenceEdit, QtWidgets.QTextEdit)
AUTOSAVE_KEY = "labelsAutoSave"  # application setting: save masks on leaving them instead of asking


class MaskSession(QtCore.QObject):
    modeChanged = QtCore.Signal(bool)
    maskOpened = QtCore.Signal(int)  # image id now editable
    maskSaved = QtCore.Signal(int, int)  # image id, annotation id

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

        self.toolbar = LabelToolBar(self.registry, window)
        window.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.toolbar.hide()
        self.toolbar.toolChosen.connect(self.set_tool)
        self.toolbar.radiusChanged.connect(self.set_radius)
        self.toolbar.classChosen.connect(self.set_class)
        self.autosave_action = QtGui.QAction("Save masks automatically", self)
        self.autosave_action.setCheckable(True)
        self.autosave_action.setChecked(str(window.settings.value(AUTOSAVE_KEY, "false")).lower() == "true")
        self.autosave_action.setToolTip("Save a mask with unsaved edits when you leave it, instead of asking")
        self.autosave_action.toggled.connect(lambda on: window.settings.setValue(AUTOSAVE_KEY, bool(on)))
        self._bind()
        window.viewShown.connect(self._on_view_shown)
        window.controls.kChanged.connect(self._on_threshold)
        QtWidgets.QApplication.instance().installEventFilter(self)

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

    def update_actions(self) -> None:
        """Label mode can start with a project open; its tools act only while it is on."""
        r = self.registry
        r.action("label_mode").setEnabled(self.project is not None)
        r.action("label_mode").setChecked(self.active)
        for action_id in MODE_ACTIONS:
            r.action(action_id).setEnabled(self.active)
        r.action("undo_verdict").setEnabled(not self.active)  # Ctrl+Z belongs to the mask while labelling

    # ================================================================ project
    def set_project(self, project) -> None:
        """Follow the window's project; closing saves unsaved masks first (synchronously)."""
        if self.project is not None:
            self.set_active(False, wait=True)  # whoever closes the project from the GUI asked first
            self.io.wait()
        self._saving.clear()
        self.project = project
        self.classes = []
        self.update_actions()

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
            self.update_actions()
            return
        if not on and ask and not self.confirm_leave("leaving label mode"):
            self.update_actions()  # cancelled: the mode stays on, and its action checked
            return
        if not on:
            for image_id in list(self._masks):
                self.save(image_id, wait=wait)
            self._drop_editors()
        self.active = on
        self.toolbar.setVisible(on)
        self.update_actions()
        if on:
            self.load_classes()
            self.set_tool(self.tool)
            self.open_current()
        self.window.show_status("Label mode: paint on the active view" if on else "Label mode off")
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
        return self.window.canvas.active_panel()

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
                editor.remove_from_view()
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
        self.window.show_status("Unsaved mask edits discarded")
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
        self.window.show_status(f"Saved {what} mask of {row.title if row else request.image_id} ({request.verdict})")
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

    # ================================================================ keys
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
