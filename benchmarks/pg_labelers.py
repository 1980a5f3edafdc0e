"""Three labelers at once on one PostgreSQL project: 1,000 verdicts and 200 masks each, nothing lost, no deadlock.

    .venv/bin/python benchmarks/pg_labelers.py [--images 1000] [--verdicts 1000] [--masks 200] [--labelers 3]
                                               [--sqlite]

Starts a throwaway PostgreSQL server (or uses $CONTRARIO_TEST_POSTGRES), generates grey tiles, imports them
into a new project on its own database and runs one scripted labeler process per annotator
(tests/labeler_sessions.py: the workbench's own store calls, one transaction per verdict or mask, every
session started at the same instant). Then checks every revision each session wrote against the database
(none missing, none extra, revisions chained, the last verdict current, every mask's pixels intact), that no
session hung (killed after --timeout) and that the server counted no deadlock, and computes the agreement
figures (Fleiss' kappa over the annotators, Cohen's per pair, mean mask IoU). Prints one JSON line per
database and a summary. --sqlite runs the same on an embedded project for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank"]


def write_tiles(folder: Path, n: int, side: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        Image.fromarray(rng.integers(80, 120, (side, side), dtype=np.uint8)).save(folder / f"tile_{k:05d}.png")


def one_run(tiles: Path, work: Path, names: list[str], args, database: str | None) -> dict:
    from labeler_sessions import check, prepare, run_sessions

    from core.io.importer import import_paths
    from core.store.project import Project

    root = work / ("pg" if database else "sqlite")
    with Project.create(root, database=database) as project:
        import_paths(project, [str(tiles)], "lot")
        prepare(project)
        run = run_sessions(project.root, names, args.verdicts, args.masks, work / f"{root.name}-sessions",
                           timeout_s=args.timeout)
        figures = check(project, run)
    figures["database"] = project.dialect
    return figures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--side", type=int, default=64)
    ap.add_argument("--verdicts", type=int, default=1000)
    ap.add_argument("--masks", type=int, default=200)
    ap.add_argument("--labelers", type=int, default=3, choices=range(2, len(NAMES) + 1))
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds before a session counts as hung")
    ap.add_argument("--sqlite", action="store_true", help="also run it on an embedded SQLite project")
    args = ap.parse_args()
    if args.masks > (args.images + 4) // 5:
        raise SystemExit(f"--masks {args.masks}: only every fifth image is a defect ({(args.images + 4) // 5})")

    import pg_server

    names = NAMES[:args.labelers]
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, pg_server.server() as server:
        tmp = Path(tmp)
        write_tiles(tmp / "tiles", args.images, args.side)
        url = pg_server.create_database(server, prefix="contrario_labelers")
        try:
            rows.append(one_run(tmp / "tiles", tmp, names, args, url))
        finally:
            pg_server.drop_database(url)
        if args.sqlite:
            rows.append(one_run(tmp / "tiles", tmp, names, args, None))
    failed = False
    for row in rows:
        print(json.dumps(row), flush=True)
    for row in rows:
        per = row["annotators"]
        writes = sum(a["verdicts"] + a["masks"] for a in per.values())
        print(f"{row['database']}: {len(per)} labelers wrote {writes} revisions in {row['seconds']:.1f} s "
              f"({writes / row['seconds']:.0f}/s together); verdict p50/p95 "
              + ", ".join(f"{n} {a['verdict_ms_p50']:.1f}/{a['verdict_ms_p95']:.1f} ms" for n, a in per.items())
              + "; mask p50/p95 "
              + ", ".join(f"{n} {a['mask_ms_p50']:.1f}/{a['mask_ms_p95']:.1f} ms" for n, a in per.items()))
        for a in row["agreement"]:
            pairs = ", ".join(f"{p['a']}-{p['b']} {p['kappa']:.3f}" for p in a["pairs"])
            print(f"  agreement of batch {a['batch']}: {', '.join(a['annotators'])} on {a['images']} images, "
                  f"{a['method']} kappa {a['kappa']:.3f} (all agree on {100 * a['observed']:.1f} %); Cohen {pairs}; "
                  f"mean mask IoU {row['mask_iou_mean']} over {row['images_with_masks_compared']} images")
        stored = sum(a["revisions_stored"] for a in per.values())
        print(f"  stored {stored} of {writes} revisions, {sum(a['masks_intact'] for a in per.values())} masks intact, "
              f"{sum(a['errors'] for a in per.values())} errors, deadlocks {row.get('deadlocks', 'n/a')}; "
              f"problems: {row['problems'] or 'none'}")
        failed |= bool(row["problems"])
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
