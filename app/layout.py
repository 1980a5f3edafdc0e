"""Sizing rules that keep the workbench inside small screens (1366 x 768 laptops, 1280 x 720 projectors)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


def fitted_size(wanted: QtCore.QSize, screen: QtGui.QScreen | None) -> QtCore.QSize:
    """`wanted`, shrunk to the screen's free area (a 1366 x 768 laptop, a 1280 x 720 projector).
    Offscreen (screenshots, tests) the 800 x 600 virtual screen is no limit."""
    if screen is None or QtGui.QGuiApplication.platformName() in ("offscreen", "minimal"):
        return wanted
    free = screen.availableGeometry().size()
    return QtCore.QSize(min(wanted.width(), free.width()), min(wanted.height(), free.height()))


def scrollable(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """`widget` in a scroll area: a dock then never forces the window wider or taller than the screen."""
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def cut_or_overlapping(root: QtWidgets.QWidget) -> list[str]:
    """Visible labels, buttons and check boxes of `root` (outside scroll areas) that are narrower than their
    text or overlap a sibling: what a user sees as cut or overprinted text. Empty when the layout holds."""
    problems = []
    kinds = (QtWidgets.QLabel, QtWidgets.QAbstractButton, QtWidgets.QComboBox)
    widgets = [w for w in root.findChildren(QtWidgets.QWidget) if isinstance(w, kinds) and w.isVisibleTo(root)
               and not _inside_scroll_area(w, root) and w.window() is root.window()]
    for w in widgets:
        name = w.objectName() or getattr(w, "text", lambda: "")() or type(w).__name__
        if isinstance(w, QtWidgets.QLabel) and w.wordWrap():
            continue
        if w.width() < w.minimumSizeHint().width() - 1:
            problems.append(f"{name!r} is {w.width()} px wide, needs {w.minimumSizeHint().width()}")
    by_parent: dict[int, list[QtWidgets.QWidget]] = {}
    for w in widgets:
        by_parent.setdefault(id(w.parentWidget()), []).append(w)
    for siblings in by_parent.values():
        for a_i, a in enumerate(siblings):
            for b in siblings[a_i + 1:]:
                if a.geometry().intersected(b.geometry()).width() > 1 and a.geometry().intersected(b.geometry()).height() > 1:
                    problems.append(f"{a.objectName() or type(a).__name__} overlaps {b.objectName() or type(b).__name__}")
    return problems


def _inside_scroll_area(w: QtWidgets.QWidget, root: QtWidgets.QWidget) -> bool:
    p = w.parentWidget()
    while p is not None and p is not root:
        if isinstance(p, QtWidgets.QAbstractScrollArea):
            return True
        p = p.parentWidget()
    return False
