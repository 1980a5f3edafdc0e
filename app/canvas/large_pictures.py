"""Large pictures in the workbench: a preview first, then full resolution where the view is zoomed in (decoded
off the GUI thread, cut to the visible window)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.workers import TaskRunner
from core.io.checked_files import check_recorded_size
from core.io.display_pyramid import DisplayPyramid, build_pyramid, is_large
from core.io.images import probe_image
from core.io.thumbnails import ThumbnailCache

MARGIN = 0.25  # the window cut around the visible box, as a fraction of its size on each side


@dataclass(frozen=True)
class PictureFile:
    """A file with what its import recorded (its full frame is decoded only while it still matches)."""

    path: str
    sha256: str | None
    size: int | None


def picture_for_view(picture: PictureFile, cache: ThumbnailCache | None) -> tuple[np.ndarray, tuple[int, int] | None]:
    """(pixels to show, frame size): a large picture's cached preview and its size, else the whole picture
    decoded and None. Both only while the file is the one imported: the preview path checks its size here and
    its hash when the full frame is decoded (PyramidLoader.failed)."""
    from app.store_access import decode_for_display

    if picture.sha256 and cache is not None:
        info = probe_image(picture.path, decode=False)
        if is_large(info.height, info.width):
            check_recorded_size(picture.path, picture.sha256, picture.size)
            return cache.preview(picture.path, picture.sha256), (info.height, info.width)
    return decode_for_display(picture.path, picture.sha256, picture.size), None


def decode_pyramid(picture: PictureFile) -> DisplayPyramid:
    from app.store_access import decode_for_display

    return build_pyramid(decode_for_display(picture.path, picture.sha256, picture.size))


class DetailLayer:
    """An image item above a panel's preview that shows, for the visible part of the frame, the pyramid
    level whose pixels are about a screen pixel; hidden while the preview is as sharp as the screen."""

    def __init__(self, vb: pg.ViewBox) -> None:
        self.vb = vb
        self.item = pg.ImageItem(axisOrder="row-major", autoDownsample=False)
        self.item.setZValue(0.5)
        self.item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.item.hide()
        vb.addItem(self.item, ignoreBounds=True)
        self.image_id: int | None = None
        self.preview_scale: float | None = None  # preview pixels per frame pixel
        self.pyramid: DisplayPyramid | None = None
        self.shown: tuple[int, tuple[int, int, int, int]] | None = None  # (level, frame box) on screen
        vb.sigRangeChanged.connect(self.update)
        vb.sigResized.connect(self.update)

    def reset(self, image_id: int | None, preview_scale: float | None) -> None:
        self.image_id = image_id
        self.preview_scale = preview_scale
        self.pyramid = None
        self.shown = None
        self.item.hide()
        self.item.clear()

    def set_pyramid(self, image_id: int, pyramid: DisplayPyramid) -> None:
        if image_id != self.image_id or self.preview_scale is None:
            return
        self.pyramid = pyramid
        self.update()

    def update(self, *_args) -> None:
        if self.pyramid is None:
            return
        rect = self.vb.viewRect()
        screen_px = max(1.0, float(self.vb.width()))
        level = self.pyramid.level_for(rect.width() / screen_px)
        if 2 ** level * self.preview_scale >= 1.0:  # a level pixel is no finer than a preview pixel
            self.item.hide()
            self.shown = None
            return
        h, w = self.pyramid.shape
        x0, x1 = max(rect.left(), 0.0), min(rect.right(), float(w))
        y0, y1 = max(rect.top(), 0.0), min(rect.bottom(), float(h))
        if x1 <= x0 or y1 <= y0:
            self.item.hide()
            return
        if self.shown is not None and self.shown[0] == level:
            bx0, by0, bx1, by1 = self.shown[1]
            if bx0 <= x0 and by0 <= y0 and bx1 >= x1 and by1 >= y1:
                self.item.show()
                return
        mx, my = MARGIN * (x1 - x0), MARGIN * (y1 - y0)
        pixels, box = self.pyramid.window(level, x0 - mx, y0 - my, x1 + mx, y1 + my)
        self.item.setImage(pixels, autoLevels=False, levels=(0, 255), autoDownsample=False)
        self.item.setRect(QtCore.QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1]))
        self.item.show()
        self.shown = (level, box)


class PyramidLoader(QtCore.QObject):
    """Decodes the full frames of the previews on screen, one at a time; keeps only those still wanted."""

    loaded = QtCore.Signal(int, object)  # image id, DisplayPyramid
    failed = QtCore.Signal(int, str)  # image id, one-line reason (e.g. the file changed since its import)

    def __init__(self, parent: QtCore.QObject | None = None,
                 decode: Callable[[PictureFile], DisplayPyramid] = decode_pyramid) -> None:
        super().__init__(parent)
        self.decode = decode
        self.runner = TaskRunner(max_threads=1, parent=self)
        self.wanted: dict[int, PictureFile] = {}
        self.ready: dict[int, DisplayPyramid] = {}
        self.running: set[int] = set()
        self.errors: dict[int, str] = {}

    def want(self, views) -> None:
        """The views on screen now (ViewData with a preview and a source); others' levels are dropped."""
        self.wanted = {v.image_id: v.source for v in views}
        for image_id in list(self.ready):
            if image_id not in self.wanted:
                del self.ready[image_id]
        for image_id, source in self.wanted.items():
            if image_id in self.ready:
                self.loaded.emit(image_id, self.ready[image_id])
            elif image_id in self.errors:
                self.failed.emit(image_id, self.errors[image_id])
            elif image_id not in self.running:
                self.running.add(image_id)
                self.runner.start(self._load, image_id, source, on_done=self._on_done,
                                  on_error=lambda msg, i=image_id: self._on_failed(i, msg))

    def _load(self, image_id: int, source: PictureFile) -> tuple[int, DisplayPyramid | None]:
        if image_id not in self.wanted:  # moved on before the decode started
            return image_id, None
        return image_id, self.decode(source)

    def _on_done(self, result: tuple[int, DisplayPyramid | None]) -> None:
        image_id, pyramid = result
        self.running.discard(image_id)
        if pyramid is not None and image_id in self.wanted:
            self.ready[image_id] = pyramid
            self.loaded.emit(image_id, pyramid)

    def _on_failed(self, image_id: int, message: str) -> None:
        self.running.discard(image_id)
        self.errors[image_id] = message  # not retried for this image
        if image_id in self.wanted:
            self.failed.emit(image_id, message)

    def wait(self, ms: int = 30000) -> bool:
        return self.runner.pool.waitForDone(ms)
