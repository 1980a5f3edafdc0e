"""`contrario backup`: a consistent copy of a project while it may be in use.

An embedded database is copied with SQLite's online backup API (a snapshot consistent at one instant, even
while the GUI or a worker writes), then the blob store. A project on a database server is copied into an
embedded project (core.store.transfer: one snapshot, row counts and blob hashes checked), which opens as usual
and can be copied back with `contrario migrate-db`. Blobs are immutable and written before the rows that name them
commit, so every blob the snapshot names is already on disk when the blobs are copied. The copy is built in
a temporary folder beside DEST and renamed into place at the end: DEST holds a whole backup or nothing.
The thumbnail cache is not copied (it is rebuilt on demand).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import ProjectError
from core.progress import ProgressCallback, no_progress
from core.store.blobs import stored_blobs
from core.store.dialects import check_sqlite_file
from core.store.integrity import IntegrityResult
from core.store.location import BLOBS_DIR, DB_NAME, resolve

_PAGES_PER_STEP = 4096


@dataclass
class BackupReport:
    dest: Path
    db_bytes: int
    blobs: int
    blob_bytes: int
    integrity: IntegrityResult  # of the copy: damage in the source is copied too, and said so

    def to_dict(self) -> dict:
        return {"dest": str(self.dest), "db_bytes": self.db_bytes, "blobs": self.blobs,
                "blob_bytes": self.blob_bytes, "integrity_ok": not self.integrity.damaged,
                "integrity_errors": self.integrity.errors}


def _new_destination(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ProjectError(f"{dest}: exists and is not empty; back up into a new or empty folder")


def backup_project(folder: str | Path, dest: str | Path, progress: ProgressCallback = no_progress) -> BackupReport:
    location = resolve(folder)
    root = location.root
    dest = Path(dest).expanduser().absolute()
    if dest == root or root in dest.parents:
        raise ProjectError(f"{dest}: a backup cannot go inside the project it copies")
    _new_destination(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.part-", dir=dest.parent))
    except OSError as exc:
        raise ProjectError(f"{dest}: cannot write there ({exc.strerror or exc})") from None
    if not location.embedded:
        return _backup_server_project(root, dest, tmp, progress)
    try:
        progress(0.0, "copying the database")
        _backup_database(root / DB_NAME, tmp / DB_NAME, progress)
        blobs = list(stored_blobs(root / BLOBS_DIR))
        (tmp / BLOBS_DIR).mkdir()
        blob_bytes = 0
        for n, (sha, path) in enumerate(blobs):
            target = tmp / BLOBS_DIR / sha[:2] / sha
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, target)
            blob_bytes += target.stat().st_size
            if n % 64 == 0:
                progress(0.5 + 0.45 * n / max(1, len(blobs)), f"copying blobs {n}/{len(blobs)}")
        progress(0.96, "checking the copy")
        integrity = check_sqlite_file(tmp / DB_NAME)
        db_bytes = (tmp / DB_NAME).stat().st_size
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    progress(1.0, "backup done")
    return BackupReport(dest, db_bytes, len(blobs), blob_bytes, integrity)


def _backup_server_project(root: Path, dest: Path, tmp: Path, progress: ProgressCallback) -> BackupReport:
    from core.store.transfer import copy_project

    try:
        report = copy_project(root, tmp / "copy", progress=progress)
        integrity = check_sqlite_file(tmp / "copy" / DB_NAME)
        db_bytes = (tmp / "copy" / DB_NAME).stat().st_size
        if dest.exists():
            dest.rmdir()
        os.replace(tmp / "copy", dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    progress(1.0, "backup done")
    return BackupReport(dest, db_bytes, report.blobs, report.blob_bytes, integrity)


def _backup_database(source: Path, target: Path, progress: ProgressCallback) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=_PAGES_PER_STEP,
                   progress=lambda _status, remaining, total: progress(0.5 * (1 - remaining / max(total, 1)),
                                                                      "copying the database"))
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{source}: cannot copy the database ({exc})") from None
    finally:
        dst.close()
        src.close()
