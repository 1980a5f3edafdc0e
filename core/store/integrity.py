"""SQLite integrity checks of project.sqlite, with a time bound so that opening a big project stays fast.

`PRAGMA quick_check` verifies every B-tree page (not index contents) in time linear in the file size; it is
run each time a project opens and interrupted after `time_limit_s` (a progress handler), in which case the
result is "not finished" rather than a verdict. `contrario check` runs the full `integrity_check` unbounded.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

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
