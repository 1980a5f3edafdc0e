"""The workbench with files and projects that changed behind its back: an image file replaced after its import
is not shown (the canvas says so, naming it), and a damaged project opened from the File menu gives its one-line
message and is not written to."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from fixture_results import add_images
from PIL import Image as PILImage
from PySide6 import QtWidgets
from workbench_helpers import open_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hardening"))
from hostile_project import damage_page, file_digest  # noqa: E402


def test_a_file_changed_since_import_is_not_shown(window, project, demo_files, tmp_path, qtbot):
    images, _ = demo_files
    path = tmp_path / "swapped_000.png"
    path.write_bytes(images[0].path.read_bytes())
    (image_id,) = add_images(project, "swapped", [("swapped_000", "", path)])
    size = PILImage.open(path).size
    PILImage.fromarray(np.full((size[1], size[0]), 255, np.uint8)).save(path)  # a valid picture, not the one imported
    open_in(window, project, qtbot)
    window.show_image(image_id)
    window.wait_idle()
    panel = window.canvas.panels[0]
    assert panel.data.image_id == image_id
    assert panel.data.pixels is None, "the changed pixels are on the canvas"
    assert "swapped_000.png" in panel.data.error and "changed since its import" in panel.data.error
    assert panel.message.isVisible() and "changed since its import" in panel.message.toPlainText()


def test_a_damaged_project_from_the_file_menu_gives_one_line_and_stays_as_it_was(window, project, qtbot,
                                                                                 monkeypatch):
    root = project.root
    project.close()
    db = root / "project.sqlite"
    damage_page(db, table="images")
    before = file_digest(db)
    shown = []
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(root))
    monkeypatch.setattr(QtWidgets.QMessageBox, "critical", lambda parent, title, text, *a: shown.append((title, text)))
    window.registry.action("open_project").trigger()
    window.wait_idle()
    assert len(shown) == 1
    title, text = shown[0]
    assert "\n" not in text and "damaged" in text and "backup" in text and str(db) in text
    assert window.project is None
    assert file_digest(db) == before
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
