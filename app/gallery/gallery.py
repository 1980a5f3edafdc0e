"""The gallery: a QListView over a list model; thumbnails are painted when ready, never awaited."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from app.gallery.filtering import ANY, select_rows, shown_label
from app.gallery.thumbs import ERROR, ThumbnailLoader
from app.store_access import ImageRow

THUMB = 126
CAPTION = 36
VERDICT_COLORS = {"good": "#43a047", "defect": "#e53935", "unsure": "#fb8c00"}
RowRole = QtCore.Qt.ItemDataRole.UserRole + 1


class GalleryModel(QtCore.QAbstractListModel):
    """Rows are ImageRow objects; `visible` holds the filtered, sorted indices into them."""

    def __init__(self, loader: ThumbnailLoader, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.rows: list[ImageRow] = []
        self.visible: list[int] = []
        self._pos_of_image: dict[int, int] = {}
        self._pos_of_row: dict[int, int] = {}
        self._row_index: dict[int, int] = {}
        self.k = 2.0
        self.label_source = ANY
        loader.loaded.connect(self._on_thumb)

    def set_rows(self, rows: list[ImageRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self._row_index = {r.image_id: i for i, r in enumerate(rows)}
        self.visible = list(range(len(rows)))
        self._reindex()
        self.endResetModel()

    def apply(self, mode: str, sort: str, batch_id: int | None, k: float, source: str = ANY) -> None:
        self.beginResetModel()
        self.k = k
        self.label_source = source
        self.visible = select_rows(self.rows, mode, sort, batch_id, k, source)
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._pos_of_row = {ri: pos for pos, ri in enumerate(self.visible)}

    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.visible)

    def row_at(self, pos: int) -> ImageRow:
        return self.rows[self.visible[pos]]

    def position_of(self, image_id: int) -> int | None:
        ri = self._row_index.get(image_id)
        return None if ri is None else self._pos_of_row.get(ri)

    def row_by_image(self, image_id: int) -> ImageRow | None:
        ri = self._row_index.get(image_id)
        return None if ri is None else self.rows[ri]

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if role == RowRole:
            return row
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return row.title
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            tip = f"{row.batch_name} / {row.title}\n{row.path}"
            if row.failed:
                tip += f"\nError: {row.error}"
            if row.score is not None:
                tip += f"\nScore {row.score:.3f}"
            verdict, who = shown_label(row, self.label_source)
            if verdict:
                tip += f"\nLabel: {verdict} ({'your verdict' if who == 'me' else who})"
            return tip
        return None

    def refresh_image(self, image_id: int) -> None:
        pos = self.position_of(image_id)
        if pos is not None:
            idx = self.index(pos)
            self.dataChanged.emit(idx, idx)

    def _on_thumb(self, image_id: int) -> None:
        self.refresh_image(image_id)


class GalleryDelegate(QtWidgets.QStyledItemDelegate):
    """Paints a tile: thumbnail (or error tile), caption, verdict badge, score."""

    def __init__(self, loader: ThumbnailLoader, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.small = QtGui.QFont()
        self.small.setPointSizeF(8.5)

    def sizeHint(self, option, index) -> QtCore.QSize:
        return QtCore.QSize(THUMB + 12, THUMB + CAPTION + 10)

    def paint(self, p: QtGui.QPainter, option: QtWidgets.QStyleOptionViewItem, index: QtCore.QModelIndex) -> None:
        row: ImageRow = index.data(RowRole)
        r = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QtWidgets.QStyle.StateFlag.State_Selected)
        p.save()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(QtGui.QPen(QtGui.QColor("#3daee9" if selected else "#3a3f47"), 2 if selected else 1))
        p.setBrush(QtGui.QColor("#2d3138" if selected else "#262a30"))
        p.drawRoundedRect(r, 4, 4)
        thumb_rect = QtCore.QRect(r.left() + 4, r.top() + 4, r.width() - 8, THUMB - 4)
        img = None if row.failed else self.loader.get(row.image_id)
        if row.failed or img is ERROR:
            self._paint_error(p, thumb_rect, row.error if row.failed else "cannot decode")
        elif img is None:
            self.loader.request(row.image_id, row.path, row.sha256)
            p.fillRect(thumb_rect, QtGui.QColor("#30343b"))
        else:
            size = img.size().scaled(thumb_rect.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio)
            target = QtCore.QRect(QtCore.QPoint(0, 0), size)
            target.moveCenter(thumb_rect.center())
            p.drawImage(target, img)
        cap = QtCore.QRect(r.left() + 6, thumb_rect.bottom() + 3, r.width() - 12, CAPTION - 6)
        p.setFont(self.small)
        p.setPen(QtGui.QColor("#e6e8eb"))
        title = p.fontMetrics().elidedText(row.title, QtCore.Qt.TextElideMode.ElideMiddle, cap.width())
        p.drawText(cap, QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop, title)
        line2 = QtCore.QRect(cap.left(), cap.top() + 16, cap.width(), 16)
        if row.score is not None:
            p.setPen(QtGui.QColor("#39ff88") if row.detected(self.parent_k()) else QtGui.QColor("#9aa0a8"))
            p.drawText(line2, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                       f"{row.score:.3f}")
        verdict, who = shown_label(row, self.parent_source())
        if verdict:
            # The user's own verdict is a filled badge; someone else's (ground truth, adjudicated) an outlined one.
            color = QtGui.QColor(VERDICT_COLORS.get(verdict, "#888"))
            badge = QtCore.QRect(line2.left(), line2.top() + 1, 58, 14)
            p.setPen(QtCore.Qt.PenStyle.NoPen if who == "me" else QtGui.QPen(color, 1.5))
            p.setBrush(color if who == "me" else QtCore.Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(badge, 7, 7)
            p.setPen(QtGui.QColor("white") if who == "me" else color)
            p.drawText(badge, QtCore.Qt.AlignmentFlag.AlignCenter, verdict)
        elif row.disagreement():
            p.setPen(QtGui.QColor("#fb8c00"))
            p.drawText(line2, QtCore.Qt.AlignmentFlag.AlignLeft, "disputed")
        p.restore()

    def parent_k(self) -> float:
        return getattr(self._model(), "k", 2.0)

    def parent_source(self) -> str:
        return getattr(self._model(), "label_source", ANY)

    def _model(self):
        return self.parent().model() if isinstance(self.parent(), QtWidgets.QListView) else None

    @staticmethod
    def _paint_error(p: QtGui.QPainter, rect: QtCore.QRect, message: str | None) -> None:
        p.fillRect(rect, QtGui.QColor("#3b2326"))
        p.setPen(QtGui.QPen(QtGui.QColor("#e57373"), 2))
        c = rect.center()
        p.drawEllipse(c, 16, 16)
        p.drawText(QtCore.QRect(c.x() - 16, c.y() - 16, 32, 32), QtCore.Qt.AlignmentFlag.AlignCenter, "!")
        p.setPen(QtGui.QColor("#f0b4b4"))
        text_rect = QtCore.QRect(rect.left() + 6, c.y() + 20, rect.width() - 12, rect.bottom() - c.y() - 22)
        p.drawText(text_rect, QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.TextFlag.TextWordWrap,
                   "unreadable image")


class GalleryView(QtWidgets.QListView):
    """Icon grid, uniform tiles, batched layout: 100k rows stay responsive."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.setMovement(QtWidgets.QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QtWidgets.QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setGridSize(QtCore.QSize(THUMB + 14, THUMB + CAPTION + 12))
        self.setSpacing(0)
        self.setWordWrap(False)
        self.setVerticalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.setStyleSheet("QListView { background: #1b1e22; border: none; }")
