"""Schema migrations: every revision upgrades to head with its data intact; head matches the models."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, MetaData, String, Text, select

from core.store import migrate
from core.store.project import Project
from core.store.schema import Base


def _value(column, row_id: int):
    """A plain, type-correct value for a column of a reflected table."""
    t = column.type
    if isinstance(t, Boolean):
        return True
    if isinstance(t, Integer):
        return row_id
    if isinstance(t, Float):
        return 1.5
    if isinstance(t, DateTime):
        return dt.datetime(2024, 5, 17, 12, 30, 0)
    if isinstance(t, JSON):
        return {"k": [1, 2]}
    if isinstance(t, (String, Text)):
        n = getattr(t, "length", None) or 64
        return f"{column.name}-{row_id}"[:n]
    raise AssertionError(f"test data generator does not know {t!r} ({column.table.name}.{column.name})")


def _utc(value):
    """SQLite gives back naive datetimes (stored as UTC), PostgreSQL aware ones: compare them in UTC."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _fill(conn) -> dict[str, list[dict]]:
    """Insert two rows into every table (parents first); returns what was inserted."""
    meta = MetaData()
    meta.reflect(conn)
    inserted: dict[str, list[dict]] = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        rows = []
        for row_id in (1, 2):
            row = {}
            for col in table.columns:
                fks = list(col.foreign_keys)
                if fks and fks[0].column.table is table:
                    row[col.name] = None  # self reference (parent_id)
                else:
                    row[col.name] = _value(col, row_id)
            rows.append(row)
        conn.execute(table.insert(), rows)
        inserted[table.name] = rows
    return inserted


@pytest.mark.parametrize("revision", migrate.revisions_base_to_head())
def test_upgrade_from_each_revision_keeps_data(new_project, tmp_path, revision):
    p = new_project(tmp_path / "p", revision=revision)
    with p.engine.begin() as conn:
        inserted = _fill(conn)
    p.close()
    p = Project.open(tmp_path / "p")  # upgrades to head
    assert p.schema_revision() == migrate.head_revision()
    meta = MetaData()
    with p.engine.connect() as conn:
        meta.reflect(conn)
        for name, rows in inserted.items():
            table = meta.tables[name]
            pk = list(table.primary_key.columns)[0]
            found = [dict(r._mapping) for r in conn.execute(select(table).order_by(pk))]
            assert len(found) == len(rows), name
            for want, got in zip(rows, found):
                for col, value in want.items():
                    if col in got:  # a later migration may drop a column; the rest must be intact
                        assert _utc(got[col]) == _utc(value), (name, col)
    p.close()


def test_head_matches_the_models(new_project):
    """A change to schema.py without its migration fails here (on each dialect)."""
    with new_project() as p, p.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_single_head_and_packaged_scripts():
    assert migrate.head_revision() == migrate.revisions_base_to_head()[-1]
    assert (migrate.MIGRATIONS_DIR / "env.py").is_file()
    assert not (migrate.MIGRATIONS_DIR.parent / "alembic.ini").exists()


def test_jobs_of_a_0002_project_gain_empty_progress_fields(new_project, tmp_path):
    """0003: the job rows of an existing project keep everything and have no step, loss or ETA yet."""
    from core.jobs import queue
    from core.progress import Steps

    p = new_project(tmp_path / "p", revision="0002")
    with p.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jobs (id, kind, status, progress, message, payload, cancel_requested, created_at) "
            "VALUES (1, 'train', 'running', 0.25, 'step 5/20', '{}', false, '2024-05-17 12:30:00')")
    p.close()
    p = Project.open(tmp_path / "p")
    try:
        view = queue.get(p, 1)
        assert (view.kind, view.status, view.progress, view.message) == ("train", "running", 0.25, "step 5/20")
        assert (view.step, view.total_steps, view.loss, view.eta_s) == (None, None, None, None)
        queue.report(p, 1, 0.3, "step 6/20", steps=Steps(6, 20, 0.5), eta_s=40.0)
        view = queue.get(p, 1)
        assert (view.step, view.total_steps, view.loss, view.eta_s) == (6, 20, 0.5, 40.0)
    finally:
        p.close()
