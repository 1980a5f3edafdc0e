"""One registry of every user action: defaults from resources/keybindings.json, overrides in QSettings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from app.resources import resource_path

SETTINGS_GROUP = "shortcuts"
HELD_ACTIONS = {"hold_hide_overlays"}  # handled on key press/release, not as a triggered QAction


@dataclass
class ActionSpec:
    id: str
    text: str
    group: str
    default_keys: list[str] = field(default_factory=list)


def load_specs(path=None) -> list[ActionSpec]:
    data = json.loads((path or resource_path("keybindings.json")).read_text(encoding="utf-8"))
    return [ActionSpec(a["id"], a["text"], a.get("group", ""), list(a.get("keys", []))) for a in data["actions"]]


class ActionRegistry(QtCore.QObject):
    """Creates one QAction per spec on `host`; `bind(id, fn)` connects it; `rebind` persists keys."""

    changed = QtCore.Signal()

    def __init__(self, host: QtWidgets.QWidget, settings: QtCore.QSettings | None = None) -> None:
        super().__init__(host)
        self.host = host
        self.settings = settings or QtCore.QSettings()
        self.specs = {s.id: s for s in load_specs()}
        self.actions: dict[str, QtGui.QAction] = {}
        for spec in self.specs.values():
            action = QtGui.QAction(spec.text, host)
            action.setObjectName(spec.id)
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            if spec.id not in HELD_ACTIONS:
                host.addAction(action)
            self.actions[spec.id] = action
        self._apply_all()

    def action(self, action_id: str) -> QtGui.QAction:
        return self.actions[action_id]

    def bind(self, action_id: str, fn: Callable[[], None]) -> QtGui.QAction:
        action = self.actions[action_id]
        action.triggered.connect(lambda _checked=False: fn())
        return action

    def keys(self, action_id: str) -> list[str]:
        stored = self.settings.value(f"{SETTINGS_GROUP}/{action_id}")
        if stored is None:
            return list(self.specs[action_id].default_keys)
        if isinstance(stored, str):
            return [k for k in stored.split("|") if k]
        return [str(k) for k in stored if k]

    def sequences(self, action_id: str) -> list[QtGui.QKeySequence]:
        return [QtGui.QKeySequence(k) for k in self.keys(action_id)]

    def rebind(self, action_id: str, keys: list[str]) -> None:
        """Store an override (an empty list unbinds); `reset` goes back to the default."""
        self.settings.setValue(f"{SETTINGS_GROUP}/{action_id}", "|".join(keys))
        self._apply(action_id)
        self.changed.emit()

    def reset(self, action_id: str | None = None) -> None:
        ids = [action_id] if action_id else list(self.specs)
        for i in ids:
            self.settings.remove(f"{SETTINGS_GROUP}/{i}")
            self._apply(i)
        self.changed.emit()

    def matches_held(self, action_id: str, event: QtGui.QKeyEvent) -> bool:
        """True when a key event is one of the keys of a press-and-hold action."""
        combo = QtGui.QKeySequence(event.keyCombination())
        return any(seq.matches(combo) == QtGui.QKeySequence.SequenceMatch.ExactMatch for seq in self.sequences(action_id))

    def help_rows(self) -> list[tuple[str, str, str]]:
        """(group, text, keys as shown) for the help overlay, in registry order."""
        rows = []
        for spec in self.specs.values():
            shown = ", ".join(QtGui.QKeySequence(k).toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in self.keys(spec.id))
            rows.append((spec.group, spec.text, shown or "—"))
        return rows

    def _apply_all(self) -> None:
        for action_id in self.specs:
            self._apply(action_id)

    def _apply(self, action_id: str) -> None:
        action = self.actions[action_id]
        if action_id in HELD_ACTIONS:
            action.setShortcuts([])
        else:
            action.setShortcuts(self.sequences(action_id))
        keys = self.keys(action_id)
        tip = self.specs[action_id].text + (f"  ({', '.join(keys)})" if keys else "")
        action.setToolTip(tip)
