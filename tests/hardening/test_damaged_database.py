"""Item 3: a damaged database is found when the project opens, nothing is written to it, and `backup` and
`check [--repair]` keep a project whole (integrity, blobs, changed files, leftovers of killed imports)."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
from hostile_project import cli, damage_page, file_digest, write_images

from core.store.project import Project


def test_import_into_a_damaged_project_is_refused_in_one_line(scored_project):
    damage_page(scored_project / "project.sqlite")
    before = file_digest(scored_project / "project.sqlite")
    write_images(scored_project.parent / "new", n=2, seed=5)
    out = cli("import", ".", str(scored_project.parent / "new"), "--batch", "more", cwd=scored_project)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "damaged" in out.stderr and "backup" in out.stderr, out.stderr
    assert file_digest(scored_project / "project.sqlite") == before


def test_a_damaged_project_opens_for_reading_only_when_asked(scored_project):
    from core.store.integrity import DamagedProjectError

    damage_page(scored_project / "project.sqlite", table="jobs")
    with pytest.raises(DamagedProjectError):
        Project.open(scored_project)
    with Project.open(scored_project, allow_damaged=True) as project:
        assert project.damaged and project.integrity.errors
        with pytest.raises(DamagedProjectError):
            project.set_setting("name", "overwritten")


def test_the_quick_check_on_open_is_time_bounded(tmp_path):
    from core.store.integrity import run_check

    conn = sqlite3.connect(tmp_path / "big.sqlite")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", ((f"row {i}" * 4,) for i in range(50_000)))
    conn.commit()
    bounded = run_check(conn, "quick_check", time_limit_s=0.0)
    assert not bounded.finished and not bounded.errors
    full = run_check(conn, "quick_check", time_limit_s=None)
    assert full.finished and not full.damaged
    conn.close()


def test_backup_of_a_project_in_use_is_a_project_of_its_own(scored_project, tmp_path):
    with Project.open(scored_project) as live:  # held open, as the workbench would
        live.set_setting("note", "written before the backup")
        out = cli("backup", str(scored_project), str(tmp_path / "copy"), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    stored = [p for p in (scored_project / "blobs").glob("??/*") if p.is_file()]
    assert report["integrity_ok"] and report["blobs"] == len(stored) >= 2
    with Project.open(tmp_path / "copy") as copy:
        assert copy.get_setting("note") == "written before the backup"
    check = cli("check", str(tmp_path / "copy"), "--no-files", cwd=tmp_path)
    assert check.returncode == 0 and "no problems found" in check.stdout, check.stdout
    again = cli("backup", str(scored_project), str(tmp_path / "copy"), cwd=tmp_path)
    assert again.returncode == 1 and "not empty" in again.stderr


def _age(path, seconds=7200):
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_check_finds_and_repair_fixes_what_is_safe(scored_project, tmp_path):
    work = scored_project.parent
    copied = write_images(work / "copied", n=1, seed=11)[0]
    assert cli("import", ".", str(copied), "--batch", "copies", "--copy", cwd=scored_project).returncode == 0
    with Project.open(scored_project) as project:
        orphan = project.blobs.path(project.blobs.put_bytes(b"written by a killed job before its commit"))
        conn = sqlite3.connect(scored_project / "project.sqlite")
        copy_sha = conn.execute("SELECT blob FROM images WHERE blob IS NOT NULL").fetchone()[0]
        map_sha = conn.execute("SELECT map_blob FROM inference_results ORDER BY id LIMIT 1").fetchone()[0]
        changed = conn.execute("SELECT original_path FROM images ORDER BY id LIMIT 1").fetchone()[0]
        conn.close()
        project.blobs.path(copy_sha).unlink()  # the project's copy of an image is lost
        project.blobs.path(map_sha).unlink()  # an anomaly map is lost (nothing to copy it from)
    leftover = scored_project / "blobs" / "tmp" / "put-killed-import"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"half a file")
    fresh = leftover.with_name("put-in-progress")
    fresh.write_bytes(b"a write still going on")
    _age(leftover)
    _age(orphan)
    write_images(work / "other", n=1, seed=12)[0].replace(changed)

    out = cli("check", ".", "--json", cwd=scored_project)
    assert out.returncode == 1
    kinds = sorted(p["kind"] for p in json.loads(out.stdout)["problems"])
    assert kinds == ["changed-file", "missing-blob", "missing-blob", "orphan-blob", "tmp-leftover", "tmp-leftover"]

    out = cli("check", ".", "--repair", "--json", cwd=scored_project)
    problems = json.loads(out.stdout)["problems"]
    repaired = sorted(p["kind"] for p in problems if p["repaired"])
    assert repaired == ["missing-blob", "orphan-blob", "tmp-leftover"]
    assert not leftover.exists() and fresh.exists() and not orphan.exists()
    with Project.open(scored_project) as project:
        assert project.blobs.verify(copy_sha)
    left = sorted(p["kind"] for p in problems if not p["repaired"])
    assert left == ["changed-file", "missing-blob", "tmp-leftover"] and out.returncode == 1


def test_check_of_a_damaged_project_says_restore(scored_project):
    damage_page(scored_project / "project.sqlite")
    out = cli("check", ".", cwd=scored_project)
    assert out.returncode == 1 and "DAMAGED" in out.stdout and "restore" in out.stdout
    assert "Traceback" not in out.stderr
