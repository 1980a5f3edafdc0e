"""The editable mask layer of a canvas view: brush, eraser, polygon, fill and "accept model region".

MaskItem draws the uint8 class mask through a colour table straight from the numpy array (an Indexed8
QImage over the same memory, no copy), and repaints only the rectangle an edit touched. MaskEditor plugs
it onto a pyqtgraph ViewBox (the canvas panel's `vb`, image coordinates = pixels), turns mouse input into
mask_ops edits, and records each stroke as one undo command on the image's MaskUndoStack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.canvas.canvas import polygons_path
from app.labels.label_io import mask_polygons
from app.labels.undo import DEFAULT_MEMORY_CAP, MaskUndoStack
from core.labels import mask_ops
from core.labels.classes import ClassInfo, class_lut

MASK_Z = 4
DEFAULT_ALPHA = 140
# The mask's outline: cyan over a dark rim, so it shows on the inferno heat map (whose orange and yellow hide
# the default class colour, orange) as well as on light and dark pictures.
OUTLINE_COLOR = "#00e5ff"
OUTLINE_RIM = (0, 0, 0, 200)


class Tool(str, Enum):
    PAN = "pan"
    BRUSH = "brush"
    ERASER = "eraser"
    POLYGON = "polygon"
    FILL = "fill"
    REGION = "region"  # click a model region: add it (Shift: subtract it)


class MaskItem(pg.GraphicsObject):
    """A class mask drawn with a colour table; `mark_dirty` repaints one rectangle."""

    def __init__(self, mask: np.ndarray, lut: np.ndarray) -> None:
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(MASK_Z)
        self.editor: MaskEditor | None = None
        self.rim = QtWidgets.QGraphicsPathItem(self)
        self.rim.setPen(pg.mkPen(OUTLINE_RIM, width=3, cosmetic=True))
        self.outline = QtWidgets.QGraphicsPathItem(self)
        self.outline.setPen(pg.mkPen(OUTLINE_COLOR, width=1.5, cosmetic=True))
        self._set(mask, lut)

    def _set(self, mask: np.ndarray, lut: np.ndarray) -> None:
        h, w = mask.shape
        stride = (w + 3) // 4 * 4  # QImage scanlines are 32-bit aligned
        storage = np.zeros((h, stride), dtype=np.uint8)  # a copy: the caller's array is never edited
        storage[:, :w] = mask
        self.storage = storage
        self.mask = storage[:, :w]
        self.qimage = QtGui.QImage(storage.data, w, h, stride, QtGui.QImage.Format.Format_Indexed8)
        self.set_lut(lut)
        self.prepareGeometryChange()
        self.update_outline()

    def update_outline(self) -> None:
        """Trace the marked pixels' outline again: the editor calls it after each edit, undo and redo (a brush
        stroke is one edit: the outline follows when the stroke ends, not at every dab)."""
        path = polygons_path(mask_polygons(self.mask))
        self.rim.setPath(path)
        self.outline.setPath(path)

    def set_lut(self, lut: np.ndarray) -> None:
        table = [QtGui.qRgba(int(r), int(g), int(b), int(a)) for r, g, b, a in lut]
        self.qimage.setColorTable(table)
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        h, w = self.mask.shape
        return QtCore.QRectF(0, 0, w, h)

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        shown = painter.clipBoundingRect() if painter.hasClipping() else option.exposedRect
        src = shown.intersected(self.boundingRect()).toAlignedRect()
        if src.isEmpty():
            return
        # crop first: drawing converts an indexed image to ARGB, and should only convert what is shown
        painter.drawImage(QtCore.QRectF(src), self.qimage.copy(src))

    def mark_dirty(self, bbox: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = bbox
        self.update(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))

    # pyqtgraph delivers these to the topmost item that accepts them; ignored ones pan the ViewBox
    def mouseDragEvent(self, ev) -> None:
        if self.editor is None or not self.editor.handles_drag(ev):
            ev.ignore()
            return
        ev.accept()
        self.editor.on_drag(ev)

    def mouseClickEvent(self, ev) -> None:
        if self.editor is None or not self.editor.handles_click(ev):
            ev.ignore()
            return
        ev.accept()
        self.editor.on_click(ev)

    def hoverEvent(self, ev) -> None:
        if self.editor is not None:
            self.editor.on_hover(ev)


@dataclass
class ImageEdit:
    """The open edit of one image: its mask, its undo stack, and the model regions accepted into it."""

    image_id: int
    item: MaskItem
    stack: MaskUndoStack
    base_annotation_id: int | None = None
    accepted_regions: list[int] = field(default_factory=list)
    model_revision_id: int | None = None

    @property
    def mask(self) -> np.ndarray:
        return self.item.mask

    def refresh(self, bbox: tuple[int, int, int, int]) -> None:
        self.item.mark_dirty(bbox)


class MaskEditor(QtCore.QObject):
    """Mask editing on one ViewBox. Per image: a mask and an undo stack (in `undo_group`)."""

    changed = QtCore.Signal(int)  # image id, after every edit, undo or redo
    toolChanged = QtCore.Signal(str)

    def __init__(self, view_box: pg.ViewBox, classes: list[ClassInfo] | None = None,
                 memory_cap: int = DEFAULT_MEMORY_CAP, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.vb = view_box
        self.memory_cap = memory_cap
        self.undo_group = QtGui.QUndoGroup(self)
        self.classes: list[ClassInfo] = list(classes or [])
        self.alpha = DEFAULT_ALPHA
        self.tool = Tool.PAN
        self.radius = 8.0
        self.class_id = self.classes[0].id if self.classes else 1
        self.overlay = None  # app.canvas.results.ResultOverlay of the shown image, for Tool.REGION
        self.k = 2.0
        self.edits: dict[int, ImageEdit] = {}
        self.current: ImageEdit | None = None
        self._stroke: mask_ops.StrokeRecorder | None = None
        self._last: tuple[float, float] | None = None
        self._polygon: list[tuple[float, float]] = []
        self._cursor = QtWidgets.QGraphicsEllipseItem()
        self._cursor.setPen(pg.mkPen((255, 255, 255, 220), width=1.5, cosmetic=True))
        self._cursor.setZValue(MASK_Z + 2)
        self._cursor.hide()
        self._poly_item = QtWidgets.QGraphicsPathItem()
        self._poly_item.setPen(pg.mkPen("#ffd166", width=2, cosmetic=True, style=QtCore.Qt.PenStyle.DashLine))
        self._poly_item.setZValue(MASK_Z + 1)
        for it in (self._cursor, self._poly_item):
            self.vb.addItem(it, ignoreBounds=True)

    # ---- content ---------------------------------------------------------------------------------------
    def lut(self) -> np.ndarray:
        return class_lut(self.classes, self.alpha)

    def set_classes(self, classes: list[ClassInfo]) -> None:
        self.classes = list(classes)
        if self.classes and self.class_id not in {c.id for c in self.classes}:
            self.class_id = self.classes[0].id
        for edit in self.edits.values():
            edit.item.set_lut(self.lut())

    def open_image(self, image_id: int, mask: np.ndarray, base_annotation_id: int | None = None) -> ImageEdit:
        """Show (and edit) `mask` for an image; an image already open keeps its edits and history."""
        if self.current is not None:
            self.vb.removeItem(self.current.item)
        edit = self.edits.get(image_id)
        if edit is None:
            item = MaskItem(np.asarray(mask, dtype=np.uint8), self.lut())
            item.editor = self
            edit = ImageEdit(image_id, item, MaskUndoStack(None, self.memory_cap), base_annotation_id)
            edit.stack.target = edit
            edit.stack.indexChanged.connect(self._on_stack_index)  # a slot of the editor: gone with it
            self.undo_group.addStack(edit.stack)
            self.edits[image_id] = edit
        self.current = edit
        self.vb.addItem(edit.item, ignoreBounds=True)
        self.undo_group.setActiveStack(edit.stack)
        self._cancel_polygon()
        return edit

    def _on_stack_index(self, _index: int) -> None:
        """An edit, undo or redo on one image's stack: its outline follows, and `changed` tells the world."""
        stack = self.sender()
        for image_id, edit in self.edits.items():
            if edit.stack is stack:
                edit.item.update_outline()
                self.changed.emit(image_id)
                return

    def close_image(self, image_id: int) -> None:
        edit = self.edits.pop(image_id, None)
        if edit is None:
            return
        if edit is self.current:
            self.vb.removeItem(edit.item)
            self.current = None
        self.undo_group.removeStack(edit.stack)
        edit.stack.indexChanged.disconnect()  # a deleted stack clears itself, and must not call back an editor
        edit.stack.deleteLater()               # that may be deleted before it

    def remove_from_view(self) -> None:
        """Take the brush cursor and the polygon preview out of the view box (the editor is going away)."""
        for item in (self._cursor, self._poly_item):
            self.vb.removeItem(item)

    def set_overlay(self, overlay, model_revision_id: int | None = None, k: float = 2.0) -> None:
        self.overlay = overlay
        self.k = k
        if self.current is not None:
            self.current.model_revision_id = model_revision_id

    def has_unsaved_changes(self, image_id: int | None = None) -> bool:
        edits = [self.edits[image_id]] if image_id is not None else list(self.edits.values())
        return any(not e.stack.isClean() for e in edits if e is not None)

    def mark_saved(self, image_id: int, annotation_id: int) -> None:
        edit = self.edits[image_id]
        edit.stack.setClean()
        edit.base_annotation_id = annotation_id
        edit.accepted_regions = []

    def source_of(self, image_id: int) -> tuple[str, dict]:
        """(source, source_ref) for saving: model-assisted when regions were accepted since the last save."""
        edit = self.edits[image_id]
        ref: dict = {"parent_annotation": edit.base_annotation_id}
        if edit.accepted_regions:
            ref.update({"model_revision": edit.model_revision_id, "region_labels": sorted(set(edit.accepted_regions))})
            return "model", ref
        return "manual", ref

    # ---- tools -----------------------------------------------------------------------------------------
    def set_tool(self, tool: Tool | str) -> None:
        self.tool = Tool(tool)
        self._cancel_polygon()
        self._cursor.setVisible(False)
        self.toolChanged.emit(self.tool.value)

    def set_radius(self, radius: float) -> None:
        self.radius = max(0.5, float(radius))

    def set_class(self, class_id: int) -> None:
        self.class_id = int(class_id)

    def _value(self) -> int:
        return 0 if self.tool == Tool.ERASER else self.class_id

    def handles_drag(self, ev) -> bool:
        return self.current is not None and self.tool in (Tool.BRUSH, Tool.ERASER) and \
            ev.button() == QtCore.Qt.MouseButton.LeftButton

    def handles_click(self, ev) -> bool:
        return self.current is not None and self.tool != Tool.PAN and \
            ev.button() == QtCore.Qt.MouseButton.LeftButton

    # ---- programmatic edits (also what the mouse handlers call) ----------------------------------------
    def begin_stroke(self, x: float, y: float) -> None:
        self._stroke = mask_ops.StrokeRecorder()
        self._last = (x, y)
        self._dab(mask_ops.brush_dab(self.current.mask, x, y, self.radius, self._value()))

    def continue_stroke(self, x: float, y: float) -> None:
        if self._stroke is None:
            self.begin_stroke(x, y)
            return
        for d in mask_ops.brush_line(self.current.mask, self._last, (x, y), self.radius, self._value()):
            self._dab(d)
        self._last = (x, y)

    def end_stroke(self) -> bool:
        if self._stroke is None:
            return False
        merged = self._stroke.finish(self.current.mask)
        self._stroke = None
        name = "erase" if self.tool == Tool.ERASER else "brush stroke"
        return self.current.stack.push_delta(merged, name)

    def _dab(self, delta: mask_ops.MaskDelta | None) -> None:
        if delta is not None:
            self._stroke.add(delta)
            self.current.item.mark_dirty(delta.bbox)

    def commit(self, delta: mask_ops.MaskDelta | None, text: str) -> bool:
        """Record an edit already applied to the current mask: repaint its box, push it for undo."""
        if delta is None:
            return False
        self.current.item.mark_dirty(delta.bbox)
        return self.current.stack.push_delta(delta, text)

    def fill_at(self, x: float, y: float) -> bool:
        return self.commit(mask_ops.flood_fill(self.current.mask, x, y, self.class_id), "fill")

    def fill_polygon(self, points: list[tuple[float, float]], value: int | None = None) -> bool:
        v = self.class_id if value is None else value
        return self.commit(mask_ops.fill_polygon(self.current.mask, points, v), "polygon")

    def accept_region(self, label: int, subtract: bool = False) -> bool:
        """Turn model region `label` of the overlay into mask pixels of the current class (or remove them)."""
        ov = self.overlay
        if ov is None or ov.labels is None:
            return False
        got = mask_ops.region_crop(ov.labels, label, (self.current.mask.shape[0], self.current.mask.shape[1]))
        if got is None:
            return False
        offset, crop = got
        value = 0 if subtract else self.class_id
        done = self.commit(mask_ops.paint_where(self.current.mask, crop, value, offset),
                            "subtract model region" if subtract else "accept model region")
        if done and not subtract:
            self.current.accepted_regions.append(int(label))
        return done

    # ---- mouse -----------------------------------------------------------------------------------------
    def _pos(self, ev) -> tuple[float, float]:
        p = ev.pos()  # item coordinates = image pixels
        return p.x(), p.y()

    def on_drag(self, ev) -> None:
        x, y = self._pos(ev)
        if ev.isStart():
            self.begin_stroke(*self._pos_of(ev.buttonDownPos()))
        self.continue_stroke(x, y)
        self._move_cursor(x, y)
        if ev.isFinish():
            self.end_stroke()

    def _pos_of(self, p: QtCore.QPointF) -> tuple[float, float]:
        return p.x(), p.y()

    def on_click(self, ev) -> None:
        x, y = self._pos(ev)
        shift = bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)
        if self.tool in (Tool.BRUSH, Tool.ERASER):
            self.begin_stroke(x, y)
            self.end_stroke()
        elif self.tool == Tool.FILL:
            self.fill_at(x, y)
        elif self.tool == Tool.REGION and self.overlay is not None:
            region = self.overlay.region_at(x, y, self.k)
            if region is not None:
                self.accept_region(region.label, subtract=shift)
        elif self.tool == Tool.POLYGON:
            if ev.double() and len(self._polygon) >= 3:
                self.finish_polygon(subtract=shift)
            else:
                self._polygon.append((x, y))
                self._draw_polygon()

    def finish_polygon(self, subtract: bool = False) -> bool:
        points, self._polygon = self._polygon, []
        self._draw_polygon()
        return self.fill_polygon(points, 0 if subtract else None) if len(points) >= 3 else False

    def _cancel_polygon(self) -> None:
        self._polygon = []
        self._draw_polygon()

    def _draw_polygon(self) -> None:
        path = QtGui.QPainterPath()
        if self._polygon:
            path.moveTo(*self._polygon[0])
            for p in self._polygon[1:]:
                path.lineTo(*p)
        self._poly_item.setPath(path)

    def on_hover(self, ev) -> None:
        if ev.isExit() or self.tool not in (Tool.BRUSH, Tool.ERASER):
            self._cursor.hide()
            return
        self._move_cursor(*self._pos(ev))

    def _move_cursor(self, x: float, y: float) -> None:
        r = self.radius
        self._cursor.setRect(QtCore.QRectF(np.floor(x) + 0.5 - r, np.floor(y) + 0.5 - r, 2 * r, 2 * r))
        self._cursor.show()

    def key_press(self, event: QtGui.QKeyEvent) -> bool:
        """Enter closes the polygon, Escape drops it; class hotkeys pick the class. True when handled."""
        key = event.key()
        if self.tool == Tool.POLYGON and key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self.finish_polygon(bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier))
            return True
        if key == QtCore.Qt.Key.Key_Escape and self._polygon:
            self._cancel_polygon()
            return True
        text = event.text()
        for c in self.classes:
            if c.hotkey and text and c.hotkey == text:
                self.set_class(c.id)
                return True
        return False
