"""Importing files into a real project: formats, bad inputs, views, duplicates, copies, cancel, crash safety."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from imagefiles import pattern, write_bad_files, write_every_format, write_png
from sqlalchemy import func, select

from core.errors import ContrarioError, JobCancelled
from core.io.importer import import_paths
from core.progress import CancelToken
from core.store.project import Project
from core.store.schema import Batch, Image, Item

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "proj")
    yield p
    p.close()


def images(project, **where) -> list[Image]:
    with project.session(readonly=True) as s:
        stmt = select(Image).order_by(Image.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Image, key) == value)
        return list(s.scalars(stmt))


def test_import_every_format(project, tmp_path):
    files = write_every_format(tmp_path / "in")
    report = import_paths(project, [tmp_path / "in"], "b1", product_line="line A")
    assert report.added == len(files) and not report.failed and report.skipped_duplicates == 0
    rows = {Path(r.original_path).name: r for r in images(project)}
    assert set(rows) == {p.name for p in files.values()}
    assert all(r.status == "ok" and r.view == "" and len(r.sha256) == 64 for r in rows.values())
    jpeg = rows["rotated.jpg"]
    assert (jpeg.width, jpeg.height, jpeg.format, jpeg.mode) == (24, 36, "JPEG", "RGB")
    assert (rows["grey16.tiff"].mode, rows["grey16.tiff"].bit_depth, rows["grey16.tiff"].channels) == ("I;16", 16, 1)
    assert (rows["rgb16.tif"].bit_depth, rows["rgb16.tif"].channels) == (16, 3)
    assert (rows["rgba.png"].mode, rows["rgba.png"].channels) == ("RGBA", 4)
    assert rows["plain.bmp"].file_size == files["bmp"].stat().st_size
    assert rows["plain.bmp"].blob is None  # referenced in place
    assert Path(rows["grey.png"].original_path).is_absolute()
    with project.session(readonly=True) as s:
        batch = s.scalar(select(Batch))
        assert (batch.name, batch.product_line, batch.source_folder) == ("b1", "line A", str(tmp_path / "in"))
        assert sorted(s.scalars(select(Item.name))) == sorted(p.stem for p in files.values())


@pytest.mark.parametrize(
    "kind, words",
    [
        ("zero", "empty file"),
        ("truncated_png", "truncated"),
        ("truncated_jpeg", "truncated"),
        ("corrupt_png", "corrupt"),
        ("not_image", "not an image"),
        ("absurd", "absurd size"),
    ],
)
def test_bad_file_is_recorded_as_failed(project, tmp_path, kind, words):
    bad = write_bad_files(tmp_path / "bad")[kind]
    good = write_png(tmp_path / "good.png", pattern())
    report = import_paths(project, [good, bad], "b")
    assert report.added == 1
    assert len(report.failed) == 1 and report.failed[0][0] == str(bad) and words in report.failed[0][1]
    failed = images(project, status="failed")
    assert len(failed) == 1 and failed[0].original_path == str(bad) and words in failed[0].error
    assert images(project, status="ok")[0].original_path == str(good)


def test_all_bad_kinds_in_one_import_never_stop_it(project, tmp_path):
    bad = write_bad_files(tmp_path / "mixed")
    for i in range(3):
        write_png(tmp_path / "mixed" / f"ok{i}.png", pattern(seed=i))
    report = import_paths(project, [tmp_path / "mixed"], "b")
    assert report.added == 3 and len(report.failed) == len(bad)


def test_missing_path_is_reported_not_recorded(project, tmp_path):
    good = write_png(tmp_path / "good.png", pattern())
    report = import_paths(project, [tmp_path / "nope.png", good, str(tmp_path / "none-*.png")], "b")
    assert report.added == 1
    assert dict(report.failed) == {str(tmp_path / "nope.png"): "not found",
                                   str(tmp_path / "none-*.png"): "no files match this pattern"}
    assert images(project, status="failed") == []


def test_unreadable_file_permissions(tmp_path):
    """A file the user may not read is recorded as failed (run as an unprivileged user when we are root)."""
    work = Path(tempfile.mkdtemp(prefix="contrario-perm-"))
    try:
        os.chmod(work, 0o777)
        secret = write_png(work / "secret.png", pattern())
        write_png(work / "open.png", pattern(seed=3))
        os.chmod(secret, 0o000)
        Project.create(work / "proj").close()
        for root, dirs, names in os.walk(work / "proj"):
            for n in dirs + names:
                os.chmod(Path(root) / n, 0o777)
        os.chmod(work / "proj", 0o777)
        drop = "os.setegid(65534); os.seteuid(65534);" if os.geteuid() == 0 else ""
        code = (
            "import json, os, tifffile; from PIL import Image; Image.init();"
            "from core.store.project import Project; from core.io.importer import import_paths;"
            f"p=Project.open({str(work / 'proj')!r}); {drop}"  # root reads everything: act as nobody
            f"r=import_paths(p,[{str(work)!r}],'b',workers=1); print(json.dumps(r.to_dict()))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert out.returncode == 0, out.stderr
        import json

        report = json.loads(out.stdout)
        assert report["added"] == 1
        assert report["failed"] == [{"path": str(secret), "reason": "permission denied"}]
        with Project.open(work / "proj") as p:
            assert [(Path(i.original_path).name, i.error) for i in images(p, status="failed")] == [
                ("secret.png", "permission denied")]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_dangling_symlink_is_recorded_as_failed(project, tmp_path):
    link = tmp_path / "in" / "gone.png"
    link.parent.mkdir()
    link.symlink_to(tmp_path / "does-not-exist.png")
    report = import_paths(project, [tmp_path / "in"], "b")
    assert report.added == 0 and len(report.failed) == 1 and "not found" in report.failed[0][1]


def test_reimport_is_a_noop(project, tmp_path):
    write_every_format(tmp_path / "in")
    write_bad_files(tmp_path / "in" / "bad")
    first = import_paths(project, [tmp_path / "in"], "b")
    with project.session(readonly=True) as s:
        before = (s.scalar(select(func.count(Image.id))), s.scalar(select(func.count(Item.id))))
    again = import_paths(project, [tmp_path / "in"], "b")
    other_batch = import_paths(project, [tmp_path / "in"], "c")
    assert again.added == 0 and again.skipped_duplicates == first.added
    assert other_batch.added == 0 and other_batch.skipped_duplicates == first.added
    assert len(again.failed) == len(first.failed)  # still reported: the files are still bad
    with project.session(readonly=True) as s:
        assert (s.scalar(select(func.count(Image.id))), s.scalar(select(func.count(Item.id)))) == before


def test_same_content_under_two_names_is_one_image(project, tmp_path):
    a = write_png(tmp_path / "a.png", pattern())
    shutil.copy(a, tmp_path / "b.png")
    report = import_paths(project, [tmp_path / "a.png", tmp_path / "b.png"], "b")
    assert (report.added, report.skipped_duplicates) == (1, 1)


def test_fixed_file_replaces_its_failure(project, tmp_path):
    path = tmp_path / "later.png"
    path.write_bytes(b"")
    assert len(import_paths(project, [path], "b").failed) == 1
    write_png(path, pattern())
    report = import_paths(project, [path], "b")
    assert report.added == 1 and not report.failed
    assert images(project, status="failed") == []
    assert [(i.status, i.width) for i in images(project)] == [("ok", 36)]
    with project.session(readonly=True) as s:
        assert list(s.scalars(select(Item.name))) == ["later"]  # the failure's item went with it


def test_file_seen_as_known_but_deleted_meanwhile_is_still_recorded(project, tmp_path):
    """The duplicate check before decoding is only a shortcut; the chunk's transaction decides."""
    from core.io.importer import Candidate, ImportReport, _ChunkWriter, _Grouping, check_file, hash_file

    path = write_png(tmp_path / "a.png", pattern())
    ex = hash_file(Candidate(path, "a.png"))  # examined as if already known: never decoded
    assert ex.info is None and ex.error is None
    from core.io.importer import get_or_create_batch

    report = ImportReport()
    with project.session() as s:
        _ChunkWriter(s, get_or_create_batch(project, "b"), _Grouping(None), report, None,
                     lambda e: check_file(e)).write([ex])
    assert report.added == 1 and [(i.width, i.format) for i in images(project)] == [(36, "PNG")]


def test_views_group_files_into_items(project, tmp_path):
    folder = tmp_path / "cams"
    folder.mkdir()
    for i, item in enumerate(("part1", "part2")):
        for k, view in enumerate(("top", "left", "right")):  # six distinct contents: none is a duplicate
            write_png(folder / f"{item}_{view}.png", pattern(seed=10 * i + k))
    write_png(folder / "stray.png", pattern(seed=99))
    report = import_paths(project, [folder], "b", views_regex=r"^(?P<item>.+)_(?P<view>top|left|right)$")
    assert report.added == 7 and report.items_added == 3
    assert any("stray.png" in w for w in report.warnings)
    with project.session(readonly=True) as s:
        rows = s.execute(select(Item.name, Image.view).join(Image)).all()
    views = {}
    for name, view in rows:
        views.setdefault(name, set()).add(view)
    assert views == {"part1": {"top", "left", "right"}, "part2": {"top", "left", "right"}, "stray": {""}}


def test_views_in_subfolders_do_not_merge(project, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        write_png(tmp_path / "in" / sub / "x_top.png", pattern(seed=ord(sub)))
    import_paths(project, [tmp_path / "in"], "b", views_regex=r"(?P<item>.+)_(?P<view>top)")
    with project.session(readonly=True) as s:
        assert sorted(s.scalars(select(Item.name))) == ["a/x", "b/x"]


def test_bad_views_regex_is_refused_before_import(project, tmp_path):
    write_png(tmp_path / "a.png", pattern())
    with pytest.raises(ContrarioError, match="named groups"):
        import_paths(project, [tmp_path], "b", views_regex=r"(?P<item>.+)")
    with pytest.raises(ContrarioError, match="invalid"):
        import_paths(project, [tmp_path], "b", views_regex=r"(")
    assert images(project) == []


def test_globs_and_name_collisions(project, tmp_path):
    (tmp_path / "x").mkdir()
    write_png(tmp_path / "x" / "same.png", pattern(seed=1))
    PILImage_save_bmp = pattern(seed=2)
    from PIL import Image as PILImage

    PILImage.fromarray(PILImage_save_bmp).save(tmp_path / "x" / "same.bmp")
    write_png(tmp_path / "x" / "other.png", pattern(seed=3))
    report = import_paths(project, [str(tmp_path / "x" / "same.*")], "b")
    assert report.added == 2
    with project.session(readonly=True) as s:
        assert sorted(s.scalars(select(Item.name))) == ["same", "same~2"]


def test_copy_puts_files_in_the_blob_store(project, tmp_path):
    path = write_png(tmp_path / "a.png", pattern())
    import_paths(project, [path], "b", copy=True)
    (row,) = images(project)
    assert row.blob == row.sha256 and project.blobs.get_bytes(row.blob) == path.read_bytes()


def test_project_folder_inside_the_import_is_skipped(tmp_path):
    write_png(tmp_path / "a.png", pattern())
    with Project.create(tmp_path / "proj") as p:
        (p.root / "cache").mkdir()
        write_png(p.root / "cache" / "thumb.png", pattern(seed=5))
        report = import_paths(p, [tmp_path], "b")
        assert report.added == 1


def test_cancel_keeps_finished_chunks(project, tmp_path):
    for i in range(12):
        write_png(tmp_path / f"{i:02d}.png", pattern(8, 8, seed=i))
    token = CancelToken()
    seen = []

    def progress(fraction, message):
        seen.append(fraction)
        if fraction >= 0.5:
            token.cancel()

    with pytest.raises(JobCancelled, match="after 8 new images"):
        import_paths(project, [tmp_path], "b", progress=progress, cancel=token, chunk=4)
    assert len(images(project)) == 8  # two chunks of four written, then cancelled
    assert seen[-1] == pytest.approx(8 / 12)


KILL_SCRIPT = """
import sys
from core.io import importer
from core.store.project import Project
p = Project.open(sys.argv[1])
def progress(fraction, message):
    print(f"{fraction:.4f}", flush=True)
importer.import_paths(p, [sys.argv[2]], "killed", progress=progress, workers=1, chunk=50)
print("finished", flush=True)
"""


def test_sigkill_mid_import_leaves_a_consistent_project(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1500):
        arr = pattern(16, 16, seed=i)
        write_png(folder / f"{i:04d}.png", arr)
    Project.create(tmp_path / "proj").close()
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(tmp_path / "proj"), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline().strip()
            if line and line != "0.0000":
                break
        assert line and line != "finished", proc.stderr.read()
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    with Project.open(tmp_path / "proj") as p:
        rows = images(p)
        assert 0 < len(rows) < 1500
        for r in rows:  # every recorded image is complete and matches its file
            assert r.status == "ok" and r.width == 16 and r.height == 16 and r.item_id is not None
            from core.store.blobs import sha256_file

            assert sha256_file(r.original_path) == r.sha256
        with p.session(readonly=True) as s:
            assert s.scalar(select(func.count(Item.id))) == len(rows)  # no item without its image
        report = import_paths(p, [folder], "killed")  # the import can simply be run again
        assert report.added + len(rows) == 1500 and report.skipped_duplicates == len(rows)
