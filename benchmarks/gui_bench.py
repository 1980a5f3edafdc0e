"""Workbench timings, offscreen: next image, threshold/opacity change at 4096 x 4096, opening 20k images, a
100-megapixel picture (first paint, pan, zoom; GUI_BENCH_PARTS=large runs only that).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_bench.py [--work DIR]
     .venv/bin/python benchmarks/gui_bench.py --real-window   (next image with overlay, in a real X11
     window under Xvfb at 1366 x 768: the paint goes through the xcb plugin to an X server)
Results are produced by tests/app/fixture_results.py (stand-in for scoring jobs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if "--real-window" not in sys.argv:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "app"))

import numpy as np  # noqa: E402


def ms(values: list[float]) -> str:
    v = sorted(values)
    return f"median {statistics.median(v) * 1e3:.1f} ms, p90 {v[int(0.9 * (len(v) - 1))] * 1e3:.1f} ms (n={len(v)})"


def bench_next_image(work: Path, app) -> None:
    from fixture_results import add_images, score_images

    from app.main_window import MainWindow
    from core.demo import write_demo_images
    from core.store.project import Project

    images = write_demo_images(work / "imgs", seed=3, per_product=12, multiview_items=0, size=1024)
    project = Project.create(work / "next")
    add_images(project, "b", [(d.item, d.view, d.path) for d in images])
    project.set_setting("active_model_revision", score_images(project))
    w = MainWindow(annotator="bench")  # sized to fit the screen
    w.show()
    w.set_project(project)
    w.wait_idle()
    where = f"{app.platformName()} window {w.width()}x{w.height()}"
    warm, cold = [], []
    shown: list[int] = []
    w.viewShown.connect(shown.append)
    for i in range(len(images) - 2):
        w.wait_idle()  # neighbours prefetched, as while reviewing at a human pace
        shown.clear()
        t = time.perf_counter()
        w.step(1)
        while not shown:
            app.processEvents()
        w.canvas.viewport().repaint()
        warm.append(time.perf_counter() - t)
    w.show_position(0)
    w.wait_idle()
    for i in range(6):
        w._views.clear()
        w.wait_idle()
        t = time.perf_counter()
        w.step(1)
        w._views.clear()  # defeat prefetch: decode + result + outlines on the switch itself
        w.wait_idle()
        w.canvas.viewport().repaint()
        cold.append(time.perf_counter() - t)
    n_pts = w.canvas.panels[0].outline.path().elementCount()
    print(f"next image (1024x1024, overlay + outlines, neighbours prefetched, {where}): {ms(warm)}")
    print(f"next image, nothing cached (decode + result + contours on the switch): {ms(cold)}  [{n_pts} outline points last]")
    w.close()


def bench_live_controls(app, side: int = 4096) -> None:
    from skimage import measure

    from app.canvas.canvas import ImageCanvas, ViewData
    from app.canvas.results import RegionInfo, build_overlay

    rng = np.random.default_rng(0)
    img = rng.integers(60, 200, size=(side, side, 3), dtype=np.uint8)
    heat = np.zeros((side, side), np.float32)
    yy, xx = np.ogrid[:side, :side]
    for _ in range(60):
        cy, cx, r = rng.integers(100, side - 100), rng.integers(100, side - 100), rng.integers(10, 80)
        heat += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * r * r))
    labels = measure.label(heat > 0.3).astype(np.int32)
    regions = [RegionInfo(r.label, -float(rng.uniform(0, 12)), int(r.area), (0, 0, 1, 1))
               for r in measure.regionprops(labels)]
    t = time.perf_counter()
    overlay = build_overlay(1.0, heat, None, (side, side), labels, regions)
    prep = time.perf_counter() - t
    canvas = ImageCanvas()
    canvas.resize(1200, 900)
    canvas.show()
    canvas.set_views([ViewData(1, "bench", img, overlay=overlay)])
    app.processEvents()
    canvas.viewport().repaint()
    th, op = [], []
    for i in range(30):
        t = time.perf_counter()
        canvas.set_threshold((i % 20) / 2.0)
        canvas.viewport().repaint()
        th.append(time.perf_counter() - t)
        t = time.perf_counter()
        canvas.set_opacity(0.2 + (i % 7) / 10)
        canvas.viewport().repaint()
        op.append(time.perf_counter() - t)
    print(f"{side}x{side} image + {side}x{side} uint8 map, {len(regions)} regions (prep off-thread {prep * 1e3:.0f} ms):")
    print(f"  threshold change + repaint: {ms(th)}")
    print(f"  opacity change + repaint:   {ms(op)}")
    canvas.close()


def bench_open_large(work: Path, app, n: int = 20000) -> None:
    from sqlalchemy import insert

    from app.main_window import MainWindow
    from core.demo import write_demo_images
    from core.store.blobs import sha256_file
    from core.store.project import Project
    from core.store.schema import Batch, Image, Item

    files = write_demo_images(work / "big_imgs", seed=5, per_product=4, multiview_items=0, size=256)
    shas = [sha256_file(d.path) for d in files]
    project = Project.create(work / "big")
    with project.session() as s:
        s.add(Batch(id=1, name="big"))
        s.execute(insert(Item), [{"id": i + 1, "batch_id": 1, "name": f"item_{i:06d}"} for i in range(n)])
        s.execute(insert(Image), [
            {"item_id": i + 1, "view": "", "original_path": str(files[i % len(files)].path),
             "sha256": shas[i % len(files)], "width": 256, "height": 256, "status": "ok"} for i in range(n)])
    project.close()
    w = MainWindow(annotator="bench")
    w.resize(1440, 900)
    w.show()
    app.processEvents()
    t = time.perf_counter()
    w.open_project(work / "big")
    w.repaint()
    first = time.perf_counter() - t
    w.wait_idle()
    full = time.perf_counter() - t
    print(f"open a {n}-image project: first paint {first * 1e3:.0f} ms; all visible thumbnails + canvas {full * 1e3:.0f} ms")
    t = time.perf_counter()
    w.gallery.verticalScrollBar().setValue(w.gallery.verticalScrollBar().maximum() // 2)
    w.gallery.viewport().repaint()
    print(f"  jump to the middle of the gallery: paint {1e3 * (time.perf_counter() - t):.0f} ms")
    t = time.perf_counter()
    w.set_filter("unreviewed")
    w.set_sort("score_desc")
    w.repaint()
    print(f"  refilter + resort 20k rows: {1e3 * (time.perf_counter() - t):.0f} ms")
    w.close()


def bench_large_picture(work: Path, app, side: int = 10000) -> None:
    """A side x side RGB picture (100 MP at 10,000): first paint of its view, cold (nothing cached: the whole
    file is decoded for the preview) and warm (the gallery has made the preview), then pan and zoom frames."""
    from PIL import Image as PILImage
    from sqlalchemy import insert

    from app.main_window import MainWindow
    from core.store.blobs import sha256_file
    from core.store.project import Project
    from core.store.schema import Batch, Image, Item

    rng = np.random.default_rng(0)
    coarse = rng.integers(40, 220, (side // 32, side // 32, 3), dtype=np.uint8)
    px = np.asarray(PILImage.fromarray(coarse).resize((side, side), PILImage.Resampling.BILINEAR))
    path = work / "large.jpg"
    PILImage.fromarray(px).save(path, quality=92)
    del px
    project = Project.create(work / "large")
    with project.session() as s:
        s.add(Batch(id=1, name="hides"))
        s.execute(insert(Item), [{"id": 1, "batch_id": 1, "name": "hide"}])
        s.execute(insert(Image), [{"item_id": 1, "view": "", "original_path": str(path), "sha256": sha256_file(path),
                                   "width": side, "height": side, "status": "ok"}])
    project.close()
    for label in ("cold (no preview yet)", "warm (preview cached)"):
        w = MainWindow(annotator="bench")
        w.resize(1366, 768)
        w.show()
        app.processEvents()
        shown: list[int] = []
        w.viewShown.connect(shown.append)
        t = time.perf_counter()
        w.open_project(work / "large")
        while not shown:
            app.processEvents()
        w.canvas.viewport().repaint()
        first = time.perf_counter() - t
        panel = w.canvas.panels[0]
        t = time.perf_counter()
        while panel.detail.pyramid is None:
            app.processEvents()
        levels = time.perf_counter() - t
        print(f"{side}x{side} RGB JPEG, {label}: first paint {first * 1e3:.0f} ms; full-resolution levels "
              f"{levels:.1f} s later")
        if label.startswith("warm"):
            zoom, pan = [], []
            for i in range(12):
                cx, cy = 1000 + 700 * i, 9000 - 650 * i
                half = (200, 800, 3000)[i % 3]
                t = time.perf_counter()
                w.canvas.zoom_to((cx - half, cy - half, cx + half, cy + half), margin=0)
                w.canvas.viewport().repaint()
                zoom.append(time.perf_counter() - t)
                for _ in range(8):
                    t = time.perf_counter()
                    panel.vb.translateBy(x=half / 10, y=half / 14)
                    w.canvas.viewport().repaint()
                    pan.append(time.perf_counter() - t)
            print(f"  zoom to a new place and scale + repaint: {ms(zoom)}")
            print(f"  pan by a tenth of the view + repaint:     {ms(pan)}")
        w.close()
        app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", help="scratch folder (default: a temporary one)")
    parser.add_argument("--real-window", action="store_true",
                        help="next image only, in a real X11 window on a fresh Xvfb screen (not offscreen)")
    args = parser.parse_args()
    if args.real_window and not os.environ.get("GUI_BENCH_CHILD"):
        import subprocess

        from xvfb_session import xvfb

        with xvfb(1366, 768) as display:
            env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", GUI_BENCH_PARTS="next", GUI_BENCH_CHILD="1")
            sys.exit(subprocess.run([sys.executable, *sys.argv], env=env).returncode)
    from app.main import ensure_app

    app = ensure_app()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        parts = os.environ.get("GUI_BENCH_PARTS", "live,next,open,large").split(",")
        if "live" in parts:
            bench_live_controls(app)
        if "next" in parts:
            bench_next_image(work, app)
        if "open" in parts:
            bench_open_large(work, app)
        if "large" in parts:
            bench_large_picture(work, app)


if __name__ == "__main__":
    main()
