"""A translucent sheet over the window listing every action and its keys (F1 or ?)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.review.actions import ActionRegistry


class HelpOverlay(QtWidgets.QWidget):
    def __init__(self, registry: ActionRegistry, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.registry = registry
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground, False)
        self.hide()
        parent.installEventFilter(self)
        registry.changed.connect(self.update)

    def toggle(self) -> None:
        self.setVisible(not self.isVisible())
        if self.isVisible():
            self.setGeometry(self.parentWidget().rect())
            self.raise_()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.parentWidget() and event.type() == QtCore.QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self.hide()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor(10, 12, 15, 200))
        rows = self.registry.help_rows()
        groups: dict[str, list[tuple[str, str]]] = {}
        for group, text, keys in rows:
            groups.setdefault(group, []).append((text, keys))
        title_font = QtGui.QFont(self.font())
        title_font.setPointSizeF(self.font().pointSizeF() * 1.5)
        title_font.setBold(True)
        head_font = QtGui.QFont(self.font())
        head_font.setBold(True)
        body = QtGui.QFont(self.font())
        metrics = QtGui.QFontMetrics(body)
        line_h = metrics.height() + 6
        text_w = max(metrics.horizontalAdvance(t) for _g, t, _k in rows) + 16
        keys_w = max(metrics.horizontalAdvance(k) for _g, _t, k in rows) + 8
        col_w = text_w + keys_w + 20  # sized by the longest texts: "Ctrl+Shift+Z, Ctrl+Y" is never cut
        n_cols = max(1, min(len(groups), (self.width() - 80) // col_w))
        card_w = n_cols * col_w + 40
        heights = [len(v) * line_h + line_h + 14 for v in groups.values()]
        per_col = [0] * n_cols
        placement = []
        for h in heights:
            c = per_col.index(min(per_col))
            placement.append((c, per_col[c]))
            per_col[c] += h
        card_h = max(per_col) + 90
        card = QtCore.QRect(0, 0, card_w, card_h)
        card.moveCenter(self.rect().center())
        p.setPen(QtGui.QPen(QtGui.QColor("#3daee9"), 1))
        p.setBrush(QtGui.QColor("#23272e"))
        p.drawRoundedRect(card, 10, 10)
        p.setFont(title_font)
        p.setPen(QtGui.QColor("#ffffff"))
        p.drawText(card.adjusted(20, 14, -20, 0), QtCore.Qt.AlignmentFlag.AlignTop, "Keyboard shortcuts")
        p.setFont(body)
        p.setPen(QtGui.QColor("#9aa0a8"))
        p.drawText(card.adjusted(20, 14, -20, 0), QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignRight,
                   "Esc or click to close")
        top = card.top() + 60
        for (group, items), (c, y) in zip(groups.items(), placement):
            x = card.left() + 20 + c * col_w
            yy = top + y
            p.setFont(head_font)
            p.setPen(QtGui.QColor("#3daee9"))
            p.drawText(QtCore.QPoint(x, yy + line_h - 8), group)
            yy += line_h
            p.setFont(body)
            for text, keys in items:
                p.setPen(QtGui.QColor("#e6e8eb"))
                p.drawText(QtCore.QPoint(x, yy + line_h - 8), text)
                p.setPen(QtGui.QColor("#ffd479"))
                p.drawText(QtCore.QRect(x + text_w, yy, keys_w, line_h),
                           QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter, keys)
                yy += line_h
