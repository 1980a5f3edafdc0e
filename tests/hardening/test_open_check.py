"""Item 3, the cost of the check on open: an unchanged database is not checked again (this user's record of
its last clean check, or the parent process's check for a worker), and damage made after a clean check is
still found on the next open, also when the file's size and mtime are put back."""

from __future__ import annotations

import os
import time

import pytest
from hostile_project import damage_page

from core.store.integrity import CHECKED_ENV, SETTLED_S, DamagedProjectError, forget_clean
from core.store.project import Project


def _settle(root) -> None:
    """Wait until the database was last written SETTLED_S ago: only then is a clean check remembered."""
    db = root / "project.sqlite"
    newest = max(p.stat().st_ctime for p in (db, db.with_name("project.sqlite-wal")) if p.exists())
    time.sleep(max(0.0, newest + SETTLED_S + 0.05 - time.time()))


def _open_check(root):
    with Project.open(root) as project:
        return project.integrity


def test_a_database_is_checked_again_only_when_it_changed(scored_project):
    _settle(scored_project)
    first = _open_check(scored_project)
    assert first.finished and not first.damaged and first.reused is None
    again = _open_check(scored_project)
    assert again.reused == "stamp" and again.seconds == 0.0
    with Project.open(scored_project) as project:
        project.set_setting("note", "a write")
    assert _open_check(scored_project).reused is None  # changed since: checked (and clean) again
    assert _open_check(scored_project).reused is None  # written too recently for its timestamps to tell
    _settle(scored_project)
    assert _open_check(scored_project).reused is None
    assert _open_check(scored_project).reused == "stamp"
    damage_page(scored_project / "project.sqlite")
    with pytest.raises(DamagedProjectError):
        Project.open(scored_project)


def test_damage_with_size_and_mtime_put_back_is_found(scored_project):
    db = scored_project / "project.sqlite"
    _settle(scored_project)
    assert _open_check(scored_project).reused is None
    assert _open_check(scored_project).reused == "stamp"
    damage_page(db)
    before = db.stat()
    os.utime(db, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(DamagedProjectError):
        Project.open(scored_project)
    with pytest.raises(DamagedProjectError):  # and no clean record was made by the refused open
        Project.open(scored_project)


def test_a_worker_of_a_process_that_checked_does_not_check_again(scored_project, monkeypatch):
    with Project.open(scored_project) as parent:
        env = parent.worker_env()
    assert env[CHECKED_ENV].endswith("project.sqlite")
    forget_clean(scored_project / "project.sqlite")
    assert _open_check(scored_project).reused is None
    forget_clean(scored_project / "project.sqlite")
    monkeypatch.setenv(CHECKED_ENV, env[CHECKED_ENV])
    assert _open_check(scored_project).reused == "parent"
    monkeypatch.delenv(CHECKED_ENV)
    damage_page(scored_project / "project.sqlite")
    with Project.open(scored_project, allow_damaged=True) as damaged:
        assert damaged.damaged and damaged.worker_env() == {}
