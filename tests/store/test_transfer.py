"""`contrario migrate-db`: a real project copied SQLite -> PostgreSQL -> SQLite, every row and blob intact."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from core.errors import ProjectError
from core.store.blobs import stored_blobs
from core.store.project import Project
from core.store.schema import Base, Batch, Job
from core.store.transfer import copy_project

REPO = Path(__file__).resolve().parents[2]


def _contrario(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-P", "-m", "core", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)


def _populate(project: Project, images: Path) -> None:
    """Images (copied into the blob store), labels with masks, a model, scored results with regions, a job."""
    from core.io.importer import import_paths
    from core.jobs import queue
    from core.jobs.infer_job import run_infer
    from core.labels.revisions import add_annotation
    from core.models.revisions import create_training_free_revision
    from core.progress import CancelToken, no_progress
    from core.store.schema import Image, InferenceResult, Region

    rng = np.random.default_rng(5)
    images.mkdir()
    for k in range(5):
        tile = rng.integers(90, 110, (48, 48), dtype=np.uint8)
        tile[10 + k:18 + k, 20:28] = 250  # a bright defect
        PILImage.fromarray(tile).save(images / f"tile_{k}.png")
    import_paths(project, [str(images)], "lot 1", copy=True)
    with project.session() as s:
        ids = list(s.scalars(select(Image.id).order_by(Image.id)))
        add_annotation(s, ids[0], "alice", verdict="good")
        add_annotation(s, ids[1], "alice", verdict="defect", defect_class="spot",
                       mask_blob=project.blobs.put_array(np.eye(48, dtype=np.uint8)))
        add_annotation(s, ids[1], "bob", verdict="unsure")
        add_annotation(s, ids[1], "alice", verdict="defect", defect_class="spot")  # a second revision
    rev = create_training_free_revision(project, "gabor", activate=True)
    run_infer(project, {"model_revision_id": rev, "batch_id": None, "image_ids": None}, no_progress, CancelToken())
    with project.session() as s:  # the detector found nothing on these tiles: regions as a reviewer would see them
        for result in s.scalars(select(InferenceResult).order_by(InferenceResult.id).limit(2)):
            result.regions.append(Region(label=1, log10_nfa=-4.5, area=64, x0=20, y0=10, x1=28, y1=18, scale=1))
    queue.submit(project, "infer", {"model_revision_id": rev, "batch_id": None, "image_ids": ids[:2]})
    project.set_setting("thresholds", {"k": 2.5, "note": None})


def _contents(project: Project) -> dict[str, list[tuple]]:
    """Every row of every table, datetimes in UTC without tzinfo (SQLite gives them back naive)."""
    def norm(v):
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v

    out = {}
    with project.session(readonly=True) as s:
        for table in Base.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            out[table.name] = [tuple(norm(v) for v in row) for row in s.execute(select(table).order_by(*pk))]
    return out


def test_sqlite_to_postgresql_and_back_keeps_every_row_and_blob(postgres_url, tmp_path):
    with Project.create(tmp_path / "laptop") as src:
        _populate(src, tmp_path / "images")
        before = _contents(src)
        blobs_before = {sha for sha, _ in stored_blobs(src.blobs.root)}
    assert before["inference_results"] and before["regions"] and len(blobs_before) > 5

    out = _contrario("migrate-db", str(tmp_path / "laptop"), str(tmp_path / "team"), "--database", postgres_url,
                     "--blobs", str(tmp_path / "share"), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["rows"] == {name: len(rows) for name, rows in before.items()}
    assert report["blobs"] == len(blobs_before)

    with Project.open(tmp_path / "team") as team:
        assert team.dialect == "postgresql" and team.blobs.root == (tmp_path / "share").resolve()
        assert _contents(team) == before
        assert all(team.blobs.verify(sha) for sha in blobs_before)
        assert team.get_setting("thresholds") == {"k": 2.5, "note": None}
        with team.session() as s:  # ids go on after the copied ones
            batch = Batch(name="lot 2")
            s.add(batch)
            s.flush()
            assert batch.id == max(r[0] for r in before["batches"]) + 1
            assert s.scalar(select(func.count(Job.id)).where(Job.status == "queued")) == 1
        after_team = _contents(team)

    back = copy_project(tmp_path / "team", tmp_path / "laptop2")
    assert back.rows == {name: len(rows) for name, rows in after_team.items()}
    with Project.open(tmp_path / "laptop2") as again:
        assert again.dialect == "sqlite" and _contents(again) == after_team
        assert {sha for sha, _ in stored_blobs(again.blobs.root)} == blobs_before


def test_copy_into_a_freshly_initialised_server_project(postgres_url, tmp_path):
    with Project.create(tmp_path / "laptop", name="Line 4") as src:
        with src.session() as s:
            s.add_all([Batch(name=f"lot {k}") for k in range(3)])
    out = _contrario("init", str(tmp_path / "team"), "--database", postgres_url)
    assert out.returncode == 0, out.stderr
    copy_project(tmp_path / "laptop", tmp_path / "team")
    with Project.open(tmp_path / "team") as team:
        assert team.name == "Line 4"  # the source's settings replace those of the new project
        with team.session(readonly=True) as s:
            assert list(s.scalars(select(Batch.name).order_by(Batch.id))) == ["lot 0", "lot 1", "lot 2"]


def test_a_destination_holding_data_is_refused_and_left_alone(postgres_url, tmp_path):
    with Project.create(tmp_path / "laptop") as src:
        with src.session() as s:
            s.add(Batch(name="mine"))
    with Project.create(tmp_path / "team", database=postgres_url) as team:
        with team.session() as s:
            s.add(Batch(name="theirs"))
    with pytest.raises(ProjectError, match="already holds data"):
        copy_project(tmp_path / "laptop", tmp_path / "team")
    out = _contrario("migrate-db", str(tmp_path / "laptop"), str(tmp_path / "team"))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "already holds data" in out.stderr
    with Project.open(tmp_path / "team") as team, team.session(readonly=True) as s:
        assert list(s.scalars(select(Batch.name))) == ["theirs"]
    with pytest.raises(ProjectError, match="same database"):
        copy_project(tmp_path / "laptop", tmp_path / "laptop")


def test_info_check_and_backup_of_a_server_project(postgres_url, tmp_path):
    with Project.create(tmp_path / "team", database=postgres_url, blobs=tmp_path / "share") as team:
        _populate(team, tmp_path / "images")
        before = _contents(team)
    info = _contrario("info", str(tmp_path / "team"), "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["database"].startswith("postgresql://") and "5" in info.stdout
    check = _contrario("check", str(tmp_path / "team"), "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["counts"]["images"] == 5
    backup = _contrario("backup", str(tmp_path / "team"), str(tmp_path / "backup"), "--json")
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["integrity_ok"] is True
    with Project.open(tmp_path / "backup") as copy:
        assert copy.dialect == "sqlite" and _contents(copy) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".backup")] == []  # no temporary left
