"""Item 2: values from the database that become paths are validated, and a file changed since its import is
reported for that image instead of being scored, trained on or exported."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from hostile_project import SECRET, cli, plant_path_values, write_images

from core.errors import ImageError, ProjectError
from core.io.thumbnails import ThumbnailCache
from core.store.blobs import BlobStore


def test_a_path_like_hash_never_becomes_a_thumbnail_path(tmp_path, scored_project):
    outside = tmp_path / "outside"
    outside.mkdir()
    image = next((scored_project.parent / "images").glob("*.png"))
    cache = ThumbnailCache(scored_project / "cache" / "thumbs")
    with pytest.raises(ImageError, match="malformed sha256"):
        cache.get_or_create(image, str(outside / "x"))
    assert not list(outside.iterdir())


@pytest.mark.parametrize("value", ["../../etc/passwd", "/tmp/x", "A" * 64, "ab" * 31 + "g" * 2, None, ""])
def test_a_malformed_blob_name_is_refused(tmp_path, value):
    with pytest.raises(ProjectError):
        BlobStore(tmp_path / "blobs").path(value)


def test_an_export_never_copies_a_file_other_than_the_one_imported(scored_project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ids = plant_path_values(scored_project, outside, tmp_path / "secret.txt")
    out = cli("export", ".", "--format", "coco", "--out", str(tmp_path / "coco"), "--json", cwd=scored_project)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    skipped = {s["image_id"]: s["why"] for s in summary["skipped"]}
    assert set(skipped) == set(ids.values())
    assert "changed since its import" in skipped[ids["original_path"]]
    assert summary["images"] == 1
    assert not any(SECRET in p.read_bytes() for p in (tmp_path / "coco").rglob("*") if p.is_file())
    assert not list(outside.iterdir())


def _replace_with_another_image(path, seed=99):
    """A valid image of the same kind and size in place of the imported one (decoding alone cannot tell)."""
    write_images(path.parent / "other", n=1, seed=seed)[0].replace(path)


def test_a_file_changed_since_its_import_is_not_scored(scored_project):
    conn = sqlite3.connect(scored_project / "project.sqlite")
    image_id, path = conn.execute("SELECT id, original_path FROM images ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    _replace_with_another_image(Path(path))
    rev = cli("train", ".", "--training-free", "patch_pca", "--json", cwd=scored_project)
    assert rev.returncode == 0, rev.stderr
    revision = json.loads(rev.stdout.splitlines()[0])["model_revision_id"]
    out = cli("infer", ".", "--revision", str(revision), "--json", cwd=scored_project)
    result = json.loads(out.stdout)["result"]
    assert result["scored"] == 3
    assert [f["image_id"] for f in result["failed"]] == [image_id]
    assert "changed since its import" in result["failed"][0]["reason"]


def test_a_frozen_training_set_whose_files_changed_is_not_trained_on(scored_project):
    conn = sqlite3.connect(scored_project / "project.sqlite")
    paths = [r[0] for r in conn.execute(
        "SELECT original_path FROM images WHERE id IN (SELECT image_id FROM annotations WHERE verdict = 'good')")]
    conn.close()
    for k, p in enumerate(paths):
        _replace_with_another_image(Path(p), seed=100 + k)
    out = cli("train", ".", "--steps", "1", "--input-size", "64", "--json", cwd=scored_project)
    assert out.returncode == 1
    job = json.loads(out.stdout)
    assert job["status"] == "failed" and "changed since its import" in job["message"], job


def test_a_fifo_in_place_of_an_image_is_refused_without_blocking(tmp_path):
    from core.io.checked_files import read_checked_image

    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        read_checked_image(fifo, "0" * 64, 10)
