"""Brush speed on a 4096 x 4096 mask (offscreen): per dab, the time for the mask edit, the stroke
bookkeeping, and the repaint of the dirty rectangle. The mask layer sits on the workbench's real canvas
(app.canvas.ImageCanvas, picture + overlay); after each dab the event loop runs until the view has painted,
as it does in the application. Each dab is checked to have been painted.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/labels_brush.py [--side 4096] [--dabs 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402

from app.canvas.canvas import ImageCanvas, ViewData  # noqa: E402
from app.labels import mask_layer  # noqa: E402
from app.labels.mask_layer import MaskEditor, Tool  # noqa: E402
from core.labels.classes import ClassInfo  # noqa: E402

PAINTS = {"n": 0}
_paint = mask_layer.MaskItem.paint


def _counting_paint(self, painter, option, widget=None):
    PAINTS["n"] += 1
    _paint(self, painter, option, widget)


mask_layer.MaskItem.paint = _counting_paint


def run(side: int, dabs: int, radius: float, zoom: float) -> dict:
    app = pg.mkQApp()
    win = ImageCanvas()
    win.resize(1280, 900)
    rng = np.random.default_rng(0)
    picture = rng.integers(60, 200, (side, side), dtype=np.uint8)
    win.set_views([ViewData(1, "bench", picture)], 1)
    vb = win.panels[0].vb
    editor = MaskEditor(vb, [ClassInfo(1, "scratch", "#e69f00", "1")])
    edit = editor.open_image(1, np.zeros((side, side), np.uint8))
    win.show()
    c = side / 2
    half = side / (2 * zoom)
    vb.setRange(xRange=(c - half, c + half), yRange=(c - half, c + half), padding=0)
    for _ in range(5):
        app.processEvents()
    editor.set_tool(Tool.BRUSH)
    editor.set_radius(radius)
    t = np.linspace(0, 4 * np.pi, dabs)
    xs = c + 0.8 * half * np.cos(t) * np.linspace(0.2, 1, dabs)
    ys = c + 0.8 * half * np.sin(t) * np.linspace(0.2, 1, dabs)
    per_dab, render = [], []
    editor.begin_stroke(xs[0], ys[0])
    app.processEvents()
    missed = 0
    for x, y in zip(xs[1:], ys[1:]):
        painted = PAINTS["n"]
        t0 = time.perf_counter()
        editor.continue_stroke(x, y)  # dabs + delta bookkeeping + dirty-rect invalidation
        t1 = time.perf_counter()
        app.processEvents()  # the view paints the invalidated rectangle
        t2 = time.perf_counter()
        missed += PAINTS["n"] == painted
        per_dab.append((t2 - t0) * 1000)
        render.append((t2 - t1) * 1000)
    t0 = time.perf_counter()
    editor.end_stroke()
    merge_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    editor.undo_group.undo()
    app.processEvents()
    undo_ms = (time.perf_counter() - t0) * 1000
    q = np.percentile(per_dab, [50, 95])
    return {
        "side": side, "radius": radius, "zoom": zoom, "dabs": len(per_dab),
        "median_ms": float(q[0]), "p95_ms": float(q[1]), "median_render_ms": statistics.median(render),
        "stroke_merge_ms": merge_ms, "unpainted_dabs": missed, "undo_ms": undo_ms, "stroke_bytes": edit.stack.nbytes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=4096)
    ap.add_argument("--dabs", type=int, default=400)
    args = ap.parse_args()
    print(f"brush on a {args.side}x{args.side} mask, 1280x900 canvas, offscreen")
    for radius, zoom in ((16, 1.0), (16, 8.0), (64, 1.0)):
        r = run(args.side, args.dabs, radius, zoom)
        view = "whole mask in view" if zoom == 1.0 else f"zoomed x{zoom:g}"
        print(f"  radius {radius:3.0f}, {view:18s}: dab median {r['median_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms "
              f"(render {r['median_render_ms']:.2f} ms); stroke end merge {r['stroke_merge_ms']:.1f} ms, "
              f"undo {r['undo_ms']:.1f} ms, stroke delta {r['stroke_bytes'] / 1e6:.2f} MB, "
              f"unpainted dabs {r['unpainted_dabs']}")


if __name__ == "__main__":
    main()
