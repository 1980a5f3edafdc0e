"""A real project with a few real MTD images and a tiny U-Flow model trained by a real worker process.

The jobs of these tests take compute slots (core.jobs.slots) from a folder of their own (tests/conftest.py), so
that they neither wait for nor hold up other jobs running on the machine.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from core.jobs import queue
from core.jobs.payloads import train_payload
from core.jobs.runner import run_in_worker
from core.labels.revisions import add_annotation
from core.store.project import Project
from core.store.schema import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `worker_helpers`

TINY = {"input_size": 64, "train_steps": 8, "batch_size": 4, "tiling": False}  # images resized whole
N_TRAIN, N_TEST = 4, 12


def _copy_images(mtd_root: Path, dest: Path) -> tuple[list[Path], list[Path]]:
    train = sorted((mtd_root / "train" / "good").glob("*.jpg"))[:N_TRAIN]
    test = sorted((mtd_root / "test" / "good").glob("*.jpg"))[: N_TEST // 2]
    test += sorted((mtd_root / "test" / "blowhole").glob("*.jpg"))[: N_TEST - len(test)]
    out_train, out_test = dest / "train", dest / "test"
    out_train.mkdir(parents=True)
    out_test.mkdir(parents=True)
    return ([Path(shutil.copy(p, out_train / p.name)) for p in train],
            [Path(shutil.copy(p, out_test / f"{p.parent.name}_{p.name}")) for p in test])


@pytest.fixture(scope="session")
def tiny_config() -> dict:
    return dict(TINY)


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory, mtd_root) -> Path:
    from core.io.importer import import_paths

    base = tmp_path_factory.mktemp("jobs_template")
    train_files, test_files = _copy_images(mtd_root, base / "images")
    project = Project.create(base / "project")
    import_paths(project, [str(p) for p in train_files], "train")
    import_paths(project, [str(p) for p in test_files], "test")
    with project.session() as s:
        train_ids = [i.id for i in s.query(Image).filter(Image.original_path.contains("/train/"))]
        for image_id in train_ids:
            add_annotation(s, image_id, "alice", verdict="good")
    payload = train_payload(project, batch="train")
    payload["config"] = dict(TINY)
    job_id = queue.submit(project, "train", payload)
    view = run_in_worker(project, job_id, threads=1)
    assert view.status == "done", view.message
    project.close()
    return base


@pytest.fixture
def trained_project(trained_template, tmp_path) -> Project:
    """A private copy of the template (images and project), so tests may damage it."""
    dest = tmp_path / "copy"
    shutil.copytree(trained_template, dest)
    project = Project.open(dest / "project")
    # Image paths point into the template; re-point them at this copy's images.
    with project.session() as s:
        for image in s.query(Image):
            image.original_path = image.original_path.replace(str(trained_template), str(dest))
    yield project
    project.close()
