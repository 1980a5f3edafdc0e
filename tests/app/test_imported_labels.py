"""Labels that exist are visible: an MVTec import's ground truth shows in the gallery, the filters and the
header, and its masks are outlined on the canvas next to the model's regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from workbench_helpers import open_in

from core.io.mvtec import import_mvtec
from core.store.project import Project


def _mvtec_folder(root: Path, n_train: int = 3) -> Path:
    rng = np.random.default_rng(4)
    for split, cls, n in (("train", "good", n_train), ("test", "good", 2), ("test", "scratch", 2)):
        (root / split / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(rng.integers(90, 160, (64, 64), dtype=np.uint8)).save(root / split / cls / f"{i:03d}.png")
            if cls != "good":
                mask = np.zeros((64, 64), np.uint8)
                mask[20:30, 10 + i:40] = 255
                (root / "ground_truth" / cls).mkdir(parents=True, exist_ok=True)
                Image.fromarray(mask).save(root / "ground_truth" / cls / f"{i:03d}_mask.png")
    return root


def test_imported_ground_truth_is_shown_filtered_and_outlined(window, qtbot, tmp_path):
    project = Project.create(tmp_path / "p")
    import_mvtec(project, _mvtec_folder(tmp_path / "mv"), "mv")
    try:
        open_in(window, project, qtbot)  # annotator alice has judged nothing
        assert window.verdict_label.text() == "good (ground-truth)"  # was "unreviewed"
        assert [window.label_box.itemData(i) for i in range(window.label_box.count())] == ["any", "mine", "ground-truth"]
        window.set_filter("defect")  # was "No image matches this filter"
        window.wait_idle()
        assert window.model.rowCount() == 2
        assert window.verdict_label.text() == "defect (ground-truth)"
        truth = window.canvas.panels[0].truth
        assert truth.isVisible() and truth.path().elementCount() > 20
        rect = truth.path().boundingRect()  # the mask [20:30, 10:40] in image pixels
        assert abs(rect.top() - 20) < 1 and abs(rect.bottom() - 30) < 1 and abs(rect.left() - 10) < 1.5
        window.set_filter("good")
        assert window.model.rowCount() == 5
        window.label_box.setCurrentIndex(window.label_box.findData("mine"))
        assert window.model.rowCount() == 0  # alice's own labels: none yet
        window.set_filter("unreviewed")
        assert window.model.rowCount() == 7
    finally:
        project.close()


def test_label_mode_starts_from_the_ground_truth_mask(window, qtbot, tmp_path):
    """Label mode said "no mask yet" on an imported defect whose ground-truth mask exists."""
    from PySide6 import QtCore

    project = Project.create(tmp_path / "p")
    import_mvtec(project, _mvtec_folder(tmp_path / "mv"), "mv")
    try:
        open_in(window, project, qtbot)
        window.set_filter("defect")
        window.wait_idle()
        with qtbot.waitSignal(window.labels.maskOpened, timeout=10000):
            qtbot.keyClick(window, QtCore.Qt.Key.Key_L, QtCore.Qt.KeyboardModifier.ControlModifier)
        mask = window.labels.editor.current.mask
        assert mask[20:30, 10:40].all() and mask.sum() > 0 and not mask[:20].any()
        assert "ground-truth's mask" in window.labels.toolbar.state_label.text()
    finally:
        project.close()
