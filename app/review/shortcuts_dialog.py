"""Rebind any registered action; saved at once in QSettings."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.review.actions import HELD_ACTIONS, ActionRegistry


class ShortcutsDialog(QtWidgets.QDialog):
    def __init__(self, registry: ActionRegistry, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.registry = registry
        form = QtWidgets.QFormLayout()
        self.editors: dict[str, QtWidgets.QKeySequenceEdit] = {}
        for spec in registry.specs.values():
            edit = QtWidgets.QKeySequenceEdit()
            keys = registry.keys(spec.id)
            if keys:
                edit.setKeySequence(keys[0])
            edit.setMaximumSequenceLength(1)
            self.editors[spec.id] = edit
            label = spec.text + (" (hold)" if spec.id in HELD_ACTIONS else "")
            form.addRow(label, edit)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
            | QtWidgets.QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._defaults)
        layout = QtWidgets.QVBoxLayout(self)
        scroll = QtWidgets.QScrollArea()
        inner = QtWidgets.QWidget()
        inner.setLayout(form)
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll)
        layout.addWidget(buttons)

    def _defaults(self) -> None:
        self.registry.reset()
        for action_id, edit in self.editors.items():
            keys = self.registry.keys(action_id)
            edit.setKeySequence(keys[0] if keys else "")

    def accept(self) -> None:
        for action_id, edit in self.editors.items():
            seq = edit.keySequence().toString()
            current = self.registry.keys(action_id)
            if (current[0] if current else "") != seq:
                self.registry.rebind(action_id, ([seq] if seq else []) + current[1:])
        super().accept()
