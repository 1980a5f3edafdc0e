"""Render the adjudication view (with the findings queue) on a Magnetic Tile image to a PNG.

Builds a throw-away project with one MTD image and three annotators whose masks are derived from the
ground truth (one exact, one drawn generously, one partial with a different class and a stray mark).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python -m app.labels.screenshot resources/screenshots/adjudication.png
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

MTD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mtd" / "magnetic_tile"
STEM = "exp2_num_98102"


def build_project(folder: Path, mtd: Path):
    from core.io.images import read_image
    from core.io.importer import import_paths
    from core.labels.classes import add_class
    from core.labels.editing import save_mask
    from core.store.project import Project

    image_path = mtd / "test" / "break" / f"{STEM}.jpg"
    gt = read_image(mtd / "ground_truth" / "break" / f"{STEM}_mask.png").pixels > 127
    project = Project.create(folder / "demo")
    import_paths(project, [image_path], "tiles-2024-05", workers=1)
    with project.session() as s:
        brk = add_class(s, "break", hotkey="1").id
        crack = add_class(s, "crack", hotkey="2").id
        add_class(s, "blowhole", hotkey="3")
    image_id = 1
    anna = np.where(gt, brk, 0).astype(np.uint8)
    ben = np.where(ndimage.binary_dilation(gt, iterations=5), brk, 0).astype(np.uint8)
    cols = np.flatnonzero(gt.any(axis=0))
    part = gt.copy()
    part[:, cols[0] + int(0.55 * (cols[-1] - cols[0])):] = False
    carl = np.where(part, crack, 0).astype(np.uint8)
    h, w = gt.shape
    yy, xx = np.ogrid[:h, :w]
    carl[(yy - int(0.25 * h)) ** 2 + (xx - int(0.8 * w)) ** 2 <= 9 ** 2] = crack
    for who, mask in (("anna", anna), ("ben", ben), ("carl", carl)):
        save_mask(project, image_id, who, mask)
    return project, image_id, read_image(image_path).pixels


def render(out: Path, mtd: Path = MTD, size: tuple[int, int] = (1440, 1000)) -> Path:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from app.labels.adjudication import AdjudicationView
    from app.labels.findings_queue import FindingsQueue
    from app.theme import apply_theme
    from core.labels.classes import list_classes
    from core.labels.findings import compare_annotations, find_findings

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    apply_theme(app)
    with tempfile.TemporaryDirectory() as tmp:
        project, image_id, pixels = build_project(Path(tmp), mtd)
        with project.session(readonly=True) as s:
            classes = list_classes(s)
        window = QtWidgets.QWidget()
        window.setWindowTitle("Contrario – adjudication")
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        view = AdjudicationView()
        view.set_comparison(pixels, compare_annotations(project, image_id), classes,
                            title=f"tiles-2024-05 · {STEM}", project=project, user="lead")
        queue = FindingsQueue()
        queue.set_report(find_findings(project))
        split.addWidget(view)
        split.addWidget(queue)
        split.setSizes([size[1] - 170, 170])
        layout = QtWidgets.QVBoxLayout(window)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        window.resize(*size)
        window.show()
        for _ in range(10):
            app.processEvents()
        view.fit()
        for _ in range(5):
            app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        window.close()
        project.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--mtd", type=Path, default=MTD, help="Magnetic Tile dataset root (MVTec layout)")
    args = ap.parse_args()
    print(render(args.out, args.mtd))


if __name__ == "__main__":
    main()
