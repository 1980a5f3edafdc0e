"""Importing image files into a project.

Images are referenced in place: the project records the absolute original path, the sha256 of the bytes and
the header facts (size, mode, bit depth); with `copy=True` the file is also stored in the blob store
(Image.blob). A file whose sha256 is already in the project is skipped (re-import is a no-op). Files that
cannot be used (corrupt, truncated, unreadable, empty, absurd size, not an image) are recorded with
status "failed" and their reason, and listed in the report; a path argument that does not exist is only
reported. Every file is hashed and fully decoded (in a few threads) before it is recorded, and files are
recorded in chunks, one transaction per chunk: a killed import leaves each image either fully recorded or
absent.

Items: without `views_regex`, each file is its own item, named by its path relative to the folder (or glob
base) it was found under, without extension, and its view is "". With `views_regex`, the regex is searched
in the file name without extension; its named groups `item` and `view` give the item (prefixed by the
relative sub-folder, so files in different folders never merge) and the view. Files that do not match, or
whose (item, view) is taken, become items of their own (with a warning).
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from core.domain.enums import ImageStatus
from core.errors import ContrarioError, ImageError, JobCancelled
from core.io.images import SUPPORTED_SUFFIXES, ImageInfo, probe_image
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress
from core.store.blobs import sha256_bytes, sha256_file
from core.store.schema import Batch, Image, Item, utcnow

CHUNK = 256
MAX_IN_MEMORY = 64 << 20  # bigger files are hashed and decoded from disk
KEEP_BYTES = 1 << 20  # files up to this size are read once for hashing and checking


@dataclass
class ImportReport:
    added: int = 0
    skipped_duplicates: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    not_read: list[tuple[str, str]] = field(default_factory=list)  # arguments and folders (also in `failed`)
    items_added: int = 0
    annotations_added: int = 0
    batches: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def merge(self, other: ImportReport) -> None:
        self.added += other.added
        self.skipped_duplicates += other.skipped_duplicates
        self.failed += other.failed
        self.not_read += other.not_read
        self.items_added += other.items_added
        self.annotations_added += other.annotations_added
        self.batches += [b for b in other.batches if b not in self.batches]
        self.warnings += other.warnings
        self.elapsed_s += other.elapsed_s

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "skipped_duplicates": self.skipped_duplicates,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "not_read": [{"path": p, "reason": r} for p, r in self.not_read],
            "items_added": self.items_added,
            "annotations_added": self.annotations_added,
            "batches": list(self.batches),
            "warnings": list(self.warnings),
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass
class Candidate:
    """A file to import: its path and its name relative to where it was found (posix, with extension)."""

    path: Path
    rel: str
    extra: dict = field(default_factory=dict)


@dataclass
class Examined:
    cand: Candidate
    sha256: str | None = None
    size: int | None = None
    info: ImageInfo | None = None
    error: str | None = None
    blob: str | None = None
    prepared: dict = field(default_factory=dict)
    data: bytes | None = field(default=None, repr=False)


# Runs in a worker thread for each readable image before it is recorded (e.g. load its mask).
Prepare = Callable[[Examined], None]
# Runs inside the chunk's transaction for each newly recorded image (given its id); returns annotations added.
OnAdded = Callable[[Session, Examined, int], int]


# ---- finding files ---------------------------------------------------------------------------------------
def _has_magic(text: str) -> bool:
    return glob.has_magic(text)


def _unreadable(exc: OSError) -> str:
    return "permission denied" if isinstance(exc, PermissionError) else f"cannot read ({exc.strerror or exc})"


def _walk(folder: Path, exclude: Path | None, errors: list[tuple[str, str]]) -> Iterator[Path]:
    """Image files under `folder`; folders that cannot be listed are added to `errors`, never skipped silently."""

    def onerror(exc: OSError) -> None:
        errors.append((str(exc.filename or folder), f"folder not read: {_unreadable(exc)}"))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=onerror):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and (exclude is None or (here / d).resolve() != exclude)
        )
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                yield here / name


def _glob_base(pattern: str) -> Path:
    parts = Path(pattern).parts
    base: list[str] = []
    for part in parts:
        if _has_magic(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def collect_files(
    paths: Iterable[str | Path], exclude: Path | None = None
) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Files named by `paths` (files, folders searched recursively, glob patterns), and the arguments that
    named nothing and the folders that could not be read, as (path, reason). Folders contribute only files
    with image extensions."""
    found: list[Candidate] = []
    missing: list[tuple[str, str]] = []
    seen: set[Path] = set()
    exclude = exclude.resolve() if exclude is not None else None

    def add(path: Path, rel: str) -> None:
        key = path.absolute()
        if key not in seen:
            seen.add(key)
            found.append(Candidate(key, rel))

    def add_folder(folder: Path) -> None:
        for f in _walk(folder, exclude, missing):
            add(f, f.relative_to(folder).as_posix())

    for arg in paths:
        text = os.path.expanduser(str(arg))
        p = Path(text)
        try:
            p.stat()
        except FileNotFoundError:
            pass
        except OSError as exc:  # e.g. inside a folder we may not enter
            missing.append((str(arg), _unreadable(exc)))
            continue
        if p.is_dir():
            add_folder(p)
        elif p.exists() or p.is_symlink():
            add(p, p.name)
        elif _has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                missing.append((str(arg), "no files match this pattern"))
            base = _glob_base(text)
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    add_folder(mp)
                elif not mp.name.startswith("."):
                    try:
                        rel = mp.relative_to(base).as_posix()
                    except ValueError:
                        rel = mp.name
                    add(mp, rel)
        else:
            missing.append((str(arg), "not found"))
    return found, missing


# ---- examining one file (worker threads) ----------------------------------------------------------------
def _reason(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _guard(ex: Examined, fn) -> Examined:
    """Run one step on a file; a bad file becomes `ex.error`, never an exception."""
    try:
        fn()
    except ImageError as exc:
        ex.error = _reason(exc, ex.cand.path)
    except FileNotFoundError:
        ex.error = "file not found (removed during the import?)"
    except PermissionError:
        ex.error = "permission denied"
    except OSError as exc:
        ex.error = f"cannot read ({exc.strerror or exc})"
    except ContrarioError as exc:
        ex.error = str(exc)
    except Exception as exc:  # a bad file must never stop the import
        ex.error = f"unexpected error: {type(exc).__name__}: {exc}"
    if ex.error is not None:
        ex.data = None
    return ex


def hash_file(cand: Candidate) -> Examined:
    """Step 1: size and sha256 (small files keep their bytes for step 2)."""
    ex = Examined(cand)

    def run() -> None:
        st = cand.path.stat()
        ex.size = st.st_size
        if not cand.path.is_file():
            raise ImageError(f"{cand.path}: not a regular file")
        if st.st_size <= KEEP_BYTES:
            ex.data = cand.path.read_bytes()
            ex.size = len(ex.data)
            ex.sha256 = sha256_bytes(ex.data)
        else:
            ex.sha256 = sha256_file(cand.path)

    return _guard(ex, run)


def check_file(ex: Examined, blobs=None, copy: bool = False, decode: bool = True,
               prepare: Prepare | None = None) -> Examined:
    """Step 2, for files not in the project yet: header + full decode, copy, `prepare`."""
    path = ex.cand.path

    def run() -> None:
        source = ex.data if ex.data is not None else (path.read_bytes() if ex.size <= MAX_IN_MEMORY else path)
        ex.info = probe_image(source, decode=decode, name=str(path))
        if copy:
            if isinstance(source, bytes):
                if sha256_bytes(source) != ex.sha256:
                    raise ImageError(f"{path}: file changed during the import")
                ex.blob = blobs.put_bytes(source)
            else:
                ex.blob = blobs.put_file(path, expected_sha=ex.sha256)
        if prepare is not None:
            prepare(ex)

    _guard(ex, run)
    ex.data = None
    return ex


def examine(cand: Candidate, blobs=None, copy: bool = False, decode: bool = True,
            prepare: Prepare | None = None) -> Examined:
    """Both steps on one file; never raises for bad files."""
    ex = hash_file(cand)
    return ex if ex.error else check_file(ex, blobs, copy, decode, prepare)


# ---- recording a chunk (one transaction) -----------------------------------------------------------------
def _strip_suffix(rel: str) -> str:
    head, tail = posixpath.split(rel)
    stem, _ = os.path.splitext(tail)
    return posixpath.join(head, stem) if stem else rel


class _Grouping:
    def __init__(self, views_regex: str | None) -> None:
        try:
            self.regex = re.compile(views_regex) if views_regex else None
        except re.error as exc:
            raise ContrarioError(f"invalid --views regex {views_regex!r}: {exc}") from None
        if self.regex is not None and not {"item", "view"} <= set(self.regex.groupindex):
            raise ContrarioError("the views regex needs named groups (?P<item>...) and (?P<view>...)")

    def place(self, rel: str) -> tuple[str, str, bool]:
        """(item name, view, matched) for a relative file name."""
        own = _strip_suffix(rel)
        if self.regex is None:
            return own, "", True
        p = Path(rel)
        m = self.regex.search(Path(p.name).stem)
        if not m or not m.group("item"):
            return own, "", False
        folder = p.parent.as_posix()
        item = m.group("item") if folder in ("", ".") else f"{folder}/{m.group('item')}"
        return item, m.group("view") or "", True


class _ChunkWriter:
    """Records one chunk of examined files inside one transaction (Core inserts: fast for big batches)."""

    def __init__(self, session: Session, batch_id: int, grouping: _Grouping, report: ImportReport,
                 on_added: OnAdded | None, recheck: Callable[[Examined], Examined]) -> None:
        self.s, self.batch_id, self.grouping, self.report, self.on_added = session, batch_id, grouping, report, on_added
        self.recheck = recheck
        self.item_ids: dict[str, int | None] = {}  # None: to be created in this chunk
        self.taken: set[tuple[str, str]] = set()

    def _load(self, names: set[str]) -> None:
        names = {n for n in names if n not in self.item_ids}
        if not names:
            return
        rows = self.s.execute(
            select(Item.id, Item.name).where(Item.batch_id == self.batch_id, Item.name.in_(names))
        ).all()
        ids = {item_id: name for item_id, name in rows}
        self.item_ids.update({name: item_id for item_id, name in rows})
        if ids:
            for item_id, view in self.s.execute(select(Image.item_id, Image.view).where(Image.item_id.in_(ids))):
                self.taken.add((ids[item_id], view))

    def _free_name(self, base: str, view: str) -> str:
        self._load({base} | {f"{base}~{k}" for k in range(2, 6)})
        for k in range(1, 100000):
            name = base if k == 1 else f"{base}~{k}"
            self._load({name})
            if (name, view) not in self.taken:
                return name
        raise ContrarioError(f"cannot find a free item name for {base!r}")

    def _take(self, name: str, view: str) -> None:
        if name not in self.item_ids:
            self.item_ids[name] = None
        self.taken.add((name, view))

    def _drop_stale_failures(self, ok_paths: list[str]) -> None:
        """Files that failed before and now read fine: remove their failure rows (and emptied items)."""
        if not ok_paths:
            return
        stale = self.s.execute(
            select(Image.id, Image.item_id).where(Image.status == ImageStatus.FAILED, Image.original_path.in_(ok_paths))
        ).all()
        if stale:
            self.s.execute(delete(Image).where(Image.id.in_([r[0] for r in stale])))
            emptied = {r[1] for r in stale}
            self.s.execute(delete(Item).where(Item.id.in_(emptied), ~Item.images.any()))

    def write(self, results: Sequence[Examined]) -> None:
        self._drop_stale_failures([str(ex.cand.path) for ex in results if ex.error is None])
        shas = {ex.sha256 for ex in results if ex.sha256}
        known_ok = set(self.s.scalars(select(Image.sha256).where(Image.status == ImageStatus.OK, Image.sha256.in_(shas))))
        paths = {str(ex.cand.path) for ex in results}
        known_failed = set(
            self.s.execute(
                select(Image.original_path, Image.sha256)
                .where(Image.status == ImageStatus.FAILED, Image.original_path.in_(paths))
            ).all()
        )
        placements = {id(ex): self.grouping.place(ex.cand.rel) for ex in results}
        self._load({p[0] for p in placements.values()})
        rows: list[tuple[str, dict, Examined | None]] = []  # (item name, image values, examined if ok)
        now = utcnow()
        for ex in results:
            path = str(ex.cand.path)
            if ex.error is None:
                if ex.sha256 in known_ok:
                    self.report.skipped_duplicates += 1
                    continue
                if ex.info is None:  # skipped as known while examined, gone since (deleted meanwhile)
                    self.recheck(ex)
                    if ex.error is not None:
                        self.report.failed.append((path, ex.error))
                        continue
                known_ok.add(ex.sha256)
                name, view, matched = placements[id(ex)]
                if not matched:
                    self.report.warnings.append(f"{path}: name does not match the views regex; imported as its own item")
                if (name, view) in self.taken:
                    if matched and self.grouping.regex is not None:
                        self.report.warnings.append(
                            f"{path}: item {name!r} already has view {view!r}; imported as its own item")
                        view = ""
                    name = self._free_name(_strip_suffix(ex.cand.rel), view)
                info = ex.info
                values = dict(
                    view=view, original_path=path, sha256=ex.sha256, file_size=ex.size, blob=ex.blob,
                    width=info.width, height=info.height, format=info.format, mode=info.mode,
                    bit_depth=info.bit_depth, channels=info.channels, status=ImageStatus.OK, error=None, imported_at=now,
                )
                self._take(name, view)
                rows.append((name, values, ex))
            else:
                self.report.failed.append((path, ex.error))
                if (path, ex.sha256) in known_failed:
                    continue  # recorded before, with the same content
                known_failed.add((path, ex.sha256))
                name = self._free_name(_strip_suffix(ex.cand.rel), "")
                values = dict(
                    view="", original_path=path, sha256=ex.sha256, file_size=ex.size, blob=None, width=None,
                    height=None, format=None, mode=None, bit_depth=None, channels=None, status=ImageStatus.FAILED,
                    error=ex.error, imported_at=now,
                )
                self._take(name, "")
                rows.append((name, values, None))
        new_names = [n for n, i in self.item_ids.items() if i is None]
        if new_names:  # executemany without RETURNING (SQLite would run one statement per row), then look up
            self.s.execute(insert(Item), [{"batch_id": self.batch_id, "name": n} for n in new_names])
            for lo in range(0, len(new_names), 500):
                part = new_names[lo:lo + 500]
                self.item_ids.update(self.s.execute(
                    select(Item.name, Item.id).where(Item.batch_id == self.batch_id, Item.name.in_(part))).all())
            self.report.items_added += len(new_names)
        if not rows:
            return
        self.s.execute(insert(Image), [dict(values, item_id=self.item_ids[name]) for name, values, _ in rows])
        added = [ex for _, _, ex in rows if ex is not None]
        self.report.added += len(added)
        if self.on_added is not None and added:
            ids = dict(self.s.execute(
                select(Image.sha256, Image.id).where(Image.status == ImageStatus.OK,
                                                     Image.sha256.in_([ex.sha256 for ex in added]))).all())
            for ex in added:
                self.report.annotations_added += int(self.on_added(self.s, ex, ids[ex.sha256]) or 0)


# ---- the import ------------------------------------------------------------------------------------------
def get_or_create_batch(project, name: str, product_line: str | None = None,
                        source_folder: str | None = None) -> int:
    if not name or not name.strip():
        raise ContrarioError("a batch needs a name (--batch NAME)")
    with project.session() as s:
        batch = s.scalar(select(Batch).where(Batch.name == name))
        if batch is None:
            batch = Batch(name=name, product_line=product_line, source_folder=source_folder)
            s.add(batch)
            s.flush()
        return batch.id


def _common_folder(paths: Sequence[str | Path]) -> str | None:
    dirs = [Path(p).expanduser().absolute() for p in paths if Path(p).expanduser().is_dir()]
    return str(dirs[0]) if len(dirs) == 1 and len(paths) == 1 else None


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def import_candidates(
    project,
    candidates: Sequence[Candidate],
    batch_name: str,
    *,
    views_regex: str | None = None,
    product_line: str | None = None,
    source_folder: str | None = None,
    copy: bool = False,
    decode: bool = True,
    prepare: Prepare | None = None,
    on_added: OnAdded | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    workers: int | None = None,
    chunk: int = CHUNK,
    report: ImportReport | None = None,
) -> ImportReport:
    """Examine `candidates` in threads and record them chunk by chunk into batch `batch_name`."""
    start = time.perf_counter()
    report = report if report is not None else ImportReport()
    grouping = _Grouping(views_regex)
    batch_id = get_or_create_batch(project, batch_name, product_line, source_folder)
    if batch_name not in report.batches:
        report.batches.append(batch_name)
    total = len(candidates)
    progress(0.0, f"{batch_name}: {total} files")
    if total == 0:
        return report

    def known_shas(shas: set[str]) -> set[str]:
        with project.session(readonly=True) as s:
            return set(s.scalars(select(Image.sha256).where(Image.status == ImageStatus.OK, Image.sha256.in_(shas))))

    def check(ex: Examined) -> Examined:
        return check_file(ex, project.blobs, copy, decode, prepare)

    def examine_chunk(pool: ThreadPoolExecutor, part: Sequence[Candidate]) -> list[Examined]:
        hashed = list(pool.map(hash_file, part))
        known = known_shas({ex.sha256 for ex in hashed if ex.sha256})
        list(pool.map(check, [ex for ex in hashed if ex.error is None and ex.sha256 not in known]))
        for ex in hashed:
            ex.data = None
        return hashed

    parts = [candidates[lo:lo + chunk] for lo in range(0, total, chunk)]
    done = 0
    # The next chunk is examined (threads) while the current one is written (this thread).
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool, \
            ThreadPoolExecutor(max_workers=1) as stage:
        pending = stage.submit(examine_chunk, pool, parts[0])
        for k, part in enumerate(parts):
            results = pending.result()
            pending = stage.submit(examine_chunk, pool, parts[k + 1]) if k + 1 < len(parts) else None
            try:
                cancel.check()
                with project.session() as s:
                    _ChunkWriter(s, batch_id, grouping, report, on_added, check).write(results)
            except BaseException:
                if pending is not None:
                    pending.cancel()
                raise
            done += len(part)
            progress(done / total, f"{batch_name}: {done}/{total} files")
    report.elapsed_s += time.perf_counter() - start
    return report


def import_paths(
    project,
    paths: Sequence[str | Path],
    batch_name: str,
    views_regex: str | None = None,
    product_line: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    *,
    copy: bool = False,
    decode: bool = True,
    workers: int | None = None,
    chunk: int = CHUNK,
) -> ImportReport:
    """Import files, folders (recursive) and glob patterns into batch `batch_name`; see the module doc."""
    start = time.perf_counter()
    _Grouping(views_regex)  # reject a bad regex before touching the project
    candidates, missing = collect_files(paths, exclude=project.root)
    report = ImportReport(failed=list(missing), not_read=list(missing))
    try:
        import_candidates(
            project, candidates, batch_name, views_regex=views_regex, product_line=product_line,
            source_folder=_common_folder(paths), copy=copy, decode=decode, progress=progress,
            cancel=cancel, workers=workers, chunk=chunk, report=report,
        )
    except JobCancelled:
        raise JobCancelled(
            f"import cancelled after {report.added} new images ({report.skipped_duplicates} already there, "
            f"{len(report.failed)} failed); those stay recorded"
        ) from None
    report.elapsed_s = time.perf_counter() - start
    return report
