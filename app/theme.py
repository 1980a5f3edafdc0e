"""A calm dark Fusion theme: long sessions, images stand out against neutral grey."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

ACCENT = "#3daee9"

STYLE = """
QToolBar { border: none; spacing: 6px; }
QStatusBar { border-top: 1px solid #33373e; }
QStatusBar QLabel { padding: 0 6px; }
QSplitter::handle { background: #2b2f35; }
QComboBox, QPushButton { padding: 3px 8px; }
QPushButton#verdict_good { background: #2e5e31; }
QPushButton#verdict_defect { background: #6b2826; }
QPushButton#verdict_unsure { background: #6b4a1c; }
QPushButton:disabled { color: #777; }
QLabel#itemTitle { font-size: 11pt; font-weight: 600; }
QLabel#verdictBadge { border-radius: 8px; padding: 2px 10px; font-weight: 600; }
"""


def apply_theme(app: QtWidgets.QApplication) -> None:
    app.setStyle("Fusion")
    pal = QtGui.QPalette()
    c = QtGui.QColor
    roles = QtGui.QPalette.ColorRole
    pal.setColor(roles.Window, c("#24272c"))
    pal.setColor(roles.WindowText, c("#e6e8eb"))
    pal.setColor(roles.Base, c("#1b1e22"))
    pal.setColor(roles.AlternateBase, c("#262a30"))
    pal.setColor(roles.ToolTipBase, c("#2d3138"))
    pal.setColor(roles.ToolTipText, c("#e6e8eb"))
    pal.setColor(roles.Text, c("#e6e8eb"))
    pal.setColor(roles.Button, c("#30343b"))
    pal.setColor(roles.ButtonText, c("#e6e8eb"))
    pal.setColor(roles.BrightText, c("#ff5252"))
    pal.setColor(roles.Highlight, c(ACCENT))
    pal.setColor(roles.HighlightedText, c("#101214"))
    pal.setColor(roles.PlaceholderText, c("#8a9099"))
    pal.setColor(QtGui.QPalette.ColorGroup.Disabled, roles.ButtonText, c("#70757d"))
    pal.setColor(QtGui.QPalette.ColorGroup.Disabled, roles.Text, c("#70757d"))
    pal.setColor(QtGui.QPalette.ColorGroup.Disabled, roles.WindowText, c("#70757d"))  # check box and label text
    app.setPalette(pal)
    app.setStyleSheet(STYLE)
