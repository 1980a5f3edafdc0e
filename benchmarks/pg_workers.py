"""Scoring one PostgreSQL project with 1 and then 2 worker processes, each pinned to one thread (and one core).

    .venv/bin/python benchmarks/pg_workers.py [--images 2000] [--chunk 25] [--workers 1 2]

Starts a throwaway PostgreSQL server (or uses $CONTRARIO_TEST_POSTGRES), generates grey tiles, and for each
worker count makes a fresh project on its own database, queues the inference of every tile with the
training-free detector in chunks (`contrario infer --chunk-images`), and runs that many `contrario worker
--until-idle --threads 1` processes, each standing in for a machine (a host name and compute slots of its own,
pinned to one core). Prints, per worker count: images per second over the scoring window (first chunk claimed
to last chunk finished, from the jobs table) and over the whole run (process start included), the speed-up over
one worker, the per-chunk overhead (the claim itself, and a worker's gap between finishing one chunk and
starting the next, against the mean chunk time), and whether every image was scored exactly once. Run it on a
quiet machine: the speed-up means nothing when other work shares the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def write_tiles(folder: Path, n: int, side: int) -> None:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        tile = rng.integers(80, 120, (side, side), dtype=np.uint8)
        if k % 5 == 0:
            y, x = rng.integers(0, side - 12, 2)
            tile[y:y + 10, x:x + 10] = 240
        Image.fromarray(tile).save(folder / f"tile_{k:05d}.png")


def run_workers(root: Path, n_workers: int) -> tuple[float, list[float]]:
    cores = os.cpu_count() or 1
    procs = []
    t0 = time.perf_counter()
    for k in range(n_workers):
        env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   CONTRARIO_HOST=f"bench-host-{k}", CONTRARIO_SLOT_DIR=str(root.parent / f"slots-{root.name}-{k}"))
        cmd = [sys.executable, "-P", "-m", "core", "worker", str(root), "--until-idle", "--threads", "1"]
        if shutil.which("taskset") and cores >= n_workers:
            cmd = ["taskset", "-c", str(k % cores), *cmd]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                      cwd=REPO))
    claims = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"worker failed: {err[-2000:]}")
        claims += [json.loads(line).get("claim_ms") for line in out.splitlines() if '"claimed"' in line]
    return time.perf_counter() - t0, [c for c in claims if c is not None]


def one_run(server: str, tiles: Path, work: Path, n_workers: int, chunk: int, variant: str) -> dict:
    import pg_server
    from sqlalchemy import func, select

    from core.io.importer import import_paths
    from core.jobs import queue
    from core.jobs.infer_job import submit_in_chunks
    from core.models.revisions import create_training_free_revision
    from core.store.project import Project
    from core.store.schema import Image, InferenceResult

    url = pg_server.create_database(server, prefix="contrario_bench")
    try:
        with Project.create(work / f"w{n_workers}", database=url) as project:
            import_paths(project, [str(tiles)], "tiles")
            rev = create_training_free_revision(project, variant)
            parent = submit_in_chunks(project, {"model_revision_id": rev, "batch_id": None, "image_ids": None}, chunk)
        wall, claims = run_workers(work / f"w{n_workers}", n_workers)
        with Project.open(work / f"w{n_workers}") as project:
            kids = queue.children(project, parent)
            with project.session(readonly=True) as s:
                n_images = s.scalar(select(func.count(Image.id)))
                per_image = s.execute(select(func.count(InferenceResult.id)).group_by(InferenceResult.image_id)).all()
            view = queue.get(project, parent)
        window = (max(k.finished_at for k in kids) - min(k.started_at for k in kids)).total_seconds()
        chunk_ms = [1000 * (k.finished_at - k.started_at).total_seconds() for k in kids]
        gaps = []  # per worker: the end of one chunk to the start of its next (claim, bookkeeping, slot)
        for host in {k.host for k in kids}:
            mine = sorted((k for k in kids if k.host == host), key=lambda k: k.started_at)
            gaps += [1000 * (b.started_at - a.finished_at).total_seconds() for a, b in zip(mine, mine[1:])]
        return {"workers": n_workers, "images": n_images, "chunks": len(kids), "parent_status": view.status,
                "exactly_once": len(per_image) == n_images and all(r[0] == 1 for r in per_image),
                "chunks_by_host": sorted(sum(k.host == h for k in kids) for h in {k.host for k in kids}),
                "window_s": round(window, 2), "wall_s": round(wall, 2),
                "images_per_s": round(n_images / window, 2), "images_per_s_wall": round(n_images / wall, 2),
                "claim_ms_mean": round(sum(claims) / max(1, len(claims)), 2),
                "claim_ms_max": round(max(claims, default=0.0), 2),
                "chunk_ms_mean": round(sum(chunk_ms) / len(chunk_ms), 1),
                "gap_ms_mean": round(sum(gaps) / max(1, len(gaps)), 2), "gap_ms_max": round(max(gaps, default=0.0), 2)}
    finally:
        pg_server.drop_database(url)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--side", type=int, default=128)
    ap.add_argument("--chunk", type=int, default=25)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--variant", default="gabor", choices=("gabor", "patch_pca"))
    args = ap.parse_args()

    import pg_server

    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp, pg_server.server() as server:
        tmp = Path(tmp)
        write_tiles(tmp / "tiles", args.images, args.side)
        rows = []
        for n in args.workers:
            row = one_run(server, tmp / "tiles", tmp, n, args.chunk, args.variant)
            rows.append(row)
            print(json.dumps(row), flush=True)
        base = rows[0]["images_per_s"]
        for row in rows:
            print(f"{row['workers']} workers: {row['images_per_s']:.2f} images/s in the scoring window "
                  f"({row['images_per_s_wall']:.2f} with start-up), x{row['images_per_s'] / base:.2f} over "
                  f"{rows[0]['workers']}; {row['chunks']} chunks of {args.chunk} (by worker {row['chunks_by_host']}), "
                  f"{row['chunk_ms_mean']:.0f} ms each; claim {row['claim_ms_mean']:.1f} ms mean "
                  f"({row['claim_ms_max']:.1f} max), gap between a worker's chunks {row['gap_ms_mean']:.1f} ms mean "
                  f"({100 * row['gap_ms_mean'] / row['chunk_ms_mean']:.2f} % of a chunk); "
                  f"every image scored exactly once: {row['exactly_once']}")


if __name__ == "__main__":
    main()
