"""The findings queue: label disagreements sorted by severity; activating one opens it for review."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from core.labels.findings import Finding, FindingsReport

LEVEL_COLORS = {"high": "#c62828", "medium": "#ef8f00", "low": "#607d8b"}
KIND_TITLES = {
    "verdict_disagreement": "Verdicts differ",
    "mask_disagreement": "Masks differ",
    "class_disagreement": "Classes differ",
    "view_class_conflict": "Views: classes differ",
    "view_verdict_conflict": "Views: verdicts differ",
    "model_flags_good": "Model flags a good label",
    "model_misses_defect": "Model misses a defect",
}
FINDING_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1


class FindingsQueue(QtWidgets.QWidget):
    """A sortable list of findings with a kind filter; dismissed findings (by key) stay hidden."""

    findingActivated = QtCore.Signal(object)  # Finding

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: FindingsReport | None = None
        self.dismissed: set[str] = set()
        self.kind_box = QtWidgets.QComboBox()
        self.kind_box.addItem("All findings", None)
        for kind, title in KIND_TITLES.items():
            self.kind_box.addItem(title, kind)
        self.kind_box.currentIndexChanged.connect(self._refill)
        self.count = QtWidgets.QLabel()
        self.count.setStyleSheet("color:#aab2bd")
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Severity", "Finding", "Item", "Views", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.itemActivated.connect(self._activated)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for col, width in enumerate((110, 180, 160, 90)):
            self.tree.setColumnWidth(col, width)
        dismiss = QtGui.QAction("Dismiss", self.tree)
        dismiss.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Delete))
        dismiss.triggered.connect(self.dismiss_selected)
        self.tree.addAction(dismiss)
        self.tree.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.ActionsContextMenu)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.kind_box)
        top.addStretch(1)
        top.addWidget(self.count)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tree)

    def set_report(self, report: FindingsReport) -> None:
        self.report = report
        self._refill()

    def visible_findings(self) -> list[Finding]:
        if self.report is None:
            return []
        kind = self.kind_box.currentData()
        return [f for f in self.report.findings
                if f.key not in self.dismissed and (kind is None or f.kind == kind)]

    def _refill(self) -> None:
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        shown = self.visible_findings()
        for f in shown:
            row = _Row([f"{f.level}  {f.severity:.2f}", KIND_TITLES.get(f.kind, f.kind), f.item,
                        ", ".join(v for v in f.views if v), f.reason])
            row.setData(0, FINDING_ROLE, f)
            row.setData(0, QtCore.Qt.ItemDataRole.UserRole, f.severity)
            row.setForeground(0, QtGui.QBrush(QtGui.QColor(LEVEL_COLORS[f.level])))
            font = row.font(0)
            font.setBold(True)
            row.setFont(0, font)
            row.setToolTip(4, f.reason)
            self.tree.addTopLevelItem(row)
        self.tree.setColumnHidden(3, not any(v for f in shown for v in f.views))
        self.tree.setSortingEnabled(True)
        self.tree.sortItems(0, QtCore.Qt.SortOrder.DescendingOrder)
        total = len(self.report.findings) if self.report else 0
        self.count.setText(f"{len(shown)} of {total} findings")

    def _activated(self, row: QtWidgets.QTreeWidgetItem, _col: int) -> None:
        self.findingActivated.emit(row.data(0, FINDING_ROLE))

    def dismiss_selected(self) -> None:
        for row in self.tree.selectedItems():
            self.dismissed.add(row.data(0, FINDING_ROLE).key)
        self._refill()

    def findings_in_order(self) -> list[Finding]:
        return [self.tree.topLevelItem(i).data(0, FINDING_ROLE) for i in range(self.tree.topLevelItemCount())]


class _Row(QtWidgets.QTreeWidgetItem):
    """Sorts the severity column by number, the others by text."""

    def __lt__(self, other: QtWidgets.QTreeWidgetItem) -> bool:
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0
        if col == 0:
            return float(self.data(0, QtCore.Qt.ItemDataRole.UserRole)) < float(
                other.data(0, QtCore.Qt.ItemDataRole.UserRole))
        return self.text(col) < other.text(col)
