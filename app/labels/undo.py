"""Undo/redo of mask edits: one QUndoStack per image over MaskDeltas (changed bounding boxes only).

A stroke is one command (its dabs are merged when the mouse is released). The stack keeps at most
`memory_cap` bytes of deltas: when a push goes over, the oldest commands are dropped.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6 import QtGui

from core.labels.mask_ops import MaskDelta

DEFAULT_MEMORY_CAP = 256 << 20


class MaskTarget(Protocol):
    """What a command edits: the mask array and a way to show a changed box (x0, y0, x1, y1)."""

    mask: np.ndarray

    def refresh(self, bbox: tuple[int, int, int, int]) -> None: ...


class MaskEditCommand(QtGui.QUndoCommand):
    """One edit; pushed after it was applied, so the first redo() does nothing."""

    def __init__(self, target: MaskTarget, delta: MaskDelta, text: str) -> None:
        super().__init__(text)
        self.target = target
        self.delta = delta
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self.delta.redo(self.target.mask)
        self.target.refresh(self.delta.bbox)

    def undo(self) -> None:
        self.delta.undo(self.target.mask)
        self.target.refresh(self.delta.bbox)


class MaskUndoStack(QtGui.QUndoStack):
    """A QUndoStack of MaskEditCommands with a cap on the bytes the deltas hold."""

    def __init__(self, target: MaskTarget, memory_cap: int = DEFAULT_MEMORY_CAP, parent=None) -> None:
        super().__init__(parent)
        self.target = target
        self.memory_cap = int(memory_cap)
        self._entries: list[tuple[MaskDelta, str]] = []  # mirrors commands 0..count-1
        self.dropped = 0  # commands dropped to respect the cap

    @property
    def nbytes(self) -> int:
        return sum(d.nbytes for d, _ in self._entries[: self.count()])

    def push_delta(self, delta: MaskDelta | None, text: str) -> bool:
        """Record an edit already applied to the target; False when it changed nothing."""
        if delta is None:
            return False
        del self._entries[self.index():]  # a push discards the undone commands
        self._entries.append((delta, text))
        self.push(MaskEditCommand(self.target, delta, text))
        if self.nbytes > self.memory_cap:
            self._trim()
        return True

    def _trim(self) -> None:
        keep: list[tuple[MaskDelta, str]] = []
        total = 0
        for delta, text in reversed(self._entries):
            if keep and total + delta.nbytes > self.memory_cap:
                break
            keep.append((delta, text))
            total += delta.nbytes
        keep.reverse()
        gone = len(self._entries) - len(keep)
        clean_at = self.cleanIndex() - gone  # where the saved state sits in the kept list (< 0: dropped)
        self.dropped += gone
        self.clear()
        if clean_at == 0:
            self.setClean()
        for n, (delta, text) in enumerate(keep, start=1):
            self.push(MaskEditCommand(self.target, delta, text))
            if n == clean_at:
                self.setClean()
        if clean_at < 0:
            self.resetClean()
        self._entries = keep
