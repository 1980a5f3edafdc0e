"""The review workbench on real small projects (real SQLite, real image files), offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fixture_results import score_images
from workbench_helpers import open_in
from PySide6 import QtCore, QtGui, QtWidgets
from sqlalchemy import select

from core.labels.revisions import add_annotation, current_annotations
from core.store.project import Project
from core.store.schema import Job

Key = QtCore.Qt.Key


def current_row(window):
    return window.model.row_by_image(window.current_image_id)


def press(qtbot, window, key, modifier=QtCore.Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window, key, modifier)
    window.wait_idle()


def test_open_project_lists_images_and_navigates_with_keys(window, project, qtbot):
    open_in(window, project, qtbot)
    assert window.model.rowCount() == 12  # 4 leather + 4 tile + 3 views of one item + 1 corrupt file
    first = window.current_image_id
    assert window.model.position_of(first) == 0
    press(qtbot, window, Key.Key_Right)
    assert window.model.position_of(window.current_image_id) == 1
    press(qtbot, window, Key.Key_J)
    assert window.model.position_of(window.current_image_id) == 2
    press(qtbot, window, Key.Key_Left)
    press(qtbot, window, Key.Key_Left)
    assert window.current_image_id == first
    assert window.canvas.panels[0].image.image is not None


def test_verdicts_are_saved_at_once_and_undo_adds_a_revision(window, project, qtbot):
    open_in(window, project, qtbot)
    first = window.current_image_id
    press(qtbot, window, Key.Key_D)  # defect, then advance
    second = window.current_image_id
    assert second != first
    press(qtbot, window, Key.Key_G)
    with Project.open(project.root) as fresh, fresh.session() as s:
        got = {a.image_id: (a.verdict, a.revision) for a in current_annotations(s, annotator="alice")}
    assert got == {first: ("defect", 1), second: ("good", 1)}

    press(qtbot, window, Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert window.current_image_id == second
    assert current_row(window).my_verdict is None
    with Project.open(project.root) as fresh, fresh.session() as s:
        got = {a.image_id: (a.verdict, a.revision) for a in current_annotations(s, annotator="alice")}
    assert got[second] == (None, 2)  # history kept, undone as a new revision
    assert window.progress_label.text() == "Reviewed 1 / 12"


def test_filters_and_score_sort(window, project, qtbot):
    open_in(window, project, qtbot)
    ids = [window.model.row_at(i).image_id for i in range(window.model.rowCount())]
    window.set_verdict("good", advance=False)
    window.show_position(1)
    window.set_verdict("defect", advance=False)
    window.show_position(2)
    window.set_verdict("unsure", advance=False)
    with project.session() as s:  # a second annotator disagrees on the first image
        add_annotation(s, ids[0], "bob", verdict="defect")
    window.reload()

    def shown(mode):
        window.set_filter(mode)
        return [window.model.row_at(i).image_id for i in range(window.model.rowCount())]

    assert shown("good") == [ids[0]]
    assert shown("defect") == [ids[1]]
    assert shown("unsure") == [ids[2]]
    assert shown("unreviewed") == ids[3:]
    assert shown("disagreement") == [ids[0]]
    failed = shown("failed")
    assert len(failed) == 1 and window.model.row_by_image(failed[0]).item_name == "broken_000"
    window.set_k(2.0)
    detected = shown("detected")
    assert detected and all(window.model.row_by_image(i).best_log10_nfa <= -2.0 for i in detected)
    assert set(detected) < set(ids)
    window.set_filter("all")
    window.set_sort("score_desc")
    scores = [window.model.row_at(i).score for i in range(window.model.rowCount())]
    known = [s for s in scores if s is not None]
    assert known == sorted(known, reverse=True) and scores[-1] is None  # unscored (corrupt) last


def _first_with_regions(window):
    for pos in range(window.model.rowCount()):
        row = window.model.row_at(pos)
        if row.best_log10_nfa is not None and row.best_log10_nfa <= -2.0 and not row.view:
            return pos
    raise AssertionError("fixture has no detected single-view image")


def test_overlay_toggles_and_hold_to_hide(window, project, qtbot):
    open_in(window, project, qtbot)
    window.show_position(_first_with_regions(window))
    window.wait_idle()
    panel = window.canvas.panels[0]
    assert panel.overlay.isVisible() and panel.outline.isVisible()
    press(qtbot, window, Key.Key_O)
    assert not panel.overlay.isVisible() and panel.outline.isVisible()
    press(qtbot, window, Key.Key_O)
    assert panel.overlay.isVisible()
    press(qtbot, window, Key.Key_L)
    assert not panel.outline.isVisible()
    press(qtbot, window, Key.Key_L)
    qtbot.keyPress(window, Key.Key_Space)
    assert not panel.overlay.isVisible() and not panel.outline.isVisible()
    qtbot.keyRelease(window, Key.Key_Space)
    assert panel.overlay.isVisible() and panel.outline.isVisible()
    window.controls.opacity_slider.setValue(30)
    assert abs(panel.overlay.opacity() - 0.30) < 1e-6


def test_threshold_change_updates_outlines(window, project, qtbot):
    open_in(window, project, qtbot)
    window.show_position(_first_with_regions(window))
    window.wait_idle()
    panel = window.canvas.panels[0]
    overlay = panel.data.overlay

    def outlined_points():
        return panel.outline.path().elementCount()

    window.set_k(0)
    at_zero = outlined_points()
    strongest = overlay.max_strength()
    window.set_k(strongest - 0.1)
    near_top = outlined_points()
    window.set_k(strongest + 0.1)
    beyond = outlined_points()
    assert at_zero >= near_top > 0
    assert beyond == 0
    expected = sum(len(c) for r in overlay.visible_regions(window.k) for c in overlay.contours[r.label])
    assert outlined_points() == expected


def test_corrupt_image_shows_error_tile_not_a_crash(window, project, demo_files, tmp_path, qtbot):
    from fixture_results import add_images

    images, _ = demo_files
    damaged = tmp_path / "later_000.png"
    damaged.write_bytes(images[0].path.read_bytes())
    add_images(project, "later", [("later_000", "", damaged)])  # imported fine ...
    damaged.write_bytes(b"not an image any more")  # ... and damaged on disk afterwards
    open_in(window, project, qtbot)
    window.set_filter("failed")
    window.wait_idle()
    panel = window.canvas.panels[0]
    assert panel.data.pixels is None and "broken_000.png" in panel.data.error
    assert panel.message.isVisible()
    image = window.gallery.viewport().grab().toImage()  # the delegate paints the error tile
    assert not image.isNull()
    window.set_filter("all")
    window.show_position(window.model.rowCount() - 1)
    window.wait_idle()
    panel = window.canvas.panels[0]
    assert panel.data.pixels is None and "later_000.png" in panel.data.error and panel.message.isVisible()


def test_multiview_item_shows_linked_views(window, project, qtbot):
    open_in(window, project, qtbot)
    pos = next(i for i in range(window.model.rowCount()) if window.model.row_at(i).view == "left")
    window.show_position(pos)
    window.wait_idle()
    panels = window.canvas.panels
    assert [p.data.title.split(" · ")[-1] for p in panels] == ["left", "right", "top"]
    assert window.canvas.active_index == 0
    panels[0].vb.setRange(xRange=(10, 50), yRange=(20, 60), padding=0)
    qtbot.wait(10)
    (ax0, ax1), (ay0, ay1) = panels[0].vb.viewRange()
    for p in panels[1:]:  # zoomed in to the same window (up to the aspect-ratio fit of each panel)
        (x0, x1), (y0, y1) = p.vb.viewRange()
        assert abs((x0 + x1) - (ax0 + ax1)) < 1.0 and abs((y0 + y1) - (ay0 + ay1)) < 1.0
        assert abs((x1 - x0) - (ax1 - ax0)) < 0.05 * (ax1 - ax0) and (x1 - x0) < 60
    press(qtbot, window, Key.Key_Right)  # next image is the next view of the same item: canvas kept
    assert window.canvas.panels is panels or window.canvas.panels == panels
    assert window.canvas.active_index == 1


def test_score_batch_needs_a_model_and_queues_a_job(window, unscored_project, qtbot):
    open_in(window, unscored_project, qtbot)
    action = window.registry.action("score_batch")
    assert not action.isEnabled() and "No model revision" in action.toolTip()
    from core.store.schema import ModelRevision

    with unscored_project.session() as s:
        s.add(ModelRevision(name="m1", kind="classic"))
    window.reload()
    assert action.isEnabled()
    window.batch_box.setCurrentIndex(1)
    action.trigger()
    with unscored_project.session() as s:
        jobs = s.scalars(select(Job)).all()
        assert [(j.kind, j.status, j.payload["batch_id"]) for j in jobs] == [("infer", "queued", window.batch_box.currentData())]
        job_id = jobs[0].id
    assert list(window.jobs_bar.rows) == [job_id]
    window.jobs_bar.rows[job_id].cancel.click()
    with unscored_project.session() as s:
        assert s.get(Job, job_id).status == "cancelled"
    assert window.jobs_bar.rows == {}


def test_bad_project_path_gives_a_message_and_a_cli_error(window, tmp_path, qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(window, "show_error", lambda title, msg: shown.append((title, msg)))
    assert window.open_project(tmp_path / "nowhere") is False
    assert shown and "no such folder" in shown[0][1]
    from core.cli import main

    assert main(["gui", str(tmp_path / "nowhere")]) == 1


def test_help_overlay_and_rebinding(window, settings, qtbot):
    press(qtbot, window, Key.Key_F1)
    assert window.help.isVisible()
    press(qtbot, window, Key.Key_Escape)
    assert not window.help.isVisible()
    window.registry.rebind("verdict_good", ["Y"])
    assert window.registry.action("verdict_good").shortcut().toString() == "Y"
    from app.review.actions import ActionRegistry
    from PySide6 import QtWidgets

    other = ActionRegistry(QtWidgets.QWidget(), settings)
    assert other.keys("verdict_good") == ["Y"]
    assert ("Review", "Mark good", "Y") in other.help_rows()
    other.reset("verdict_good")
    assert other.keys("verdict_good") == ["G"]


def test_cli_screenshot_renders_first_scored_image(project, tmp_path):
    project.close()
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "core", "gui", str(project.root), "--screenshot", str(out),
                           "--annotator", "ci"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.size[0] > 800 and im.size[1] > 500


def test_the_canvas_owns_the_keys_during_review(window, project, qtbot):
    """Focus used to start on the Batch box: a held Space opened its drop-down and swallowed the next G."""
    open_in(window, project, qtbot)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    assert QtWidgets.QApplication.focusWidget() is window.canvas
    rect = window.gallery.visualRect(window.model.index(2))
    qtbot.mouseClick(window.gallery.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    window.wait_idle()
    assert QtWidgets.QApplication.focusWidget() is window.canvas
    window.batch_box.setFocus()  # even a drop-down that holds focus must not see a held Space
    for autorepeat in (False, True, True):
        event = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, Key.Key_Space, QtCore.Qt.KeyboardModifier.NoModifier,
                                " ", autorepeat)
        QtWidgets.QApplication.sendEvent(window.batch_box, event)
    assert window.canvas._held_hidden
    assert not window.batch_box.view().isVisible()
    QtWidgets.QApplication.sendEvent(window.batch_box, QtGui.QKeyEvent(
        QtCore.QEvent.Type.KeyRelease, Key.Key_Space, QtCore.Qt.KeyboardModifier.NoModifier, " ", False))
    assert not window.canvas._held_hidden


def test_the_image_on_screen_shows_the_new_scores_when_scoring_ends(window, unscored_project, qtbot):
    """The canvas kept the old map and title score until the user moved away and back."""
    open_in(window, unscored_project, qtbot)
    shown = window.current_image_id
    assert window.canvas.panels[0].data.overlay is None
    unscored_project.set_setting("active_model_revision", score_images(unscored_project))
    window.reload()  # what the job poller does when a scoring job is done
    window.wait_idle()
    assert window.current_image_id == shown
    overlay = window.canvas.panels[0].data.overlay
    assert overlay is not None and window.canvas.panels[0].overlay.isVisible()
    score = window.model.row_by_image(shown).score
    assert f"score {score:.3f}" in window.canvas.panels[0].title.text
    assert f"score {score:.3f}" in window.region_label.text()


def test_header_and_status_line_count_the_regions_drawn_at_the_current_k(window, project, qtbot):
    """The header once said "0 regions at k = 2" while two outlines were drawn."""
    open_in(window, project, qtbot)
    window.show_position(_first_with_regions(window))
    window.wait_idle()
    overlay = window.canvas.panels[0].data.overlay
    for k in (0.0, 1.0, overlay.max_strength() - 0.05):
        window.set_k(k)
        n = len(overlay.visible_regions(window.k))
        assert n > 0
        drawn = sum(len(c) for r in overlay.visible_regions(window.k) for c in overlay.contours[r.label])
        assert drawn == window.canvas.panels[0].outline.path().elementCount()
        said = f"{n} region{'s' if n != 1 else ''} at k = {window.k:g}"
        assert said in window.region_label.text() and said in window.regions_status.text()
        assert f"{len(overlay.regions)} in all" in window.regions_status.text()


def test_quitting_with_a_job_running_asks_first(window, project, qtbot):
    open_in(window, project, qtbot)
    asked = []
    window.ask_quit = lambda title, text: asked.append(text) or False
    window.registry.action("quit").trigger()  # nothing queued: quits without a question
    assert asked == [] and not window.isVisible()
    window.show()
    open_in(window, project, qtbot)
    job = window.score_batch()
    window.registry.action("quit").trigger()
    assert len(asked) == 1 and f"#{job} infer (queued)" in asked[0] and window.isVisible()  # the user said no
    window.ask_quit = lambda title, text: True


def test_the_annotator_name_is_remembered_between_sessions(qtbot, settings, project):
    from app.main_window import MainWindow

    settings.setValue("annotator", "bob")
    w = MainWindow(settings=settings)  # no --annotator: the last name is used, not asked again
    qtbot.addWidget(w)
    assert w.annotator == "bob" and w.ensure_annotator()
    w.close()


def test_status_line_says_when_a_queued_job_was_cancelled(window, project, qtbot):
    """"Scoring queued" stayed after a cancel."""
    open_in(window, project, qtbot)
    job = window.score_batch()
    assert "Scoring queued" in window.status_label.text()
    from app import store_access

    window.training.poll_jobs()  # sees it queued
    store_access.request_cancel(project, job)  # what the jobs bar's cancel button does
    window.training.poll_jobs()
    assert window.status_label.text() == f"Scoring job #{job} cancelled"


def test_region_hover_label_stays_on_the_canvas(window, project, qtbot):
    """The hover label ran off the canvas near the right edge."""
    open_in(window, project, qtbot)
    window.show_position(_first_with_regions(window))
    window.wait_idle()
    panel = window.canvas.panels[0]
    overlay = panel.data.overlay
    region = overlay.visible_regions(0.0)[0]
    x0, y0, x1, y1 = region.bbox
    panel.vb.setRange(xRange=(x1 - 40, x1 + 0.5), yRange=(y0 - 40, y1 + 0.5), padding=0)  # region at the corner
    window.canvas.viewport().repaint()
    for x in (x0 + 0.5, x1 - 0.5):
        scene = panel.vb.mapViewToScene(QtCore.QPointF(x, (y0 + y1) / 2))
        if overlay.region_at(x, (y0 + y1) / 2, 0.0) is None:
            continue
        window.canvas._on_mouse_moved(scene)
        assert panel.hover.isVisible()
        window.canvas.viewport().repaint()  # TextItem sets its screen-size transform when painted
        label = panel.hover.sceneBoundingRect()
        assert panel.vb.sceneBoundingRect().adjusted(-1, -1, 1, 1).contains(label), (x, label)


def test_threshold_filter_sort_and_label_source_persist_per_project(window, project, qtbot, settings):
    from app.main_window import MainWindow

    open_in(window, project, qtbot)
    window.set_k(3.5)
    window.set_sort("score_desc")
    window.set_filter("detected")
    window.label_box.setCurrentIndex(window.label_box.findData("mine"))
    root = project.root
    window.close()  # saves the view with the project
    again = MainWindow(annotator="alice", settings=settings)
    qtbot.addWidget(again)
    again.show()
    reopened = Project.open(root)
    try:
        open_in(again, reopened, qtbot)
        assert again.k == 3.5 and "k = 3.5" in again.controls.threshold_label.text()
        assert (again.sort_box.currentData(), again.filter_box.currentData(), again.label_box.currentData()) == \
            ("score_desc", "detected", "mine")
    finally:
        again.close()


def test_help_menu_has_documentation_and_about(window):
    from core import __version__

    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert {"Documentation (README)", "About Contrario"} <= {a.text() for a in menu.actions()}
    assert window.documentation_path().read_text(encoding="utf-8").startswith("# Contrario")
    assert f"Contrario {__version__}" in window.about_text()


def test_next_region_zooms_to_each_visible_region_in_turn(window, project, qtbot):
    open_in(window, project, qtbot)
    window.show_position(_first_with_regions(window))
    window.wait_idle()
    window.set_k(0.0)
    panel = window.canvas.panels[0]
    regions = sorted(panel.data.overlay.visible_regions(0.0), key=lambda r: r.log10_nfa)
    full = panel.vb.viewRect()
    seen = []
    for _ in range(len(regions) + 1):
        press(qtbot, window, Key.Key_N)
        view = panel.vb.viewRect()
        seen.append(next(i for i, r in enumerate(regions) if view.contains(QtCore.QRectF(
            r.bbox[0], r.bbox[1], r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1])) and
            abs(view.center().x() - (r.bbox[0] + r.bbox[2]) / 2) < 1))
        assert view.width() < full.width() or len(regions) == 0
    assert seen[: len(regions)] == list(range(len(regions))) and seen[-1] == 0  # wraps round
    press(qtbot, window, Key.Key_F)
    assert panel.vb.viewRect().width() >= full.width() - 1
