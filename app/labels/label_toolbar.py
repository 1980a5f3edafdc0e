"""The label-mode tool bar: tools, brush size, defect class, undo/redo and save (registry actions)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.labels.mask_layer import Tool
from app.review.actions import ActionRegistry
from core.labels.classes import ClassInfo

TOOL_ACTIONS = {
    Tool.BRUSH: "label_brush",
    Tool.ERASER: "label_eraser",
    Tool.POLYGON: "label_polygon",
    Tool.FILL: "label_fill",
    Tool.REGION: "label_region",
    Tool.PAN: "label_pan",
}
MAX_RADIUS = 200
SHORT_TEXT = {"label_polygon": "Polygon", "label_region": "Accept region", "mask_undo": "Undo", "mask_redo": "Redo",
              "save_labels": "Save"}  # tool-button captions; menus and help keep the registry text


def swatch(color: str, side: int = 12) -> QtGui.QIcon:
    pix = QtGui.QPixmap(side, side)
    pix.fill(QtGui.QColor(color))
    return QtGui.QIcon(pix)


class LabelToolBar(QtWidgets.QToolBar):
    toolChosen = QtCore.Signal(str)  # Tool value
    radiusChanged = QtCore.Signal(float)
    classChosen = QtCore.Signal(int)

    def __init__(self, registry: ActionRegistry, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Labels", parent)
        self.setObjectName("labelToolBar")
        self.setMovable(False)
        self.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.registry = registry
        title = QtWidgets.QLabel("  Labels ")
        title.setStyleSheet("font-weight: 600; color: #3daee9;")
        self.addWidget(title)
        self.tool_group = QtGui.QActionGroup(self)
        self.tool_group.setExclusive(True)
        for tool, action_id in TOOL_ACTIONS.items():
            action = registry.action(action_id)
            action.setCheckable(True)
            self.tool_group.addAction(action)
            self.addAction(action)
            action.triggered.connect(lambda _=False, t=tool: self.toolChosen.emit(t.value))
        registry.action("label_pan").setChecked(True)
        self.addSeparator()
        self.addWidget(QtWidgets.QLabel(" Size "))
        self.size_box = QtWidgets.QSpinBox()
        self.size_box.setRange(1, MAX_RADIUS)
        self.size_box.setValue(8)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush radius in image pixels (%s / %s)" % (
            ", ".join(registry.keys("brush_smaller")), ", ".join(registry.keys("brush_bigger"))))
        self.size_box.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        self.size_box.valueChanged.connect(lambda v: self.radiusChanged.emit(float(v)))
        self.addWidget(self.size_box)
        self.addWidget(QtWidgets.QLabel("  Class "))
        self.class_box = QtWidgets.QComboBox()
        self.class_box.setMinimumWidth(150)
        self.class_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.class_box.currentIndexChanged.connect(self._class_index)
        self.addWidget(self.class_box)
        self.addSeparator()
        for action_id in ("mask_undo", "mask_redo", "save_labels"):
            self.addAction(registry.action(action_id))
        for action_id, text in SHORT_TEXT.items():
            registry.action(action_id).setIconText(text)
        spacer = QtWidgets.QWidget()
        spacer.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.state_label = QtWidgets.QLabel("")
        self.state_label.setStyleSheet("color: #9aa0a8; padding-right: 8px;")
        self.addWidget(self.state_label)

    def set_classes(self, classes: list[ClassInfo], current: int | None = None) -> None:
        self.class_box.blockSignals(True)
        self.class_box.clear()
        for c in classes:
            text = f"{c.name}   [{c.hotkey}]" if c.hotkey else c.name
            self.class_box.addItem(swatch(c.color), text, c.id)
            self.class_box.setItemData(self.class_box.count() - 1,
                                       f"{c.name}: mask value {c.id}" + (f", key {c.hotkey}" if c.hotkey else ""),
                                       QtCore.Qt.ItemDataRole.ToolTipRole)
        self.class_box.blockSignals(False)
        self.show_class(current if current is not None else (classes[0].id if classes else None))

    def show_class(self, class_id: int | None) -> None:
        index = self.class_box.findData(class_id)
        if index >= 0 and index != self.class_box.currentIndex():
            self.class_box.blockSignals(True)
            self.class_box.setCurrentIndex(index)
            self.class_box.blockSignals(False)

    def show_tool(self, tool: str) -> None:
        self.registry.action(TOOL_ACTIONS[Tool(tool)]).setChecked(True)

    def _class_index(self, index: int) -> None:
        if index >= 0:
            self.classChosen.emit(int(self.class_box.itemData(index)))
