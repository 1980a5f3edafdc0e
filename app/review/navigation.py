"""Moving from image to image: next and previous (the window's ReviewSession says where to), a click in the
gallery or on another view of the item, with the gallery's selection kept on the image on screen. A move away
from unsaved mask edits asks first (`labels.confirm_leave`); the image reached is shown by the header and the
item views, and its neighbours are loaded ahead."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.store_access import ImageRow


class Navigation(QtCore.QObject):
    """Uses the window's `session`, `model`, `gallery`, `canvas`, `views`, `item_images`, `labels`,
    `refresh_header()` and `focus_canvas()`."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        window.gallery.clicked.connect(self._on_gallery_clicked)
        window.canvas.activeViewChanged.connect(self._on_active_view_clicked)

    def step(self, delta: int) -> None:
        pos = self.window.session.stepped(delta) if self.window.project is not None else None
        if pos is not None:
            self.show_position(pos)

    def show_position(self, pos: int) -> None:
        w = self.window
        if not (0 <= pos < w.model.rowCount()):
            return
        row = w.model.row_at(pos)
        if not w.labels.confirm_leave("moving to another image", keep=row.image_id):
            self.select_current()  # the user stays on the image with unsaved mask edits
            return
        idx = w.model.index(pos)
        sel = w.gallery.selectionModel()
        if sel.currentIndex().row() != pos:
            sel.blockSignals(True)
            sel.setCurrentIndex(idx, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)
            sel.blockSignals(False)
            w.gallery.viewport().update()
        w.gallery.scrollTo(idx)
        self.show_image(row.image_id)

    def show_image(self, image_id: int) -> None:
        w = self.window
        row = w.model.row_by_image(image_id)
        if row is None:
            return
        w.labels.before_show(image_id)  # saves the mask being edited on the previous image
        w.session.current = image_id
        w.refresh_header()
        w.views.show(self.item_of(row), image_id)
        self._prefetch_neighbours()

    def select_current(self) -> None:
        """Put the gallery's selection back on the image on screen (after a move was cancelled)."""
        w = self.window
        pos = w.session.position
        sel = w.gallery.selectionModel()
        sel.blockSignals(True)
        if pos is None:
            sel.clearSelection()
        else:
            sel.setCurrentIndex(w.model.index(pos), QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)
        sel.blockSignals(False)
        w.gallery.viewport().update()

    def item_of(self, row: ImageRow) -> tuple[int, ...]:
        """The image ids of the views of `row`'s item."""
        return tuple(self.window.item_images.get(row.item_id, [row.image_id]))

    def _prefetch_neighbours(self) -> None:
        w = self.window
        pos = w.session.position
        if pos is None:
            return
        for p in (pos + 1, pos - 1, pos + 2):
            if 0 <= p < w.model.rowCount():
                w.views.prefetch(self.item_of(w.model.row_at(p)))

    def _on_gallery_clicked(self, idx: QtCore.QModelIndex) -> None:
        if self.window.gallery.selectionModel().currentIndex().row() == idx.row():  # else the move was cancelled
            self.show_position(idx.row())
        self.window.focus_canvas()

    def _on_active_view_clicked(self, image_id: int) -> None:
        w = self.window
        pos = w.model.position_of(image_id)
        if pos is not None:
            self.show_position(pos)
        else:
            w.session.current = image_id
            w.refresh_header()
