"""The decoded views of the item on screen and of its neighbours: loaded on the task runner, kept in a small
cache, and put on the canvas together once every view of the wanted item is there."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from PySide6 import QtCore

from app import store_access
from app.canvas.canvas import ImageCanvas, ViewData
from app.canvas.large_pictures import PictureFile, picture_for_view
from app.labels.label_io import load_reference_outline
from app.store_access import ImageRow
from app.workers import TaskRunner
from core.errors import ContrarioError
from core.io.thumbnails import ThumbnailCache

VIEW_CACHE = 24  # decoded views kept in memory (current item, neighbours, a little history)


def load_view(project, row: ImageRow, model_revision_id: int | None, cache: ThumbnailCache | None = None) -> ViewData:
    """Worker-thread side of showing one view: decode (a large picture: its preview), fetch the result, trace
    outlines."""
    if row.failed:
        return ViewData(row.image_id, row.title, None, error=row.error or "import failed")
    try:
        picture = PictureFile(row.path, row.sha256, row.file_size)
        pixels, frame = picture_for_view(picture, cache)
    except ContrarioError as exc:
        return ViewData(row.image_id, row.title, None, error=str(exc))
    h, w = frame or pixels.shape[:2]
    overlay = store_access.load_overlay(project, row.image_id, model_revision_id, (h, w))
    truth = load_reference_outline(project, row.image_id)
    return ViewData(row.image_id, row.title, pixels, overlay=overlay, truth=truth, frame_size=frame,
                    source=picture if frame else None)


class ItemViews(QtCore.QObject):
    displayed = QtCore.Signal(int)  # image id whose item is now fully on the canvas

    def __init__(self, canvas: ImageCanvas, runner: TaskRunner, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas, self.runner = canvas, runner
        self.project = None
        self.model_revision_id: int | None = None
        self.row_by_image: Callable[[int], ImageRow | None] = lambda _image_id: None
        self.previews: ThumbnailCache | None = None
        self._views: OrderedDict[int, ViewData] = OrderedDict()
        self._loading: set[int] = set()
        self.shown_item: tuple[int, ...] | None = None
        self._wanted: tuple[tuple[int, ...], int] | None = None  # (item's image ids, active image id)

    def set_source(self, project, model_revision_id: int | None, row_by_image: Callable[[int], ImageRow | None],
                   previews: ThumbnailCache | None = None) -> None:
        """Where views come from (`previews`: where large pictures' previews are cached); what was cached is
        dropped (scores or labels may have changed)."""
        self.project, self.model_revision_id, self.row_by_image = project, model_revision_id, row_by_image
        self.previews = previews
        self.clear()

    def clear(self) -> None:
        self._views.clear()
        self.shown_item = None
        self._wanted = None

    def clear_canvas(self) -> None:
        """Nothing on the canvas (nothing to show); the cache stays."""
        self.canvas.clear_views()
        self.shown_item = None
        self._wanted = None

    def get(self, image_id: int) -> ViewData | None:
        return self._views.get(image_id)

    @property
    def busy(self) -> bool:
        return bool(self._loading)

    def show(self, ids: tuple[int, ...], image_id: int) -> None:
        """Put the item made of the views `ids` on the canvas with `image_id` active (once they are loaded)."""
        self._wanted = (ids, image_id)
        if self.shown_item == ids:
            self.canvas.show_active(ids.index(image_id))
            self.displayed.emit(image_id)
        else:
            self._request(ids, display=True)

    def prefetch(self, ids: tuple[int, ...]) -> None:
        self._request(ids, display=False)

    def _request(self, ids: tuple[int, ...], display: bool) -> None:
        missing = [i for i in ids if i not in self._views]
        if not missing and display:
            self._display(ids)
            return
        for i in missing:
            if i in self._loading:
                continue
            self._loading.add(i)
            self.runner.start(load_view, self.project, self.row_by_image(i), self.model_revision_id, self.previews,
                              on_done=self._on_loaded, on_error=lambda msg, i=i: self._on_failed(i, msg))

    def _on_loaded(self, data: ViewData) -> None:
        self._loading.discard(data.image_id)
        self._store(data)
        self._maybe_display()

    def _on_failed(self, image_id: int, message: str) -> None:
        self._loading.discard(image_id)
        row = self.row_by_image(image_id)
        self._store(ViewData(image_id, row.title if row else str(image_id), None, error=message))
        self._maybe_display()

    def _store(self, data: ViewData) -> None:
        self._views[data.image_id] = data
        self._views.move_to_end(data.image_id)
        while len(self._views) > VIEW_CACHE:
            self._views.popitem(last=False)

    def _maybe_display(self) -> None:
        if self._wanted is None:
            return
        ids = self._wanted[0]
        if self.shown_item != ids and all(i in self._views for i in ids):
            self._display(ids)

    def _display(self, ids: tuple[int, ...]) -> None:
        views = [self._views[i] for i in ids]
        for i in ids:
            self._views.move_to_end(i)
        active = self._wanted[1] if self._wanted is not None else None
        self.canvas.set_views(views, active_image_id=active)
        self.shown_item = ids
        self.displayed.emit(active)
