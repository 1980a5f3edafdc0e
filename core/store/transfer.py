"""`contrario migrate-db`: copy a whole project into another database (SQLite to PostgreSQL, or back).

The source is read in one snapshot (a read session), so it may stay in use meanwhile. Its blobs are copied
first, each checked against its sha256 on arrival; every blob the snapshot names is already on disk (blobs are
immutable and written before the rows that name them commit). Then every table is copied, ids included, in
one write transaction on the destination, and the row counts of each table are compared with the source's
in that snapshot before it commits: the destination holds the whole project or nothing of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import JSON, MetaData, func, select
from sqlalchemy.exc import DBAPIError

from core.errors import ProjectError
from core.progress import ProgressCallback, no_progress
from core.store import dialects
from core.store.blobs import stored_blobs
from core.store.location import is_project, resolve
from core.store.project import Project
from core.store.schema import Base, ProjectSetting

_ROWS_PER_STEP = 2000


@dataclass
class TransferReport:
    source: str
    dest: str
    dest_root: Path
    rows: dict[str, int] = field(default_factory=dict)  # per table, equal in source and destination
    blobs: int = 0
    blob_bytes: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"source": self.source, "dest": self.dest, "dest_root": str(self.dest_root), "rows": self.rows,
                "blobs": self.blobs, "blob_bytes": self.blob_bytes, "seconds": round(self.seconds, 2)}


def _insert_tables():
    """The tables with JSON columns that write Python None as SQL NULL (as an omitted value would be)."""
    meta = MetaData()
    tables = [t.to_metadata(meta) for t in Base.metadata.sorted_tables]
    for table in tables:
        for col in table.columns:
            if isinstance(col.type, JSON):
                col.type = JSON(none_as_null=True)
    return tables


def _open_destination(dest: str | Path, database: str | None, blobs: str | Path | None) -> Project:
    if not is_project(dest):
        return Project.create(dest, database=database, blobs=blobs)
    if database or blobs:
        raise ProjectError(f"{dest}: already a project; --database and --blobs are only for a new destination")
    project = Project.open(dest)
    with project.session(readonly=True) as s:
        filled = [t.name for t in Base.metadata.sorted_tables
                  if t.name != ProjectSetting.__tablename__ and s.scalar(select(func.count()).select_from(t))]
    if filled:
        project.close()
        raise ProjectError(f"{dest}: the destination project already holds data ({', '.join(filled)}); "
                           f"copy into a new project or a freshly initialised one")
    return project


def copy_project(source: str | Path, dest: str | Path, database: str | None = None, blobs: str | Path | None = None,
                 progress: ProgressCallback = no_progress) -> TransferReport:
    """Copy project `source` into `dest`: a new folder (SQLite, or `database` with blob folder `blobs`),
    or a freshly initialised empty project (such as one made by `contrario init DEST --database URL`)."""
    started = time.perf_counter()
    src = Project.open(source)
    try:
        if is_project(dest) and resolve(dest).url == src.location.url:
            raise ProjectError(f"{src.location}: source and destination are the same database")
        dst = _open_destination(dest, database, blobs)
        try:
            report = TransferReport(src.location.describe(), dst.location.describe(), dst.root)
            _copy(src, dst, report, progress)
        finally:
            dst.close()
    finally:
        src.close()
    report.seconds = time.perf_counter() - started
    progress(1.0, "copied")
    return report


def _copy(src: Project, dst: Project, report: TransferReport, progress: ProgressCallback) -> None:
    tables = _insert_tables()
    with src.session(readonly=True) as rs:
        counts = {t.name: rs.scalar(select(func.count()).select_from(t)) or 0 for t in tables}  # pins the snapshot
        total_rows = max(1, sum(counts.values()))
        if src.blobs.root.resolve() != dst.blobs.root.resolve():
            found = list(stored_blobs(src.blobs.root))
            for n, (sha, path) in enumerate(found):
                dst.blobs.put_file(path, expected_sha=sha)  # hashed on the way: a changed blob is refused
                report.blob_bytes += path.stat().st_size
                if n % 64 == 0:
                    progress(0.5 * n / max(1, len(found)), f"copying blobs {n}/{len(found)}")
            report.blobs = len(found)
        try:
            with dst.session() as ws:
                ws.execute(ProjectSetting.__table__.delete())  # those of the new project give way to the source's
                done = 0
                for table in tables:
                    pk = list(table.primary_key.columns)
                    rows = rs.connection().execution_options(yield_per=_ROWS_PER_STEP).execute(
                        select(table).order_by(*pk))
                    for part in rows.partitions(_ROWS_PER_STEP):
                        ws.execute(table.insert(), [dict(r._mapping) for r in part])
                        done += len(part)
                        progress(0.5 + 0.45 * done / total_rows, f"copying {table.name}")
                ws.flush()
                dialects.reset_sequences(ws.connection(), tables)
                got = {t.name: ws.scalar(select(func.count()).select_from(t)) or 0 for t in tables}
                if got != counts:
                    wrong = {k: (counts[k], got[k]) for k in counts if counts[k] != got[k]}
                    raise ProjectError(f"{dst.location}: row counts differ after the copy (source, copy): {wrong}; "
                                       f"nothing was committed")
        except DBAPIError as exc:
            raise dialects.db_error(dst.location, exc) from None
    report.rows = counts
    progress(0.96, "checking the copied blobs")
    bad = [sha for sha, _ in stored_blobs(src.blobs.root) if not dst.blobs.verify(sha)]
    if bad:
        raise ProjectError(f"{dst.blobs.root}: {len(bad)} blobs are missing or changed in the copy (first {bad[0]})")
