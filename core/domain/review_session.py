"""The state of one reviewer's session, without a GUI: the images in the order they are listed (batch, filter
and sort applied), the one on screen, the reviewer's own verdicts, and their verdict changes, newest last,
to undo. Saving a verdict is the caller's; the session only keeps the story straight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from core.domain.enums import Verdict


@dataclass(frozen=True)
class VerdictChange:
    image_id: int
    before: Verdict | None
    after: Verdict | None


def _verdict(value: str | None) -> Verdict | None:
    return None if value is None else Verdict(value)


class ReviewSession:
    def __init__(self) -> None:
        self.order: list[int] = []
        self.current: int | None = None
        self._position: dict[int, int] = {}
        self._verdicts: dict[int, Verdict | None] = {}
        self._changes: list[VerdictChange] = []

    def reset(self) -> None:
        """Nothing listed, nothing on screen, nothing to undo (a project closed)."""
        self.set_order([])
        self.current = None
        self._verdicts.clear()
        self._changes.clear()

    # ---- navigation ------------------------------------------------------------------------------------
    def set_order(self, image_ids: Iterable[int]) -> None:
        self.order = list(image_ids)
        self._position = {image_id: pos for pos, image_id in enumerate(self.order)}

    def position_of(self, image_id: int | None) -> int | None:
        return None if image_id is None else self._position.get(image_id)

    @property
    def position(self) -> int | None:
        """Where the image on screen is listed; None when it is not (filtered out) or there is none."""
        return self.position_of(self.current)

    def at(self, position: int) -> int | None:
        return self.order[position] if 0 <= position < len(self.order) else None

    def stepped(self, delta: int) -> int | None:
        """The position `delta` places from the image on screen, kept within the list; the first position when
        the image on screen is not listed; None when nothing is."""
        if not self.order:
            return None
        pos = self.position
        return 0 if pos is None else max(0, min(len(self.order) - 1, pos + delta))

    def kept_or_first(self) -> int | None:
        """After the list changed: the position of the image on screen if still listed, else the first."""
        pos = self.position
        return pos if pos is not None else (0 if self.order else None)

    # ---- verdicts ----------------------------------------------------------------------------------------
    def load_verdicts(self, verdicts: Mapping[int, str | None]) -> None:
        """The reviewer's current verdicts as stored (after the project was read again)."""
        self._verdicts = {image_id: _verdict(v) for image_id, v in verdicts.items()}

    def verdict(self, image_id: int | None = None) -> Verdict | None:
        """The reviewer's verdict on `image_id` (default: the image on screen)."""
        image_id = self.current if image_id is None else image_id
        return None if image_id is None else self._verdicts.get(image_id)

    def note_verdict(self, image_id: int, verdict: str | None) -> None:
        """The reviewer's verdict on `image_id` changed by other means (a saved mask): known, not undoable."""
        self._verdicts[image_id] = _verdict(verdict)

    def record_verdict(self, image_id: int, verdict: str | None) -> VerdictChange:
        """The reviewer gave `image_id` the verdict (None: cleared it); it can be undone."""
        change = VerdictChange(image_id, self._verdicts.get(image_id), _verdict(verdict))
        self._verdicts[image_id] = change.after
        self._changes.append(change)
        return change

    @property
    def can_undo(self) -> bool:
        return bool(self._changes)

    def undo(self) -> VerdictChange | None:
        """Take back the newest verdict change: its image has its verdict from before again."""
        if not self._changes:
            return None
        change = self._changes.pop()
        self._verdicts[change.image_id] = change.before
        return change
