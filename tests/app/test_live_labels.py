"""Several labelers on one project, on SQLite and on PostgreSQL: label revisions saved by other annotators
(another workbench on the shared project) reach the window that shows the image, and the user's unsaved mask
strokes survive them; Labels → Annotators shows who labelled what and when."""

from __future__ import annotations

import numpy as np
from fixture_results import add_images
from PySide6 import QtCore
from PySide6.QtTest import QTest
from workbench_helpers import open_in

from core.labels.editing import adjudicate, current_labels, load_mask, save_mask
from core.store.project import Project

Key = QtCore.Qt.Key
Mod = QtCore.Qt.KeyboardModifier


def _shared_project(new_project, demo_files, tmp_path):
    images, _corrupt = demo_files
    project = new_project(tmp_path / "shared")
    add_images(project, "leather", [(d.item, d.view, d.path) for d in images if d.product == "leather"])
    return project


def _looked(window, qtbot):
    """Wait until the window has read the others' revisions of the image on screen once."""
    image_id = window.current_image_id
    with qtbot.waitSignal(window.live_labels.polled, timeout=10000, check_params_cb=lambda ids: image_id in ids):
        window.live_labels.poll()


def _label(project, image_id: int, annotator: str):
    with Project.open(project.root) as fresh, fresh.session(readonly=True) as s:
        found = current_labels(s, image_ids=[image_id], annotator=annotator)
    return found[0] if found else None


def test_another_annotators_revisions_show_and_unsaved_strokes_stay(new_project, demo_files, tmp_path, window, qtbot):
    project = _shared_project(new_project, demo_files, tmp_path)
    other = Project.open(project.root)  # bob's and carol's workbench: its own connections
    live = window.live_labels
    live.timer.setInterval(100)
    try:
        open_in(window, project, qtbot)
        image_id = window.current_image_id
        with qtbot.waitSignal(window.labels.maskOpened, timeout=10000):
            qtbot.keyClick(window, Key.Key_L, Mod.ControlModifier)
        qtbot.keyClick(window, Key.Key_B)
        window.labels.toolbar.size_box.setValue(5)
        panel = window.labels.active_panel()
        point = window.canvas.mapFromScene(panel.vb.mapViewToScene(QtCore.QPointF(40, 50)))
        QTest.mouseClick(window.canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, Mod.NoModifier, point)
        edit = window.labels.editor.current
        strokes = edit.mask.copy()
        assert strokes[50, 40] and not edit.stack.isClean()
        _looked(window, qtbot)
        assert window.verdict_label.text() == "unreviewed"

        bob_mask = np.zeros(strokes.shape, np.uint8)
        bob_mask[10:20, 60:75] = 1
        with qtbot.waitSignal(live.othersChanged, timeout=10000) as seen:
            bob_id = save_mask(other, image_id, "bob", bob_mask, verdict="defect")
        assert seen.args == [image_id, ["bob"]]
        row = window.model.row_by_image(image_id)
        assert row.other_verdicts == {"bob": "defect"} and row.my_verdict is None
        assert window.verdict_label.text() == "defect (bob)"
        assert window.label_box.findData("bob") >= 0
        assert "bob" in window.status_label.text()

        adjudicated = np.zeros(strokes.shape, np.uint8)
        adjudicated[8:22, 58:78] = 1
        with qtbot.waitSignal(live.othersChanged, timeout=10000) as seen:
            adjudicate(other, image_id, [bob_id], adjudicated, by="carol", method="take bob")
        assert seen.args == [image_id, ["adjudicated"]]
        assert window.verdict_label.text() == "defect (adjudicated)"
        assert "adjudicated (carol)" in window.status_label.text()
        shown = window.labels.active_panel()
        assert shown.data.truth.annotator == "adjudicated"
        box = shown.truth.path().boundingRect()  # the dashed outline now traces the adjudicated mask
        assert 56 <= box.left() <= 60 and 76 <= box.right() <= 80 and 6 <= box.top() <= 10

        edit = window.labels.editor.current  # the user's strokes: the same pixels, still unsaved, still undoable
        assert edit.image_id == image_id and np.array_equal(edit.mask, strokes) and not edit.stack.isClean()
        assert window.labels.toolbar.state_label.text() == "● unsaved changes"

        with qtbot.waitSignal(window.labels.maskSaved, timeout=10000):
            qtbot.keyClick(window, Key.Key_S, Mod.ControlModifier)
        mine = _label(project, image_id, "alice")
        assert mine.revision == 1 and np.array_equal(load_mask(other, mine, strokes.shape), strokes)
        bob = _label(project, image_id, "bob")
        assert bob.id == bob_id and np.array_equal(load_mask(other, bob, strokes.shape), bob_mask)
        with qtbot.assertNotEmitted(live.othersChanged, wait=600):  # the user's own save is no one else's news
            pass
        smaller = np.zeros(strokes.shape, np.uint8)
        smaller[30:34, 30:34] = 1
        with qtbot.assertNotEmitted(live.othersChanged, wait=600):  # nor an adjudication the user made elsewhere
            adjudicate(other, image_id, [bob_id, mine.id], smaller, by="alice", method="take alice")
        qtbot.waitUntil(lambda: window.labels.active_panel().truth.path().boundingRect().right() < 40, timeout=10000)
        assert live.last_error is None
    finally:
        other.close()
        window.close()
        project.close()


def test_an_image_labelled_elsewhere_shows_that_label_when_it_comes_on_screen(new_project, demo_files, tmp_path,
                                                                             window, qtbot):
    from app.store_access import save_verdict

    project = _shared_project(new_project, demo_files, tmp_path)
    other = Project.open(project.root)
    try:
        open_in(window, project, qtbot)
        _looked(window, qtbot)
        first = window.current_image_id
        second = window.model.row_at(1).image_id
        save_verdict(other, second, "dana", "good")  # after the window read its rows
        with qtbot.waitSignal(window.live_labels.polled, timeout=10000, check_params_cb=lambda ids: second in ids):
            window.step(1)
        assert window.current_image_id == second != first
        assert window.model.row_by_image(second).other_verdicts == {"dana": "good"}
        assert window.verdict_label.text() == "good (dana)"
    finally:
        other.close()
        window.close()
        project.close()


def _column(table, col: int) -> list[str]:
    return [table.item(r, col).text() for r in range(table.rowCount())]


def test_the_annotators_view_lists_who_labelled_what_and_when(new_project, demo_files, tmp_path, window, qtbot):
    from app.store_access import save_verdict

    project = _shared_project(new_project, demo_files, tmp_path)
    other = Project.open(project.root)
    window.live_labels.timer.setInterval(100)
    try:
        open_in(window, project, qtbot)
        image_id, second = window.current_image_id, window.model.row_at(1).image_id
        save_verdict(other, image_id, "bob", "defect")
        save_verdict(other, second, "dana", "good")
        window.set_verdict("good", advance=False)  # alice, in this window
        assert window.annotators_view.action in window.labels.labels_menu.actions()
        dialog = window.annotators_view.show()
        with qtbot.waitSignal(dialog.loaded, timeout=10000):
            pass
        assert _column(dialog.summary, 0) == ["alice", "bob", "dana"]
        assert _column(dialog.summary, 1) == ["1", "1", "1"] and _column(dialog.summary, 3) == ["1", "0", "1"]
        assert _column(dialog.trail, 1) == ["alice", "bob"]  # the image on screen, newest first
        assert _column(dialog.trail, 4) == ["good", "defect"]
        with qtbot.waitSignal(dialog.loaded, timeout=10000):
            dialog.scope.setCurrentIndex(dialog.scope.findData("project"))
        assert _column(dialog.trail, 1) == ["alice", "dana", "bob"]
        _looked(window, qtbot)
        save_verdict(other, image_id, "bob", "unsure")  # bob again, elsewhere: the open view follows
        qtbot.waitUntil(lambda: _column(dialog.trail, 1)[:1] == ["bob"], timeout=10000)
        assert _column(dialog.trail, 3)[0] == "2" and _column(dialog.trail, 4)[0] == "unsure"
    finally:
        other.close()
        window.close()
        project.close()
