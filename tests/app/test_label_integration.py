"""Label correction inside the main window, on real small projects (real SQLite, blobs, images), offscreen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from workbench_helpers import open_in
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from core.labels.editing import current_labels, load_mask, save_mask
from core.store.project import Project

Key = QtCore.Qt.Key
Mod = QtCore.Qt.KeyboardModifier


def enter_label_mode(window, qtbot):
    with qtbot.waitSignal(window.labels.maskOpened, timeout=10000):
        qtbot.keyClick(window, Key.Key_L, Mod.ControlModifier)
    assert window.labels.active and window.labels.toolbar.isVisible()


def viewport_point(window, x: float, y: float) -> QtCore.QPoint:
    """Where image pixel (x, y) of the active view is on the canvas viewport."""
    panel = window.labels.active_panel()
    scene = panel.vb.mapViewToScene(QtCore.QPointF(x, y))
    return window.canvas.mapFromScene(scene)


def mine(project, image_id: int, annotator: str = "alice"):
    with Project.open(project.root) as fresh, fresh.session(readonly=True) as s:
        labels = current_labels(s, image_ids=[image_id], annotator=annotator)
    return labels[0] if labels else None


def stored_mask(project, label, shape):
    with Project.open(project.root) as fresh:
        return load_mask(fresh, label, shape)


def test_label_mode_paint_with_the_mouse_undo_and_save(window, project, qtbot):
    open_in(window, project, qtbot)
    image_id = window.current_image_id
    enter_label_mode(window, qtbot)
    assert window.labels.classes[0].name == "defect"  # the project had no class: one was created
    assert not window.registry.action("undo_verdict").isEnabled()
    qtbot.keyClick(window, Key.Key_B)  # brush
    assert window.labels.editor.tool.value == "brush"
    window.labels.toolbar.size_box.setValue(5)
    mask = window.labels.editor.current.mask

    QTest.mouseClick(window.canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, Mod.NoModifier,
                     viewport_point(window, 40, 50))
    assert mask[50, 40] == window.labels.class_id
    assert 60 < np.count_nonzero(mask) < 100  # one disc of radius 5
    QTest.mouseClick(window.canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, Mod.NoModifier,
                     viewport_point(window, 90, 90))
    assert mask[90, 90]
    qtbot.keyClick(window, Key.Key_Z, Mod.ControlModifier)  # mask undo, not verdict undo
    assert mask[90, 90] == 0 and mask[50, 40]
    qtbot.keyClick(window, Key.Key_Z, Mod.ControlModifier | Mod.ShiftModifier)
    assert mask[90, 90]
    qtbot.keyClick(window, Key.Key_Z, Mod.ControlModifier)

    with qtbot.waitSignal(window.labels.maskSaved, timeout=10000):
        qtbot.keyClick(window, Key.Key_S, Mod.ControlModifier)
    label = mine(project, image_id)
    assert (label.revision, label.source, label.verdict, label.defect_class) == (1, "manual", "defect", "defect")
    saved = stored_mask(project, label, mask.shape)
    assert np.array_equal(saved, mask) and saved[50, 40] and not saved[90, 90]
    assert window.model.row_by_image(image_id).my_verdict == "defect"
    assert window.labels.toolbar.state_label.text() == "saved"


def test_moving_on_autosaves_an_accepted_model_region_as_model_sourced(window, project, qtbot):
    open_in(window, project, qtbot)
    window.labels.autosave_action.setChecked(True)  # Labels → Save masks automatically: no question
    for pos in range(window.model.rowCount()):  # an image whose result has a region with a label map
        row = window.model.row_at(pos)
        if row.best_log10_nfa is not None and not row.view:
            window.show_position(pos)
            break
    window.wait_idle()
    image_id = window.current_image_id
    enter_label_mode(window, qtbot)
    overlay = window.labels.active_panel().data.overlay
    region = overlay.regions[0]
    window.labels.set_tool("region")
    assert window.labels.editor.accept_region(region.label)
    painted = window.labels.editor.current.mask.copy()
    assert painted.any()

    with qtbot.waitSignal(window.labels.maskSaved, timeout=10000) as saved:
        qtbot.keyClick(window, Key.Key_Right)  # next image: the edit is saved on the way
    assert saved.args[0] == image_id and window.current_image_id != image_id
    label = mine(project, image_id)
    assert label.source == "model"
    assert label.source_ref["model_revision"] == window.model_revision_id
    assert label.source_ref["region_labels"] == [region.label]
    assert np.array_equal(stored_mask(project, label, painted.shape), painted)

    with qtbot.waitSignal(window.labels.maskOpened, timeout=10000):  # coming back shows the saved mask
        qtbot.keyClick(window, Key.Key_Left)
    assert np.array_equal(window.labels.editor.current.mask, painted)
    assert window.labels.editor.current.base_annotation_id == label.id


def _two_annotators(project, image_id: int, shape) -> None:
    a = np.zeros(shape, np.uint8)
    a[10:40, 10:40] = 1
    b = np.zeros(shape, np.uint8)
    b[30:70, 30:70] = 1
    save_mask(project, image_id, "bob", a)
    save_mask(project, image_id, "carol", b)


def test_findings_dock_fills_off_the_gui_thread_and_activating_selects_the_image(window, project, qtbot):
    open_in(window, project, qtbot)
    target = window.model.row_at(3)
    shape = window.view_data(window.current_image_id).pixels.shape[:2]
    _two_annotators(project, target.image_id, shape)
    with qtbot.waitSignal(window.labels.findingsReady, timeout=20000) as got:
        window.registry.action("find_findings").trigger()
    assert window.labels.findings_dock.isVisible()
    mask_findings = [f for f in got.args[0].findings if f.kind == "mask_disagreement"]
    assert [f.image_ids for f in mask_findings] == [[target.image_id]]
    tree = window.labels.findings.tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    row = next(r for r in rows if r.data(0, QtCore.Qt.ItemDataRole.UserRole + 1).kind == "mask_disagreement")
    tree.itemActivated.emit(row, 0)
    window.wait_idle()
    assert window.current_image_id == target.image_id


def test_adjudicate_opens_the_view_and_saving_refreshes_the_window(window, project, qtbot):
    open_in(window, project, qtbot)
    image_id = window.current_image_id
    shape = window.view_data(image_id).pixels.shape[:2]
    _two_annotators(project, image_id, shape)
    window.reload()
    with qtbot.waitSignal(window.labels.adjudicationOpened, timeout=10000) as got:
        window.registry.action("adjudicate").trigger()
    dialog = got.args[0]
    assert [a.annotator for a in dialog.view.comparison.annotations] == ["bob", "carol"]
    dialog.view.apply_combination("union")
    ann_id = dialog.view.save()
    label = mine(project, image_id, "adjudicated")
    assert label.id == ann_id and label.source == "adjudicated"
    assert np.count_nonzero(stored_mask(project, label, shape)) == 30 * 30 + 40 * 40 - 10 * 10
    assert window.model.row_by_image(image_id).other_verdicts["adjudicated"] == "defect"  # reloaded
    assert not dialog.isVisible()


def test_export_writes_a_folder_and_errors_name_the_folder(window, project, qtbot, tmp_path, monkeypatch):
    open_in(window, project, qtbot)
    image_id = window.current_image_id
    mask = np.zeros(window.view_data(image_id).pixels.shape[:2], np.uint8)
    mask[20:28, 20:28] = 1
    save_mask(project, image_id, "alice", mask)
    out = tmp_path / "csv-export"
    with qtbot.waitSignal(window.labels.exported, timeout=20000) as got:
        window.labels.export_to("csv", out)
    assert got.args[0].out == out and got.args[0].annotations >= 1
    assert sorted(p.name for p in out.glob("*.csv"))
    assert "Exported" in window.status_label.text()

    errors = []
    monkeypatch.setattr(window, "show_error", lambda title, text: errors.append((title, text)))
    busy = tmp_path / "holiday-photos"
    busy.mkdir()
    (busy / "beach.jpg").write_bytes(b"not ours")
    with qtbot.waitSignal(window.labels.exportFailed, timeout=20000):
        window.labels.export_to("mvtec", busy)
    (title, text), = errors
    assert title == "Export failed" and str(busy) in text and "not an earlier Contrario export" in text
    assert (busy / "beach.jpg").read_bytes() == b"not ours"


def test_label_actions_are_in_the_registry_menus_and_help(window, project, qtbot):
    assert ("Labels", "Brush", "B") in window.registry.help_rows()
    assert ("Project", "Export labels...", "Ctrl+E") in window.registry.help_rows()
    window.registry.rebind("label_brush", ["N"])
    assert window.registry.action("label_brush").shortcut().toString() == "N"
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions() if a.menu()}
    assert window.registry.action("export") in menus["Project"].actions()
    assert window.registry.action("label_mode") in menus["Labels"].actions()
    assert not window.registry.action("label_mode").isEnabled()  # no project yet
    open_in(window, project, qtbot)
    enter_label_mode(window, qtbot)
    qtbot.keyClick(window, Key.Key_N)
    assert window.labels.editor.tool.value == "brush"
    qtbot.keyClick(window, Key.Key_L, Mod.ControlModifier)  # leave
    assert not window.labels.active and window.registry.action("undo_verdict").isEnabled()
    assert not window.registry.action("label_brush").isEnabled()


def test_a_defect_verdict_after_a_saved_mask_keeps_the_mask(window, project, qtbot):
    open_in(window, project, qtbot)
    image_id = window.current_image_id
    enter_label_mode(window, qtbot)
    window.labels.editor.begin_stroke(30, 30)
    window.labels.editor.end_stroke()
    with qtbot.waitSignal(window.labels.maskSaved, timeout=10000):
        window.labels.save()
    painted = window.labels.editor.current.mask.copy()
    window.set_verdict("unsure", advance=False)
    window.set_verdict("defect", advance=False)
    label = mine(project, image_id)
    assert (label.revision, label.verdict, label.defect_class) == (3, "defect", "defect")
    assert np.array_equal(stored_mask(project, label, painted.shape), painted)
    window.set_verdict("good", advance=False)
    assert mine(project, image_id).mask_blob is None


def test_a_painted_mask_is_outlined_in_a_colour_the_heat_map_never_shows(window, project, qtbot):
    """The default class is orange: painted on the orange heat map, the mask could not be seen."""
    from app.labels.mask_layer import OUTLINE_COLOR

    open_in(window, project, qtbot)
    window.show_position(_first_single_view_with_regions(window))
    window.wait_idle()
    enter_label_mode(window, qtbot)
    window.controls.opacity_slider.setValue(100)
    overlay = window.labels.active_panel().data.overlay
    assert overlay is not None and window.controls.overlay_check.isChecked()
    # paint where the heat map is hottest (map and picture share the 128-pixel grid here)
    y, x = np.unravel_index(int(np.argmax(overlay.map_u8)), overlay.map_u8.shape)
    x, y = min(max(x, 12), 115), min(max(y, 12), 115)
    editor = window.labels.editor
    window.labels.toolbar.size_box.setValue(8)
    editor.begin_stroke(x, y)
    editor.end_stroke()
    item = editor.current.item
    qtbot.waitUntil(lambda: not item.outline.path().isEmpty(), timeout=2000)

    cyan = np.array(QtGui.QColor(OUTLINE_COLOR).getRgb()[:3])
    heat = window.canvas._lut[:, :3].astype(int)
    assert np.min(np.linalg.norm(heat - cyan, axis=1)) > 150  # no heat-map colour is near the outline's
    window.canvas.repaint()
    picture = window.canvas.viewport().grab().toImage()
    found = 0
    for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
        p = viewport_point(window, x + 0.5 + 8 * np.cos(angle), y + 0.5 + 8 * np.sin(angle))
        near = [QtGui.QColor(picture.pixel(p.x() + dx, p.y() + dy)).getRgb()[:3]
                for dx in (-2, -1, 0, 1, 2) for dy in (-2, -1, 0, 1, 2)]
        found += min(np.linalg.norm(np.array(near) - cyan, axis=1)) < 60
    assert found >= 12  # the outline is drawn all around the disc, over the heat map

    qtbot.keyClick(window, Key.Key_Z, Mod.ControlModifier)  # undo: the outline follows the mask
    qtbot.waitUntil(lambda: item.outline.path().isEmpty(), timeout=2000)
    window.labels.set_active(False)  # nothing unsaved is left after the undo: no question


def _first_single_view_with_regions(window) -> int:
    for pos in range(window.model.rowCount()):
        row = window.model.row_at(pos)
        if row.best_log10_nfa is not None and not row.view:
            return pos
    raise AssertionError("the fixture project has no single-view image with regions")


def test_images_left_out_of_an_export_are_named_by_file_and_item(window, project, qtbot, tmp_path):
    """The MVTec export listed them as "image 17: no label"."""
    open_in(window, project, qtbot)
    with qtbot.waitSignal(window.labels.exported, timeout=20000) as got:
        window.labels.export_to("mvtec", tmp_path / "mvtec")  # nothing is labelled: every image is left out
    summary = got.args[0]
    assert summary.skipped
    box = window.findChild(QtWidgets.QMessageBox, "exportSkipped")
    assert box is not None and box.isVisible()
    text = box.text()
    assert f"{len(summary.skipped)} images were left out" in text
    for image_id, why in summary.skipped[:12]:
        row = window.model.row_by_image(image_id)
        assert f"{Path(row.path).name} ({row.batch_name} / " in text
        assert f"image {image_id}:" not in text
    box.close()


def answer_unsaved(monkeypatch, reply: str) -> list[str]:
    """Answer the unsaved-edits question with `reply` (Save, Discard or Cancel); returns the questions asked."""
    asked = []

    def question(parent, title, text, buttons, default):
        asked.append(text)
        assert title == "Unsaved mask edits"
        assert buttons == (QtWidgets.QMessageBox.StandardButton.Save | QtWidgets.QMessageBox.StandardButton.Discard
                           | QtWidgets.QMessageBox.StandardButton.Cancel)
        return getattr(QtWidgets.QMessageBox.StandardButton, reply)

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", question)
    return asked


def paint(window, x: float = 30, y: float = 30) -> np.ndarray:
    window.labels.editor.begin_stroke(x, y)
    window.labels.editor.end_stroke()
    return window.labels.editor.current.mask.copy()


def test_moving_to_another_image_with_unsaved_edits_asks_save_discard_or_cancel(window, project, qtbot, monkeypatch):
    """Label mode saved silently on leaving an image; labelme asks."""
    open_in(window, project, qtbot)
    assert not window.labels.autosave_action.isChecked()  # asking is the default
    image_id = window.current_image_id
    enter_label_mode(window, qtbot)
    painted = paint(window)

    asked = answer_unsaved(monkeypatch, "Cancel")
    qtbot.keyClick(window, Key.Key_Right)
    assert len(asked) == 1 and "moving to another image" in asked[0]
    assert window.current_image_id == image_id and window.gallery.currentIndex().row() == 0
    assert np.array_equal(window.labels.editor.current.mask, painted)
    assert window.labels.toolbar.state_label.text() == "● unsaved changes"
    second = window.model.row_at(1).image_id  # a click on a thumbnail asks too, and once
    rect = window.gallery.visualRect(window.model.index(1))
    QTest.mouseClick(window.gallery.viewport(), QtCore.Qt.MouseButton.LeftButton, Mod.NoModifier, rect.center())
    assert len(asked) == 2 and window.current_image_id == image_id and window.gallery.currentIndex().row() == 0

    asked = answer_unsaved(monkeypatch, "Discard")
    qtbot.keyClick(window, Key.Key_Right)
    window.wait_idle()
    assert len(asked) == 1 and window.current_image_id == second
    window.labels.wait_idle()
    assert mine(project, image_id) is None  # nothing was stored
    with qtbot.waitSignal(window.labels.maskOpened, timeout=10000):  # back: the stored (empty) mask, no question
        qtbot.keyClick(window, Key.Key_Left)
    assert len(asked) == 1 and not window.labels.editor.current.mask.any()

    painted = paint(window, 60, 60)
    asked = answer_unsaved(monkeypatch, "Save")
    qtbot.keyClick(window, Key.Key_Right)
    assert len(asked) == 1 and window.current_image_id == second
    label = mine(project, image_id)  # saved before moving on
    assert (label.revision, label.verdict) == (1, "defect")
    assert np.array_equal(stored_mask(project, label, painted.shape), painted)


def test_leaving_label_mode_or_closing_with_unsaved_edits_asks_first(window, project, qtbot, monkeypatch):
    open_in(window, project, qtbot)
    image_id = window.current_image_id
    enter_label_mode(window, qtbot)
    painted = paint(window)

    asked = answer_unsaved(monkeypatch, "Cancel")
    qtbot.keyClick(window, Key.Key_L, Mod.ControlModifier)
    assert len(asked) == 1 and "leaving label mode" in asked[0]
    assert window.labels.active and window.registry.action("label_mode").isChecked()
    asked = answer_unsaved(monkeypatch, "Save")
    qtbot.keyClick(window, Key.Key_L, Mod.ControlModifier)
    assert len(asked) == 1 and not window.labels.active
    assert np.array_equal(stored_mask(project, mine(project, image_id), painted.shape), painted)

    enter_label_mode(window, qtbot)
    paint(window, 80, 80)
    asked = answer_unsaved(monkeypatch, "Cancel")
    window.request_quit()  # Project → Quit
    assert len(asked) == 1 and "closing the window" in asked[0]
    assert window.isVisible() and window.labels.has_unsaved_changes()
    asked = answer_unsaved(monkeypatch, "Discard")
    window.request_quit()
    assert len(asked) == 1 and not window.isVisible()
    assert mine(project, image_id).revision == 1  # the discarded edit was not stored


def test_save_masks_automatically_saves_on_leaving_without_asking(window, project, qtbot, monkeypatch, settings):
    open_in(window, project, qtbot)
    image_id = window.current_image_id
    enter_label_mode(window, qtbot)
    window.labels.autosave_action.trigger()
    assert str(settings.value("labelsAutoSave")).lower() == "true"  # remembered for the next session
    painted = paint(window)
    asked = answer_unsaved(monkeypatch, "Cancel")
    with qtbot.waitSignal(window.labels.maskSaved, timeout=10000):
        qtbot.keyClick(window, Key.Key_Right)
    assert asked == [] and window.current_image_id != image_id
    assert np.array_equal(stored_mask(project, mine(project, image_id), painted.shape), painted)
