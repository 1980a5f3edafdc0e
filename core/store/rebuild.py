"""`contrario check --repair --rebuild`: a new project.sqlite from the readable rows of a damaged one.

Restoring a backup (`contrario backup`) is better when there is one: a rebuild keeps what can still be read
and nothing more. The new database is made by the migrations (at the schema the damaged one records, then
upgraded to this version's head); every table is copied by ranges of rowids, a range that cannot be read is
halved until its readable rows are in and the unreadable rowids are isolated. Rows whose parent row was lost
are dropped too (foreign keys), so that the result is consistent. It must pass `integrity_check` before it is
swapped in (one rename); the damaged file stays beside it as project.sqlite.damaged-<UTC time>, with its WAL.
Lost rows are counted against the largest row count still readable from the table or one of its indexes
(None when none is).

Run it with the project closed everywhere (GUI, workers, other commands).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine

from core.errors import ProjectError
from core.progress import ProgressCallback, no_progress
from core.store import migrate
from core.store.dialects import check_sqlite_file
from core.store.integrity import forget_clean
from core.store.location import resolve

_CHUNK = 2048  # rowids per read


@dataclass
class TableReport:
    kept: int = 0
    lost: int | None = 0  # unreadable (None: unknown, no count of the table was readable)
    dropped: int = 0  # readable but refused (a constraint) or naming a lost parent row

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class RebuildReport:
    db_path: Path
    damaged_copy: Path
    revision: str
    tables: dict[str, TableReport] = field(default_factory=dict)

    @property
    def rows_lost(self) -> int | None:
        lost = [t.lost for t in self.tables.values()]
        return None if None in lost else sum(lost) + sum(t.dropped for t in self.tables.values())

    def to_dict(self) -> dict:
        return {"db_path": str(self.db_path), "damaged_copy": str(self.damaged_copy), "revision": self.revision,
                "rows_lost": self.rows_lost, "tables": {k: v.to_dict() for k, v in self.tables.items()}}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _try(conn: sqlite3.Connection, sql: str, args=()) -> list | None:
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.DatabaseError:
        return None


def _source_revision(src: sqlite3.Connection) -> str:
    rows = _try(src, "SELECT version_num FROM alembic_version")
    known = set(migrate.revisions_base_to_head())
    if rows and rows[0][0] in known:
        return rows[0][0]
    return migrate.head_revision()


def _extent(src: sqlite3.Connection, table: str) -> tuple[int | None, int | None, int | None]:
    """(row count, smallest rowid, largest rowid) from the table itself or, when it is damaged, its indexes."""
    counts, lows, highs = [], [], []
    sources = [f"SELECT rowid FROM {_q(table)} NOT INDEXED"]
    for (index,) in _try(src, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)) or []:
        sources.append(f"SELECT rowid FROM {_q(table)} INDEXED BY {_q(index)}")
    for sql in sources:
        row = _try(src, f"SELECT count(*), min(rowid), max(rowid) FROM ({sql})")
        if row:
            counts.append(row[0][0])
            if row[0][1] is not None:
                lows.append(row[0][1])
                highs.append(row[0][2])
    return (max(counts) if counts else None, min(lows) if lows else None, max(highs) if highs else None)


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, report: TableReport) -> None:
    new_cols = [r[1] for r in dst.execute(f"PRAGMA table_info({_q(table)})")]
    old_cols = {r[1] for r in _try(src, f"PRAGMA table_info({_q(table)})") or []}
    cols = [c for c in new_cols if c in old_cols]
    count, low, high = _extent(src, table)
    if not cols or low is None:
        report.lost = count
        return
    select = f"SELECT rowid, {', '.join(_q(c) for c in cols)} FROM {_q(table)} WHERE rowid BETWEEN ? AND ?"
    insert = (f"INSERT INTO {_q(table)} (rowid, {', '.join(_q(c) for c in cols)}) "
              f"VALUES ({', '.join('?' * (len(cols) + 1))})")

    def put(rows: list) -> None:
        try:
            with dst:
                dst.executemany(insert, rows)
            report.kept += len(rows)
        except sqlite3.DatabaseError:
            for row in rows:
                try:
                    with dst:
                        dst.execute(insert, row)
                    report.kept += 1
                except sqlite3.DatabaseError:
                    report.dropped += 1

    def read(a: int, b: int) -> None:
        rows = _try(src, select, (a, b))
        if rows is not None:
            put(rows)
        elif a < b:
            mid = (a + b) // 2
            read(a, mid)
            read(mid + 1, b)

    for start in range(low, high + 1, _CHUNK):
        read(start, min(start + _CHUNK - 1, high))
    report.lost = None if count is None else max(0, count - report.kept - report.dropped)


def _drop_orphans(dst: sqlite3.Connection, tables: dict[str, TableReport]) -> None:
    """Delete rows naming a parent row that was lost, until none is left (their own children go next)."""
    while True:
        orphans = dst.execute("PRAGMA foreign_key_check").fetchall()
        if not orphans:
            return
        with dst:
            for table, rowid in {(r[0], r[1]) for r in orphans}:
                dst.execute(f"DELETE FROM {_q(table)} WHERE rowid = ?", (rowid,))
                tables[table].kept -= 1
                tables[table].dropped += 1


def _new_database(path: Path, revision: str) -> None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn, revision)
    finally:
        engine.dispose()


def rebuild_database(folder: str | Path, progress: ProgressCallback = no_progress) -> RebuildReport:
    """Rebuild the project's database from its readable rows and swap it in; see the module doc."""
    location = resolve(folder)
    if not location.embedded:
        raise ProjectError(f"{location.describe()}: only an SQLite project database can be rebuilt; a database "
                           f"server keeps its own pages (restore it with the server's tools)")
    db_path = location.db_path
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    new_path = db_path.with_name(f"{db_path.name}.rebuild-{stamp}")
    damaged_copy = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        revision = _source_revision(src)
        progress(0.02, "creating a new database")
        _new_database(new_path, revision)
        report = RebuildReport(db_path, damaged_copy, revision)
        dst = sqlite3.connect(new_path)
        try:
            tables = [r[0] for r in dst.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name != 'alembic_version' ORDER BY name")]
            for n, table in enumerate(tables):
                progress(0.05 + 0.85 * n / len(tables), f"copying {table}")
                report.tables[table] = TableReport()
                _copy_table(src, dst, table, report.tables[table])
            _drop_orphans(dst, report.tables)
        finally:
            dst.close()
        if not any(t.kept for t in report.tables.values()):
            raise ProjectError(f"{db_path}: no row of any table can be read; it was left as it was: restore it "
                               f"from a backup")
    except BaseException:
        new_path.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    try:
        if revision != migrate.head_revision():
            _new_database(new_path, "head")
        progress(0.92, "checking the new database")
        result = check_sqlite_file(new_path)
        if result.damaged:
            raise ProjectError(f"{new_path}: the rebuilt database fails its integrity check ({result.errors[0]}); "
                               f"{db_path} was left as it was")
        _swap(db_path, new_path, damaged_copy)
    except BaseException:
        new_path.unlink(missing_ok=True)
        raise
    forget_clean(db_path)
    progress(1.0, "rebuilt")
    return report


def _swap(db_path: Path, new_path: Path, damaged_copy: Path) -> None:
    """project.sqlite becomes the new file in one rename; the damaged file and its WAL keep their bytes under
    the damaged-<time> name (the WAL must not be applied to the new file)."""
    try:
        os.link(db_path, damaged_copy)
    except OSError:  # no hard links here: a copy
        shutil.copy2(db_path, damaged_copy)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db_path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{damaged_copy}{suffix}"))
    os.replace(new_path, db_path)
