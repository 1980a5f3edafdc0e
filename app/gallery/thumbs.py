"""Lazy thumbnails: newest requests first, decoded on worker threads, kept in a bounded memory cache."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

import numpy as np
from PySide6 import QtCore, QtGui

from core.io.thumbnails import ThumbnailCache

ERROR = object()  # marker for an image whose thumbnail cannot be made


def array_to_qimage(px: np.ndarray) -> QtGui.QImage:
    px = np.ascontiguousarray(px)
    h, w = px.shape[:2]
    if px.ndim == 2:
        img = QtGui.QImage(px.data, w, h, px.strides[0], QtGui.QImage.Format.Format_Grayscale8)
    else:
        img = QtGui.QImage(px.data, w, h, px.strides[0], QtGui.QImage.Format.Format_RGB888)
    return img.copy()  # own the pixels


class _Drain(QtCore.QRunnable):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        self.loader._drain()


class ThumbnailLoader(QtCore.QObject):
    """request(key, path, sha) -> later `loaded(key)`; get(key) returns a QImage, ERROR or None."""

    loaded = QtCore.Signal(int)

    def __init__(self, cache: ThumbnailCache, pool: QtCore.QThreadPool, memory: int = 3000, backlog: int = 400,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.pool = pool
        self.memory = memory
        self.backlog = backlog
        self._images: OrderedDict[int, object] = OrderedDict()
        self._queue: deque[tuple[int, str, str | None]] = deque()
        self._pending: set[int] = set()
        self._lock = threading.Lock()
        self._drainers = 0
        self._max_drainers = max(1, pool.maxThreadCount() - 1)
        self._closed = False
        self._results: list[tuple[int, object]] = []

    def get(self, key: int):
        img = self._images.get(key)
        if img is not None:
            self._images.move_to_end(key)
        return img

    def request(self, key: int, path: str, sha256: str | None) -> None:
        with self._lock:
            if key in self._pending or self._closed:
                return
            self._pending.add(key)
            self._queue.append((key, path, sha256))
            while len(self._queue) > self.backlog:  # scrolled far past: forget the oldest asks
                old, _, _ = self._queue.popleft()
                self._pending.discard(old)
            start = self._drainers < self._max_drainers
            if start:
                self._drainers += 1
        if start:
            self.pool.start(_Drain(self))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._queue.clear()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._closed:
                    self._drainers -= 1
                    return
                key, path, sha = self._queue.pop()  # newest first: what the user looks at now
            try:
                if not sha:
                    raise ValueError("not imported")
                result: object = array_to_qimage(self.cache.load(path, sha))
            except Exception:
                result = ERROR
            with self._lock:
                self._pending.discard(key)
                self._results.append((key, result))
            QtCore.QMetaObject.invokeMethod(self, "_deliver", QtCore.Qt.ConnectionType.QueuedConnection)

    @QtCore.Slot()
    def _deliver(self) -> None:
        with self._lock:
            results, self._results = self._results, []
        for key, img in results:
            self._images[key] = img
            while len(self._images) > self.memory:
                self._images.popitem(last=False)
            self.loaded.emit(key)
