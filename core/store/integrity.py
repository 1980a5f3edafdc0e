"""SQLite integrity checks of project.sqlite, with a time bound so that opening a big project stays fast.

`PRAGMA quick_check` verifies every B-tree page (not index contents) in time linear in the file size; it is
run when a project opens and interrupted after `time_limit_s` (a progress handler), in which case the
result is "not finished" rather than a verdict. `contrario check` runs the full `integrity_check` unbounded.

A finished clean check is remembered, so that opening an unchanged database costs nothing:
- in this user's cache folder (never in the project folder, which may come from someone else), as the
  database file's and its WAL's identity, size, mtime and ctime taken before the check. Any write through the
  file system changes mtime and ctime, and ctime cannot be set back (`touch` sets mtime only), so a file
  damaged after its check is checked again on its next open. A check is remembered only when the files were
  last written SETTLED_S before it, so that a later write cannot carry the same (coarse) timestamps. Not seen:
  damage that bypasses the file system (a failing disk returning other bytes, writes to the raw device);
  `contrario check` finds it.
- for worker processes, in CHECKED_ENV set by the process that started them after its own check.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ProjectError

QUICK_CHECK_S = 2.0
_PROGRESS_EVERY = 10_000  # SQLite VM instructions between two looks at the clock
MAX_ERRORS = 20


class DamagedProjectError(ProjectError):
    """project.sqlite has damaged pages: nothing may be written to it."""


@dataclass
class IntegrityResult:
    finished: bool  # False when the time limit stopped the check before the end
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reused: str | None = None  # why no check ran: "stamp" (unchanged since a clean check), "parent" (CHECKED_ENV)

    @property
    def damaged(self) -> bool:
        return bool(self.errors)


def run_check(conn: sqlite3.Connection, pragma: str = "quick_check",
              time_limit_s: float | None = QUICK_CHECK_S) -> IntegrityResult:
    """`PRAGMA quick_check` or `integrity_check` on a DB-API connection; `None` means no time limit."""
    start = time.monotonic()
    deadline = None if time_limit_s is None else start + time_limit_s
    if deadline is not None:
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_EVERY)
    try:
        rows = conn.execute(f"PRAGMA {pragma}({MAX_ERRORS})").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            return IntegrityResult(False, [], time.monotonic() - start)
        return IntegrityResult(True, [str(exc)], time.monotonic() - start)
    except sqlite3.DatabaseError as exc:  # "database disk image is malformed" before the check could start
        return IntegrityResult(True, [str(exc)], time.monotonic() - start)
    finally:
        if deadline is not None:
            conn.set_progress_handler(None, 0)
    errors = [str(r[0]) for r in rows if str(r[0]).lower() != "ok"]
    return IntegrityResult(True, errors, time.monotonic() - start)


def damaged_message(db_path, errors: list[str]) -> str:
    first = errors[0].replace("\n", " ")[:160] if errors else "unknown damage"
    more = f" and {len(errors) - 1} more problems" if len(errors) > 1 else ""
    return (f"{db_path}: the project database is damaged ({first}{more}); nothing was changed. "
            f"Restore project.sqlite from a backup (made with `contrario backup`); "
            f"`contrario check {db_path.parent}` lists what is affected")


# ---- remembered checks -------------------------------------------------------------------------------------
CHECKED_ENV = "CONTRARIO_CHECKED_DB"  # os.pathsep-separated database files a parent process found clean
SETTLED_S = 2.0  # above the timestamp granularity of common file systems (FAT and some network ones: 2 s)


def file_stamp(db_path: Path) -> list[int] | None:
    """What changes whenever the database or its WAL is written: device, inode, size, mtime and ctime of each
    (a WAL holding no frames counts as absent); None when the database cannot be stat'ed."""
    out: list[int] = []
    for path, required in ((Path(db_path), True), (Path(f"{db_path}-wal"), False)):
        try:
            st = os.stat(path)
        except OSError:
            if required:
                return None
            continue
        if not required and st.st_size == 0:
            continue
        out += [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    return out


def _stamp_file(db_path: Path) -> Path:
    import platformdirs

    key = hashlib.sha256(str(Path(db_path).resolve()).encode()).hexdigest()[:32]
    return Path(platformdirs.user_cache_dir("contrario")) / "checked" / f"{key}.json"


def remember_clean(db_path: Path, stamp: list[int] | None) -> None:
    """Record that the database, as `stamp` describes it, passed a finished check (best effort)."""
    if stamp is None or max(stamp[3::5] + stamp[4::5]) > time.time_ns() - SETTLED_S * 1e9:
        return
    path = _stamp_file(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"db": str(Path(db_path).resolve()), "stamp": stamp}))
        os.replace(tmp, path)
    except OSError:
        pass


def forget_clean(db_path: Path) -> None:
    try:
        _stamp_file(db_path).unlink(missing_ok=True)
    except OSError:
        pass


def _checked_by_parent(db_path: Path) -> bool:
    own = str(Path(db_path).resolve())
    return own in [p for p in os.environ.get(CHECKED_ENV, "").split(os.pathsep) if p]


def known_clean(db_path: Path) -> IntegrityResult | None:
    """A clean result without checking, when the database is unchanged since a clean check (or a parent
    process checked it); None when it must be checked."""
    if _checked_by_parent(db_path):
        return IntegrityResult(True, [], 0.0, reused="parent")
    try:
        recorded = json.loads(_stamp_file(db_path).read_text())
    except (OSError, ValueError):
        return None
    stamp = file_stamp(db_path)
    if (isinstance(recorded, dict) and stamp is not None and recorded.get("stamp") == stamp
            and recorded.get("db") == str(Path(db_path).resolve())):
        return IntegrityResult(True, [], 0.0, reused="stamp")
    return None


def checked_env(db_path: Path | None, integrity: IntegrityResult | None) -> dict[str, str]:
    """CHECKED_ENV for the worker processes of a project whose database this process found clean."""
    if db_path is None or integrity is None or not integrity.finished or integrity.damaged:
        return {}
    entries = [p for p in os.environ.get(CHECKED_ENV, "").split(os.pathsep) if p]
    return {CHECKED_ENV: os.pathsep.join(dict.fromkeys([*entries, str(Path(db_path).resolve())]))}
