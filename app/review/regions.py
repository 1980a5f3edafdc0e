"""The defect regions of the item on screen at the current threshold k: stepping through those of the active
view (strongest first, each zoomed to), and the summary in the header and status bar (how many regions at k,
on this view and the others; the region under the pointer while it is hovered)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class Regions(QtCore.QObject):
    """Uses the window's `canvas`, `views`, `model`, `session`, `k`, `region_label`, `regions_status` and
    `show_status()`."""

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._key: tuple[int, float] | None = None  # the view and k that `_index` counts regions of
        self._index = 0
        window.canvas.regionHovered.connect(self._on_hovered)

    def step(self, delta: int) -> None:
        """Zoom to the next (or previous) region of the active view visible at k, strongest first."""
        w = self.window
        k = w.k
        panels = w.canvas.panels
        data = panels[w.canvas.active_index].data if panels else None
        regions = sorted(data.overlay.visible_regions(k), key=lambda r: r.log10_nfa) \
            if data is not None and data.overlay is not None else []
        if not regions:
            w.show_status(f"No region at k = {k:g} on this view")
            return
        key = (data.image_id, k)
        index = self._index + delta if self._key == key else (0 if delta > 0 else -1)
        self._key, self._index = key, index % len(regions)
        region = regions[self._index]
        w.canvas.zoom_to(region.bbox)
        w.show_status(f"Region {self._index + 1} of {len(regions)}: −log10 NFA "
                      f"{region.strength:.1f}, area {region.area} px (F fits the image again)")

    def _on_hovered(self, region) -> None:
        if region is None:
            self.update_summary()
        else:
            self.window.region_label.setText(f"Region: −log10 NFA = {region.strength:.2f}, area {region.area} px")

    def update_summary(self) -> None:
        """Header and status line: score and how many regions the image on screen has at the current k."""
        w = self.window
        k = w.k
        image_id = w.session.current
        row = w.model.row_by_image(image_id) if image_id is not None else None
        if row is None or row.score is None:
            w.region_label.setText("not scored" if row else "")
            w.regions_status.setText("")
            return
        data = w.views.get(row.image_id)
        shown = w.views.shown_item
        if data is None or shown is None or row.image_id not in shown:
            w.region_label.setText(f"score {row.score:.3f}  ·  loading regions")
            return
        n = len(data.overlay.visible_regions(k)) if data.overlay else 0
        total = len(data.overlay.regions) if data.overlay else 0
        text = f"{n} region{'s' if n != 1 else ''} at k = {k:g}"
        others = sum(len(v.overlay.visible_regions(k)) for v in map(w.views.get, shown)
                     if v is not None and v.image_id != row.image_id and v.overlay)
        w.region_label.setText(f"score {row.score:.3f}  ·  {text}" + (f" (+{others} on other views)" if others else ""))
        w.regions_status.setText(f"{row.title}: {text}, {total} in all")
