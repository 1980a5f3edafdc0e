"""`contrario check`: is the project whole? Database integrity, blobs, image files, leftovers.

Problems found (kind: what it means; what `--repair` does):
- database: errors of the database's integrity check (SQLite integrity_check); nothing: restore from a backup,
  or without one rebuild it from its readable rows (`--repair --rebuild`, core.store.rebuild).
- bad-hash-value: a column that names a blob or an image hash holds something else; nothing.
- missing-blob: a blob the database names is not in the store; an image copy is copied again from its
  original file when that file is unchanged.
- corrupt-blob: a stored blob no longer hashes to its name; removed (then repaired as a missing blob).
- orphan-blob: a stored blob nothing names (a write killed before its commit); removed when older than
  STALE_S (a younger one may belong to a write in progress). Kept when the database is damaged.
- tmp-leftover: a file in blobs/tmp (a killed `--copy` import or blob write); removed when older than STALE_S.
- changed-file: an image file differs from what was imported (or is gone); nothing: re-import it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from core.domain.enums import ImageStatus
from core.domain.images import image_source
from core.errors import ContrarioError, ImageError, ProjectError
from core.io.checked_files import verify_file
from core.progress import ProgressCallback, no_progress
from core.store.blobs import is_sha256, stored_blobs
from core.store.project import Project, check_database_at
from core.store.schema import Annotation, Image, InferenceResult, ModelRevision

STALE_S = 3600.0
REPAIRABLE = frozenset({"missing-blob", "corrupt-blob", "orphan-blob", "tmp-leftover"})
BLOB_COLUMNS = ((Image, "blob"), (Annotation, "mask_blob"), (ModelRevision, "weights_blob"),
                (InferenceResult, "map_blob"), (InferenceResult, "labels_blob"))


@dataclass
class Problem:
    kind: str
    subject: str
    detail: str
    repaired: bool = False

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class CheckReport:
    root: Path
    integrity_ok: bool
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(p.repaired for p in self.problems)

    def to_dict(self) -> dict:
        return {"root": str(self.root), "ok": self.ok, "integrity_ok": self.integrity_ok, "counts": self.counts,
                "problems": [p.to_dict() for p in self.problems]}


def _old(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime > STALE_S
    except OSError:
        return False


def _references(project: Project, report: CheckReport) -> dict[str, list[str]]:
    """sha -> where it is named ("table.column id"); malformed values are reported, not returned."""
    refs: dict[str, list[str]] = {}
    with project.session(readonly=True) as s:
        for model, column in BLOB_COLUMNS:
            col = getattr(model, column)
            for row_id, value in s.execute(select(model.id, col).where(col.is_not(None))):
                where = f"{model.__tablename__}.{column} {row_id}"
                if is_sha256(value):
                    refs.setdefault(value, []).append(where)
                else:
                    report.problems.append(Problem("bad-hash-value", where, f"not a sha256: {str(value)[:80]!r}"))
        for row_id, value in s.execute(select(Image.id, Image.sha256).where(Image.status == ImageStatus.OK)):
            if not is_sha256(value):
                report.problems.append(Problem("bad-hash-value", f"images.sha256 {row_id}",
                                               f"not a sha256: {str(value)[:80]!r}"))
    return refs


def _recopy(project: Project, sha: str, where: list[str]) -> bool:
    """Copy an image into the store again from its original file, when that file is the one imported."""
    ids = [int(w.rsplit(" ", 1)[1]) for w in where if w.startswith("images.blob ")]
    if not ids:
        return False
    with project.session(readonly=True) as s:
        img = s.get(Image, ids[0])
        path, size = img.original_path, img.file_size
    try:
        verify_file(path, sha, size)
        project.blobs.put_file(path, expected_sha=sha)
    except (ImageError, ProjectError, OSError):
        return False
    return True


def check_project(folder: str | Path, repair: bool = False, files: bool = True,
                  progress: ProgressCallback = no_progress) -> CheckReport:
    """Look for every problem listed in the module doc; with `repair`, fix those that are safe to fix."""
    progress(0.0, "database integrity")
    location, integrity = check_database_at(folder)
    root, database = location.root, location.describe()
    report = CheckReport(root, not integrity.damaged)
    for err in integrity.errors:
        report.problems.append(Problem("database", database, f"{err}; restore the database from a backup"))
    try:
        project = Project.open(root, check_s=0)  # the full check above replaces the quick one
    except ProjectError as exc:
        report.problems.append(Problem("database", database, f"cannot open the project: {exc}"))
        return report
    try:
        _check(project, report, integrity, repair, files, progress)
    finally:
        project.close()
    return report


def _check(project: Project, report: CheckReport, integrity, repair: bool, files: bool,
           progress: ProgressCallback) -> None:
    now = time.time()
    try:
        refs = _references(project, report)
    except ContrarioError as exc:  # the damage hides what the tables name: the blob checks cannot be trusted
        report.problems.append(Problem("database", project.location.describe(), f"cannot read the tables: {exc}"))
        refs = None

    progress(0.2, "blobs")
    stored = dict(stored_blobs(project.blobs.root))
    report.counts["blobs"] = len(stored)
    for n, (sha, path) in enumerate(stored.items()):
        if n % 64 == 0:
            progress(0.2 + 0.4 * n / max(1, len(stored)), f"blobs {n}/{len(stored)}")
        if refs is not None and sha not in refs:
            prob = Problem("orphan-blob", str(path), "named by nothing in the database")
            if repair and not integrity.damaged and _old(path, now):
                path.unlink(missing_ok=True)
                prob.repaired = True
            report.problems.append(prob)
        elif not project.blobs.verify(sha):
            prob = Problem("corrupt-blob", str(path), "content no longer matches its sha256")
            report.problems.append(prob)
            if repair:
                path.unlink(missing_ok=True)
                del stored[sha]
                prob.repaired = _recopy(project, sha, refs.get(sha, []) if refs else [])
                if prob.repaired:
                    prob.detail += "; copied again from the unchanged original"
    for sha, where in (refs or {}).items():
        if sha not in stored and not project.blobs.exists(sha):
            prob = Problem("missing-blob", sha, f"named by {', '.join(where[:3])}" + (" ..." if len(where) > 3 else ""))
            if repair and _recopy(project, sha, where):
                prob.repaired = True
                prob.detail += "; copied again from the unchanged original"
            report.problems.append(prob)

    tmp_dir = project.blobs.root / "tmp"
    for leftover in sorted(tmp_dir.iterdir()) if tmp_dir.is_dir() else []:
        prob = Problem("tmp-leftover", str(leftover), "left by an interrupted write")
        if repair and leftover.is_file() and _old(leftover, now):
            leftover.unlink(missing_ok=True)
            prob.repaired = True
        report.problems.append(prob)

    if files and refs is not None:
        _check_files(project, report, progress)
    progress(1.0, "checked")


def _check_files(project: Project, report: CheckReport, progress: ProgressCallback) -> None:
    with project.session(readonly=True) as s:
        rows = s.execute(select(Image.id, Image.original_path, Image.blob, Image.sha256, Image.file_size)
                         .where(Image.status == ImageStatus.OK).order_by(Image.id)).all()
    report.counts["images"] = len(rows)
    for n, row in enumerate(rows):
        if n % 32 == 0:
            progress(0.6 + 0.4 * n / max(1, len(rows)), f"image files {n}/{len(rows)}")
        if not is_sha256(row.sha256) or (row.blob and not is_sha256(row.blob)):
            continue  # reported as a bad hash value
        if row.blob and not project.blobs.exists(row.blob):
            continue  # reported as a missing blob
        try:
            verify_file(image_source(project, row.blob, row.original_path), row.sha256, row.file_size)
        except (ImageError, ProjectError) as exc:
            report.problems.append(Problem("changed-file", f"image {row.id}", str(exc)))
