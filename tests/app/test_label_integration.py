"""Label correction inside the main window, on real small projects (real SQLite, blobs, images), offscreen."""

from __future__ import annotations

import numpy as np
from workbench_helpers import open_in
from PySide6 import QtCore
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
    shape = window._views[window.current_image_id].pixels.shape[:2]
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
    shape = window._views[image_id].pixels.shape[:2]
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
    mask = np.zeros(window._views[image_id].pixels.shape[:2], np.uint8)
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
