"""Import speed: writes N small PNGs to a temporary folder, imports them into a new project, prints files/s.

    python benchmarks/import_speed.py [--n 10000] [--size 128] [--workers K] [--header-only] [--keep DIR]

Also prints the cost of each stage measured alone on the same files (hash, header, full decode), so the
price of the full decode (needed to catch truncated files) is visible, and the time of a re-import
(everything already there: a no-op).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.images import probe_image  # noqa: E402
from core.io.importer import import_paths  # noqa: E402
from core.store.project import Project  # noqa: E402


def write_pngs(folder: Path, n: int, size: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    paths = []
    for i in range(n):
        img = base.copy()
        img[i % size, :, :] = rng.integers(0, 256, size=(size, 3), dtype=np.uint8)  # every file unique
        img[0, 0, :] = (i & 255, (i >> 8) & 255, (i >> 16) & 255)
        p = folder / f"sub{i // 1000:02d}" / f"img_{i:05d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(img).save(p, compress_level=1)
        paths.append(p)
    return paths


def stage_rate(paths: list[Path], fn) -> float:
    t = time.perf_counter()
    for p in paths:
        fn(p)
    return len(paths) / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--size", type=int, default=128, help="side of the square RGB PNGs")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--header-only", action="store_true", help="skip the full decode (not the default)")
    ap.add_argument("--keep", type=Path, help="write files and project here instead of a temp folder")
    args = ap.parse_args()

    tmp = args.keep or Path(tempfile.mkdtemp(prefix="contrario-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        paths = write_pngs(tmp / "images", args.n, args.size)
        total_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"wrote {args.n} PNGs {args.size}x{args.size} RGB ({total_mb:.1f} MB) in {time.perf_counter() - t:.1f} s")

        sample = paths[: min(len(paths), 2000)]
        print(f"single-thread stages on {len(sample)} files (files/s): "
              f"read+sha256 {stage_rate(sample, lambda p: hashlib.sha256(p.read_bytes()).digest()):.0f}, "
              f"header {stage_rate(sample, lambda p: probe_image(p, decode=False)):.0f}, "
              f"full decode {stage_rate(sample, lambda p: probe_image(p, decode=True)):.0f}")

        project = Project.create(tmp / "project")
        t = time.perf_counter()
        report = import_paths(project, [tmp / "images"], "bench", workers=args.workers,
                              decode=not args.header_only)
        dt = time.perf_counter() - t
        assert report.added == args.n and not report.failed, report.to_dict()
        print(f"import: {report.added} files in {dt:.2f} s = {report.added / dt:.0f} files/s "
              f"(workers={args.workers or 'auto'}, check={'header' if args.header_only else 'full decode'}, "
              f"cpus={os.cpu_count()})")
        t = time.perf_counter()
        again = import_paths(project, [tmp / "images"], "bench", workers=args.workers)
        dt = time.perf_counter() - t
        print(f"re-import (no-op): {again.skipped_duplicates} skipped in {dt:.2f} s = "
              f"{again.skipped_duplicates / dt:.0f} files/s")
        project.close()
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
