"""Time of Project.open on a big database: the quick check on a first open, and what later opens cost.

    python benchmarks/project_open.py [--mb 200] [--keep DIR]

Fills a new project with about MB megabytes of rows (settings of 2 KB and batches with an indexed name), then
prints the time of: an open that checks (no record of a clean check), an open of the unchanged database, an
open from a worker whose parent checked it (CONTRARIO_CHECKED_DB), and an open after one write.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.store.integrity import CHECKED_ENV, SETTLED_S, forget_clean  # noqa: E402
from core.store.project import Project  # noqa: E402


def fill(db_path: Path, mb: int) -> None:
    conn = sqlite3.connect(db_path)
    value = '"' + "x" * 2000 + '"'
    rows = mb * (1 << 20) // 2400
    with conn:
        conn.executemany("INSERT INTO project_settings (key, value) VALUES (?, ?)",
                         ((f"bench.{i}", value) for i in range(rows)))
        conn.executemany("INSERT INTO batches (name, imported_at) VALUES (?, '2026-01-01 00:00:00')",
                         ((f"batch {i:09d} " + "y" * 80,) for i in range(rows)))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def timed_open(folder: Path) -> tuple[float, str | None, float]:
    t0 = time.perf_counter()
    project = Project.open(folder)
    seconds = time.perf_counter() - t0
    integrity = project.integrity
    project.close()
    return seconds, integrity.reused, integrity.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="contrario-open-"))
    folder = base / "project"
    try:
        Project.create(folder).close()
        fill(folder / "project.sqlite", args.mb)
        time.sleep(SETTLED_S)  # a check is remembered only for files not written in the last SETTLED_S
        size = (folder / "project.sqlite").stat().st_size
        print(f"database: {size / 1e6:.0f} MB")
        forget_clean(folder / "project.sqlite")
        for label in ("first open (quick check)", "unchanged database", "unchanged database, again"):
            seconds, reused, check = timed_open(folder)
            print(f"{label:<34} {seconds * 1000:8.1f} ms   check {check * 1000:7.1f} ms   skipped: {reused}")
        forget_clean(folder / "project.sqlite")
        os.environ[CHECKED_ENV] = str((folder / "project.sqlite").resolve())
        seconds, reused, check = timed_open(folder)
        print(f"{'worker of a checking parent':<34} {seconds * 1000:8.1f} ms   check {check * 1000:7.1f} ms   "
              f"skipped: {reused}")
        del os.environ[CHECKED_ENV]
        with Project.open(folder) as project:
            project.set_setting("bench.touched", True)
        time.sleep(SETTLED_S)
        seconds, reused, check = timed_open(folder)
        print(f"{'after a write':<34} {seconds * 1000:8.1f} ms   check {check * 1000:7.1f} ms   skipped: {reused}")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
