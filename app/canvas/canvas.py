"""The review canvas: one panel per view of an item, zoom/pan linked, overlay + outlines re-drawn live."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.canvas.large_pictures import DetailLayer, PyramidLoader
from app.canvas.results import RegionInfo, ResultOverlay
from app.resources import load_colormap, overlay_lut

pg.setConfigOptions(imageAxisOrder="row-major", useOpenGL=False, antialias=False)

ACTIVE_BORDER = "#3daee9"
OUTLINE_COLOR = "#39ff88"
TRUTH_COLOR = "#4fc3f7"  # reference label (ground truth, adjudicated): dashed, next to the model's regions
BACKGROUND = "#1e2126"


@dataclass
class ViewData:
    """What one panel shows: a uint8 picture (or an error) and, when scored, its result overlay."""

    image_id: int
    title: str
    pixels: np.ndarray | None = None  # H x W or H x W x 3, uint8
    error: str | None = None
    overlay: ResultOverlay | None = None
    truth: object | None = None  # app.labels.label_io.ReferenceOutline
    frame_size: tuple[int, int] | None = None  # (H, W) of the image when `pixels` is only its preview
    source: object | None = None  # PictureFile the full-resolution levels are decoded from (previews only)

    @property
    def size(self) -> tuple[int, int] | None:
        """(H, W) of the image in its own pixels, the frame of the overlay, outlines and masks."""
        if self.frame_size is not None:
            return self.frame_size
        return None if self.pixels is None else tuple(self.pixels.shape[:2])


class ViewPanel:
    """A ViewBox with the picture, the overlay, the outline path and a hover read-out."""

    def __init__(self, layout: pg.GraphicsLayout, col: int, lut: np.ndarray) -> None:
        self.title = layout.addLabel("", row=0, col=col, color="#d0d4da", size="10pt")
        self.vb: pg.ViewBox = layout.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMenu=False)
        self.vb.setDefaultPadding(0.01)
        self.image = pg.ImageItem(axisOrder="row-major", autoDownsample=False)
        self.detail = DetailLayer(self.vb)  # full-resolution windows of a large image over its preview
        self.overlay = pg.ImageItem(axisOrder="row-major", autoDownsample=False)
        self.overlay.setLookupTable(lut)
        self.overlay.setZValue(1)
        # One path item for all outlines; a 1-px cosmetic pen draws ~10x faster than any wider pen.
        self.outline = QtWidgets.QGraphicsPathItem()
        self.outline.setPen(pg.mkPen(OUTLINE_COLOR, width=1, cosmetic=True))
        self.outline.setZValue(3)
        self.truth = QtWidgets.QGraphicsPathItem()
        self.truth.setPen(pg.mkPen(TRUTH_COLOR, width=1, cosmetic=True, style=QtCore.Qt.PenStyle.DashLine))
        self.truth.setZValue(2)
        self.hover = pg.TextItem("", color="#ffffff", fill=pg.mkBrush(20, 22, 26, 220), anchor=(0, 1))
        self.hover.setZValue(5)
        self.hover.hide()
        self.message = pg.TextItem("", color="#ff8a80", fill=pg.mkBrush(40, 20, 20, 230), anchor=(0.5, 0.5))
        self.message.setZValue(6)
        self.message.hide()
        for item in (self.image, self.overlay):  # repaints for outlines/opacity reuse the screen-sized render
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        for item in (self.image, self.overlay, self.outline, self.truth, self.hover, self.message):
            self.vb.addItem(item, ignoreBounds=item in (self.hover, self.message, self.outline, self.truth))
        self.data: ViewData | None = None
        self.shape: tuple[int, ...] | None = None

    def show(self, data: ViewData) -> bool:
        """Display `data`; returns True when the picture size changed (the view should refit)."""
        self.data = data
        self.hover.hide()
        title = data.title
        if data.overlay is not None:
            title += f"  ·  score {data.overlay.score:.3f}"
        self.title.setText(title)
        if data.pixels is None:
            self._show_error(data.error or "no image")
            changed = self.shape != ("error",)
            self.shape = ("error",)
            return changed
        self.message.hide()
        self.truth.setPath(polygons_path(data.truth.polygons if data.truth is not None else []))
        px = data.pixels
        h, w = data.size
        self.image.setImage(px, autoLevels=False, levels=(0, 255), autoDownsample=False)
        self.image.setRect(QtCore.QRectF(0, 0, w, h))
        self.detail.reset(data.image_id, px.shape[1] / w if data.frame_size is not None else None)
        if data.overlay is not None:
            ov = data.overlay
            self.overlay.setImage(ov.map_u8, autoLevels=False, levels=(0, 255), autoDownsample=False)
            self.overlay.setRect(QtCore.QRectF(0, 0, w, h))
            self.overlay.show()
        else:
            self.overlay.clear()
            self.overlay.hide()
        changed = self.shape != (h, w)
        self.shape = (h, w)
        return changed

    def _show_error(self, error: str) -> None:
        placeholder = np.full((240, 320), 48, dtype=np.uint8)
        placeholder[::16, :] = 60
        placeholder[:, ::16] = 60
        self.image.setImage(placeholder, autoLevels=False, levels=(0, 255), autoDownsample=False)
        self.image.setRect(QtCore.QRectF(0, 0, 320, 240))
        self.detail.reset(None, None)
        self.overlay.clear()
        self.overlay.hide()
        self.outline.setPath(QtGui.QPainterPath())
        self.truth.setPath(QtGui.QPainterPath())
        short = error if len(error) < 160 else error[:157] + "..."
        self.message.setHtml(
            "<div style='padding:6px'><b>Cannot display this image</b><br>"
            f"<span style='color:#e0e0e0'>{_html_escape(short)}</span></div>"
        )
        self.message.setPos(160, 120)
        self.message.show()

    def set_threshold(self, k: float) -> None:
        ov = self.data.overlay if self.data else None
        if ov is None:
            path = QtGui.QPainterPath()
        else:
            x, y, connect = ov.outline_arrays(k)
            path = pg.arrayToQPath(x, y, connect=connect, finiteCheck=False) if len(x) else QtGui.QPainterPath()
        self.outline.setPath(path)

    def region_at_scene(self, scene_pos: QtCore.QPointF, k: float) -> tuple[RegionInfo, QtCore.QPointF] | None:
        ov = self.data.overlay if self.data else None
        if ov is None or not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.vb.mapSceneToView(scene_pos)
        region = ov.region_at(p.x(), p.y(), k)
        return (region, p) if region else None


class ImageCanvas(pg.GraphicsLayoutWidget):
    """Side-by-side views of one item. Threshold k: regions with log10 NFA <= -k are outlined."""

    activeViewChanged = QtCore.Signal(int)  # image id
    regionHovered = QtCore.Signal(object)  # RegionInfo or None

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.ci.setSpacing(6)
        self._lut = overlay_lut(load_colormap("inferno"))
        self.panels: list[ViewPanel] = []
        self.k = 2.0
        self.opacity = 0.55
        self.overlays_on = True
        self.outlines_on = True
        self.truth_on = True
        self._held_hidden = False
        self.active_index = 0
        self.pyramids = PyramidLoader(self)
        self.pyramids.loaded.connect(self._on_pyramid)
        self.pyramids.failed.connect(self._on_pyramid_failed)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    # ----- content
    def set_views(self, views: list[ViewData], active_image_id: int | None = None) -> None:
        if len(views) != len(self.panels):
            self._rebuild(len(views))
        refit = False
        for panel, data in zip(self.panels, views):
            refit |= panel.show(data)
            panel.set_threshold(self.k)
        self.pyramids.want([v for v in views if v.frame_size is not None and v.source])
        ids = [v.image_id for v in views]
        self.active_index = ids.index(active_image_id) if active_image_id in ids else 0
        self._apply_visibility()
        self._mark_active()
        if refit:
            self.fit()

    def active_panel(self) -> ViewPanel | None:
        """The view the user works on (the first one until another is clicked)."""
        if not self.panels:
            return None
        return self.panels[min(self.active_index, len(self.panels) - 1)]

    def clear_views(self) -> None:
        self.pyramids.want([])
        self._rebuild(0)

    def _on_pyramid(self, image_id: int, pyramid) -> None:
        for panel in self.panels:
            panel.detail.set_pyramid(image_id, pyramid)

    def _on_pyramid_failed(self, image_id: int, message: str) -> None:
        """The full frame could not be read (changed since its import, damaged): the preview goes too."""
        for panel in self.panels:
            if panel.data is not None and panel.data.image_id == image_id and panel.data.pixels is not None:
                panel.show(ViewData(image_id, panel.data.title, None, error=message))

    def _rebuild(self, n: int) -> None:
        self.ci.clear()
        self.panels = [ViewPanel(self.ci, col, self._lut) for col in range(n)]
        for panel in self.panels[1:]:
            panel.vb.setXLink(self.panels[0].vb)
            panel.vb.setYLink(self.panels[0].vb)

    def zoom_to(self, bbox: tuple[int, int, int, int], margin: float = 0.5) -> None:
        """Show image box (x0, y0, x1, y1) with `margin` of its size around it (all views follow: linked)."""
        if not self.panels:
            return
        x0, y0, x1, y1 = bbox
        pad = margin * max(x1 - x0, y1 - y0, 16)
        self.panels[self.active_index].vb.setRange(xRange=(x0 - pad, x1 + pad), yRange=(y0 - pad, y1 + pad),
                                                   padding=0)

    def fit(self) -> None:
        for panel in self.panels[:1]:
            panel.vb.autoRange(padding=0.01)

    # ----- live controls
    def set_threshold(self, k: float) -> None:
        self.k = float(k)
        for panel in self.panels:
            panel.set_threshold(self.k)

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        for panel in self.panels:
            panel.overlay.setOpacity(self.opacity)

    def set_overlays_visible(self, on: bool) -> None:
        self.overlays_on = bool(on)
        self._apply_visibility()

    def set_outlines_visible(self, on: bool) -> None:
        self.outlines_on = bool(on)
        self._apply_visibility()

    def set_truth_visible(self, on: bool) -> None:
        self.truth_on = bool(on)
        self._apply_visibility()

    def hold_hide(self, hidden: bool) -> None:
        """While a key is held: hide overlay and outlines without changing the toggles."""
        self._held_hidden = bool(hidden)
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        for panel in self.panels:
            has_ov = panel.data is not None and panel.data.overlay is not None
            panel.overlay.setVisible(has_ov and self.overlays_on and not self._held_hidden)
            panel.overlay.setOpacity(self.opacity)
            lines = has_ov and self.outlines_on and not self._held_hidden
            panel.outline.setVisible(lines)
            panel.truth.setVisible(self.truth_on and not self._held_hidden)

    def set_active_index(self, index: int) -> None:
        if not self.panels:
            return
        self.active_index = index % len(self.panels)
        self._mark_active()
        data = self.panels[self.active_index].data
        if data is not None:
            self.activeViewChanged.emit(data.image_id)

    def show_active(self, index: int) -> None:
        """Frame view `index` as the active one, without announcing it (the caller chose it)."""
        self.active_index = index
        self._mark_active()

    def _mark_active(self) -> None:
        multi = len(self.panels) > 1
        for i, panel in enumerate(self.panels):
            active = multi and i == self.active_index
            color = ACTIVE_BORDER if active else "#d0d4da"
            text = panel.title.text
            panel.title.setText(text, color=color, bold=active)

    # ----- mouse
    def _on_mouse_moved(self, pos: QtCore.QPointF) -> None:
        found = None
        for panel in self.panels:
            hit = panel.region_at_scene(pos, self.k) if panel.overlay.isVisible() else None
            if hit and found is None:
                region, p = hit
                panel.hover.setText(f"−log10 NFA {region.strength:.1f}   area {region.area} px")
                panel.hover.setAnchor(hover_anchor(panel.vb.viewRect(), p.x(), p.y()))
                panel.hover.setPos(p.x(), p.y())
                panel.hover.show()
                found = region
            else:
                panel.hover.hide()
        self.regionHovered.emit(found)

    def _on_mouse_clicked(self, event) -> None:
        for i, panel in enumerate(self.panels):
            if panel.vb.sceneBoundingRect().contains(event.scenePos()):
                if i != self.active_index:
                    self.set_active_index(i)
                return


def hover_anchor(view: QtCore.QRectF, x: float, y: float) -> tuple[float, float]:
    """TextItem anchor that keeps the read-out inside the visible area: it opens towards the larger side
    (y grows downwards: the view is inverted)."""
    right_half = x > view.center().x()
    top_half = y < view.center().y()
    return (1.0 if right_half else 0.0, 0.0 if top_half else 1.0)


def polygons_path(polygons) -> QtGui.QPainterPath:
    """One path of closed polygons (N x 2 arrays of x, y), for a single cosmetic-pen path item."""
    if not len(polygons):
        return QtGui.QPainterPath()
    xy = np.concatenate(polygons, axis=0)
    connect = np.ones(len(xy), dtype=np.int32)
    connect[np.cumsum([len(p) for p in polygons]) - 1] = 0
    return pg.arrayToQPath(xy[:, 0], xy[:, 1], connect=connect, finiteCheck=False)


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
