"""Save a screenshot of the main window in label mode to resources/screenshots/label_mode.png (offscreen).

A throw-away project with a few Magnetic Tile images, scored by the test fixture detector
(tests/app/fixture_results.py), labelled by two other annotators (masks derived from the ground truth) so the
Findings dock has content; the current annotator is correcting a break from the ground truth.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/label_mode_screenshot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "app"))
MTD = ROOT.parent / "shared" / "data" / "mtd" / "magnetic_tile"
OUT = ROOT / "resources" / "screenshots" / "label_mode.png"
IMAGES = [("break", "exp1_num_284482"), ("break", "exp3_num_77583"), ("blowhole", None), ("crack", None),
          ("good", None), ("break", "exp2_num_284506")]


def pick(defect: str, stem: str | None) -> Path:
    folder = MTD / "test" / defect
    return folder / f"{stem}.jpg" if stem else sorted(folder.glob("*.jpg"))[0]


def ground_truth(path: Path) -> np.ndarray:
    from core.io.images import read_image

    gt = path.parent.parent.parent / "ground_truth" / path.parent.name / f"{path.stem}_mask.png"
    return read_image(gt).pixels > 127 if gt.exists() else np.zeros(read_image(path).pixels.shape[:2], bool)


def build(folder: Path):
    from fixture_results import score_images
    from scipy import ndimage

    from core.io.importer import import_paths
    from core.labels.classes import add_class
    from core.labels.editing import save_mask
    from core.store.project import Project

    paths = [pick(d, s) for d, s in IMAGES]
    project = Project.create(folder / "tiles")
    import_paths(project, paths, "tiles-2024-05", workers=1)
    with project.session() as s:
        ids = {c.name: c.id for c in (add_class(s, "break", hotkey="1"), add_class(s, "crack", hotkey="2"),
                                      add_class(s, "blowhole", hotkey="3"))}
    project.set_setting("active_model_revision", score_images(project))
    for image_id, path in enumerate(paths, start=1):
        gt = ground_truth(path)
        cls = ids.get(path.parent.name, ids["break"])
        save_mask(project, image_id, "ben", np.where(ndimage.binary_dilation(gt, iterations=4), cls, 0))
        carl = gt.copy()
        carl[:, : gt.shape[1] // 2] = False  # carl marks only the right half of each defect
        save_mask(project, image_id, "carl", np.where(carl, ids["crack"], 0))
    return project, paths, ids


def main() -> None:
    from PySide6 import QtCore

    from app.main import ensure_app
    from app.main_window import MainWindow
    from core.labels.mask_ops import diff_delta

    app = ensure_app()
    with tempfile.TemporaryDirectory() as tmp:
        project, paths, ids = build(Path(tmp))
        w = MainWindow(annotator="anna", settings=QtCore.QSettings(str(Path(tmp) / "s.ini"),
                                                                  QtCore.QSettings.Format.IniFormat))
        w.resize(1440, 900)
        w.show()
        w.set_project(project)
        w.wait_idle()
        w.show_position(0)
        w.wait_idle()
        w.labels.set_active(True)
        w.labels.wait_idle()
        editor = w.labels.editor
        w.labels.set_class(ids["break"])
        w.labels.set_radius(6)
        w.labels.set_tool("brush")
        current = editor.current.mask
        target = np.where(ground_truth(paths[0]), ids["break"], 0).astype(np.uint8)
        rows = np.flatnonzero(target.any(axis=1))
        target[rows[0] + int(0.6 * (rows[-1] - rows[0])):] = 0  # part-way through the correction
        delta = diff_delta(current, target)
        delta.redo(current)
        editor.commit(delta, "brush stroke")
        w.labels.run_findings()
        w.labels.wait_idle()
        w.resizeDocks([w.labels.findings_dock], [200], QtCore.Qt.Orientation.Vertical)
        for _ in range(5):
            app.processEvents()
        w.canvas.fit()
        app.processEvents()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        w.grab().save(str(OUT))
        w.labels.set_active(False, wait=True)
        w.close()
    print(OUT.relative_to(ROOT))


if __name__ == "__main__":
    main()
