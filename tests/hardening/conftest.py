from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `hostile_project`

from hostile_project import build_scored_project  # noqa: E402


@pytest.fixture(scope="session")
def scored_template(tmp_path_factory) -> Path:
    """A small real project (4 generated images, two confirmed good, scored by the training-free detector in a
    real worker process); copy it before changing it."""
    return build_scored_project(tmp_path_factory.mktemp("hardening_template")).parent


@pytest.fixture
def scored_project(scored_template, tmp_path) -> Path:
    """A private copy of the template: `tmp_path/work/project` with its images in `tmp_path/work/images`."""
    dest = tmp_path / "work"
    shutil.copytree(scored_template, dest)
    from hostile_project import repoint_images

    repoint_images(dest / "project", scored_template, dest)
    return dest / "project"
