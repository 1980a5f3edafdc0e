from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from fixture_results import add_images, score_images, write_corrupt_png  # noqa: E402

from core.demo import MULTIVIEW_REGEX, write_demo_images  # noqa: E402


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory):
    """Small generated images: 3 leather, 3 tile, one 3-view assembly item, one corrupt file."""
    folder = tmp_path_factory.mktemp("demo_files")
    images = write_demo_images(folder, seed=1, per_product=4, multiview_items=1, size=128)
    corrupt = write_corrupt_png(folder / "broken" / "broken_000.png")
    return images, corrupt


def _build_project(folder: Path, demo_files, scored: bool):
    from core.store.project import Project

    images, corrupt = demo_files
    project = Project.create(folder)
    for product in ("leather", "tile", "assembly"):
        add_images(project, product, [(d.item, d.view, d.path) for d in images if d.product == product])
    add_images(project, "broken", [("broken_000", "", corrupt)])
    if scored:
        rev = score_images(project)
        project.set_setting("active_model_revision", rev)
    return project


@pytest.fixture
def project(tmp_path, demo_files):
    p = _build_project(tmp_path / "proj", demo_files, scored=True)
    yield p
    p.close()


@pytest.fixture
def unscored_project(tmp_path, demo_files):
    p = _build_project(tmp_path / "proj_unscored", demo_files, scored=False)
    yield p
    p.close()


@pytest.fixture
def settings(tmp_path):
    from PySide6 import QtCore

    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from app.main_window import MainWindow

    w = MainWindow(annotator="alice", settings=settings)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.close()
    w.runner.wait()
    w.thumb_pool.waitForDone(10000)
