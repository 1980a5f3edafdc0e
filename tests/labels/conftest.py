"""Fixture `lab`: a real project with small constructed images (two 3-view fruits, two 1-view tiles)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `labels_helpers`

from labels_helpers import VIEWS_REGEX, Lab, write_images  # noqa: E402

from core.io.importer import import_paths  # noqa: E402
from core.store.project import Project  # noqa: E402


@pytest.fixture
def lab(tmp_path) -> Lab:
    project = Project.create(tmp_path / "proj")
    names = [f"fruit{i}_cam{v}" for i in (1, 2) for v in (1, 2, 3)] + ["tile1_cam1", "tile2_cam1"]
    paths = write_images(tmp_path / "src", names)
    import_paths(project, paths, "lot1", views_regex=VIEWS_REGEX, workers=1)
    yield Lab(project)
    project.close()

