"""Labels by other annotators, followed while the workbench shows an image.

On a shared project several people label at once. Every few seconds (and as soon as an image is shown) the
workbench reads, off the GUI thread, the current label revisions of the item on screen; when another annotator
saved a new one (another workbench, a script, an adjudication) it refreshes what shows other people's labels:
the gallery tile, the verdict in the header, the counts, the score histograms, the Labels drop-down and the
dashed reference outline (the adjudicated or ground-truth mask), and says so in the status line. The mask being
edited in label mode is never touched: unsaved strokes and their undo history stay as they are, and saving
them adds the user's own next revision as before (each annotator's revisions are numbered on their own, so
nothing anyone else saved is overwritten).

The window creates one `LiveLabels(window)`; it follows `window.project` and `window.current_image_id`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore

from app.gallery.filtering import REFERENCE_ANNOTATORS
from app.labels.label_io import ReferenceOutline, load_reference_outline
from app.workers import TaskRunner
from core.labels.editing import current_labels

POLL_MS = 2000


@dataclass(frozen=True)
class OthersState:
    """The current revisions of one image by everyone but the user."""

    revisions: tuple[tuple[str, int], ...]  # (annotator, revision), by name
    verdicts: tuple[tuple[str, str | None], ...]  # (annotator, verdict), by name
    authors: tuple[tuple[str, str], ...] = ()  # (annotator, who wrote the revision: the adjudicator for "adjudicated")

    @property
    def reference(self) -> tuple[tuple[str, int], ...]:
        return tuple((who, rev) for who, rev in self.revisions if who in REFERENCE_ANNOTATORS)


@dataclass
class Observed:
    state: OthersState
    outline_changed: bool = False
    outline: ReferenceOutline | None = None


def observe(project, image_ids: tuple[int, ...], me: str | None,
            known: dict[int, OthersState]) -> dict[int, Observed]:
    """Worker-thread side: the others' current revisions of `image_ids`; the reference outline again for an
    image whose adjudicated or ground-truth revision changed since `known`."""
    with project.session(readonly=True) as s:
        labels = [lab for lab in current_labels(s, image_ids=list(image_ids)) if lab.annotator != me]
    out = {}
    for image_id in image_ids:
        mine = sorted((lab for lab in labels if lab.image_id == image_id), key=lambda lab: lab.annotator)
        state = OthersState(tuple((lab.annotator, lab.revision) for lab in mine),
                            tuple((lab.annotator, lab.verdict) for lab in mine),
                            tuple((lab.annotator, str((lab.source_ref or {}).get("by") or lab.annotator)) for lab in mine))
        seen = Observed(state)
        before = known.get(image_id)
        if before is not None and before.reference != state.reference:
            seen.outline_changed = True
            seen.outline = load_reference_outline(project, image_id)
        out[image_id] = seen
    return out


class LiveLabels(QtCore.QObject):
    othersChanged = QtCore.Signal(int, list)  # image id, annotators with a new revision of it
    polled = QtCore.Signal(list)  # the image ids just looked at

    def __init__(self, window, interval_ms: int = POLL_MS) -> None:
        super().__init__(window)
        self.window = window
        self.runner = TaskRunner(max_threads=1, parent=self)
        self._known: dict[int, OthersState] = {}
        self._project = None
        self._busy = False
        self._again = False
        self.last_error: str | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        window.viewShown.connect(lambda _image_id: self.poll())
        window.installEventFilter(self)

    def poll(self) -> None:
        """Look at the item on screen now (on the worker; a look already running is followed by another)."""
        w = self.window
        if w.project is not self._project:
            self._project, self._known = w.project, {}
        if w.project is None or w.current_image_id is None or not w.isVisible():
            return
        if self._busy:
            self._again = True
            return
        row = w.model.row_by_image(w.current_image_id)
        if row is None:
            return
        ids = tuple(w.item_images.get(row.item_id, [row.image_id]))
        known = {i: self._known[i] for i in ids if i in self._known}
        self._busy = True
        project = w.project
        self.runner.start(observe, project, ids, w.annotator, known,
                          on_done=lambda got: self._apply(project, got), on_error=self._failed)

    def _failed(self, message: str) -> None:  # a server out of reach for a moment: the next look tries again
        self._busy = False
        self.last_error = message

    def _apply(self, project, got: dict[int, Observed]) -> None:
        self._busy = False
        w = self.window
        if project is not w.project:
            return
        self.last_error = None
        for image_id, seen in got.items():
            before = self._known.get(image_id)
            self._known[image_id] = seen.state
            row = w.model.row_by_image(image_id)
            if row is None:
                continue
            authors = dict(seen.state.authors)
            revised = [] if before is None else [  # new revisions, but the user's own adjudications
                who for who, rev in seen.state.revisions
                if dict(before.revisions).get(who) != rev and authors.get(who) != w.annotator]
            verdicts = {who: v for who, v in seen.state.verdicts if v}
            if verdicts != row.other_verdicts:
                self._show_verdicts(row, verdicts)
            if seen.outline_changed:
                self._show_outline(image_id, seen.outline)
            if revised:
                names = [who if authors.get(who, who) == who else f"{who} ({authors[who]})" for who in revised]
                w.show_status(f"{row.title}: new label revision by {', '.join(names)}")
                self.othersChanged.emit(image_id, revised)
        self.polled.emit(list(got))
        if self._again:
            self._again = False
            QtCore.QTimer.singleShot(0, self.poll)

    def _show_verdicts(self, row, verdicts: dict[str, str]) -> None:
        w = self.window
        row.other_verdicts = verdicts
        w.model.refresh_image(row.image_id)
        if row.image_id == w.current_image_id:
            w.refresh_header()
        w.refresh_counts()
        histogram = getattr(w, "update_score_histogram", None)  # the score histograms, where the window has them
        if histogram is not None:
            histogram()
        if not all(w.offers_label_source(who) for who in verdicts):
            w.refresh_label_sources()  # a new annotator: the Labels drop-down offers them (signals blocked meanwhile)

    def _show_outline(self, image_id: int, outline: ReferenceOutline | None) -> None:
        """Redraw the reference outline of one view in place (the canvas and the mask editor stay as they are)."""
        w = self.window
        cached = w.view_data(image_id)
        if cached is not None:
            cached.truth = outline
        for panel in w.canvas.panels:
            if panel.data is not None and panel.data.image_id == image_id and panel.data.pixels is not None:
                panel.data.truth = outline
                panel.show(panel.data)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QtCore.QEvent.Type.Close:
            self.runner.wait(5000)  # no look at a project that the window is closing
        return False
