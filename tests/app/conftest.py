from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from fixture_results import add_images, score_images, write_corrupt_png  # noqa: E402

from core.demo import write_demo_images  # noqa: E402


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


def _template(tmp_path_factory, demo_files, scored: bool) -> Path:
    folder = tmp_path_factory.mktemp("app_template") / "proj"
    _build_project(folder, demo_files, scored).close()
    return folder


def _private_copy(template: Path, dest: Path):
    """A copy of a template project (its database and blobs; the images stay in demo_files, which no test
    changes), so each test may change its own."""
    from core.store.project import Project

    shutil.copytree(template, dest)
    return Project.open(dest)


@pytest.fixture(scope="session")
def scored_template(tmp_path_factory, demo_files) -> Path:
    """The images of demo_files in one batch per product, scored by fixture_results.score_images (active)."""
    return _template(tmp_path_factory, demo_files, scored=True)


@pytest.fixture(scope="session")
def unscored_template(tmp_path_factory, demo_files) -> Path:
    return _template(tmp_path_factory, demo_files, scored=False)


@pytest.fixture
def project(tmp_path, scored_template):
    p = _private_copy(scored_template, tmp_path / "proj")
    yield p
    p.close()


@pytest.fixture
def unscored_project(tmp_path, unscored_template):
    p = _private_copy(unscored_template, tmp_path / "proj_unscored")
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
