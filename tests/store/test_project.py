"""Projects: create/open, errors, settings, sessions, several processes at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.errors import ProjectError
from core.store.project import Project
from core.store.schema import Batch

REPO = Path(__file__).resolve().parents[2]


def test_create_and_open(tmp_path):
    p = Project.create(tmp_path / "a" / "proj", name="Leather line 3")
    assert p.root == (tmp_path / "a" / "proj").resolve()
    assert (p.root / "project.sqlite").is_file() and (p.root / "blobs").is_dir()
    assert p.name == "Leather line 3" and p.schema_revision() is not None
    p.set_setting("active_model", {"revision": 3})
    p.close()
    q = Project.open(tmp_path / "a" / "proj")
    assert q.get_setting("active_model") == {"revision": 3}
    assert q.get_setting("nothing", default=7) == 7
    with q.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    q.close()


def test_create_refuses_an_existing_project(tmp_path):
    Project.create(tmp_path / "p").close()
    with pytest.raises(ProjectError, match="already holds"):
        Project.create(tmp_path / "p")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ProjectError, match="not a folder"):
        Project.create(tmp_path / "file")


@pytest.mark.parametrize("case", ["missing", "empty_folder", "file", "garbage_db", "foreign_db"])
def test_open_errors_are_clear(tmp_path, case):
    target = tmp_path / "p"
    if case == "empty_folder":
        target.mkdir()
    elif case == "file":
        target.write_text("hello")
    elif case == "garbage_db":
        target.mkdir()
        (target / "project.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    elif case == "foreign_db":
        target.mkdir()
        with sqlite3.connect(target / "project.sqlite") as conn:
            conn.execute("CREATE TABLE other (x INTEGER)")
    expected = {
        "missing": "no such folder", "empty_folder": "not a Contrario project", "file": "not a folder",
        "garbage_db": "not a readable project database", "foreign_db": "not a Contrario project database",
    }[case]
    with pytest.raises(ProjectError, match=expected):
        Project.open(target)


def test_newer_schema_is_refused(tmp_path):
    Project.create(tmp_path / "p").close()
    with sqlite3.connect(tmp_path / "p" / "project.sqlite") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(ProjectError, match="newer version of Contrario"):
        Project.open(tmp_path / "p")


def test_server_project_is_a_project_file_naming_its_database(postgres_url, tmp_path):
    import json

    blobs = tmp_path / "share" / "blobs"
    p = Project.create(tmp_path / "team", name="Citrus line", database=postgres_url, blobs=blobs)
    assert p.dialect == "postgresql" and p.db_path is None and p.blobs.root == blobs.resolve()
    assert not (p.root / "project.sqlite").exists() and blobs.is_dir()
    sha = p.blobs.put_bytes(b"shared")
    p.set_setting("active_model", {"revision": 3})
    p.close()
    spec = json.loads((tmp_path / "team" / "contrario-project.json").read_text())
    assert spec["database"].startswith("postgresql://") and spec["blobs"] == str(blobs.resolve())
    for opened in (tmp_path / "team", tmp_path / "team" / "contrario-project.json"):
        with Project.open(opened) as q:
            assert q.name == "Citrus line" and q.get_setting("active_model") == {"revision": 3}
            assert q.blobs.get_bytes(sha) == b"shared" and not q.damaged
            with q.engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW timezone").scalar() == "UTC"
    with pytest.raises(ProjectError, match="already holds a Contrario project"):
        Project.create(tmp_path / "other", database=postgres_url)


@pytest.mark.parametrize("spec, expected", [
    ("{not json", "not a readable project file"),
    ('{"blobs": "b"}', "names no database"),
    ('{"database": "mysql://x@y/z"}', "unsupported database"),
    ('{"database": "postgresql://contrario@127.0.0.1:1/nothing"}', "cannot reach the database server"),
])
def test_bad_project_files_are_clear(tmp_path, spec, expected):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "contrario-project.json").write_text(spec)
    with pytest.raises(ProjectError, match=expected):
        Project.open(tmp_path / "p")


def test_missing_server_database_is_clear(postgres_server, tmp_path):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server).set(database="no_such_db").render_as_string(hide_password=False)
    with pytest.raises(ProjectError, match="does not exist"):
        Project.create(tmp_path / "p", database=url)


def test_session_commits_and_rolls_back(new_project):
    with new_project() as p:
        with p.session() as s:
            s.add(Batch(name="kept"))
        with pytest.raises(RuntimeError):
            with p.session() as s:
                s.add(Batch(name="dropped"))
                s.flush()
                raise RuntimeError("user action failed")
        with p.session(readonly=True) as s:
            batches = list(s.scalars(select(Batch)))
        assert [b.name for b in batches] == ["kept"]  # objects stay readable after the session


def test_nested_session_joins_the_outer_one(new_project):
    with new_project() as p:
        with p.session() as outer:
            outer.add(Batch(name="b"))
            p.set_setting("x", 1)  # would wait for the outer write lock if it opened its own connection
            with p.session() as inner:
                assert inner is outer
        assert p.get_setting("x") == 1


def test_foreign_keys_are_enforced(new_project):
    from sqlalchemy.exc import IntegrityError

    from core.store.schema import Item

    with new_project() as p:
        with pytest.raises(IntegrityError):
            with p.session() as s:
                s.add(Item(batch_id=12345, name="orphan"))


WRITER = """
import sys
from core.store.project import Project
from core.store.schema import ProjectSetting
p = Project.open(sys.argv[1])
for _ in range(int(sys.argv[2])):
    with p.session() as s:
        row = s.get(ProjectSetting, "counter")
        row.value = row.value + 1
p.close()
"""


def test_concurrent_processes_lose_no_update(new_project, tmp_path):
    """Read-modify-write from three processes at once: no 'database is locked', no lost update."""
    with new_project(tmp_path / "p") as p:
        p.set_setting("counter", 0)
    n = 60
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "p"), str(n)], cwd=REPO,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with Project.open(tmp_path / "p") as p:
        assert p.get_setting("counter") == 3 * n


def test_busy_project_gives_a_clear_error(tmp_path):
    with Project.create(tmp_path / "p") as p:
        pass
    blocker = sqlite3.connect(tmp_path / "p" / "project.sqlite", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with Project.open(tmp_path / "p", busy_timeout_s=0.2) as p:
            with pytest.raises(ProjectError, match="busy"):
                p.set_setting("x", 1)
            assert p.get_setting("x") is None  # readers are not blocked by a writer (WAL)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_busy_server_project_gives_a_clear_error(postgres_url, tmp_path):
    import psycopg

    from core.store.dialects import WRITE_LOCK_KEY

    Project.create(tmp_path / "p", database=postgres_url).close()
    blocker = psycopg.connect(postgres_url)
    try:
        blocker.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")  # a writer in the middle of its session
        with Project.open(tmp_path / "p", busy_timeout_s=0.2) as p:
            with pytest.raises(ProjectError, match="busy"):
                p.set_setting("x", 1)
            assert p.get_setting("x") is None  # readers are not blocked by a writer
            with p.session(serialized=False) as s:  # row-lock sessions (the job queue) do not wait either
                s.add(Batch(name="from a worker"))
    finally:
        blocker.rollback()
        blocker.close()
