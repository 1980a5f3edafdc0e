"""The mask layer on a real pyqtgraph ViewBox (offscreen): edits, undo/redo round trips, memory cap."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from app.canvas.results import RegionInfo, ResultOverlay
from app.labels.mask_layer import MaskEditor, Tool
from app.labels.undo import MaskUndoStack
from core.labels.classes import ClassInfo
from core.labels.mask_ops import brush_dab

CLASSES = [ClassInfo(1, "scratch", "#e69f00", "1"), ClassInfo(2, "rot", "#56b4e9", "2")]


@pytest.fixture
def editor(qtbot):
    win = pg.GraphicsLayoutWidget()
    qtbot.addWidget(win)
    vb = win.addViewBox(lockAspect=True, invertY=True)
    vb.addItem(pg.ImageItem(np.zeros((60, 90), np.uint8), axisOrder="row-major"))
    win.resize(400, 300)
    win.show()
    ed = MaskEditor(vb, CLASSES)
    ed.win = win
    return ed


def test_strokes_fill_polygon_undo_redo_round_trip(editor):
    start = np.zeros((60, 90), np.uint8)
    start[40:50, 5:20] = 2
    edit = editor.open_image(7, start)
    states = [edit.mask.copy()]
    editor.set_tool(Tool.BRUSH)
    editor.set_radius(3)
    editor.begin_stroke(10, 10)
    for x in range(12, 60, 4):
        editor.continue_stroke(x, 10 + x // 4)
    assert editor.end_stroke()
    states.append(edit.mask.copy())
    editor.set_tool(Tool.ERASER)
    editor.begin_stroke(30, 15)
    editor.continue_stroke(30, 30)
    editor.end_stroke()
    states.append(edit.mask.copy())
    editor.set_class(2)
    assert editor.fill_polygon([(60, 5), (85, 5), (85, 25), (60, 25)])
    states.append(edit.mask.copy())
    editor.set_class(1)
    assert editor.fill_at(10, 45)  # the rot box becomes scratch
    states.append(edit.mask.copy())
    assert edit.stack.count() == 4 and not edit.stack.isClean()
    assert (start == 0).sum() > (states[-1] == 0).sum()
    for expected in reversed(states[:-1]):
        editor.undo_group.undo()
        assert (edit.mask == expected).all()
    assert (edit.mask == start).all() and edit.stack.isClean()
    for expected in states[1:]:
        editor.undo_group.redo()
        assert (edit.mask == expected).all()
    # each command holds only its changed box
    assert edit.stack.nbytes < 4 * start.nbytes


def test_history_is_per_image(editor):
    a = editor.open_image(1, np.zeros((60, 90), np.uint8))
    editor.fill_polygon([(0, 0), (10, 0), (10, 10)])
    b = editor.open_image(2, np.zeros((60, 90), np.uint8))
    assert editor.undo_group.activeStack() is b.stack and not editor.undo_group.canUndo()
    editor.fill_at(5, 5)
    assert (b.mask == 1).all()
    editor.open_image(1, np.zeros((60, 90), np.uint8))  # reopening keeps edits and history
    assert editor.current is a and a.mask[1, 5] == 1
    editor.undo_group.undo()
    assert (a.mask == 0).all() and (b.mask == 1).all()
    assert editor.has_unsaved_changes(2) and not editor.has_unsaved_changes(1)


def test_accept_model_region_then_subtract(editor):
    edit = editor.open_image(3, np.zeros((60, 90), np.uint8))
    labels = np.zeros((6, 9), np.int32)
    labels[2:4, 3:5] = 1
    labels[5, 8] = 2
    regions = [RegionInfo(1, -5.0, 400, (30, 20, 50, 40)), RegionInfo(2, -1.0, 100, (80, 50, 90, 60))]
    overlay = ResultOverlay(1.0, np.zeros((6, 9), np.uint8), (60, 90), labels, regions)
    editor.set_overlay(overlay, model_revision_id=4, k=2.0)
    assert editor.accept_region(1)
    assert (edit.mask[20:40, 30:50] == 1).all() and (edit.mask == 1).sum() == 400
    editor.set_tool(Tool.ERASER)
    editor.set_radius(2)
    editor.begin_stroke(40, 30)
    editor.end_stroke()
    assert (edit.mask == 1).sum() < 400
    assert editor.accept_region(1, subtract=True) and not edit.mask.any()
    assert editor.source_of(3) == ("model", {"parent_annotation": None, "model_revision": 4, "region_labels": [1]})
    editor.mark_saved(3, 99)
    assert editor.source_of(3) == ("manual", {"parent_annotation": 99})


def _mouse(widget, kind, pos, buttons):
    left = QtCore.Qt.MouseButton.LeftButton
    button = QtCore.Qt.MouseButton.NoButton if kind == QtCore.QEvent.Type.MouseMove else left
    ev = QtGui.QMouseEvent(kind, QtCore.QPointF(pos), QtCore.QPointF(widget.mapToGlobal(pos)), button, buttons,
                           QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, ev)


def _drag(view, points):
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
    port = view.viewport()
    _mouse(port, QtCore.QEvent.Type.MouseButtonPress, points[0], left)
    for p in points[1:]:
        _mouse(port, QtCore.QEvent.Type.MouseMove, p, left)
    _mouse(port, QtCore.QEvent.Type.MouseButtonRelease, points[-1], none)


def test_mouse_drag_paints_with_a_tool_and_pans_without(editor, qtbot):
    edit = editor.open_image(5, np.zeros((60, 90), np.uint8))
    vb, view = editor.vb, editor.win
    vb.autoRange(padding=0)
    qtbot.wait(20)

    def track(y):
        pts = [vb.mapViewToScene(QtCore.QPointF(x, y)) for x in np.linspace(20, 70, 12)]
        return [view.mapFromScene(p) for p in pts]

    before = vb.viewRange()
    _drag(view, track(45))  # Tool.PAN: the ViewBox pans, nothing is painted
    assert vb.viewRange() != before and not edit.mask.any()
    vb.autoRange(padding=0)
    qtbot.wait(20)
    editor.set_tool(Tool.BRUSH)
    editor.set_radius(2)
    _drag(view, track(30))
    assert edit.mask[30, 25:65].all() and edit.stack.count() == 1


def test_memory_cap_drops_oldest_commands(qtbot):
    class Target:
        def __init__(self):
            self.mask = np.zeros((100, 100), np.uint8)
            self.shown = []

        def refresh(self, bbox):
            self.shown.append(bbox)

    target = Target()
    stack = MaskUndoStack(target, memory_cap=2000)
    for n in range(6):
        d = brush_dab(target.mask, 10 + 15 * n, 50, 5, 1)  # 11x11 crops: 242 bytes each
        assert stack.push_delta(d, f"dab {n}")
    assert stack.count() == 6 and stack.dropped == 0
    stack.setClean()
    for n in range(6):
        stack.push_delta(brush_dab(target.mask, 10 + 15 * n, 80, 5, 2), f"dab {n + 6}")
    assert stack.nbytes <= 2000 and stack.dropped == 4 and stack.count() == 8
    assert not stack.isClean()
    while stack.canUndo():
        stack.undo()
    # the oldest dabs are no longer undoable, the kept ones were undone
    assert (target.mask[50, 10] == 1) and (target.mask[50, 40] == 1) and (target.mask[80] == 0).all()
    assert stack.index() == 0 and stack.isClean() is False
    stack.setIndex(2)
    assert (stack.index(), stack.isClean()) == (2, True)
