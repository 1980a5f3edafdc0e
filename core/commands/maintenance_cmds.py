"""`contrario backup`, `contrario check` and `contrario migrate-db`: keep a project safe, find what is wrong with
one, move it to another database."""

from __future__ import annotations

import json
import sys

from core.commands.project_cmds import _Bar
from core.errors import one_line


def register(sub) -> None:
    p = sub.add_parser("backup", help="copy a project (database and blobs) consistently, even while it is in use")
    p.add_argument("project", help="project folder")
    p.add_argument("dest", help="new or empty folder for the copy (itself a project that opens as usual)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("check", help="database integrity, missing or orphan blobs, changed image files, leftovers")
    p.add_argument("project", help="project folder")
    p.add_argument("--repair", action="store_true",
                   help="fix what is safe to fix: stale leftovers and orphan blobs, image copies from unchanged originals")
    p.add_argument("--rebuild", action="store_true",
                   help="with --repair: rebuild a damaged database from its readable rows (the damaged file is kept "
                   "beside it; restoring a backup is better when there is one)")
    p.add_argument("--no-files", action="store_true", help="do not re-hash the image files")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("migrate-db", help="copy a project into another database (SQLite to PostgreSQL, or back)",
                       description="DEST is a new folder (an SQLite project, or with --database a PostgreSQL one) "
                       "or a project just made by `contrario init DEST --database URL`. Row counts of every table "
                       "and the hash of every blob are checked; SRC is left as it was.")
    p.add_argument("src", help="project folder to copy")
    p.add_argument("dest", help="destination project folder")
    p.add_argument("--database", metavar="URL", help="new destination: this empty PostgreSQL database")
    p.add_argument("--blobs", metavar="DIR", help="new destination with --database: its blob folder")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_migrate_db)


def cmd_backup(args) -> int:
    from core.store.backup import backup_project

    bar = _Bar(sys.stderr.isatty())
    try:
        report = backup_project(args.project, args.dest, progress=bar)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(f"backup of {args.project} in {report.dest}: database {report.db_bytes / 1e6:.1f} MB, "
              f"{report.blobs} blobs ({report.blob_bytes / 1e6:.1f} MB)")
    if report.integrity.damaged:
        print(f"contrario backup: warning: the copied database is damaged like its source "
              f"({one_line(report.integrity.errors[0])})", file=sys.stderr)
        return 1
    return 0


def _rebuild(args) -> dict | None:
    """Rebuild the database when it is damaged; the report (None when it was not damaged)."""
    from core.store.project import check_database_at
    from core.store.rebuild import rebuild_database

    location, integrity = check_database_at(args.project)
    if not integrity.damaged:
        return None
    print(f"contrario check: {location.db_path} is damaged; rebuilding it from its readable rows. Restoring "
          f"project.sqlite from a backup (`contrario backup`) is better when there is one: it loses nothing",
          file=sys.stderr)
    bar = _Bar(sys.stderr.isatty())
    try:
        report = rebuild_database(args.project, progress=bar)
    finally:
        bar.close()
    if not args.json:
        lost = report.rows_lost
        print(f"rebuilt {report.db_path} (schema {report.revision}); the damaged file is kept as "
              f"{report.damaged_copy.name}; rows lost: {'unknown' if lost is None else lost}")
        for name, t in report.tables.items():
            if t.lost or t.dropped or t.lost is None:
                print(f"  {name}: {t.kept} kept, {'an unknown number' if t.lost is None else t.lost} unreadable, "
                      f"{t.dropped} dropped (naming lost rows or refused by a constraint)")
    return report.to_dict()


def cmd_check(args) -> int:
    from core.io.project_check import REPAIRABLE, check_project

    if args.rebuild and not args.repair:
        print("contrario check: --rebuild goes with --repair", file=sys.stderr)
        return 2
    rebuilt = _rebuild(args) if args.rebuild else None
    lossy = rebuilt is not None and rebuilt["rows_lost"] != 0
    bar = _Bar(sys.stderr.isatty())
    try:  # after a rebuild that lost rows, their blobs are orphans that a backup may still need: reported only
        report = check_project(args.project, repair=args.repair and not lossy, files=not args.no_files, progress=bar)
    finally:
        bar.close()
    if args.json:
        print(json.dumps({**report.to_dict(), **({"rebuild": rebuilt} if rebuilt else {})}, indent=1))
        return 0 if report.ok else 1
    counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
    print(f"project {report.root}: database {'ok' if report.integrity_ok else 'DAMAGED'}"
          + (f"; {counts} checked" if counts else ""))
    for p in report.problems:
        state = "repaired" if p.repaired else "problem"
        print(f"{state}: {p.kind}: {one_line(p.subject)}: {one_line(p.detail)}")
    left = sum(not p.repaired for p in report.problems)
    if not report.problems:
        print("no problems found")
    elif lossy:
        print(f"{left} problems left as they are after a rebuild that lost rows (the blobs of lost rows may still "
              f"be needed with a backup); `contrario check {args.project} --repair` fixes them later")
    elif not args.repair and any(p.kind in REPAIRABLE and not p.repaired for p in report.problems):
        print(f"{left} problems; `contrario check {args.project} --repair` fixes those that are safe to fix")
    return 0 if report.ok else 1


def cmd_migrate_db(args) -> int:
    from core.store.transfer import copy_project

    bar = _Bar(sys.stderr.isatty())
    try:
        report = copy_project(args.src, args.dest, database=args.database, blobs=args.blobs, progress=bar)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 0
    print(f"copied {report.source} to {report.dest} (project {report.dest_root}): "
          f"{sum(report.rows.values())} rows in {len(report.rows)} tables, {report.blobs} blobs "
          f"({report.blob_bytes / 1e6:.1f} MB), counts and hashes checked, {report.seconds:.1f} s")
    return 0
