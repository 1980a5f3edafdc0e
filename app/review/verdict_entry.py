"""The reviewer's own verdicts: who the reviewer is (asked once, remembered in the settings), a verdict saved at
once for the image on screen (one transaction), and undo of the newest one. The window's ReviewSession keeps
the verdicts and their changes; this saves them and shows them in the gallery, header, counts and histogram."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app import store_access
from core.errors import ContrarioError


class VerdictEntry(QtCore.QObject):
    """Uses the window's `settings`, `project`, `session`, `model`, `annotator_label`, `reload()`, `step()`,
    `show_position()`, `refresh_header()`, `refresh_counts()`, `update_score_histogram()`, `show_status()` and
    `show_error()`."""

    def __init__(self, window: QtWidgets.QMainWindow, annotator: str | None = None) -> None:
        super().__init__(window)
        self.window = window
        # The name given last time is used again: asked once, not every session (verdicts show under it).
        self.annotator = annotator or (str(window.settings.value("annotator", "") or "").strip() or None)

    def ensure_annotator(self) -> bool:
        if self.annotator:
            return True
        default = str(self.window.settings.value("annotator", "") or "")
        name, ok = QtWidgets.QInputDialog.getText(self.window, "Annotator", "Your name (saved with every verdict):",
                                                  text=default)
        name = name.strip()
        if not ok or not name:
            return False
        self.set_annotator(name)
        return True

    def set_annotator(self, name: str) -> None:
        w = self.window
        self.annotator = name
        w.settings.setValue("annotator", name)
        w.annotator_label.setText(f"Annotator: {name}")
        if w.project is not None:
            w.reload()

    def set_verdict(self, verdict: str | None, advance: bool = True) -> None:
        """Save the verdict of the active view at once (one transaction), then move on."""
        w = self.window
        if w.project is None or w.session.current is None or not self.ensure_annotator():
            return
        image_id = w.session.current
        row = w.model.row_by_image(image_id)
        try:
            store_access.save_verdict(w.project, image_id, self.annotator, verdict)
        except ContrarioError as exc:
            w.show_error("Verdict not saved", str(exc))
            return
        w.session.record_verdict(image_id, verdict)
        self.show_my_verdict(image_id, verdict)
        w.show_status(f"{row.title}: {verdict or 'verdict cleared'}")
        if advance:
            w.step(1)

    def undo(self) -> None:
        w = self.window
        if not w.session.can_undo or w.project is None:
            return
        change = w.session.undo()
        image_id, previous = change.image_id, change.before
        store_access.save_verdict(w.project, image_id, self.annotator, previous)
        row = w.model.row_by_image(image_id)
        self.show_my_verdict(image_id, previous, header=False)
        pos = w.session.position_of(image_id)
        if pos is not None:
            w.show_position(pos)
        w.show_status(f"Undone: {row.title} is {previous or 'unreviewed'} again")

    def show_my_verdict(self, image_id: int, verdict: str | None, header: bool = True) -> None:
        """My verdict on `image_id` is now `verdict` (saved): gallery, header, counts and histogram follow."""
        w = self.window
        row = w.model.row_by_image(image_id)
        if row is None:
            return
        row.my_verdict = verdict
        w.session.note_verdict(image_id, verdict)
        w.model.refresh_image(image_id)
        if header and image_id == w.session.current:
            w.refresh_header()
        w.refresh_counts()
        w.update_score_histogram()
